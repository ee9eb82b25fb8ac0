import assert from "node:assert/strict";
import { test } from "node:test";
import { codeOf } from "./helpers.js";
import type { CborValue } from "../src/cbor.js";
import { publicKey, verify } from "../src/crypto.js";
import { HoldspaceError } from "../src/errors.js";
import { MessageReader, encodeServerFrame, frameMessage, parseHello, parseRequest } from "../src/frames.js";
import { type ByteChannel, parseEndpoints } from "../src/transport.js";
import { NodeClient, authMessage } from "../src/transport_client.js";

/** A channel to a scripted node: `answer` gets each request and returns the frames to send back. */
function scripted(answer: (op: string, id: bigint, fields: Map<string, CborValue>) => Uint8Array[]): {
  channel: ByteChannel;
  end: () => void;
} {
  const reader = new MessageReader();
  const inbox: (Uint8Array | null)[] = [];
  let wake: (() => void) | null = null;
  const push = (x: Uint8Array | null): void => {
    inbox.push(x);
    wake?.();
    wake = null;
  };
  const channel: ByteChannel = {
    kind: "websocket",
    write: async (bytes) => {
      for (const frame of reader.push(bytes)) {
        const r = parseRequest(frame);
        const out = answer(r.op, r.id, r.fields);
        // every frame in its own chunk, split in two: boundaries must not matter
        for (const f of out) {
          const m = frameMessage(f);
          push(m.subarray(0, 3));
          push(m.subarray(3));
        }
      }
    },
    read: async () => {
      while (inbox.length === 0) await new Promise<void>((r) => (wake = r));
      return inbox.shift() ?? null;
    },
    close: () => push(null),
  };
  return { channel, end: () => push(null) };
}

const ok = (id: bigint, fields: [string, CborValue][]): Uint8Array => encodeServerFrame({ kind: "ok", id, ok: new Map(fields) });
const nodeKey = new Uint8Array(32).fill(7);
const challenge = new Uint8Array(32).fill(9);

test("hello, then auth signs the challenge, the node's key and the pseudonym", async () => {
  let signed: { k: Uint8Array; sig: Uint8Array } | null = null;
  const { channel } = scripted((op, id, fields) => {
    if (op === "hello")
      return [ok(id, [["v", 3n], ["node", nodeKey], ["challenge", challenge], ["limits", new Map()], ["create", "open"]])];
    if (op === "auth") signed = { k: fields.get("k") as Uint8Array, sig: fields.get("sig") as Uint8Array };
    return [ok(id, [])];
  });
  const client = new NodeClient(channel);
  await client.greet(nodeKey);
  const seed = new Uint8Array(32).fill(3);
  await client.authenticate(seed);
  assert.ok(signed !== null);
  const { k, sig } = signed as { k: Uint8Array; sig: Uint8Array };
  assert.deepEqual(k, publicKey(seed));
  const message = authMessage(challenge, nodeKey, k);
  assert.deepEqual(message.subarray(0, 18), new TextEncoder().encode("holdspace/v1/auth\0"));
  assert.equal(message.length, 18 + 96);
  assert.ok(verify(k, message, sig));
});

test("a node whose key is not the page's is refused", async () => {
  const { channel } = scripted((_op, id) => [ok(id, [["v", 3n], ["node", challenge], ["challenge", challenge], ["limits", new Map()], ["create", "open"]])]);
  const client = new NodeClient(channel);
  await assert.rejects(client.greet(nodeKey), (e: unknown) => e instanceof HoldspaceError && e.code === "web.wrong_node");
});

test("a version-3 hello tells the node's admission and contact; a version-2 node is greeted again with version 2", async () => {
  const sent: bigint[] = [];
  const v3 = scripted((_op, id, fields) => {
    sent.push(fields.get("v") as bigint);
    return [ok(id, [["v", 3n], ["node", nodeKey], ["challenge", challenge], ["limits", new Map()], ["create", "token"], ["contact", "mailto:abuse@example.org"]])];
  });
  const hello = await new NodeClient(v3.channel).greet(nodeKey);
  assert.deepEqual(sent, [3n]);
  assert.equal(hello.create, "token");
  assert.equal(hello.contact, "mailto:abuse@example.org");
  sent.length = 0;
  const v2 = scripted((_op, id, fields) => {
    sent.push(fields.get("v") as bigint);
    if (fields.get("v") !== 2n) return [encodeServerFrame({ kind: "err", id, code: "proto.bad_version", msg: "this node speaks version 2" })];
    return [ok(id, [["v", 2n], ["node", nodeKey], ["challenge", challenge], ["limits", new Map()]])];
  });
  const old = await new NodeClient(v2.channel).greet(nodeKey);
  assert.deepEqual(sent, [3n, 2n]);
  assert.equal(old.v, 2n);
  assert.equal(old.create, null);
  assert.equal(old.contact, null);
});

test("a hello answer is checked: create for version 3, neither create nor contact for version 2, the version asked", () => {
  const base: [string, CborValue][] = [["node", nodeKey], ["challenge", challenge], ["limits", new Map()]];
  const bad: [Map<string, CborValue>, bigint][] = [
    [new Map([...base, ["v", 3n]]), 3n], // no create
    [new Map([...base, ["v", 3n], ["create", "sometimes"]]), 3n],
    [new Map([...base, ["v", 3n], ["create", "open"], ["contact", 7n]]), 3n],
    [new Map([...base, ["v", 3n], ["create", "open"], ["contact", "x".repeat(301)]]), 3n],
    [new Map([...base, ["v", 2n], ["create", "open"]]), 2n],
    [new Map([...base, ["v", 2n]]), 3n], // not the version asked
    [new Map<string, CborValue>([["v", 3n], ["create", "open"], ["node", nodeKey], ["limits", new Map()]]), 3n],
  ];
  for (const [answer, v] of bad) assert.throws(() => parseHello(answer, v), (e: unknown) => e instanceof HoldspaceError && e.code === "proto.malformed_frame");
  assert.equal(parseHello(new Map([...base, ["v", 3n], ["create", "closed"]]), 3n).contact, null);
});

test("answers in any order reach their own requests; a refusal rejects only its own", async () => {
  const held: Uint8Array[] = [];
  const { channel } = scripted((op, id) => {
    if (op === "identity") return [encodeServerFrame({ kind: "err", id, code: "proto.not_found", msg: "none" })];
    held.push(ok(id, [["n", id]]));
    return held.length === 2 ? held.reverse() : [];
  });
  const client = new NodeClient(channel);
  const g = new Uint8Array(32);
  const a = client.request("state", new Map([["g", g]]));
  const b = client.request("state", new Map([["g", g]]));
  const refused = client.request("identity", new Map([["g", g], ["k", g]]));
  assert.equal((await a).get("n"), 0n);
  assert.equal((await b).get("n"), 1n);
  await assert.rejects(refused, (e: unknown) => e instanceof HoldspaceError && e.code === "proto.not_found");
});

test("events go to their subscription; the end of the channel fails what is pending", async () => {
  const got: string[] = [];
  const { channel, end } = scripted((op, id) =>
    op === "subscribe" ? [encodeServerFrame({ kind: "event", id, ev: "subscribed", fields: new Map([["next", 0n]]) })] : [],
  );
  const client = new NodeClient(channel);
  const sub = client.subscribe(new Uint8Array(32), 0n, (ev) => got.push(ev));
  const pending = client.request("state", new Map([["g", new Uint8Array(32)]]));
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(got, ["subscribed"]);
  end();
  await assert.rejects(pending, (e: unknown) => e instanceof HoldspaceError && e.code === "web.unreachable");
  await assert.rejects(sub.done, (e: unknown) => e instanceof HoldspaceError);
  await assert.rejects(client.request("state", new Map([["g", new Uint8Array(32)]])));
});

test("an error without id from the node ends the session with its code", async () => {
  const { channel } = scripted(() => [encodeServerFrame({ kind: "err", id: null, code: "proto.malformed_frame", msg: "bad" })]);
  const client = new NodeClient(channel);
  await assert.rejects(
    client.request("hello", new Map([["v", 2n]])),
    (e: unknown) => e instanceof HoldspaceError && e.code === "proto.malformed_frame",
  );
});

test("node.json: the endpoints and certificate hashes, or web.bad_info", () => {
  const hash = Buffer.from(new Uint8Array(32).fill(1)).toString("base64");
  const good = { address: "holdspace://x@h:1", webtransport: "https://h:2/wt", websocket: "wss://h:2/ws", certificate_hashes: [hash] };
  const e = parseEndpoints(good);
  assert.equal(e.webtransport, "https://h:2/wt");
  assert.deepEqual(e.certificateHashes, [new Uint8Array(32).fill(1)]);
  for (const bad of [
    null,
    "x",
    { ...good, address: 1 },
    { ...good, webtransport: "http://h:2/wt" },
    { ...good, websocket: "ws://h:2/ws" },
    { ...good, certificate_hashes: "x" },
    { ...good, certificate_hashes: ["AAAA"] },
    { ...good, certificate_hashes: ["!!not base64!!"] },
  ])
    assert.equal(codeOf(() => parseEndpoints(bad)), "web.bad_info", JSON.stringify(bad));
});
