/**
 * Credentials in the browser (spec 17.7; credential_share.ts): sharing one's own credential (the
 * Python client's `CredentialPost`), refusing one issued to someone else (a Python-made attestation
 * of support.json), each shared credential's verdict with the reason in plain words (every badge
 * vector of support.json, made by the Python client), and the trusted issuers as text ids.
 */
import assert from "node:assert/strict";
import test from "node:test";
import { fromHex, toHex } from "../src/bytes.js";
import { CONTROL_KIND, encodeControlPayload } from "../src/control.js";
import { parseIssuer, problemWords, shareCredential, trustedIssuers, verdicts } from "../src/credential_share.js";
import { createAttestation, createRevocation, decodeAttestation, verifyBadge } from "../src/credentials.js";
import { publicKey } from "../src/crypto.js";
import { HoldspaceError } from "../src/errors.js";
import { decodeTextId, encodeTextId } from "../src/textid.js";
import { tick } from "./group_world.js";
import { loadVectors } from "./helpers.js";
import { catchUp, joined } from "./line_world.js";

interface BadgeVector {
  readonly name: string;
  readonly attestation?: string;
  readonly subject?: string;
  readonly group_id?: string;
  readonly issuers?: string[];
  readonly revocations?: string[];
  readonly now_ms?: number;
  readonly role?: string;
  readonly error?: string;
}

const PLAIN: Record<string, string> = {
  "credential.expired": "Not verified: the credential has expired.",
  "credential.revoked": "Not verified: the organisation that issued the credential has withdrawn it.",
  "credential.untrusted_issuer": "Not verified: the group does not trust the organisation that issued the credential.",
  "credential.not_yet_valid": "Not verified: the credential is not valid yet.",
  "credential.wrong_subject": "Not verified: the credential was issued to someone else.",
  "credential.wrong_group": "Not verified: the credential was issued for another group.",
  "credential.bad_signature": "Not verified: the credential's signature does not check out.",
  "credential.malformed": "Not verified: this is not a credential that can be read.",
};

test("support.json badges: every failing check has its reason in plain words", () => {
  const vectors = loadVectors<BadgeVector[]>("support.json").filter((v) => v.name.startsWith("badge: "));
  const failing = vectors.filter((v) => v.error !== undefined);
  assert.ok(failing.length >= 6);
  for (const v of vectors) {
    let code: string | null = null;
    try {
      verifyBadge({ attestation: fromHex(v.attestation!), subject: fromHex(v.subject!), groupId: fromHex(v.group_id!), issuers: v.issuers!.map(fromHex), revocations: v.revocations!.map(fromHex), nowMs: BigInt(v.now_ms!) });
    } catch (e) {
      assert.ok(e instanceof HoldspaceError);
      code = e.code;
    }
    assert.equal(code, v.error ?? null, v.name);
    if (code !== null) assert.equal(problemWords(code), PLAIN[code], v.name);
  }
});

test("a member shares its own credential; it verifies once the issuer is trusted, and says why when it expires or is revoked", async () => {
  const w = await joined("member");
  const issuerSeed = new Uint8Array(32).fill(7);
  const now = BigInt(w.now.ms);
  const about = { subject: w.conv.self, group: w.b.groupId, role: "peer supporter", notBefore: now - 1000n, expires: now + 60_000n, serial: new Uint8Array(16).fill(1) };
  const cred = createAttestation(issuerSeed, about);
  // refused: not hex, not a credential, someone else's (a Python-made one), another group's
  const python = loadVectors<BadgeVector[]>("support.json").find((v) => v.name === "credential attestation")!;
  const refusals: [string, string][] = [
    ["not hex at all", "credential.malformed"],
    ["a1", "credential.malformed"],
    [python.attestation!, "credential.wrong_subject"],
    [toHex(createAttestation(issuerSeed, { ...about, group: new Uint8Array(32).fill(3) })), "credential.wrong_group"],
  ];
  for (const [text, code] of refusals) await assert.rejects(shareCredential(w.conv, text), (e: HoldspaceError) => e.code === code, text);
  const spaced = toHex(cred).replace(/(.{40})/g, "$1\n "); // pasted across lines
  await shareCredential(w.conv, spaced);
  await tick();
  catchUp(w);
  const posted = w.fay.messages().filter((r) => r.content?.t === "credential");
  assert.deepEqual(posted.map((r) => r.content), [{ t: "credential", c: cred }]); // what Fay's client reads
  const verdict = (): unknown => verdicts(w.conv.read(), w.conv.client.state, w.conv.participant.clock()).map((v) => [toHex(v.member), v.role, v.problem]);
  assert.deepEqual(verdict(), [[toHex(w.conv.self), null, "credential.untrusted_issuer"]]);
  assert.deepEqual(trustedIssuers(w.conv.client.state), []);
  const g = w.fay.state;
  const trust = w.b.raw("founder", CONTROL_KIND.trust, encodeControlPayload({ kind: "trust", deps: g.headIds(), key: publicKey(issuerSeed), add: true }), g.headIds(), "trust");
  w.node.add(trust.entry.bytes, trust.payload);
  await tick();
  assert.deepEqual(verdict(), [[toHex(w.conv.self), "peer supporter", null]]);
  const ids = trustedIssuers(w.conv.client.state);
  assert.equal(ids.length, 1);
  assert.ok(ids[0]!.startsWith("hsn1"));
  assert.deepEqual(decodeTextId(ids[0]!, "hsn"), publicKey(issuerSeed));
  w.now.ms += 120_000; // past its expiry
  assert.deepEqual(verdict(), [[toHex(w.conv.self), null, "credential.expired"]]);
  w.now.ms -= 120_000;
  await w.conv.compose({ t: "revocation", c: createRevocation(issuerSeed, decodeAttestation(cred).id, now) });
  await tick();
  assert.deepEqual(verdict(), [[toHex(w.conv.self), null, "credential.revoked"]]);
});

test("an issuer to trust: its hsn1 or hsp1 id or its key in hex; anything else is a typed refusal", () => {
  const key = publicKey(new Uint8Array(32).fill(7));
  const node = encodeTextId("hsn", key);
  assert.equal(toHex(parseIssuer(`  ${node}\n`)), toHex(key));
  assert.equal(toHex(parseIssuer(encodeTextId("hsp", key))), toHex(key));
  assert.equal(toHex(parseIssuer(toHex(key).toUpperCase())), toHex(key));
  const bad: [string, string][] = [
    ["", "identity.bad_text_id"],
    ["hello", "identity.bad_text_id"],
    [toHex(key).slice(2), "identity.bad_text_id"], // 31 bytes
    [`${toHex(key)}00`, "identity.bad_text_id"], // 33 bytes
    [node.slice(0, -1) + (node.endsWith("q") ? "p" : "q"), "identity.bad_checksum"],
    ["hsx1" + node.slice(4), "identity.bad_text_id"],
  ];
  for (const [text, code] of bad) {
    assert.throws(() => parseIssuer(text), (e: unknown) => e instanceof HoldspaceError && e.code === code, JSON.stringify(text));
  }
});
