/**
 * The private line (spec 13.5; private_line.ts): a browser member writes to the facilitators and
 * reads the answer; a browser facilitator answers on a member's line (or reaches out first); whom each
 * is sealed to; the grouping into lines; the refusals; and the outbox's exactly-once sending of an
 * item on a line across a page closed mid-send. The member's message is written for the Python
 * client to open too (`build/private-line.json`, read by tests/web/test_web_client.py).
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import test from "node:test";
import { equalBytes, fromHex, toHex } from "../src/bytes.js";
import { type CborMap, type CborValue, encode } from "../src/cbor.js";
import { encodeContent } from "../src/content.js";
import { DIRECT_KIND } from "../src/control.js";
import { decodeDirectEnvelope, sealDirect } from "../src/e2ee.js";
import { decodeEntry } from "../src/entry.js";
import type { HoldspaceError } from "../src/errors.js";
import { GroupClient } from "../src/group_client.js";
import { HistoryStore } from "../src/history.js";
import { decodeOutItem, encodeOutItem, Outbox, OUT } from "../src/outbox.js";
import { lineRecipients, privateLines } from "../src/private_line.js";
import { scheduleSession, upcoming } from "../src/schedule.js";
import { MemoryStorage } from "../src/storage.js";
import { summaryOf } from "../src/ui/checkin_summary.js";
import { tick } from "./group_world.js";
import { catchUp, joined, type Line } from "./line_world.js";

/** `by` (a builder person) writes `text` as a direct message sealed to `to` (builder names or keys). */
function directFrom(w: Line, by: string, to: readonly Uint8Array[], text: string): Uint8Array {
  catchUp(w);
  const g = w.fay.state;
  const recipients = to.map((k) => ({ key: k, x25519: g.state.x25519.get(toHex(k))!.key }));
  const at = { groupId: w.b.groupId, author: w.b.key(by), seq: w.b.nextSeq(by) };
  const m = w.b.raw(by, DIRECT_KIND, sealDirect(at, recipients, encodeContent({ t: "text", b: text })), [], "direct");
  w.node.add(m.entry.bytes, m.payload);
  return m.entry.id;
}

const directsOf = (w: Line, author: Uint8Array): { header: Uint8Array; payload: Uint8Array }[] =>
  w.node.items.filter(([, h, p]) => p !== null && decodeEntry(h, p).header.k === DIRECT_KIND && equalBytes(decodeEntry(h, p).header.a, author)).map(([, h, p]) => ({ header: h, payload: p! }));

test("a member writes to the facilitators privately: a direct text sealed to them and itself; Fay's answer lands on its line", async () => {
  const w = await joined("member");
  const fay = w.fay.self;
  await assert.rejects(w.line.write("  "), (e: HoldspaceError) => e.code === "app.bad_input");
  await assert.rejects(w.line.answer(fay, "hi"), (e: HoldspaceError) => e.code === "client.not_facilitator");
  await w.line.write("I had a hard week");
  await tick();
  const sent = directsOf(w, w.conv.self);
  assert.equal(sent.length, 1);
  const sealedTo = decodeDirectEnvelope(sent[0]!.payload).recipients.map(([k]) => toHex(k));
  assert.deepEqual(sealedTo, [fay, w.conv.self].map(toHex).sort()); // the facilitators and its author
  catchUp(w);
  // Fay opens it, and it is on the member's line for her
  const hers = privateLines(w.fay.messages(), w.fay.state, fay);
  assert.deepEqual(hers.map((l) => [toHex(l.member), l.messages.map((m) => m.text)]), [[toHex(w.conv.self), ["I had a hard week"]]]);
  // Fay answers as the Python client does: sealed to the member and the other facilitators (none)
  directFrom(w, "founder", [w.conv.self], "Thank you for telling us. Talk on Thursday?");
  await tick();
  const mine = w.line.lines();
  assert.equal(mine.length, 1);
  assert.ok(equalBytes(mine[0]!.member, w.conv.self));
  assert.deepEqual(mine[0]!.messages.map((m) => [m.text, m.mine]), [["I had a hard week", true], ["Thank you for telling us. Talk on Thursday?", false]]);
  assert.equal(w.conv.view().messages.length, 0); // never in the group's conversation
  // while it waits to be sent, the conversation's outbox says it is private, and names the line
  await w.conv.participant.outbox.add(w.b.groupId, encodeContent({ t: "text", b: "queued" }), "line", 1, null, w.conv.self);
  await w.conv.loadOutbox();
  assert.deepEqual(w.conv.view().outbox.map((o) => [o.text, o.words, o.member]), [["Privately, on a private line: queued", "queued", toHex(w.conv.self)]]);
  const founder = w.b.person("founder").p;
  writeFileSync(
    new URL("../private-line.json", import.meta.url),
    JSON.stringify({ group: toHex(w.b.groupId), header: toHex(sent[0]!.header), payload: toHex(sent[0]!.payload), facilitator: toHex(fay), facilitator_x25519: toHex(founder.x25519Secret), member: toHex(w.conv.self), text: "I had a hard week" }),
  );
});

test("a facilitator answers on a member's line and reaches out first; a member's line is theirs alone", async () => {
  const w = await joined("facilitator");
  const sam = w.b.join("sam", w.b.invite("founder"));
  const ben = w.b.join("ben", w.b.invite("founder"));
  for (const m of w.b.made.slice(-4)) w.node.add(m.entry.bytes, m.payload);
  directFrom(w, "sam", [w.fay.self, w.conv.self], "Can we talk?");
  directFrom(w, "ben", [w.fay.self, w.conv.self], "Just between us");
  await tick();
  const samKey = sam.entry.header.a;
  const lines = w.line.lines();
  assert.ok(w.line.facilitator);
  assert.deepEqual(lines.map((l) => l.messages.map((m) => m.text)).sort(), [["Can we talk?"], ["Just between us"]]);
  await w.line.answer(samKey, "Of course. I am here.");
  await assert.rejects(w.line.answer(w.conv.self, "me"), (e: HoldspaceError) => e.code === "client.not_member");
  await assert.rejects(w.line.answer(new Uint8Array(32).fill(9), "who"), (e: HoldspaceError) => e.code === "client.not_member");
  await tick();
  const [answer] = directsOf(w, w.conv.self);
  const sealedTo = decodeDirectEnvelope(answer!.payload).recipients.map(([k]) => toHex(k));
  assert.deepEqual(sealedTo, [w.fay.self, w.conv.self, samKey].map(toHex).sort()); // not ben
  // sam opens it; ben cannot; Fay places it on sam's line
  const samReads = new GroupClient(w.b.groupId, samKey, [w.b.person("sam").p.x25519Secret]);
  const benReads = new GroupClient(w.b.groupId, ben.entry.header.a, [w.b.person("ben").p.x25519Secret]);
  for (const [, h, p] of w.node.items) {
    samReads.receive(h, p);
    benReads.receive(h, p);
  }
  const samLine = privateLines(samReads.messages(), samReads.state, samKey);
  assert.deepEqual(samLine.map((l) => l.messages.map((m) => m.text)), [["Of course. I am here."]]); // its own words sealed to the facilitators only, as a Python member's are
  assert.deepEqual(privateLines(benReads.messages(), benReads.state, ben.entry.header.a), []);
  catchUp(w);
  const fayLines = privateLines(w.fay.messages(), w.fay.state, w.fay.self);
  assert.deepEqual(fayLines.find((l) => equalBytes(l.member, samKey))?.messages.map((m) => m.text), ["Can we talk?", "Of course. I am here."]);
  // reaching out first: a line that had no message yet
  const before = w.line.lines().length;
  const carl = w.b.join("carl", w.b.invite("founder"));
  for (const m of w.b.made.slice(-2)) w.node.add(m.entry.bytes, m.payload);
  await tick();
  await w.line.answer(carl.entry.header.a, "Checking in on you");
  await tick();
  assert.equal(w.line.lines().length, before + 1);
  // a facilitator is not on its own line: writing "to the facilitators" needs another one
  assert.deepEqual(lineRecipients(w.conv.client.state, samKey, w.conv.self).length, 3);
});

test("the only facilitator left cannot write \"to the facilitators\": it is told so", async () => {
  const w = await joined("facilitator");
  const left = w.b.leave("founder");
  w.node.add(left.entry.bytes, left.payload);
  await tick();
  assert.ok(!w.conv.client.state.state.members.has(toHex(w.fay.self)));
  await assert.rejects(w.line.write("anyone?"), (e: HoldspaceError) => e.code === "client.no_facilitators");
});

test("a check-in during a session's date counts for that date: its summary for facilitators (17.2)", async () => {
  const w = await joined("facilitator");
  await scheduleSession(w.conv, { title: "Monday circle", about: null, date: "2025-11-24", time: "16:00", tz: "UTC", minutes: 90, weeks: 2 });
  const [now, next] = upcoming(w.conv, w.conv.participant.clock());
  assert.equal(summaryOf(w.conv, now!.session, 0n).count, 0);
  await w.conv.checkin(2, "tired");
  await tick();
  assert.deepEqual(summaryOf(w.conv, now!.session, 0n), { count: 1, moods: [0, 1, 0, 0, 0], average: 2, words: ["tired"] });
  assert.equal(summaryOf(w.conv, next!.session, 1n).count, 0); // the next date has none
  catchUp(w);
  const fays = w.fay.messages().filter((r) => r.direct && r.content?.t === "checkin");
  assert.deepEqual(fays.map((r) => r.content), [{ t: "checkin", m: 2n, w: "tired", s: [fromHex(now!.session), 0n] }]);
});

/** A node that stores what is published; with `lose`, the answer to the next publish is lost. */
class LossyNode {
  readonly held: string[] = [];
  lose = false;
  async request(_op: string, f: CborMap): Promise<CborMap> {
    const h = toHex(f.get("e") as Uint8Array);
    if (!this.held.includes(h)) this.held.push(h);
    if (this.lose) {
      this.lose = false;
      throw new Error("the page closed before the answer");
    }
    return new Map<string, CborValue>([["c", 1n]]);
  }
}

test("an item on a private line keeps its member, and after a page closed mid-send the same bytes go once", async () => {
  const storage = new MemoryStorage();
  const key = new Uint8Array(32).fill(4);
  const G = new Uint8Array(32).fill(1);
  const member = new Uint8Array(32).fill(7);
  const before = new Outbox(await HistoryStore.open(storage, key, 1 << 20));
  await assert.rejects(before.add(G, encodeContent({ t: "text", b: "x" }), "line", 1), (e: HoldspaceError) => e.code === "client.bad_argument");
  await assert.rejects(before.add(G, encodeContent({ t: "text", b: "x" }), "group", 1, null, member), (e: HoldspaceError) => e.code === "client.bad_argument");
  const item = await before.add(G, encodeContent({ t: "text", b: "privately" }), "line", 1, null, member);
  assert.deepEqual(decodeOutItem(item.key, encodeOutItem(item)), item);
  // a record on a line without its member, or another audience with one, is damaged
  const bad = [
    { g: G, c: item.content, to: "line", t: 1n, e: null, err: null },
    { g: G, c: item.content, to: "group", t: 1n, e: null, err: null, m: member },
    { g: G, c: item.content, to: "line", t: 1n, e: null, err: null, m: new Uint8Array(5) },
  ];
  for (const r of bad) assert.throws(() => decodeOutItem("k", encode(r)), (e: HoldspaceError) => e.code === "history.damaged");
  const node = new LossyNode();
  let signed = 0;
  const sign = async (i: { member: Uint8Array | null }): Promise<[Uint8Array, Uint8Array]> => {
    signed++;
    assert.ok(i.member !== null && equalBytes(i.member, member)); // the member survives the store
    return [new Uint8Array([signed]), new Uint8Array([1])];
  };
  node.lose = true;
  assert.equal((await before.flush(node, { sign })).stoppedBy, "web.unreachable");
  const after = new Outbox(await HistoryStore.open(storage, key, 1 << 20)); // the page opened again
  const kept = await after.pending();
  assert.ok(kept[0]!.member !== null && equalBytes(kept[0]!.member, member));
  const r = await after.flush(node, { sign });
  assert.equal(r.sent.length, 1);
  assert.equal(signed, 1); // signed once, sent again as those bytes
  assert.deepEqual(node.held, ["01"]);
  assert.deepEqual(await storage.keys(OUT), []);
});
