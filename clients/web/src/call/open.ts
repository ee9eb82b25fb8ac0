/**
 * When a group's live circle is open (spec/protocol.md 17.11, "When a client offers the call"): while
 * one of the group's sessions (17.3) is on, from `OPENS_BEFORE_MS` before an occurrence's start to
 * its end. A facilitator who opens a circle now publishes an ordinary session (`AD_HOC_MS` long,
 * starting now), so every member's client sees it through this same rule; closing it cuts that
 * session at now. The rule reads no clock: `nowMs` is passed in.
 *
 * Invariants:
 * - the dates are the occurrences of 17.3 (`occurrences`), cancelled dates excluded;
 * - a date counts for at most what 17.3 allows: its length is bounded by `MAX_SESSION_DURATION`
 *   and a start at or beyond `MAX_SESSION_START` is no date at all (the decoder refuses both, so
 *   this only matters for a version built by hand), so the circle is never open for longer than a
 *   day and ten minutes per date;
 * - `open` is the open date with the earliest start (ties: the lower session id), `next` the date
 *   that opens soonest after `nowMs`; both null when there is none.
 */
import { MAX_SESSION_DURATION, MAX_SESSION_START } from "../control.js";
import { occurrences, type ScheduledSession } from "../sessions.js";

/** The circle opens this long before a session's start (people arrive a little early). */
export const OPENS_BEFORE_MS = 10 * 60_000;
/** How long a circle a facilitator opens now lasts, unless closed sooner. */
export const AD_HOC_MS = 60 * 60_000;

/** One date of a session, `[start, end)` in ms; the circle is open from `opens` to `end`. */
export interface CircleDate {
  readonly session: string; // the session id, hex
  readonly index: bigint;
  readonly start: number;
  readonly end: number;
  readonly opens: number;
}

/** The circle at an instant: the date it is open for (null: closed) and the next date it opens for. */
export interface CircleState {
  readonly open: CircleDate | null;
  readonly next: CircleDate | null;
}

const LONGEST = Number(MAX_SESSION_DURATION);
const LATEST = Number(MAX_SESSION_START);

function earlier(a: CircleDate, b: CircleDate | null): boolean {
  return b === null || a.start < b.start || (a.start === b.start && a.session < b.session);
}

/** The circle at `nowMs`, from the group's sessions (id hex -> session, as the group state holds them). */
export function circleAt(sessions: Iterable<readonly [string, ScheduledSession]>, nowMs: number): CircleState {
  let open: CircleDate | null = null;
  let next: CircleDate | null = null;
  for (const [id, s] of sessions) {
    occurrences(s.version, s.cancelledAt).forEach((o, k) => {
      if (!(o.start >= 0 && o.start < LATEST)) return;
      const end = Math.min(o.end, o.start + LONGEST);
      const d: CircleDate = { session: id, index: BigInt(k), start: o.start, end, opens: o.start - OPENS_BEFORE_MS };
      if (d.opens <= nowMs && nowMs < d.end) {
        if (earlier(d, open)) open = d;
      } else if (d.opens > nowMs && earlier(d, next)) next = d;
    });
  }
  return { open, next };
}

/** Whether the circle is open at `nowMs` (a client offers the call only then). */
export function isCircleOpen(sessions: Iterable<readonly [string, ScheduledSession]>, nowMs: number): boolean {
  return circleAt(sessions, nowMs).open !== null;
}
