/**
 * The facilitator's last tools in the browser's action layer (facilitator.ts): muting a member for
 * a while and lifting it (12.5, 12.6), the group's invites listed and revoked (a `close`), and the
 * moderation log; and the governing mute found by the index of cuts (group_rules.ts) answering as
 * the rule of 12.6 reads, over random mute sequences. The founder ("fay") checks every entry with
 * her own GroupClient: each must apply under 12.5.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { fromHex, toHex } from "../src/bytes.js";
import { CONTROL_KIND, encodeControlPayload } from "../src/control.js";
import { sealDirect } from "../src/e2ee.js";
import { HoldspaceError } from "../src/errors.js";
import { Facilitation, LOG_SHOWN, mayMute } from "../src/facilitator.js";
import { GroupStateData, type MuteState } from "../src/group_rules.js";
import { encodeInviteToken, parseInvite } from "../src/invite.js";
import { type Joined, NODE, ORIGIN, type World, catchUp, fayWrites, joinBy as join, tick, world as makeWorld } from "./group_world.js";

interface Person extends Joined {
  fac: Facilitation;
}

async function joinBy(w: World, token: string): Promise<Person> {
  const joined = await join(w, token);
  return { ...joined, fac: new Facilitation(joined.conv, ORIGIN) };
}

/** Fay's group with a browser facilitator ("f") and `n` members who joined by its invite and read. */
async function group(n: number): Promise<{ w: World; f: Person; people: Person[] }> {
  const w = makeWorld("webmod");
  const inv = w.b.invite("founder", { role: "facilitator" });
  for (const m of w.b.made) w.node.add(m.entry.bytes, m.payload);
  const f = await joinBy(w, encodeInviteToken({ groupId: w.b.groupId, inviteId: inv.id, seed: inv.seed, nodes: [NODE] }));
  fayWrites(w, { t: "text", b: "Welcome" });
  await tick();
  const made = await f.fac.invite({ role: "member", uses: n, days: 7 });
  const people: Person[] = [];
  for (let i = 0; i < n; i++) people.push(await joinBy(w, made.link));
  await tick();
  await f.conv.send("Welcome, all");
  await tick();
  await f.conv.flush();
  await tick();
  for (const p of people) assert.equal(p.conv.view().status, "member");
  return { w, f, people };
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

/** Whether Fay holds `text` from the group as authorised (12.6: not muted). */
function fayReads(w: World, text: string): boolean | undefined {
  catchUp(w);
  return w.fay.messages().find((r) => r.content?.t === "text" && (r.content as { b: string }).b === text)?.authorised;
}

async function says(p: Person, text: string): Promise<void> {
  await p.conv.send(text);
  await tick();
  await p.conv.flush();
  await tick();
}

test("a member muted for an hour still reads, but no message it writes to the group counts until the mute is lifted", async () => {
  const { w, f, people } = await group(2);
  const [pat, sam] = people as [Person, Person];
  const row = f.fac.members().find((m) => m.hex === toHex(pat.conv.self))!;
  assert.deepEqual([row.mayMute, row.mutedUntil], [true, null]);
  assert.equal(await code(sam.fac.mute(pat.conv.self, 60)), "group.forbidden"); // a member mutes nobody
  assert.equal(await code(f.fac.mute(pat.conv.self, 5)), "client.bad_argument"); // an hour, a day or a week
  assert.equal(await code(f.fac.mute(f.conv.self, 60)), "group.forbidden"); // nobody mutes themself
  const until = await f.fac.mute(pat.conv.self, 60);
  await tick();
  catchUp(w);
  const mute = w.node.by(f.conv.self).at(-1)!;
  assert.equal(mute.kind, CONTROL_KIND.mute);
  assert.equal(w.fay.state.outcome(mute.id), null); // applied under 12.5
  const now = BigInt(w.now.ms);
  assert.equal(w.fay.state.mutedUntil(pat.conv.self, now), BigInt(until));
  assert.ok(Math.abs(until - (w.now.ms + 3_600_000)) < 60_000);
  assert.equal(f.fac.members().find((m) => m.hex === toHex(pat.conv.self))!.mutedUntil, until);
  assert.equal(pat.conv.client.state.mutedUntil(pat.conv.self, now), BigInt(until)); // its own page knows
  await says(pat, "while muted");
  assert.equal(fayReads(w, "while muted"), false); // written after the cut, before the end: refused
  await says(f, "still reading");
  assert.ok(pat.conv.view().messages.some((m) => m.text === "still reading"));
  assert.equal(await code(sam.fac.unmute(pat.conv.self)), "group.forbidden");
  await f.fac.unmute(pat.conv.self);
  await tick();
  assert.equal(f.fac.members().find((m) => m.hex === toHex(pat.conv.self))!.mutedUntil, null);
  assert.equal(pat.conv.client.state.mutedUntil(pat.conv.self, BigInt(w.now.ms)), null);
  await says(pat, "after the mute");
  assert.equal(fayReads(w, "after the mute"), true);
  assert.equal(fayReads(w, "while muted"), false); // a lift governs only what follows its cut
  catchUp(w);
  assert.equal(w.fay.state.outcome(w.node.by(f.conv.self).filter((e) => e.kind === CONTROL_KIND.mute).at(-1)!.id), null);
  assert.equal(await code(f.fac.mute(new Uint8Array(32), 60)), "client.not_member");
});

test("who may mute follows 12.5: a moderator mutes members only, a facilitator anyone else", async () => {
  const { w, f, people } = await group(1);
  const mod = await joinBy(w, (await f.fac.invite({ role: "moderator", uses: 1, days: 1 })).link);
  await tick();
  const g = f.conv.client.state;
  const [pat] = people as [Person];
  const fay = w.b.key("founder");
  assert.ok(mayMute(g, mod.conv.self, pat.conv.self) && !mayMute(g, mod.conv.self, f.conv.self) && !mayMute(g, mod.conv.self, mod.conv.self));
  assert.ok(mayMute(g, f.conv.self, fay) && mayMute(g, f.conv.self, mod.conv.self) && !mayMute(g, pat.conv.self, mod.conv.self));
});

test("a facilitator lists the group's invites newest first with where each stands, and revokes an open one", async () => {
  const { w, f, people } = await group(1);
  const [pat] = people as [Person];
  const open = parseInvite((await f.fac.invite({ role: "moderator", uses: 3, days: 2 })).link).token;
  await tick();
  const listed = f.fac.invites();
  assert.deepEqual(
    listed.map((i) => [i.role, i.used, i.uses, i.status]),
    [["moderator", 0, 3, "open"], ["member", 1, 1, "used"], ["facilitator", 1, 1, "used"]],
  );
  assert.equal(listed[0]!.hex, toHex(open.inviteId));
  assert.deepEqual(pat.fac.invites(), []); // only facilitators list them
  assert.equal(await code(pat.fac.revoke(open.inviteId)), "client.not_facilitator");
  assert.equal(await code(f.fac.revoke(new Uint8Array(32))), "client.unknown_invite");
  await f.fac.revoke(open.inviteId);
  catchUp(w);
  const close = w.node.by(f.conv.self).at(-1)!;
  assert.equal(close.kind, CONTROL_KIND.close);
  assert.equal(w.fay.state.outcome(close.id), null);
  assert.notEqual(w.fay.state.state.invites.get(toHex(open.inviteId))!.closedBy, null);
  assert.equal(f.fac.invites()[0]!.status, "revoked");
  const count = w.node.items.length;
  await f.fac.revoke(open.inviteId); // closed already: nothing is published
  assert.equal(w.node.items.length, count);
  for (let i = 0; i < 3 * 86_400; i++) w.clock(); // three days pass
  const later = parseInvite((await f.fac.invite({ role: "member", uses: 1, days: 1 })).link).token;
  for (let i = 0; i < 2 * 86_400; i++) w.clock();
  assert.deepEqual(f.fac.invites().slice(0, 2).map((i) => [i.hex, i.status]), [[toHex(later.inviteId), "expired"], [toHex(open.inviteId), "revoked"]]);
});

test("the moderation log: removals with their reason for its readers, bans, mutes, role changes and redactions, newest first", async () => {
  const { w, f, people } = await group(3);
  const [pat, sam, kim] = people as [Person, Person, Person];
  await says(pat, "a message to remove");
  const msg = f.conv.view().messages.find((m) => m.text === "a message to remove")!;
  await says(pat, "my own words");
  await pat.fac.redact(pat.conv.self, fromHex(pat.conv.view().messages.find((m) => m.text === "my own words")!.id)); // not moderation
  await f.fac.mute(pat.conv.self, 1440);
  await f.fac.unmute(pat.conv.self);
  await f.fac.redact(pat.conv.self, fromHex(msg.id));
  await f.fac.remove(kim.conv.self, true);
  // Fay removes sam with a reason sealed to the browser facilitator
  catchUp(w);
  const g = w.fay.state;
  const seq = w.b.nextSeq("founder");
  const reason = sealDirect({ groupId: w.b.groupId, author: w.b.key("founder"), seq }, [{ key: f.conv.self, x25519: g.state.x25519.get(toHex(f.conv.self))!.key }], new TextEncoder().encode("kept posting cruel things"));
  const cut = w.fay.head(sam.conv.self)?.seq ?? 0n;
  const rm = w.b.raw("founder", CONTROL_KIND.remove, encodeControlPayload({ kind: "remove", deps: g.headIds(), target: sam.conv.self, cut, ban: false, note: null, reason }), g.headIds(), "fay removes sam");
  w.node.add(rm.entry.bytes, rm.payload);
  await tick();
  const log = f.fac.moderationLog();
  assert.equal(log.total, 5);
  const hex = (k: Uint8Array): string => toHex(k);
  assert.deepEqual(
    log.lines.map((l) => [l.action, hex(l.actor), hex(l.target), l.outcome]),
    [
      ["ban", hex(f.conv.self), hex(kim.conv.self), null],
      ["redact", hex(f.conv.self), hex(pat.conv.self), null],
      ["unmute", hex(f.conv.self), hex(pat.conv.self), null],
      ["mute", hex(f.conv.self), hex(pat.conv.self), null],
      ["remove", hex(w.b.key("founder")), hex(sam.conv.self), null], // last in L, but dated earliest by Fay's clock
    ],
  );
  assert.equal(log.lines[4]!.reason, "kept posting cruel things");
  assert.equal(log.lines[0]!.reason, null); // removed without a reason
  assert.equal(log.lines[1]!.count, 1);
  assert.ok(log.lines[3]!.untilMs! > log.lines[3]!.timeMs);
  assert.ok(log.lines.every((l, i) => i === 0 || l.timeMs <= log.lines[i - 1]!.timeMs));
  // a member who is not among the reason's readers sees the line without it
  assert.equal(pat.fac.moderationLog().lines[4]!.reason, null);
});

test("the moderation log shows the latest 100 lines and says how many there are", async () => {
  const { f, people } = await group(1);
  const [pat] = people as [Person];
  for (let i = 0; i < 52; i++) {
    await f.fac.mute(pat.conv.self, 60);
    await f.fac.unmute(pat.conv.self);
  }
  const log = f.fac.moderationLog();
  assert.equal(log.total, 104);
  assert.equal(log.lines.length, LOG_SHOWN);
  assert.equal(log.lines[0]!.action, "unmute"); // the newest
});

/** A small deterministic generator (mulberry32), so a failing case can be run again. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

test("the governing mute found by the index of cuts is the one the rule of 12.6 names, over random mute sequences", () => {
  for (let run = 0; run < 300; run++) {
    const next = random(run + 1);
    const s = new GroupStateData();
    const applied: MuteState[] = [];
    const n = Math.floor(next() * 41);
    for (let i = 0; i < n; i++) {
      const mute = { slot: i, cut: BigInt(Math.floor(next() * 21)), until: BigInt(Math.floor(next() * 1_000_000)) };
      s.addMute("t", mute);
      applied.push(mute);
    }
    for (let seq = 0n; seq <= 25n; seq++) {
      // the rule as written: of the mutes whose cut is below seq, the greatest cut, the last in L among equals
      let expected: MuteState | null = null;
      for (const m of applied) if (m.cut < seq && (expected === null || m.cut >= expected.cut)) expected = m;
      assert.equal(s.governing("t", seq), expected, `run ${run}, seq ${seq}`);
    }
    assert.equal(s.governing("other", 5n), null);
  }
});
