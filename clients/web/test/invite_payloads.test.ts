import assert from "node:assert/strict";
import { test } from "node:test";
import { ascii, concat, toHex } from "../src/bytes.js";
import { H, publicKey } from "../src/crypto.js";
import { createEntry } from "../src/entry.js";
import { GroupState } from "../src/group.js";
import { createIdentityDocument, derivePseudonym } from "../src/identity.js";
import { encodeInviteToken, type InviteToken, type NewInviteToken, parseInvite } from "../src/invite.js";
import { joinPayload, newInvite } from "../src/invite_payloads.js";

const parseInviteToken = (text: string): InviteToken => parseInvite(text).token;
import { encodeTextId } from "../src/textid.js";
import { Builder } from "./builder.js";
import { codeOf, rng } from "./helpers.js";

const node = (i: number): string => `holdspace://${encodeTextId("hsn", publicKey(H(ascii(`node ${i}`))))}@node${i}.example.org:4433`;

test("invite tokens (14.3): round trip, white space forgiven, every damage refused", () => {
  const r = rng(14);
  const bytes = (): Uint8Array => Uint8Array.from({ length: 32 }, () => Math.floor(r() * 256));
  for (let k = 1; k <= 8; k++) {
    const t: NewInviteToken = { groupId: bytes(), inviteId: bytes(), seed: bytes(), nodes: Array.from({ length: k }, (_, i) => node(i)) };
    const text = encodeInviteToken(t);
    assert.ok(text.startsWith("hsinvite:") && !text.includes("="));
    const back = parseInviteToken(text);
    assert.deepEqual([back.groupId, back.inviteId, back.seed, back.nodes.map((a) => a.normal)].map(String), [t.groupId, t.inviteId, t.seed, t.nodes].map(String));
    const wrapped = text.replace(/(.{40})/g, "$1\n  ");
    assert.deepEqual(parseInviteToken(` ${wrapped}\n`).nodes.map((a) => a.normal), t.nodes);
    for (let i = "hsinvite:".length; i < text.length; i += 7) {
      const c = text[i] === "A" ? "B" : "A";
      const damaged = text.slice(0, i) + c + text.slice(i + 1);
      assert.equal(codeOf(() => parseInviteToken(damaged)), "address.bad_invite", `character ${i}`);
    }
    assert.equal(codeOf(() => parseInviteToken(text.slice(0, -3))), "address.bad_invite");
  }
  const t = { groupId: bytes(), inviteId: bytes(), seed: bytes() };
  assert.equal(codeOf(() => parseInviteToken(encodeInviteToken({ ...t, nodes: Array.from({ length: 9 }, (_, i) => node(i)) }))), "address.bad_invite");
  assert.equal(codeOf(() => parseInviteToken(encodeInviteToken({ ...t, nodes: [] }))), "address.bad_invite");
  assert.equal(codeOf(() => parseInviteToken(encodeInviteToken({ ...t, nodes: ["holdspace://x@y:1"] }))), "identity.bad_text_id");
  assert.equal(codeOf(() => parseInviteToken(encodeInviteToken({ ...t, nodes: [node(1).replace(":4433", ":0")] }))), "address.malformed");
  assert.equal(codeOf(() => parseInviteToken(encodeInviteToken({ ...t, seed: new Uint8Array(31), nodes: [node(1)] }))), "address.bad_invite");
  assert.equal(codeOf(() => parseInviteToken("hsinvit:AAAA")), "address.bad_invite");
  assert.equal(codeOf(() => parseInviteToken("hsinvite:AA*A")), "address.bad_invite");
  assert.equal(codeOf(() => parseInviteToken(`hsinvite:${"A".repeat(4100)}`)), "address.bad_invite");
});

test("an invite and its join, as a facilitator's and a newcomer's clients make them", () => {
  const b = new Builder("invite flow");
  const founder = b.key("founder");
  const { payload, seed } = newInvite({ deps: b.currentHeads(), role: "moderator", expires: 1_764_100_000_000n, uses: 1n, target: null });
  const invite = b.raw("founder", 2n, payload, b.currentHeads(), "founder invites");
  const text = encodeInviteToken({ groupId: b.groupId, inviteId: invite.entry.id, seed, nodes: [node(0)] });
  // The newcomer: only the token.
  const token = parseInviteToken(text);
  const me = derivePseudonym(H(ascii("newcomer's master")), concat(ascii("group:"), token.groupId));
  const doc = createIdentityDocument(me, 1_764_000_500_000n, "Sam");
  const join = createEntry(me.ed25519Seed, {
    group: token.groupId,
    seq: 1n,
    prev: null,
    timeMs: 1_764_000_600_000n,
    kind: 3n,
    payload: joinPayload(token, me.ed25519Public, doc, node(7)),
  });
  const g = new GroupState(b.groupId);
  for (const m of b.made) g.add(m.entry, m.payload);
  assert.deepEqual(g.add(join, joinPayload(token, me.ed25519Public, doc, node(7))), { status: "applied" });
  assert.equal(g.state.members.get(toHex(me.ed25519Public))?.role, "moderator");
  assert.equal(g.state.members.get(toHex(me.ed25519Public))?.admittedBy, toHex(founder));
  assert.equal(g.state.hosts.get(toHex(publicKey(H(ascii("node 7"))))), node(7));
  // A token with another seed proves nothing.
  const forged = { ...token, seed: new Uint8Array(32).fill(1) };
  const other = derivePseudonym(H(ascii("forger")), concat(ascii("group:"), token.groupId));
  const otherDoc = createIdentityDocument(other, 1_764_000_500_000n);
  const p = joinPayload(forged, other.ed25519Public, otherDoc);
  const e = createEntry(other.ed25519Seed, { group: token.groupId, seq: 1n, prev: null, timeMs: 1_764_000_600_000n, kind: 3n, payload: p });
  assert.deepEqual(g.add(e, p), { status: "ignored", code: "group.bad_invite_proof" });
  assert.equal(codeOf(() => joinPayload(token, other.ed25519Public, doc)), "identity.bad_key");
});
