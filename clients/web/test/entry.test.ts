import assert from "node:assert/strict";
import { test } from "node:test";
import { fromHex, toHex } from "../src/bytes.js";
import { decode, encode } from "../src/cbor.js";
import { H } from "../src/crypto.js";
import { createEntry, decodeEntry, type EntryHeader } from "../src/entry.js";
import { codeOf, loadVectors, rng } from "./helpers.js";

interface EntryVector {
  name: string;
  entry: string;
  payload: string | null;
  now_ms: number;
  valid?: true;
  error?: string;
  entry_id?: string;
  signed_message?: string;
  fields?: Record<string, string | number | null>;
}


function fieldsOf(h: EntryHeader): Record<string, string | number | null> {
  return {
    a: toHex(h.a),
    g: toHex(h.g),
    h: toHex(h.h),
    k: Number(h.k),
    n: Number(h.n),
    p: h.p === null ? null : toHex(h.p),
    s: Number(h.s),
    t: Number(h.t),
    v: h.v,
  };
}

test("entries.json: every vector, with the code of the first failing check of 6.2", () => {
  const vectors = loadVectors<EntryVector[]>("entries.json");
  assert.equal(vectors.length, 25);
  let checked = 0;
  for (const v of vectors) {
    const bytes = fromHex(v.entry);
    const payload = v.payload === null ? null : fromHex(v.payload);
    const now = BigInt(v.now_ms);
    if (v.valid === true) {
      const e = decodeEntry(bytes, payload, now);
      assert.equal(toHex(e.id), v.entry_id, v.name);
      assert.equal(toHex(e.signedMessage), v.signed_message, v.name);
      assert.deepEqual(fieldsOf(e.header), v.fields, v.name);
    } else {
      assert.equal(codeOf(() => decodeEntry(bytes, payload, now)), v.error, v.name);
    }
    checked++;
  }
  assert.equal(checked, vectors.length);
});

test("create and sign: a log of entries that validate, hash-linked", () => {
  const r = rng(5);
  const seed = Uint8Array.from({ length: 32 }, () => Math.floor(r() * 256));
  const group = new Uint8Array(32).fill(0x8f);
  let prev: Uint8Array | null = null;
  for (let s = 1n; s <= 5n; s++) {
    const payload = Uint8Array.from({ length: Math.floor(r() * 100) }, () => Math.floor(r() * 256));
    const e = createEntry(seed, { group, seq: s, prev, timeMs: 1_764_000_000_000n + s, kind: 16n, payload });
    const again = decodeEntry(e.bytes, payload, 1_764_000_000_000n);
    assert.equal(toHex(again.id), toHex(H(e.bytes)));
    assert.equal(again.header.s, s);
    assert.equal(again.header.p === null ? null : toHex(again.header.p), prev === null ? null : toHex(prev));
    assert.equal(codeOf(() => decodeEntry(e.bytes, payload.length > 0 ? payload.subarray(1) : Uint8Array.of(0), null)), "entry.payload_mismatch");
    assert.equal(codeOf(() => decodeEntry(e.bytes, null, e.header.t - 300_001n)), "entry.future_timestamp");
    assert.equal(codeOf(() => decodeEntry(e.bytes, null, e.header.t - 300_000n)), null);
    prev = e.id;
  }
  // The author's own refusals come with the receiver's codes.
  const base = { group, seq: 1n, prev: null, timeMs: 1n, kind: 16n, payload: new Uint8Array(0) };
  assert.equal(codeOf(() => createEntry(seed, { ...base, kind: 18n })), "entry.unknown_kind");
  assert.equal(codeOf(() => createEntry(seed, { ...base, seq: 2n })), "entry.malformed");
  assert.equal(codeOf(() => createEntry(seed, { ...base, payload: new Uint8Array(65_537) })), "entry.oversize");
  assert.equal(codeOf(() => createEntry(seed, { ...base, kind: 3n, payload: new Uint8Array(65_537) })), null);
});

test("6.2 checks in order: a header with several defects gets the first one's code", () => {
  const seed = new Uint8Array(32).fill(1);
  const e = createEntry(seed, { group: new Uint8Array(32), seq: 2n, prev: new Uint8Array(32), timeMs: 5n, kind: 16n, payload: Uint8Array.of(1) });
  const m = decode(e.bytes) as Map<string, unknown>;
  const variant = (changes: Record<string, unknown>, drop: string[] = []): Uint8Array => {
    const x = new Map(m);
    for (const [k, v] of Object.entries(changes)) x.set(k, v);
    for (const k of drop) x.delete(k);
    return encode(x as Parameters<typeof encode>[0]);
  };
  const cases: [Uint8Array, string][] = [
    [variant({ v: 2n, k: 99n }), "entry.bad_version"],
    [variant({ v: true }), "entry.malformed"],
    [variant({ x: 1n, k: 99n }), "entry.malformed"],
    [variant({ k: 99n, s: true }), "entry.malformed"],
    [variant({ g: new Uint8Array(31), k: 99n }), "entry.malformed"],
    [variant({ s: 1n }), "entry.malformed"], // p is not null
    [variant({ s: 1n << 63n }), "entry.malformed"],
    [variant({ t: 1n << 63n }), "entry.malformed"],
    [variant({ k: 18n, n: 1n << 40n }), "entry.unknown_kind"],
    [variant({ n: 65_537n, t: 1n << 62n }), "entry.oversize"],
    [variant({ t: 1n << 62n }), "entry.future_timestamp"],
    [variant({ n: 2n }), "entry.bad_signature"],
    [variant({}, ["sig"]), "entry.malformed"],
  ];
  for (const [bytes, code] of cases) assert.equal(codeOf(() => decodeEntry(bytes, Uint8Array.of(9), 1_000_000n)), code, code);
  assert.equal(codeOf(() => decodeEntry(new Uint8Array(1025))), "entry.oversize");
  assert.equal(codeOf(() => decodeEntry(Uint8Array.of(0x80))), "entry.malformed");
});
