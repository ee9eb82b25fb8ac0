/**
 * Primitives of spec/protocol.md section 2 over the audited @noble libraries: hashes, HKDF, HMAC,
 * Ed25519, X25519, the AEAD (XChaCha20-Poly1305) and sealed boxes (libsodium's `crypto_box_seal`).
 *
 * `verify` is Ed25519 exactly as libsodium's `crypto_sign_verify_detached` (section 2), not as
 * @noble's own `ed25519.verify`, which is cofactored and accepts small-order keys.
 */
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { blake2b } from "@noble/hashes/blake2.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256, sha512 } from "@noble/hashes/sha2.js";
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { hsalsa, xsalsa20poly1305 } from "@noble/ciphers/salsa.js";
import { randomBytes as nobleRandomBytes } from "@noble/ciphers/utils.js";
import { ascii, concat, toHex } from "./bytes.js";
import { fail } from "./errors.js";

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
  return memo(ed25519Keys, pk, () => {
    const A = decodePoint(pk);
    return A !== null && !A.isSmallOrder();
  });
}

const MAX_KEY_VERDICTS = 4096;
const ed25519Keys = new Map<string, boolean>();
const x25519Keys = new Map<string, boolean>();

/** A bounded memo of a pure verdict about a key (the oldest forgotten first). */
function memo(cache: Map<string, boolean>, key: Uint8Array, compute: () => boolean): boolean {
  const k = toHex(key);
  const known = cache.get(k);
  if (known !== undefined) return known;
  const v = compute();
  if (cache.size >= MAX_KEY_VERDICTS) cache.delete(cache.keys().next().value as string);
  cache.set(k, v);
  return v;
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
  // Verification is a pure function of (pk, message, sig) and costs milliseconds in JavaScript;
  // a client meets the same signatures again (a join's proof in every pass of 12.5, an identity
  // document in a join and in an `identity` answer), so verdicts are kept in a bounded memo keyed
  // by the key, the signature and the message's hash.
  const memoKey = toHex(pk) + toHex(sig) + toHex(blake2b(message, { dkLen: 32 }));
  const known = verdicts.get(memoKey);
  if (known !== undefined) return known;
  const verdict = verifyUncached(pk, message, sig);
  if (verdicts.size >= MAX_VERDICTS) verdicts.delete(verdicts.keys().next().value as string);
  verdicts.set(memoKey, verdict);
  return verdict;
}

const MAX_VERDICTS = 8192;
const verdicts = new Map<string, boolean>();

function verifyUncached(pk: Uint8Array, message: Uint8Array, sig: Uint8Array): boolean {
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
  return memo(x25519Keys, key, () => {
    try {
      return x25519.scalarMult(X25519_CHECK_SCALAR, key).some((b) => b !== 0);
    } catch {
      return false; // @noble refuses an all-zero result itself
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Symmetric primitives and sealed boxes (section 2), used by end-to-end encryption (section 13).

/** HMAC-SHA-256(key, message), 32 bytes (13.3). */
export function hmacSha256(key: Uint8Array, message: Uint8Array): Uint8Array {
  return hmac(sha256, key, message);
}

/** `n` cryptographically random bytes (WebCrypto's `getRandomValues`, in browsers and Node). */
export function randomBytes(n: number): Uint8Array {
  return nobleRandomBytes(n);
}

function need(b: Uint8Array, size: number, what: string): void {
  if (b.length !== size) fail("crypto.bad_key", `${what} must be ${size} bytes`);
}

/**
 * AEAD(k, n, m, ad): XChaCha20-Poly1305 (section 2), the 16-byte tag appended. The key must be
 * 32 bytes and the nonce 24 (`crypto.bad_key`).
 */
export function aeadEncrypt(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Uint8Array {
  need(key, 32, "an AEAD key");
  need(nonce, 24, "an AEAD nonce");
  return xchacha20poly1305(key, nonce, ad).encrypt(plaintext);
}

/** Opens `aeadEncrypt`'s output; a wrong key, nonce, `ad` or altered bytes (or fewer than 16
 * bytes) is `crypto.decrypt_failed`; a key or nonce of the wrong size `crypto.bad_key`. */
export function aeadDecrypt(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, ad: Uint8Array): Uint8Array {
  need(key, 32, "an AEAD key");
  need(nonce, 24, "an AEAD nonce");
  if (ciphertext.length < 16) fail("crypto.decrypt_failed", "the ciphertext is shorter than its tag");
  try {
    return xchacha20poly1305(key, nonce, ad).decrypt(ciphertext);
  } catch {
    return fail("crypto.decrypt_failed", "authenticated decryption failed: wrong key, or the data was altered");
  }
}

const SIGMA = new Uint32Array(ascii("expand 32-byte k").buffer);

/** X25519(k, u) with the all-zero output refused (section 2); null when it is all zero. */
function x25519Shared(secret: Uint8Array, publicKey: Uint8Array): Uint8Array | null {
  try {
    const s = x25519.scalarMult(secret, publicKey);
    return s.some((b) => b !== 0) ? s : null;
  } catch {
    return null; // @noble refuses an all-zero result itself
  }
}

/** libsodium's `crypto_box_beforenm`: HSalsa20(X25519(sk, pk), 16 zero bytes). */
function boxKey(shared: Uint8Array): Uint8Array {
  const out = new Uint32Array(8);
  hsalsa(SIGMA, new Uint32Array(shared.slice().buffer), new Uint32Array(4), out);
  return new Uint8Array(out.buffer);
}

/** The sealed box's nonce: BLAKE2b-192(epk || pk). */
function sealNonce(epk: Uint8Array, pk: Uint8Array): Uint8Array {
  return blake2b(concat(epk, pk), { dkLen: 24 });
}

/** Bytes a sealed box adds: the ephemeral key (32) and the Poly1305 tag (16). */
export const SEAL_OVERHEAD = 48;

/**
 * Seal(pk, m): libsodium's `crypto_box_seal` (section 2): `epk || tag || ciphertext`. The
 * ephemeral secret is random unless given (the spec's vectors give it, to be reproducible; a
 * client never passes one). `pk` must be a 32-byte X25519 key not of small order, else
 * `crypto.bad_key`.
 */
export function seal(pk: Uint8Array, message: Uint8Array, ephemeralSecret: Uint8Array = randomBytes(32)): Uint8Array {
  need(pk, 32, "an X25519 public key");
  need(ephemeralSecret, 32, "an X25519 secret");
  const epk = x25519.getPublicKey(ephemeralSecret);
  const shared = x25519Shared(ephemeralSecret, pk);
  if (shared === null) fail("crypto.bad_key", "the recipient's X25519 key is of small order");
  const box = xsalsa20poly1305(boxKey(shared), sealNonce(epk, pk)).encrypt(message);
  return concat(epk, box);
}

/**
 * Opens a sealed box with the recipient's X25519 secret (its public key is derived from it).
 * Anything that does not open — shorter than 48 bytes, an ephemeral key of small order, a
 * wrong recipient or altered bytes — is `crypto.decrypt_failed`.
 */
export function sealOpen(secret: Uint8Array, box: Uint8Array): Uint8Array {
  need(secret, 32, "an X25519 secret");
  if (box.length < SEAL_OVERHEAD) fail("crypto.decrypt_failed", "a sealed box is at least 48 bytes");
  const epk = box.subarray(0, 32);
  const shared = x25519Shared(secret, epk);
  if (shared === null) fail("crypto.decrypt_failed", "the sealed box's ephemeral key is of small order");
  try {
    return xsalsa20poly1305(boxKey(shared), sealNonce(epk, x25519.getPublicKey(secret))).decrypt(box.subarray(32));
  } catch {
    return fail("crypto.decrypt_failed", "the sealed box does not open: wrong recipient, or the data was altered");
  }
}
