/**
 * Sessions (spec/protocol.md 17.3): the occurrences of a session version, and the retention
 * deadlines they give to message-kind entries. The computation reads no clock.
 *
 * Invariant: occurrences are in time order; a weekly (daily) session keeps the same local clock
 * time in its zone across daylight-saving changes.
 */
import type { SessionVersion } from "./control.js";
import { fromLocal, localIso, toLocal, zoneOf } from "./timezone.js";

const DAY_MS = 86_400_000;

/** One occurrence, `[start, end)` in ms since the epoch. */
export interface Occurrence {
  readonly start: number;
  readonly end: number;
}

/**
 * The occurrences of a session version (17.3): `n` = the recurrence's count (1 if none), period
 * 7 days (weekly) or 1 day; `W` = the local time in zone `Z` of the first start truncated to whole
 * seconds; `start_0 = st`, and `start_k` the instant of local `W + k·P` (calendar days, clock time
 * unchanged; fold = 0) plus `st mod 1000`; `end_k = start_k + du`. If `cancelledAt` is not null,
 * occurrences starting after it are dropped.
 */
export function occurrences(v: SessionVersion, cancelledAt: bigint | null): readonly Occurrence[] {
  // A pure function of the version (a decoded payload, never changed) and the cancellation time,
  // and up to 520 zone look-ups: remembered per version.
  let byCancel = computed.get(v);
  if (byCancel === undefined) computed.set(v, (byCancel = new Map()));
  const key = cancelledAt === null ? "" : String(cancelledAt);
  let list = byCancel.get(key);
  if (list === undefined) byCancel.set(key, (list = Object.freeze(compute(v, cancelledAt))));
  return list;
}

const computed = new WeakMap<SessionVersion, Map<string, readonly Occurrence[]>>();

function compute(v: SessionVersion, cancelledAt: bigint | null): Occurrence[] {
  const zone = zoneOf(v.tz);
  const st = Number(v.start);
  const du = Number(v.duration);
  const n = v.recurrence === null ? 1 : Number(v.recurrence.count);
  const periodDays = v.recurrence?.period === "weekly" ? 7 : 1;
  const millis = st % 1000;
  const w = toLocal(zone, st - millis);
  const out: Occurrence[] = [];
  for (let k = 0; k < n; k++) {
    const start = k === 0 ? st : fromLocal(zone, w + k * periodDays * DAY_MS) + millis;
    if (cancelledAt !== null && start > Number(cancelledAt)) break;
    out.push({ start, end: start + du });
  }
  return out;
}

/** The starts of `occurrences` as local ISO 8601 times in the session's zone (for reading). */
export function localStarts(v: SessionVersion, list: readonly Occurrence[]): string[] {
  const zone = zoneOf(v.tz);
  return list.map((o) => localIso(zone, o.start));
}

/** A session as the group state holds it: its latest version and when it was cancelled. */
export interface ScheduledSession {
  readonly version: SessionVersion;
  readonly cancelledAt: bigint | null;
}

/**
 * The retention deadline of a message-kind entry with header timestamp `t` (17.3): the least
 * `end + rt` over every session with a non-null `rt` and every occurrence the entry is in
 * (`start <= t < end`); null if none.
 */
export function retentionDeadline(sessions: Iterable<ScheduledSession>, t: bigint): number | null {
  const at = Number(t);
  let best: number | null = null;
  for (const s of sessions) {
    if (s.version.retention === null) continue;
    const rt = Number(s.version.retention);
    for (const o of occurrences(s.version, s.cancelledAt)) {
      if (o.start <= at && at < o.end && (best === null || o.end + rt < best)) best = o.end + rt;
    }
  }
  return best;
}

/** The deadline of a message-kind entry (17.3): the earlier of its expiry `x` and its retention
 * deadline, either absent (null when both are). */
export function deadline(expires: bigint | null, retention: number | null): number | null {
  const x = expires === null ? null : Number(expires);
  if (x === null) return retention;
  if (retention === null) return x;
  return Math.min(x, retention);
}
