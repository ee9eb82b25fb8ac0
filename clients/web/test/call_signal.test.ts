import assert from "node:assert/strict";
import { test } from "node:test";
import { ascii, equalBytes, fromHex, toHex } from "../src/bytes.js";
import { H } from "../src/crypto.js";
import { openSignal, sealSignal, type Signal, type SignalType } from "../src/call/signal.js";
import { HoldspaceError } from "../src/errors.js";
import { loadVectors } from "./helpers.js";

interface SignalVector {
  name: string;
  group: string;
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

const VECTORS = loadVectors<SignalVector[]>("call_signal.json");

test("every signal vector opens to its signal, or is refused with its code", () => {
  assert.ok(VECTORS.length >= 6);
  for (const v of VECTORS) {
    const open = (): Signal =>
      openSignal(fromHex(v.to_x25519_secret), fromHex(v.group), fromHex(v.from), fromHex(v.to), fromHex(v.box), BigInt(v.now_ms));
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
  for (const v of VECTORS.filter((x) => x.error === undefined)) {
    const sig = v.signal!;
    const s: Signal = { call: fromHex(sig.call), type: sig.t as SignalType, data: sig.d, timeMs: BigInt(sig.ts) };
    const box = sealSignal(seed, fromHex(v.group), fromHex(v.to), fromHex(v.to_x25519), s, fromHex(v.ephemeral!));
    assert.ok(equalBytes(box, fromHex(v.box)), v.name);
  }
});
