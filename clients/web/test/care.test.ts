import assert from "node:assert/strict";
import { test } from "node:test";
import { careCheck } from "../src/care.js";
import { loadRepoJson } from "./helpers.js";

interface Case {
  readonly line: string;
  readonly rule: string | null;
}

test("care check: the same rule as the Python check on every shared case", () => {
  const cases = loadRepoJson<{ cases: Case[] }>("clients/web/test/fixtures/crisis_cases.json").cases;
  assert.ok(cases.length >= 100);
  assert.ok(cases.some((c) => c.rule === null) && cases.some((c) => c.rule !== null));
  for (const c of cases) assert.equal(careCheck(c.line)?.rule ?? null, c.rule, JSON.stringify(c.line));
});

test("care check: large adversarial input completes, and the match holds no words", () => {
  for (const text of ["kill ".repeat(50_000), "don't want to ".repeat(20_000), "\ufdfa".repeat(100_000), " ".repeat(200_000)]) {
    const m = careCheck(text);
    assert.ok(m === null || typeof m.rule === "string");
  }
  assert.deepEqual(Object.keys(careCheck("I want to kill myself") ?? {}).sort(), ["description", "rule"]);
});
