/**
 * Credentials (spec/protocol.md 17.7): an issuer's attestation that a pseudonym holds a role, its
 * revocation, and the verified badge a client shows next to a member.
 *
 * Invariant: a badge is shown only when every check of 17.7 passes, in its order; otherwise the
 * code of the first failing check is shown instead.
 */
import { compareBytes, equalBytes } from "./bytes.js";
import { type CborMap, type CborValue, decode, encode } from "./cbor.js";
import { H, publicKey, sign, verify } from "./crypto.js";
import { signedMessage } from "./entry.js";
import { fail, HoldspaceError } from "./errors.js";

export const CREDENTIAL_DOMAIN = "holdspace/v1/credential";
export const REVOCATION_DOMAIN = "holdspace/v1/revocation";
export const MAX_CREDENTIAL = 512;
const MAX_U63 = (1n << 63n) - 1n;

export interface Attestation {
  readonly issuer: Uint8Array;
  readonly subject: Uint8Array;
  readonly group: Uint8Array | null;
  readonly role: string;
  readonly notBefore: bigint;
  readonly expires: bigint;
  readonly serial: Uint8Array;
  /** H(attestation bytes). */
  readonly id: Uint8Array;
  readonly signedMessage: Uint8Array;
}

export interface Revocation {
  readonly issuer: Uint8Array;
  readonly credential: Uint8Array;
  readonly time: bigint;
  readonly signedMessage: Uint8Array;
}

const malformed = (why: string): never => fail("credential.malformed", `malformed credential: ${why}`);
const isKey = (v: CborValue | undefined): v is Uint8Array => v instanceof Uint8Array && v.length === 32;
const isU63 = (v: CborValue | undefined): v is bigint => typeof v === "bigint" && v >= 0n && v <= MAX_U63;

/** The map of a signed credential object: at most 512 bytes, canonical CBOR, a map of exactly
 * `keys`, `v` = 1 (all `credential.malformed`). */
function credentialMap(bytes: Uint8Array, keys: readonly string[]): CborMap {
  if (bytes.length > MAX_CREDENTIAL) malformed("longer than 512 bytes");
  let m: CborValue;
  try {
    m = decode(bytes);
  } catch {
    return malformed("not canonical CBOR");
  }
  if (!(m instanceof Map)) return malformed("not a map");
  if (m.size !== keys.length || !keys.every((k) => m.has(k))) malformed("wrong set of fields");
  if (m.get("v") !== 1n) malformed("version is not 1");
  return m;
}

/** The signature check shared by both objects (`credential.bad_signature`). */
function checkSignature(m: CborMap, domain: string, issuer: Uint8Array): Uint8Array {
  const sig = m.get("sig");
  const withoutSig = new Map(m);
  withoutSig.delete("sig");
  const msg = signedMessage(domain, withoutSig);
  if (!(sig instanceof Uint8Array) || sig.length !== 64 || !verify(issuer, msg, sig))
    fail("credential.bad_signature", "the credential's signature does not verify under its issuer's key");
  return msg;
}

/**
 * Decodes and verifies an attestation (17.7), in order: at most 512 bytes, canonical CBOR, a map
 * of exactly v, i, s, g, r, nb, x, n, sig, `v` = 1; `i` and `s` 32 bytes, `g` null or 32 bytes,
 * `r` text of 1..64 UTF-8 bytes, `nb` and `x` unsigned <= 2^63-1, `n` 16 bytes (all
 * `credential.malformed`); `sig` 64 bytes verifying under `i` (`credential.bad_signature`).
 */
export function decodeAttestation(bytes: Uint8Array): Attestation {
  const m = credentialMap(bytes, ["v", "i", "s", "g", "r", "nb", "x", "n", "sig"]);
  const i = m.get("i");
  const s = m.get("s");
  const g = m.get("g");
  const r = m.get("r");
  const nb = m.get("nb");
  const x = m.get("x");
  const n = m.get("n");
  if (!isKey(i) || !isKey(s) || (g !== null && !isKey(g))) return malformed("i, s and g must be 32-byte keys (g may be null)");
  if (typeof r !== "string" || r.length === 0 || new TextEncoder().encode(r).length > 64) return malformed("r must be a role of 1..64 bytes");
  if (!isU63(nb) || !isU63(x)) return malformed("nb and x must be times in ms");
  if (!(n instanceof Uint8Array) || n.length !== 16) return malformed("n must be a 16-byte serial");
  const msg = checkSignature(m, CREDENTIAL_DOMAIN, i);
  return { issuer: i, subject: s, group: g as Uint8Array | null, role: r, notBefore: nb, expires: x, serial: n, id: H(bytes), signedMessage: msg };
}

/**
 * Decodes and verifies a revocation (17.7), in order: at most 512 bytes, canonical CBOR, a map of
 * exactly v, i, c, t, sig, `v` = 1; `i` and `c` 32 bytes, `t` unsigned <= 2^63-1 (all
 * `credential.malformed`); `sig` 64 bytes verifying under `i` (`credential.bad_signature`).
 */
export function decodeRevocation(bytes: Uint8Array): Revocation {
  const m = credentialMap(bytes, ["v", "i", "c", "t", "sig"]);
  const i = m.get("i");
  const c = m.get("c");
  const t = m.get("t");
  if (!isKey(i) || !isKey(c)) return malformed("i and c must be 32 bytes");
  if (!isU63(t)) return malformed("t must be a time in ms");
  const msg = checkSignature(m, REVOCATION_DOMAIN, i);
  return { issuer: i, credential: c, time: t, signedMessage: msg };
}

function signObject(seed: Uint8Array, domain: string, fields: Map<string, CborValue>): Uint8Array {
  fields.set("sig", sign(seed, signedMessage(domain, fields)));
  return encode(fields);
}

/** An attestation signed by the issuer's seed (checked by `decodeAttestation` before it is returned). */
export function createAttestation(
  issuerSeed: Uint8Array,
  a: { subject: Uint8Array; group: Uint8Array | null; role: string; notBefore: bigint; expires: bigint; serial: Uint8Array },
): Uint8Array {
  const fields = new Map<string, CborValue>([
    ["v", 1n],
    ["i", publicKey(issuerSeed)],
    ["s", a.subject],
    ["g", a.group],
    ["r", a.role],
    ["nb", a.notBefore],
    ["x", a.expires],
    ["n", a.serial],
  ]);
  const bytes = signObject(issuerSeed, CREDENTIAL_DOMAIN, fields);
  decodeAttestation(bytes);
  return bytes;
}

/** A revocation of credential `credential` signed by the issuer's seed. */
export function createRevocation(issuerSeed: Uint8Array, credential: Uint8Array, timeMs: bigint): Uint8Array {
  const fields = new Map<string, CborValue>([
    ["v", 1n],
    ["i", publicKey(issuerSeed)],
    ["c", credential],
    ["t", timeMs],
  ]);
  const bytes = signObject(issuerSeed, REVOCATION_DOMAIN, fields);
  decodeRevocation(bytes);
  return bytes;
}

/** What a badge check is given (17.7). */
export interface BadgeQuery {
  /** The attestation the member posted last. */
  readonly attestation: Uint8Array;
  /** The member who posted it. */
  readonly subject: Uint8Array;
  readonly groupId: Uint8Array;
  /** The group's trusted issuers now (the keys of `issuers`, 12.5). */
  readonly issuers: readonly Uint8Array[];
  /** Every revocation posted in the group (undecodable ones are ignored). */
  readonly revocations: readonly Uint8Array[];
  readonly nowMs: bigint;
}

/**
 * The verified badge (17.7): returns the role if every check passes, in order, else throws the
 * code of the first that fails: the attestation decodes and verifies (`credential.malformed`,
 * `credential.bad_signature`); `s` is the member who posted it (`credential.wrong_subject`); `g`
 * is null or this group (`credential.wrong_group`); `i` is a trusted issuer now
 * (`credential.untrusted_issuer`); `now >= nb` (`credential.not_yet_valid`); `now < x`
 * (`credential.expired`); no revocation posted that decodes and verifies has `i` equal to the
 * attestation's issuer and `c` equal to its id (`credential.revoked`).
 */
export function verifyBadge(q: BadgeQuery): string {
  const a = decodeAttestation(q.attestation);
  if (!equalBytes(a.subject, q.subject)) fail("credential.wrong_subject", "the credential was issued to another pseudonym");
  if (a.group !== null && !equalBytes(a.group, q.groupId)) fail("credential.wrong_group", "the credential was issued for another group");
  if (!q.issuers.some((k) => compareBytes(k, a.issuer) === 0)) fail("credential.untrusted_issuer", "the group does not list the credential's issuer as trusted");
  if (q.nowMs < a.notBefore) fail("credential.not_yet_valid", "the credential's validity has not started");
  if (q.nowMs >= a.expires) fail("credential.expired", "the credential has expired");
  for (const bytes of q.revocations) {
    let r: Revocation;
    try {
      r = decodeRevocation(bytes);
    } catch (e) {
      if (e instanceof HoldspaceError) continue; // a revocation that does not decode or verify is ignored
      throw e;
    }
    if (equalBytes(r.issuer, a.issuer) && equalBytes(r.credential, a.id)) fail("credential.revoked", "the credential's issuer has revoked it");
  }
  return a.role;
}
