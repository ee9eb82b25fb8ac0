/**
 * Several groups in one browser, and starting one (spec 12.2, 14.4, 17.12): the counterpart of
 * `clients/participant.py`'s `create_group` and of the app's home page.
 *
 * Starting a group signs a genesis (12.2) under a pseudonym derived with context `"genesis:" || n`
 * (4.2) for a fresh 16-byte nonce `n`, history visibility `joined` and the browser's home node as
 * the first host, exactly as the Python client does; the page's node must accept it (14.6: its
 * operator's admission, its caps and budgets). Then the creator, its first facilitator, publishes
 * the first epoch (a rekey to itself, 13.1) and the group's profile (17.12: name, and description
 * and guidelines if given) through the outbox.
 *
 * Invariants:
 * - the profile's fields are checked (17.1, `content.malformed`; an empty name `app.bad_input`)
 *   before anything is signed: a refused name never leaves a group behind;
 * - the genesis is kept in the profile as the group's pending first entry (the slot a join uses)
 *   before it is published: an unsettled answer (`UNSETTLED`) keeps it, to be sent again when the
 *   conversation connects; a definite refusal (the node's admission, say) forgets the group, which
 *   then exists nowhere;
 * - every group keeps its own records: its entries on the device under its id (device_log.ts), its
 *   outbox items by group (outbox.ts), its visit mark and name (notify.ts `VisitBook`); nothing here
 *   reads or writes another group's.
 *
 * The list of groups is the profile's, the group opened last first (`opened` moves a group to the
 * end of the profile's list; the profile is saved).
 */
import { ascii, concat, toHex } from "./bytes.js";
import { encodeContent, type ProfileContent } from "./content.js";
import { CONTROL_KIND, encodeControlPayload } from "./control.js";
import { randomBytes } from "./crypto.js";
import { parseNodeAddress } from "./address.js";
import { createEntry } from "./entry.js";
import { fail, HoldspaceError } from "./errors.js";
import type { GroupAbout } from "./about.js";
import { publishControl } from "./facilitator.js";
import { createIdentityDocument, derivePseudonym, verifyIdentityDocument } from "./identity.js";
import { buildRekey } from "./keyring.js";
import { VisitBook } from "./notify.js";
import { Conversation, type NodeLink, type Participant } from "./participant.js";
import type { GroupRecord } from "./profile.js";

/** Answers after which a genesis may still be stored (as the Python client's `UNSETTLED`, and the
 * browser's own session failures): the group is kept, its genesis sent again when it is opened. A
 * storage budget is not among them: a group the node has no room for is not started. */
export const UNSETTLED: ReadonlySet<string> = new Set(["proto.busy", "proto.rate_limited", "proto.in_flight", "fed.unreachable", "web.unreachable"]);

/** Bytes of the genesis nonce (12.2). */
export const NONCE_SIZE = 16;

/** The derivation context of the creator's pseudonym in the group of genesis nonce `nonce` (4.2). */
export function genesisContext(nonce: Uint8Array): Uint8Array {
  return concat(ascii("genesis:"), nonce);
}

/** A group as the list shows it: its record and the name this device knows it by (or null). */
export interface GroupItem {
  readonly record: GroupRecord;
  readonly name: string | null;
}

/** The groups of `me`, the one opened last first, each with the name kept for it on this device
 * (the invite's, then the profile's once read; null if none). */
export async function listGroups(me: Participant): Promise<GroupItem[]> {
  const book = new VisitBook(me.history);
  const out: GroupItem[] = [];
  for (const record of [...me.profile.groups].reverse()) out.push({ record, name: (await book.visit(record.groupId)).name });
  return out;
}

/** Records that `record` was opened now: it goes first in the list (the profile is saved). */
export async function opened(me: Participant, record: GroupRecord): Promise<void> {
  const groups = me.profile.groups;
  const at = groups.indexOf(record);
  if (at === -1 || at === groups.length - 1) return;
  groups.splice(at, 1);
  groups.push(record);
  await me.save();
}

/** Keeps `name` as the group's name on this device, if it changed (the profile's, once read). */
export async function rememberName(me: Participant, groupId: Uint8Array, name: string | null): Promise<void> {
  if (name === null) return;
  const book = new VisitBook(me.history);
  if ((await book.visit(groupId)).name !== name) await book.rememberName(groupId, name);
}

/** The group's profile content (17.12) for `about`, checked: a name (`app.bad_input` if empty), on
 * one line of at most 64 bytes, a description of at most 2000 and guidelines of at most 8000
 * characters (`content.malformed`, 17.1). Empty description or guidelines are left out. */
export function profileContent(about: GroupAbout): ProfileContent {
  const name = about.name.trim();
  if (name === "") fail("app.bad_input", "give the group a name");
  const c: { t: "profile"; n: string; d?: string; g?: string } = { t: "profile", n: name };
  const d = (about.description ?? "").trim();
  const g = (about.guidelines ?? "").trim();
  if (d !== "") c.d = d;
  if (g !== "") c.g = g;
  encodeContent(c); // checks every field as 17.1 says
  return c;
}

/** The genesis of a new group of `me` (12.2) and its record, not yet kept anywhere. */
export function newGenesis(me: Participant, timeMs: bigint, nonce: Uint8Array = randomBytes(NONCE_SIZE)): GroupRecord {
  const context = genesisContext(nonce);
  const p = derivePseudonym(me.profile.master, context);
  const docBytes = createIdentityDocument(p, timeMs);
  const home = me.profile.node === "" ? null : parseNodeAddress(me.profile.node);
  const payload = encodeControlPayload({ kind: "genesis", nonce, doc: verifyIdentityDocument(docBytes), docBytes, history: "joined", home: home?.normal ?? null, homeKey: home?.nodeKey ?? null });
  const entry = createEntry(p.ed25519Seed, { group: new Uint8Array(32), seq: 1n, prev: null, timeMs, kind: CONTROL_KIND.genesis, payload });
  return { groupId: entry.id, context, hosts: home === null ? [] : [home.normal], seq: 0n, prev: null, join: [entry.bytes, payload], sent: new Map() };
}

/**
 * Starts a group on the node of `link` with `about` as its profile, `me` its first facilitator;
 * resolves with its conversation, connected over `link`. Checked first: the profile
 * (`profileContent`). A node's refusal of the genesis (`admission.closed`,
 * `admission.token_required`, `admission.max_groups`, `quota.node_full`, …) is thrown as it is, and
 * forgets the group unless `UNSETTLED`. `token` (an operator's token, 14.6), if given, is sent in the
 * `publish` of the genesis only (`withToken`). Once the genesis is accepted the group exists and this
 * resolves: a first epoch not published then is published when the group is opened
 * (`ensureFirstEpoch`), and the profile waits in the outbox until it is sent.
 */
export async function startGroup(me: Participant, link: NodeLink, about: GroupAbout, token: Uint8Array | null = null): Promise<Conversation> {
  const profile = profileContent(about);
  const record = newGenesis(me, BigInt(me.clock()));
  me.profile.groups.push(record);
  await me.save();
  await new VisitBook(me.history).rememberName(record.groupId, profile.n);
  try {
    await link.authenticate(me.pseudonym(record).ed25519Seed);
    await me.sendJoin(token === null ? link : withToken(link, token), record, true);
  } catch (e) {
    if (e instanceof HoldspaceError && !UNSETTLED.has(e.code)) {
      me.profile.groups.splice(me.profile.groups.indexOf(record), 1);
      await me.save();
    }
    throw e;
  }
  const conv = new Conversation(me, record);
  try {
    await conv.connect(link);
    await ensureFirstEpoch(conv);
  } catch (e) {
    if (!(e instanceof HoldspaceError)) throw e; // the group exists: its first epoch is published when it is opened
  }
  await conv.compose(profile); // kept in the outbox until it is sent
  return conv;
}

/** `link`, with the operator's `token` added to its `publish` and `adopt` requests (14.6); every
 * other request goes as it is. */
export function withToken(link: NodeLink, token: Uint8Array): NodeLink {
  return {
    request: (op, fields) => {
      if (op !== "publish" && op !== "adopt") return link.request(op, fields);
      const f = new Map(fields);
      f.set("token", token);
      return link.request(op, f);
    },
    subscribe: (group, after, onEvent) => link.subscribe(group, after, onEvent),
    authenticate: (seed) => link.authenticate(seed),
  };
}

/** Publishes the group's first epoch (13.1: a rekey to its members, at first only its creator) if
 * it has none yet and this member is a member; else does nothing. */
export async function ensureFirstEpoch(conv: Conversation): Promise<void> {
  const g = conv.client.state;
  if (g.state.epochs.length > 0 || !g.state.members.has(toHex(conv.self))) return;
  await publishControl(conv, CONTROL_KIND.rekey, (now) => (now.state.epochs.length > 0 ? null : buildRekey(now, conv.self).payload));
}
