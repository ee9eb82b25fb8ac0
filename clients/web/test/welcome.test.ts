/**
 * What a newcomer reads (spec 13.1 "History", 17.12): under "joined", the browser's rekey that adds
 * members quotes the group's current profile and pin into the new epoch, so the newcomer reads the
 * name, description, guidelines and pinned resources at once, and nothing written before its join.
 * Under "the last N days" a browser facilitator chooses the setting from About the group.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { currentProfile, historyChoice, newcomersRead, pinResources, saveHistory, saveProfile, widens } from "../src/about.js";
import { HoldspaceError } from "../src/errors.js";
import { Facilitation } from "../src/facilitator.js";
import { encodeInviteToken } from "../src/invite.js";
import { currentPin } from "../src/support.js";
import { type Joined, NODE, ORIGIN, fayWrites, joinBy, tick, world } from "./group_world.js";

async function settle(...people: Joined[]): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await tick();
    for (const p of people) await p.conv.flush();
  }
  await tick();
}

test("a newcomer under 'joined' reads the group's profile and pin at once, and nothing from before", async () => {
  const w = world("welcome");
  const inv = w.b.invite("founder", { role: "facilitator" });
  for (const m of w.b.made) w.node.add(m.entry.bytes, m.payload);
  const fac = await joinBy(w, encodeInviteToken({ groupId: w.b.groupId, inviteId: inv.id, seed: inv.seed, nodes: [NODE] }));
  fayWrites(w, { t: "text", b: "Welcome" });
  await tick();
  assert.equal(fac.conv.client.state.state.history, "joined");
  await saveProfile(fac.conv, { name: "Tuesday circle", description: "For carers", guidelines: "Be kind." });
  await pinResources(fac.conv, "Samaritans: 116 123");
  await fac.conv.send("said before anyone new came");
  await settle(fac);

  const made = await new Facilitation(fac.conv, ORIGIN).invite({ role: "member", uses: 1, days: 7 });
  const sam = await joinBy(w, made.link);
  await tick();
  await fac.conv.send("Welcome, Sam"); // the rekey that adds Sam comes first, then the welcome
  await settle(fac, sam);

  assert.equal(sam.conv.view().status, "member");
  assert.deepEqual(currentProfile(sam.conv.read(), sam.conv.client.state), { name: "Tuesday circle", description: "For carers", guidelines: "Be kind." });
  assert.equal(currentPin(sam.conv.read(), sam.conv.client.state)?.text, "Samaritans: 116 123");
  const texts = sam.conv.view().messages.map((m) => m.text);
  assert.ok(texts.includes("Welcome, Sam"));
  assert.ok(!texts.includes("said before anyone new came") && !texts.includes("Welcome"), texts.join(" | "));
  // the welcome is quoted once per epoch, not again with every message
  const quotes = () => fac.conv.read().filter((r) => r.content?.t === "quote").length;
  const before = quotes();
  await fac.conv.send("and again");
  await settle(fac, sam);
  assert.equal(quotes(), before);
});

test("About the group: what newcomers read in plain words, and a facilitator's choice checked", async () => {
  assert.equal(newcomersRead("joined"), "New members read from the day they join.");
  assert.equal(newcomersRead(7n), "New members read the last 7 days before they join, and everything after.");
  assert.equal(newcomersRead(1n), "New members read the last day before they join, and everything after.");
  assert.equal(newcomersRead("shared"), "New members read everything the group has said, from its start.");
  assert.ok(widens("joined", 2n) && widens(2n, 3n) && widens(365n, "shared"));
  assert.ok(!widens("shared", 365n) && !widens(7n, 7n) && !widens(7n, "joined"));
  assert.equal(historyChoice("days", "30"), 30n);
  assert.equal(historyChoice("shared", "x"), "shared");
  for (const [choice, days] of [["days", "0"], ["days", "366"], ["days", "seven"], ["days", "-1"], ["forever", "7"]] as const) {
    assert.throws(() => historyChoice(choice, days), (e: unknown) => e instanceof HoldspaceError && e.code === "app.bad_input");
  }

  const w = world("history-choice");
  const inv = w.b.invite("founder", { role: "facilitator" });
  for (const m of w.b.made) w.node.add(m.entry.bytes, m.payload);
  const fac = await joinBy(w, encodeInviteToken({ groupId: w.b.groupId, inviteId: inv.id, seed: inv.seed, nodes: [NODE] }));
  fayWrites(w, { t: "text", b: "Welcome" });
  await tick();
  await saveHistory(fac.conv, 3n);
  assert.equal(fac.conv.client.state.state.history, 3n);
  w.fay.receive(...(w.node.items.at(-1)!.slice(1) as [Uint8Array, Uint8Array]));
  assert.equal(w.fay.state.state.history, 3n); // the founder's client applies it too (12.5)
});

test("a newcomer under 'the last 2 days' reads the epoch started yesterday, not last week's", async () => {
  const DAY = 86_400_000;
  const w = world("history-days");
  const inv = w.b.invite("founder", { role: "facilitator" });
  for (const m of w.b.made) w.node.add(m.entry.bytes, m.payload);
  const fac = await joinBy(w, encodeInviteToken({ groupId: w.b.groupId, inviteId: inv.id, seed: inv.seed, nodes: [NODE] }));
  fayWrites(w, { t: "text", b: "Welcome" });
  await tick();
  await saveHistory(fac.conv, 2n);
  const newcomer = async (text: string): Promise<Joined> => {
    const made = await new Facilitation(fac.conv, ORIGIN).invite({ role: "member", uses: 1, days: 7 });
    const p = await joinBy(w, made.link);
    await tick();
    await fac.conv.send(text); // the rekey that adds them, with the keys of their window, then the words
    await settle(fac, p);
    return p;
  };
  const read = (p: Joined): string[] => p.conv.view().messages.map((m) => m.text);
  const sam = await newcomer("last week");
  w.now.ms += 7 * DAY;
  const ben = await newcomer("yesterday");
  w.now.ms += DAY;
  const nia = await newcomer("today");
  await settle(fac, sam, ben, nia);
  assert.deepEqual(read(nia).filter((t) => t !== "Welcome"), ["yesterday", "today"]);
  assert.deepEqual(read(ben).filter((t) => t !== "Welcome"), ["yesterday", "today"]); // last week was 7 days before its join
  assert.deepEqual(read(sam), ["last week", "yesterday", "today"]);
  assert.ok(!read(nia).includes("Welcome") && !read(ben).includes("Welcome")); // an epoch whose key was never kept
});
