import assert from "node:assert/strict";
import { test } from "node:test";
import { fromHex } from "../src/bytes.js";
import { label, longLabel } from "../src/labels.js";
import { codeOf, loadVectors } from "./helpers.js";

interface LabelVector {
  readonly key?: string;
  readonly label?: string;
  readonly long_label?: string;
}

test("labels.json: every key's label and long label", () => {
  const cases = loadVectors<LabelVector[]>("labels.json").filter((v) => v.key !== undefined);
  assert.ok(cases.length >= 4);
  for (const v of cases) {
    assert.equal(label(fromHex(v.key!)), v.label);
    assert.equal(longLabel(fromHex(v.key!)), v.long_label);
  }
  assert.equal(codeOf(() => label(new Uint8Array(31))), "identity.bad_key");
});
