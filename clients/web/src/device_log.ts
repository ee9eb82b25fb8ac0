/**
 * One group's entries as this device keeps them (spec 14.4), so that a later visit reads them from
 * the device and asks the node only for what is new: the entry items `[cursor, header, payload]` a
 * fetch or a subscription brought, and the node's cursor they reached.
 *
 * Where (all sealed by the history store, history.ts):
 * - a control entry in `ctl` under `<group hex>.<cursor, 16 hex digits>`: CBOR `[header, payload]`;
 * - a message-kind entry in `msg` under the same key: CBOR `[header, words key / null]`, its payload
 *   kept as words (store `words`, pruned oldest first within the history's budget); a payload pruned
 *   comes back as null, the entry read as a husk;
 * - the cursor in `seen` under `<group hex>`: CBOR uint.
 *
 * A message the group deleted (redacted, erased: 17.5) has its words deleted from the device by
 * `forget`; its header stays, its record then naming no words.
 *
 * Invariants: the cursor is written only after every item up to it was written, and never again
 * once a write failed in this page (the next visit then fetches again from the cursor it finds, and
 * an entry read twice is a duplicate the group client ignores); items come back in cursor order.
 */
import { toHex } from "./bytes.js";
import { type CborValue, decode, encode } from "./cbor.js";
import { isControlKind } from "./control.js";
import { H } from "./crypto.js";
import { HoldspaceError } from "./errors.js";
import type { HistoryStore } from "./history.js";

/** An entry item as the node sends it: its cursor, the header, the payload (null: a husk). */
export type EntryItem = readonly [bigint, Uint8Array, Uint8Array | null];

function itemKey(group: string, cursor: bigint): string {
  return `${group}.${cursor.toString(16).padStart(16, "0")}`;
}

export class DeviceLog {
  private readonly group: string;
  private chain: Promise<void> = Promise.resolve();
  private broken = false;
  /** Entry id (hex) -> where its words are kept, for `forget`. */
  private readonly wordsOf = new Map<string, { key: string; header: Uint8Array; words: string }>();
  /** Keys of the items `load` found whole (kept already: not written again when fetched again). */
  private readonly held = new Set<string>();

  constructor(
    private readonly history: HistoryStore,
    groupId: Uint8Array,
  ) {
    this.group = toHex(groupId);
  }

  /** The cursor kept for this group (0 if none) and the items kept, in cursor order. A record that
   * does not open or decode is skipped (the history counts it as damaged) and the cursor is then 0:
   * the group is fetched again from the start rather than read with an entry missing. */
  async load(): Promise<{ cursor: bigint; items: EntryItem[] }> {
    let damaged = false;
    const prefix = `${this.group}.`;
    const keys: [string, "ctl" | "msg"][] = [];
    for (const store of ["ctl", "msg"] as const) for (const k of await this.history.keys(store)) if (k.startsWith(prefix)) keys.push([k, store]);
    keys.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const items: EntryItem[] = [];
    for (const [k, store] of keys) {
      try {
        const raw = await this.history.get(store, k);
        if (raw === undefined) continue;
        const v = decode(raw);
        if (!Array.isArray(v) || v.length !== 2 || !(v[0] instanceof Uint8Array)) {
          damaged = true;
          continue;
        }
        const cursor = BigInt(`0x${k.slice(prefix.length)}`);
        let payload: Uint8Array | null = null;
        if (store === "ctl" && v[1] instanceof Uint8Array) payload = v[1];
        else if (store === "msg" && typeof v[1] === "string") {
          payload = (await this.history.get("words", v[1])) ?? null;
          this.wordsOf.set(toHex(H(v[0])), { key: k, header: v[0], words: v[1] }); // the entry id (6.1)
        }
        items.push([cursor, v[0], payload]);
        this.held.add(k);
      } catch (e) {
        if (!(e instanceof HoldspaceError)) throw e;
        damaged = true;
      }
    }
    let cursor = 0n;
    try {
      const raw = await this.history.get("seen", this.group);
      const v: CborValue = raw === undefined ? 0n : decode(raw);
      if (typeof v === "bigint" && v >= 0n) cursor = v;
    } catch (e) {
      if (!(e instanceof HoldspaceError)) throw e;
    }
    return { cursor: damaged ? 0n : cursor, items };
  }

  /** Keeps `items` and then `cursor` (queued after earlier calls; see the invariants). */
  keep(items: readonly EntryItem[], cursor: bigint): Promise<void> {
    this.chain = this.chain.then(async () => {
      if (this.broken) return;
      try {
        for (const item of items) await this.keepOne(item);
        await this.history.put("seen", this.group, encode(cursor));
      } catch {
        this.broken = true; // the cursor stays where every item before it is kept
      }
    });
    return this.chain;
  }

  /** Settles once everything given to `keep` so far is written (or the writes stopped). */
  idle(): Promise<void> {
    return this.chain;
  }

  /** Deletes the words of the message `idHex` from the device (queued after earlier writes). */
  forget(idHex: string): Promise<void> {
    this.chain = this.chain.then(async () => {
      const at = this.wordsOf.get(idHex);
      if (at === undefined) return;
      this.wordsOf.delete(idHex);
      try {
        await this.history.put("msg", at.key, encode([at.header, null]));
        await this.history.deleteWords(at.words);
      } catch {
        this.broken = true;
      }
    });
    return this.chain;
  }

  private async keepOne([cursor, header, payload]: EntryItem): Promise<void> {
    const key = itemKey(this.group, cursor);
    if (this.held.has(key)) return;
    const kind = (decode(header) as Map<string, CborValue>).get("k"); // verified as it was received
    if (typeof kind === "bigint" && isControlKind(kind)) await this.history.put("ctl", key, encode([header, payload]));
    else {
      const words = payload === null ? null : await this.history.addWords(payload);
      await this.history.put("msg", key, encode([header, words]));
      if (words !== null) this.wordsOf.set(toHex(H(header)), { key, header, words });
    }
  }
}
