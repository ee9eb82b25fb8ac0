/**
 * The outbox (spec 14.2 rules 2 and 3, 14.4): signed entries waiting to reach the home node, kept in
 * the history's `out` store (sealed, in IndexedDB in the browser) so they survive a closed page, a
 * lost connection and a restart, and sent in order when the node can be reached.
 *
 * Invariants:
 * - an entry is saved before anything sends it (`add` resolves once the record is written), and is
 *   removed only after the node acknowledged it (`ok`, whose cursor is 0 for an entry it already
 *   held): an entry is never lost between the page and the node;
 * - entries are sent one at a time, oldest first, and the next only after the previous one's answer,
 *   so the node sees each author's log in order; the same bytes are sent again after a lost answer
 *   (a page closed mid-send), which the node acknowledges again without storing a second copy
 *   (14.2 rule 2: publishing an entry already stored is idempotent), so each entry is held once;
 * - a refusal that may pass later (`TRANSIENT`: the node busy, a rate, a budget, no connection) stops
 *   the flush and keeps the entry and every later one; any other refusal is final for that entry
 *   (the node will never store those bytes): it leaves the outbox and is reported, and the flush goes on.
 */
import { type CborMap, type CborValue, decode, encode } from "./cbor.js";
import { HoldspaceError, fail } from "./errors.js";
import type { HistoryStore } from "./history.js";

export const OUT = "out";

/** Refusals after which the same bytes may be stored later (the entry stays queued). */
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

/** One queued entry: its signed header and payload, under its outbox key. */
export interface Queued {
  readonly key: string;
  readonly header: Uint8Array;
  readonly payload: Uint8Array;
}

/** What one flush did. */
export interface FlushResult {
  /** Keys acknowledged by the node (and removed), in order. */
  readonly sent: string[];
  /** Keys the node refused for good (removed), with the code. */
  readonly refused: { key: string; code: string }[];
  /** The transient refusal or failure that stopped the flush, or null if the outbox emptied. */
  readonly stoppedBy: string | null;
}

function outKey(n: number): string {
  return n.toString(16).padStart(13, "0");
}

function decodeRecord(key: string, raw: Uint8Array): Queued {
  const v = decode(raw);
  const header = v instanceof Map ? v.get("e") : undefined;
  const payload = v instanceof Map ? v.get("b") : undefined;
  if (!(header instanceof Uint8Array) || !(payload instanceof Uint8Array)) fail("history.damaged", "an outbox record is malformed");
  return { key, header, payload };
}

export class Outbox {
  private flushing: Promise<FlushResult> | null = null;
  private adding: Promise<unknown> = Promise.resolve();

  constructor(private readonly history: HistoryStore) {}

  /** Queue a signed entry (header bytes and payload); resolves with its key once it is saved. Adds
   * are written one after another, so keys follow the order of the calls. */
  add(header: Uint8Array, payload: Uint8Array): Promise<string> {
    const added = this.adding.then(() => this.write(header, payload));
    this.adding = added.catch(() => undefined);
    return added;
  }

  private async write(header: Uint8Array, payload: Uint8Array): Promise<string> {
    const keys = await this.history.keys(OUT);
    const last = keys.length === 0 ? -1 : parseInt(keys[keys.length - 1]!, 16);
    const key = outKey(last + 1);
    await this.history.put(OUT, key, encode(new Map<string, CborValue>([["e", header], ["b", payload]])));
    return key;
  }

  /** The entries waiting, oldest first (a record that does not open is skipped: `history.damaged`). */
  async pending(): Promise<Queued[]> {
    const out: Queued[] = [];
    for (const key of await this.history.keys(OUT)) {
      let raw: Uint8Array | undefined;
      try {
        raw = await this.history.get(OUT, key);
      } catch (e) {
        if (e instanceof HoldspaceError && e.code === "history.damaged") continue;
        throw e;
      }
      if (raw !== undefined) out.push(decodeRecord(key, raw));
    }
    return out;
  }

  /** Send every waiting entry in order through `node` (see the module comment). One flush runs at a
   * time: a call while one runs gets that one's result. */
  flush(node: Publisher): Promise<FlushResult> {
    if (this.flushing === null) {
      this.flushing = this.run(node).finally(() => {
        this.flushing = null;
      });
    }
    return this.flushing;
  }

  private async run(node: Publisher): Promise<FlushResult> {
    const result: FlushResult = { sent: [], refused: [], stoppedBy: null };
    for (const q of await this.pending()) {
      try {
        await node.request("publish", new Map<string, CborValue>([["e", q.header], ["b", q.payload]]));
      } catch (e) {
        const code = e instanceof HoldspaceError ? e.code : "web.unreachable";
        if (TRANSIENT.has(code)) return { ...result, stoppedBy: code };
        await this.history.delete(OUT, q.key);
        result.refused.push({ key: q.key, code });
        continue;
      }
      await this.history.delete(OUT, q.key);
      result.sent.push(q.key);
    }
    return result;
  }
}

/**
 * Flushes `outbox` whenever the browser comes back online (the window's `online` event), through the
 * session `connect` opens; returns a function that stops listening. A flush that fails to connect
 * leaves everything queued for the next `online` (or a call of `flush`).
 */
export function flushWhenOnline(
  target: Pick<Window, "addEventListener" | "removeEventListener">,
  outbox: Outbox,
  connect: () => Promise<Publisher>,
  onFlushed: (r: FlushResult) => void = () => undefined,
): () => void {
  const listener = (): void => {
    connect()
      .then((node) => outbox.flush(node))
      .then(onFlushed, (e: unknown) =>
        onFlushed({ sent: [], refused: [], stoppedBy: e instanceof HoldspaceError ? e.code : "web.unreachable" }),
      );
  };
  target.addEventListener("online", listener);
  return () => target.removeEventListener("online", listener);
}
