import assert from "node:assert/strict";
import { test } from "node:test";
import { linkParts } from "../src/links.js";
import { loadRepoJson } from "./helpers.js";

interface Case {
  readonly line: string;
  readonly parts: [string, string | null][];
}

test("resource links: the cases the Python client checks too", () => {
  const cases = loadRepoJson<{ cases: Case[] }>("clients/web/test/fixtures/resource_links.json").cases;
  assert.ok(cases.length >= 10);
  for (const c of cases) {
    assert.deepEqual(linkParts(c.line).map((p) => [p.text, p.href]), c.parts, c.line);
  }
});

test("resource links: the parts give back the line, with safe targets only", () => {
  const alphabet = "0123456789 +-().,:/abcdeHTtwxs?\n";
  let seed = 7;
  for (let n = 0; n < 2000; n++) {
    let line = "";
    const length = n % 50;
    for (let i = 0; i < length; i++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      line += alphabet[seed % alphabet.length];
    }
    const parts = linkParts(line);
    assert.equal(parts.map((p) => p.text).join(""), line);
    for (const p of parts) if (p.href !== null) assert.ok(/^(tel|sms|https?):/u.test(p.href), p.href);
  }
});
