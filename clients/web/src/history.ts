/**
 * The bounded history in the browser (spec 14.4): one record per item, each sealed on its own with
 * XChaCha20-Poly1305 under a key derived from the history key, with `store || 0x00 || key` as
 * associated data, so a record opens only under its own key in its own store.
 *
 * Invariants:
 * - a stored value is `nonce (24) || ciphertext`; a record that does not open (altered, truncated,
 *   moved) is skipped and counted in `damaged` (code `history.damaged`), nothing else is lost;
 * - `bytes` is the sum of `key.length + value.length` over the records this store wrote or loaded;
 * - words (store `words`, keys increasing) are the only thing pruned: oldest first, never a record
 *   marked `keep`, never a key or a control entry (other stores); each write costs O(1) records in
 *   the size of the history, plus the records pruning removes (each removed once).
 */
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { blake2b } from "@noble/hashes/blake2.js";
import { ascii, concat } from "./bytes.js";
import { HoldspaceError, fail } from "./errors.js";
import type { Storage } from "./storage.js";

export const WORDS = "words";

/** The record key of words number `n` (fixed width: key order is numeric order). */
export function wordsKey(n: number): string {
  return n.toString(16).padStart(13, "0");
}

export class HistoryStore {
  private readonly sealKey: Uint8Array;
  /** Records that did not open since this store was opened, by store name. */
  readonly damaged = new Map<string, number>();
  private bytes = 0;
  private sizes = new Map<string, number>(); // words key -> bytes, oldest first
  private kept = new Set<string>(); // words that pruning leaves
  private next = 0;
  pruned = 0;

  private constructor(
    private readonly storage: Storage,
    historyKey: Uint8Array,
    readonly budget: number,
  ) {
    if (historyKey.length !== 32) fail("history.bad_key", "the history key must be 32 bytes");
    this.sealKey = blake2b(historyKey, { dkLen: 32, personalization: ascii("holdspace-seal\0\0") });
  }

  /** The history in `storage` under `historyKey`, keeping at most `budget` bytes of words. */
  static async open(storage: Storage, historyKey: Uint8Array, budget: number): Promise<HistoryStore> {
    const h = new HistoryStore(storage, historyKey, budget);
    for (const k of await storage.keys(WORDS)) {
      const v = await storage.get(WORDS, k);
      if (v === undefined) continue;
      h.sizes.set(k, k.length + v.length);
      h.bytes += k.length + v.length;
      h.next = Math.max(h.next, parseInt(k, 16) + 1);
    }
    return h;
  }

  private ad(store: string, key: string): Uint8Array {
    return concat(ascii(store), new Uint8Array([0]), ascii(key));
  }

  seal(store: string, key: string, value: Uint8Array): Uint8Array {
    const nonce = crypto.getRandomValues(new Uint8Array(24));
    return concat(nonce, xchacha20poly1305(this.sealKey, nonce, this.ad(store, key)).encrypt(value));
  }

  open(store: string, key: string, sealed: Uint8Array): Uint8Array {
    try {
      if (sealed.length < 40) fail("history.damaged", "truncated record");
      return xchacha20poly1305(this.sealKey, sealed.subarray(0, 24), this.ad(store, key)).decrypt(sealed.subarray(24));
    } catch (e) {
      this.damaged.set(store, (this.damaged.get(store) ?? 0) + 1);
      if (e instanceof HoldspaceError && e.code !== "history.damaged") throw e;
      fail("history.damaged", `a ${store} record of this device's history does not open`);
    }
  }

  /** Put a sealed record (keys, control entries, places: never pruned). */
  async put(store: string, key: string, value: Uint8Array): Promise<void> {
    if (store === WORDS) fail("history.damaged", "words are added with addWords");
    await this.storage.put(store, key, this.seal(store, key, value));
  }

  /** The record's value; undefined if absent; `history.damaged` if it does not open. */
  async get(store: string, key: string): Promise<Uint8Array | undefined> {
    const v = await this.storage.get(store, key);
    return v === undefined ? undefined : this.open(store, key, v);
  }

  /** Add words (`keep`: never pruned), then prune the oldest words to stay within the budget. Returns its key. */
  async addWords(value: Uint8Array, keep = false): Promise<string> {
    const key = wordsKey(this.next++);
    const sealed = this.seal(WORDS, key, value);
    await this.storage.put(WORDS, key, sealed);
    this.sizes.set(key, key.length + sealed.length);
    this.bytes += key.length + sealed.length;
    if (keep) this.kept.add(key);
    await this.enforce();
    return key;
  }

  /** Bytes of words held. */
  get size(): number {
    return this.bytes;
  }

  private async enforce(): Promise<void> {
    for (const [k, size] of this.sizes) {
      if (this.bytes <= this.budget) return;
      if (this.kept.has(k)) continue;
      await this.storage.delete(WORDS, k);
      this.sizes.delete(k);
      this.bytes -= size;
      this.pruned++;
    }
  }
}
