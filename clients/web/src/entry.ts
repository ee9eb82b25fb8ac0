/**
 * Entry headers (spec/protocol.md section 6): decode with every check of 6.2 in order, verify,
 * create and sign. The entry id is H(header bytes), signature included (6.1).
 */
import { ascii, concat, equalBytes } from "./bytes.js";
import { type CborMap, type CborValue, decode, encode } from "./cbor.js";
import { H, publicKey, sign, verify } from "./crypto.js";
import { fail } from "./errors.js";

export const ENTRY_DOMAIN = "holdspace/v1/entry";
export const MAX_HEADER = 1024;
export const MAX_CLOCK_SKEW_MS = 300_000n;
const MAX_U63 = (1n << 63n) - 1n;

/** Kind registry (6.3): kind -> payload limit in bytes. Kinds are never renumbered or reused. */
export const KINDS: ReadonlyMap<bigint, { name: string; limit: number }> = new Map(
  (
    [
      [1, "genesis"], [2, "invite"], [3, "join"], [4, "remove"], [5, "role"], [6, "leave"],
      [7, "settings"], [8, "rekey"], [9, "host"], [10, "redact"], [11, "erase"], [12, "session"],
      [13, "trust"], [14, "close"], [15, "mute"], [16, "message"], [17, "direct"],
    ] as const
  ).map(([k, name]) => [BigInt(k), { name, limit: k < 0x10 ? 1_048_576 : 65_536 }]),
);

const HEADER_KEYS = ["a", "g", "h", "k", "n", "p", "s", "sig", "t", "v"];

/** A decoded, verified entry header. */
export interface EntryHeader {
  readonly v: 1;
  readonly g: Uint8Array;
  readonly a: Uint8Array;
  readonly s: bigint;
  readonly p: Uint8Array | null;
  readonly t: bigint;
  readonly k: bigint;
  readonly n: bigint;
  readonly h: Uint8Array;
  readonly sig: Uint8Array;
}

/** A header with its id, exact bytes and the message its signature covers. */
export interface Entry {
  readonly header: EntryHeader;
  readonly bytes: Uint8Array;
  readonly id: Uint8Array;
  readonly signedMessage: Uint8Array;
}

/** `domain || 0x00 || encode(map without "sig")` (section 5). */
export function signedMessage(domain: string, withoutSig: CborMap): Uint8Array {
  return concat(ascii(domain), Uint8Array.of(0), encode(withoutSig));
}

const malformed = (why: string): never => fail("entry.malformed", `malformed entry header: ${why}`);

function uint(v: CborValue | undefined, name: string, max: bigint = MAX_U63): bigint {
  if (typeof v !== "bigint" || v < 0n) return malformed(`"${name}" is not an unsigned integer`);
  if (v > max) return malformed(`"${name}" is too large`);
  return v;
}

function bstr(v: CborValue | undefined, size: number, name: string): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length !== size)
    return malformed(`"${name}" is not a ${size}-byte string`);
  return v;
}

/**
 * Decodes and validates an entry header (6.2), stopping at the first failing check, in order:
 *  1. longer than 1024 bytes: `entry.oversize`;
 *  2. not one canonical CBOR item: its `cbor.*` code;
 *  3. not a map: `entry.malformed`;
 *  4. `v` missing or not an unsigned integer: `entry.malformed`; `v` != 1: `entry.bad_version`;
 *  5. key set not exactly {v, g, a, s, p, t, k, n, h, sig}: `entry.malformed`;
 *  6. in the order g, a, s, p, t, k, n, h, sig: g and a 32 bytes, 1 <= s <= 2^63-1, p null iff
 *     s = 1 and otherwise 32 bytes, t <= 2^63-1, k and n unsigned (booleans are not integers),
 *     h 32 bytes, sig 64 bytes: `entry.malformed`;
 *  7. k not in the kind registry: `entry.unknown_kind`;
 *  8. n over the kind's payload limit: `entry.oversize`;
 *  9. only if `nowMs` is given (an entry being received): t > now + 300000 `entry.future_timestamp`;
 * 10. the signature by `a` over domain `holdspace/v1/entry` fails: `entry.bad_signature`;
 * 11. only if `payload` is given (not a husk): its length is not n or H(payload) is not h:
 *     `entry.payload_mismatch`.
 */
export function decodeEntry(bytes: Uint8Array, payload: Uint8Array | null = null, nowMs: bigint | null = null): Entry {
  if (bytes.length > MAX_HEADER) fail("entry.oversize", "the entry header is longer than 1024 bytes");
  const item = decode(bytes);
  if (!(item instanceof Map)) return malformed("not a map");
  const v = item.get("v");
  if (typeof v !== "bigint" || v < 0n) return malformed('"v" is missing or not an unsigned integer');
  if (v !== 1n) fail("entry.bad_version", `entry version ${v} is not supported`);
  const keys = [...item.keys()];
  if (keys.length !== HEADER_KEYS.length || !HEADER_KEYS.every((k) => item.has(k)))
    return malformed("the key set is not exactly v, g, a, s, p, t, k, n, h, sig");
  const g = bstr(item.get("g"), 32, "g");
  const a = bstr(item.get("a"), 32, "a");
  const s = uint(item.get("s"), "s");
  if (s < 1n) malformed('"s" is 0');
  const pv = item.get("p");
  let p: Uint8Array | null;
  if (s === 1n) {
    if (pv !== null) malformed('"p" must be null when "s" is 1');
    p = null;
  } else p = bstr(pv, 32, "p");
  const t = uint(item.get("t"), "t");
  const k = uint(item.get("k"), "k", (1n << 64n) - 1n);
  const n = uint(item.get("n"), "n", (1n << 64n) - 1n);
  const h = bstr(item.get("h"), 32, "h");
  const sig = bstr(item.get("sig"), 64, "sig");
  const kind = KINDS.get(k);
  if (kind === undefined) fail("entry.unknown_kind", `kind ${k} is not in the kind registry`);
  if (n > BigInt(kind.limit)) fail("entry.oversize", `the payload exceeds the ${kind.name} limit`);
  if (nowMs !== null && t > nowMs + MAX_CLOCK_SKEW_MS)
    fail("entry.future_timestamp", "the entry's timestamp is too far in the future");
  const withoutSig = new Map(item);
  withoutSig.delete("sig");
  const msg = signedMessage(ENTRY_DOMAIN, withoutSig);
  if (!verify(a, msg, sig)) fail("entry.bad_signature", "the entry's signature does not verify");
  if (payload !== null && (BigInt(payload.length) !== n || !equalBytes(H(payload), h)))
    fail("entry.payload_mismatch", "the payload is not the one the header commits to");
  return { header: { v: 1, g, a, s, p, t, k, n, h, sig }, bytes, id: H(bytes), signedMessage: msg };
}

/** What an author chooses for a new entry; `prev` must be null iff `seq` is 1. */
export interface NewEntry {
  readonly group: Uint8Array;
  readonly seq: bigint;
  readonly prev: Uint8Array | null;
  readonly timeMs: bigint;
  readonly kind: bigint;
  readonly payload: Uint8Array;
}

/**
 * Creates and signs the header of a new entry by the Ed25519 `seed`. The result passes
 * `decodeEntry` with its payload (it is decoded before being returned, so a bad field is refused
 * with the code a receiver would give).
 */
export function createEntry(seed: Uint8Array, e: NewEntry): Entry {
  const fields: CborMap = new Map<string, CborValue>([
    ["v", 1n],
    ["g", e.group],
    ["a", publicKey(seed)],
    ["s", e.seq],
    ["p", e.prev],
    ["t", e.timeMs],
    ["k", e.kind],
    ["n", BigInt(e.payload.length)],
    ["h", H(e.payload)],
  ]);
  const sig = sign(seed, signedMessage(ENTRY_DOMAIN, fields));
  fields.set("sig", sig);
  return decodeEntry(encode(fields), e.payload);
}

const ZERO_GROUP = new Uint8Array(32);

/** True iff the header is a genesis (7.1): kind 1, seq 1 and `g` all zero. */
export function isGenesis(h: EntryHeader): boolean {
  return h.k === 1n && h.s === 1n && equalBytes(h.g, ZERO_GROUP);
}

/** The group of an entry (7.1): its own id if it is a genesis, else its `g`. */
export function groupOf(e: Entry): Uint8Array {
  return isGenesis(e.header) ? e.id : e.header.g;
}
