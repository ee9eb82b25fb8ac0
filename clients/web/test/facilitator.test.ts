/**
 * The facilitator's action layer (facilitator.ts) against an in-memory node: a browser member who
 * joined as a facilitator makes invites others join by, removes a member (who reads nothing written
 * afterwards), acts on reports (verified, the message removed for everyone, its author removed, the
 * state kept across a reload) and reads the check-ins sealed to the facilitators. The founder
 * ("fay") checks every entry with her own GroupClient: each must apply under 12.5.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { equalBytes, toHex } from "../src/bytes.js";
import { CONTROL_KIND, type Remove } from "../src/control.js";
import { decodeEntry, type Entry } from "../src/entry.js";
import { HoldspaceError } from "../src/errors.js";
import { checkinAudience, Facilitation, mayRedact, mayRemove } from "../src/facilitator.js";
import { GroupClient } from "../src/group_client.js";
import { encodeInviteToken, parseInvite } from "../src/invite.js";
import { KeyStore } from "../src/keystore.js";
import { label } from "../src/labels.js";
import { Conversation, Participant } from "../src/participant.js";
import { removalNotice, type RemovalWords, removalWords } from "../src/removal.js";
import { CHEAP, type Joined, NODE, ORIGIN, PASS, type World, catchUp, fayWrites, joinBy as join, tick, world as makeWorld } from "./group_world.js";

const DAY = 86_400_000;

interface Person extends Joined {
  fac: Facilitation;
}

const world = (): World => makeWorld("webfac");

async function joinBy(w: World, token: string): Promise<Person> {
  const joined = await join(w, token);
  return { ...joined, fac: new Facilitation(joined.conv, ORIGIN) };
}

/** The group with a browser facilitator ("fac", invited as one by Fay), holding the group's keys. */
async function withFacilitator(): Promise<{ w: World; f: Person }> {
  const w = world();
  const inv = w.b.invite("founder", { role: "facilitator" });
  for (const m of w.b.made) w.node.add(m.entry.bytes, m.payload);
  const f = await joinBy(w, encodeInviteToken({ groupId: w.b.groupId, inviteId: inv.id, seed: inv.seed, nodes: [NODE] }));
  fayWrites(w, { t: "text", b: "Welcome" });
  await tick();
  assert.equal(f.conv.view().status, "member");
  return { w, f };
}

/** `n` people join by one invite of the browser facilitator, then it writes to them (a rekey first). */
async function newcomers(w: World, f: Person, n: number): Promise<Person[]> {
  const made = await f.fac.invite({ role: "member", uses: n, days: 7 });
  const people: Person[] = [];
  for (let i = 0; i < n; i++) people.push(await joinBy(w, made.link));
  await tick();
  await f.conv.send("Welcome, both");
  await tick();
  await f.conv.flush();
  await tick();
  for (const p of people) assert.equal(p.conv.view().status, "member");
  return people;
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

test("a facilitator's invite link carries the token a Python client makes, and a newcomer joins by it", async () => {
  const { w, f } = await withFacilitator();
  assert.equal(f.fac.role, "facilitator");
  const before = w.clock();
  const made = await f.fac.invite({ role: "moderator", uses: 2, days: 3 });
  const parsed = parseInvite(made.link);
  assert.equal(parsed.origin, ORIGIN);
  assert.ok(made.link.startsWith(`${ORIGIN}/join#hsinvite:`));
  assert.equal(parsed.token.text, made.token);
  assert.ok(equalBytes(parsed.token.groupId, w.b.groupId));
  assert.deepEqual(parsed.token.nodes.map((n) => n.normal), [NODE]);
  const invites = w.node.by(f.conv.self).filter((e) => e.kind === CONTROL_KIND.invite);
  assert.equal(invites.length, 1);
  assert.ok(equalBytes(parsed.token.inviteId, invites[0]!.id));
  catchUp(w);
  assert.equal(w.fay.state.outcome(parsed.token.inviteId), null); // applied under 12.5
  const recorded = w.fay.state.state.invites.get(toHex(parsed.token.inviteId))!;
  assert.equal(recorded.payload.role, "moderator");
  assert.equal(recorded.payload.uses, 2n);
  assert.ok(Math.abs(Number(recorded.payload.expires) - (before + 3 * DAY)) < 10_000);
  const pat = await joinBy(w, made.link);
  catchUp(w);
  assert.equal(w.fay.state.state.members.get(toHex(pat.conv.self))?.role, "moderator");
  // what the screens offer follows 12.5: a moderator invites nobody
  assert.equal(pat.fac.mayInvite, false);
  assert.equal(await code(pat.fac.invite({ role: "member", uses: 1, days: 1 })), "client.not_facilitator");
  for (const bad of [{ role: "member", uses: 0, days: 7 }, { role: "member", uses: 101, days: 7 }, { role: "member", uses: 1, days: 31 }, { role: "member", uses: 1.5, days: 7 }, { role: "owner", uses: 1, days: 7 }])
    assert.equal(await code(f.fac.invite(bad as never)), "client.bad_argument");
});

test("a removed member reads nothing written after the removal; the group moves to keys it never gets", async () => {
  const { w, f } = await withFacilitator();
  const [pat] = await newcomers(w, f, 1);
  assert.ok(pat!.conv.view().messages.some((m) => m.text === "Welcome, both"));
  const members = f.fac.members();
  assert.deepEqual(members.map((m) => m.role), ["facilitator", "facilitator", "member"]);
  assert.deepEqual(members.filter((m) => m.you).map((m) => m.mayRemove), [false]); // nobody removes themself
  assert.ok(members.filter((m) => !m.you).every((m) => m.mayRemove)); // a facilitator removes anyone else
  assert.equal(members.find((m) => m.hex === toHex(pat!.conv.self))!.label, label(pat!.conv.self));
  assert.equal(await code(pat!.fac.remove(f.conv.self)), "group.forbidden"); // a member removes nobody
  await f.fac.remove(pat!.conv.self);
  catchUp(w);
  assert.equal(w.fay.state.state.members.has(toHex(pat!.conv.self)), false);
  const mine = w.node.by(f.conv.self).slice(-2);
  assert.deepEqual(mine.map((e) => e.kind), [CONTROL_KIND.remove, CONTROL_KIND.rekey]);
  for (const e of mine) assert.equal(w.fay.state.outcome(e.id), null);
  await f.conv.send("After the removal");
  await tick();
  await f.conv.flush();
  await tick();
  catchUp(w);
  assert.ok(w.fay.messages().some((r) => r.content?.t === "text" && (r.content as { b: string }).b === "After the removal"));
  const gone = pat!.conv.view();
  assert.equal(gone.status, "gone");
  assert.ok(!gone.messages.some((m) => m.text === "After the removal"));
  assert.equal(await code(f.fac.remove(pat!.conv.self)), "client.not_member");
});

test("a removal's words: the kind note opens for the removed member only, the reason for the facilitators; too long is refused before sending", async () => {
  const { w, f } = await withFacilitator();
  const [pat, sam] = await newcomers(w, f, 2);
  const before = w.node.by(f.conv.self).length;
  const long = "é".repeat(501); // 501 characters, 1002 bytes of UTF-8
  assert.equal(await code(f.fac.remove(pat!.conv.self, false, { note: long })), "group.malformed_payload");
  assert.equal(await code(f.fac.remove(pat!.conv.self, false, { reason: long })), "group.malformed_payload");
  assert.equal(w.node.by(f.conv.self).length, before); // nothing was sent
  const note = "Take care. The helpline is open every night.\nYou are welcome back later.";
  await f.fac.remove(pat!.conv.self, false, { note, reason: "  repeated cruel messages  " });
  catchUp(w);
  const removal = w.node.by(f.conv.self).at(-2)!;
  assert.equal(removal.kind, CONTROL_KIND.remove);
  assert.equal(w.fay.state.outcome(removal.id), null); // it applies under 12.5
  const held = (id: Uint8Array): { entry: Entry; p: Remove } => {
    const slot = w.fay.state.slotOf(id)!;
    return { entry: w.fay.state.entryOfSlot(slot), p: w.fay.state.payloadOfSlot(slot) as Remove };
  };
  const r = held(removal.id);
  const opened = (p: Person): RemovalWords => removalWords(w.b.groupId, r.entry, r.p, p.conv.self, p.me.pseudonym(p.conv.record).x25519Secret);
  assert.deepEqual(opened(pat!), { note, reason: null }); // the removed member reads the note only
  assert.deepEqual(opened(f), { note: null, reason: "repeated cruel messages" }); // the remover the reason, trimmed
  assert.deepEqual(opened(sam!), { note: null, reason: null }); // another member reads neither
  await tick();
  const notice = removalNotice(pat!.conv.client.state, pat!.conv.record.groupId, pat!.conv.self, pat!.me.pseudonym(pat!.conv.record).x25519Secret);
  assert.deepEqual([notice?.note, notice?.ban, notice && equalBytes(notice.by, f.conv.self)], [note, false, true]);
  assert.equal(removalNotice(sam!.conv.client.state, sam!.conv.record.groupId, sam!.conv.self, sam!.me.pseudonym(sam!.conv.record).x25519Secret), null);
  assert.equal(f.fac.moderationLog().lines[0]!.reason, "repeated cruel messages");
  // without words: neither field is sent
  await f.fac.remove(sam!.conv.self, false, { note: "   ", reason: "" });
  catchUp(w);
  const plain = w.node.by(f.conv.self).at(-2)!;
  const { p } = held(plain.id);
  assert.deepEqual([p.kind, p.note, p.reason], ["remove", null, null]);
});

test("a report is verified and acted on from itself: removed for everyone, its author removed, resolved, kept across a reload", async () => {
  const { w, f } = await withFacilitator();
  const [pat, sam] = await newcomers(w, f, 2);
  await pat!.conv.send("something cruel");
  await tick();
  const cruel = sam!.conv.view().messages.find((m) => m.text === "something cruel")!;
  await sam!.conv.report(cruel.id, "this is cruel");
  await tick();
  await f.fac.loadReportStates();
  const [r] = f.fac.reports();
  assert.ok(r !== undefined && r.verified);
  assert.deepEqual([r.why, r.words, toHex(r.author!), toHex(r.messageId!), toHex(r.reporter), r.gone, r.done], ["this is cruel", "something cruel", toHex(pat!.conv.self), cruel.id, toHex(sam!.conv.self), false, []]);
  assert.equal(sam!.fac.seesReports, false);
  assert.equal(f.fac.openReports(), 1);
  await f.fac.act(r.id, "redacted");
  await tick();
  catchUp(w);
  assert.ok(!f.conv.view().messages.some((m) => m.text === "something cruel")); // removed for everyone
  assert.ok(!sam!.conv.view().messages.some((m) => m.text === "something cruel"));
  assert.equal(f.fac.reports()[0]!.gone, true);
  assert.equal(f.fac.reports()[0]!.words, null); // dropped with the message (17.5)
  await f.fac.act(r.id, "removed");
  catchUp(w);
  assert.equal(w.fay.state.state.members.has(toHex(pat!.conv.self)), false);
  await f.fac.act(r.id, "resolved");
  assert.deepEqual(f.fac.reports()[0]!.done, ["redacted", "removed", "resolved"]);
  assert.equal(f.fac.openReports(), 0);
  // the state is kept in this browser's history, sealed: a reload reads it back
  w.node.closePage();
  const again = await Participant.unlock(new KeyStore(f.storage, CHEAP), f.storage, PASS, w.clock);
  const conv = new Conversation(again, again.profile.groups[0]!);
  await conv.connect(w.node);
  const fac = new Facilitation(conv, ORIGIN);
  await fac.loadReportStates();
  assert.deepEqual(fac.reports()[0]!.done, ["redacted", "removed", "resolved"]);
  const kept = (await f.storage.keys("seen")).filter((k) => k.startsWith("report-")); // beside the device log's cursors
  assert.deepEqual(kept, [`report-${r.id}`]);
  const sealed = new TextDecoder().decode((await f.storage.get("seen", kept[0]!))!);
  assert.ok(!sealed.includes("resolved")); // sealed under the history key
});

test("a report whose disclosure does not verify is shown as such and offers no action on its author", async () => {
  const { w, f } = await withFacilitator();
  const [pat, sam] = await newcomers(w, f, 2);
  await pat!.conv.send("ordinary words");
  await tick();
  const target = sam!.conv.client.messages().find((r) => r.content?.t === "text" && (r.content as { b: string }).b === "ordinary words")!;
  const payload = w.node.items.find(([, h]) => equalBytes(decodeEntry(h).id, target.entry.id))![2]!;
  await sam!.conv.compose({ t: "report", e: target.entry.bytes, p: payload, k: new Uint8Array(32).fill(7), why: "forged" }, "moderators");
  await tick();
  const [r] = f.fac.reports();
  assert.ok(r !== undefined && !r.verified && r.words === null && r.author === null);
  assert.equal(r.problem, "content.bad_disclosure");
  assert.equal(await code(f.fac.act(r.id, "redacted")), "content.bad_disclosure");
  assert.equal(await code(f.fac.act(r.id, "removed")), "content.bad_disclosure");
  assert.equal(await code(f.fac.act("00", "resolved")), "client.unknown_message");
  catchUp(w);
  assert.ok(w.fay.state.state.members.has(toHex(pat!.conv.self)));
});

test("check-ins reach the facilitators' feed with who sent them, low moods flagged; the sender is told exactly who sees them", async () => {
  const { w, f } = await withFacilitator();
  const [pat, sam] = await newcomers(w, f, 2);
  const fayKey = w.b.key("founder");
  const audience = checkinAudience(pat!.conv.client.state, pat!.conv.self);
  assert.equal(audience, `Only the group's 2 facilitators will see it: ${[fayKey, f.conv.self].sort((a, b) => (toHex(a) < toHex(b) ? -1 : 1)).map(label).join(" and ")}.`);
  assert.ok(checkinAudience(f.conv.client.state, f.conv.self).includes("you"));
  await pat!.conv.checkin(2, "tired");
  await sam!.conv.checkin(4);
  await tick();
  assert.equal(sam!.fac.seesCheckins, false);
  assert.ok(f.fac.seesCheckins);
  const feed = f.fac.checkins();
  assert.deepEqual(
    feed.map((c) => [toHex(c.from), c.mood, c.word, c.low]),
    [[toHex(sam!.conv.self), 4, null, false], [toHex(pat!.conv.self), 2, "tired", true]],
  );
  assert.equal(sam!.fac.checkins().length, 0); // sealed to the facilitators: a member opens none
});

test("a facilitator's page shares the group's keys with a newcomer, without writing anything", async () => {
  const { w, f } = await withFacilitator();
  assert.equal(await f.fac.shareKeys(), false); // the epoch is clean
  const made = await f.fac.invite({ role: "member", uses: 1, days: 1 });
  const pat = await joinBy(w, made.link);
  await tick();
  assert.equal(pat.conv.view().status, "waiting");
  assert.equal(await pat.fac.shareKeys(), false); // the newcomer's page holds no key to share
  f.fac.shareStep = 0; // its turn at once, whatever its rank after Fay for this join
  assert.equal(await f.fac.shareKeys(), true);
  await tick();
  assert.equal(pat.conv.view().status, "member");
  assert.equal(await f.fac.shareKeys(), false);
  catchUp(w);
  const rekey = w.node.by(f.conv.self).at(-1)!;
  assert.equal(rekey.kind, CONTROL_KIND.rekey);
  assert.equal(w.fay.state.outcome(rekey.id), null);
});

test("with no facilitator's page open, a member's page shares the keys at its turn, and only one does", async () => {
  const { w, f } = await withFacilitator();
  const [pat, sam] = await newcomers(w, f, 2);
  const made = await f.fac.invite({ role: "member", uses: 1, days: 1 }); // then the facilitator's page is closed
  const nia = await joinBy(w, made.link);
  await tick();
  assert.equal(nia.conv.view().status, "waiting");
  const step = 0.3;
  for (const p of [pat!, sam!, nia]) p.fac.shareStep = step;
  // Fay and the browser facilitator come first (ranks 0 and 1); the members wait 2 and 3 steps.
  assert.equal(await pat!.fac.shareKeys(), false);
  assert.equal(await sam!.fac.shareKeys(), false);
  assert.equal(await nia.fac.shareKeys(), false); // the newcomer's page holds no key to share
  await tick();
  assert.equal(nia.conv.view().status, "waiting"); // nobody's turn yet
  await new Promise((r) => setTimeout(r, 6 * step * 1000));
  await tick();
  assert.equal(nia.conv.view().status, "member");
  const rekeys = [pat!, sam!].map((p) => w.node.by(p.conv.self).filter((e) => e.kind === CONTROL_KIND.rekey));
  assert.deepEqual(rekeys.map((r) => r.length).sort(), [0, 1]); // one member shared them; nobody wrote
  catchUp(w);
  assert.equal(w.fay.state.outcome(rekeys.flat()[0]!.id), null);
  for (const p of [pat!, sam!, nia]) p.fac.stop();
});

test("a facilitator's page closes an expired invite with uses left, and only that one", async () => {
  const { w, f } = await withFacilitator();
  const once = await f.fac.invite({ role: "member", uses: 1, days: 1 });
  const used = parseInvite(once.link).token.inviteId;
  await joinBy(w, once.link);
  const open = parseInvite((await f.fac.invite({ role: "member", uses: 2, days: 1 })).link).token.inviteId;
  const later = parseInvite((await f.fac.invite({ role: "member", uses: 1, days: 3 })).link).token.inviteId;
  await tick();
  assert.equal(await f.fac.closeExpiredInvites(), 0); // none expired yet
  for (let i = 0; i < 2 * 86_400; i++) w.clock(); // two days pass
  assert.equal(await f.fac.closeExpiredInvites(), 1);
  catchUp(w);
  const invites = w.fay.state.state.invites;
  assert.equal(invites.get(toHex(used))!.closedBy, null); // used up: nothing to close
  assert.notEqual(invites.get(toHex(open))!.closedBy, null); // expired with a use left: closed
  assert.equal(invites.get(toHex(later))!.closedBy, null); // not expired yet
  assert.equal(await f.fac.closeExpiredInvites(), 0);
});

test("who may remove and redact follows 12.5", async () => {
  const { w, f } = await withFacilitator();
  const [pat] = await newcomers(w, f, 1);
  const g = f.conv.client.state;
  const fay = w.b.key("founder");
  assert.ok(mayRemove(g, f.conv.self, fay) && mayRemove(g, f.conv.self, pat!.conv.self) && !mayRemove(g, f.conv.self, f.conv.self));
  assert.ok(!mayRemove(g, pat!.conv.self, f.conv.self));
  assert.ok(mayRedact(g, pat!.conv.self, pat!.conv.self) && !mayRedact(g, pat!.conv.self, fay) && mayRedact(g, f.conv.self, pat!.conv.self));
});
