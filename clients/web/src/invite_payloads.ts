/**
 * The payloads of the two control entries that involve an invite's secret (spec/protocol.md 12.3):
 * the facilitator's invite and the newcomer's join (`invite.ts` forms and reads the tokens).
 *
 * Invariant: an invite's secret seed leaves this module only inside a token (the capability,
 * passed privately); a node never sees it, only the invite's public key and the join's proof.
 */
import { equalBytes } from "./bytes.js";
import { parseNodeAddress } from "./address.js";
import { encodeControlPayload, joinProofMessage, type Role, sortedIds } from "./control.js";
import { publicKey, randomBytes, sign } from "./crypto.js";
import { fail } from "./errors.js";
import { verifyIdentityDocument } from "./identity.js";
import type { InviteToken } from "./invite.js";

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
