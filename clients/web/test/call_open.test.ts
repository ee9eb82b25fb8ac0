/**
 * When the live circle is open (call/open.ts, spec 17.11): from ten minutes before a session's date
 * to its end, cancelled dates excluded, series included, a circle a facilitator opened now (an
 * ordinary one-date session) and closed (cut at now); a version built past 17.3's bounds counts
 * for no more than 17.3 allows.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { SessionVersion } from "../src/control.js";
import { AD_HOC_MS, circleAt, isCircleOpen, OPENS_BEFORE_MS } from "../src/call/open.js";
import type { ScheduledSession } from "../src/sessions.js";

const MIN = 60_000;
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 2, 5, 19, 0); // a Thursday, 19:00 UTC (19:00 in London)

function version(start: number, minutes: number, opts: { weeks?: number; tz?: string; cancelled?: boolean; durationMs?: bigint } = {}): SessionVersion {
  return {
    kind: "session",
    deps: [],
    replaces: null,
    start: BigInt(start),
    duration: opts.durationMs ?? BigInt(minutes * MIN),
    tz: opts.tz ?? "Europe/London",
    recurrence: (opts.weeks ?? 1) > 1 ? { period: "weekly", count: BigInt(opts.weeks!) } : null,
    retention: null,
    cancelled: opts.cancelled ?? false,
    details: null,
  };
}

const one = (id: string, v: SessionVersion, cancelledAt: bigint | null = null): [string, ScheduledSession][] => [[id, { version: v, cancelledAt }]];

test("one session: closed before the window, open ten minutes before the start and until the end, closed at the end", () => {
  const s = one("aa", version(T0, 90));
  const closed = circleAt(s, T0 - OPENS_BEFORE_MS - 1);
  assert.equal(closed.open, null);
  assert.deepEqual(closed.next && [closed.next.session, closed.next.start, closed.next.opens], ["aa", T0, T0 - OPENS_BEFORE_MS]);
  assert.equal(circleAt(s, T0 - OPENS_BEFORE_MS).open?.start, T0); // the window includes its opening
  assert.equal(circleAt(s, T0 + 45 * MIN).open?.end, T0 + 90 * MIN);
  assert.equal(isCircleOpen(s, T0 + 90 * MIN - 1), true);
  const after = circleAt(s, T0 + 90 * MIN); // the end is not in the date
  assert.deepEqual([after.open, after.next], [null, null]);
});

test("a weekly series: open on each date, closed between them, the next date named", () => {
  const s = one("bb", version(T0, 60, { weeks: 3 }));
  const between = circleAt(s, T0 + 3 * DAY);
  assert.equal(between.open, null);
  assert.deepEqual(between.next && [between.next.index, between.next.start], [1n, T0 + 7 * DAY]);
  assert.equal(circleAt(s, T0 + 14 * DAY + 30 * MIN).open?.index, 2n);
  const third = circleAt(s, T0 + 14 * DAY - 2 * 60 * MIN);
  assert.equal(third.next?.start, Date.UTC(2026, 2, 19, 19, 0));
  // summer time starts on 29 March in London: the fifth date stays at 19:00 local, 18:00 UTC
  const s5 = one("bb", version(T0, 60, { weeks: 5 }));
  assert.equal(circleAt(s5, Date.UTC(2026, 3, 2, 17, 55)).open?.index, 4n);
  assert.equal(circleAt(s5, Date.UTC(2026, 3, 2, 19, 30)).open, null);
});

test("a cancelled session or a cancelled date opens no circle; a date under way at its cancellation stays", () => {
  const cancelled = one("cc", version(T0, 60, { cancelled: true }), BigInt(T0 - DAY));
  assert.deepEqual(circleAt(cancelled, T0 + MIN), { open: null, next: null });
  // a series cut after its first date (as "Cancel this date" leaves it): the second date is gone
  const cut = one("cc", version(T0, 60, { weeks: 3, cancelled: true }), BigInt(T0 + 30 * MIN));
  assert.equal(circleAt(cut, T0 + 40 * MIN).open?.index, 0n);
  assert.equal(circleAt(cut, T0 + 7 * DAY + MIN).open, null);
  assert.equal(circleAt(cut, T0 + 2 * DAY).next, null);
});

test("a circle opened now lasts an hour, or until it is closed (the session cut at now); of two open, the earlier", () => {
  const now = T0 + 3 * DAY + 17 * MIN + 123;
  const opened = one("dd", version(now, 0, { tz: "UTC", durationMs: BigInt(AD_HOC_MS) }));
  assert.equal(circleAt(opened, now).open?.start, now);
  assert.equal(isCircleOpen(opened, now + AD_HOC_MS - 1), true);
  assert.equal(isCircleOpen(opened, now + AD_HOC_MS), false);
  const closedAt = now + 20 * MIN;
  const closed = one("dd", version(now, 0, { tz: "UTC", durationMs: BigInt(closedAt - now) }));
  assert.equal(isCircleOpen(closed, closedAt - 1), true);
  assert.equal(isCircleOpen(closed, closedAt), false);
  const both: [string, ScheduledSession][] = [...one("ee", version(T0, 90)), ...one("dd", version(T0 - 5 * MIN, 30, { tz: "UTC" }))];
  assert.equal(circleAt(both, T0 + MIN).open?.session, "dd");
  assert.equal(circleAt(both, T0 + 40 * MIN).open?.session, "ee");
});

test("adversarial: a length or a start past 17.3's bounds counts for no more than 17.3 allows", () => {
  const long = one("ff", version(T0, 0, { durationMs: 10n ** 15n })); // decoders refuse this: built by hand
  assert.equal(circleAt(long, T0 + DAY - 1).open?.end, T0 + DAY);
  assert.equal(isCircleOpen(long, T0 + DAY), false);
  assert.equal(isCircleOpen(long, T0 + 400 * DAY), false);
  const far = one("ab", version(32_503_680_000_000, 60, { tz: "UTC" })); // the year 3000
  assert.deepEqual(circleAt(far, T0), { open: null, next: null });
  assert.deepEqual(circleAt([], T0), { open: null, next: null });
});
