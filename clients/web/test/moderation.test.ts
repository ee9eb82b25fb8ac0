/**
 * support.json: a member muted for a time (12.5, 12.6) and a removal's note and reason (12.3),
 * checked from the vectors alone.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { fromHex, toHex } from "../src/bytes.js";
import { decodeControlPayload } from "../src/control.js";
import { messageStatus } from "../src/deletion.js";
import { decodeDirectEnvelope, openDirect } from "../src/e2ee.js";
import { decodeEntry, type Entry } from "../src/entry.js";
import { GroupState } from "../src/group.js";
import { removalWords } from "../src/removal.js";
import { codeOf, loadVectors } from "./helpers.js";

type V = Record<string, unknown>;
const file = loadVectors<V[]>("support.json");
const byName = (name: string): V => file.find((v) => v["name"] === name)!;

interface Row {
  entry: string;
  entry_id: string;
  note: string;
  outcome?: string | null;
  payload: string | null;
}
interface MessageRow {
  entry_id: string;
  note: string;
  muted: boolean;
  authorised: boolean;
}
interface Person {
  ed25519_public: string;
  x25519_secret: string;
}

function replay(v: V): { g: GroupState; entries: Map<string, Entry>; payloads: Map<string, Uint8Array | null> } {
  const rows = v["entries"] as Row[];
  const first = decodeEntry(fromHex(rows[0]!.entry), fromHex(rows[0]!.payload!));
  const g = new GroupState(first.id);
  const entries = new Map<string, Entry>();
  const payloads = new Map<string, Uint8Array | null>();
  for (const r of rows) {
    const payload = r.payload === null ? null : fromHex(r.payload);
    const e = decodeEntry(fromHex(r.entry), payload);
    entries.set(r.entry_id, e);
    payloads.set(r.entry_id, payload);
    g.add(e, payload);
  }
  return { g, entries, payloads };
}

test("support.json: a member muted for a time: outcomes, mutes, and which messages are muted", () => {
  const v = byName("a member muted for a time");
  const { g, entries } = replay(v);
  for (const r of v["entries"] as Row[]) if (r.outcome !== undefined) assert.equal(g.outcome(fromHex(r.entry_id)), r.outcome, r.note);
  const mutes = Object.fromEntries(
    [...g.state.mutes].map(([k, list]) => [k, list.map((m) => ({ cut: Number(m.cut), entry_id: toHex(g.idOfSlot(m.slot)), until_ms: Number(m.until) }))]),
  );
  assert.deepEqual(mutes, v["mutes"]);
  const messages = v["messages"] as MessageRow[];
  assert.equal(messages.filter((m) => m.muted).length, 2);
  for (const m of messages) {
    const e = entries.get(m.entry_id)!;
    assert.equal(g.isMuted(e), m.muted, m.note);
    assert.equal(messageStatus(g, e, null).authorised, m.authorised, m.note);
  }
});

test("support.json: a removal's note opens for the removed person only, its reason for the facilitators", () => {
  const v = byName("a removal's note and reason");
  const history = byName("a member muted for a time");
  const { entries, payloads } = replay(history);
  const e = entries.get(v["entry_id"] as string)!;
  const p = decodeControlPayload(e.header.k, payloads.get(v["entry_id"] as string)!, e.header.a);
  assert.ok(p.kind === "remove" && p.note !== null && p.reason !== null);
  const at = { groupId: fromHex((history["entries"] as Row[])[0]!.entry_id), author: e.header.a, seq: e.header.s };
  const people = Object.values(history["people"] as Record<string, Person>);
  for (const [field, words, readers] of [
    [p.note, v["note"], v["note_readers"]],
    [p.reason, v["reason"], v["reason_readers"]],
  ] as [Uint8Array, string, string[]][]) {
    const env = decodeDirectEnvelope(field);
    assert.deepEqual(env.recipients.map(([k]) => toHex(k)), readers);
    for (const person of people) {
      const key = fromHex(person.ed25519_public);
      const open = (): string => new TextDecoder("utf-8", { fatal: true }).decode(openDirect(env, at, key, fromHex(person.x25519_secret)));
      if (readers.includes(person.ed25519_public)) assert.equal(open(), words);
      else assert.equal(codeOf(open), "e2ee.not_recipient");
    }
  }
  for (const person of people) {
    const key = fromHex(person.ed25519_public);
    const read = removalWords(at.groupId, e, p, key, fromHex(person.x25519_secret));
    assert.equal(read.note, (v["note_readers"] as string[]).includes(person.ed25519_public) ? v["note"] : null);
    assert.equal(read.reason, (v["reason_readers"] as string[]).includes(person.ed25519_public) ? v["reason"] : null);
  }
});
