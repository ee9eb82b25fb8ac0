import assert from "node:assert/strict";
import { test } from "node:test";
import { fromHex, toHex } from "../src/bytes.js";
import { payloadKept, messageStatus } from "../src/deletion.js";
import { GroupClient } from "../src/group_client.js";
import { verifyForkProof } from "../src/log.js";
import { jsonForm, loadVectors, rng } from "./helpers.js";
import { Builder } from "./builder.js";
import { encode } from "../src/cbor.js";
import { sealMessage, SenderChain } from "../src/e2ee.js";
import { buildRekey } from "../src/keyring.js";

interface Item {
  entry: string;
  payload: string | null;
  entry_id: string;
  kind: string;
  note: string;
  author: string;
}
interface History {
  name: string;
  entries: Item[];
  people: Record<string, { ed25519_public: string; x25519_secret: string }>;
  messages: { entry_id: string; content: unknown }[];
  directs?: { entry_id: string; content: unknown; recipients: string[] }[];
  final_state: { group_id: string; members: Record<string, string> };
  checkpoints?: number[];
  host_view?: { entry_id: string; payload_kept: boolean[] }[];
}

const conversation = (): History => loadVectors<History[]>("group_conversation.json")[0]!;
const support = (): History => loadVectors<History[]>("support.json")[0]!;

function clientOf(h: History, name: string, order: readonly Item[] = h.entries): GroupClient {
  const p = h.people[name]!;
  const c = new GroupClient(fromHex(h.final_state.group_id), fromHex(p.ed25519_public), [fromHex(p.x25519_secret)]);
  for (const v of order) c.receive(fromHex(v.entry), v.payload === null ? null : fromHex(v.payload));
  return c;
}

/** What a person reads: entry id -> content in the vectors' form, or its error, or why deleted. */
function reads(c: GroupClient): Record<string, unknown> {
  return Object.fromEntries(c.messages().map((r) => [toHex(r.entry.id), r.content !== null ? jsonForm(r.content) : (r.deleted ?? r.error)]));
}

test("group_conversation.json: each person's client verifies, places, applies and opens every entry in arrival order", () => {
  const h = conversation();
  const contents = new Map(h.messages.map((m) => [m.entry_id, m.content]));
  for (const name of Object.keys(h.people)) {
    const c = clientOf(h, name);
    assert.deepEqual(Object.fromEntries([...c.state.state.members].map(([k, m]) => [k, m.role])), h.final_state.members);
    for (const [id, got] of Object.entries(reads(c))) {
      const lastToBo = name === "bo" && id === h.messages.at(-1)!.entry_id;
      assert.deepEqual(got, lastToBo ? "e2ee.unknown_epoch" : contents.get(id), `${name}: ${id}`);
    }
  }
});

test("support.json: a client drops the words of what the group redacts and erases, and of what expires", () => {
  const h = support();
  const contents = new Map([...h.messages, ...h.directs!].map((m) => [m.entry_id, m.content]));
  const note = new Map(h.entries.map((e) => [e.entry_id, e.note]));
  const c = clientOf(h, "founder");
  const got = reads(c);
  const deleted = Object.entries(got).filter(([, v]) => typeof v === "string").map(([id, v]) => [note.get(id), v]);
  assert.deepEqual(deleted, [
    ["ana says something, with a warning", "redacted"],
    ["cy says something", "redacted"],
    ["cy says something else", "erased"],
  ]);
  for (const [id, v] of Object.entries(got)) if (typeof v !== "string") assert.deepEqual(v, contents.get(id), note.get(id));
  // At each checkpoint the client keeps the words a host keeps (17.5), of all it could read.
  for (const [i, t] of h.checkpoints!.entries()) {
    c.purge(t);
    for (const w of h.host_view!) {
      const r = c.message(fromHex(w.entry_id))!;
      assert.equal(r.content !== null, w.payload_kept[i], `${note.get(w.entry_id)} at ${t}`);
      assert.equal(r.key !== null, w.payload_kept[i], "the key goes with the words");
      const st = messageStatus(c.state, r.entry, r.envelope?.expires ?? null);
      if (r.content !== null) assert.ok(payloadKept(st, t));
    }
  }
});

test("support.json: a direct message opens only for its recipients; the check-in for the facilitator only", () => {
  const h = support();
  const checkin = h.directs!.find((d) => (d.content as { t: string }).t === "checkin")!;
  for (const [name, p] of Object.entries(h.people)) {
    const r = clientOf(h, name).message(fromHex(checkin.entry_id))!;
    const recipient = checkin.recipients.includes(p.ed25519_public);
    assert.deepEqual(r.content === null ? r.error : jsonForm(r.content), recipient ? checkin.content : "e2ee.not_recipient", name);
  }
});

test("entries may arrive out of their logs' order: held until the gap fills, then the same reading", () => {
  const h = support();
  const want = reads(clientOf(h, "ana"));
  const r = rng(71);
  const shuffled = [...h.entries].sort(() => r() - 0.5);
  const c = clientOf(h, "ana", shuffled);
  assert.equal(c.waitingCount, 0);
  assert.deepEqual(reads(c), want);
  // A husk is kept as such.
  const husky = clientOf(h, "ana", h.entries.map((e) => (e.kind === "message" && e.note.startsWith("ana says more") ? { ...e, payload: null } : e)));
  const husk = husky.messages().find((m) => m.husk)!;
  assert.equal(husk.content, null);
  assert.equal(husk.deleted, null);
  assert.ok(c.messages().every((m) => m.authorised), "every message of the history was written inside its author's membership");
});

test("group_rules.json: a client receiving both twins proves the fork and computes the state every host does", () => {
  const sc = loadVectors<(History & { fork_proof: string; hosts: Record<string, { holds: string[] }> })[]>("group_rules.json").find((s) => s.hosts !== undefined)!;
  const byId = new Map(sc.entries.map((e) => [e.entry_id, e]));
  const x = sc.entries[2]!.author; // x joins third
  const c = new GroupClient(fromHex(sc.final_state.group_id), fromHex(x), []);
  const results = [...sc.hosts["a"]!.holds, "93a2da88f89568916a8e8e436a0e531f34c26586bb5d481b365a3e75088b5dea"].map((id) => {
    const v = byId.get(id)!;
    return c.receive(fromHex(v.entry), v.payload === null ? null : fromHex(v.payload));
  });
  const fork = results.at(-1)!;
  assert.equal(fork.status, "fork");
  assert.ok(fork.status === "fork" && verifyForkProof(fork.proof).seq === 2n);
  assert.deepEqual(Object.fromEntries([...c.state.state.members].map(([k, m]) => [k, m.role])), sc.final_state.members);
  assert.deepEqual(c.state.order().map(toHex), (sc.final_state as unknown as { order: string[] }).order);
});

test("a message written past its author's membership is held but not authorised; a malformed envelope is unreadable", () => {
  const b = new Builder("past the cut");
  b.join("ana", b.invite("founder"));
  const inside = b.message("ana");
  b.remove("founder", "ana", { cut: 2n });
  const outside = b.message("ana");
  const founder = b.person("founder").p;
  const c = new GroupClient(b.groupId, founder.ed25519Public, [founder.x25519Secret]);
  for (const m of b.made) c.receive(m.entry.bytes, m.payload);
  assert.equal(c.message(inside.entry.id)!.authorised, true);
  assert.equal(c.message(outside.entry.id)!.authorised, false);
  assert.equal(c.message(outside.entry.id)!.error, "group.malformed_payload"); // the builder's messages are no envelopes
  assert.deepEqual(c.receive(inside.entry.bytes, inside.payload), { status: "duplicate", id: inside.entry.id });
});

test("words that open but are not content stay unreadable (content.malformed), whatever arrives later", () => {
  const b = new Builder("malformed words");
  const founder = b.person("founder").p;
  const c = new GroupClient(b.groupId, founder.ed25519Public, [founder.x25519Secret]);
  c.receive(b.made[0]!.entry.bytes, b.made[0]!.payload);
  const { payload, epochKey } = buildRekey(c.state, founder.ed25519Public);
  const rekey = b.raw("founder", 8n, payload, b.currentHeads(), "founder rekeys");
  c.receive(rekey.entry.bytes, rekey.payload);
  const { index, key } = new SenderChain(epochKey, founder.ed25519Public).take();
  const at = { groupId: b.groupId, author: founder.ed25519Public, seq: b.nextSeq("founder") };
  const bad = b.raw("founder", 16n, sealMessage(key, at, rekey.entry.id, index, encode({ t: "text" })), [], "no body");
  c.receive(bad.entry.bytes, bad.payload);
  assert.equal(c.message(bad.entry.id)!.error, "content.malformed");
  b.settings("founder");
  c.receive(b.last.entry.bytes, b.last.payload);
  assert.equal(c.message(bad.entry.id)!.error, "content.malformed");
});
