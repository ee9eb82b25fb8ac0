import assert from "node:assert/strict";
import { test } from "node:test";
import { equalBytes, fromHex, toHex } from "../src/bytes.js";
import { decodeContent } from "../src/content.js";
import { decodeControlPayload, type Rekey } from "../src/control.js";
import { aeadDecrypt, aeadEncrypt, seal, sealOpen, x25519PublicKey } from "../src/crypto.js";
import { verifyDisclosure } from "../src/disclosure.js";
import {
  checkEnvelope,
  commit,
  decodeDirectEnvelope,
  decodeMessageEnvelope,
  directAd,
  initialChainKey,
  messageAd,
  messageKey,
  nextChainKey,
  openDirect,
  openDirectKey,
  openEpochKey,
  openMessage,
  pad,
  RATCHET_WINDOW,
  ReceiverChain,
  ReceiverChains,
  sealDirect,
  sealMessage,
  SenderChain,
  unpad,
} from "../src/e2ee.js";
import { decodeEntry, type Entry } from "../src/entry.js";
import { codeOf, deterministicStream, indexOfBytes, jsonForm, loadRepoJson, loadVectors, rng } from "./helpers.js";

interface Person {
  ed25519_public: string;
  ed25519_seed: string;
  x25519_public: string;
  x25519_secret: string;
}
interface HistoryEntry {
  author: string;
  entry: string;
  entry_id: string;
  kind: string;
  note: string;
  outcome?: string | null;
  payload: string;
  seq: number;
}
interface MessageVector {
  associated_data: string;
  chain_key: string;
  content: unknown;
  entry_id: string;
  epoch: string;
  index: number;
  key_commitment: string;
  message_key: string;
  nonce: string;
  plaintext: string;
  padded_length?: number;
  expires_ms?: number | null;
}
interface DirectVector {
  associated_data: string;
  content: unknown;
  content_key: string;
  entry_id: string;
  key_commitment: string;
  nonce: string;
  plaintext: string;
  recipients: string[];
}
interface History {
  name: string;
  label: string;
  entries: HistoryEntry[];
  people: Record<string, Person>;
  epoch_keys: Record<string, string>;
  messages: MessageVector[];
  session_details?: MessageVector[];
  directs?: DirectVector[];
}

const conversation = (): History => {
  const all = loadVectors<History[]>("group_conversation.json");
  assert.equal(all.length, 1);
  return all[0]!;
};
const supportFile = (): Record<string, unknown>[] => loadVectors<Record<string, unknown>[]>("support.json");
const supportHistory = (): History => supportFile()[0] as unknown as History;

function entryOf(h: History, id: string): { vector: HistoryEntry; entry: Entry; payload: Uint8Array } {
  const vector = h.entries.find((e) => e.entry_id === id);
  assert.ok(vector, `no entry ${id}`);
  const payload = fromHex(vector.payload);
  return { vector, entry: decodeEntry(fromHex(vector.entry), payload), payload };
}

function groupIdOf(h: History): Uint8Array {
  return fromHex(h.entries[0]!.entry_id);
}

function personOf(h: History, key: Uint8Array): Person {
  const p = Object.values(h.people).find((x) => x.ed25519_public === toHex(key));
  assert.ok(p, `no person with key ${toHex(key)}`);
  return p;
}

/** Every check of one group message (or session details) vector; returns how many were made. */
function checkGroupMessage(h: History, m: MessageVector, sessionDetails: boolean): void {
  const { entry, payload } = entryOf(h, m.entry_id);
  const groupId = groupIdOf(h);
  const envelopeBytes = sessionDetails ? (decodeControlPayload(entry.header.k, payload, entry.header.a) as { details: Uint8Array }).details : payload;
  const env = decodeMessageEnvelope(envelopeBytes);
  const epochKey = fromHex(h.epoch_keys[m.epoch]!);
  let ck = initialChainKey(epochKey, entry.header.a);
  for (let i = 0; i < m.index; i++) ck = nextChainKey(ck);
  assert.equal(toHex(ck), m.chain_key, m.entry_id);
  const mk = messageKey(ck);
  assert.equal(toHex(mk), m.message_key);
  assert.equal(toHex(commit(mk)), m.key_commitment);
  assert.equal(toHex(env.commitment), m.key_commitment);
  assert.equal(toHex(env.epoch), m.epoch);
  assert.equal(env.index, BigInt(m.index));
  assert.equal(toHex(env.nonce), m.nonce);
  const at = { groupId, author: entry.header.a, seq: entry.header.s };
  const ad = messageAd(groupId, entry.header.a, entry.header.s, env.epoch, env.index);
  assert.equal(toHex(ad), m.associated_data);
  if (m.padded_length !== undefined) assert.equal(aeadDecrypt(mk, env.nonce, env.ciphertext, ad).length, m.padded_length);
  if (m.expires_ms !== undefined) assert.equal(env.expires, m.expires_ms === null ? null : BigInt(m.expires_ms));
  const plaintext = openMessage(mk, at, env);
  assert.equal(toHex(plaintext), m.plaintext);
  assert.deepEqual(jsonForm(decodeContent(plaintext)), m.content);
  // The sender's side reproduces the envelope byte for byte (same key and nonce).
  assert.equal(toHex(sealMessage(mk, at, env.epoch, env.index, plaintext, env.expires, env.nonce)), toHex(envelopeBytes));
}

test("group_conversation.json: every message's chain key, message key, commitment, ad, plaintext and content", () => {
  const h = conversation();
  assert.equal(h.messages.length, 4);
  for (const m of h.messages) checkGroupMessage(h, m, false);
});

test("support.json: every group message and every session's details of the history", () => {
  const h = supportHistory();
  assert.equal(h.messages.length, 9);
  assert.equal(h.session_details!.length, 3);
  for (const m of h.messages) checkGroupMessage(h, m, false);
  for (const m of h.session_details!) checkGroupMessage(h, m, true);
});

/** Every rekey's boxes open to its epoch key, and Seal reproduces them byte for byte from the
 * history's deterministic randomness (the epoch key, then one ephemeral secret per box). */
function checkRekeys(h: History): number {
  const stream = deterministicStream(h.label, 4096);
  let boxes = 0;
  for (const v of h.entries.filter((e) => e.kind === "rekey")) {
    const { entry, payload } = entryOf(h, v.entry_id);
    const p = decodeControlPayload(entry.header.k, payload, entry.header.a) as Rekey;
    const epochKey = fromHex(h.epoch_keys[v.entry_id]!);
    const at = indexOfBytes(stream, epochKey);
    assert.ok(at >= 0, "the epoch key is a draw of the history's randomness");
    p.sealed.forEach(([member, box], j) => {
      const person = personOf(h, member);
      assert.equal(toHex(sealOpen(fromHex(person.x25519_secret), box)), toHex(epochKey));
      assert.equal(toHex(openEpochKey(p.sealed, member, fromHex(person.x25519_secret))!), toHex(epochKey));
      const esk = stream.slice(at + 32 * (j + 1), at + 32 * (j + 2));
      assert.equal(toHex(seal(fromHex(person.x25519_public), epochKey, esk)), toHex(box));
      boxes++;
    });
  }
  return boxes;
}

test("group_conversation.json and support.json: every sealed epoch key opens, and Seal reproduces it", () => {
  assert.equal(checkRekeys(conversation()), 1 + 3 + 2);
  assert.equal(checkRekeys(supportHistory()), 1 + 5 + 4 + 5);
});

test("support.json: every direct message of the history opens for each recipient, and is reproduced", () => {
  const h = supportHistory();
  const stream = deterministicStream(h.label, 4096);
  assert.equal(h.directs!.length, 2);
  let opened = 0;
  for (const d of h.directs!) {
    const { entry, payload } = entryOf(h, d.entry_id);
    const groupId = groupIdOf(h);
    const at = { groupId, author: entry.header.a, seq: entry.header.s };
    const env = decodeDirectEnvelope(payload);
    assert.deepEqual(env.recipients.map(([k]) => toHex(k)), d.recipients);
    assert.equal(toHex(env.commitment), d.key_commitment);
    assert.equal(toHex(commit(fromHex(d.content_key))), d.key_commitment);
    assert.equal(toHex(env.nonce), d.nonce);
    assert.equal(toHex(directAd(groupId, entry.header.a, entry.header.s)), d.associated_data);
    for (const [key] of env.recipients) {
      const person = personOf(h, key);
      assert.equal(toHex(openDirectKey(env, key, fromHex(person.x25519_secret))), d.content_key);
      const plaintext = openDirect(env, at, key, fromHex(person.x25519_secret));
      assert.equal(toHex(plaintext), d.plaintext);
      assert.deepEqual(jsonForm(decodeContent(plaintext)), d.content);
      opened++;
    }
    // A member it is not sealed to cannot read it.
    const other = Object.values(h.people).find((p) => !d.recipients.includes(p.ed25519_public))!;
    assert.equal(codeOf(() => openDirect(env, at, fromHex(other.ed25519_public), fromHex(other.x25519_secret))), "e2ee.not_recipient");
    // The sender's side reproduces it: the content key, then one ephemeral secret per recipient.
    const o = indexOfBytes(stream, fromHex(d.content_key));
    const recipients = env.recipients.map(([key]) => ({ key, x25519: fromHex(personOf(h, key).x25519_public) }));
    const fixed = {
      contentKey: fromHex(d.content_key),
      nonce: env.nonce,
      ephemeral: recipients.map((_, j) => stream.slice(o + 32 * (j + 1), o + 32 * (j + 2))),
    };
    assert.equal(toHex(sealDirect(at, [...recipients].reverse(), fromHex(d.plaintext), env.expires, fixed)), toHex(payload));
  }
  assert.equal(opened, 3);
});

test("group_conversation.json: each person reads, with its own keys, exactly what its epochs allow", () => {
  const h = conversation();
  const groupId = groupIdOf(h);
  const read: Record<string, number> = {};
  const unknown: Record<string, number> = {};
  for (const [name, person] of Object.entries(h.people)) {
    const me = fromHex(person.ed25519_public);
    const chains = new ReceiverChains();
    read[name] = 0;
    unknown[name] = 0;
    for (const v of h.entries) {
      const payload = fromHex(v.payload);
      const entry = decodeEntry(fromHex(v.entry), payload);
      if (v.kind === "rekey" && v.outcome === null) {
        const p = decodeControlPayload(entry.header.k, payload, entry.header.a) as Rekey;
        const key = openEpochKey(p.sealed, me, fromHex(person.x25519_secret));
        if (key !== null) chains.addEpoch(entry.id, key, p.sealed.map(([k]) => k));
      } else if (v.kind === "message") {
        const env = decodeMessageEnvelope(payload);
        const at = { groupId, author: entry.header.a, seq: entry.header.s };
        if (!chains.hasEpoch(env.epoch)) {
          assert.equal(codeOf(() => chains.open(at, env)), "e2ee.unknown_epoch");
          unknown[name]!++;
          continue;
        }
        const m = h.messages.find((x) => x.entry_id === v.entry_id)!;
        const { plaintext, key } = chains.open(at, env);
        assert.equal(toHex(plaintext), m.plaintext);
        assert.equal(toHex(key), m.message_key);
        // Its key is gone once used: the same message again is out of the window.
        assert.equal(codeOf(() => chains.open(at, env)), "e2ee.ratchet_window");
        read[name]!++;
      }
    }
  }
  // bo was banned before the third epoch: ana's last message is not for him.
  assert.deepEqual(read, { ana: 4, bo: 3, founder: 4 });
  assert.deepEqual(unknown, { ana: 0, bo: 1, founder: 0 });
});

interface EnvelopeWithExpiry {
  name: string;
  associated_data: string;
  entry: string;
  expires_ms: number;
  fields: Record<string, unknown>;
  group_id: string;
  message_key: string;
  payload: string;
  plaintext: string;
}
interface DirectMessageVector {
  name: string;
  associated_data: string;
  author: string;
  content: unknown;
  content_key: string;
  entry: string;
  fields: Record<string, unknown>;
  group_id: string;
  key_commitment: string;
  nonce: string;
  padded_length: number;
  payload: string;
  plaintext: string;
  recipients: { key: string; sealed: string; x25519_secret: string }[];
  seq: number;
}
interface DisclosureVector {
  name: string;
  disclosed_entry: string;
  disclosed_payload: string;
  disclosed_key: string;
  disclosed_entry_id?: string;
  disclosed_author?: string;
  group_id: string;
  entry?: string;
  payload?: string;
  key?: string;
  plaintext?: string;
  verified_content?: unknown;
  verified_plaintext?: string;
  error?: string;
}
interface TwoFacedVector {
  name: string;
  associated_data: string;
  author: string;
  entry: string;
  group_id: string;
  key_commitment: string;
  nonce: string;
  payload: string;
  recipients: {
    key: string;
    sealed: string;
    x25519_secret: string;
    content_key: string;
    aead_plaintext: string;
    plaintext?: string;
    disclosed_plaintext?: string;
    error?: string;
    disclosure_error?: string;
  }[];
  seq: number;
}

const byName = <T>(name: string): T => {
  const v = supportFile().find((x) => x["name"] === name);
  assert.ok(v, `support.json has no vector "${name}"`);
  return v as T;
};

test("support.json: message envelope with an expiry", () => {
  const v = byName<EnvelopeWithExpiry>("message envelope with an expiry");
  const payload = fromHex(v.payload);
  const entry = decodeEntry(fromHex(v.entry), payload);
  const env = decodeMessageEnvelope(payload);
  assert.deepEqual(jsonForm({ c: env.ciphertext, e: env.epoch, i: env.index, k: env.commitment, n: env.nonce, x: env.expires }), v.fields);
  assert.equal(env.expires, BigInt(v.expires_ms));
  const groupId = fromHex(v.group_id);
  const at = { groupId, author: entry.header.a, seq: entry.header.s };
  assert.equal(toHex(messageAd(groupId, at.author, at.seq, env.epoch, env.index)), v.associated_data);
  const plaintext = openMessage(fromHex(v.message_key), at, env);
  assert.equal(toHex(plaintext), v.plaintext);
  assert.equal(toHex(sealMessage(fromHex(v.message_key), at, env.epoch, env.index, plaintext, env.expires, env.nonce)), v.payload);
});

test("support.json: direct message, opened by each recipient with its own secret", () => {
  const v = byName<DirectMessageVector>("direct message");
  const payload = fromHex(v.payload);
  const entry = decodeEntry(fromHex(v.entry), payload);
  assert.equal(toHex(entry.header.a), v.author);
  assert.equal(entry.header.s, BigInt(v.seq));
  const env = decodeDirectEnvelope(payload);
  assert.deepEqual(jsonForm({ c: env.ciphertext, k: env.commitment, n: env.nonce, r: env.recipients }), v.fields);
  const groupId = fromHex(v.group_id);
  const at = { groupId, author: entry.header.a, seq: entry.header.s };
  assert.equal(toHex(directAd(groupId, at.author, at.seq)), v.associated_data);
  assert.equal(toHex(commit(fromHex(v.content_key))), v.key_commitment);
  assert.equal(aeadDecrypt(fromHex(v.content_key), env.nonce, env.ciphertext, directAd(groupId, at.author, at.seq)).length, v.padded_length);
  assert.equal(v.recipients.length, 1);
  for (const r of v.recipients) {
    assert.equal(toHex(openDirectKey(env, fromHex(r.key), fromHex(r.x25519_secret))), v.content_key);
    const plaintext = openDirect(env, at, fromHex(r.key), fromHex(r.x25519_secret));
    assert.equal(toHex(plaintext), v.plaintext);
    assert.deepEqual(jsonForm(decodeContent(plaintext)), v.content);
  }
});

test("support.json: disclosures in a report and in a quote verify; one with another message's key does not", () => {
  const names = ["disclosure in a report", "disclosure in a quote", "disclosure with another message's key"];
  for (const name of names) {
    const v = byName<DisclosureVector>(name);
    const d = { e: fromHex(v.disclosed_entry), p: fromHex(v.disclosed_payload), k: fromHex(v.disclosed_key) };
    const groupId = fromHex(v.group_id);
    if (v.error !== undefined) {
      assert.equal(codeOf(() => verifyDisclosure(groupId, d)), v.error, name);
      continue;
    }
    // The carrying entry: a direct message (report) or a group message (quote), opened with `key`.
    const payload = fromHex(v.payload!);
    const carrier = decodeEntry(fromHex(v.entry!), payload);
    const at = { groupId, author: carrier.header.a, seq: carrier.header.s };
    const carried =
      carrier.header.k === 17n
        ? unpad(aeadDecrypt(fromHex(v.key!), decodeDirectEnvelope(payload).nonce, decodeDirectEnvelope(payload).ciphertext, directAd(groupId, at.author, at.seq)))
        : openMessage(fromHex(v.key!), at, decodeMessageEnvelope(payload));
    assert.equal(toHex(carried), v.plaintext, name);
    const content = decodeContent(carried) as { e: Uint8Array; p: Uint8Array; k: Uint8Array };
    assert.equal(toHex(content.e), v.disclosed_entry);
    assert.equal(toHex(content.k), v.disclosed_key);
    const verified = verifyDisclosure(groupId, content);
    assert.equal(toHex(verified.entry.id), v.disclosed_entry_id, name);
    assert.equal(toHex(verified.entry.header.a), v.disclosed_author, name);
    assert.equal(toHex(verified.plaintext), v.verified_plaintext, name);
    assert.deepEqual(jsonForm(verified.content), v.verified_content, name);
    // The same disclosure in another group, with one bit of the key flipped, or with the
    // payload of another entry, does not verify.
    const otherGroup = groupId.slice();
    otherGroup[0]! ^= 1;
    assert.equal(codeOf(() => verifyDisclosure(otherGroup, content)), "content.bad_disclosure");
    const k = content.k.slice();
    k[5]! ^= 0x10;
    assert.equal(codeOf(() => verifyDisclosure(groupId, { ...content, k })), "content.bad_disclosure");
    assert.equal(codeOf(() => verifyDisclosure(groupId, { ...content, p: payload })), "content.bad_disclosure");
  }
});

test("support.json: two-faced direct message: the committed key reads, the other box is refused", () => {
  const v = byName<TwoFacedVector>("two-faced direct message");
  const payload = fromHex(v.payload);
  const entry = decodeEntry(fromHex(v.entry), payload);
  const env = decodeDirectEnvelope(payload);
  const groupId = fromHex(v.group_id);
  const at = { groupId, author: entry.header.a, seq: entry.header.s };
  assert.equal(toHex(directAd(groupId, at.author, at.seq)), v.associated_data);
  assert.equal(v.recipients.length, 2);
  let refused = 0;
  for (const r of v.recipients) {
    const key = fromHex(r.key);
    const secret = fromHex(r.x25519_secret);
    // Both boxes open, and the AEAD alone opens under both keys, to different words.
    assert.equal(toHex(sealOpen(secret, fromHex(r.sealed))), r.content_key);
    assert.equal(toHex(aeadDecrypt(fromHex(r.content_key), env.nonce, env.ciphertext, directAd(groupId, at.author, at.seq))), r.aead_plaintext);
    const disclosure = { e: fromHex(v.entry), p: payload, k: fromHex(r.content_key) };
    if (r.error !== undefined) {
      assert.equal(codeOf(() => openDirectKey(env, key, secret)), r.error);
      assert.equal(codeOf(() => openDirect(env, at, key, secret)), r.error);
      assert.equal(codeOf(() => verifyDisclosure(groupId, disclosure)), r.disclosure_error);
      refused++;
    } else {
      assert.equal(toHex(openDirect(env, at, key, secret)), r.plaintext);
      assert.equal(toHex(verifyDisclosure(groupId, disclosure).plaintext), r.disclosed_plaintext);
    }
  }
  assert.equal(refused, 1);
});

test("support.json: malformed control payloads and envelopes are group.malformed_payload", () => {
  const vectors = supportFile().filter((v) => typeof v["kind"] === "number" && v["error"] !== undefined) as unknown as {
    name: string;
    kind: number;
    payload: string;
    error: string;
  }[];
  assert.equal(vectors.length, 30);
  const author = new Uint8Array(32).fill(7);
  for (const v of vectors) {
    const kind = BigInt(v.kind);
    const payload = fromHex(v.payload);
    const code = kind >= 16n ? codeOf(() => checkEnvelope(kind, payload)) : codeOf(() => decodeControlPayload(kind, payload, author));
    assert.equal(code, v.error, v.name);
  }
});

test("tests/vectors/xchacha20poly1305.json: the AEAD of section 2 (draft-irtf-cfrg-xchacha-03 A.3.1)", () => {
  const v = loadRepoJson<{ aead: { key: string; nonce: string; aad: string; plaintext: string; ciphertext: string; tag: string } }>(
    "tests/vectors/xchacha20poly1305.json",
  ).aead;
  const sealed = aeadEncrypt(fromHex(v.key), fromHex(v.nonce), fromHex(v.plaintext), fromHex(v.aad));
  assert.equal(toHex(sealed), v.ciphertext + v.tag);
  assert.equal(toHex(aeadDecrypt(fromHex(v.key), fromHex(v.nonce), sealed, fromHex(v.aad))), v.plaintext);
  const bad = sealed.slice();
  bad[bad.length - 1]! ^= 1;
  assert.equal(codeOf(() => aeadDecrypt(fromHex(v.key), fromHex(v.nonce), bad, fromHex(v.aad))), "crypto.decrypt_failed");
  assert.equal(codeOf(() => aeadDecrypt(fromHex(v.key), fromHex(v.nonce), sealed, new Uint8Array(0))), "crypto.decrypt_failed");
  assert.equal(codeOf(() => aeadEncrypt(new Uint8Array(31), fromHex(v.nonce), sealed, new Uint8Array(0))), "crypto.bad_key");
});

test("pad and unpad: every length up to a few past each bucket edge round-trips; bad padding is refused", () => {
  const lengths = new Set<number>();
  for (const b of [0, 64, 256, 1024, 4096, 16384, 65280]) for (let d = -3; d <= 3; d++) if (b + d >= 0) lengths.add(b + d);
  for (let n = 0; n < 300; n++) lengths.add(n);
  for (const n of lengths) {
    const m = Uint8Array.from({ length: n }, (_, i) => (i * 7 + 1) & 0xff);
    if (n > 65279) {
      assert.equal(codeOf(() => pad(m)), "e2ee.bad_padding");
      continue;
    }
    const p = pad(m);
    assert.ok([64, 256, 1024, 4096, 16384, 65280].includes(p.length));
    assert.ok(p.length > n);
    assert.ok(equalBytes(unpad(p), m));
  }
  // A receiver accepts any bucket, minimal or not.
  const wide = new Uint8Array(1024);
  wide.set([1, 2, 3, 0x80]);
  assert.deepEqual([...unpad(wide)], [1, 2, 3]);
  assert.equal(codeOf(() => unpad(new Uint8Array(64))), "e2ee.bad_padding");
  assert.equal(codeOf(() => unpad(new Uint8Array(65))), "e2ee.bad_padding");
  const noMarker = new Uint8Array(64);
  noMarker[10] = 0x81;
  assert.equal(codeOf(() => unpad(noMarker)), "e2ee.bad_padding");
});

test("receiver chains: any delivery order within the window reads every message once; nothing else moves them", () => {
  const r = rng(18);
  const groupId = new Uint8Array(32).fill(0x8f);
  const author = x25519PublicKey(new Uint8Array(32).fill(3)); // any 32 bytes name the sender here
  const epoch = new Uint8Array(32).fill(9);
  const epochKey = new Uint8Array(32).fill(1);
  for (let round = 0; round < 5; round++) {
    const sender = new SenderChain(epochKey, author);
    const sent = Array.from({ length: 40 }, (_, s) => {
      const { index, key } = sender.take();
      const at = { groupId, author, seq: BigInt(s + 2) };
      const plaintext = Uint8Array.of(s, round);
      return { at, plaintext, env: decodeMessageEnvelope(sealMessage(key, at, epoch, index, plaintext)) };
    });
    const order = sent.map((_, i) => i).sort(() => r() - 0.5);
    const chains = new ReceiverChains();
    chains.addEpoch(epoch, epochKey, [author]);
    for (const i of order) {
      const m = sent[i]!;
      // A tampered copy first: refused, and the chain does not move.
      const before = chains.chain(epoch, author)!.nextIndex;
      const tampered = { ...m.env, ciphertext: m.env.ciphertext.map((b, j) => (j === 0 ? b ^ 1 : b)) };
      assert.equal(codeOf(() => chains.open(m.at, tampered)), "crypto.decrypt_failed");
      const wrongCommit = { ...m.env, commitment: new Uint8Array(32) };
      assert.equal(codeOf(() => chains.open(m.at, wrongCommit)), "e2ee.bad_commitment");
      const moved = { ...m.at, seq: m.at.seq + 1n };
      assert.equal(codeOf(() => chains.open(moved, m.env)), "crypto.decrypt_failed");
      assert.equal(chains.chain(epoch, author)!.nextIndex, before);
      assert.ok(equalBytes(chains.open(m.at, m.env).plaintext, m.plaintext));
      assert.equal(codeOf(() => chains.open(m.at, m.env)), "e2ee.ratchet_window");
    }
    assert.equal(chains.chain(epoch, author)!.skippedCount, 0);
  }
});

test("receiver chains: at most 2000 indices ahead, at most 2000 skipped keys, the oldest dropped first", () => {
  const ck0 = new Uint8Array(32).fill(4);
  const chain = new ReceiverChain(ck0);
  assert.equal(codeOf(() => chain.key(BigInt(RATCHET_WINDOW + 1))), "e2ee.ratchet_window");
  const k2000 = chain.key(BigInt(RATCHET_WINDOW));
  let ck: Uint8Array = ck0;
  for (let i = 0; i < RATCHET_WINDOW; i++) ck = nextChainKey(ck);
  assert.ok(equalBytes(k2000, messageKey(ck)));
  chain.consume(BigInt(RATCHET_WINDOW)); // skips 0..1999
  assert.equal(chain.skippedCount, RATCHET_WINDOW);
  chain.consume(BigInt(RATCHET_WINDOW + 2)); // skips 2001: index 0 is dropped
  assert.equal(chain.skippedCount, RATCHET_WINDOW);
  assert.equal(codeOf(() => chain.key(0n)), "e2ee.ratchet_window");
  assert.ok(equalBytes(chain.key(1n), messageKey(nextChainKey(ck0))));
  assert.equal(codeOf(() => chain.key(BigInt(RATCHET_WINDOW))), "e2ee.ratchet_window");
});

test("sealed boxes: round trip, 48 bytes of overhead, and every altered byte refused", () => {
  const r = rng(7);
  const secret = Uint8Array.from({ length: 32 }, () => Math.floor(r() * 256));
  const pk = x25519PublicKey(secret);
  const m = Uint8Array.from({ length: 32 }, () => Math.floor(r() * 256));
  const box = seal(pk, m);
  assert.equal(box.length, 80);
  assert.ok(equalBytes(sealOpen(secret, box), m));
  for (let i = 0; i < box.length; i += 5) {
    const bad = box.slice();
    bad[i]! ^= 0x20;
    assert.equal(codeOf(() => sealOpen(secret, bad)), "crypto.decrypt_failed", `byte ${i}`);
  }
  assert.equal(codeOf(() => sealOpen(secret, box.subarray(0, 47))), "crypto.decrypt_failed");
  assert.equal(codeOf(() => seal(new Uint8Array(32), m)), "crypto.bad_key"); // small order
  assert.equal(codeOf(() => sealDirect({ groupId: pk, author: pk, seq: 2n }, [], m)), "e2ee.no_recipients");
});
