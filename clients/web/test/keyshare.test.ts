import assert from "node:assert/strict";
import { test } from "node:test";
import { fromHex, toHex } from "../src/bytes.js";
import type { HistoryVisibility, Role } from "../src/control.js";
import { DAY_MS, historyLimit, historyToShare, inHistoryWindow, MAX_HISTORY_EPOCHS, MAX_HISTORY_PAIRS, MAX_RANK, sharingDelay, sharingOrder, STEP } from "../src/keyshare.js";
import { loadRepoJson } from "./helpers.js";

interface Fixture {
  readonly step: number;
  readonly max_rank: number;
  readonly cases: { readonly name: string; readonly join: string; readonly members: [string, Role][]; readonly order: string[] }[];
  readonly delays: [number, number, number][];
}

test("sharing keys with a newcomer: the cases the Python client checks too", () => {
  const f = loadRepoJson<Fixture>("clients/web/test/fixtures/keyshare.json");
  assert.equal(f.step, STEP);
  assert.equal(f.max_rank, MAX_RANK);
  assert.ok(f.cases.length >= 5);
  for (const c of f.cases) {
    const members = c.members.map(([k, role]) => [fromHex(k), role] as const);
    assert.deepEqual(sharingOrder(fromHex(c.join), members).map(toHex), c.order, c.name);
    assert.deepEqual(sharingOrder(fromHex(c.join), [...members].reverse()).map(toHex), c.order, c.name);
  }
  for (const [rank, step, delay] of f.delays) assert.equal(sharingDelay(rank, step), delay);
});

interface HistoryFixture {
  readonly day_ms: number;
  readonly max_epochs: number;
  readonly cases: { readonly name: string; readonly hv: string | number; readonly joined_ms: number; readonly epochs: [string, number, boolean][]; readonly share: string[] }[];
  readonly windows: [string | number, number, number, boolean][];
  readonly max_pairs: number;
  readonly limits: [number, number][];
}

const hv = (v: string | number): HistoryVisibility => (typeof v === "number" ? BigInt(v) : (v as HistoryVisibility));

test("history for a newcomer: the epochs shared and the window, as the Python client computes them", () => {
  const f = loadRepoJson<HistoryFixture>("clients/web/test/fixtures/history_window.json");
  assert.equal(BigInt(f.day_ms), DAY_MS);
  assert.equal(f.max_epochs, MAX_HISTORY_EPOCHS);
  assert.ok(f.cases.length >= 5);
  for (const c of f.cases) {
    const epochs = c.epochs.map(([id, t]) => ({ id: fromHex(id), startedMs: BigInt(t) }));
    const held = new Set(c.epochs.filter(([, , h]) => h).map(([id]) => id));
    assert.deepEqual(historyToShare(hv(c.hv), BigInt(c.joined_ms), epochs, (id) => held.has(toHex(id))).map(toHex), c.share, c.name);
  }
  for (const [v, joined, started, expected] of f.windows) assert.equal(inHistoryWindow(hv(v), BigInt(joined), BigInt(started)), expected);
  assert.equal(f.max_pairs, MAX_HISTORY_PAIRS);
  for (const [newcomers, limit] of f.limits) assert.equal(historyLimit(newcomers), limit);
});

test("history for a newcomer: at most 512 epochs are shared, and looked at, whatever the group's age", () => {
  const epochs = Array.from({ length: 600 }, (_, i) => ({ id: new Uint8Array(32).fill(i % 256), startedMs: BigInt(i) }));
  let looked = 0;
  const shared = historyToShare("shared", 1000n, epochs, () => (looked++, true));
  assert.equal(shared.length, MAX_HISTORY_EPOCHS);
  assert.equal(looked, MAX_HISTORY_EPOCHS);
  assert.equal(shared[0], epochs[599]!.id); // newest first
  assert.equal(historyToShare("shared", 1000n, epochs, () => true, 3).length, 3); // a rekey for many newcomers
});
