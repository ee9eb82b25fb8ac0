import assert from "node:assert/strict";
import { test } from "node:test";
import { parseNodeAddress } from "../src/address.js";
import { HoldspaceError } from "../src/errors.js";
import { loadVectors } from "./helpers.js";

interface AddressVector {
  name: string;
  text: string;
  normal_form?: string;
  is_normal?: boolean;
  error?: string;
}

test("addresses.json: every node address, its normal form or its code", () => {
  const vectors = loadVectors<AddressVector[]>("addresses.json");
  assert.equal(vectors.length, 25);
  let checked = 0;
  for (const v of vectors) {
    if (v.error === undefined) {
      const a = parseNodeAddress(v.text);
      assert.equal(a.normal, v.normal_form, v.name);
      assert.equal(a.normal === v.text, v.is_normal, v.name);
      assert.equal(parseNodeAddress(a.normal).normal, a.normal, v.name);
    } else {
      assert.throws(() => parseNodeAddress(v.text), (e: unknown) => e instanceof HoldspaceError && e.code === v.error, v.name);
    }
    checked++;
  }
  assert.equal(checked, vectors.length);
});

test("node addresses: white space around the text is ignored; limits", () => {
  const id = "hsn1enwdnkqh8asn4lagu3dqtyk4n9l9fhevgccqsg6fe24hvlql4nmsqtyqzj";
  assert.equal(parseNodeAddress(` holdspace://${id}@a.b:1\n`).normal, `holdspace://${id}@a.b:1`);
  // 12.2's white space is Unicode's too (a no-break space pasted from a web page, say) ...
  for (const w of ["\u0085", "\u00a0", "\u1680", "\u2000", "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000"])
    assert.equal(parseNodeAddress(`${w}holdspace://${id}@a.b:1${w}`).normal, `holdspace://${id}@a.b:1`, `U+${w.charCodeAt(0).toString(16)}`);
  // ... but not a zero-width space or a byte order mark, which are no white space.
  for (const w of ["\u200b", "\ufeff"])
    assert.throws(() => parseNodeAddress(`${w}holdspace://${id}@a.b:1`), (e: unknown) => e instanceof HoldspaceError && e.code === "address.malformed");
  assert.equal(parseNodeAddress(`holdspace://${id}@[::]:1`).normal, `holdspace://${id}@[::]:1`);
  assert.equal(parseNodeAddress(`holdspace://${id}@[1:0:0:2:0:0:0:3]:1`).host, "[1:0:0:2::3]");
  assert.equal(parseNodeAddress(`holdspace://${id}@[1:0:2:3:4:5:6:7]:1`).host, "[1:0:2:3:4:5:6:7]");
  for (const host of ["[1::2::3]", "[1:2:3:4:5:6:7:8:9]", "[::1.2.3]", "a_b.c", "a..b", `${"a".repeat(64)}.org`, ""]) {
    assert.throws(() => parseNodeAddress(`holdspace://${id}@${host}:1`), (e: unknown) => e instanceof HoldspaceError && e.code === "address.malformed", host);
  }
});
