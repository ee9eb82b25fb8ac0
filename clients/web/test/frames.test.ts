import assert from "node:assert/strict";
import { test } from "node:test";
import { fromHex, toHex } from "../src/bytes.js";
import { type CborMap, type CborValue, decode, encode } from "../src/cbor.js";
import { HoldspaceError } from "../src/errors.js";
import {
  FrameError,
  MAX_FRAME,
  MessageReader,
  encodeRequest,
  encodeServerFrame,
  frameMessage,
  parseRequest,
  parseServerFrame,
  parseHello,
} from "../src/frames.js";
import { parseOperatorToken } from "../src/operator_token.js";
import { loadVectors, rng, toJsonForm } from "./helpers.js";

interface FrameVector {
  name: string;
  frame: string;
  decoded?: Record<string, unknown>;
  error?: string;
  id?: number | null;
}

interface AdmissionVector extends FrameVector {
  text?: string;
  token?: string;
}

test("admission.json: the version-3 frames (hello, publish and adopt with a token, the refusals) and the operator's token text", () => {
  const vectors = loadVectors<AdmissionVector[]>("admission.json");
  assert.equal(vectors.length, 14);
  let checked = 0;
  for (const v of vectors) {
    if (v.text !== undefined) {
      if (v.token !== undefined) assert.equal(toHex(parseOperatorToken(v.text)), v.token, v.name);
      else assert.throws(() => parseOperatorToken(v.text!), (e: unknown) => e instanceof HoldspaceError && e.code === v.error, v.name);
      checked++;
      continue;
    }
    const frame = fromHex(v.frame);
    if (v.decoded !== undefined && "op" in v.decoded) {
      const r = parseRequest(frame);
      const whole = new Map(r.fields);
      whole.set("op", r.op);
      whole.set("id", r.id);
      assert.deepEqual(toJsonForm(whole), v.decoded, v.name);
      assert.equal(toHex(encodeRequest(r.op, r.id, r.fields)), v.frame, v.name);
    } else if (v.decoded !== undefined && !("id" in v.decoded)) {
      // a node-to-node answer (16.4), not a frame of the client protocol: canonical CBOR only
      assert.deepEqual(toJsonForm(decode(frame)), v.decoded, v.name);
      assert.equal(toHex(encode(decode(frame))), v.frame, v.name);
    } else if (v.decoded !== undefined) {
      const f = parseServerFrame(frame);
      assert.deepEqual(toJsonForm(decode(frame)), v.decoded, v.name);
      assert.equal(toHex(encodeServerFrame(f)), v.frame, v.name);
      if (v.name.startsWith("hello answer")) {
        assert.equal(f.kind, "ok");
        const hello = parseHello((f as { ok: CborMap }).ok, 3n);
        assert.equal(hello.create, "token", v.name);
        assert.equal(hello.contact, "mailto:abuse@example.org", v.name);
      }
      if (f.kind === "err") assert.equal(f.code, (v.decoded.err as { code: string }).code, v.name);
    } else {
      assert.throws(
        () => parseRequest(frame),
        (e: unknown) => e instanceof FrameError && e.code === v.error && (e.id === null ? null : Number(e.id)) === v.id,
        v.name,
      );
    }
    checked++;
  }
  assert.equal(checked, vectors.length);
});

test("client_frames.json: every frame decodes, re-encodes, or is refused with its code and id", () => {
  const vectors = loadVectors<FrameVector[]>("client_frames.json");
  assert.equal(vectors.length, 26);
  let requests = 0;
  let fromNode = 0;
  let refused = 0;
  for (const v of vectors) {
    const frame = fromHex(v.frame);
    if (v.decoded !== undefined && "op" in v.decoded) {
      const r = parseRequest(frame);
      const whole = new Map(r.fields);
      whole.set("op", r.op);
      whole.set("id", r.id);
      assert.deepEqual(toJsonForm(whole), v.decoded, v.name);
      assert.equal(toHex(encodeRequest(r.op, r.id, r.fields)), v.frame, v.name);
      if (v.name === "large request id") assert.equal(r.id, (1n << 64n) - 1n);
      requests++;
    } else if (v.decoded !== undefined) {
      const f = parseServerFrame(frame);
      assert.deepEqual(toJsonForm(decode(frame)), v.decoded, v.name);
      if (f.kind === "ok") assert.deepEqual(toJsonForm(f.ok), v.decoded.ok, v.name);
      if (f.kind === "err") assert.equal(f.code, (v.decoded.err as { code: string }).code, v.name);
      assert.equal(f.id === null ? undefined : Number(f.id), v.decoded.id, v.name);
      assert.equal(toHex(encodeServerFrame(f)), v.frame, v.name);
      fromNode++;
    } else {
      assert.throws(
        () => parseRequest(frame),
        (e: unknown) => e instanceof FrameError && e.code === v.error && (e.id === null ? null : Number(e.id)) === v.id,
        v.name,
      );
      refused++;
    }
  }
  assert.equal(requests + fromNode + refused, vectors.length);
  assert.ok(requests > 0 && fromNode > 0 && refused > 0);
});

test("requests a client builds are checked against their schema before sending", () => {
  const g = new Uint8Array(32);
  const ok = encodeRequest("fetch", 3n, new Map<string, CborValue>([["g", g], ["after", 0n], ["limit", 512n]]));
  assert.equal(parseRequest(ok).op, "fetch");
  const bad: [string, CborMap, string][] = [
    ["fetch", new Map<string, CborValue>([["g", g], ["after", 0n], ["limit", 513n]]), "proto.malformed_frame"],
    ["fetch", new Map<string, CborValue>([["g", g], ["after", -1n], ["limit", 1n]]), "proto.malformed_frame"],
    ["state", new Map<string, CborValue>([["g", true]]), "proto.malformed_frame"],
    ["publish_many", new Map<string, CborValue>([["entries", []]]), "proto.malformed_frame"],
    ["hello", new Map<string, CborValue>([["v", 1n]]), "proto.bad_version"],
    ["delete", new Map(), "proto.unknown_op"],
  ];
  for (const [op, fields, code] of bad) {
    assert.throws(() => encodeRequest(op, 1n, fields), (e: unknown) => e instanceof FrameError && e.code === code && e.id === 1n, op);
  }
});

test("frames from the node: malformed ones are refused as proto.malformed_frame", () => {
  const bad = [
    "a0", // no id, no err
    "a262696401626f6b01", // ok not a map
    "a162696420", // negative id
    "a262696401636572726161", // err not a map
    "a1626964f5", // boolean id
  ];
  for (const hex of bad) {
    assert.throws(() => parseServerFrame(fromHex(hex)), (e: unknown) => e instanceof HoldspaceError && e.code === "proto.malformed_frame", hex);
  }
});

test("property: messages split across any chunk boundaries come out whole and in order", () => {
  const r = rng(6);
  for (let round = 0; round < 200; round++) {
    const messages = Array.from({ length: 1 + Math.floor(r() * 6) }, () =>
      Uint8Array.from({ length: Math.floor(r() * 300) }, () => Math.floor(r() * 256)),
    );
    const stream = Uint8Array.from(messages.flatMap((m) => [...frameMessage(m)]));
    const reader = new MessageReader();
    const got: Uint8Array[] = [];
    for (let pos = 0; pos < stream.length; ) {
      const n = Math.min(stream.length - pos, Math.floor(r() * 40));
      got.push(...reader.push(stream.subarray(pos, pos + n)));
      pos += n;
    }
    assert.deepEqual(got.map(toHex), messages.map(toHex));
    assert.ok(reader.atBoundary());
  }
});

test("a length prefix over MAX_FRAME is refused before its bytes are buffered", () => {
  const reader = new MessageReader();
  const prefix = new Uint8Array(4);
  new DataView(prefix.buffer).setUint32(0, MAX_FRAME + 1);
  assert.throws(() => reader.push(prefix), (e: unknown) => e instanceof HoldspaceError && e.code === "proto.too_large");
  assert.throws(() => reader.push(Uint8Array.of(0)), (e: unknown) => e instanceof HoldspaceError && e.code === "proto.too_large");
  assert.throws(() => frameMessage(new Uint8Array(MAX_FRAME + 1)), (e: unknown) => e instanceof HoldspaceError && e.code === "proto.too_large");
  const atLimit = new MessageReader();
  assert.equal(atLimit.push(frameMessage(new Uint8Array(MAX_FRAME)))[0]!.length, MAX_FRAME);
});
