/**
 * Textual ids (spec/protocol.md 4.3): a 32-byte key or id as Bech32m (BIP 350) with a type
 * prefix (`hsp` pseudonym, `hsn` node, `hsg` group). Encoding writes lowercase, 62 characters.
 */
import { isValidEd25519PublicKey } from "./crypto.js";
import { fail } from "./errors.js";

export type TextIdPrefix = "hsp" | "hsn" | "hsg";

const ALPHABET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const BECH32M_CONST = 0x2bc830a3;
const GEN = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

function polymod(values: number[]): number {
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= GEN[i]!;
  }
  return chk >>> 0;
}

function hrpExpand(hrp: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < hrp.length; i++) out.push(hrp.charCodeAt(i) >> 5);
  out.push(0);
  for (let i = 0; i < hrp.length; i++) out.push(hrp.charCodeAt(i) & 31);
  return out;
}

/** The text id of a 32-byte `key` under `prefix` (lowercase). */
export function encodeTextId(prefix: TextIdPrefix, key: Uint8Array): string {
  if (key.length !== 32) fail("identity.bad_key", "a key or id must be 32 bytes");
  const data: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const b of key) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      data.push((acc >> bits) & 31);
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) data.push((acc << (5 - bits)) & 31);
  const mod = polymod([...hrpExpand(prefix), ...data, 0, 0, 0, 0, 0, 0]) ^ BECH32M_CONST;
  for (let i = 0; i < 6; i++) data.push((mod >>> (5 * (5 - i))) & 31);
  return prefix + "1" + data.map((v) => ALPHABET[v]!).join("");
}

function isStrippable(c: number): boolean {
  return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20);
}

/**
 * The 32 bytes named by `text`, which must be an id with prefix `expected`. Checked, in order:
 * ASCII and at most 120 characters; not mixed case; then (surrounding white space removed, read in
 * lower case) the last `1` separates the expected prefix; every data character in the alphabet; at
 * least 6 data characters (all `identity.bad_text_id`); the Bech32m checksum
 * (`identity.bad_checksum`); exactly 32 bytes with zero padding bits (`identity.bad_text_id`);
 * for `hsp`, a valid Ed25519 public key (`identity.bad_key`).
 */
export function decodeTextId(text: string, expected: TextIdPrefix): Uint8Array {
  const bad = (why: string): never => fail("identity.bad_text_id", `not a valid ${expected} id: ${why}`);
  if (text.length > 120) bad("too long");
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) bad("not ASCII");
  if (text !== text.toLowerCase() && text !== text.toUpperCase()) bad("mixed case");
  let start = 0;
  let end = text.length;
  while (start < end && isStrippable(text.charCodeAt(start))) start++;
  while (end > start && isStrippable(text.charCodeAt(end - 1))) end--;
  const s = text.slice(start, end).toLowerCase();
  const sep = s.lastIndexOf("1");
  if (sep < 0 || s.slice(0, sep) !== expected) bad("wrong prefix");
  const values: number[] = [];
  for (const ch of s.slice(sep + 1)) {
    const v = ALPHABET.indexOf(ch);
    if (v < 0) bad("a character outside the alphabet");
    values.push(v);
  }
  if (values.length < 6) bad("too short");
  if (polymod([...hrpExpand(expected), ...values]) !== BECH32M_CONST)
    fail("identity.bad_checksum", "the id's checksum does not match: it was probably mistyped");
  const data = values.slice(0, -6);
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const v of data) {
    acc = (acc << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >> bits) & 0xff);
    }
    acc &= (1 << bits) - 1;
  }
  if (out.length !== 32 || bits >= 5 || acc !== 0) bad("not 32 bytes with zero padding");
  const key = Uint8Array.from(out);
  if (expected === "hsp" && !isValidEd25519PublicKey(key))
    fail("identity.bad_key", "the id does not name a valid Ed25519 public key");
  return key;
}
