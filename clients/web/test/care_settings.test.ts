import assert from "node:assert/strict";
import { test } from "node:test";
import { HistoryStore } from "../src/history.js";
import { HoldspaceError } from "../src/errors.js";
import { CareSettings, IDLE_CHOICES, IdleClock } from "../src/idle.js";
import { MemoryStorage } from "../src/storage.js";

const KEY = new Uint8Array(32).fill(9);

test("care settings: the check is on and the idle lock off by default; choices are kept sealed on the device", async () => {
  const storage = new MemoryStorage();
  const settings = new CareSettings(await HistoryStore.open(storage, KEY, 1 << 20));
  assert.deepEqual(await settings.read(), { check: true, idleMinutes: 0 });
  await settings.setCheck(false);
  await settings.setIdle(15);
  const again = new CareSettings(await HistoryStore.open(storage, KEY, 1 << 20));
  assert.deepEqual(await again.read(), { check: false, idleMinutes: 15 });
  await again.setCheck(true);
  assert.deepEqual(await again.read(), { check: true, idleMinutes: 15 });
  for (const bad of [1, -5, 16, 1.5, Number.NaN]) {
    await assert.rejects(again.setIdle(bad), (e: unknown) => e instanceof HoldspaceError && e.code === "web.idle_choice");
  }
  assert.deepEqual(await again.read(), { check: true, idleMinutes: 15 });
});

test("idle clock: due only when on and after its whole time without use", () => {
  for (const minutes of IDLE_CHOICES) {
    const c = new IdleClock(minutes, 1_000);
    assert.equal(c.due(1_000 + 10 * 24 * 3_600_000), minutes > 0);
    if (minutes === 0) continue;
    const t = minutes * 60_000;
    assert.equal(c.due(1_000 + t - 1), false);
    c.touch(1_000 + t - 1);
    assert.equal(c.due(1_000 + t), false);
    c.touch(5); // a late touch from the past changes nothing
    assert.equal(c.due(1_000 + 2 * t - 1), true);
  }
  assert.throws(() => new IdleClock(7, 0), (e: unknown) => e instanceof HoldspaceError && e.code === "web.idle_choice");
});
