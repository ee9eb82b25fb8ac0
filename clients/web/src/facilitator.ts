/**
 * What a facilitator (or a moderator, where 12.5 allows it) does from the browser, the counterpart
 * of the local app's Members and Moderation pages: sharing the group's keys with newcomers (13.1: any
 * member's page, at its turn for the join, `keyshare.ts`),
 * invites (12.3, 14.3) and closing expired ones, removals and bans (12.5),
 * removing a message for everyone (a redaction, 12.5), mutes for a while and lifting them (12.5,
 * 12.6), the group's invites listed and revoked (a `close`, 12.5), the moderation log (17.6), the
 * reports sent to this member (13.6, 17.6) with their state, and the check-ins sealed to the
 * facilitators (17.2).
 *
 * Invariants:
 * - every control entry is signed at the next position of this member's log between two flushes of
 *   the outbox (`publishControl`), never while an item is being signed or sent, and never while an
 *   item holds a signed entry the node has not acknowledged: a log position is used once;
 * - what the screens may offer is what 12.5 would apply (`may*`): the node and every member judge
 *   again, so this only spares people refusals;
 * - a report's words are shown only from a disclosure that verifies (13.6); a report that does not
 *   verify offers no action on its author or message;
 * - a report's state is kept sealed in this browser's history (store `seen`), never sent anywhere.
 */
import { parseNodeAddress } from "./address.js";
import { toHex } from "./bytes.js";
import { type CborValue, decode, encode } from "./cbor.js";
import { randomBytes } from "./crypto.js";
import { CONTROL_KIND, encodeControlPayload, type Remove, ROLE_RANK, type Role } from "./control.js";
import { deletedBy } from "./deletion.js";
import { verifyDisclosure } from "./disclosure.js";
import { createEntry, type Entry } from "./entry.js";
import { fail, HoldspaceError } from "./errors.js";
import type { GroupState } from "./group.js";
import { encodeInviteToken, inviteLink, parseInvite } from "./invite.js";
import { newInvite } from "./invite_payloads.js";
import { carryWelcome } from "./about.js";
import { buildRekey, isCleanEpoch } from "./keyring.js";
import { myTurn, STEP } from "./keyshare.js";
import { t, tn } from "./i18n.js";
import { label } from "./labels.js";
import { profileName } from "./notify.js";
import type { Conversation } from "./participant.js";
import { MAX_REMOVAL_WORDS, removalWords, sealRemovalWords, wordsBytes } from "./removal.js";
import { checkinRecipients, moderationLog, recipientsWithRole } from "./support.js";

export const ROLES: readonly Role[] = ["member", "moderator", "facilitator"];
/** The bounds the local app offers: people per invite, and days it stays valid. */
export const MAX_INVITE_USES = 100;
export const MAX_INVITE_DAYS = 30;
const DAY_MS = 86_400_000;
const HOSTS_IN_TOKEN = 8;
const STALE_TRIES = 3;
/** Key prefix of a report's state in the history's `seen` store. */
const REPORT_KEY = "report-";
/** How long a mute lasts, in minutes, as the local app offers it: an hour, a day, a week. */
export const MUTE_MINUTES: readonly number[] = [60, 1440, 10_080];
/** The moderation log shows the latest this many lines. */
export const LOG_SHOWN = 100;

/** The role of `key` in the group now, or null if it is not a member. */
export function roleOf(g: GroupState, key: Uint8Array): Role | null {
  return g.state.members.get(toHex(key))?.role ?? null;
}

function atLeast(role: Role | null, needed: Role): boolean {
  return role !== null && ROLE_RANK[role] >= ROLE_RANK[needed];
}

/** 12.5 `invite`: only a facilitator invites. */
export function mayInvite(g: GroupState, me: Uint8Array): boolean {
  return roleOf(g, me) === "facilitator";
}

/** 12.5 `remove`: the target is another member; a member needs a moderator, anyone else a facilitator. */
export function mayRemove(g: GroupState, me: Uint8Array, target: Uint8Array): boolean {
  const t = roleOf(g, target);
  if (t === null || toHex(target) === toHex(me)) return false;
  return atLeast(roleOf(g, me), t === "member" ? "moderator" : "facilitator");
}

/** 12.5 `mute` (lifting one is a mute too): the rule of a removal, the target another member; a
 * member needs a moderator, anyone else a facilitator. */
export function mayMute(g: GroupState, me: Uint8Array, target: Uint8Array): boolean {
  return mayRemove(g, me, target);
}

/** 12.5 `redact` of another's entry: a member's (or a former member's) needs a moderator, a
 * moderator's or facilitator's a facilitator; one's own needs membership only. */
export function mayRedact(g: GroupState, me: Uint8Array, author: Uint8Array): boolean {
  const mine = roleOf(g, me);
  if (mine === null) return false;
  if (toHex(author) === toHex(me)) return true;
  const t = roleOf(g, author);
  return atLeast(mine, t === null || t === "member" ? "moderator" : "facilitator");
}

/** Reports are sealed to moderators and facilitators (17.6). */
export function seesReports(g: GroupState, me: Uint8Array): boolean {
  return atLeast(roleOf(g, me), "moderator");
}

/** Check-ins for the facilitators only are sealed to the facilitators (17.2). */
export function seesCheckins(g: GroupState, me: Uint8Array): boolean {
  return roleOf(g, me) === "facilitator";
}

/** A list of names in words: "A", "A and B", "A, B and C". */
function listed(names: readonly string[]): string {
  return names.length <= 1 ? (names[0] ?? "") : t("{first} and {last}", { first: names.slice(0, -1).join(", "), last: names.at(-1)! });
}

/**
 * Exactly who will read a check-in sealed to the facilitators now (17.2: the current facilitators),
 * as a sentence naming each by its label, "you" for this member.
 */
export function checkinAudience(g: GroupState, me: Uint8Array): string {
  const who = checkinRecipients(g).map((r) => (toHex(r.key) === toHex(me) ? t("you") : label(r.key)));
  if (who.length === 0) return t("The group has no facilitator right now, so nobody can read a check-in.");
  return tn("Only the group's facilitator will see it: {names}.", "Only the group's {n} facilitators will see it: {names}.", who.length, { names: listed(who) });
}

/**
 * Publishes one control entry of this member: `build` makes its payload on the group state as held
 * when its turn comes (and the seq the entry will have), or null if there is nothing to publish any
 * more (then this resolves null);
 * it is called again, on the newer state, after a `group.stale_deps` refusal, at most three times; it
 * is signed at the next position of this member's log and published through the conversation's
 * session, between two flushes of the outbox. Once acknowledged it is this member's log head and the
 * conversation takes it (the state includes it before this resolves). Refused with
 * `web.unreachable` before `connect`, or while an item of the outbox holds a signed entry not yet
 * acknowledged (that position is taken); a node's refusal is thrown as it is.
 */
export function publishControl(conv: Conversation, kind: bigint, build: (g: GroupState, seq: bigint) => Uint8Array | null): Promise<Entry | null> {
  const p = conv.participant;
  return p.outbox.exclusive(async () => {
    const link = conv.session;
    if (link === null) return fail("web.unreachable", "the group's node is not connected yet");
    const waiting = await p.outbox.pending(conv.record.groupId);
    if (waiting.some((i) => i.entry !== null && i.error === null))
      fail("web.unreachable", "something written earlier is still on its way to the node; try again once it is sent");
    const seed = p.pseudonym(conv.record).ed25519Seed;
    for (let attempt = 1; ; attempt++) {
      const head = conv.head();
      const payload = build(conv.client.state, head.seq + 1n);
      if (payload === null) return null;
      const entry = createEntry(seed, { group: conv.record.groupId, seq: head.seq + 1n, prev: head.prev, timeMs: BigInt(p.clock()), kind, payload });
      try {
        await link.request("publish", new Map<string, CborValue>([["e", entry.bytes], ["b", payload]]));
      } catch (e) {
        if (e instanceof HoldspaceError && e.code === "group.stale_deps" && attempt < STALE_TRIES) {
          await new Promise((r) => setTimeout(r, 200 * attempt)); // the subscription brings what changed
          continue;
        }
        throw e;
      }
      conv.record.seq = entry.header.s;
      conv.record.prev = entry.id;
      await p.save();
      conv.take([[0n, entry.bytes, payload]]);
      conv.onChange();
      return entry;
    }
  });
}

/** A removal's optional words: a kind note for the removed person, a reason for the facilitators. */
export interface RemovalWordsChoice {
  readonly note?: string | null;
  readonly reason?: string | null;
}

/** What a facilitator chooses for an invite, as the local app offers it. */
export interface InviteRequest {
  readonly role: Role;
  /** How many people may join with it: 1 to 100. */
  readonly uses: number;
  /** Days it stays valid: 1 to 30. */
  readonly days: number;
}

/** A new invite: its token, its link at the page's origin, and what it allows. */
export interface MadeInvite {
  readonly token: string;
  readonly link: string;
  readonly role: Role;
  readonly uses: number;
  readonly expiresMs: number;
}

/** A member as the Members screen lists it. */
export interface MemberView {
  readonly key: Uint8Array;
  readonly hex: string;
  readonly label: string;
  readonly role: Role;
  readonly you: boolean;
  readonly mayRemove: boolean;
  /** 12.5 lets this member mute it, or lift its mute. */
  readonly mayMute: boolean;
  /** When its mute ends (ms) for what it writes now; null if it is not muted. */
  readonly mutedUntil: number | null;
}

/** Where an invite stands: usable, used up, past its expiry, or closed by a facilitator (revoked). */
export type InviteStatus = "open" | "used" | "expired" | "revoked";

/** An invite of the group, as the Invites list shows it. */
export interface InviteView {
  /** The invite entry's id. */
  readonly id: Uint8Array;
  readonly hex: string;
  readonly role: Role;
  /** People who joined by it. */
  readonly used: number;
  /** People it lets join. */
  readonly uses: number;
  readonly expiresMs: number;
  readonly status: InviteStatus;
}

/** What a line of the moderation log records. */
export type LogAction = "remove" | "ban" | "mute" | "unmute" | "role" | "redact";

/** One line of the moderation log (17.6): a control entry that acted on a member. */
export interface LogLine {
  /** The entry's id (hex). */
  readonly id: string;
  readonly timeMs: number;
  readonly actor: Uint8Array;
  readonly action: LogAction;
  readonly target: Uint8Array;
  /** Null if it applied (12.5), else the code it did not apply with. */
  readonly outcome: string | null;
  /** A mute's end (ms), else null. */
  readonly untilMs: number | null;
  /** A role change's new role, else null. */
  readonly role: Role | null;
  /** How many messages a redaction removed (0 for other lines). */
  readonly count: number;
  /** A removal's reason, for those it was sealed to (the facilitators then), else null. */
  readonly reason: string | null;
}

/** The moderation log: its latest `LOG_SHOWN` lines, newest first, and how many there are in all. */
export interface ModerationLog {
  readonly lines: readonly LogLine[];
  readonly total: number;
}

/** What was done from a report (kept in this browser). */
export type ReportAction = "resolved" | "redacted" | "removed";

/** A report sent to this member, as the Reports screen shows it. */
export interface ReportView {
  /** The report's entry id (hex). */
  readonly id: string;
  readonly reporter: Uint8Array;
  readonly timeMs: number;
  readonly why: string;
  /** The disclosure verified (13.6): the words below are exactly what `author` signed. */
  readonly verified: boolean;
  /** Why it does not verify (a code), or null. */
  readonly problem: string | null;
  readonly author: Uint8Array | null;
  readonly messageId: Uint8Array | null;
  /** The reported words (a text message), or null (another kind, not verified, or removed for
   * everyone since: then they are dropped here too, 17.5). */
  readonly words: string | null;
  readonly warning: string | null;
  /** The group has removed the reported message for everyone already. */
  readonly gone: boolean;
  readonly done: readonly ReportAction[];
}

/** A check-in sealed to the facilitators, as the feed shows it. */
export interface CheckinView {
  readonly id: string;
  readonly from: Uint8Array;
  readonly mine: boolean;
  readonly timeMs: number;
  readonly mood: number;
  readonly word: string | null;
  /** Mood 1 or 2 (17.2): flagged in words on the screen. */
  readonly low: boolean;
  /** Given for a session's occurrence rather than on its own. */
  readonly inSession: boolean;
}

function wholeIn(n: number, low: number, high: number): boolean {
  return Number.isInteger(n) && n >= low && n <= high;
}

/** The facilitator's actions on one group's conversation. */
export class Facilitation {
  private readonly states = new Map<string, ReportAction[]>();
  /** A removal's reason as this member opens it (entry id hex -> words, or null), opened once. */
  private readonly reasons = new Map<string, string | null>();
  private sharing = false;
  private busy = false;
  /** Joins (hex) whose rekey waits for this member's turn. */
  private readonly waiting = new Map<string, ReturnType<typeof setTimeout>>();
  /** Seconds between two members' turns to share keys with a newcomer (13.1). */
  shareStep: number = STEP;
  /** Each report's disclosure, verified once (a report's bytes never change). */
  private readonly checked = new Map<string, Omit<ReportView, "gone" | "done"> & { readonly entry: Entry | null }>();

  constructor(
    readonly conv: Conversation,
    /** The web origin invite links point at (the page's own). */
    readonly origin: string,
  ) {}

  private get g(): GroupState {
    return this.conv.client.state;
  }

  get role(): Role | null {
    return roleOf(this.g, this.conv.self);
  }

  get mayInvite(): boolean {
    return mayInvite(this.g, this.conv.self);
  }

  get seesReports(): boolean {
    return seesReports(this.g, this.conv.self);
  }

  get seesCheckins(): boolean {
    return seesCheckins(this.g, this.conv.self);
  }

  /**
   * Any member's client shares the group's keys with a newcomer (13.1, "Sharing keys with
   * newcomers"), as the local app does: when a join left the current epoch unclean, the member
   * first in turn for that join (`keyshare.ts`) publishes a rekey to the current members at once,
   * the others after their delay, and then only if no rekey made the epoch clean meanwhile. A
   * facilitator's client also makes the epoch clean at once after a departure (or when there is no
   * epoch). Resolves true if it published one now; false if the epoch is clean, this member's turn
   * has not come (a timer is set, one per join), it is the newcomer, or a rekey is already on its
   * way. A failure is thrown (tried again at the next call).
   */
  async shareKeys(): Promise<boolean> {
    if (this.sharing || this.conv.record.join !== null || isCleanEpoch(this.g)) return false;
    const turn = myTurn(this.g, this.conv.self, this.shareStep);
    if (turn !== null && turn.delay > 0) {
      this.shareLater(toHex(turn.join), turn.delay);
      return false;
    }
    if (turn === null && !this.mayInvite) return false;
    return this.rekeyNow();
  }

  private async rekeyNow(): Promise<boolean> {
    this.sharing = true;
    try {
      return (await this.rekeyIfUnclean()) !== null;
    } finally {
      this.sharing = false;
    }
  }

  /** At this member's turn, the rekey the join `join` (hex) is owed, if it still is: not if a
   * rekey made the epoch clean meanwhile, nor if another join changed the turns (the next change
   * sets that one's timer). */
  private shareLater(join: string, delay: number): void {
    if (this.waiting.has(join)) return;
    const timer = setTimeout(() => {
      this.waiting.delete(join);
      const turn = myTurn(this.g, this.conv.self, this.shareStep);
      if (this.sharing || isCleanEpoch(this.g) || turn === null || toHex(turn.join) !== join) return;
      this.rekeyNow().catch(() => undefined); // tried again at the next change
    }, delay * 1000);
    this.waiting.set(join, timer);
  }

  /** Stops the timers of rekeys waiting for this member's turn (the page goes away). */
  stop(): void {
    for (const timer of this.waiting.values()) clearTimeout(timer);
    this.waiting.clear();
  }

  /**
   * A facilitator's client closes an expired invite with uses left at once (12.5, finding 4: the
   * close is how every host enforces an expiry), as the local app does. Resolves with how many it
   * closed; a close another member's got in first (`group.no_effect`) is no error.
   */
  async closeExpiredInvites(): Promise<number> {
    if (!this.mayInvite) return 0;
    const now = BigInt(this.conv.participant.clock());
    let closed = 0;
    for (const inv of [...this.g.state.invites.values()]) {
      if (inv.closedBy !== null || inv.uses >= inv.payload.uses || now <= inv.payload.expires) continue;
      const invite = this.g.idOfSlot(inv.slot);
      try {
        await publishControl(this.conv, CONTROL_KIND.close, (g) => encodeControlPayload({ kind: "close", deps: g.headIds(), invite }));
        closed++;
      } catch (e) {
        if (!(e instanceof HoldspaceError) || e.code !== "group.no_effect") throw e;
      }
    }
    return closed;
  }

  /** What a member's open page does after the group changed: `shareKeys`, then
   * `closeExpiredInvites`; one run at a time (a call while one runs does nothing). */
  async upkeep(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      await this.shareKeys();
      await this.closeExpiredInvites();
    } finally {
      this.busy = false;
    }
  }

  /** A rekey to the current members (13.1), unless the epoch is clean when its turn comes. */
  private rekeyIfUnclean(): Promise<Entry | null> {
    return publishControl(this.conv, CONTROL_KIND.rekey, (g) => (isCleanEpoch(g) ? null : buildRekey(g, this.conv.self, { histories: this.conv.client.ring.historyFor(g) }).payload)).then((entry) => {
      if (entry !== null) void carryWelcome(this.conv); // the welcome, for the newcomers (17.12)
      return entry;
    });
  }

  /** Who will read a check-in this member sends now. */
  checkinAudience(): string {
    return checkinAudience(this.g, this.conv.self);
  }

  /** The current members, facilitators first, then by label. */
  members(): MemberView[] {
    const me = toHex(this.conv.self);
    return [...this.g.state.members.entries()]
      .map(([hex, m]) => {
        const until = this.g.mutedUntil(m.key, BigInt(this.conv.participant.clock()));
        const may = mayRemove(this.g, this.conv.self, m.key);
        return { key: m.key, hex, label: label(m.key), role: m.role, you: hex === me, mayRemove: may, mayMute: may, mutedUntil: until === null ? null : Number(until) };
      })
      .sort((a, b) => ROLE_RANK[b.role] - ROLE_RANK[a.role] || a.label.localeCompare(b.label));
  }

  /**
   * Makes an invite (12.3) and its token (14.3), the same a Python client makes: the invite names
   * the heads, the role, the expiry (now + days) and the uses; the token carries the group, the
   * invite entry's id, the secret seed, the group's hosts, this browser's home node first, and the
   * group's name (its current profile's, 17.12) unless it has none or an invite cannot carry it.
   * Checked first: this member is a facilitator (`client.not_facilitator`); the role is one of the
   * three, uses 1 to 100 and days 1 to 30, whole numbers (`client.bad_argument`).
   */
  async invite(r: InviteRequest): Promise<MadeInvite> {
    if (!this.mayInvite) fail("client.not_facilitator", "only a facilitator of the group may invite");
    if (!ROLES.includes(r.role)) fail("client.bad_argument", "choose a role: member, moderator or facilitator");
    if (!wholeIn(r.uses, 1, MAX_INVITE_USES)) fail("client.bad_argument", `an invite is for 1 to ${MAX_INVITE_USES} people`);
    if (!wholeIn(r.days, 1, MAX_INVITE_DAYS)) fail("client.bad_argument", `an invite is valid for 1 to ${MAX_INVITE_DAYS} days`);
    const expiresMs = this.conv.participant.clock() + r.days * DAY_MS;
    const seed = randomBytes(32); // one invite key, whichever try is stored
    const choice = { role: r.role, expires: BigInt(expiresMs), uses: BigInt(r.uses), target: null };
    const entry = (await publishControl(this.conv, CONTROL_KIND.invite, (g) => newInvite({ ...choice, deps: g.headIds() }, seed).payload))!;
    const home = this.conv.participant.profile.node;
    const homeKey = toHex(parseNodeAddress(home).nodeKey);
    const others = [...this.g.state.hosts.entries()].filter(([k]) => k !== homeKey).map(([, a]) => a);
    const nodes = [home, ...others].slice(0, HOSTS_IN_TOKEN);
    const made = { groupId: this.conv.record.groupId, inviteId: entry.id, seed, nodes };
    const name = profileName(this.conv); // the group's name, as the Python client's invites carry it (14.3)
    let text = encodeInviteToken(name === null ? made : { ...made, name });
    try {
      parseInvite(text);
    } catch {
      text = encodeInviteToken(made); // a name an invite cannot carry: the invite goes without it
    }
    const token = parseInvite(text).token;
    return { token: text, link: inviteLink(this.origin, token), role: r.role, uses: r.uses, expiresMs };
  }

  /**
   * Removes `target` (a ban too, if `ban`): a remove entry (12.3) whose cut is the last entry of the
   * target's log this member holds, then a rekey to the members left (13.1), so nothing written
   * from then on opens for the removed member. `words.note`, if given, is sealed to the target only
   * (a kind note it reads on its page); `words.reason` to the current facilitators and this member
   * (read in the moderation log); empty words are left out. Checked: `target` is a member
   * (`client.not_member`); 12.5 lets this member remove it (`group.forbidden`); each of the words
   * is at most `MAX_REMOVAL_WORDS` bytes (`group.malformed_payload`), before anything is sent.
   */
  async remove(target: Uint8Array, ban = false, words: RemovalWordsChoice = {}): Promise<void> {
    if (roleOf(this.g, target) === null) fail("client.not_member", "that person is not a member of the group");
    if (!mayRemove(this.g, this.conv.self, target)) fail("group.forbidden", "your role does not allow removing that member");
    const note = words.note?.trim() || null;
    const reason = words.reason?.trim() || null;
    for (const [text, what] of [[note, "note"], [reason, "reason"]] as const)
      if (text !== null && wordsBytes(text) > MAX_REMOVAL_WORDS) fail("group.malformed_payload", `a removal's ${what} is at most ${MAX_REMOVAL_WORDS} bytes of text`);
    const cut = this.conv.client.head(target)?.seq ?? 0n;
    const groupId = this.conv.record.groupId;
    const me = this.conv.self;
    await publishControl(this.conv, CONTROL_KIND.remove, (g, seq) => {
      let sealed: { note: Uint8Array | null; reason: Uint8Array | null } = { note: null, reason: null };
      if (note !== null || reason !== null) {
        const x = g.state.x25519.get(toHex(target));
        if (x === undefined) return fail("client.not_member", "that person is not a member of the group");
        const readers = recipientsWithRole(g, ["facilitator"]);
        const mine = g.state.x25519.get(toHex(me));
        if (!readers.some((r) => toHex(r.key) === toHex(me)) && mine !== undefined) readers.push({ key: me, x25519: mine.key });
        sealed = sealRemovalWords({ groupId, remover: me, seq }, { key: target, x25519: x.key }, readers, { note, reason });
      }
      return encodeControlPayload({ kind: "remove", deps: g.headIds(), target, cut, ban, ...sealed });
    });
    await this.rekeyIfUnclean();
  }

  /**
   * Mutes `target` for `minutes` (one of `MUTE_MINUTES`) from now (12.5, 12.6): a mute entry whose
   * cut is the last entry of the target's log this member holds, so what it wrote up to there
   * stands, and every host refuses its group messages dated before the end; it still reads, and
   * still writes privately (direct messages, reports, check-ins). Resolves with the end (ms).
   * Checked: `target` is a member (`client.not_member`); 12.5 lets this member mute it
   * (`group.forbidden`); `minutes` is one of the choices (`client.bad_argument`).
   */
  async mute(target: Uint8Array, minutes: number): Promise<number> {
    if (!MUTE_MINUTES.includes(minutes)) fail("client.bad_argument", "choose how long the mute lasts: an hour, a day or a week");
    const until = this.conv.participant.clock() + minutes * 60_000;
    await this.setMute(target, until);
    return until;
  }

  /** Lifts `target`'s mute (a mute ending at 0, 12.5): what it writes next reaches the group.
   * Checked as `mute`. */
  async unmute(target: Uint8Array): Promise<void> {
    await this.setMute(target, 0);
  }

  private async setMute(target: Uint8Array, until: number): Promise<void> {
    if (roleOf(this.g, target) === null) fail("client.not_member", "that person is not a member of the group");
    if (!mayMute(this.g, this.conv.self, target)) fail("group.forbidden", "your role does not allow muting that member");
    const cut = this.conv.client.head(target)?.seq ?? 0n;
    await publishControl(this.conv, CONTROL_KIND.mute, (g) => encodeControlPayload({ kind: "mute", deps: g.headIds(), target, cut, until: BigInt(until) }));
  }

  /** The group's invites, newest first (in `L`, the last applied first), each with where it stands
   * now. Empty for a member who is not a facilitator (only facilitators list them). */
  invites(): InviteView[] {
    if (!this.mayInvite) return [];
    const now = this.conv.participant.clock();
    return [...this.g.state.invites.values()].reverse().map((inv) => {
      const id = this.g.idOfSlot(inv.slot);
      const used = Number(inv.uses);
      const uses = Number(inv.payload.uses);
      const expiresMs = Number(inv.payload.expires);
      const status: InviteStatus = inv.closedBy !== null ? "revoked" : used >= uses ? "used" : now > expiresMs ? "expired" : "open";
      return { id, hex: toHex(id), role: inv.payload.role, used, uses, expiresMs, status };
    });
  }

  /**
   * Revokes the invite `id` (a `close`, 12.5): nobody joins by it any more, through any host.
   * Resolves once it is closed (at once if it was closed already). Checked: this member is a
   * facilitator (`client.not_facilitator`); the group has that invite (`client.unknown_invite`).
   */
  async revoke(id: Uint8Array): Promise<void> {
    if (!this.mayInvite) fail("client.not_facilitator", "only a facilitator of the group may revoke an invite");
    if (!this.g.state.invites.has(toHex(id))) fail("client.unknown_invite", "the group has no such invite");
    await publishControl(this.conv, CONTROL_KIND.close, (g) => (g.state.invites.get(toHex(id))?.closedBy === null ? encodeControlPayload({ kind: "close", deps: g.headIds(), invite: id }) : null));
  }

  /**
   * The moderation log (17.6) from the group state: removals (with the reason, for those it was
   * sealed to), bans, mutes and lifted mutes, role changes and redactions of another's messages,
   * newest first (17.6's order reversed: by the entry's date, then later in `L` first), the latest
   * `LOG_SHOWN` of them; an entry that did not apply under 12.5 is listed with its code. Which
   * removals, role changes and redactions count is `support.ts`'s `moderationLog` (one rule);
   * every mute entry counts.
   */
  moderationLog(): ModerationLog {
    const acts = new Set(moderationLog(this.g).map((a) => toHex(a.entry.id)));
    const lines: LogLine[] = [];
    for (const id of this.g.order()) {
      const slot = this.g.slotOf(id)!;
      const p = this.g.payloadOfSlot(slot);
      if (p.kind !== "mute" && !acts.has(toHex(id))) continue;
      if (p.kind !== "remove" && p.kind !== "mute" && p.kind !== "role" && p.kind !== "redact") continue;
      const e = this.g.entryOfSlot(slot);
      const base = { id: toHex(id), timeMs: Number(e.header.t), actor: e.header.a, target: p.target, outcome: this.g.outcome(id) ?? null, untilMs: null, role: null, count: 0, reason: null };
      if (p.kind === "remove") lines.push({ ...base, action: p.ban ? "ban" : "remove", reason: p.reason === null ? null : this.reasonOf(e, p) });
      else if (p.kind === "mute") lines.push({ ...base, action: p.until > e.header.t ? "mute" : "unmute", untilMs: Number(p.until) });
      else if (p.kind === "role") lines.push({ ...base, action: "role", role: p.role });
      else lines.push({ ...base, action: "redact", count: p.ids.length });
    }
    const newest = lines.map((l, i) => [l, i] as const).sort((a, b) => b[0].timeMs - a[0].timeMs || b[1] - a[1]);
    return { lines: newest.slice(0, LOG_SHOWN).map(([l]) => l), total: lines.length };
  }

  /** A removal's reason if it was sealed to this member (opened once); a box that does not open
   * is shown as no words. */
  private reasonOf(e: Entry, p: Remove): string | null {
    const key = toHex(e.id);
    if (!this.reasons.has(key)) {
      let words: string | null = null;
      try {
        words = removalWords(this.conv.record.groupId, e, p, this.conv.self, this.conv.participant.pseudonym(this.conv.record).x25519Secret).reason;
      } catch (err) {
        if (!(err instanceof HoldspaceError)) throw err;
      }
      this.reasons.set(key, words);
    }
    return this.reasons.get(key)!;
  }

  /** Removes `author`'s message `id` for everyone (a redaction, 12.5). Checked: 12.5 lets this
   * member redact `author`'s entries (`group.forbidden`). */
  async redact(author: Uint8Array, id: Uint8Array): Promise<void> {
    if (!mayRedact(this.g, this.conv.self, author)) fail("group.forbidden", "your role does not allow removing that message");
    await publishControl(this.conv, CONTROL_KIND.redact, (g) => encodeControlPayload({ kind: "redact", deps: g.headIds(), target: author, ids: [id] }));
  }

  /** The reports this member can read (sealed to it), newest first, each disclosure verified. */
  reports(): ReportView[] {
    const out: ReportView[] = [];
    for (const r of this.conv.client.messages()) {
      const c = r.content;
      if (!r.direct || c === null || c.t !== "report" || "unsupported" in c) continue;
      const id = toHex(r.entry.id);
      let v = this.checked.get(id);
      if (v === undefined) {
        const report = c as { e: Uint8Array; p: Uint8Array; k: Uint8Array; why: string };
        const base = { id, reporter: r.entry.header.a, timeMs: Number(r.entry.header.t), why: report.why };
        try {
          const d = verifyDisclosure(this.conv.record.groupId, report);
          const text = d.content.t === "text" && !("unsupported" in d.content) ? (d.content as { b: string; cw?: string }) : null;
          v = { ...base, verified: true, problem: null, author: d.entry.header.a, messageId: d.entry.id, words: text?.b ?? null, warning: text?.cw ?? null, entry: d.entry };
        } catch (e) {
          if (!(e instanceof HoldspaceError)) throw e;
          v = { ...base, verified: false, problem: e.code, author: null, messageId: null, words: null, warning: null, entry: null };
        }
        this.checked.set(id, v);
      }
      const gone = v.entry !== null && deletedBy(this.g, v.entry) !== null;
      if (gone && v.words !== null) this.checked.set(id, (v = { ...v, words: null, warning: null })); // 17.5: the words go
      const { entry: _entry, ...shown } = v;
      out.push({ ...shown, gone, done: this.states.get(id) ?? [] });
    }
    return out.sort((a, b) => b.timeMs - a.timeMs);
  }

  /** Reports not resolved yet. */
  openReports(): number {
    return this.reports().filter((r) => !r.done.includes("resolved")).length;
  }

  /** Reads the kept states of reports from this browser's history. */
  async loadReportStates(): Promise<void> {
    const h = this.conv.participant.history;
    for (const key of await h.keys("seen")) {
      if (!key.startsWith(REPORT_KEY)) continue;
      try {
        const raw = await h.get("seen", key);
        const v = raw === undefined ? null : decode(raw);
        const done = v instanceof Map ? v.get("a") : null;
        if (Array.isArray(done)) this.states.set(key.slice(REPORT_KEY.length), done.filter((a): a is ReportAction => a === "resolved" || a === "redacted" || a === "removed"));
      } catch (e) {
        if (!(e instanceof HoldspaceError)) throw e; // a record that does not open is skipped
      }
    }
  }

  private async mark(id: string, action: ReportAction): Promise<void> {
    const done = [...(this.states.get(id) ?? [])];
    if (!done.includes(action)) done.push(action);
    await this.conv.participant.history.put("seen", REPORT_KEY + id, encode({ a: done }));
    this.states.set(id, done);
    this.conv.onChange();
  }

  /**
   * Acts on the report `id`: `resolved` marks it handled; `redacted` removes the reported message
   * for everyone; `removed` removes its author from the group. What was done is kept. Checked: the
   * report is one this member holds (`client.unknown_message`); an action on the message or its
   * author needs a disclosure that verifies (`content.bad_disclosure`), then as `redact`/`remove`.
   */
  async act(id: string, action: ReportAction): Promise<void> {
    const r = this.reports().find((x) => x.id === id);
    if (r === undefined) return fail("client.unknown_message", "no report you hold has that id");
    if (action !== "resolved") {
      if (!r.verified || r.author === null || r.messageId === null) fail("content.bad_disclosure", "the report does not verify: act on what you can check");
      if (action === "redacted") await this.redact(r.author!, r.messageId!);
      else await this.remove(r.author!);
    }
    await this.mark(id, action);
  }

  /** The check-ins sealed to the facilitators that this member can read, newest first. */
  checkins(): CheckinView[] {
    const me = toHex(this.conv.self);
    const out: CheckinView[] = [];
    for (const r of this.conv.client.messages()) {
      const c = r.content;
      if (!r.direct || c === null || c.t !== "checkin" || "unsupported" in c || r.deleted !== null) continue;
      const ci = c as { m: bigint; w?: string; s?: unknown };
      const mood = Number(ci.m);
      out.push({ id: toHex(r.entry.id), from: r.entry.header.a, mine: toHex(r.entry.header.a) === me, timeMs: Number(r.entry.header.t), mood, word: ci.w ?? null, low: mood <= 2, inSession: ci.s !== undefined });
    }
    return out.sort((a, b) => b.timeMs - a.timeMs);
  }
}
