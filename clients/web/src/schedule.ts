/**
 * Sessions as a conversation shows and changes them (spec 17.3): the upcoming occurrences with
 * their details, the answers (RSVPs) and who holds the talking piece; answering; and, for
 * facilitators, scheduling a session, cancelling one date of a series, passing the talking piece.
 *
 * Invariants:
 * - a session is authored only in a listed time zone (17.3; `client.bad_argument` otherwise), with
 *   its details sealed on the author's chain at the session entry's own seq;
 * - cancelling one date of a series changes no other date: the series is cut to the dates before it
 *   (the same session, so their answers stay) and the dates after it become a new series with the
 *   same details, zone, duration and retention; a session of one date is cancelled;
 * - the details of a version are opened once and remembered (a message key is used once, 13.3).
 */
import { equalBytes, fromHex, toHex } from "./bytes.js";
import { type Content, decodeContent, encodeContent, type RsvpAnswer } from "./content.js";
import type { SessionVersion } from "./control.js";
import { decodeMessageEnvelope } from "./e2ee.js";
import { fail, HoldspaceError } from "./errors.js";
import { AD_HOC_MS, circleAt, type CircleDate } from "./call/open.js";
import { t } from "./i18n.js";
import type { Conversation } from "./participant.js";
import { type Occurrence, occurrences } from "./sessions.js";
import { rsvps, talkingPiece } from "./support.js";
import { fromLocal, isListedZone, zoneOf } from "./timezone.js";

/** One upcoming (or running) occurrence as the conversation lists it. */
export interface UpcomingOccurrence {
  readonly session: string; // the session id, hex
  readonly index: bigint;
  readonly start: number;
  readonly end: number;
  readonly tz: string;
  readonly title: string | null;
  readonly about: string | null;
  /** How many dates the session has left after cancellations (1: a single date). */
  readonly dates: number;
  /** Current members' answers, by member (hex). */
  readonly answers: ReadonlyMap<string, RsvpAnswer>;
  /** The talking piece: a member's key, null (the circle is open), undefined (never passed). */
  readonly holder: Uint8Array | null | undefined;
}

const details = new WeakMap<SessionVersion, { title: string; about: string | null } | null>();

function detailsOf(conv: Conversation, v: SessionVersion, author: Uint8Array, seq: bigint): { title: string; about: string | null } | null {
  if (details.has(v)) return details.get(v)!;
  let found: { title: string; about: string | null } | null = null;
  if (v.details !== null) {
    try {
      const env = decodeMessageEnvelope(v.details);
      const c = decodeContent(conv.client.ring.open({ groupId: conv.record.groupId, author, seq }, env).plaintext);
      if (c.t === "session" && !("unsupported" in c)) found = { title: c.title, about: c.about ?? null };
    } catch (e) {
      if (!(e instanceof HoldspaceError)) throw e;
      if (e.code === "e2ee.unknown_epoch") return null; // a key may come later: not remembered
    }
  }
  details.set(v, found);
  return found;
}

/** The occurrences whose end is after `nowMs`, soonest first, at most `limit`. */
export function upcoming(conv: Conversation, nowMs: number, limit = 20): UpcomingOccurrence[] {
  const g = conv.client.state;
  const read = conv.client.messages().filter((r) => r.authorised && r.deleted === null);
  const out: UpcomingOccurrence[] = [];
  for (const [hex, s] of g.state.sessions) {
    const entry = g.entryOfSlot(s.slot);
    const d = detailsOf(conv, s.version, entry.header.a, entry.header.s);
    const list = occurrences(s.version, s.cancelledAt);
    const id = fromHex(hex);
    list.forEach((o, k) => {
      if (o.end <= nowMs) return;
      const index = BigInt(k);
      out.push({
        session: hex,
        index,
        start: o.start,
        end: o.end,
        tz: s.version.tz,
        title: d?.title ?? null,
        about: d?.about ?? null,
        dates: list.length,
        answers: rsvps(read, g, id, index),
        holder: talkingPiece(read, g, id, index),
      });
    });
  }
  out.sort((a, b) => a.start - b.start || (a.session < b.session ? -1 : 1));
  return out.slice(0, limit);
}

/** The occurrence running at `nowMs`, else the next one; null if there is none. */
export function currentOrNext(conv: Conversation, nowMs: number): UpcomingOccurrence | null {
  const list = upcoming(conv, nowMs, 50);
  return list.find((o) => o.start <= nowMs) ?? list[0] ?? null;
}

/** Whether this member is a facilitator of the group now. */
export function isFacilitator(conv: Conversation): boolean {
  return conv.client.state.state.members.get(toHex(conv.self))?.role === "facilitator";
}

/** What a facilitator schedules. `date` is `YYYY-MM-DD` and `time` `HH:MM`, local to `tz`. */
export interface NewSession {
  readonly title: string;
  readonly about: string | null;
  readonly date: string;
  readonly time: string;
  readonly tz: string;
  readonly minutes: number;
  /** How many weekly dates (1: a single date). */
  readonly weeks: number;
}

/** The start instant (ms) of `date` at `time` in `tz` (17.3's reading of a local time). Checked:
 * a listed zone, a real date and time, 1..1440 minutes, 1..520 weeks, a title of 1..200 characters;
 * each failure `client.bad_argument`. */
export function checkNewSession(s: NewSession): number {
  const bad = (why: string): never => fail("client.bad_argument", why);
  if (s.title.trim() === "" || [...s.title].length > 200) bad(t("a session has a title of 1 to 200 characters"));
  if (s.about !== null && [...s.about].length > 2000) bad(t("a description has at most 2000 characters"));
  if (!isListedZone(s.tz)) bad(t("\"{zone}\" is not a time zone this client knows", { zone: s.tz }));
  const d = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s.date);
  const hm = /^(\d{2}):(\d{2})$/.exec(s.time);
  if (d === null || hm === null) return bad(t("choose a date and a time"));
  const [y, mo, da, h, mi] = [d[1], d[2], d[3], hm[1], hm[2]].map(Number) as [number, number, number, number, number];
  const local = Date.UTC(y, mo - 1, da, h, mi);
  const check = new Date(local);
  if (check.getUTCDate() !== da || check.getUTCMonth() !== mo - 1 || h > 23 || mi > 59) bad(t("that date does not exist"));
  if (!Number.isInteger(s.minutes) || s.minutes < 1 || s.minutes > 1440) bad(t("a session lasts 1 to 1440 minutes"));
  if (!Number.isInteger(s.weeks) || s.weeks < 1 || s.weeks > 520) bad(t("a series has 1 to 520 weekly dates"));
  return fromLocal(zoneOf(s.tz), local);
}

function sessionDetails(title: string, about: string | null): Uint8Array {
  const c: Content = about === null || about === "" ? { t: "session", title } : { t: "session", title, about };
  return encodeContent(c);
}

interface Shape {
  readonly replaces: Uint8Array | null;
  readonly start: number;
  readonly duration: bigint;
  readonly tz: string;
  readonly count: number;
  readonly period: "daily" | "weekly";
  readonly retention: bigint | null;
  readonly cancelled: boolean;
  readonly title: string;
  readonly about: string | null;
}

async function publishSession(conv: Conversation, s: Shape): Promise<Uint8Array> {
  return conv.publishControl(async (at, deps) => ({
    kind: "session",
    deps,
    replaces: s.replaces,
    start: BigInt(s.start),
    duration: s.duration,
    tz: s.tz,
    recurrence: s.count >= 2 ? { period: s.period, count: BigInt(s.count) } : null,
    retention: s.retention,
    cancelled: s.cancelled,
    details: await conv.sealGroup(at, sessionDetails(s.title, s.about)),
  }));
}

/** Schedules a session (facilitators; `client.not_facilitator` otherwise); returns its id. */
export async function scheduleSession(conv: Conversation, s: NewSession): Promise<Uint8Array> {
  if (!isFacilitator(conv)) fail("client.not_facilitator", "only a facilitator schedules a session");
  const start = checkNewSession(s);
  return publishSession(conv, {
    replaces: null,
    start,
    duration: BigInt(s.minutes) * 60_000n,
    tz: s.tz,
    count: s.weeks,
    period: "weekly",
    retention: null,
    cancelled: false,
    title: s.title.trim(),
    about: s.about === null || s.about.trim() === "" ? null : s.about.trim(),
  });
}

/** Cancels date `index` of session `sessionHex` only (see the module's invariants). */
export async function cancelDate(conv: Conversation, sessionHex: string, index: bigint): Promise<void> {
  if (!isFacilitator(conv)) fail("client.not_facilitator", "only a facilitator cancels a session");
  const g = conv.client.state;
  const s = g.state.sessions.get(sessionHex) ?? fail("client.unknown_session", "there is no such session in this group");
  const v = s.version;
  const all: readonly Occurrence[] = occurrences(v, null);
  const left = occurrences(v, s.cancelledAt).length;
  const k = Number(index);
  if (s.cancelledAt !== null || k < 0 || k >= left) fail("client.unknown_session", "that date is not scheduled");
  const entry = g.entryOfSlot(s.slot);
  const d = detailsOf(conv, v, entry.header.a, entry.header.s);
  const base = {
    duration: v.duration,
    tz: v.tz,
    period: v.recurrence?.period ?? "weekly",
    retention: v.retention,
    title: d?.title ?? "Session",
    about: d?.about ?? null,
  } as const;
  const id = fromHex(sessionHex);
  const after = left - k - 1;
  if (after > 0) await publishSession(conv, { ...base, replaces: null, start: all[k + 1]!.start, count: after, cancelled: false });
  if (k === 0) await publishSession(conv, { ...base, replaces: id, start: Number(v.start), count: left, cancelled: true });
  else await publishSession(conv, { ...base, replaces: id, start: Number(v.start), count: k, cancelled: false });
}

/** The group's live circle at `nowMs` (`call/open.ts`): the date it is open for, and the next one. */
export function circleOf(conv: Conversation, nowMs: number): { open: CircleDate | null; next: CircleDate | null } {
  return circleAt(conv.client.state.state.sessions, nowMs);
}

/** "Open a live circle now" (facilitators; `client.not_facilitator` otherwise): an ordinary session
 * of one date, starting at `nowMs` and lasting `AD_HOC_MS`, titled "Live circle"; returns its id.
 * `client.bad_argument` if a circle is open already. */
export async function openCircleNow(conv: Conversation, nowMs: number): Promise<Uint8Array> {
  if (!isFacilitator(conv)) fail("client.not_facilitator", "only a facilitator opens the live circle");
  if (circleOf(conv, nowMs).open !== null) fail("client.bad_argument", "the live circle is open already");
  return publishSession(conv, {
    replaces: null,
    start: Math.floor(nowMs),
    duration: BigInt(AD_HOC_MS),
    tz: "UTC",
    count: 1,
    period: "weekly",
    retention: null,
    cancelled: false,
    title: t("Live circle"),
    about: null,
  });
}

/**
 * "Close the circle" (facilitators): ends the date the circle is open for at `nowMs`. A date not yet
 * begun (the circle opens a little early) is cancelled as "Cancel this date" does. A date under way
 * is cut at `nowMs`: the dates after it become a new series (as a cancel makes them); the date
 * itself keeps its session if it is the first (the session becomes that one date, ending now), else
 * the series is cut to the dates before it and the date becomes a session of its own ending now —
 * so no earlier date changes its end (their retention, 17.3, stays as it was).
 * `client.unknown_session` if no circle is open.
 */
export async function closeCircle(conv: Conversation, nowMs: number): Promise<void> {
  if (!isFacilitator(conv)) fail("client.not_facilitator", "only a facilitator closes the live circle");
  const date = circleOf(conv, nowMs).open ?? fail("client.unknown_session", "the live circle is not open");
  if (date.start > nowMs) return cancelDate(conv, date.session, date.index);
  const g = conv.client.state;
  const s = g.state.sessions.get(date.session)!;
  const v = s.version;
  const all = occurrences(v, null);
  const left = occurrences(v, s.cancelledAt).length;
  const k = Number(date.index);
  const entry = g.entryOfSlot(s.slot);
  const d = detailsOf(conv, v, entry.header.a, entry.header.s);
  const base = { tz: v.tz, period: v.recurrence?.period ?? "weekly", retention: v.retention, title: d?.title ?? t("Live circle"), about: d?.about ?? null } as const;
  const id = fromHex(date.session);
  const cut = BigInt(Math.max(1, Math.floor(nowMs) - date.start)); // 17.3: a duration is at least 1 ms
  const after = left - k - 1;
  if (after > 0) await publishSession(conv, { ...base, duration: v.duration, replaces: null, start: all[k + 1]!.start, count: after, cancelled: false });
  if (k === 0) {
    await publishSession(conv, { ...base, duration: cut, replaces: id, start: Number(v.start), count: 1, cancelled: false });
    return;
  }
  await publishSession(conv, { ...base, duration: v.duration, replaces: id, start: Number(v.start), count: k, cancelled: false });
  await publishSession(conv, { ...base, duration: cut, replaces: null, start: date.start, count: 1, cancelled: false });
}

/** Answers for one date (17.3 `rsvp`), through the outbox. */
export async function answer(conv: Conversation, sessionHex: string, index: bigint, a: RsvpAnswer): Promise<void> {
  await conv.compose({ t: "rsvp", s: fromHex(sessionHex), o: index, a });
}

/** Passes the talking piece of one date to `holder` (null: opens the circle); facilitators only. */
export async function passPiece(conv: Conversation, sessionHex: string, index: bigint, holder: Uint8Array | null): Promise<void> {
  if (!isFacilitator(conv)) fail("client.not_facilitator", "only a facilitator passes the talking piece");
  if (holder !== null && !conv.client.state.state.members.has(toHex(holder))) fail("client.bad_argument", "the talking piece goes to a current member");
  await conv.compose({ t: "turn", s: fromHex(sessionHex), o: index, h: holder });
}

/** This member's own answer in `o`, if any. */
export function myAnswer(conv: Conversation, o: UpcomingOccurrence): RsvpAnswer | undefined {
  return o.answers.get(toHex(conv.self));
}

/** Whether `o`'s talking piece is this member's. */
export function holdsPiece(conv: Conversation, o: UpcomingOccurrence): boolean {
  return o.holder instanceof Uint8Array && equalBytes(o.holder, conv.self);
}
