/**
 * Credentials as a member meets them (spec 17.7; the Python client's "Share a professional
 * credential" and its badge checks): sharing one's own credential in the group, each member's shared
 * credential with the verdict of `verifyBadge` (the role, or why it does not verify, in plain words),
 * and the group's trusted issuers.
 *
 * Invariants: a credential is shared only if it decodes and verifies, names this member's pseudonym
 * in this group and is for this group or any (what others check would fail otherwise); a verdict is
 * exactly `verifyBadge`'s for the member's latest credential (so it matches the badge people.ts
 * shows), computed from the messages and the group state given and `nowMs`.
 */
import { fromHex, toHex } from "./bytes.js";
import { decodeAttestation, verifyBadge } from "./credentials.js";
import { fail, HoldspaceError } from "./errors.js";
import type { GroupState } from "./group.js";
import { t } from "./i18n.js";
import type { Conversation } from "./participant.js";
import type { ReadMessage } from "./support.js";
import { CONTROL_KIND, encodeControlPayload } from "./control.js";
import { publishControl } from "./facilitator.js";
import { decodeTextId, encodeTextId } from "./textid.js";

/** A member's latest shared credential: its role when it verifies, else the failing check's code. */
export type Verdict = { readonly member: Uint8Array; readonly role: string; readonly problem: null } | { readonly member: Uint8Array; readonly role: null; readonly problem: string };

/** Why a credential does not verify, in plain words, by the code of the check that failed. */
export function problemWords(code: string): string {
  switch (code) {
    case "credential.expired":
      return t("Not verified: the credential has expired.");
    case "credential.revoked":
      return t("Not verified: the organisation that issued the credential has withdrawn it.");
    case "credential.untrusted_issuer":
      return t("Not verified: the group does not trust the organisation that issued the credential.");
    case "credential.not_yet_valid":
      return t("Not verified: the credential is not valid yet.");
    case "credential.wrong_subject":
      return t("Not verified: the credential was issued to someone else.");
    case "credential.wrong_group":
      return t("Not verified: the credential was issued for another group.");
    case "credential.bad_signature":
      return t("Not verified: the credential's signature does not check out.");
    default:
      return t("Not verified: this is not a credential that can be read.");
  }
}

/**
 * The latest credential each current member shared (a group `credential`, highest seq), with its
 * verdict at `nowMs` against the group's trusted issuers and every revocation posted; sorted by
 * member key.
 */
export function verdicts(messages: Iterable<ReadMessage>, g: GroupState, nowMs: number): Verdict[] {
  const latest = new Map<string, { seq: bigint; c: Uint8Array }>();
  const revocations: Uint8Array[] = [];
  for (const m of messages) {
    const c = m.content;
    if (m.direct || c === null || "unsupported" in c) continue;
    if (c.t === "revocation") revocations.push(c.c);
    if (c.t !== "credential") continue;
    const a = toHex(m.entry.header.a);
    const prev = latest.get(a);
    if (prev === undefined || m.entry.header.s > prev.seq) latest.set(a, { seq: m.entry.header.s, c: c.c });
  }
  const issuers = [...g.state.issuers.keys()].map(fromHex);
  const out: Verdict[] = [];
  for (const [k, { c }] of [...latest].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!g.state.members.has(k)) continue;
    const member = fromHex(k);
    try {
      out.push({ member, role: verifyBadge({ attestation: c, subject: member, groupId: g.groupId, issuers, revocations, nowMs: BigInt(nowMs) }), problem: null });
    } catch (e) {
      if (!(e instanceof HoldspaceError)) throw e;
      out.push({ member, role: null, problem: e.code });
    }
  }
  return out;
}

/** The group's trusted issuers now, as the text ids (`hsn1…`) the Python client shows, sorted. */
export function trustedIssuers(g: GroupState): string[] {
  return [...g.state.issuers.keys()].map((k) => encodeTextId("hsn", fromHex(k))).sort();
}

/** This member's key in the group as the text id (`hsp1…`) to give an organisation issuing a credential. */
export function ownTextId(conv: Conversation): string {
  return encodeTextId("hsp", conv.self);
}

/** Hex text (spaces and line breaks ignored) as bytes; anything else is `credential.malformed`. */
function parseHex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, "").toLowerCase();
  if (clean === "" || clean.length % 2 !== 0 || !/^[0-9a-f]+$/.test(clean)) fail("credential.malformed", "a credential is written in hexadecimal");
  return fromHex(clean);
}

/**
 * Shares this member's credential (pasted as hex) with the group, through the outbox (a group
 * `credential`, 17.7). Checked, in order: hex (`credential.malformed`); it decodes and its signature
 * verifies (`credential.malformed`, `credential.bad_signature`); its subject is this member's
 * pseudonym here (`credential.wrong_subject`); its group is null or this group
 * (`credential.wrong_group`). Whether the group trusts its issuer is not checked: each member's
 * client checks that, now and later.
 */
export async function shareCredential(conv: Conversation, text: string): Promise<void> {
  const raw = parseHex(text);
  const a = decodeAttestation(raw);
  if (toHex(a.subject) !== toHex(conv.self)) fail("credential.wrong_subject", "that credential was issued to another pseudonym, not yours in this group");
  if (a.group !== null && toHex(a.group) !== toHex(conv.record.groupId)) fail("credential.wrong_group", "that credential was issued for another group");
  await conv.compose({ t: "credential", c: raw });
}

/**
 * An issuer's key from what a facilitator pasted: its text id (`hsn1…`, a node's; `hsp1…`, a
 * pseudonym's) or its 32 bytes in hexadecimal, as the Python client takes it. Anything else is
 * `identity.bad_text_id` (or `identity.bad_checksum`, `identity.bad_key` for a text id that fails
 * its checks).
 */
export function parseIssuer(text: string): Uint8Array {
  const s = text.trim();
  if (s.toLowerCase().startsWith("hsn1")) return decodeTextId(s, "hsn");
  if (s.toLowerCase().startsWith("hsp1")) return decodeTextId(s, "hsp");
  const clean = s.replace(/\s+/g, "").toLowerCase();
  if (clean.length !== 64 || !/^[0-9a-f]+$/.test(clean)) fail("identity.bad_text_id", "an issuer is an hsn1… or hsp1… id, or 32 bytes in hexadecimal");
  return fromHex(clean);
}

/**
 * A facilitator adds (`add`) or removes an issuer the group trusts: a `trust` entry (spec 12.3,
 * 17.7) through the outbox. The group's rules decide (only a facilitator may; removing a key not
 * listed is `group.bad_target`, so the screen offers removal only for listed ones).
 */
export async function trustIssuer(conv: Conversation, key: Uint8Array, add: boolean): Promise<void> {
  await publishControl(conv, CONTROL_KIND.trust, (g) => encodeControlPayload({ kind: "trust", deps: g.headIds(), key, add }));
}
