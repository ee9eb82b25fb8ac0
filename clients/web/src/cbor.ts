/**
 * The strict CBOR codec of spec/protocol.md section 3.
 *
 * Data model (3.2): integers are `bigint` (-2^64 .. 2^64-1), byte strings `Uint8Array`, text
 * `string`, arrays `CborValue[]`, maps `CborMap` (text keys only), `true`, `false`, `null`.
 * The decoder returns exactly these types; the encoder also takes a safe-integer `number` as an
 * integer and a plain object as a map, for convenience.
 *
 * Invariant: `decode` accepts a byte string iff it is the deterministic encoding (3.3) of one
 * value, so `encode(decode(d))` equals `d` byte for byte.
 */
import { compareBytes, concat } from "./bytes.js";
import { fail } from "./errors.js";

export type CborMap = Map<string, CborValue>;
export type CborValue = bigint | Uint8Array | string | CborValue[] | CborMap | boolean | null;
/** What the encoder takes: the data model plus safe-integer numbers and plain-object maps. */
export type Encodable =
  | CborValue
  | number
  | readonly Encodable[]
  | ReadonlyMap<string, Encodable>
  | { readonly [key: string]: Encodable };

export const MAX_DEPTH = 16;
export const MAX_SIZE = 1 << 20;

const TWO_64 = 1n << 64n;
const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

// ---------------------------------------------------------------------------------------------
// Encoder (3.3)

function head(mt: number, n: bigint): Uint8Array {
  const ib = mt << 5;
  if (n < 24n) return Uint8Array.of(ib | Number(n));
  if (n < 0x100n) return Uint8Array.of(ib | 24, Number(n));
  if (n < 0x10000n) return Uint8Array.of(ib | 25, Number(n >> 8n), Number(n & 0xffn));
  const wide = n >= 0x100000000n;
  const out = new Uint8Array(wide ? 9 : 5);
  out[0] = ib | (wide ? 27 : 26);
  const view = new DataView(out.buffer);
  if (wide) view.setBigUint64(1, n);
  else view.setUint32(1, Number(n));
  return out;
}

/** True iff `s` has no lone surrogate, i.e. has a UTF-8 form. */
function wellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return false;
  }
  return true;
}

function encodeText(s: string): Uint8Array {
  if (!wellFormed(s)) fail("cbor.invalid_utf8", "a text string has no UTF-8 form (a lone surrogate)");
  const b = utf8Encoder.encode(s);
  return concat(head(3, BigInt(b.length)), b);
}

function isPlainObject(v: object): v is { readonly [key: string]: Encodable } {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function encodeItem(v: Encodable, depth: number, out: Uint8Array[]): void {
  if (v === null) out.push(Uint8Array.of(0xf6));
  else if (v === false) out.push(Uint8Array.of(0xf4));
  else if (v === true) out.push(Uint8Array.of(0xf5));
  else if (typeof v === "number") {
    if (!Number.isSafeInteger(v)) fail("cbor.unsupported_type", "a number that is not a safe integer");
    encodeItem(BigInt(v), depth, out);
  } else if (typeof v === "bigint") {
    if (v >= 0n) {
      if (v >= TWO_64) fail("cbor.unsupported_type", "an integer above 2^64 - 1");
      out.push(head(0, v));
    } else {
      if (v < -TWO_64) fail("cbor.unsupported_type", "an integer below -2^64");
      out.push(head(1, -1n - v));
    }
  } else if (typeof v === "string") out.push(encodeText(v));
  else if (v instanceof Uint8Array) out.push(head(2, BigInt(v.length)), v);
  else if (Array.isArray(v)) {
    if (depth + 1 > MAX_DEPTH) fail("cbor.too_deep", "arrays and maps nested deeper than 16");
    out.push(head(4, BigInt(v.length)));
    for (const x of v as readonly Encodable[]) encodeItem(x, depth + 1, out);
  } else if (v instanceof Map || (typeof v === "object" && isPlainObject(v))) {
    if (depth + 1 > MAX_DEPTH) fail("cbor.too_deep", "arrays and maps nested deeper than 16");
    const entries: [unknown, Encodable][] =
      v instanceof Map ? [...(v as ReadonlyMap<unknown, Encodable>)] : Object.entries(v);
    // Pre-order: keys are checked (and encoded) in the given order, each before its value.
    const items: { key: Uint8Array; value: Uint8Array }[] = [];
    for (const [k, x] of entries) {
      if (typeof k !== "string") fail("cbor.unsupported_type", "a map key that is not a text string");
      const key = encodeText(k);
      const parts: Uint8Array[] = [];
      encodeItem(x, depth + 1, parts);
      items.push({ key, value: concat(...parts) });
    }
    items.sort((a, b) => compareBytes(a.key, b.key));
    out.push(head(5, BigInt(items.length)));
    for (const it of items) out.push(it.key, it.value);
  } else fail("cbor.unsupported_type", "a value outside the protocol's data model");
}

/** The deterministic encoding (3.3) of `v`; throws `cbor.unsupported_type`, `cbor.too_deep`
 * or `cbor.invalid_utf8` (the first defect in a depth-first, pre-order walk). */
export function encode(v: Encodable): Uint8Array {
  const out: Uint8Array[] = [];
  encodeItem(v, 0, out);
  return out.length === 1 ? out[0]! : concat(...out);
}

// ---------------------------------------------------------------------------------------------
// Decoder (3.4)

class Reader {
  pos = 0;
  constructor(
    readonly d: Uint8Array,
    readonly maxDepth: number,
  ) {}

  /** Bytes after position p to the end of the whole input. */
  remaining(): number {
    return this.d.length - this.pos;
  }

  /** ITEM steps 6: the argument of an initial byte already consumed, checked for shortest form. */
  argument(ai: number): bigint {
    if (ai < 24) return BigInt(ai);
    const len = ai === 24 ? 1 : ai === 25 ? 2 : ai === 26 ? 4 : 8;
    if (this.remaining() < len) fail("cbor.truncated", "the input ended in the middle of a data item");
    const view = new DataView(this.d.buffer, this.d.byteOffset + this.pos, len);
    const n =
      len === 1
        ? BigInt(view.getUint8(0))
        : len === 2
          ? BigInt(view.getUint16(0))
          : len === 4
            ? BigInt(view.getUint32(0))
            : view.getBigUint64(0);
    this.pos += len;
    const min = len === 1 ? 24n : len === 2 ? 0x100n : len === 4 ? 0x10000n : 0x100000000n;
    if (n < min) fail("cbor.non_canonical", "an argument is not in its shortest form");
    return n;
  }

  /** ITEM step 8 for MT 2 and 3: the N bytes. */
  bytes(n: bigint): Uint8Array {
    if (n > BigInt(this.remaining())) fail("cbor.truncated", "a length exceeds the rest of the input");
    const out = this.d.slice(this.pos, this.pos + Number(n));
    this.pos += Number(n);
    return out;
  }

  text(n: bigint): string {
    const b = this.bytes(n);
    try {
      return utf8Decoder.decode(b);
    } catch {
      return fail("cbor.invalid_utf8", "a text string is not well-formed UTF-8");
    }
  }

  /** ITEM steps 1-5 shared by items and keys: the initial byte, refused if reserved or indefinite. */
  initial(): { mt: number; ai: number; ib: number } {
    if (this.pos >= this.d.length) fail("cbor.truncated", "the input ended in the middle of a data item");
    const ib = this.d[this.pos]!;
    this.pos++;
    const mt = ib >> 5;
    const ai = ib & 0x1f;
    if (ai >= 28 && ai <= 30) fail("cbor.reserved", "additional information 28-30 is reserved");
    if (ai === 31) {
      if (mt >= 2 && mt <= 5) fail("cbor.indefinite_length", "indefinite lengths are not allowed");
      fail("cbor.reserved", "additional information 31 with major type 0, 1, 6 or 7 (or a break)");
    }
    return { mt, ai, ib };
  }

  item(d: number): CborValue {
    const { mt, ai, ib } = this.initial();
    if (mt === 6) fail("cbor.tag_not_allowed", "tags are not allowed");
    if (mt === 7) {
      if (ib === 0xf4) return false;
      if (ib === 0xf5) return true;
      if (ib === 0xf6) return null;
      if (ai >= 25 && ai <= 27) fail("cbor.float_not_allowed", "floating-point values are not allowed");
      fail("cbor.simple_not_allowed", "simple values other than false, true and null are not allowed");
    }
    const n = this.argument(ai);
    switch (mt) {
      case 0:
        return n;
      case 1:
        return -1n - n;
      case 2:
        return this.bytes(n);
      case 3:
        return this.text(n);
      case 4: {
        if (d + 1 > this.maxDepth) fail("cbor.too_deep", "arrays and maps are nested too deeply");
        if (n > BigInt(this.remaining())) fail("cbor.truncated", "a count exceeds the rest of the input");
        const out: CborValue[] = [];
        for (let i = 0n; i < n; i++) out.push(this.item(d + 1));
        return out;
      }
      default: {
        if (d + 1 > this.maxDepth) fail("cbor.too_deep", "arrays and maps are nested too deeply");
        if (2n * n > BigInt(this.remaining())) fail("cbor.truncated", "a count exceeds the rest of the input");
        const out: CborMap = new Map();
        let prev: Uint8Array | null = null;
        for (let i = 0n; i < n; i++) {
          if (this.pos >= this.d.length) fail("cbor.truncated", "the input ended inside a map");
          if (this.d[this.pos]! >> 5 !== 3) fail("cbor.bad_key_type", "a map key is not a text string");
          const start = this.pos;
          const k = this.initial();
          const key = this.text(this.argument(k.ai));
          const enc = this.d.subarray(start, this.pos);
          if (prev !== null) {
            const c = compareBytes(enc, prev);
            if (c === 0) fail("cbor.duplicate_key", "a map contains the same key twice");
            if (c < 0) fail("cbor.non_canonical", "map keys are not in ascending order");
          }
          prev = enc;
          out.set(key, this.item(d + 1));
        }
        return out;
      }
    }
  }
}

/** Decodes `d`, which must be the deterministic encoding of exactly one value (3.4); every other
 * input is refused with the code of the first failing check of 3.4, in its order. */
export function decode(d: Uint8Array, maxSize: number = MAX_SIZE, maxDepth: number = MAX_DEPTH): CborValue {
  if (d.length > maxSize) fail("cbor.too_large", "the input is longer than the size limit");
  const r = new Reader(d, maxDepth);
  const v = r.item(0);
  if (r.pos !== d.length) fail("cbor.trailing_bytes", "bytes remain after the top-level item");
  return v;
}
