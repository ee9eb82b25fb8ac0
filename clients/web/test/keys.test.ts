import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { test } from "node:test";
import { fromHex, toHex } from "../src/bytes.js";
import { HoldspaceError } from "../src/errors.js";
import { HISTORY_STORES, HistoryStore } from "../src/history.js";
import { KeyStore, openSecret, sealSecret } from "../src/keystore.js";
import { backupKey, decodeBackup, encodeBackup, openBackup, parseWords, recoveryWords, restoreBackup, sealBackup } from "../src/recovery.js";
import { MemoryStorage } from "../src/storage.js";
import { codeOf, loadVectors } from "./helpers.js";

interface KV { name: string; passphrase: string; sealed: string; plaintext?: string; error?: string }
interface BV { name: string; recovery_key?: string; words?: string; backup_key?: string; sealed?: string; plaintext?: string; size?: number; error?: string }

async function asyncCode(f: () => Promise<unknown>): Promise<string | null> {
  try {
    await f();
    return null;
  } catch (e) {
    if (e instanceof HoldspaceError) return e.code;
    throw e;
  }
}

const small = { ops: 1, mem: 8192 };

test("keyfile.json: key files sealed by the Python client open here, and every refusal", async () => {
  const vectors = loadVectors<KV[]>("keyfile.json");
  for (const v of vectors) {
    if (v.error !== undefined) {
      assert.equal(await asyncCode(() => openSecret(v.passphrase, fromHex(v.sealed))), v.error, v.name);
    } else {
      assert.equal(toHex(await openSecret(v.passphrase, fromHex(v.sealed))), v.plaintext, v.name);
    }
  }
  console.log(`keyfile.json: ${vectors.length} vectors`);
});

test("the key store seals in storage, reopens, and refuses a wrong passphrase", async () => {
  const storage = new MemoryStorage();
  const secret = fromHex("aa".repeat(32));
  const keys = new KeyStore(storage, small);
  await keys.create("pass phrase", secret);
  assert.ok(storage.everything().every((b) => !toHex(b).includes("aa".repeat(32))));
  const again = new KeyStore(storage, small);
  assert.deepEqual(await again.unlock("pass phrase"), secret);
  await again.save(fromHex("bb".repeat(32)));
  assert.equal(toHex(await new KeyStore(storage, small).unlock("pass phrase")), "bb".repeat(32));
  assert.equal(await asyncCode(() => new KeyStore(storage, small).unlock("wrong")), "keyfile.bad_passphrase");
  const sealed = await sealSecret("x", secret, small);
  sealed[sealed.length - 1]! ^= 1;
  assert.equal(await asyncCode(() => openSecret("x", sealed)), "keyfile.bad_passphrase");
});

test("backup.json: recovery words, backup keys, sealed backups and every refusal", () => {
  const vectors = loadVectors<BV[]>("backup.json");
  for (const v of vectors) {
    if (v.words !== undefined) {
      if (v.error !== undefined) assert.equal(codeOf(() => parseWords(v.words!)), v.error, v.name);
      else assert.equal(toHex(parseWords(v.words)), v.recovery_key, v.name);
      if (v.backup_key !== undefined) {
        assert.equal(recoveryWords(fromHex(v.recovery_key!)).join(" "), v.words, v.name);
        assert.equal(toHex(backupKey(fromHex(v.recovery_key!))), v.backup_key, v.name);
      }
      continue;
    }
    const key = backupKey(fromHex(v.recovery_key!));
    if (v.size !== undefined) {
      assert.equal(codeOf(() => openBackup(key, new Uint8Array(v.size!))), v.error, v.name);
    } else if (v.error !== undefined) {
      assert.equal(codeOf(() => openBackup(key, fromHex(v.sealed!))), v.error, v.name);
    } else {
      const b = openBackup(key, fromHex(v.sealed!));
      assert.equal(toHex(encodeBackup(b)), v.plaintext, v.name);
      assert.deepEqual(decodeBackup(fromHex(v.plaintext!)), b);
    }
  }
  console.log(`backup.json: ${vectors.length} vectors`);
});

test("a backup sealed here opens here; a mistyped word and wrong words are refused", () => {
  const rk = crypto.getRandomValues(new Uint8Array(16));
  const b = { master: new Uint8Array(32).fill(7), node: null, groups: [] };
  const sealed = sealBackup(backupKey(rk), b);
  const words = recoveryWords(rk);
  assert.deepEqual(restoreBackup(words.join(" ").toUpperCase(), sealed), b);
  const swapped = [words[1]!, words[0]!, ...words.slice(2)].join(" ");
  if (words[0] !== words[1]) assert.equal(codeOf(() => parseWords(swapped)), "recovery.bad_checksum");
  const other = backupKey(new Uint8Array(16));
  assert.equal(codeOf(() => openBackup(other, sealed)), "backup.bad_key");
});

test("the history prunes the oldest words within its budget, never kept words or other records, and reports damage", async () => {
  const storage = new MemoryStorage();
  const hk = new Uint8Array(32).fill(9);
  const h = await HistoryStore.open(storage, hk, 10_000);
  await h.put("ctl", "g1", new Uint8Array([1, 2, 3]));
  const pin = await h.addWords(new Uint8Array(500).fill(1), true);
  const keys: string[] = [];
  for (let i = 0; i < 100; i++) keys.push(await h.addWords(new Uint8Array(500).fill(2)));
  const total = async () => {
    let n = 0;
    for (const s of HISTORY_STORES) for (const k of await storage.keys(s)) n += k.length + (await storage.get(s, k))!.length;
    return n;
  };
  assert.equal(h.size, await total());
  assert.ok(h.size <= 10_000 && h.size > 9_000, `${h.size}`);
  assert.ok(h.pruned > 70);
  assert.notEqual(await h.get("words", pin), undefined);
  assert.equal(await h.get("words", keys[0]!), undefined);
  assert.notEqual(await h.get("words", keys[99]!), undefined);
  assert.deepEqual(await h.get("ctl", "g1"), new Uint8Array([1, 2, 3]));
  // a record moved to another key does not open there, and costs only itself
  await storage.put("ctl", "g2", (await storage.get("ctl", "g1"))!);
  assert.equal(await asyncCode(() => h.get("ctl", "g2")), "history.damaged");
  assert.equal(h.damaged.get("ctl"), 1);
  assert.deepEqual(await h.get("ctl", "g1"), new Uint8Array([1, 2, 3]));
  // reopened: the same size, the kept words still kept, pruning goes on from the oldest
  const again = await HistoryStore.open(storage, hk, 10_000);
  assert.equal(again.size, await total());
  for (let i = 0; i < 50; i++) await again.addWords(new Uint8Array(500).fill(3));
  assert.ok(again.size <= 10_000);
  assert.notEqual(await again.get("words", pin), undefined);
  assert.equal(await again.get("words", keys[99]!), undefined);
  // nothing the history wrote holds the words in the clear
  assert.ok(storage.everything().every((b) => !toHex(b).includes("02".repeat(32))));
});

test("a key file and a backup sealed here, written for the Python side to open (tests/web)", async () => {
  const plaintext = new TextEncoder().encode("sealed in the browser client");
  const keyfile = await sealSecret("browser passphrase ✓", plaintext, small);
  const rk = fromHex("000102030405060708090a0b0c0d0e0f");
  const backup = { master: new Uint8Array(32).fill(5), node: "holdspace://x@h:1", groups: [] };
  const out = { keyfile: toHex(keyfile), plaintext: toHex(plaintext), words: recoveryWords(rk).join(" "), backup: toHex(sealBackup(backupKey(rk), backup)), backup_plaintext: toHex(encodeBackup(backup)) };
  writeFileSync(new URL("../from-browser.json", import.meta.url), JSON.stringify(out));
});
