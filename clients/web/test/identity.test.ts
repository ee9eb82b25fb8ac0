import assert from "node:assert/strict";
import { test } from "node:test";
import { fromHex, toHex } from "../src/bytes.js";
import { createIdentityDocument, derivePseudonym, fingerprint, verifyIdentityDocument } from "../src/identity.js";
import { codeOf, loadVectors, rng } from "./helpers.js";

interface IdentityVector {
  name: string;
  master_secret?: string;
  context?: string;
  ed25519_seed?: string;
  ed25519_public?: string;
  x25519_secret?: string;
  x25519_public?: string;
  fingerprint?: string;
  text_id?: string;
  document?: string;
  valid?: boolean;
  error?: string;
  signed_message?: string;
  public_key?: string;
  display_name?: string;
}


test("identity.json: every derivation and identity document (4.2, 4.3, 4.4)", () => {
  const vectors = loadVectors<IdentityVector[]>("identity.json");
  const derivations = vectors.filter((v) => v.context !== undefined);
  const documents = vectors.filter((v) => v.document !== undefined);
  assert.equal(derivations.length, 3);
  assert.equal(documents.length, 4);
  // The other nine are the text id vectors, checked in crypto.test.ts.
  assert.equal(vectors.length - derivations.length - documents.length, 9);
  for (const v of derivations) {
    const p = derivePseudonym(fromHex(v.master_secret!), fromHex(v.context!));
    assert.equal(toHex(p.ed25519Seed), v.ed25519_seed, v.name);
    assert.equal(toHex(p.ed25519Public), v.ed25519_public, v.name);
    assert.equal(toHex(p.x25519Secret), v.x25519_secret, v.name);
    assert.equal(toHex(p.x25519Public), v.x25519_public, v.name);
    assert.equal(fingerprint(p.ed25519Public), v.fingerprint, v.name);
  }
  for (const v of documents) {
    const bytes = fromHex(v.document!);
    if (v.valid === true) {
      const d = verifyIdentityDocument(bytes);
      if (v.signed_message !== undefined) assert.equal(toHex(d.signedMessage), v.signed_message, v.name);
      if (v.public_key !== undefined) assert.equal(toHex(d.k), v.public_key, v.name);
      if (v.x25519_public !== undefined) assert.equal(toHex(d.x), v.x25519_public, v.name);
      assert.equal(d.n, v.display_name ?? null, v.name);
    } else assert.equal(codeOf(() => verifyIdentityDocument(bytes)), v.error, v.name);
  }
});

test("identity documents: created ones verify; bad keys and names are refused", () => {
  const r = rng(7);
  const master = Uint8Array.from({ length: 32 }, () => Math.floor(r() * 256));
  const p = derivePseudonym(master, new TextEncoder().encode("any context"));
  const doc = createIdentityDocument(p, 1_764_000_000_000n, "River");
  assert.equal(verifyIdentityDocument(doc).n, "River");
  assert.equal(codeOf(() => createIdentityDocument(p, 1n, "x".repeat(129))), "identity.malformed_document");
  assert.equal(codeOf(() => createIdentityDocument({ ...p, x25519Public: new Uint8Array(32) }, 1n)), "identity.bad_key");
  const flipped = doc.slice();
  flipped[flipped.length - 1]! ^= 1;
  assert.equal(codeOf(() => verifyIdentityDocument(flipped)), "identity.bad_signature");
  assert.equal(codeOf(() => derivePseudonym(master, new Uint8Array(65))), "crypto.bad_key");
});
