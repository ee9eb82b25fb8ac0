/**
 * Identities (spec/protocol.md section 4): per-group pseudonyms derived from a master secret
 * (4.2), fingerprints (4.3) and identity documents (4.4).
 */
import { ascii, concat } from "./bytes.js";
import { type CborValue, decode, encode } from "./cbor.js";
import {
  H,
  hkdf32,
  isValidEd25519PublicKey,
  isValidX25519PublicKey,
  publicKey,
  sign,
  verify,
  x25519PublicKey,
} from "./crypto.js";
import { signedMessage } from "./entry.js";
import { fail } from "./errors.js";

export const IDENTITY_DOMAIN = "holdspace/v1/identity";
const PSEUDONYM_SALT = ascii("holdspace/v1/pseudonym");
const MAX_DOCUMENT = 1024;
const MAX_NAME = 128;

/** The key pairs of one pseudonym. */
export interface Pseudonym {
  readonly ed25519Seed: Uint8Array;
  readonly ed25519Public: Uint8Array;
  readonly x25519Secret: Uint8Array;
  readonly x25519Public: Uint8Array;
}

/** The pseudonym of master secret `master` (32 bytes) for context `c` (1 to 64 bytes), 4.2. */
export function derivePseudonym(master: Uint8Array, context: Uint8Array): Pseudonym {
  if (master.length !== 32) fail("crypto.bad_key", "a master secret is 32 bytes");
  if (context.length < 1 || context.length > 64) fail("crypto.bad_key", "a derivation context is 1 to 64 bytes");
  const ed25519Seed = hkdf32(master, PSEUDONYM_SALT, concat(ascii("ed25519"), context));
  const x25519Secret = hkdf32(master, PSEUDONYM_SALT, concat(ascii("x25519"), context));
  return { ed25519Seed, ed25519Public: publicKey(ed25519Seed), x25519Secret, x25519Public: x25519PublicKey(x25519Secret) };
}

/** The fingerprint of a key (4.3): four groups of five decimal digits. */
export function fingerprint(pk: Uint8Array): string {
  const d = H(ascii("holdspace/v1/fingerprint"), pk);
  const groups: string[] = [];
  for (let i = 0; i < 4; i++) {
    let n = 0n;
    for (const b of d.subarray(5 * i, 5 * i + 5)) n = (n << 8n) | BigInt(b);
    groups.push(String(n % 100000n).padStart(5, "0"));
  }
  return groups.join(" ");
}

/** A verified identity document. */
export interface IdentityDocument {
  readonly k: Uint8Array;
  readonly x: Uint8Array;
  readonly t: bigint;
  readonly n: string | null;
  readonly signedMessage: Uint8Array;
}

/**
 * Verifies an identity document (4.4), in order, stopping at the first failure:
 * 1. over 1024 bytes, not canonical CBOR or not a map: `identity.malformed_document`;
 * 2. key set not {v, k, x, t, sig} with an optional n; v != 1; k or x not 32 bytes; t not an
 *    unsigned integer <= 2^63-1; n not text of at most 128 UTF-8 bytes; sig not 64 bytes:
 *    `identity.malformed_document`;
 * 3. k not a valid Ed25519 public key or x not a valid X25519 public key: `identity.bad_key`;
 * 4. the signature by k (domain `holdspace/v1/identity`) does not verify: `identity.bad_signature`.
 */
export function verifyIdentityDocument(bytes: Uint8Array): IdentityDocument {
  const bad = (why: string): never => fail("identity.malformed_document", `malformed identity document: ${why}`);
  if (bytes.length > MAX_DOCUMENT) bad("longer than 1024 bytes");
  let item: CborValue;
  try {
    item = decode(bytes);
  } catch {
    return bad("not canonical CBOR");
  }
  if (!(item instanceof Map)) return bad("not a map");
  const keys = [...item.keys()].sort();
  const want = item.has("n") ? ["k", "n", "sig", "t", "v", "x"] : ["k", "sig", "t", "v", "x"];
  if (keys.join() !== want.join()) bad("wrong set of fields");
  const v = item.get("v");
  const k = item.get("k");
  const x = item.get("x");
  const t = item.get("t");
  const n = item.has("n") ? item.get("n") : null;
  const sig = item.get("sig");
  if (v !== 1n) bad("version is not 1");
  if (!(k instanceof Uint8Array) || k.length !== 32) return bad('"k" is not 32 bytes');
  if (!(x instanceof Uint8Array) || x.length !== 32) return bad('"x" is not 32 bytes');
  if (typeof t !== "bigint" || t < 0n || t > (1n << 63n) - 1n) return bad('"t" is not a timestamp');
  if (n !== null && (typeof n !== "string" || new TextEncoder().encode(n).length > MAX_NAME))
    return bad('"n" is not a name of at most 128 bytes');
  if (!(sig instanceof Uint8Array) || sig.length !== 64) return bad('"sig" is not 64 bytes');
  if (!isValidEd25519PublicKey(k) || !isValidX25519PublicKey(x)) fail("identity.bad_key", "a key of the document is not valid");
  const withoutSig = new Map(item);
  withoutSig.delete("sig");
  const msg = signedMessage(IDENTITY_DOMAIN, withoutSig);
  if (!verify(k, msg, sig)) fail("identity.bad_signature", "the identity document's signature does not verify");
  return { k, x, t, n: n as string | null, signedMessage: msg };
}

/** A signed identity document for a pseudonym (name optional, at most 128 bytes). */
export function createIdentityDocument(p: Pseudonym, timeMs: bigint, name: string | null = null): Uint8Array {
  const fields = new Map<string, CborValue>([
    ["v", 1n],
    ["k", p.ed25519Public],
    ["x", p.x25519Public],
    ["t", timeMs],
  ]);
  if (name !== null) fields.set("n", name);
  fields.set("sig", sign(p.ed25519Seed, signedMessage(IDENTITY_DOMAIN, new Map([...fields].filter(([key]) => key !== "sig")))));
  const bytes = encode(fields);
  verifyIdentityDocument(bytes);
  return bytes;
}
