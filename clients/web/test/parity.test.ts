/**
 * The browser's action layer for what the local app has beyond writing (people.ts, corrections.ts,
 * member_actions.ts, about.ts) against an in-memory node: names, labels, roles and look-alikes
 * (17.13, 17.14, every vector of labels.json) and verified badges (17.7), replies, corrections and removing for everyone
 * (17.15), the group's profile and crisis resources (17.12, 17.8), erasing one's words and leaving
 * (17.5, 12.3). The founder ("fay") checks every entry with her own GroupClient.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { equalBytes, fromHex, toHex } from "../src/bytes.js";
import { CONTROL_KIND, encodeControlPayload } from "../src/control.js";
import { createAttestation, createRevocation, decodeAttestation } from "../src/credentials.js";
import { publicKey } from "../src/crypto.js";
import { HoldspaceError } from "../src/errors.js";
import { GroupClient } from "../src/group_client.js";
import { encodeInviteToken } from "../src/invite.js";
import { label } from "../src/labels.js";
import { Facilitation } from "../src/facilitator.js";
import { People, shownNames, skeleton } from "../src/people.js";
import { correct, eraseMine, leaveGroup, removeForEveryone, reply, setDisplayName } from "../src/member_actions.js";
import { currentProfile, pinResources, saveProfile } from "../src/about.js";
import { quoted } from "../src/corrections.js";
import { type Joined, NODE, ORIGIN, type World, catchUp, fayWrites, joinBy, tick, world as makeWorld } from "./group_world.js";
import { loadVectors } from "./helpers.js";


type Person = Joined;

const world = (): World => makeWorld("parity");

/** A browser facilitator ("fac", invited by Fay) and a browser member ("sam", invited by fac). */
async function group(): Promise<{ w: World; fac: Person; sam: Person }> {
  const w = world();
  const inv = w.b.invite("founder", { role: "facilitator" });
  for (const m of w.b.made) w.node.add(m.entry.bytes, m.payload);
  const fac = await joinBy(w, encodeInviteToken({ groupId: w.b.groupId, inviteId: inv.id, seed: inv.seed, nodes: [NODE] }));
  fayWrites(w, { t: "text", b: "Welcome" });
  await tick();
  const made = await new Facilitation(fac.conv, ORIGIN).invite({ role: "member", uses: 1, days: 7 });
  const sam = await joinBy(w, made.link);
  await tick();
  await fac.conv.send("Welcome, Sam");
  await tick();
  await fac.conv.flush();
  await tick();
  assert.equal(sam.conv.view().status, "member");
  return { w, fac, sam };
}

async function code(p: Promise<unknown>): Promise<string | null> {
  try {
    await p;
    return null;
  } catch (e) {
    if (e instanceof HoldspaceError) return e.code;
    throw e;
  }
}

async function settle(...people: Person[]): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await tick();
    for (const p of people) await p.conv.flush();
  }
  await tick();
}

const people = (p: Person): People => new People(p.conv.read(), p.conv.client.state, p.conv.self, p.me.clock());

interface LabelVector {
  readonly text?: string;
  readonly skeleton?: string;
  readonly names?: Record<string, string | null>;
  readonly shown?: Record<string, { text: string; suffix: string | null; lookalike: boolean }>;
}

test("labels.json: every skeleton and every set of shown names", () => {
  const vectors = loadVectors<LabelVector[]>("labels.json");
  const skeletons = vectors.filter((v) => v.skeleton !== undefined);
  const sets = vectors.filter((v) => v.shown !== undefined);
  assert.ok(skeletons.length >= 8 && sets.length >= 4);
  for (const v of skeletons) assert.equal(skeleton(v.text!), v.skeleton, v.text);
  for (const v of sets) {
    const got = shownNames(new Map(Object.entries(v.names!)));
    for (const [k, want] of Object.entries(v.shown!)) {
      const s = got.get(k)!;
      assert.deepEqual({ text: s.text, suffix: s.suffix, lookalike: s.lookalike }, want);
    }
  }
});

test("a member is shown by its display name with its role from the state; one taking a facilitator's name is flagged, without the role", async () => {
  const { fac, sam } = await group();
  let seen = people(sam).person(fac.conv.self);
  assert.deepEqual([seen.name, seen.role, seen.lookalike], [label(fac.conv.self), "facilitator", false]);
  await setDisplayName(fac.conv, "Fay");
  await settle(fac, sam);
  seen = people(sam).person(fac.conv.self);
  assert.deepEqual([seen.name, seen.role, seen.lookalike], ["Fay", "facilitator", false]);
  assert.equal(people(fac).ownName, "Fay");
  assert.equal(people(fac).person(fac.conv.self).name, "You");
  await setDisplayName(sam.conv, "Fаy"); // a Cyrillic а
  await settle(fac, sam);
  const view = people(fac);
  const real = view.person(fac.conv.self);
  const fake = view.person(sam.conv.self);
  assert.ok(view.lookalikes);
  assert.equal(fake.name, `Fаy (${label(sam.conv.self)})`);
  assert.deepEqual([fake.role, fake.lookalike], [null, true]);
  assert.deepEqual([real.role, real.lookalike], ["facilitator", true]);
  assert.equal(await code(setDisplayName(sam.conv, "two\nlines")), "content.malformed");
  await setDisplayName(sam.conv, null); // withdrawn: the label again
  await settle(fac, sam);
  assert.equal(people(fac).person(sam.conv.self).name, label(sam.conv.self));
});

test("a verified badge comes from a credential of an issuer the group trusts, checked now; an untrusted or revoked one shows none", async () => {
  const { w, fac, sam } = await group();
  const issuerSeed = new Uint8Array(32).fill(7);
  catchUp(w);
  const g = w.fay.state;
  const trust = w.b.raw("founder", CONTROL_KIND.trust, encodeControlPayload({ kind: "trust", deps: g.headIds(), key: publicKey(issuerSeed), add: true }), g.headIds(), "trust");
  w.node.add(trust.entry.bytes, trust.payload);
  const now = BigInt(w.now.ms);
  const about = (subject: Uint8Array) => ({ subject, group: w.b.groupId, role: "professional", notBefore: now - 1000n, expires: now + 86_400_000n, serial: new Uint8Array(16) });
  const cred = createAttestation(issuerSeed, about(sam.conv.self));
  await sam.conv.compose({ t: "credential", c: cred });
  await fac.conv.compose({ t: "credential", c: createAttestation(new Uint8Array(32).fill(9), about(fac.conv.self)) }); // an issuer nobody trusts
  await settle(fac, sam);
  const seen = people(fac);
  assert.equal(seen.person(sam.conv.self).badge, "verified professional");
  assert.equal(seen.person(fac.conv.self).badge, null);
  await sam.conv.compose({ t: "revocation", c: createRevocation(issuerSeed, decodeAttestation(cred).id, now) });
  await settle(fac, sam);
  assert.equal(people(fac).person(sam.conv.self).badge, null);
});

test("a reply quotes what it answers; a correction within 15 minutes is shown edited; remove for everyone takes its corrections too", async () => {
  const { w, fac, sam } = await group();
  const welcome = fac.conv.view().messages.find((m) => m.text === "Welcome, Sam")!;
  await reply(sam.conv, welcome.id, "Thank you");
  await sam.conv.send("I am new here, and nervous");
  await settle(fac, sam);
  const answer = fac.conv.view().messages.find((m) => m.text === "Thank you")!;
  assert.deepEqual(answer.reply, { author: fac.conv.self, quote: "Welcome, Sam", warning: null });
  const mine = sam.conv.view().messages.find((m) => m.text.startsWith("I am new"))!;
  await correct(sam.conv, mine.id, "I am new here", "nerves");
  await settle(fac, sam);
  const shown = fac.conv.view().messages.find((m) => m.id === mine.id)!;
  assert.deepEqual([shown.text, shown.warning, shown.edited], ["I am new here", "nerves", true]);
  await reply(fac.conv, mine.id, "Welcome!");
  await settle(fac, sam);
  const quoting = sam.conv.view().messages.find((m) => m.text === "Welcome!")!;
  assert.deepEqual(quoting.reply, { author: sam.conv.self, quote: null, warning: "nerves" }); // under a warning: the warning only
  assert.equal(await code(correct(sam.conv, welcome.id, "mine now")), "app.bad_input"); // not its own
  assert.equal(await code(reply(sam.conv, "00".repeat(32), "?")), "client.unknown_message");
  w.now.ms += 16 * 60_000;
  assert.equal(await code(correct(sam.conv, mine.id, "too late")), "app.bad_input");
  await removeForEveryone(sam.conv, mine.id);
  await settle(fac, sam);
  assert.equal(fac.conv.view().messages.find((m) => m.id === mine.id), undefined);
  catchUp(w);
  const deleted = w.fay.messages().filter((r) => equalBytes(r.entry.header.a, sam.conv.self) && r.deleted === "redacted");
  assert.equal(deleted.length, 2); // the text and its correction
  assert.deepEqual(fac.conv.view().messages.find((m) => m.text === "Welcome!")!.reply, { author: null, quote: null, warning: null });
  assert.equal(await code(removeForEveryone(sam.conv, welcome.id)), "group.forbidden"); // a member removes only its own
  assert.equal(quoted(`${"word ".repeat(60)}`).length, 160);
});

test("a facilitator edits the group's profile and pins crisis resources; a member may do neither", async () => {
  const { w, fac, sam } = await group();
  assert.equal(await code(saveProfile(sam.conv, { name: "Mine", description: null, guidelines: null })), "client.not_facilitator");
  assert.equal(await code(pinResources(sam.conv, "Call me")), "client.not_facilitator");
  await saveProfile(fac.conv, { name: "Tuesday circle", description: "For carers", guidelines: "Be kind." });
  await pinResources(fac.conv, "Samaritans: 116 123");
  await settle(fac, sam);
  assert.deepEqual(currentProfile(sam.conv.read(), sam.conv.client.state), { name: "Tuesday circle", description: "For carers", guidelines: "Be kind." });
  assert.equal(sam.conv.view().pin, "Samaritans: 116 123");
  await saveProfile(fac.conv, { name: "Tuesday circle", description: "", guidelines: "Be kind, always." });
  await settle(fac, sam);
  assert.deepEqual(currentProfile(sam.conv.read(), sam.conv.client.state), { name: "Tuesday circle", description: null, guidelines: "Be kind, always." });
  assert.equal(await code(saveProfile(fac.conv, { name: "Two\nlines", description: null, guidelines: null })), "content.malformed");
  assert.equal(sam.conv.view().messages.filter((m) => m.text.includes("116")).length, 0); // not shown as a message
  catchUp(w);
});

test("a member erases everything it wrote, then leaves; the group sees both", async () => {
  const { w, fac, sam } = await group();
  assert.equal(await code(eraseMine(sam.conv)), "client.nothing_to_erase");
  await sam.conv.send("one");
  await sam.conv.send("two");
  await settle(fac, sam);
  assert.equal(fac.conv.view().messages.filter((m) => m.mine === false && ["one", "two"].includes(m.text)).length, 2);
  await eraseMine(sam.conv);
  await settle(fac, sam);
  assert.equal(fac.conv.view().messages.filter((m) => ["one", "two"].includes(m.text)).length, 0);
  assert.equal(sam.conv.view().messages.filter((m) => ["one", "two"].includes(m.text)).length, 0);
  catchUp(w);
  assert.equal(w.fay.messages().filter((r) => equalBytes(r.entry.header.a, sam.conv.self) && r.deleted === "erased").length, 2);
  await leaveGroup(sam.conv);
  await settle(fac, sam);
  assert.equal(sam.conv.view().status, "gone");
  catchUp(w);
  assert.equal(w.fay.state.state.members.has(toHex(sam.conv.self)), false);
  assert.equal(await code(leaveGroup(sam.conv)), "client.not_member");
  assert.ok(fromHex(toHex(sam.conv.self)).length === 32);
});
