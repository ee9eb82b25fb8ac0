/**
 * The outbox (spec 14.2 rules 2 and 3, 14.4): what this browser wrote and no node has acknowledged yet,
 * kept in the history's `out` store (sealed under the history key, in IndexedDB in the browser) so it
 * survives a closed page, a lost connection and a restart, and sent in order when a node can be reached.
 * This module alone reads and writes that store; the conversation (participant.ts) queues items and
 * supplies what only it knows: how to seal and sign an item once it holds the group's keys.
 *
 * An item is content (encoded, 17.x) for one group and an audience, plus, once made, its signed entry.
 * The audience `line` is one member's private line with the facilitators (13.5): the item names that
 * member (`member`), and is sealed to them, the current facilitators and its author.
 *
 * Invariants:
 * - nothing is at rest unsealed: items live only in the history's `out` store;
 * - an item is saved before anything sends it (`add` resolves once the record is written), and its
 *   signed entry is saved into it before that entry is sent anywhere;
 * - items are sent one at a time, in the order they were added (a group's items wait behind an
 *   earlier one that cannot be signed yet), and the next only after the previous one's answer, so
 *   the node sees each author's log in order;
 * - an item leaves the store only after a node acknowledged its entry (`ok`, whose cursor is 0 for an
 *   entry it already held); after a lost answer (a page closed mid-send, a broken connection) the
 *   same signed bytes are sent again, which the node acknowledges without storing a second copy
 *   (14.2 rule 2), so each entry is held once and no second entry is signed at its log position;
 * - a refusal that may pass later (`TRANSIENT`: the node busy, a rate, a budget, no connection, or a
 *   failure that is not a protocol error) stops the flush and keeps the item and every later one as
 *   they are; any other refusal is final for that entry: the item stays, marked with the code (shown,
 *   never dropped silently, never sent again), is reported, and the flush goes on.
 */
import { type CborMap, type CborValue, decode, encode } from "./cbor.js";
import { equalBytes } from "./bytes.js";
import { HoldspaceError, fail } from "./errors.js";
import type { HistoryStore } from "./history.js";

export const OUT = "out";

/** Refusals after which the same bytes may be stored later (the item stays, to be sent again). */
export const TRANSIENT: ReadonlySet<string> = new Set([
  "proto.busy",
  "proto.rate_limited",
  "proto.in_flight",
  "quota.group_full",
  "quota.node_full",
  "fed.unreachable",
  "web.unreachable",
]);

/** What sends a request to the node (a `NodeClient`, or a test's stand-in). */
export interface Publisher {
  request(op: string, fields: CborMap): Promise<CborMap>;
}

/** Whom an item goes to: the whole group, sealed to its facilitators or moderators only, or on one
 * member's private line (that member, the facilitators and the author; the item's `member`). */
export type Audience = "group" | "facilitators" | "moderators" | "line";

const AUDIENCES: ReadonlySet<unknown> = new Set(["group", "facilitators", "moderators", "line"]);

/** An item as kept in the `out` store, under its key (keys sort in the order items were added). */
export interface OutItem {
  readonly key: string;
  readonly groupId: Uint8Array;
  readonly content: Uint8Array;
  readonly to: Audience;
  /** The member whose private line it is on (audience `line` only; null otherwise). */
  readonly member: Uint8Array | null;
  readonly created: number;
  /** The signed entry (header, payload), once made; sent again as it is until acknowledged. */
  entry: [Uint8Array, Uint8Array] | null;
  /** The code of a final refusal, or null. */
  error: string | null;
}

/** What one flush did. */
export interface FlushResult {
  /** Keys acknowledged by the node (and removed), in order. */
  readonly sent: string[];
  /** Keys the node refused for good (kept, marked with the code). */
  readonly refused: { key: string; code: string }[];
  /** What stopped the flush: the transient refusal or failure's code, `unsigned` when an item could
   * not be signed yet (no group keys), or null when nothing sendable is left. */
  readonly stoppedBy: string | null;
}

/** What the owner of the items supplies to a flush. */
export interface FlushHooks {
  /** Only this group's items (every group's when absent). */
  readonly group?: Uint8Array;
  /** Seals and signs an item that has no entry yet: its entry, or null if it cannot be signed now
   * (it waits, and the later items with it). Without it such an item waits. */
  readonly sign?: (item: OutItem) => Promise<[Uint8Array, Uint8Array] | null>;
  /** Called once a node acknowledged an item's entry, before the item leaves the store. */
  readonly acknowledged?: (item: OutItem, entry: [Uint8Array, Uint8Array]) => Promise<void>;
  /** Called after each change of the store during the flush (an item signed, refused or removed). */
  readonly changed?: () => Promise<void> | void;
}

const NONE: FlushHooks = {};

/** An item's key: its number in the order of adding, 13 hex digits (so text order is that order). */
const KEY = /^[0-9a-f]{13}$/;

function outKey(n: number): string {
  return n.toString(16).padStart(13, "0");
}

/** An item's record: canonical CBOR of `{g, c, to, t, e, err}` (`e` null or `[header, payload]`,
 * `err` null or a code), with `m` (the member, 32 bytes) for an item on a private line only. */
export function encodeOutItem(i: OutItem): Uint8Array {
  const record: Record<string, CborValue> = { g: i.groupId, c: i.content, to: i.to, t: BigInt(i.created), e: i.entry === null ? null : [i.entry[0], i.entry[1]], err: i.error };
  if (i.member !== null) record["m"] = i.member;
  return encode(record);
}

/**
 * An item from its record. Checked: the record is a map (else `history.damaged`) whose `g` and `c`
 * are byte strings, `t` an unsigned integer, `to` one of the audiences, and `m` 32 bytes exactly when
 * `to` is `line` and absent otherwise (else `history.damaged`; the codec's own `cbor.*` for bytes
 * that are not canonical CBOR); `e` is kept only as two byte strings (else null: signed again), `err`
 * only as text.
 */
export function decodeOutItem(key: string, bytes: Uint8Array): OutItem {
  const m = decode(bytes);
  if (!(m instanceof Map)) return fail("history.damaged", "an outbox item is not a map");
  const g = m.get("g");
  const c = m.get("c");
  const to = m.get("to");
  const t = m.get("t");
  const e = m.get("e");
  const err = m.get("err");
  const member = m.get("m");
  if (!(g instanceof Uint8Array) || !(c instanceof Uint8Array) || typeof t !== "bigint" || !AUDIENCES.has(to))
    return fail("history.damaged", "an outbox item is malformed");
  const onLine = member instanceof Uint8Array && member.length === 32;
  if (to === "line" ? !onLine : member !== undefined) return fail("history.damaged", "an outbox item is malformed");
  const entry = Array.isArray(e) && e.length === 2 && e[0] instanceof Uint8Array && e[1] instanceof Uint8Array ? ([e[0], e[1]] as [Uint8Array, Uint8Array]) : null;
  return { key, groupId: g, content: c, to: to as Audience, member: onLine ? member : null, created: Number(t), entry, error: typeof err === "string" ? err : null };
}

export class Outbox {
  private flushing: Promise<unknown> = Promise.resolve();
  private adding: Promise<unknown> = Promise.resolve();

  constructor(private readonly history: HistoryStore) {}

  /** Queues `content` for `groupId` (with its signed entry if already made); resolves with the item
   * once it is saved. Adds are written one after another, so keys follow the order of the calls.
   * `member`: the member whose private line it is on, exactly when `to` is `line`
   * (`client.bad_argument` otherwise). */
  add(groupId: Uint8Array, content: Uint8Array, to: Audience, created: number, entry: [Uint8Array, Uint8Array] | null = null, member: Uint8Array | null = null): Promise<OutItem> {
    if ((to === "line") !== (member !== null && member.length === 32)) return Promise.reject(new HoldspaceError("client.bad_argument", "a private line's item names its one member"));
    const added = this.adding.then(async () => {
      const keys = (await this.history.keys(OUT)).filter((k) => KEY.test(k)); // sorted: the last is the highest
      const last = keys.length === 0 ? -1 : parseInt(keys[keys.length - 1]!, 16);
      const item: OutItem = { key: outKey(last + 1), groupId, content, to, member, created, entry, error: null };
      await this.save(item);
      return item;
    });
    this.adding = added.catch(() => undefined);
    return added;
  }

  private save(item: OutItem): Promise<void> {
    return this.history.put(OUT, item.key, encodeOutItem(item));
  }

  /** The items kept (of `group` if given), oldest first, refused ones included; a record that does
   * not open or decode is skipped. */
  async pending(group?: Uint8Array): Promise<OutItem[]> {
    const out: OutItem[] = [];
    for (const key of await this.history.keys(OUT)) {
      try {
        const raw = await this.history.get(OUT, key);
        if (raw === undefined) continue;
        const item = decodeOutItem(key, raw);
        if (group === undefined || equalBytes(item.groupId, group)) out.push(item);
      } catch (e) {
        if (!(e instanceof HoldspaceError)) throw e;
      }
    }
    return out;
  }

  /** Sends the waiting items in order through `node` (see the module comment). Flushes run one after
   * another: a call while one runs starts when it ends, and so sees what was added meanwhile. */
  flush(node: Publisher, hooks: FlushHooks = NONE): Promise<FlushResult> {
    const run = this.flushing.then(() => this.run(node, hooks));
    this.flushing = run.catch(() => undefined);
    return run;
  }

  /** Runs `fn` between two flushes (after the one running, if any, and before any later one), so
   * that what it publishes never takes a log position an item is being signed or sent at. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.flushing.then(fn);
    this.flushing = run.catch(() => undefined);
    return run;
  }

  private async run(node: Publisher, hooks: FlushHooks): Promise<FlushResult> {
    const result: FlushResult = { sent: [], refused: [], stoppedBy: null };
    for (const item of await this.pending(hooks.group)) {
      if (item.error !== null) continue;
      if (item.entry === null) {
        const made = hooks.sign === undefined ? null : await hooks.sign(item);
        if (made === null) return { ...result, stoppedBy: "unsigned" };
        item.entry = made;
        await this.save(item); // kept before it is sent anywhere
        await hooks.changed?.();
      }
      const entry = item.entry;
      try {
        await node.request("publish", new Map<string, CborValue>([["e", entry[0]], ["b", entry[1]]]));
      } catch (e) {
        const code = e instanceof HoldspaceError ? e.code : "web.unreachable";
        if (TRANSIENT.has(code)) return { ...result, stoppedBy: code }; // sent again later, as it is
        item.entry = null;
        item.error = code;
        await this.save(item);
        result.refused.push({ key: item.key, code });
        await hooks.changed?.();
        continue;
      }
      await hooks.acknowledged?.(item, entry);
      await this.history.delete(OUT, item.key);
      result.sent.push(item.key);
      await hooks.changed?.();
    }
    return result;
  }
}

/**
 * Runs `flush` whenever the browser comes back online (the window's `online` event) and hands its
 * result to `onFlushed`; returns a function that stops listening. A flush that fails (no connection)
 * is reported as stopped by its code (`web.unreachable` for a failure that is not a protocol error):
 * everything stays queued for the next `online` or flush.
 */
export function flushWhenOnline(
  target: Pick<Window, "addEventListener" | "removeEventListener">,
  flush: () => Promise<FlushResult>,
  onFlushed: (r: FlushResult) => void = () => undefined,
): () => void {
  const listener = (): void => {
    flush().then(onFlushed, (e: unknown) => onFlushed({ sent: [], refused: [], stoppedBy: e instanceof HoldspaceError ? e.code : "web.unreachable" }));
  };
  target.addEventListener("online", listener);
  return () => target.removeEventListener("online", listener);
}
