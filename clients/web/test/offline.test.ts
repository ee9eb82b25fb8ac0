import assert from "node:assert/strict";
import { test } from "node:test";
import { fromHex, toHex } from "../src/bytes.js";
import { type CborMap, type CborValue, encode } from "../src/cbor.js";
import { encodeContent } from "../src/content.js";
import { HoldspaceError } from "../src/errors.js";
import { MessageReader, encodeServerFrame, frameMessage, parseRequest } from "../src/frames.js";
import { HistoryStore } from "../src/history.js";
import { decodeOutItem, encodeOutItem, type FlushResult, OUT, Outbox, type OutItem, type Publisher, flushWhenOnline } from "../src/outbox.js";
import { backupId, backupKey, parseWords, sealBackup, openBackup } from "../src/recovery.js";
import { MemoryStorage } from "../src/storage.js";
import { namedPaths, versionOf } from "../src/sw.js";
import type { ByteChannel } from "../src/transport.js";
import { NodeClient } from "../src/transport_client.js";
import { loadVectors } from "./helpers.js";

interface SV { name: string; words?: string; recovery_key?: string; backup_key?: string; backup_id?: string; frame?: string; error?: string }

test("backup_store.json: the backup id of a recovery key, as the Python client derives it", () => {
  const v = loadVectors<SV[]>("backup_store.json").find((x) => x.name === "backup id")!;
  const key = parseWords(v.words!);
  assert.equal(toHex(key), v.recovery_key);
  assert.equal(toHex(backupKey(key)), v.backup_key);
  assert.equal(toHex(backupId(backupKey(key))), v.backup_id);
  assert.throws(() => backupId(new Uint8Array(16)), (e: unknown) => e instanceof HoldspaceError && e.code === "backup.malformed");
});

/** A node that keeps backups in a map (as spec 14.8 says, without the checks), over a byte channel. */
function backupNode(held: Map<string, Uint8Array>): ByteChannel {
  const reader = new MessageReader();
  const inbox: Uint8Array[] = [];
  let wake: (() => void) | null = null;
  const send = (f: Uint8Array): void => {
    inbox.push(frameMessage(f));
    wake?.();
  };
  return {
    kind: "websocket",
    write: async (bytes) => {
      for (const frame of reader.push(bytes)) {
        const { op, id, fields } = parseRequest(frame);
        const b = toHex(fields.get("b") as Uint8Array);
        if (op === "backup_put") {
          assert.deepEqual([...fields.keys()].sort(), ["b", "data", "g"]);
          held.set(b, fields.get("data") as Uint8Array);
          send(encodeServerFrame({ kind: "ok", id, ok: new Map() }));
        } else if (op === "backup_get" && held.has(b)) {
          send(encodeServerFrame({ kind: "ok", id, ok: new Map([["data", held.get(b)!]]) }));
        } else send(encodeServerFrame({ kind: "err", id, code: "proto.not_found", msg: "none" }));
      }
    },
    read: async () => {
      while (inbox.length === 0) await new Promise<void>((r) => (wake = r));
      return inbox.shift()!;
    },
    close: () => undefined,
  };
}

test("a backup kept on the node under its id comes back with the words alone", async () => {
  const held = new Map<string, Uint8Array>();
  const words = loadVectors<SV[]>("backup_store.json").find((x) => x.name === "backup id")!.words!;
  const key = backupKey(parseWords(words));
  const backup = { master: new Uint8Array(32).fill(5), node: null, groups: [] };
  const client = new NodeClient(backupNode(held));
  await client.putBackup(backupId(key), new Uint8Array(32).fill(1), sealBackup(key, backup));
  assert.deepEqual([...held.keys()], [toHex(backupId(key))]);
  const fresh = new NodeClient(backupNode(held)); // a new device: the same node, nothing else
  const back = openBackup(backupKey(parseWords(words)), await fresh.getBackup(backupId(backupKey(parseWords(words)))));
  assert.deepEqual(back.master, backup.master);
  await assert.rejects(fresh.getBackup(new Uint8Array(32)), (e: unknown) => e instanceof HoldspaceError && e.code === "proto.not_found");
});

/** A node that stores entries by header (answering a held one again with cursor 0), or refuses;
 * `seen` is called with each publish before it is answered. */
class FakeNode implements Publisher {
  readonly held: string[] = [];
  refuse: Map<string, string> = new Map(); // header hex -> code
  hang = false;
  seen: (header: Uint8Array) => Promise<void> = async () => undefined;
  async request(op: string, fields: CborMap): Promise<CborMap> {
    assert.equal(op, "publish");
    await this.seen(fields.get("e") as Uint8Array);
    const e = toHex(fields.get("e") as Uint8Array);
    if (this.hang) return new Promise<CborMap>(() => undefined);
    const code = this.refuse.get(e);
    if (code !== undefined) throw new HoldspaceError(code, "refused");
    const c = this.held.includes(e) ? 0n : BigInt(this.held.push(e));
    return new Map<string, CborValue>([["c", c]]);
  }
}

const bytes = (n: number): Uint8Array => new Uint8Array([n]);
const G = new Uint8Array(32).fill(1);
const H = new Uint8Array(32).fill(2);
const words = (s: string): Uint8Array => encodeContent({ t: "text", b: s });

async function outboxIn(storage: MemoryStorage): Promise<Outbox> {
  return new Outbox(await HistoryStore.open(storage, new Uint8Array(32).fill(4), 1 << 20));
}

/** Queues a signed entry whose header is the one byte `n`. */
function addSigned(outbox: Outbox, n: number, group = G): Promise<OutItem> {
  return outbox.add(group, words(`item ${n}`), "group", 1000 + n, [bytes(n), bytes(100 + n)]);
}

const headers = async (outbox: Outbox): Promise<string[]> => (await outbox.pending()).map((q) => toHex(q.entry![0]));

test("the outbox sends in order and removes an item only once the node acknowledged it; transient refusals keep it", async () => {
  for (const transient of ["proto.busy", "quota.group_full", "quota.node_full", "proto.in_flight"]) {
    const storage = new MemoryStorage();
    const outbox = await outboxIn(storage);
    for (let i = 1; i <= 3; i++) await addSigned(outbox, i);
    const node = new FakeNode();
    node.refuse.set("02", transient);
    const first = await outbox.flush(node);
    assert.equal(first.sent.length, 1);
    assert.equal(first.stoppedBy, transient);
    assert.deepEqual(node.held, ["01"]);
    assert.deepEqual(await headers(outbox), ["02", "03"]); // kept, in order
    node.refuse.clear();
    const second = await outbox.flush(node);
    assert.equal(second.stoppedBy, null);
    assert.deepEqual(node.held, ["01", "02", "03"]);
    assert.deepEqual(await storage.keys(OUT), []);
  }
});

test("a page closed before the ack sends the same bytes again and the node holds them once", async () => {
  const storage = new MemoryStorage();
  const node = new FakeNode();
  const before = await outboxIn(storage);
  await addSigned(before, 7);
  node.hang = true; // the node stores it, the answer never arrives: the page closes meanwhile
  void before.flush(node);
  node.held.push("07"); // what the node stored of that send
  await new Promise((r) => setTimeout(r, 10));
  assert.equal((await before.pending()).length, 1); // not acknowledged: still queued
  node.hang = false;
  const after = await outboxIn(storage); // the page opened again: a new outbox on the same storage
  const r = await after.flush(node);
  assert.equal(r.sent.length, 1);
  assert.deepEqual(node.held, ["07"]); // held once
  assert.deepEqual(await after.pending(), []);
});

test("an item the node refuses for good stays, marked with its code, is never sent again; later ones still go", async () => {
  const outbox = await outboxIn(new MemoryStorage());
  await addSigned(outbox, 1);
  await addSigned(outbox, 2);
  const node = new FakeNode();
  node.refuse.set("01", "group.not_member");
  const r = await outbox.flush(node);
  assert.deepEqual(r.refused.map((x) => x.code), ["group.not_member"]);
  assert.deepEqual(node.held, ["02"]);
  const left = await outbox.pending();
  assert.deepEqual(left.map((q) => [q.error, q.entry]), [["group.not_member", null]]);
  node.refuse.clear();
  assert.deepEqual(await outbox.flush(node), { sent: [], refused: [], stoppedBy: null }); // not sent again
  assert.deepEqual(node.held, ["02"]);
});

test("a failed connection keeps everything queued", async () => {
  const outbox = await outboxIn(new MemoryStorage());
  await addSigned(outbox, 1);
  const r = await outbox.flush({ request: () => Promise.reject(new Error("network down")) });
  assert.equal(r.stoppedBy, "web.unreachable");
  assert.equal((await outbox.pending()).length, 1);
});

test("an item is signed only when its turn comes, kept signed before it is sent, and re-sent as those bytes", async () => {
  const storage = new MemoryStorage();
  const outbox = await outboxIn(storage);
  await outbox.add(G, words("first"), "group", 1);
  await outbox.add(H, words("another group's"), "facilitators", 2);
  await outbox.add(G, words("second"), "group", 3);
  const node = new FakeNode();
  let keys = false;
  let signed = 0;
  const sign = async (item: OutItem): Promise<[Uint8Array, Uint8Array] | null> => {
    if (!keys) return null;
    signed++;
    return [bytes(10 + signed), item.content];
  };
  const waiting = await outbox.flush(node, { group: G, sign });
  assert.equal(waiting.stoppedBy, "unsigned"); // no keys yet: the first waits, and the second behind it
  assert.deepEqual(node.held, []);
  keys = true;
  // the entry is in the store before the node sees it; the answer is lost
  node.seen = async (h) => assert.deepEqual((await (await outboxIn(storage)).pending(G))[0]!.entry![0], h);
  node.refuse.set("0b", "web.unreachable");
  assert.equal((await outbox.flush(node, { group: G, sign })).stoppedBy, "web.unreachable");
  node.refuse.clear();
  const acked: string[] = [];
  const r = await outbox.flush(node, { group: G, sign, acknowledged: async (_i, [h]) => void acked.push(toHex(h)) });
  assert.equal(r.sent.length, 2);
  assert.equal(signed, 2); // the first was signed once, and sent again as it was
  assert.deepEqual(node.held, ["0b", "0c"]);
  assert.deepEqual(acked, ["0b", "0c"]);
  assert.deepEqual((await outbox.pending()).map((q) => [toHex(q.groupId), q.to]), [[toHex(H), "facilitators"]]); // the other group's waits
});

test("outbox records round-trip; a damaged one is skipped, and any changed byte decodes or is a typed error", async () => {
  const storage = new MemoryStorage();
  const history = await HistoryStore.open(storage, new Uint8Array(32).fill(4), 1 << 20);
  const outbox = new Outbox(history);
  const item = await outbox.add(G, words("kept"), "moderators", 5, [bytes(1), bytes(2)]);
  assert.deepEqual(decodeOutItem(item.key, encodeOutItem(item)), item);
  await history.put(OUT, "zzz", encode(new Map<string, CborValue>([["e", bytes(1)], ["b", bytes(2)]]))); // not an item
  assert.deepEqual((await outbox.pending()).map((q) => q.key), [item.key]);
  const next = await outbox.add(G, words("after it"), "group", 6); // numbered past the items, not the stray key
  assert.deepEqual((await outbox.pending()).map((q) => q.key), ["0000000000000", "0000000000001"]);
  assert.equal(next.key, "0000000000001");
  const record = encodeOutItem(item);
  for (let i = 0; i < record.length; i++) {
    const spoilt = record.slice();
    spoilt[i]! ^= 0x41;
    try {
      decodeOutItem("k", spoilt);
    } catch (e) {
      assert.ok(e instanceof HoldspaceError, String(e));
    }
  }
});

test("coming back online flushes the outbox; after stopping, it no longer does", async () => {
  const outbox = await outboxIn(new MemoryStorage());
  await addSigned(outbox, 9);
  const node = new FakeNode();
  const window = new EventTarget();
  let done!: (r: FlushResult) => void;
  const flushed = new Promise<FlushResult>((r) => (done = r));
  const stop = flushWhenOnline(window, () => outbox.flush(node), done);
  window.dispatchEvent(new Event("online"));
  assert.deepEqual((await flushed).sent.length, 1);
  assert.deepEqual(node.held, ["09"]);
  stop();
  await addSigned(outbox, 10);
  window.dispatchEvent(new Event("online"));
  await new Promise((r) => setTimeout(r, 10));
  assert.equal((await outbox.pending()).length, 1); // no listener any more
});

test("the service worker keys the shell by the bundle's hash and keeps what the page names", () => {
  const page = (
    '<link rel="manifest" href="/manifest.webmanifest"><link rel="icon" href="/icon-192.png">' +
      '<script type="module" src="/holdspace.js" integrity="sha384-abc" crossorigin="anonymous"></script>' +
      '<a href="https://elsewhere.example/x">x</a><a href="//evil.example/y">y</a>'
  );
  assert.equal(versionOf(page), "sha384-abc");
  assert.deepEqual(namedPaths(page).sort(), ["/holdspace.js", "/icon-192.png", "/manifest.webmanifest"]);
  assert.equal(versionOf("<p>no script</p>"), null);
});

