import assert from "node:assert/strict";
import { test } from "node:test";
import { fromHex, toHex } from "../src/bytes.js";
import type { CborMap, CborValue } from "../src/cbor.js";
import { HoldspaceError } from "../src/errors.js";
import { MessageReader, encodeServerFrame, frameMessage, parseRequest } from "../src/frames.js";
import { HistoryStore } from "../src/history.js";
import { type FlushResult, OUT, Outbox, type Publisher, flushWhenOnline } from "../src/outbox.js";
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

/** A node that stores entries by header (answering a held one again with cursor 0), or refuses. */
class FakeNode implements Publisher {
  readonly held: string[] = [];
  refuse: Map<string, string> = new Map(); // header hex -> code
  hang = false;
  async request(op: string, fields: CborMap): Promise<CborMap> {
    assert.equal(op, "publish");
    const e = toHex(fields.get("e") as Uint8Array);
    if (this.hang) return new Promise<CborMap>(() => undefined);
    const code = this.refuse.get(e);
    if (code !== undefined) throw new HoldspaceError(code, "refused");
    const c = this.held.includes(e) ? 0n : BigInt(this.held.push(e));
    return new Map<string, CborValue>([["c", c]]);
  }
}

const bytes = (n: number): Uint8Array => new Uint8Array([n]);

async function outboxIn(storage: MemoryStorage): Promise<Outbox> {
  return new Outbox(await HistoryStore.open(storage, new Uint8Array(32).fill(4), 1 << 20));
}

test("the outbox sends in order and removes an entry only once the node acknowledged it", async () => {
  const storage = new MemoryStorage();
  const outbox = await outboxIn(storage);
  for (let i = 1; i <= 3; i++) await outbox.add(bytes(i), bytes(100 + i));
  const node = new FakeNode();
  node.refuse.set("02", "proto.busy");
  const first = await outbox.flush(node);
  assert.deepEqual(first.sent.length, 1);
  assert.equal(first.stoppedBy, "proto.busy");
  assert.deepEqual(node.held, ["01"]);
  assert.deepEqual((await outbox.pending()).map((q) => toHex(q.header)), ["02", "03"]); // kept, in order
  node.refuse.clear();
  const second = await outbox.flush(node);
  assert.equal(second.stoppedBy, null);
  assert.deepEqual(node.held, ["01", "02", "03"]);
  assert.deepEqual(await storage.keys(OUT), []);
});

test("a page closed before the ack sends the same bytes again and the node holds them once", async () => {
  const storage = new MemoryStorage();
  const node = new FakeNode();
  const before = await outboxIn(storage);
  await before.add(bytes(7), bytes(70));
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

test("an entry the node refuses for good leaves the outbox and is reported; later ones still go", async () => {
  const outbox = await outboxIn(new MemoryStorage());
  await outbox.add(bytes(1), bytes(1));
  await outbox.add(bytes(2), bytes(2));
  const node = new FakeNode();
  node.refuse.set("01", "group.not_member");
  const r = await outbox.flush(node);
  assert.deepEqual(r.refused.map((x) => x.code), ["group.not_member"]);
  assert.deepEqual(node.held, ["02"]);
  assert.deepEqual(await outbox.pending(), []);
});

test("a failed connection keeps everything queued", async () => {
  const outbox = await outboxIn(new MemoryStorage());
  await outbox.add(bytes(1), bytes(1));
  const r = await outbox.flush({ request: () => Promise.reject(new Error("network down")) });
  assert.equal(r.stoppedBy, "web.unreachable");
  assert.equal((await outbox.pending()).length, 1);
});

test("coming back online flushes the outbox; after stopping, it no longer does", async () => {
  const outbox = await outboxIn(new MemoryStorage());
  await outbox.add(bytes(9), bytes(9));
  const node = new FakeNode();
  const window = new EventTarget();
  let done!: (r: FlushResult) => void;
  const flushed = new Promise<FlushResult>((r) => (done = r));
  const stop = flushWhenOnline(window, outbox, async () => node, done);
  window.dispatchEvent(new Event("online"));
  assert.deepEqual((await flushed).sent.length, 1);
  assert.deepEqual(node.held, ["09"]);
  stop();
  await outbox.add(bytes(10), bytes(10));
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

