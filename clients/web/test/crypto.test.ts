import assert from "node:assert/strict";
import { test } from "node:test";
import { ed25519 } from "@noble/curves/ed25519.js";
import { fromHex, toHex } from "../src/bytes.js";
import { isValidEd25519PublicKey, publicKey, sign, verify } from "../src/crypto.js";
import { decodeTextId, encodeTextId, type TextIdPrefix } from "../src/textid.js";
import { codeOf, loadVectors, rng } from "./helpers.js";

interface SigVector {
  name: string;
  public_key: string;
  message: string;
  signature: string;
  valid: boolean;
  lax_cofactorless: boolean;
  lax_cofactored: boolean;
}

test("signatures.json: libsodium's verdict on every vector", () => {
  const vectors = loadVectors<SigVector[]>("signatures.json");
  assert.equal(vectors.length, 12);
  let checked = 0;
  let laxWouldDiffer = 0;
  for (const v of vectors) {
    const ok = verify(fromHex(v.public_key), fromHex(v.message), fromHex(v.signature));
    assert.equal(ok, v.valid, v.name);
    if (v.lax_cofactored !== v.valid || v.lax_cofactorless !== v.valid) laxWouldDiffer++;
    checked++;
  }
  assert.equal(checked, vectors.length);
  assert.ok(laxWouldDiffer >= 5, "the file has vectors a lax verifier gets wrong");
});

test("signatures.json: @noble's own verify is not libsodium's (why crypto.verify exists)", () => {
  const vectors = loadVectors<SigVector[]>("signatures.json");
  const differs = vectors.filter((v) => {
    let noble: boolean;
    try {
      noble = ed25519.verify(fromHex(v.signature), fromHex(v.message), fromHex(v.public_key), { zip215: false });
    } catch {
      noble = false;
    }
    return noble !== v.valid;
  });
  assert.ok(differs.length > 0);
});

test("property: sign then verify; any flipped bit is refused", () => {
  const r = rng(3);
  for (let i = 0; i < 40; i++) {
    const seed = Uint8Array.from({ length: 32 }, () => Math.floor(r() * 256));
    const msg = Uint8Array.from({ length: Math.floor(r() * 64) }, () => Math.floor(r() * 256));
    const pk = publicKey(seed);
    const sig = sign(seed, msg);
    assert.ok(isValidEd25519PublicKey(pk));
    assert.ok(verify(pk, msg, sig));
    const bit = Math.floor(r() * 512);
    const bad = sig.slice();
    bad[bit >> 3]! ^= 1 << (bit & 7);
    assert.equal(verify(pk, msg, bad), false);
  }
  assert.equal(verify(new Uint8Array(31), new Uint8Array(0), new Uint8Array(64)), false);
});

interface IdentityVector {
  name: string;
  text_id?: string;
  key?: string;
  expected_prefix?: TextIdPrefix;
  error?: string;
  valid?: boolean;
  ed25519_public?: string;
  context?: string;
  document?: string;
}


test("identity.json: every text id vector (4.3)", () => {
  const vectors = loadVectors<IdentityVector[]>("identity.json");
  // Derivations carry the text id of their Ed25519 key; the others are text id vectors proper.
  const derivations = vectors.filter((v) => v.context !== undefined);
  const textIds = vectors.filter((v) => v.context === undefined && v.text_id !== undefined);
  const documents = vectors.filter((v) => v.document !== undefined);
  assert.equal(derivations.length + textIds.length + documents.length, vectors.length);
  assert.equal(textIds.length, 9);
  let checked = 0;
  for (const v of derivations) {
    const pk = fromHex(v.ed25519_public!);
    assert.equal(encodeTextId("hsp", pk), v.text_id, v.name);
    assert.equal(toHex(decodeTextId(v.text_id!, "hsp")), v.ed25519_public, v.name);
    checked++;
  }
  for (const v of textIds) {
    const prefix = v.expected_prefix ?? (v.text_id!.slice(0, 3) as TextIdPrefix);
    if (v.error !== undefined) {
      assert.equal(codeOf(() => decodeTextId(v.text_id!, prefix)), v.error, v.name);
    } else {
      assert.equal(toHex(decodeTextId(v.text_id!, prefix)), v.key, v.name);
      if (v.expected_prefix === undefined) assert.equal(encodeTextId(prefix, fromHex(v.key!)), v.text_id, v.name);
    }
    checked++;
  }
  assert.equal(checked, derivations.length + textIds.length);
});

test("text ids: round trip, and each check of 4.3 in order", () => {
  const r = rng(4);
  for (let i = 0; i < 200; i++) {
    const key = Uint8Array.from({ length: 32 }, () => Math.floor(r() * 256));
    const id = encodeTextId("hsg", key);
    assert.equal(id.length, 62);
    assert.equal(toHex(decodeTextId(id, "hsg")), toHex(key));
    assert.equal(toHex(decodeTextId(id.toUpperCase(), "hsg")), toHex(key));
    const pos = 4 + Math.floor(r() * 58);
    const alt = id[pos] === "q" ? "p" : "q";
    assert.equal(codeOf(() => decodeTextId(id.slice(0, pos) + alt + id.slice(pos + 1), "hsg")), "identity.bad_checksum");
  }
  const id = encodeTextId("hsg", new Uint8Array(32).fill(7));
  assert.equal(codeOf(() => decodeTextId(id + " ".repeat(59), "hsg")), "identity.bad_text_id"); // > 120
  assert.equal(codeOf(() => decodeTextId(id, "hsn")), "identity.bad_text_id");
  assert.equal(codeOf(() => decodeTextId("hsg1" + "b".repeat(58), "hsg")), "identity.bad_text_id"); // 'b' not in alphabet
  assert.equal(codeOf(() => decodeTextId("hsg1qqqqq", "hsg")), "identity.bad_text_id");
  assert.equal(codeOf(() => decodeTextId("hsg1qqqqqq", "hsg")), "identity.bad_checksum");
});
