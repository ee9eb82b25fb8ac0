import assert from "node:assert/strict";
import { test } from "node:test";
import { encode } from "../src/cbor.js";
import {
  arrivedAfter,
  decodeVisit,
  dueReminders,
  emptyVisit,
  encodeVisit,
  firstNew,
  MAX_REMINDED,
  messageNotice,
  NOTICE_EVERY_MS,
  SESSION_SOON_MS,
  sessionNotice,
  Throttle,
  type VisitRecord,
} from "../src/notify.js";

test("a visit record reads back as written, whatever it holds; anything else reads as none", () => {
  let seed = 7;
  const rand = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  for (let i = 0; i < 200; i++) {
    const v: VisitRecord = {
      mark: rand(3) === 0 ? null : BigInt(rand(1 << 30)) * BigInt(rand(1 << 20) + 1),
      name: rand(3) === 0 ? null : "Thursday circle ✿".slice(0, rand(18) + 1),
      reminded: Array.from({ length: rand(5) }, (_, k) => `${"ab".repeat(rand(4) + 1)}:${k}`),
    };
    assert.deepEqual(decodeVisit(encodeVisit(v)), v);
  }
  const many = { ...emptyVisit(), reminded: Array.from({ length: MAX_REMINDED + 3 }, (_, k) => `s:${k}`) };
  assert.deepEqual(decodeVisit(encodeVisit(many)).reminded, many.reminded.slice(3)); // the oldest dropped
  for (const bad of [new Uint8Array([0xff]), encode({ m: -1n, n: null, r: [] }), encode({ m: 1n, n: 3n, r: [] }), encode({ m: 1n, n: null, r: [1n] }), encode({ m: 1n, n: null }), encode([1n])]) {
    assert.deepEqual(decodeVisit(bad), emptyVisit());
  }
});

test("a notice names the group and nothing of the message", () => {
  assert.equal(messageNotice("Thursday circle"), "New message in Thursday circle");
  assert.equal(messageNotice(null), "New message in your group");
  assert.equal(sessionNotice(1_000_000 + SESSION_SOON_MS, 1_000_000), "The session starts in 15 minutes");
  assert.equal(sessionNotice(1_000_000 + 30_000, 1_000_000), "The session starts in 1 minute");
});

test("at most one notice per group per minute", () => {
  const t = new Throttle();
  assert.ok(t.take("a", 0));
  assert.ok(!t.take("a", NOTICE_EVERY_MS - 1));
  assert.ok(t.take("b", 1)); // another group has its own minute
  assert.ok(t.take("a", NOTICE_EVERY_MS));
});

test("a session is reminded of once, within 15 minutes of its start", () => {
  const now = 10_000_000;
  const list = [
    { session: "s1", index: 0n, start: now + SESSION_SOON_MS + 1 }, // not yet
    { session: "s1", index: 1n, start: now + SESSION_SOON_MS }, // now
    { session: "s2", index: 0n, start: now + 60_000 }, // now, sooner
    { session: "s3", index: 0n, start: now }, // started
  ];
  assert.deepEqual(
    dueReminders(list, now, []).map((o) => `${o.session}:${o.index}`),
    ["s2:0", "s1:1"],
  );
  assert.deepEqual(
    dueReminders(list, now, ["s2:0"]).map((o) => `${o.session}:${o.index}`),
    ["s1:1"],
  );
});

test("the line goes above the first message of someone else that arrived since the last visit", () => {
  const at = new Map([["a", 3n], ["b", 5n], ["c", 6n], ["d", 9n]]);
  const messages = [{ id: "a", mine: false }, { id: "b", mine: true }, { id: "c", mine: false }, { id: "d", mine: false }];
  assert.equal(firstNew(messages, (id) => at.get(id), 4n, 9n), "c"); // b is this member's own
  assert.equal(firstNew(messages, (id) => at.get(id), 4n, 8n), "c");
  assert.equal(firstNew(messages, (id) => at.get(id), 6n, 8n), null); // d arrived during this visit
  assert.equal(firstNew(messages, (id) => at.get(id), null, 9n), null); // a first visit has no line
  assert.deepEqual(arrivedAfter(messages, (id) => at.get(id), 3n), ["c", "d"]);
});
