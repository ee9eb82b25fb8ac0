import assert from "node:assert/strict";
import { test } from "node:test";
import { equalBytes, fromHex, toHex } from "../src/bytes.js";
import { decodeContent, encodeContent } from "../src/content.js";
import { decodeControlPayload, type Rekey } from "../src/control.js";
import { decodeMessageEnvelope } from "../src/e2ee.js";
import { decodeEntry } from "../src/entry.js";
import { GroupState } from "../src/group.js";
import { createIdentityDocument, derivePseudonym } from "../src/identity.js";
import { buildRekey, currentEpoch, isCleanEpoch, KeyRing } from "../src/keyring.js";
import { ascii } from "../src/bytes.js";
import { H } from "../src/crypto.js";
import { Builder, type Made } from "./builder.js";
import { codeOf, jsonForm, loadVectors } from "./helpers.js";

interface Conversation {
  entries: { entry: string; payload: string; kind: string; entry_id: string; outcome?: string | null }[];
  people: Record<string, { ed25519_public: string; x25519_secret: string }>;
  messages: { entry_id: string; content: unknown }[];
}

test("group_conversation.json: each person's key ring, kept in step with its group state, reads what it may", () => {
  const h = loadVectors<Conversation[]>("group_conversation.json")[0]!;
  const read: Record<string, number> = {};
  for (const [name, person] of Object.entries(h.people)) {
    const entries = h.entries.map((v) => ({ v, entry: decodeEntry(fromHex(v.entry), fromHex(v.payload)), payload: fromHex(v.payload) }));
    const g = new GroupState(entries[0]!.entry.id);
    const ring = new KeyRing(fromHex(person.ed25519_public), [fromHex(person.x25519_secret)]);
    read[name] = 0;
    for (const { v, entry, payload } of entries) {
      g.add(entry, payload);
      ring.sync(g);
      if (v.kind !== "message") continue;
      const env = decodeMessageEnvelope(payload);
      const at = { groupId: g.groupId, author: entry.header.a, seq: entry.header.s };
      if (!ring.holds(env.epoch)) {
        assert.equal(codeOf(() => ring.open(at, env)), "e2ee.unknown_epoch");
        continue;
      }
      const want = h.messages.find((m) => m.entry_id === v.entry_id)!.content;
      assert.deepEqual(jsonForm(decodeContent(ring.open(at, env).plaintext)), want);
      read[name]!++;
    }
    // the founder's settings made history "the last 7 days": keys of epochs opened since are kept, none before
    assert.equal(g.state.history, 7n);
    const settings = g.slotOf(fromHex(h.entries.find((v) => v.kind === "settings")!.entry_id))!;
    const since = g.state.epochs.filter((slot) => slot > settings && ring.holds(g.idOfSlot(slot))).map((slot) => toHex(g.idOfSlot(slot)));
    assert.deepEqual(ring.epochKeys(g).map(([id]) => toHex(id)), since, name);
  }
  assert.deepEqual(read, { ana: 4, bo: 3, founder: 4 });
});

/** A group whose founder and members hold real keys, with helpers to rekey and to talk. */
class Circle {
  readonly b: Builder;
  readonly rings = new Map<string, KeyRing>();

  constructor(label: string, history: "joined" | "shared" = "joined") {
    this.b = new Builder(label, "founder", history);
    this.ring("founder");
  }

  ring(name: string): KeyRing {
    let r = this.rings.get(name);
    if (r === undefined) {
      const p = this.b.person(name).p;
      r = new KeyRing(p.ed25519Public, [p.x25519Secret]);
      this.rings.set(name, r);
    }
    return r;
  }

  state(): GroupState {
    const g = new GroupState(this.b.groupId);
    for (const m of this.b.made) g.add(m.entry, m.payload);
    for (const r of this.rings.values()) r.sync(g);
    return g;
  }

  rekey(by: string, o: Parameters<typeof buildRekey>[2] = {}): Made {
    const g = this.state();
    const { payload } = buildRekey(g, this.b.key(by), o);
    const deps = (decodeControlPayload(8n, payload, this.b.key(by)) as Rekey).deps;
    return this.b.raw(by, 8n, payload, deps, `${by} rekeys`);
  }

  say(by: string, text: string): Made {
    const g = this.state();
    const at = { groupId: this.b.groupId, author: this.b.key(by), seq: this.b.nextSeq(by) };
    return this.b.raw(by, 16n, this.ring(by).seal(g, at, encodeContent({ t: "text", b: text })), [], `${by}: ${text}`);
  }

  /** What `name` reads of message `m`, or its error code. */
  reads(name: string, m: Made): string {
    this.state();
    const at = { groupId: this.b.groupId, author: m.entry.header.a, seq: m.entry.header.s };
    try {
      const c = decodeContent(this.ring(name).open(at, decodeMessageEnvelope(m.payload)).plaintext);
      return (c as { b: string }).b;
    } catch (e) {
      return (e as { code?: string }).code ?? "crash";
    }
  }
}

test("key rings: a member sends only in a clean epoch; rekeys reach exactly the current members", () => {
  const c = new Circle("rings");
  let g = c.state();
  assert.equal(c.ring("founder").canSend(g), false, "no epoch yet");
  c.rekey("founder");
  g = c.state();
  assert.ok(isCleanEpoch(g));
  c.b.join("ana", c.b.invite("founder"));
  c.ring("ana");
  g = c.state();
  assert.equal(isCleanEpoch(g), false, "a join makes the epoch unclean");
  assert.equal(codeOf(() => c.say("founder", "too early")), "e2ee.unknown_epoch");
  c.rekey("founder");
  const hello = c.say("founder", "Welcome, ana.");
  assert.equal(c.reads("ana", hello), "Welcome, ana.");
  assert.equal(c.reads("founder", hello), "Welcome, ana.");
  assert.equal(c.reads("ana", hello), "e2ee.ratchet_window", "read once: its key is gone");
  const reply = c.say("ana", "Thank you.");
  assert.equal(c.reads("founder", reply), "Thank you.");
  // A removal: the removed member cannot read the next epoch.
  c.b.remove("founder", "ana");
  assert.equal(isCleanEpoch(c.state()), false);
  c.rekey("founder");
  const after = c.say("founder", "After ana left.");
  assert.equal(c.reads("ana", after), "e2ee.unknown_epoch");
  assert.equal(c.reads("founder", after), "After ana left.");
});

test("key rings: a post-compromise update (13.2): the new epoch opens only with the new secret", () => {
  const c = new Circle("update");
  c.rekey("founder");
  c.b.join("ana", c.b.invite("founder"));
  c.ring("ana");
  c.rekey("founder");
  const ana = c.b.person("ana").p;
  const fresh = derivePseudonym(H(ascii("fresh master")), ascii("ctx"));
  const updated = { ...ana, x25519Secret: fresh.x25519Secret, x25519Public: fresh.x25519Public };
  const update = c.rekey("ana", { newDocument: createIdentityDocument(updated, 1_764_000_500_000n) });
  let g = c.state();
  assert.equal(g.outcome(update.entry.id), null);
  assert.ok(isCleanEpoch(g), "the author's new key was set by the rekey itself");
  assert.ok(equalBytes(g.state.x25519.get(toHex(ana.ed25519Public))!.key, fresh.x25519Public));
  assert.equal(c.ring("ana").holds(currentEpoch(g)!), false, "the old secret does not open its own new box");
  c.ring("ana").addSecret(fresh.x25519Secret);
  g = c.state();
  assert.ok(c.ring("ana").holds(currentEpoch(g)!));
  const m = c.say("founder", "Healed.");
  assert.equal(c.reads("ana", m), "Healed.");
  // The founder's next rekey seals to ana's new key.
  c.rekey("founder");
  g = c.state();
  const ring = new KeyRing(ana.ed25519Public, [ana.x25519Secret]);
  ring.sync(g);
  assert.equal(ring.holds(currentEpoch(g)!), false, "a thief holding only the old secret");
});

test("key rings: shared history sends earlier epochs to a newcomer; an ignored rekey's epoch is dropped", () => {
  const c = new Circle("shared", "shared");
  c.rekey("founder");
  const early = c.say("founder", "Before bo came.");
  c.b.join("bo", c.b.invite("founder"));
  c.ring("bo");
  let g = c.state();
  const earlier = c.ring("founder").epochKeys(g);
  assert.equal(earlier.length, 1, "history is shared: the founder kept the key");
  c.rekey("founder", { history: { to: [c.b.key("bo")], epochs: earlier } });
  assert.equal(c.reads("bo", early), "Before bo came.");
  assert.equal(c.ring("bo").epochKeys(c.state()).length, 2);
  // ana joins, then rekeys concurrently with her removal: the rekey is void, its epoch dropped.
  c.b.join("ana", c.b.invite("founder"));
  c.ring("ana");
  c.rekey("founder");
  const seen = c.b.currentHeads();
  const g1 = c.state();
  const { payload } = buildRekey(g1, c.b.key("ana"), { deps: seen });
  const anaRekey = c.b.raw("ana", 8n, payload, seen, "ana rekeys");
  g = c.state();
  assert.equal(g.outcome(anaRekey.entry.id), null);
  assert.ok(c.ring("bo").holds(anaRekey.entry.id));
  c.b.remove("founder", "ana", { d: seen });
  const ring = c.ring("bo");
  g = new GroupState(c.b.groupId);
  for (const m of c.b.made) g.add(m.entry, m.payload);
  const { dropped } = ring.sync(g);
  assert.equal(g.outcome(anaRekey.entry.id), "group.concurrent_restriction");
  assert.deepEqual(dropped.map(toHex), [toHex(anaRekey.entry.id)]);
  assert.equal(ring.holds(anaRekey.entry.id), false);
});

test("key rings: keys are forgotten when history stops being shared; a rekey that missed a key update is not clean", () => {
  const c = new Circle("stale", "shared");
  c.rekey("founder");
  c.b.join("ana", c.b.invite("founder"));
  c.ring("ana");
  c.rekey("founder");
  assert.equal(c.ring("founder").epochKeys(c.state()).length, 2);
  c.b.settings("founder"); // history: joined
  assert.equal(c.ring("founder").epochKeys(c.state()).length, 0);
  c.rekey("founder");
  // The founder updates its key while ana, not having seen it, rekeys to the founder's old key.
  const seen = c.b.currentHeads();
  const founder = c.b.person("founder").p;
  const fresh = derivePseudonym(H(ascii("founder's fresh master")), ascii("ctx"));
  const doc = createIdentityDocument({ ...founder, x25519Secret: fresh.x25519Secret, x25519Public: fresh.x25519Public }, 1_764_000_900_000n);
  const g0 = c.state();
  const update = buildRekey(g0, founder.ed25519Public, { deps: seen, newDocument: doc });
  const u = c.b.raw("founder", 8n, update.payload, seen, "founder updates its key");
  const stale = buildRekey(g0, c.b.key("ana"), { deps: seen });
  const r = c.b.raw("ana", 8n, stale.payload, seen, "ana rekeys, not having seen it");
  const g = c.state();
  assert.equal(g.outcome(u.entry.id), null);
  assert.equal(g.outcome(r.entry.id), null);
  assert.ok(equalBytes(currentEpoch(g)!, r.entry.id), "the founder is more senior: its update comes first in L");
  assert.equal(isCleanEpoch(g), false, "ana's epoch sealed to a key the founder had replaced");
});
