import assert from "node:assert/strict";
import { test } from "node:test";
import { fromHex, toHex } from "../src/bytes.js";
import type { Role } from "../src/control.js";
import { MAX_RANK, sharingDelay, sharingOrder, STEP } from "../src/keyshare.js";
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
