/**
 * Several groups in one browser, and starting a group (groups.ts), against an in-memory node: one
 * person in two groups on one node reads each group's messages in that group only (also from a node
 * that sends every group's entries everywhere), and each group keeps its own device log, outbox
 * items and visit mark across a reload; a group started in the browser has the genesis of 12.2, its
 * creator as facilitator holding a clean epoch, its profile, and lets in a person who joins by the
 * invite it makes; a refused genesis (the node's admission) leaves no group behind, an unsettled one
 * is kept and sent when the group is opened; a bad name is refused before anything is signed. The
 * started group's entries are written to `build/started-group.json` for the Python client to read
 * (tests/web/started_group.py, run by tests/web/test_web_client.py after `npm test`).
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { test } from "node:test";
import { equalBytes, toHex } from "../src/bytes.js";
import { currentProfile } from "../src/about.js";
import { CONTROL_KIND, decodeControlPayload, type Genesis, MESSAGE_KIND } from "../src/control.js";
import { decodeEntry } from "../src/entry.js";
import { HoldspaceError } from "../src/errors.js";
import { Facilitation } from "../src/facilitator.js";
import { ensureFirstEpoch, genesisContext, listGroups, opened, startGroup } from "../src/groups.js";
import { encodeInviteToken, parseInvite } from "../src/invite.js";
import { KeyStore } from "../src/keystore.js";
import { VisitBook } from "../src/notify.js";
import { Conversation, Participant } from "../src/participant.js";
import { parseOperatorToken } from "../src/operator_token.js";
import { MemoryStorage } from "../src/storage.js";
import { CHEAP, FakeNode, NODE, ORIGIN, PASS, type World, fayWrites, tick, world } from "./group_world.js";

async function code(p: Promise<unknown>): Promise<string | null> {
  try {
    await p;
    return null;
  } catch (e) {
    if (e instanceof HoldspaceError) return e.code;
    throw e;
  }
}

function tokenOf(w: World): string {
  const inv = w.b.invite("founder");
  for (const m of w.b.made) w.node.add(m.entry.bytes, m.payload);
  return encodeInviteToken({ groupId: w.b.groupId, inviteId: inv.id, seed: inv.seed, nodes: [NODE] });
}

async function person(clock: () => number): Promise<{ me: Participant; storage: MemoryStorage }> {
  const storage = new MemoryStorage();
  return { me: await Participant.create(new KeyStore(storage, CHEAP), storage, PASS, NODE, clock), storage };
}

const texts = (conv: Conversation): string[] => conv.view().messages.map((m) => m.text);

async function twoGroups(mixed: boolean): Promise<void> {
  const node = new FakeNode();
  node.mixed = mixed;
  const one = world("groups-one", node);
  const two = world("groups-two", node);
  const { me, storage } = await person(one.clock);
  const joinOne = await me.join(node, parseInvite(tokenOf(one)).token, true);
  const joinTwo = await me.join(node, parseInvite(tokenOf(two)).token, true); // a second group is added
  assert.equal(me.profile.groups.length, 2);
  const c1 = new Conversation(me, joinOne);
  const c2 = new Conversation(me, joinTwo);
  await c1.connect(node);
  await c2.connect(node);
  fayWrites(one, { t: "text", b: "Said in the first group" });
  fayWrites(two, { t: "text", b: "Said in the second group" });
  await tick();
  assert.deepEqual(texts(c1), ["Said in the first group"]);
  assert.deepEqual(texts(c2), ["Said in the second group"]);
  await c1.send("My words for the first group");
  await tick();
  await c1.kept();
  await c2.kept();
  fayWrites(one, { t: "text", b: "Read by the first group only" });
  await tick();
  assert.deepEqual(texts(c2), ["Said in the second group"]);
  // each group's own outbox items: written while the second group's node is away
  const offline = new Conversation(me, joinTwo);
  await offline.compose({ t: "text", b: "Waiting for the second group" });
  assert.deepEqual((await me.outbox.pending(joinOne.groupId)).length, 0);
  assert.deepEqual((await me.outbox.pending(joinTwo.groupId)).length, 1);
  await new VisitBook(me.history).saveVisit(joinOne.groupId, { mark: c1.position, name: "first", reminded: [] });
  await c1.kept();
  // a reload: each group read from the device first, then from the node
  node.closePage();
  const again = await Participant.unlock(new KeyStore(storage, CHEAP), storage, PASS, one.clock);
  const r1 = new Conversation(again, again.group(joinOne.groupId)!);
  const r2 = new Conversation(again, again.group(joinTwo.groupId)!);
  await r1.loadOutbox();
  await r2.loadOutbox();
  assert.deepEqual(r1.view().outbox, []);
  assert.deepEqual(
    r2.view().outbox.map((i) => i.text),
    ["Waiting for the second group"],
  );
  const kept = async (g: Uint8Array): Promise<number> => (await again.history.keys("msg")).filter((k) => k.startsWith(`${toHex(g)}.`)).length;
  assert.equal(await kept(joinOne.groupId), 3, "the first group's three messages, kept under its own id");
  assert.equal(await kept(joinTwo.groupId), 1);
  const fetchedBefore = node.items.length;
  await r1.connect(node);
  await r2.connect(node);
  await tick();
  assert.deepEqual(texts(r1), ["Said in the first group", "My words for the first group", "Read by the first group only"]);
  assert.deepEqual(texts(r2), ["Said in the second group", "Waiting for the second group"]);
  assert.ok(r1.fetched < fetchedBefore, "the first group was read from the device, not fetched again whole");
  const book = new VisitBook(again.history);
  assert.equal((await book.visit(joinOne.groupId)).name, "first");
  assert.equal((await book.visit(joinTwo.groupId)).mark, null, "the second group's visit mark is its own");
}

test("one person in two groups on one node: each group's messages, outbox and visit mark stay its own", async () => {
  await twoGroups(false);
});

test("a node that sends every group's entries everywhere cannot make one group's messages show in another", async () => {
  await twoGroups(true);
});

test("the groups are listed with the one opened last first, each with the name kept for it", async () => {
  const node = new FakeNode();
  const one = world("list-one", node);
  const two = world("list-two", node);
  const { me } = await person(one.clock);
  const a = await me.join(node, parseInvite(tokenOf(one)).token, true);
  const b = await me.join(node, parseInvite(tokenOf(two)).token, true);
  await new VisitBook(me.history).rememberName(a.groupId, "Thursday circle");
  assert.deepEqual(
    (await listGroups(me)).map((g) => [g.record, g.name]),
    [
      [b, null],
      [a, "Thursday circle"],
    ],
  );
  await opened(me, a);
  assert.deepEqual(
    (await listGroups(me)).map((g) => g.record),
    [a, b],
  );
});

test("a group started in the browser: the genesis of 12.2, its creator a facilitator with a clean epoch and the profile; a person joins by its invite and reads it", async () => {
  const node = new FakeNode();
  let now = 1_764_000_000_000;
  const clock = (): number => (now += 1000);
  const { me } = await person(clock);
  const conv = await startGroup(me, node, { name: "Evening circle", description: "A quiet place to talk", guidelines: null });
  await tick();
  const record = me.group(conv.record.groupId)!;
  assert.equal(record.join, null);
  const [, gh, gp] = node.items[0]!;
  const genesis = decodeEntry(gh, gp!);
  assert.ok(equalBytes(genesis.id, record.groupId), "the group id is the genesis id");
  assert.equal(genesis.header.k, CONTROL_KIND.genesis);
  assert.equal(genesis.header.s, 1n);
  assert.ok(equalBytes(genesis.header.g, new Uint8Array(32)));
  const payload = decodeControlPayload(CONTROL_KIND.genesis, gp!, genesis.header.a) as Genesis;
  assert.equal(payload.history, "joined");
  assert.equal(payload.home, NODE);
  assert.ok(equalBytes(record.context, genesisContext(payload.nonce)));
  assert.ok(equalBytes(genesis.header.a, conv.self));
  assert.deepEqual(record.hosts, [NODE]);
  const g = conv.client.state;
  assert.equal(g.state.members.get(toHex(conv.self))?.role, "facilitator");
  assert.equal(conv.view().status, "member");
  assert.deepEqual(currentProfile(conv.read(), g), { name: "Evening circle", description: "A quiet place to talk", guidelines: null });
  assert.equal((await new VisitBook(me.history).visit(record.groupId)).name, "Evening circle");
  assert.deepEqual(
    node.items.map(([, h, p]) => decodeEntry(h, p).header.k),
    [CONTROL_KIND.genesis, CONTROL_KIND.rekey, MESSAGE_KIND],
    "genesis, the first epoch, the profile (a message)",
  );
  // an invite made by the creator lets a second browser person in
  const fac = new Facilitation(conv, ORIGIN);
  const made = await fac.invite({ role: "member", uses: 1, days: 7 });
  assert.equal(parseInvite(made.link).token.name, "Evening circle", "the invite carries the group's name");
  const other = await person(clock);
  const joined = await other.me.join(node, parseInvite(made.link).token, true);
  const theirs = new Conversation(other.me, joined);
  await theirs.connect(node);
  await tick();
  await conv.send("Welcome");
  await tick();
  await conv.flush();
  await tick();
  assert.equal(theirs.view().status, "member");
  assert.deepEqual(texts(theirs), ["Welcome"]);
  assert.equal(theirs.client.state.state.members.get(toHex(theirs.self))?.role, "member");
  // for the Python side (tests/web/started_group.py): the group's entries and the creator's master secret
  await conv.kept();
  const out = { master: toHex(me.profile.master), node: NODE, name: "Evening circle", description: "A quiet place to talk", entries: node.items.map(([, h, p]) => [toHex(h), p === null ? null : toHex(p)]) };
  writeFileSync(new URL("../started-group.json", import.meta.url), JSON.stringify(out));
});

test("a genesis the node refuses leaves no group behind; an unsettled answer keeps it, sent when the group is opened", async () => {
  const node = new FakeNode();
  const { me, storage } = await person(Date.now);
  for (const refusal of ["admission.closed", "admission.token_required", "admission.max_groups", "quota.node_full"]) {
    node.refuse = refusal;
    assert.equal(await code(startGroup(me, node, { name: "Evening circle", description: null, guidelines: null })), refusal);
    assert.equal(me.profile.groups.length, 0);
  }
  const again = await Participant.unlock(new KeyStore(storage, CHEAP), storage, PASS);
  assert.equal(again.profile.groups.length, 0);
  assert.equal(node.items.length, 0);
  node.refuse = "proto.busy";
  assert.equal(await code(startGroup(me, node, { name: "Evening circle", description: null, guidelines: null })), "proto.busy");
  const kept = me.profile.groups[0]!;
  assert.notEqual(kept.join, null, "the genesis waits to be sent");
  const conv = new Conversation(me, kept);
  await conv.connect(node);
  assert.equal(kept.join, null);
  assert.ok(equalBytes(decodeEntry(node.items[0]![1]).id, kept.groupId));
  assert.equal(conv.view().status, "waiting", "no epoch yet");
  await ensureFirstEpoch(conv);
  await ensureFirstEpoch(conv); // once only
  assert.equal(conv.view().status, "member");
  assert.deepEqual(
    node.items.map(([, h]) => decodeEntry(h).header.k),
    [CONTROL_KIND.genesis, CONTROL_KIND.rekey],
  );
});

test("a node that asks for an operator's token: the genesis carries it, nothing else does; a missing, wrong or used-up token leaves no group", async () => {
  const node = new FakeNode();
  const token = parseOperatorToken("hstoken:dDT4vunZcJYorDInOm9horQ4gvzOeGHzzpNXO2E6zgk");
  node.token = token;
  const { me } = await person(Date.now);
  const about = { name: "Evening circle", description: null, guidelines: null };
  assert.equal(await code(startGroup(me, node, about)), "admission.token_required");
  assert.equal(await code(startGroup(me, node, about, new Uint8Array(32).fill(1))), "admission.bad_token");
  assert.equal(me.profile.groups.length, 0);
  assert.equal(node.items.length, 0);
  node.tokensSeen.length = 0;
  const conv = await startGroup(me, node, about, token);
  await tick();
  await conv.flush();
  assert.equal(conv.view().status, "member");
  assert.ok(node.tokensSeen.length >= 2, "the genesis, the first epoch and the profile were published");
  assert.ok(equalBytes(node.tokensSeen[0]!, token), "the genesis carries the token");
  assert.ok(node.tokensSeen.slice(1).every((t) => t === null), "no other entry carries it");
  assert.equal(await code(startGroup(me, node, { ...about, name: "Second" }, token)), "admission.token_used_up");
  assert.equal(me.profile.groups.length, 1);
});

test("a group's name is checked before anything is signed", async () => {
  const node = new FakeNode();
  const { me } = await person(Date.now);
  assert.equal(await code(startGroup(me, node, { name: "  ", description: null, guidelines: null })), "app.bad_input");
  assert.equal(await code(startGroup(me, node, { name: "Two\nlines", description: null, guidelines: null })), "content.malformed");
  assert.equal(await code(startGroup(me, node, { name: "x".repeat(65), description: null, guidelines: null })), "content.malformed");
  assert.equal(me.profile.groups.length, 0);
  assert.equal(node.items.length, 0);
});
