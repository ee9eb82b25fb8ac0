import assert from "node:assert/strict";
import { test } from "node:test";
import { toHex } from "../src/bytes.js";
import { HoldspaceError } from "../src/errors.js";
import { encodeInviteToken, inviteLink, parseInvite, parseWebOrigin } from "../src/invite.js";
import { loadVectors } from "./helpers.js";

interface InviteVector {
  name: string;
  text: string;
  token?: string;
  g?: string;
  i?: string;
  s?: string;
  n?: string[];
  origin?: string;
  link?: string;
  m?: string;
  error?: string;
}

test("invites.json: every token and link, what it parses to or its code", () => {
  const vectors = loadVectors<InviteVector[]>("invites.json");
  assert.equal(vectors.length, 43);
  let checked = 0;
  for (const v of vectors) {
    if (v.error === undefined) {
      const inv = parseInvite(v.text);
      assert.equal(inv.token.text, v.token, v.name);
      assert.equal(toHex(inv.token.groupId), v.g, v.name);
      assert.equal(toHex(inv.token.inviteId), v.i, v.name);
      assert.equal(toHex(inv.token.seed), v.s, v.name);
      assert.deepEqual(inv.token.nodes.map((n) => n.normal), v.n, v.name);
      assert.equal(inv.token.name, v.m ?? null, `${v.name}: the group's name`);
      assert.equal(inv.origin, v.origin ?? null, v.name);
      assert.equal(inv.link, v.link ?? null, v.name);
      if (inv.link !== null) assert.equal(parseInvite(inv.link).link, inv.link, v.name);
    } else {
      assert.throws(() => parseInvite(v.text), (e: unknown) => e instanceof HoldspaceError && e.code === v.error, v.name);
    }
    checked++;
  }
  assert.equal(checked, vectors.length);
});

test("invites: a token made with the group's name carries it, and one without carries none (14.3)", () => {
  const [first] = loadVectors<InviteVector[]>("invites.json");
  const t = parseInvite(first!.text).token;
  const made = { groupId: t.groupId, inviteId: t.inviteId, seed: t.seed, nodes: t.nodes.map((n) => n.normal) };
  assert.equal(encodeInviteToken(made), t.text);
  const named = parseInvite(encodeInviteToken({ ...made, name: "Thursday grief circle" })).token;
  assert.equal(named.name, "Thursday grief circle");
  assert.ok(named.text.length - t.text.length <= 90);
  assert.throws(() => parseInvite(encodeInviteToken({ ...made, name: "Fay\u202e" })), (e: unknown) => e instanceof HoldspaceError && e.code === "address.bad_invite");
});

test("invite links: made from an origin and a token; origins normalised or refused", () => {
  const [first] = loadVectors<InviteVector[]>("invites.json");
  const token = parseInvite(first!.text).token;
  const link = inviteLink("HTTPS://Node.Example:443", token);
  assert.equal(link, `https://node.example/join#${token.text}`);
  assert.equal(new URL(link).pathname, "/join");
  assert.equal(new URL(link).hash.slice(1), token.text);
  assert.equal(parseWebOrigin("https://[::1]:8443"), "https://[::1]:8443");
  for (const bad of ["http://a.org", "https://a.org/", "https://a.org:0", "https://u@a.org", "https://[::1", "https://a_b.org"]) {
    assert.throws(() => parseWebOrigin(bad), (e: unknown) => e instanceof HoldspaceError && e.code === "address.bad_link", bad);
  }
});

test("invites: any text is parsed or refused with a code, never a crash", () => {
  const [first] = loadVectors<InviteVector[]>("invites.json");
  const base = first!.text;
  let seed = 7;
  const next = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  for (let k = 0; k < 3000; k++) {
    const chars = [...`https://a.org/join#${base}`];
    for (let j = 0; j < 1 + (next() % 4); j++) chars[next() % chars.length] = String.fromCharCode(next() % 128);
    try {
      parseInvite(chars.join(""));
    } catch (e) {
      assert.ok(e instanceof HoldspaceError, String(e));
    }
  }
});
