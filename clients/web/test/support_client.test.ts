import assert from "node:assert/strict";
import { test } from "node:test";
import { fromHex, toHex } from "../src/bytes.js";
import { type Content, decodeContent } from "../src/content.js";
import { decodeDirectEnvelope, decodeMessageEnvelope, openDirectWithKey, openMessage } from "../src/e2ee.js";
import { decodeEntry, type Entry } from "../src/entry.js";
import { GroupState } from "../src/group.js";
import {
  checkinRecipients,
  checkinSummary,
  currentPin,
  moderationLog,
  reactionCounts,
  type ReadMessage,
  reportRecipients,
  rsvps,
  talkingPiece,
} from "../src/support.js";
import { Builder } from "./builder.js";
import { loadVectors } from "./helpers.js";

interface History {
  entries: { entry: string; payload: string | null; entry_id: string; kind: string; note: string }[];
  messages: { entry_id: string; message_key: string; epoch: string }[];
  directs: { entry_id: string; content_key: string; recipients: string[] }[];
  people: Record<string, { ed25519_public: string }>;
  final_state: { group_id: string; sessions: Record<string, unknown> };
}

/** The support history of support.json: its state, and every message opened with its published key. */
function supportHistory(): { h: History; g: GroupState; read: ReadMessage[] } {
  const h = loadVectors<History[]>("support.json")[0]!;
  const groupId = fromHex(h.final_state.group_id);
  const g = new GroupState(groupId);
  const byId = new Map<string, Entry>();
  for (const v of h.entries) {
    const payload = v.payload === null ? null : fromHex(v.payload);
    const e = decodeEntry(fromHex(v.entry), payload);
    byId.set(v.entry_id, e);
    g.add(e, payload);
  }
  const read: ReadMessage[] = [];
  for (const v of h.entries) {
    const e = byId.get(v.entry_id)!;
    const at = { groupId, author: e.header.a, seq: e.header.s };
    const payload = fromHex(v.payload!);
    if (v.kind === "message") {
      const key = fromHex(h.messages.find((m) => m.entry_id === v.entry_id)!.message_key);
      read.push({ entry: e, content: decodeContent(openMessage(key, at, decodeMessageEnvelope(payload))), direct: false });
    } else if (v.kind === "direct") {
      const key = fromHex(h.directs.find((m) => m.entry_id === v.entry_id)!.content_key);
      read.push({ entry: e, content: decodeContent(openDirectWithKey(key, at, decodeDirectEnvelope(payload))), direct: true });
    }
  }
  assert.equal(read.length, 11);
  return { h, g, read };
}

test("support.json history: the crisis resources, read directly or through the quote a newcomer can read (17.8)", () => {
  const { h, g, read } = supportHistory();
  const pin = currentPin(read, g)!;
  assert.equal(pin.text, "Samaritans (UK): call 116 123, any time.");
  assert.equal(toHex(pin.entry.id), h.entries.find((e) => e.note === "founder pins resources")!.entry_id);
  // eve joined last: she reads only the last epoch, where the founder quoted the pin.
  const lastEpoch = h.messages.at(-1)!.epoch;
  const eve = read.filter((m) => !m.direct && h.messages.find((x) => x.entry_id === toHex(m.entry.id))!.epoch === lastEpoch);
  assert.equal(eve.length, 2);
  const quoted = currentPin(eve, g)!;
  assert.equal(quoted.text, pin.text);
  assert.equal(toHex(quoted.entry.id), toHex(pin.entry.id), "the pin entry itself, not the quote");
  // Nothing to show without a facilitator's pin.
  assert.equal(currentPin(read.filter((m) => m.content?.t !== "pin" && m.content?.t !== "quote"), g), null);
});

test("support.json history: the moderation log, the check-in summary and whom reports go to (17.2, 17.6)", () => {
  const { h, g, read } = supportHistory();
  const log = moderationLog(g, read);
  const note = (e: Entry): string => h.entries.find((x) => x.entry_id === toHex(e.id))!.note;
  assert.deepEqual(
    log.map((a) => [a.what, a.outcome, note(a.entry)]),
    [
      ["redaction", null, "bo, a moderator, redacts cy's message"],
      ["redaction", "group.forbidden", "cy, a member, tries to redact ana's message"],
      ["report", null, "ana reports dee's message to the moderators and facilitators"],
      ["ban", null, "bo bans dee"],
    ],
  );
  const session = Object.keys(h.final_state.sessions)[0]!;
  assert.deepEqual(checkinSummary(read, fromHex(session), 5n), { count: 1, moods: [0, 1, 0, 0, 0], average: 2, words: ["tired"] });
  assert.equal(checkinSummary(read, fromHex(session), 4n).count, 0);
  assert.ok(!log.some((a) => note(a.entry) === "ana redacts her first message"), "a redaction of one's own words is not moderation");
  const direct = (kind: string): string[] => h.directs.find((d) => read.find((m) => toHex(m.entry.id) === d.entry_id)!.content!.t === kind)!.recipients;
  assert.deepEqual(checkinRecipients(g).map((r) => toHex(r.key)), direct("checkin"));
  assert.deepEqual(reportRecipients(g).map((r) => toHex(r.key)), direct("report"));
});

test("reactions, RSVPs and the talking piece: the latest act of each member counts (17.2, 17.3)", () => {
  const b = new Builder("reactions");
  b.join("ana", b.invite("founder"));
  b.join("bo", b.invite("founder"));
  b.join("cy", b.invite("founder", { role: "facilitator" }));
  const g = new GroupState(b.groupId);
  for (const m of b.made) g.add(m.entry, m.payload);
  const read: ReadMessage[] = [];
  const post = (by: string, content: Content, direct = false): Entry => {
    const m = b.message(by);
    read.push({ entry: m.entry, content, direct });
    return m.entry;
  };
  const target = post("ana", { t: "text", b: "A hard day." });
  const other = post("bo", { t: "text", b: "Same here." });
  post("bo", { t: "react", m: target.id, r: "hug" });
  post("bo", { t: "react", m: target.id, r: "heart" });
  post("cy", { t: "react", m: target.id, r: "hug" });
  post("bo", { t: "react", m: target.id, r: "hug", u: true });
  post("ana", { t: "react", m: other.id, r: "me-too" });
  const counts = reactionCounts(read);
  assert.deepEqual(counts.get(toHex(target.id)), { heart: 1, hug: 1, "me-too": 0, "thank-you": 0 });
  assert.deepEqual(counts.get(toHex(other.id)), { heart: 0, hug: 0, "me-too": 1, "thank-you": 0 });
  const session = new Uint8Array(32).fill(5);
  post("ana", { t: "rsvp", s: session, o: 2n, a: "maybe" });
  post("ana", { t: "rsvp", s: session, o: 2n, a: "yes" });
  post("bo", { t: "rsvp", s: session, o: 2n, a: "no" });
  post("bo", { t: "rsvp", s: session, o: 3n, a: "yes" });
  post("eve", { t: "rsvp", s: session, o: 2n, a: "yes" }); // not a member
  assert.deepEqual(Object.fromEntries(rsvps(read, g, session, 2n)), { [toHex(b.key("ana"))]: "yes", [toHex(b.key("bo"))]: "no" });
  assert.equal(talkingPiece(read, g, session, 2n), undefined);
  post("cy", { t: "turn", s: session, o: 2n, h: b.key("ana") });
  post("ana", { t: "turn", s: session, o: 2n, h: b.key("ana") }); // not a facilitator: does not count
  assert.equal(toHex(talkingPiece(read, g, session, 2n)!), toHex(b.key("ana")));
  post("founder", { t: "turn", s: session, o: 2n, h: null });
  assert.equal(talkingPiece(read, g, session, 2n), null, "the circle is open");
  post("cy", { t: "turn", s: session, o: 2n, h: b.key("bo") });
  assert.equal(toHex(talkingPiece(read, g, session, 2n)!), toHex(b.key("bo")));
  // A holder removed from the group holds the piece no more: the circle is open (17.3).
  const removal = b.remove("founder", "bo");
  const after = new GroupState(b.groupId);
  for (const m of b.made) after.add(m.entry, m.payload);
  assert.equal(after.outcome(removal.entry.id), null);
  assert.equal(talkingPiece(read, after, session, 2n), null, "a removed member loses the talking piece");
  // Check-ins: the latest of each member, shared with the group or the facilitators.
  post("ana", { t: "checkin", m: 1n, w: "low", s: [session, 2n] });
  post("ana", { t: "checkin", m: 3n, w: "better", s: [session, 2n] }, true);
  post("bo", { t: "checkin", m: 4n, s: [session, 2n] });
  post("cy", { t: "checkin", m: 5n, w: "calm" });
  assert.deepEqual(checkinSummary(read, session, 2n), { count: 2, moods: [0, 0, 1, 1, 0], average: 3.5, words: ["better"] });
});
