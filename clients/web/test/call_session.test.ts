import assert from "node:assert/strict";
import { test } from "node:test";
import { Pacer } from "../src/call/pacer.js";
import { iceServersOf } from "../src/call/room.js";
import type { CborValue } from "../src/cbor.js";
import { encodeServerFrame, MessageReader, parseRequest } from "../src/frames.js";
import { ClientSession } from "../src/session.js";
import { codeOf } from "./helpers.js";

const g = new Uint8Array(32);

test("a listen (17.11) gets its events until cancelled, and takes no in-flight slot", () => {
  const s = new ClientSession(1);
  const listen = s.request("listen", new Map([["g", g]]));
  const signal = s.request("signal", new Map<string, CborValue>([["g", g], ["from", g], ["to", g], ["box", new Uint8Array(80)]]));
  const [frame] = new MessageReader().push(signal.message);
  assert.equal(parseRequest(frame!).op, "signal"); // the schema the client knows
  assert.equal(codeOf(() => s.request("state", new Map([["g", g]]))), "proto.in_flight"); // the signal holds the one slot
  const ev = (name: string): Uint8Array =>
    encodeServerFrame({ kind: "event", id: listen.id, ev: name, fields: new Map<string, CborValue>([["box", new Uint8Array(1)]]) });
  assert.equal(s.receive(ev("listening")).kind, "event");
  assert.equal(s.receive(ev("signal")).kind, "event");
  assert.equal(s.receive(encodeServerFrame({ kind: "ok", id: signal.id, ok: new Map([["n", 1n]]) })).kind, "final");
  s.cancel(listen.id);
  assert.equal(s.receive(ev("signal")).kind, "ignored");
});

test("the node's TURN credentials become ICE servers; anything malformed gives none", () => {
  const turn = new Map<string, CborValue>([["urls", ["turn:relay.example:3478"]], ["username", "1700003600"], ["credential", "abc="]]);
  assert.deepEqual(iceServersOf(turn), [{ urls: ["turn:relay.example:3478"], username: "1700003600", credential: "abc=" }]);
  assert.deepEqual(iceServersOf(undefined), []);
  assert.deepEqual(iceServersOf(new Map<string, CborValue>([["urls", [1n]], ["username", "u"], ["credential", "c"]])), []);
});

test("the pacer lets a burst through at once, then one signal per 1/rate seconds, in call order", async () => {
  const pacer = new Pacer(50, 3); // 20 ms a token after a burst of 3
  const start = performance.now();
  const order: number[] = [];
  const times: number[] = [];
  await Promise.all(
    [0, 1, 2, 3, 4, 5].map((i) =>
      pacer.take().then(() => {
        order.push(i);
        times.push(performance.now() - start);
      }),
    ),
  );
  assert.deepEqual(order, [0, 1, 2, 3, 4, 5]);
  assert.ok(times[2]! < 40, `the burst waited ${times[2]} ms`);
  assert.ok(times[5]! >= 55, `six signals at 50/s after a burst of 3 took only ${times[5]} ms`);
});
