import assert from "node:assert/strict";
import { test } from "node:test";
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
