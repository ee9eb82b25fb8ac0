/**
 * Invites (spec/protocol.md 12.3, 14.3): invite tokens, and the payloads of the two control
 * entries that involve the invite's secret: the facilitator's invite and the newcomer's join.
 *
 * Invariant: an invite's secret seed leaves this module only inside a token (the capability,
 * passed privately); a node never sees it, only the invite's public key and the join's proof.
 */
import { equalBytes } from "./bytes.js";
import { parseNodeAddress } from "./address.js";
import { type CborValue, decode, encode } from "./cbor.js";
import { encodeControlPayload, joinProofMessage, type Role, sortedIds } from "./control.js";
import { H, publicKey, randomBytes, sign } from "./crypto.js";
import { fail, HoldspaceError } from "./errors.js";
import { verifyIdentityDocument } from "./identity.js";

export const INVITE_PREFIX = "hsinvite:";
/** The longest token text accepted (a guard on pasted text; eight addresses fit well within it). */
export const MAX_INVITE_TEXT = 4096;
export const MAX_TOKEN_NODES = 8;

/** An invite token's contents (14.3). */
export interface InviteToken {
  readonly group: Uint8Array;
  readonly invite: Uint8Array;
  /** The Ed25519 seed whose public key is the invite's `i`. */
  readonly seed: Uint8Array;
  /** The group's hosts to reach, the inviter's home node first (normal forms). */
  readonly nodes: readonly string[];
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

function base64url(b: Uint8Array): string {
  let out = "";
  for (let i = 0; i < b.length; i += 3) {
    const n = (b[i]! << 16) | ((b[i + 1] ?? 0) << 8) | (b[i + 2] ?? 0);
    const chars = i + 2 < b.length ? 4 : i + 1 < b.length ? 3 : 2;
    for (let k = 0; k < chars; k++) out += B64[(n >> (18 - 6 * k)) & 63]!;
  }
  return out;
}

function fromBase64url(s: string): Uint8Array | null {
  if (s.length % 4 === 1) return null;
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const c of s) {
    const v = B64.indexOf(c);
    if (v < 0) return null;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >> bits) & 0xff);
    }
  }
  if ((acc & ((1 << bits) - 1)) !== 0) return null; // non-zero padding bits: not a canonical encoding
  return Uint8Array.from(out);
}

/** The text of an invite token: `hsinvite:` and base64url (no padding) of `cbor || H(cbor)[0..4)`. */
export function encodeInviteToken(t: InviteToken): string {
  const body = encode({ g: t.group, i: t.invite, s: t.seed, n: [...t.nodes] });
  const blob = new Uint8Array(body.length + 4);
  blob.set(body);
  blob.set(H(body).subarray(0, 4), body.length);
  return INVITE_PREFIX + base64url(blob);
}

/**
 * Reads an invite token (14.3), in order: white space anywhere in the text is removed (a token
 * wrapped by a chat app still reads); then the prefix `hsinvite:` and at most 4096 characters;
 * base64url without padding; the 4 check bytes match; the body is canonical CBOR, a map of exactly
 * `g`, `i`, `s` (32 bytes each) and `n` (1 to 8 texts): all `address.bad_invite`. Each of `n` must
 * be a node address (its own code: `address.malformed`, or `identity.*` for a damaged node id).
 * The doubts this text leaves (white space inside, the length guard, the codes of `n`) were settled
 * with the reference implementation, `protocol/address.py`.
 */
export function parseInviteToken(text: string): InviteToken {
  const bad = (why: string): never => fail("address.bad_invite", `not an invite token: ${why}`);
  const t = text.replace(/\s+/gu, "");
  if (!t.startsWith(INVITE_PREFIX) || t.length > MAX_INVITE_TEXT) bad(`an invite token starts with ${INVITE_PREFIX}`);
  const blob = fromBase64url(t.slice(INVITE_PREFIX.length));
  if (blob === null) return bad("it is damaged (not base64url)");
  if (blob.length < 5) bad("it is incomplete");
  const body = blob.subarray(0, blob.length - 4);
  if (!equalBytes(H(body).subarray(0, 4), blob.subarray(blob.length - 4))) bad("it is damaged or incomplete");
  let v: CborValue;
  try {
    v = decode(body);
  } catch (e) {
    if (e instanceof HoldspaceError) return bad(`its contents are malformed (${e.code})`);
    throw e;
  }
  if (!(v instanceof Map) || v.size !== 4 || !["g", "i", "s", "n"].every((k) => v.has(k))) return bad("its contents are malformed");
  const [g, i, s, n] = ["g", "i", "s", "n"].map((k) => v.get(k));
  if (![g, i, s].every((x) => x instanceof Uint8Array && x.length === 32)) bad("its contents are malformed");
  if (!Array.isArray(n) || n.length < 1 || n.length > MAX_TOKEN_NODES || !n.every((a) => typeof a === "string")) return bad("it must name 1 to 8 nodes");
  const nodes = (n as string[]).map((a) => parseNodeAddress(a).normal);
  return { group: g as Uint8Array, invite: i as Uint8Array, seed: s as Uint8Array, nodes };
}

/** What a facilitator chooses for an invite (12.3). */
export interface InviteChoice {
  readonly deps: readonly Uint8Array[];
  readonly role: Role;
  /** Expiry `x`, ms. */
  readonly expires: bigint;
  /** Maximum uses `u`, at least 1. */
  readonly uses: bigint;
  /** The only pseudonym that may redeem it, or null for anyone. */
  readonly target: Uint8Array | null;
}

/**
 * A new invite: its payload (a fresh Ed25519 key pair; the payload carries the public key) and the
 * secret seed, which goes only into the token once the invite entry's id is known.
 */
export function newInvite(c: InviteChoice, seed: Uint8Array = randomBytes(32)): { payload: Uint8Array; seed: Uint8Array } {
  const payload = encodeControlPayload({
    kind: "invite",
    deps: sortedIds(c.deps),
    role: c.role,
    expires: c.expires,
    uses: c.uses,
    target: c.target,
    key: publicKey(seed),
  });
  return { payload, seed };
}

/**
 * The payload of a join redeeming `token` (12.3): `d` is the invite alone for a first join (12.6),
 * or the invite and the heads a former member still holds; `w` signs
 * "holdspace/v1/join" || 0x00 || group id || joiner || invite id with the invite's secret; `doc`
 * is the joiner's identity document (its `k` must be the joiner); `home` its home node, if any.
 */
export function joinPayload(token: InviteToken, joiner: Uint8Array, document: Uint8Array, home: string | null = null, heads: readonly Uint8Array[] = []): Uint8Array {
  const doc = verifyIdentityDocument(document);
  if (!equalBytes(doc.k, joiner)) fail("identity.bad_key", "the identity document is not the joiner's");
  const homeAddress = home === null ? null : parseNodeAddress(home);
  return encodeControlPayload({
    kind: "join",
    deps: sortedIds([token.invite, ...heads]),
    invite: token.invite,
    proof: sign(token.seed, joinProofMessage(token.group, joiner, token.invite)),
    doc,
    docBytes: document,
    home: homeAddress?.normal ?? null,
    homeKey: homeAddress?.nodeKey ?? null,
  });
}
