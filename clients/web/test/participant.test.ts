/**
 * The browser participant's action layer (participant.ts, profile.ts) against an in-memory node:
 * joining by invite, waiting for the group's keys, reading and sending sealed messages, the outbox
 * (kept until acknowledged, sent exactly once, across a reload), the sender chain across a reload,
 * check-ins and reports sealed to the right people, and nothing stored unsealed.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { equalBytes, fromHex, toHex } from "../src/bytes.js";
import type { CborMap, CborValue } from "../src/cbor.js";
import { type Content, encodeContent } from "../src/content.js";
import { CONTROL_KIND, DIRECT_KIND, encodeControlPayload, MESSAGE_KIND } from "../src/control.js";
import { decodeMessageEnvelope } from "../src/e2ee.js";
import { decodeEntry } from "../src/entry.js";
import { HoldspaceError } from "../src/errors.js";
import { GroupClient } from "../src/group_client.js";
import { encodeInviteToken, parseInvite } from "../src/invite.js";
import { buildRekey } from "../src/keyring.js";
import { verifyDisclosure } from "../src/disclosure.js";
import { KeyStore } from "../src/keystore.js";
import { checkNewPassphrase, Conversation, type NodeLink, Participant } from "../src/participant.js";
import { decodeProfile, encodeProfile, type Profile } from "../src/profile.js";
import { MemoryStorage } from "../src/storage.js";
import { answer, cancelDate, checkNewSession, circleOf, closeCircle, openCircleNow, passPiece, scheduleSession, upcoming } from "../src/schedule.js";
import { AD_HOC_MS, circleAt, OPENS_BEFORE_MS } from "../src/call/open.js";
import { suggestZones } from "../src/zone_names.js";
import { type BackupLink, fetchBackup, makeRecoveryKey, putBackupOnNode } from "../src/identity_backup.js";
import { Builder } from "./builder.js";

const NODE = "holdspace://hsn1enwdnkqh8asn4lagu3dqtyk4n9l9fhevgccqsg6fe24hvlql4nmsqtyqzj@127.0.0.1:4433";
const CHEAP = { ops: 1, mem: 8192 }; // Argon2id's cost is not what these tests are about
const PASS = "a quiet harbour at dawn";

type Item = [bigint, Uint8Array, Uint8Array | null];

/** A node in memory: stores what is published (a duplicate answers cursor 0), fetches and
 * subscribes; `refuse` and `loseAnswer` script the next publish's fate. */
class FakeNode implements NodeLink {
  readonly items: Item[] = [];
  private readonly listeners: ((ev: string, f: CborMap) => void)[] = [];
  refuse: string | null = null;
  loseAnswer = false;
  published = 0;
  readonly ops: [string, CborValue][] = [];

  async authenticate(): Promise<void> {}

  /** The page closed: its subscriptions end. */
  closePage(): void {
    this.listeners.length = 0;
  }

  add(header: Uint8Array, payload: Uint8Array | null): bigint {
    const id = decodeEntry(header, payload).id;
    if (this.items.some(([, h]) => equalBytes(decodeEntry(h).id, id))) return 0n;
    const item: Item = [BigInt(this.items.length + 1), header, payload];
    this.items.push(item);
    // delivered later, as a node's event would be, to the subscriptions open then
    setTimeout(() => {
      for (const l of this.listeners) l("entries", new Map<string, CborValue>([["entries", [item]], ["next", item[0]]]));
    }, 0);
    return item[0];
  }

  async request(op: string, f: CborMap): Promise<CborMap> {
    if (op === "publish" || op === "adopt") {
      this.published++;
      this.ops.push([op, f.get("hosts") ?? null]);
      if (this.refuse !== null) {
        const code = this.refuse;
        this.refuse = null;
        throw new HoldspaceError(code, "refused");
      }
      const c = this.add(f.get("e") as Uint8Array, f.get("b") as Uint8Array);
      if (this.loseAnswer) {
        this.loseAnswer = false;
        throw new HoldspaceError("web.unreachable", "the answer was lost");
      }
      return new Map<string, CborValue>([["c", c]]);
    }
    if (op === "fetch") {
      const after = f.get("after") as bigint;
      const items = this.items.filter(([c]) => c > after);
      return new Map<string, CborValue>([["entries", items], ["next", items.at(-1)?.[0] ?? after], ["more", false]]);
    }
    throw new Error(`the fake node has no ${op}`);
  }

  subscribe(_g: Uint8Array, _after: bigint, onEvent: (ev: string, f: CborMap) => void): { id: bigint; done: Promise<CborMap> } {
    this.listeners.push(onEvent);
    return { id: 1n, done: new Promise(() => undefined) };
  }

  /** The entries of `author`, decoded. */
  by(author: Uint8Array): { kind: bigint; seq: bigint; id: string; payload: Uint8Array }[] {
    return this.items
      .map(([, h, p]) => ({ e: decodeEntry(h, p), p }))
      .filter(({ e }) => equalBytes(e.header.a, author))
      .map(({ e, p }) => ({ kind: e.header.k, seq: e.header.s, id: toHex(e.id), payload: p! }));
  }
}

const tick = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
};

/** A group on the fake node whose founder ("fay", a facilitator) invites; her side reads with a
 * GroupClient and writes with the builder. */
function world(role = "member"): { node: FakeNode; b: Builder; fay: GroupClient; link: ReturnType<typeof parseInvite>; clock: () => number } {
  const b = new Builder("webjoin");
  const inv = b.invite("founder", { role });
  const node = new FakeNode();
  for (const m of b.made) node.add(m.entry.bytes, m.payload);
  const founder = b.person("founder").p;
  const fay = new GroupClient(b.groupId, founder.ed25519Public, [founder.x25519Secret]);
  const link = parseInvite(encodeInviteToken({ groupId: b.groupId, inviteId: inv.id, seed: inv.seed, nodes: [NODE] }));
  let now = 1_764_000_100_000;
  return { node, b, fay, link, clock: () => (now += 1000) };
}

/** Fay reads everything new on the node. */
function catchUp(fay: GroupClient, node: FakeNode, seen: { n: number }): void {
  for (const [, h, p] of node.items.slice(seen.n)) fay.receive(h, p);
  seen.n = node.items.length;
}

/** Fay rekeys to the current members, then writes `content` to the group. */
function fayWrites(w: ReturnType<typeof world>, seen: { n: number }, content: Content): Uint8Array {
  catchUp(w.fay, w.node, seen);
  const g = w.fay.state;
  if (!w.fay.ring.canSend(g)) {
    const { payload } = buildRekey(g, w.fay.self);
    const m = w.b.raw("founder", CONTROL_KIND.rekey, payload, g.headIds(), "rekey");
    w.node.add(m.entry.bytes, m.payload);
    catchUp(w.fay, w.node, seen);
  }
  const at = { groupId: w.b.groupId, author: w.fay.self, seq: w.b.nextSeq("founder") };
  const m = w.b.raw("founder", MESSAGE_KIND, w.fay.ring.seal(w.fay.state, at, encodeContent(content)), [], "message");
  w.node.add(m.entry.bytes, m.payload);
  return m.entry.id;
}

async function joined(w: ReturnType<typeof world>, storage = new MemoryStorage()): Promise<{ me: Participant; conv: Conversation; storage: MemoryStorage }> {
  const me = await Participant.create(new KeyStore(storage, CHEAP), storage, PASS, NODE, w.clock);
  const record = await me.join(w.node, w.link.token, true);
  const conv = new Conversation(me, record);
  await conv.connect(w.node);
  return { me, conv, storage };
}

/** A newcomer joined to the group, once Fay's "Welcome" (which gave her the group's keys) has reached
 * her; `seen`: how far Fay has read the node, for `catchUp`. */
async function welcomed(role = "member"): Promise<{ w: ReturnType<typeof world>; seen: { n: number }; me: Participant; conv: Conversation; storage: MemoryStorage; welcome: Uint8Array }> {
  const w = world(role);
  const seen = { n: 0 };
  const newcomer = await joined(w);
  const welcome = fayWrites(w, seen, { t: "text", b: "Welcome" });
  await tick();
  return { w, seen, welcome, ...newcomer };
}

async function reopen(w: ReturnType<typeof world>, storage: MemoryStorage, here = true): Promise<Conversation> {
  const me = await Participant.unlock(new KeyStore(storage, CHEAP), storage, PASS, w.clock);
  const conv = new Conversation(me, me.profile.groups[0]!);
  await conv.connect(w.node, here);
  return conv;
}

test("a newcomer joins by invite, waits for the group's keys, then reads and writes sealed messages", async () => {
  const w = world();
  const seen = { n: 0 };
  const { conv } = await joined(w);
  assert.equal(conv.view().status, "waiting");
  const joins = w.node.by(conv.self);
  assert.deepEqual(joins.map((e) => e.kind), [CONTROL_KIND.join]);
  await conv.send("written before the keys came");
  assert.equal(conv.view().outbox.length, 1); // it waits: nothing is signed without a clean epoch
  assert.equal(w.node.by(conv.self).length, 1);
  const welcome = fayWrites(w, seen, { t: "text", b: "Welcome" });
  await tick();
  await conv.flush();
  const v = conv.view();
  assert.equal(v.status, "member");
  assert.deepEqual(v.messages.map((m) => [m.text, m.mine, m.role]), [["Welcome", false, "facilitator"], ["written before the keys came", true, "member"]]);
  assert.equal(v.outbox.length, 0);
  await conv.send("hard words", "grief");
  await tick();
  catchUp(w.fay, w.node, seen);
  const read = w.fay.messages().filter((r) => equalBytes(r.entry.header.a, conv.self)).map((r) => r.content);
  assert.deepEqual(read, [{ t: "text", b: "written before the keys came" }, { t: "text", b: "hard words", cw: "grief" }]);
  await conv.react(toHex(welcome), "heart");
  await tick();
  assert.equal(conv.view().messages[0]!.reactions.heart, 1);
});

test("an outbox item whose answer was lost is sent again as the same bytes, after a reload, exactly once", async () => {
  const { w, conv, storage } = await welcomed();
  w.node.loseAnswer = true;
  await conv.send("only once");
  assert.equal(conv.view().outbox.length, 1); // not acknowledged: kept
  assert.equal(w.node.by(conv.self).length, 2); // ...though the node stored it
  w.node.closePage();
  const again = await reopen(w, storage);
  await tick();
  assert.equal(again.view().outbox.length, 0);
  assert.deepEqual((await storage.keys("out")).length, 0);
  const mine = w.node.by(conv.self);
  assert.deepEqual(mine.map((e) => e.seq), [1n, 2n]); // one entry at seq 2, no second one signed
  assert.equal(w.node.published, 3); // the join, the lost answer, its resend after the reload (a duplicate)
  await again.send("after the reload");
  assert.deepEqual(w.node.by(conv.self).map((e) => e.seq), [1n, 2n, 3n]);
});

test("a message key is never used twice: the sender chain goes on after a reload", async () => {
  const { w, seen, conv, storage } = await welcomed();
  await conv.send("first");
  w.node.closePage();
  const again = await reopen(w, storage);
  await again.send("second");
  // a profile that lost its record of the chain (restored elsewhere) still goes past what the node holds
  w.node.closePage();
  const restored = await reopen(w, storage);
  restored.record.sent.clear();
  await restored.send("third");
  const indices = w.node.by(conv.self).filter((e) => e.kind === MESSAGE_KIND).map((e) => decodeMessageEnvelope(e.payload).index);
  assert.deepEqual(indices, [0n, 1n, 2n]);
  catchUp(w.fay, w.node, seen);
  assert.deepEqual(
    w.fay.messages().filter((r) => equalBytes(r.entry.header.a, conv.self)).map((r) => r.content),
    ["first", "second", "third"].map((b) => ({ t: "text", b })),
  );
});

test("a later visit reads the group from the device and fetches only what is new", async () => {
  const { w, seen, conv, storage } = await welcomed();
  await conv.send("first");
  await tick();
  await conv.kept();
  const before = w.node.items.length;
  assert.ok(conv.fetched >= before - 1); // the first visit read everything from the node
  w.node.closePage();
  const second = await reopen(w, storage);
  await second.kept();
  assert.equal(second.fetched, 0); // nothing new: nothing fetched
  assert.deepEqual(second.view().messages.map((m) => [m.text, m.mine]), [["Welcome", false], ["first", true]]);
  fayWrites(w, seen, { t: "text", b: "new since" });
  w.node.closePage();
  const third = await reopen(w, storage);
  assert.equal(third.fetched, w.node.items.length - before); // only the entry written since
  assert.deepEqual(third.view().messages.map((m) => m.text), ["Welcome", "first", "new since"]);
  await third.send("after two visits");
  const indices = w.node.by(conv.self).filter((e) => e.kind === MESSAGE_KIND).map((e) => decodeMessageEnvelope(e.payload).index);
  assert.deepEqual(indices, [0n, 1n]);
});

test("a member who holds keys rekeys by itself when someone new joined, then sends", async () => {
  const { w, conv } = await welcomed();
  const inv = w.b.invite("founder");
  const sam = w.b.join("sam", inv);
  for (const m of w.b.made.slice(-2)) w.node.add(m.entry.bytes, m.payload);
  assert.ok(equalBytes(sam.entry.header.a, w.b.key("sam")));
  await tick();
  await conv.send("hello sam");
  await tick();
  await conv.flush();
  const kinds = w.node.by(conv.self).map((e) => e.kind);
  assert.deepEqual(kinds, [CONTROL_KIND.join, CONTROL_KIND.rekey, MESSAGE_KIND]);
  assert.equal(conv.view().outbox.length, 0);
  const samReads = new GroupClient(w.b.groupId, w.b.key("sam"), [w.b.person("sam").p.x25519Secret]);
  for (const [, h, p] of w.node.items) samReads.receive(h, p);
  assert.deepEqual(samReads.messages().filter((r) => r.content !== null).map((r) => r.content), [{ t: "text", b: "hello sam" }]);
});

test("a refused item stays in the outbox with its code; check-ins and reports are sealed to the facilitators", async () => {
  const { w, seen, conv, welcome } = await welcomed();
  w.node.refuse = "group.not_member";
  await conv.send("refused");
  assert.deepEqual(conv.view().outbox.map((o) => [o.text, o.error]), [["refused", "group.not_member"]]);
  await conv.checkin(3);
  await conv.report(toHex(welcome), "not kind");
  await assert.rejects(conv.report("00".repeat(32), "?"), (e: HoldspaceError) => e.code === "client.unknown_message");
  catchUp(w.fay, w.node, seen);
  const direct = w.fay.messages().filter((r) => r.direct && equalBytes(r.entry.header.a, conv.self));
  assert.deepEqual(direct.map((r) => r.entry.header.k), [DIRECT_KIND, DIRECT_KIND]);
  assert.deepEqual(direct[0]!.content, { t: "checkin", m: 3n });
  const report = direct[1]!.content as Content & { t: "report" };
  assert.equal(report.why, "not kind");
  assert.deepEqual(verifyDisclosure(w.b.groupId, report).content, { t: "text", b: "Welcome" });
  assert.deepEqual(conv.view().outbox.map((o) => o.error), ["group.not_member"]); // still shown
});

test("a full group keeps the item as it is in the one outbox; a new session (back online) sends it, once", async () => {
  const { w, me, conv } = await welcomed();
  w.node.refuse = "quota.group_full"; // may pass later: not a refusal of the item
  await conv.send("kept while the group is full");
  const [kept] = await me.outbox.pending();
  assert.ok(kept !== undefined && kept.error === null && kept.entry !== null); // signed, kept, not marked
  assert.deepEqual(conv.view().outbox.map((o) => [o.text, o.error]), [["kept while the group is full", null]]);
  w.node.closePage();
  const flushed = await conv.connect(w.node); // the browser came back online: a new session
  assert.equal(flushed.sent.length, 1);
  assert.deepEqual(await me.outbox.pending(), []);
  const mine = w.node.by(conv.self).filter((e) => e.kind === MESSAGE_KIND);
  assert.equal(mine.length, 1);
  assert.equal(mine[0]!.id, toHex(decodeEntry(kept.entry![0], kept.entry![1]).id)); // the bytes signed before
});

test("nothing the participant stores is readable without the passphrase", async () => {
  const w = world();
  const { me, conv, storage } = await joined(w);
  fayWrites(w, { n: 0 }, { t: "text", b: "Welcome" });
  await tick();
  w.node.refuse = "proto.busy"; // it stays in the outbox, sealed
  await conv.send("words kept on the device");
  const all = storage.everything();
  const secrets = [me.profile.master, me.profile.historyKey, me.pseudonym(me.profile.groups[0]!).ed25519Seed, new TextEncoder().encode("words kept on the device")];
  const contains = (hay: Uint8Array, needle: Uint8Array): boolean => {
    outer: for (let i = 0; i + needle.length <= hay.length; i++) {
      for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
      return true;
    }
    return false;
  };
  assert.ok(all.length >= 2);
  for (const s of secrets) assert.ok(!all.some((v) => contains(v, s)), "a secret is stored unsealed");
  await assert.rejects(Participant.unlock(new KeyStore(storage, CHEAP), storage, "not the passphrase"), (e: HoldspaceError) => e.code === "keyfile.bad_passphrase");
});

test("a join kept after an unsettled answer is sent again, adopted with the token's hosts when the node is not one of them", async () => {
  const w = world();
  const storage = new MemoryStorage();
  const me = await Participant.create(new KeyStore(storage, CHEAP), storage, PASS, NODE, w.clock);
  w.node.refuse = "proto.busy";
  await assert.rejects(me.join(w.node, w.link.token, false), (e: HoldspaceError) => e.code === "proto.busy");
  assert.equal(me.profile.groups.length, 1); // kept, sealed, to be sent again
  const conv = await reopen(w, storage, false);
  assert.deepEqual(w.node.ops, [["adopt", [NODE]], ["adopt", [NODE]]]);
  assert.deepEqual(w.node.by(conv.self).map((e) => e.kind), [CONTROL_KIND.join]);
  assert.equal(conv.record.join, null);
  w.node.refuse = "group.bad_invite";
  const other = await Participant.create(new KeyStore(new MemoryStorage(), CHEAP), new MemoryStorage(), PASS, NODE, w.clock);
  await assert.rejects(other.join(w.node, w.link.token, true), (e: HoldspaceError) => e.code === "group.bad_invite");
  assert.equal(other.profile.groups.length, 0); // a definite refusal forgets the group
});

test("a chosen passphrase is at least 8 characters and typed the same twice", () => {
  assert.throws(() => checkNewPassphrase("short", "short"), (e: HoldspaceError) => e.code === "web.short_passphrase");
  assert.throws(() => checkNewPassphrase("long enough", "long enougH"), (e: HoldspaceError) => e.code === "app.passphrase_mismatch");
  checkNewPassphrase("long enough", "long enough");
});

test("profiles round-trip, and a malformed one is keyfile.malformed", () => {
  for (let i = 0; i < 50; i++) {
    const r = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));
    const seq = BigInt(i % 3);
    const p: Profile = {
      master: r(32),
      historyKey: r(32),
      node: NODE,
      groups: Array.from({ length: i % 4 }, () => ({
        groupId: r(32),
        context: r(1 + (i % 64)),
        hosts: [NODE],
        seq,
        prev: seq === 0n ? null : r(32),
        join: i % 2 === 0 ? null : ([r(100), r(50)] as [Uint8Array, Uint8Array]),
        sent: new Map([[toHex(r(32)), BigInt(i)]]),
      })),
      backupKey: i % 3 === 0 ? null : r(32),
    };
    const bytes = encodeProfile(p);
    assert.deepEqual(decodeProfile(bytes), p);
    assert.deepEqual(encodeProfile(decodeProfile(bytes)), bytes);
    // any single byte changed either still decodes to a profile or is keyfile.malformed
    const spoilt = bytes.slice();
    spoilt[i % spoilt.length]! ^= 0xff;
    try {
      decodeProfile(spoilt);
    } catch (e) {
      assert.ok(e instanceof HoldspaceError && e.code === "keyfile.malformed", String(e));
    }
  }
  assert.throws(() => decodeProfile(encodeContent({ t: "text", b: "x" })), (e: HoldspaceError) => e.code === "keyfile.malformed");
});



test("a facilitator schedules a weekly session; members answer; the talking piece is passed; one date is cancelled, the others stay", async () => {
  const { w, seen, conv } = await welcomed("facilitator");
  const now = w.clock();
  const session = { title: "Thursday circle", about: "bring tea", date: "2026-03-05", time: "19:00", tz: "Europe/London", minutes: 90, weeks: 4 };
  await scheduleSession(conv, session);
  let dates = upcoming(conv, now);
  assert.deepEqual(dates.map((o) => [o.title, o.about, o.index]), [0n, 1n, 2n, 3n].map((i) => ["Thursday circle", "bring tea", i]));
  assert.equal(dates[0]!.start, Date.UTC(2026, 2, 5, 19, 0)); // 19:00 in London in March is 19:00 UTC
  assert.equal(dates[3]!.start, Date.UTC(2026, 2, 26, 19, 0));
  const id = dates[0]!.session;
  await answer(conv, id, 0n, "yes");
  await answer(conv, id, 1n, "maybe");
  await passPiece(conv, id, 0n, conv.self);
  await tick();
  dates = upcoming(conv, now);
  assert.equal(dates[0]!.answers.get(toHex(conv.self)), "yes");
  assert.ok(dates[0]!.holder instanceof Uint8Array && equalBytes(dates[0]!.holder, conv.self));
  assert.equal(dates[2]!.holder, undefined);
  await cancelDate(conv, id, 1n); // the second date only
  await tick();
  dates = upcoming(conv, now);
  assert.deepEqual(dates.map((o) => o.start), [5, 19, 26].map((d) => Date.UTC(2026, 2, d, 19, 0)));
  assert.deepEqual(dates.map((o) => o.title), ["Thursday circle", "Thursday circle", "Thursday circle"]);
  assert.equal(dates[0]!.session, id); // the dates before it are the same session: their answers stay
  assert.equal(dates[0]!.answers.get(toHex(conv.self)), "yes");
  // the facilitator's side reads the session and its details
  catchUp(w.fay, w.node, seen);
  assert.equal(w.fay.state.state.sessions.size, 2);
  // a single date cancelled is the session cancelled
  await cancelDate(conv, dates[1]!.session, 0n);
  await cancelDate(conv, dates[1]!.session, 0n).then(
    () => assert.fail("a cancelled date cannot be cancelled again"),
    (e: HoldspaceError) => assert.equal(e.code, "client.unknown_session"),
  );
});

test("a facilitator opens a live circle now and closes it; every member's state sees the same; a series date under way is cut alone", async () => {
  const { w, seen, conv } = await welcomed("facilitator");
  const now = w.clock();
  assert.equal(circleOf(conv, now).open, null);
  await openCircleNow(conv, now);
  await tick();
  const open = circleOf(conv, now + 1000);
  assert.deepEqual(open.open && [open.open.start, open.open.end], [now, now + AD_HOC_MS]);
  assert.equal(upcoming(conv, now)[0]!.title, "Live circle"); // an ordinary session, listed as one
  catchUp(w.fay, w.node, seen); // another member's client: the same rule on its own state
  assert.equal(circleAt(w.fay.state.state.sessions, now + 1000).open?.start, now);
  await openCircleNow(conv, now + 2000).then(
    () => assert.fail("a second circle while one is open"),
    (e: HoldspaceError) => assert.equal(e.code, "client.bad_argument"),
  );
  await closeCircle(conv, now + 20 * 60_000);
  await tick();
  assert.equal(circleOf(conv, now + 20 * 60_000).open, null);
  assert.equal(circleOf(conv, now + 20 * 60_000 - 1).open?.start, now); // what was said in it stays in it (17.3)
  catchUp(w.fay, w.node, seen);
  assert.equal(circleAt(w.fay.state.state.sessions, now + 20 * 60_000).open, null);
  await closeCircle(conv, now + 21 * 60_000).then(
    () => assert.fail("nothing to close"),
    (e: HoldspaceError) => assert.equal(e.code, "client.unknown_session"),
  );
  // a weekly series, its second date under way: only that date is cut; the first keeps its end, the third stays
  await scheduleSession(conv, { title: "Thursday circle", about: null, date: "2026-03-05", time: "19:00", tz: "UTC", minutes: 60, weeks: 3 });
  await tick();
  const second = Date.UTC(2026, 2, 12, 19, 0);
  await closeCircle(conv, second + 15 * 60_000);
  await tick();
  const past = upcoming(conv, Date.UTC(2026, 2, 1));
  const weekly = past.filter((o) => o.title === "Thursday circle").map((o) => [o.start, o.end - o.start]);
  assert.deepEqual(weekly, [[Date.UTC(2026, 2, 5, 19, 0), 3_600_000], [second, 15 * 60_000], [Date.UTC(2026, 2, 19, 19, 0), 3_600_000]]);
  assert.equal(circleOf(conv, second + 15 * 60_000).open, null);
  // ten minutes early, the date not begun: closing cancels that date
  await closeCircle(conv, Date.UTC(2026, 2, 19, 19, 0) - OPENS_BEFORE_MS + 1);
  await tick();
  assert.equal(circleOf(conv, Date.UTC(2026, 2, 19, 19, 30)).open, null);
});

test("a session's zone must be listed; a city typed gets the zone suggested", () => {
  const base = { title: "t", about: null, date: "2026-03-05", time: "19:00", minutes: 60, weeks: 1 };
  assert.throws(() => checkNewSession({ ...base, tz: "London" }), (e: HoldspaceError) => e.code === "client.bad_argument");
  assert.throws(() => checkNewSession({ ...base, tz: "UTC", date: "2026-02-30" }), (e: HoldspaceError) => e.code === "client.bad_argument");
  assert.equal(checkNewSession({ ...base, tz: "UTC" }), Date.UTC(2026, 2, 5, 19, 0));
  assert.equal(suggestZones("London")[0], "Europe/London");
  assert.equal(suggestZones("new york")[0], "America/New_York");
  assert.deepEqual(suggestZones("europe/london"), ["Europe/London"]);
  assert.deepEqual(suggestZones("zzzz"), []);
});

test("the recovery words alone bring the identity back on a new device: the group's old messages are read again, and new ones written", async () => {
  const { w, seen, me, conv } = await welcomed();
  await conv.send("before the phone was lost");
  await tick();
  const kept = new Map<string, Uint8Array>();
  const node: BackupLink = {
    async putBackup(id, _group, data) {
      kept.set(toHex(id), data);
    },
    async getBackup(id) {
      return kept.get(toHex(id)) ?? assert.fail("not found");
    },
  };
  const words = makeRecoveryKey(me.profile);
  await me.save();
  await putBackupOnNode(me.profile, node, me.profile.groups[0]!);
  assert.equal(words.length, 13);
  const [stored] = [...kept.values()];
  assert.ok(!words.some((word) => new TextDecoder().decode(stored).includes(word))); // sealed: no words in it
  const profileBytes = new TextDecoder().decode(encodeProfile(me.profile));
  assert.ok(!words.some((word) => profileBytes.includes(` ${word} `))); // the words are not kept
  await assert.rejects(fetchBackup(node, words.slice(0, 12).join(" ")), (e: HoldspaceError) => e.code === "recovery.word_count");
  // a new device: empty storage, the words typed in capitals
  const storage = new MemoryStorage();
  const { backup, key } = await fetchBackup(node, words.join("  ").toUpperCase());
  const back = await Participant.restore(new KeyStore(storage, CHEAP), storage, "a new passphrase", backup, key, w.clock);
  assert.ok(equalBytes(back.profile.master, me.profile.master));
  w.node.closePage();
  const again = new Conversation(back, back.profile.groups[0]!);
  await again.connect(w.node);
  assert.ok(equalBytes(again.self, conv.self));
  assert.deepEqual(again.view().messages.map((m) => m.text), ["Welcome", "before the phone was lost"]);
  await again.send("on the new phone");
  fayWrites(w, seen, { t: "text", b: "good to see you back" });
  await tick();
  assert.deepEqual(again.view().messages.map((m) => m.text), ["Welcome", "before the phone was lost", "on the new phone", "good to see you back"]);
  const indices = w.node.by(conv.self).filter((e) => e.kind === MESSAGE_KIND).map((e) => decodeMessageEnvelope(e.payload).index);
  assert.deepEqual(indices, [0n, 1n]); // the new device's chain went past the old one's
  const reopened = decodeProfile(await new KeyStore(storage, CHEAP).unlock("a new passphrase"));
  assert.ok(reopened.backupKey !== null && equalBytes(reopened.backupKey, key));
  // restored over an identity whose passphrase was forgotten: its history, unreadable now, goes
  await again.kept();
  const old = new MemoryStorage();
  for (const store of ["msg", "words", "ctl", "seen"]) for (const k of await storage.keys(store)) await old.put(store, `${k}-old`, (await storage.get(store, k))!);
  await Participant.restore(new KeyStore(old, CHEAP), old, "another passphrase", backup, key, w.clock);
  for (const store of ["msg", "words", "ctl", "seen"]) assert.deepEqual(await old.keys(store), [], store);
});

test("words the group deletes are deleted from the device too; the next visit neither shows nor fetches them", async () => {
  const { w, seen, conv, storage } = await welcomed();
  await conv.send("words I regret");
  await tick();
  await conv.kept();
  const words = (await storage.keys("words")).length;
  const mine = w.node.by(conv.self).find((e) => e.kind === MESSAGE_KIND)!;
  catchUp(w.fay, w.node, seen);
  const deps = w.fay.state.headIds();
  const payload = encodeControlPayload({ kind: "redact", deps, target: conv.self, ids: [fromHex(mine.id)] });
  const m = w.b.raw("founder", CONTROL_KIND.redact, payload, deps, "founder redacts");
  w.node.add(m.entry.bytes, m.payload);
  await tick();
  await conv.kept();
  assert.deepEqual(conv.view().messages.map((x) => x.text), ["Welcome"]);
  assert.equal((await storage.keys("words")).length, words - 1); // its words are gone from the device
  w.node.closePage();
  const again = await reopen(w, storage);
  assert.deepEqual(again.view().messages.map((x) => x.text), ["Welcome"]);
  assert.equal(again.fetched, 0);
});

test("a device record that does not open is not a hole in the group: the next visit reads the group from the node again", async () => {
  const { w, conv, storage } = await welcomed();
  await conv.send("first");
  await tick();
  await conv.kept();
  const [key] = (await storage.keys("msg")).slice(-1);
  const sealed = (await storage.get("msg", key!))!;
  sealed[sealed.length - 1]! ^= 1; // the last message's record spoilt on the device
  await storage.put("msg", key!, sealed);
  const words = (await storage.keys("words")).length;
  w.node.closePage();
  const again = await reopen(w, storage);
  assert.equal(again.fetched, w.node.items.length); // everything fetched again
  assert.deepEqual(again.view().messages.map((m) => m.text), ["Welcome", "first"]);
  await again.kept();
  assert.equal((await storage.keys("words")).length, words + 1); // only the spoilt one kept again (its old copy is left to pruning)
  w.node.closePage();
  const third = await reopen(w, storage);
  assert.equal(third.fetched, 0);
  assert.deepEqual(third.view().messages.map((m) => m.text), ["Welcome", "first"]);
});
