/**
 * The bounded history in the browser (spec 14.4), the counterpart of clients/history.py: one record
 * per item, each sealed on its own with XChaCha20-Poly1305 under a key derived from the history key
 * (BLAKE2b-256, personalisation "holdspace-seal"), with `store || 0x00 || key` as associated data,
 * so a record opens only under its own key in its own store: records cannot be swapped or moved.
 *
 * Invariants:
 * - a stored value is `nonce (24) || ciphertext || tag (16)`; a record that does not open (altered,
 *   truncated, moved) is skipped and counted in `damaged` (code `history.damaged`); nothing else is
 *   lost, and the key file opens regardless;
 * - `size` is the sum of `key.length + value.length` over every record of `HISTORY_STORES`;
 * - only words (store `words`) are pruned, oldest first, while `size` exceeds the budget; words added
 *   with `keep` (a pin, a session's details) are never pruned (their key ends in "k"), nor is any
 *   other store (keys, control entries, places, the outbox);
 * - a write costs O(1) storage operations whatever the size of the history, plus one delete per
 *   record pruned (each record is pruned once): the prunable words are held oldest first in memory,
 *   a map of key to size, built once when the store opens.
 */
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { blake2b } from "@noble/hashes/blake2.js";
import { ascii, concat } from "./bytes.js";
import { HoldspaceError, fail } from "./errors.js";
import type { Storage } from "./storage.js";

export const WORDS = "words";
/** The stores of the history (an IndexedDB database is opened with these and `keys`). */
export const HISTORY_STORES = ["msg", WORDS, "ctl", "out", "seen"] as const;
export type HistoryStoreName = (typeof HISTORY_STORES)[number];

const KEPT = "k";

function wordsKey(n: number, keep: boolean): string {
  return n.toString(16).padStart(13, "0") + (keep ? KEPT : "");
}

export class HistoryStore {
  private readonly sealKey: Uint8Array;
  /** Records that did not open since this store was opened, by store name. */
  readonly damaged = new Map<string, number>();
  private bytes = 0;
  private readonly prunable = new Map<string, number>(); // words key -> bytes, oldest first
  private next = 0;
  /** Words pruned since this store was opened (a client says that it pruned). */
  pruned = 0;

  private constructor(
    private readonly storage: Storage,
    historyKey: Uint8Array,
    readonly budget: number,
  ) {
    if (historyKey.length !== 32) fail("history.bad_key", "the history key must be 32 bytes");
    this.sealKey = blake2b(historyKey, { dkLen: 32, personalization: ascii("holdspace-seal\0\0") });
  }

  /** The history in `storage` under `historyKey`, kept within `budget` bytes by pruning words. */
  static async open(storage: Storage, historyKey: Uint8Array, budget: number): Promise<HistoryStore> {
    const h = new HistoryStore(storage, historyKey, budget);
    for (const store of HISTORY_STORES) {
      for (const k of await storage.keys(store)) {
        const v = await storage.get(store, k);
        if (v === undefined) continue;
        h.bytes += k.length + v.length;
        if (store !== WORDS) continue;
        if (!k.endsWith(KEPT)) h.prunable.set(k, k.length + v.length);
        h.next = Math.max(h.next, parseInt(k.slice(0, 13), 16) + 1);
      }
    }
    return h;
  }

  private ad(store: string, key: string): Uint8Array {
    return concat(ascii(store), new Uint8Array([0]), ascii(key));
  }

  private seal(store: string, key: string, value: Uint8Array): Uint8Array {
    const nonce = crypto.getRandomValues(new Uint8Array(24));
    return concat(nonce, xchacha20poly1305(this.sealKey, nonce, this.ad(store, key)).encrypt(value));
  }

  private open(store: string, key: string, sealed: Uint8Array): Uint8Array {
    try {
      if (sealed.length < 40) fail("history.damaged", "truncated record");
      return xchacha20poly1305(this.sealKey, sealed.subarray(0, 24), this.ad(store, key)).decrypt(sealed.subarray(24));
    } catch (e) {
      if (e instanceof HoldspaceError && e.code !== "history.damaged") throw e;
      this.damaged.set(store, (this.damaged.get(store) ?? 0) + 1);
      fail("history.damaged", `a ${store} record of this device's history does not open`);
    }
  }

  /** Put a sealed record in a store other than words (never pruned), replacing any under `key`. */
  async put(store: Exclude<HistoryStoreName, "words">, key: string, value: Uint8Array): Promise<void> {
    const old = await this.storage.get(store, key);
    const sealed = this.seal(store, key, value);
    await this.storage.put(store, key, sealed);
    this.bytes += key.length + sealed.length - (old === undefined ? 0 : key.length + old.length);
    await this.enforce();
  }

  /** Delete a record of a store other than words. */
  async delete(store: Exclude<HistoryStoreName, "words">, key: string): Promise<void> {
    const old = await this.storage.get(store, key);
    if (old === undefined) return;
    await this.storage.delete(store, key);
    this.bytes -= key.length + old.length;
  }

  /** The record's value; undefined if absent (or pruned); `history.damaged` if it does not open. */
  async get(store: HistoryStoreName, key: string): Promise<Uint8Array | undefined> {
    const v = await this.storage.get(store, key);
    return v === undefined ? undefined : this.open(store, key, v);
  }

  /** The keys of a store's records, in ascending order (a record is read with `get`). */
  async keys(store: HistoryStoreName): Promise<string[]> {
    return this.storage.keys(store);
  }

  /** Add a message's words (`keep`: never pruned) and keep to the budget; returns the words' key. */
  async addWords(value: Uint8Array, keep = false): Promise<string> {
    const key = wordsKey(this.next++, keep);
    const sealed = this.seal(WORDS, key, value);
    await this.storage.put(WORDS, key, sealed);
    this.bytes += key.length + sealed.length;
    if (!keep) this.prunable.set(key, key.length + sealed.length);
    await this.enforce();
    return key;
  }

  /** Delete a message's words now (the group deleted the message, 17.5); nothing if absent. */
  async deleteWords(key: string): Promise<void> {
    const old = await this.storage.get(WORDS, key);
    if (old === undefined) return;
    await this.storage.delete(WORDS, key);
    this.bytes -= key.length + old.length;
    this.prunable.delete(key);
  }

  /** Bytes held by the history's records. */
  get size(): number {
    return this.bytes;
  }

  /** Prune the oldest prunable words until the history is within its budget (or none are left). */
  private async enforce(): Promise<void> {
    for (const [k, size] of this.prunable) {
      if (this.bytes <= this.budget) return;
      await this.storage.delete(WORDS, k);
      this.prunable.delete(k);
      this.bytes -= size;
      this.pruned++;
    }
  }
}
