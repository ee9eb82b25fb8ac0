/**
 * What a client derives from the messages it has read (spec/protocol.md 17.2, 17.3, 17.6, 17.8):
 * reaction counts, check-in summaries, RSVPs, the talking piece, the group's crisis resources,
 * the moderation log, and whom check-ins and reports are sealed to.
 *
 * Everything here is a pure function of the messages given and the group state: clients holding
 * the same entries show the same thing. Nothing here reads a clock.
 */
import { compareBytes, equalBytes, toHex } from "./bytes.js";
import type { Content, RsvpAnswer, Unsupported } from "./content.js";
import { REACTIONS, type Reaction } from "./content.js";
import type { DirectRecipient } from "./e2ee.js";
import type { Entry } from "./entry.js";
import type { GroupState } from "./group.js";
import type { Role } from "./control.js";
import { deletedBy } from "./deletion.js";
import { verifyDisclosure } from "./disclosure.js";
import { HoldspaceError } from "./errors.js";

/** A message-kind entry a client has read: its header and its decoded content (null: unreadable). */
export interface ReadMessage {
  readonly entry: Entry;
  readonly content: Content | Unsupported | null;
  /** True for a direct message (kind 0x11). */
  readonly direct: boolean;
}

function ofType<T extends Content["t"]>(messages: Iterable<ReadMessage>, t: T): { m: ReadMessage; c: Extract<Content, { t: T }> }[] {
  const out: { m: ReadMessage; c: Extract<Content, { t: T }> }[] = [];
  for (const m of messages) if (m.content !== null && m.content.t === t && !("unsupported" in m.content)) out.push({ m, c: m.content as Extract<Content, { t: T }> });
  return out;
}

/** Latest by seq per key (an author's log orders its own acts). */
function latestBy<T extends { m: ReadMessage }>(items: readonly T[], key: (x: T) => string): Map<string, T> {
  const out = new Map<string, T>();
  for (const x of items) {
    const k = key(x);
    const prev = out.get(k);
    if (prev === undefined || x.m.entry.header.s > prev.m.entry.header.s) out.set(k, x);
  }
  return out;
}

/**
 * Reactions (17.2): per target entry (hex id), how many members give each of the four reactions.
 * For each (target, member, reaction) the member's latest `react` (highest seq) counts: without
 * `u` it gives the reaction, with `u` it withdraws it.
 */
export function reactionCounts(messages: Iterable<ReadMessage>): Map<string, Record<Reaction, number>> {
  const latest = latestBy(ofType(messages, "react"), ({ m, c }) => `${toHex(c.m)}:${toHex(m.entry.header.a)}:${c.r}`);
  const out = new Map<string, Record<Reaction, number>>();
  for (const { c } of latest.values()) {
    const target = toHex(c.m);
    let counts = out.get(target);
    if (counts === undefined) {
      counts = Object.fromEntries(REACTIONS.map((r) => [r, 0])) as Record<Reaction, number>;
      out.set(target, counts);
    }
    if (c.u !== true) counts[c.r]++;
  }
  return out;
}

export interface CheckinSummary {
  /** How many members checked in. */
  readonly count: number;
  /** How many gave each mood, 1 to 5 (index 0 is mood 1). */
  readonly moods: readonly [number, number, number, number, number];
  /** The average mood, or null with no check-in. */
  readonly average: number | null;
  /** The words given, sorted. */
  readonly words: readonly string[];
}

/**
 * The summary of one occurrence's check-ins (17.2, informative): among the check-ins for
 * `[session, occurrence]` the client can read (group or direct), the latest (highest seq) of each
 * member; their number, the count per mood, the average mood and the words, sorted.
 */
export function checkinSummary(messages: Iterable<ReadMessage>, session: Uint8Array, occurrence: bigint): CheckinSummary {
  const forIt = ofType(messages, "checkin").filter(({ c }) => c.s !== undefined && equalBytes(c.s[0], session) && c.s[1] === occurrence);
  const latest = [...latestBy(forIt, ({ m }) => toHex(m.entry.header.a)).values()];
  const moods: [number, number, number, number, number] = [0, 0, 0, 0, 0];
  let sum = 0;
  for (const { c } of latest) {
    moods[Number(c.m) - 1]!++;
    sum += Number(c.m);
  }
  const words = latest.flatMap(({ c }) => (c.w === undefined ? [] : [c.w])).sort();
  return { count: latest.length, moods, average: latest.length === 0 ? null : sum / latest.length, words };
}

/** RSVPs for one occurrence (17.3): each current member's latest answer (highest seq), by member (hex). */
export function rsvps(messages: Iterable<ReadMessage>, g: GroupState, session: Uint8Array, occurrence: bigint): Map<string, RsvpAnswer> {
  const forIt = ofType(messages, "rsvp").filter(({ c }) => equalBytes(c.s, session) && c.o === occurrence);
  const out = new Map<string, RsvpAnswer>();
  for (const [author, { c }] of latestBy(forIt, ({ m }) => toHex(m.entry.header.a))) if (g.state.members.has(author)) out.set(author, c.a);
  return out;
}

/**
 * The talking piece of one occurrence (17.3): of the `turn`s for it whose author is a current
 * facilitator, the one with the greatest (timestamp, entry id) names the holder (null: the circle
 * is open; a holder who is no longer a member holds it no more: null too). Undefined when there is
 * no such turn.
 */
export function talkingPiece(messages: Iterable<ReadMessage>, g: GroupState, session: Uint8Array, occurrence: bigint): Uint8Array | null | undefined {
  let best: { m: ReadMessage; h: Uint8Array | null } | undefined;
  for (const { m, c } of ofType(messages, "turn")) {
    if (!equalBytes(c.s, session) || c.o !== occurrence) continue;
    if (g.state.members.get(toHex(m.entry.header.a))?.role !== "facilitator") continue;
    if (best === undefined || later(m.entry, best.m.entry)) best = { m, h: c.h };
  }
  if (best === undefined) return undefined;
  return best.h !== null && g.state.members.has(toHex(best.h)) ? best.h : null;
}

/** True iff `a` comes after `b` by (timestamp, entry id). */
function later(a: Entry, b: Entry): boolean {
  if (a.header.t !== b.header.t) return a.header.t > b.header.t;
  return compareBytes(a.id, b.id) > 0;
}


/** A pin the client can read: the pin entry itself and its words. */
export interface Pin {
  readonly entry: Entry;
  readonly text: string;
}

/**
 * The group's crisis resources (17.8): of the pins the client can read — `pin` group messages,
 * and pins disclosed by a verified `quote` — those whose author is a facilitator now and that the
 * group has not deleted; the one with the greatest (timestamp, id) of the pin entry itself (never
 * of a quote). Null when there is none (the client then shows built-in resources). A quote that
 * does not verify is skipped.
 */
export function currentPin(messages: Iterable<ReadMessage>, g: GroupState): Pin | null {
  const candidates: Pin[] = [];
  for (const { m, c } of ofType(messages, "pin")) if (!m.direct) candidates.push({ entry: m.entry, text: c.b });
  for (const { m, c } of ofType(messages, "quote")) {
    if (m.direct) continue;
    try {
      const d = verifyDisclosure(g.groupId, c);
      if (d.content.t === "pin" && !("unsupported" in d.content)) candidates.push({ entry: d.entry, text: (d.content as { b: string }).b });
    } catch (e) {
      if (!(e instanceof HoldspaceError)) throw e;
    }
  }
  let best: Pin | null = null;
  for (const p of candidates) {
    if (g.state.members.get(toHex(p.entry.header.a))?.role !== "facilitator" || deletedBy(g, p.entry) !== null) continue;
    if (best === null || later(p.entry, best.entry)) best = p;
  }
  return best;
}

/** One act of the moderation log (17.6). */
export interface ModerationAct {
  readonly entry: Entry;
  readonly what: "removal" | "ban" | "role" | "redaction" | "report";
  /** null: applied; else the code it was ignored with. Reports have null. */
  readonly outcome: string | null;
  /** The pseudonym acted on (for a report: none). */
  readonly target: Uint8Array | null;
}

/**
 * The moderation log (17.6, informative): every `remove` (a removal or a ban) and `role` change of
 * the control log, and every `redact` whose author is not the pseudonym it names, with its outcome, and
 * the reports the client can read; ordered by timestamp, ties in `L` order (reports after control
 * entries of the same timestamp, then by entry id).
 */
export function moderationLog(g: GroupState, messages: Iterable<ReadMessage> = []): ModerationAct[] {
  const acts: { act: ModerationAct; rank: number }[] = [];
  g.order().forEach((id, rank) => {
    const slot = g.slotOf(id)!;
    const p = g.payloadOfSlot(slot);
    const entry = g.entryOfSlot(slot);
    if (p.kind !== "remove" && p.kind !== "role" && p.kind !== "redact") return;
    // 17.6 can be read as excluding self-named acts of all three kinds; the reference client
    // (clients/support.py, consulted on this doubt) excludes only a redaction of one's own entries,
    // and so does this: a member lowering (or trying to raise) its own role is for moderators to see.
    if (p.kind === "redact" && equalBytes(p.target, entry.header.a)) return;
    const what = p.kind === "remove" ? (p.ban ? "ban" : "removal") : p.kind === "role" ? "role" : "redaction";
    acts.push({ act: { entry, what, outcome: g.outcome(id) ?? null, target: p.target }, rank });
  });
  const reports = ofType(messages, "report").map(({ m }) => ({ act: { entry: m.entry, what: "report" as const, outcome: null, target: null }, rank: Infinity }));
  return [...acts, ...reports]
    .sort((a, b) => {
      const ta = a.act.entry.header.t;
      const tb = b.act.entry.header.t;
      if (ta !== tb) return ta < tb ? -1 : 1;
      if (a.rank !== b.rank) return a.rank < b.rank ? -1 : 1;
      return compareBytes(a.act.entry.id, b.act.entry.id);
    })
    .map((x) => x.act);
}

/** The current members with one of `roles`, as direct-message recipients (their current X25519
 * keys), sorted by key. */
export function recipientsWithRole(g: GroupState, roles: readonly Role[]): DirectRecipient[] {
  const out: DirectRecipient[] = [];
  for (const [hex, m] of g.state.members) {
    const x = g.state.x25519.get(hex);
    if (roles.includes(m.role) && x !== undefined) out.push({ key: m.key, x25519: x.key });
  }
  return out.sort((a, b) => compareBytes(a.key, b.key));
}

/** Whom a check-in for the facilitators only is sealed to (17.2): the current facilitators. */
export function checkinRecipients(g: GroupState): DirectRecipient[] {
  return recipientsWithRole(g, ["facilitator"]);
}

/** Whom a report is sealed to (17.6): the current moderators and facilitators. */
export function reportRecipients(g: GroupState): DirectRecipient[] {
  return recipientsWithRole(g, ["moderator", "facilitator"]);
}
