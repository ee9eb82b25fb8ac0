/**
 * Primitives of spec/protocol.md section 2 over the audited @noble libraries.
 *
 * `verify` is Ed25519 exactly as libsodium's `crypto_sign_verify_detached` (section 2), not as
 * @noble's own `ed25519.verify`, which is cofactored and accepts small-order keys.
 */
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { blake2b } from "@noble/hashes/blake2.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256, sha512 } from "@noble/hashes/sha2.js";
import { concat } from "./bytes.js";

const Point = ed25519.Point;
const L = Point.Fn.ORDER;
const P = Point.Fp.ORDER;

/** H(x): BLAKE2b with a 32-byte digest, no key. */
export function H(...parts: Uint8Array[]): Uint8Array {
  return blake2b(concat(...parts), { dkLen: 32 });
}

function leToBigint(b: Uint8Array): bigint {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]!);
  return n;
}

type EdPoint = InstanceType<typeof Point>;

/** The point encoded by `b` if its y (low 255 bits) is below p and it decodes; else null.
 * The sign bit is not checked here (section 2). */
function decodePoint(b: Uint8Array): EdPoint | null {
  if (b.length !== 32) return null;
  const y = leToBigint(b) & ((1n << 255n) - 1n);
  if (y >= P) return null;
  try {
    return Point.fromBytes(b, false);
  } catch {
    return null; // no point with this y, or x = 0 with the sign bit set (small order anyway)
  }
}

/** True iff `pk` is "a valid Ed25519 public key" (section 2): a canonical encoding of a point
 * not of small order. No prime-order-subgroup check is made (a key of order 8L is valid). */
export function isValidEd25519PublicKey(pk: Uint8Array): boolean {
  const A = decodePoint(pk);
  return A !== null && !A.isSmallOrder();
}

/**
 * Ed25519 verification as libsodium's `crypto_sign_verify_detached` (section 2). Checked:
 * the key is 32 bytes and a valid public key (canonical, not of small order); the signature is
 * 64 bytes; S < L; `[S]B - [k]A` with `k = SHA-512(R || A || m) mod L` encodes to exactly the
 * bytes R (cofactorless; a non-canonical R never matches); that point (so R) is not of small
 * order. Never throws.
 */
export function verify(pk: Uint8Array, message: Uint8Array, sig: Uint8Array): boolean {
  if (pk.length !== 32 || sig.length !== 64) return false;
  const A = decodePoint(pk);
  if (A === null || A.isSmallOrder()) return false;
  const r = sig.subarray(0, 32);
  const s = leToBigint(sig.subarray(32));
  if (s >= L) return false;
  const k = leToBigint(sha512(concat(r, pk, message))) % L;
  const sB = s === 0n ? Point.ZERO : Point.BASE.multiplyUnsafe(s);
  const kA = k === 0n ? Point.ZERO : A.multiplyUnsafe(k);
  const check = sB.subtract(kA);
  if (check.isSmallOrder()) return false;
  const enc = check.toBytes();
  for (let i = 0; i < 32; i++) if (enc[i] !== r[i]) return false;
  return true;
}

/** Sign(seed, m): a pure Ed25519 signature (RFC 8032) by the 32-byte seed. */
export function sign(seed: Uint8Array, message: Uint8Array): Uint8Array {
  return ed25519.sign(message, seed);
}

/** The Ed25519 public key of a 32-byte seed. */
export function publicKey(seed: Uint8Array): Uint8Array {
  return ed25519.getPublicKey(seed);
}

/** HKDF(ikm, salt, info): HKDF-SHA-256 with 32 bytes of output (section 2). */
export function hkdf32(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array): Uint8Array {
  return hkdf(sha256, ikm, salt, info, 32);
}

/** The X25519 public key of a 32-byte secret (clamped by X25519). */
export function x25519PublicKey(secret: Uint8Array): Uint8Array {
  return x25519.getPublicKey(secret);
}

const X25519_CHECK_SCALAR = Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 0x01 : i === 31 ? 0x40 : 0));

/** True iff `key` is a valid X25519 public key (section 2): 32 bytes, and X25519 of it with the
 * fixed scalar is not all zero (the key is not of small order). */
export function isValidX25519PublicKey(key: Uint8Array): boolean {
  if (key.length !== 32) return false;
  try {
    return x25519.scalarMult(X25519_CHECK_SCALAR, key).some((b) => b !== 0);
  } catch {
    return false; // @noble refuses an all-zero result itself
  }
}
