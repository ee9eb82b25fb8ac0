import assert from "node:assert/strict";
import { test } from "node:test";
import { codeOf } from "./helpers.js";
import type { CborValue } from "../src/cbor.js";
import { MessageReader, encodeServerFrame, parseRequest } from "../src/frames.js";
import { ClientSession } from "../src/session.js";

const g = new Uint8Array(32);
const ok = (id: bigint, fields: [string, CborValue][] = []): Uint8Array =>
  encodeServerFrame({ kind: "ok", id, ok: new Map(fields) });
const event = (id: bigint, ev: string): Uint8Array =>
  encodeServerFrame({ kind: "event", id, ev, fields: new Map([["next", 1n]]) });


test("ids count up from 0; answers in any order each end their own request", () => {
  const s = new ClientSession();
  const reader = new MessageReader();
  const a = s.request("hello", new Map([["v", 2n]]));
  const b = s.request("state", new Map([["g", g]]));
  const [fa, fb] = reader.push(new Uint8Array([...a.message, ...b.message]));
  assert.equal(parseRequest(fa!).id, 0n);
  assert.equal(parseRequest(fb!).id, 1n);
  assert.equal(s.inFlightCount, 2);
  const second = s.receive(ok(1n));
  assert.equal(second.kind === "final" && second.op, "state");
  assert.equal(s.receive(ok(0n)).kind, "final");
  assert.equal(s.inFlightCount, 0);
  // An answer naming no request in flight (one already answered) is the node's fault.
  assert.equal(codeOf(() => s.receive(ok(0n))), "proto.malformed_frame");
  assert.equal(s.request("state", new Map([["g", g]])).id, 2n); // never reused
});

test("the in-flight limit is kept locally; subscriptions do not count", () => {
  const s = new ClientSession(2);
  s.request("state", new Map([["g", g]]));
  s.request("subscribe", new Map<string, CborValue>([["g", g], ["after", 0n]]));
  s.request("state", new Map([["g", g]]));
  assert.equal(codeOf(() => s.request("state", new Map([["g", g]]))), "proto.in_flight");
  s.receive(ok(0n));
  assert.equal(s.request("state", new Map([["g", g]])).id, 3n);
});

test("subscriptions: events until cancelled, then dropped; unknown events ignored", () => {
  const s = new ClientSession();
  const sub = s.request("subscribe", new Map<string, CborValue>([["g", g], ["after", 0n]])).id;
  assert.equal(s.receive(event(sub, "subscribed")).kind, "event");
  assert.equal(s.receive(event(sub, "someday")).kind, "ignored");
  const c = s.cancel(sub);
  assert.equal(s.receive(event(sub, "entries")).kind, "ignored");
  assert.equal(s.receive(ok(sub, [["next", 1n]])).kind, "final");
  assert.equal(s.receive(ok(c.id)).kind, "final");
  const st = s.request("state", new Map([["g", g]])).id;
  assert.equal(codeOf(() => s.receive(event(st, "entries"))), "proto.malformed_frame");
  const fatal = s.receive(encodeServerFrame({ kind: "err", id: null, code: "proto.malformed_frame", msg: "x" }));
  assert.deepEqual(fatal, { kind: "fatal", code: "proto.malformed_frame", msg: "x" });
});
