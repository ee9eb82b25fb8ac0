import assert from "node:assert/strict";
import { test } from "node:test";
import { ascii, equalBytes, fromHex, toHex } from "../src/bytes.js";
import { H } from "../src/crypto.js";
import { authoriseSignal, circleCallId, openSignal, sealSignal, type Signal, type SignalType } from "../src/call/signal.js";
import { HoldspaceError } from "../src/errors.js";
import { loadVectors } from "./helpers.js";

interface SignalVector {
  name: string;
  group: string;
  circle?: string;
  sender_role?: string | null;
  from: string;
  to: string;
  to_x25519_secret: string;
  to_x25519: string;
  now_ms: number;
  box: string;
  ephemeral?: string;
  plaintext?: string;
  signal?: { call: string; t: string; d: string; ts: number };
  error?: string;
}

const ALL = loadVectors<SignalVector[]>("call_signal.json");
const VECTORS = ALL.filter((v) => v.circle === undefined);

test("every signal vector opens to its signal, or is refused with its code", () => {
  assert.ok(VECTORS.length >= 6);
  for (const v of VECTORS) {
    const open = (): Signal => {
      const s = openSignal(fromHex(v.to_x25519_secret), fromHex(v.group), fromHex(v.from), fromHex(v.to), fromHex(v.box), BigInt(v.now_ms));
      if (v.sender_role !== undefined) authoriseSignal(s, v.sender_role);
      return s;
    };
    if (v.error !== undefined) {
      assert.throws(open, (e: unknown) => e instanceof HoldspaceError && e.code === v.error, v.name);
      continue;
    }
    const s = open();
    assert.deepEqual({ call: toHex(s.call), t: s.type, d: s.data, ts: Number(s.timeMs) }, v.signal, v.name);
  }
});

test("a signal sealed here with the vector's ephemeral secret is the vector's box, byte for byte", () => {
  const seed = H(ascii("seed:alice")); // the sender of the vectors (spec/generate_vectors.py)
  for (const v of VECTORS.filter((x) => x.signal !== undefined)) {
    const sig = v.signal!;
    const s: Signal = { call: fromHex(sig.call), type: sig.t as SignalType, data: sig.d, timeMs: BigInt(sig.ts) };
    const box = sealSignal(seed, fromHex(v.group), fromHex(v.to), fromHex(v.to_x25519), s, fromHex(v.ephemeral!));
    assert.ok(equalBytes(box, fromHex(v.box)), v.name);
  }
});

test("the call-control vectors: a facilitator's act, anyone's hand, the rest refused by role", () => {
  const controls = VECTORS.filter((v) => v.sender_role !== undefined);
  assert.ok(controls.length >= 9);
  for (const v of controls) {
    const s = openSignal(fromHex(v.to_x25519_secret), fromHex(v.group), fromHex(v.from), fromHex(v.to), fromHex(v.box), BigInt(v.now_ms));
    const acts = (): void => authoriseSignal(s, v.sender_role!);
    if (v.error === undefined) acts();
    else assert.throws(acts, (e: unknown) => e instanceof HoldspaceError && e.code === v.error, v.name);
  }
});

test("a group's live circle has the vector's call id", () => {
  const circles = ALL.filter((v) => v.circle !== undefined);
  assert.equal(circles.length, 1);
  for (const v of circles) assert.equal(toHex(circleCallId(fromHex(v.group))), v.circle);
});
