/**
 * The payloads of the two control entries that involve an invite's secret (spec/protocol.md 12.3):
 * the facilitator's invite and the newcomer's join; and the token's text as the facilitator's client
 * forms it (14.3; `invite.ts` reads tokens and links).
 *
 * Invariant: an invite's secret seed leaves this module only inside a token (the capability,
 * passed privately); a node never sees it, only the invite's public key and the join's proof.
 */
import { equalBytes } from "./bytes.js";
import { parseNodeAddress } from "./address.js";
import { encode } from "./cbor.js";
import { encodeControlPayload, joinProofMessage, type Role, sortedIds } from "./control.js";
import { H, publicKey, randomBytes, sign } from "./crypto.js";
import { fail } from "./errors.js";
import { verifyIdentityDocument } from "./identity.js";
import { INVITE_PREFIX, type InviteToken } from "./invite.js";

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

/** What a token carries, as its maker knows it: the node addresses as text. */
export interface NewInviteToken {
  readonly groupId: Uint8Array;
  readonly inviteId: Uint8Array;
  readonly seed: Uint8Array;
  readonly nodes: readonly string[];
}

/** The text of an invite token: `hsinvite:` and base64url (no padding) of `cbor || H(cbor)[0..4)`. */
export function encodeInviteToken(t: NewInviteToken): string {
  const body = encode({ g: t.groupId, i: t.inviteId, s: t.seed, n: [...t.nodes] });
  const blob = new Uint8Array(body.length + 4);
  blob.set(body);
  blob.set(H(body).subarray(0, 4), body.length);
  return INVITE_PREFIX + base64url(blob);
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
export function joinPayload(token: Pick<InviteToken, "groupId" | "inviteId" | "seed">, joiner: Uint8Array, document: Uint8Array, home: string | null = null, heads: readonly Uint8Array[] = []): Uint8Array {
  const doc = verifyIdentityDocument(document);
  if (!equalBytes(doc.k, joiner)) fail("identity.bad_key", "the identity document is not the joiner's");
  const homeAddress = home === null ? null : parseNodeAddress(home);
  return encodeControlPayload({
    kind: "join",
    deps: sortedIds([token.inviteId, ...heads]),
    invite: token.inviteId,
    proof: sign(token.seed, joinProofMessage(token.groupId, joiner, token.inviteId)),
    doc,
    docBytes: document,
    home: homeAddress?.normal ?? null,
    homeKey: homeAddress?.nodeKey ?? null,
  });
}
