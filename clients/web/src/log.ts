/**
 * Logs and fork proofs (spec/protocol.md section 7): where a verified entry goes in its author's
 * log, and the proof that an author signed two histories.
 *
 * Invariant: a log is never rewritten; `place` only ever answers append, duplicate or a refusal.
 */
import { compareBytes, equalBytes } from "./bytes.js";
import { type CborValue, decode, encode } from "./cbor.js";
import { decodeEntry, type Entry, groupOf } from "./entry.js";
import { fail, HoldspaceError } from "./errors.js";

/** The head of a (group, author) log: its greatest seq and that entry's id. */
export interface LogHead {
  readonly seq: bigint;
  readonly id: Uint8Array;
}

export type Placement = "append" | "duplicate";

/**
 * Places a verified entry against its log's head (7.1), in order: `s > hs + 1` is `log.seq_gap`;
 * `s = hs + 1` appends if `p` is the head's id (both null for an empty log), else
 * `log.prev_mismatch`; `s <= hs` compares with `storedAtSeq`, the stored entry at `s` (which the
 * caller must give): the same id is a duplicate, another is `log.fork`.
 */
export function place(e: Entry, head: LogHead | null, storedAtSeq: Entry | null = null): Placement {
  const hs = head === null ? 0n : head.seq;
  const s = e.header.s;
  if (s > hs + 1n) fail("log.seq_gap", "the entry's sequence number is not the next one in its author's log");
  if (s === hs + 1n) {
    const p = e.header.p;
    const ok = head === null ? p === null : p !== null && equalBytes(p, head.id);
    if (!ok) fail("log.prev_mismatch", "the entry's previous-entry hash is not the id of the author's log head");
    return "append";
  }
  if (storedAtSeq === null || storedAtSeq.header.s !== s) throw new TypeError("place: the stored entry at this seq is needed");
  if (equalBytes(storedAtSeq.id, e.id)) return "duplicate";
  return fail("log.fork", "the entry conflicts with another valid entry at the same position of its author's log");
}

export const MAX_FORK_PROOF = 2112;

/** A verified fork proof: the author, the seq it equivocated at, and the two headers. */
export interface ForkProof {
  readonly author: Uint8Array;
  readonly seq: bigint;
  readonly group: Uint8Array;
  readonly a: Entry;
  readonly b: Entry;
  readonly bytes: Uint8Array;
}

/**
 * Verifies a fork proof (7.2); any failure is `log.bad_fork_proof`. Checked: at most 2112 bytes,
 * canonical CBOR, a map of exactly `v`, `a`, `b` with `v` = 1 and `a`, `b` byte strings; each a
 * valid header (6.2 checks 1-8 and 10: no clock, no payload); the same group (7.1), author and seq;
 * different ids, `id(a) < id(b)` bytewise.
 */
export function verifyForkProof(bytes: Uint8Array): ForkProof {
  const bad = (why: string): never => fail("log.bad_fork_proof", `not a fork proof: ${why}`);
  if (bytes.length > MAX_FORK_PROOF) bad("longer than 2112 bytes");
  let v: CborValue;
  try {
    v = decode(bytes);
  } catch {
    return bad("not canonical CBOR");
  }
  if (!(v instanceof Map) || v.size !== 3 || v.get("v") !== 1n) return bad("not a map of v = 1, a and b");
  const ab = v.get("a");
  const bb = v.get("b");
  if (!(ab instanceof Uint8Array) || !(bb instanceof Uint8Array)) return bad("a and b must be headers");
  let a: Entry;
  let b: Entry;
  try {
    a = decodeEntry(ab);
    b = decodeEntry(bb);
  } catch (e) {
    if (e instanceof HoldspaceError) return bad(`a header is not valid (${e.code})`);
    throw e;
  }
  if (!equalBytes(groupOf(a), groupOf(b))) bad("the headers are of different groups");
  if (!equalBytes(a.header.a, b.header.a) || a.header.s !== b.header.s) bad("the headers are not at one position of one log");
  if (compareBytes(a.id, b.id) >= 0) bad("the ids are equal or not in ascending order");
  return { author: a.header.a, seq: a.header.s, group: groupOf(a), a, b, bytes };
}

/** The fork proof of two headers at one position (their order is fixed by their ids). */
export function makeForkProof(x: Entry, y: Entry): Uint8Array {
  const [a, b] = compareBytes(x.id, y.id) < 0 ? [x, y] : [y, x];
  const bytes = encode({ v: 1n, a: a.bytes, b: b.bytes });
  verifyForkProof(bytes);
  return bytes;
}
