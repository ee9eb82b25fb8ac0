/**
 * Recovery key and identity backup (spec 14.7), as protocol/backup.py.
 *
 * Recovery key: 16 random bytes shown once as 13 BIP-39 words (the 128 key bits then the first 15
 * bits of SHA-256(key)). `parseWords` accepts any case, any whitespace, and a prefix of at least four
 * letters; it checks, in order: 13 words (`recovery.word_count`), each in the list
 * (`recovery.unknown_word`), the checksum (`recovery.bad_checksum`).
 *
 * Backup file: canonical CBOR `{"v": 1, "aead": "xchacha20poly1305", "nonce", "box"}`, at most
 * 1 MiB, `box = XChaCha20-Poly1305(HKDF-SHA-256(recovery key, "holdspace/v1/backup", "backup key"),
 * nonce, plaintext, ad = "holdspace/v1/backup")`. `openBackup` checks, in order: size
 * (`backup.too_large`), outer fields (`backup.malformed`), the AEAD (`backup.bad_key`), the plaintext's
 * exact shape (`backup.malformed`). `sealBackup` never produces what `openBackup` refuses.
 */
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { ascii } from "./bytes.js";
import { type CborValue, type Encodable, decode, encode } from "./cbor.js";
import { hkdf32 } from "./crypto.js";
import { HoldspaceError, fail } from "./errors.js";
import { WORDLIST } from "./wordlist.js";

export const RECOVERY_KEY_SIZE = 16;
export const WORD_COUNT = 13;
const CHECK_BITS = 15n;
export const MAX_BACKUP = 1024 * 1024;
export const BACKUP_AEAD = "xchacha20poly1305";
const DOMAIN = ascii("holdspace/v1/backup");
const KEY_INFO = ascii("backup key");
const ID_INFO = ascii("backup id");
const ID_SIZE = 32;
const MAX_CONTEXT = 64;
const MAX_HOSTS = 16;
const MAX_TEXT = 1024;

const INDEX = new Map(WORDLIST.map((w, i) => [w, i]));
const BY_PREFIX = new Map(WORDLIST.map((w, i) => [w.slice(0, 4), i]));

function bigFrom(b: Uint8Array): bigint {
  let n = 0n;
  for (const x of b) n = (n << 8n) | BigInt(x);
  return n;
}

function checksum(key: Uint8Array): bigint {
  const d = sha256(key);
  return (BigInt(d[0]!) << 8n | BigInt(d[1]!)) >> (16n - CHECK_BITS);
}

/** A fresh recovery key (16 bytes from the platform's CSPRNG). */
export function newRecoveryKey(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(RECOVERY_KEY_SIZE));
}

/** The 13 words that show `key`. */
export function recoveryWords(key: Uint8Array): string[] {
  if (key.length !== RECOVERY_KEY_SIZE) fail("recovery.word_count", "a recovery key is 16 bytes");
  const bits = (bigFrom(key) << CHECK_BITS) | checksum(key);
  const out: string[] = [];
  for (let i = WORD_COUNT - 1; i >= 0; i--) out.push(WORDLIST[Number((bits >> BigInt(11 * i)) & 0x7ffn)]!);
  return out;
}

function wordIndex(word: string, position: number): number {
  let found = INDEX.get(word);
  if (found === undefined && word.length >= 4) {
    const candidate = BY_PREFIX.get(word.slice(0, 4));
    if (candidate !== undefined && WORDLIST[candidate]!.startsWith(word)) found = candidate;
  }
  if (found === undefined) fail("recovery.unknown_word", `word ${position} (${JSON.stringify(word)}) is not in the word list`);
  return found;
}

/** The recovery key shown by `text` (see the module comment for what is checked). */
export function parseWords(text: string): Uint8Array {
  const words = text.toLowerCase().split(/\s+/).filter((w) => w.length > 0);
  if (words.length !== WORD_COUNT) {
    fail("recovery.word_count", `a recovery key is ${WORD_COUNT} words; ${words.length} were given`);
  }
  let bits = 0n;
  words.forEach((w, i) => {
    bits = (bits << 11n) | BigInt(wordIndex(w, i + 1));
  });
  let n = bits >> CHECK_BITS;
  const key = new Uint8Array(RECOVERY_KEY_SIZE);
  for (let i = RECOVERY_KEY_SIZE - 1; i >= 0; i--) {
    key[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  if ((bits & ((1n << CHECK_BITS) - 1n)) !== checksum(key)) {
    fail("recovery.bad_checksum", "these words do not check: one was probably mistyped");
  }
  return key;
}

/** The 32-byte key that seals backups under `recoveryKey`. */
export function backupKey(recoveryKey: Uint8Array): Uint8Array {
  if (recoveryKey.length !== RECOVERY_KEY_SIZE) fail("recovery.word_count", "a recovery key is 16 bytes");
  return hkdf32(recoveryKey, DOMAIN, KEY_INFO);
}

/** The id the home node keeps backups sealed under `key` (a backup key) by (spec 14.8):
 * `HKDF-SHA-256(backup key, salt "holdspace/v1/backup", info "backup id")`; it names no pseudonym. */
export function backupId(key: Uint8Array): Uint8Array {
  if (key.length !== 32) fail("backup.malformed", "a backup key is 32 bytes");
  return hkdf32(key, DOMAIN, ID_INFO);
}

/** The most a node keeps of one backup (spec 14.8). */
export const MAX_NODE_BACKUP = 64 * 1024;

/** One group as a backup keeps it. */
export interface Membership {
  groupId: Uint8Array;
  context: Uint8Array;
  name: string | null;
  hosts: string[];
  seq: bigint;
  prev: Uint8Array | null;
}

/** What a backup restores: the master secret, the home node, the memberships; never a message. */
export interface Backup {
  master: Uint8Array;
  node: string | null;
  groups: Membership[];
}

/** The canonical CBOR plaintext of `b`. */
export function encodeBackup(b: Backup): Uint8Array {
  const groups: Encodable[] = b.groups.map((g) => ({
    g: g.groupId,
    ctx: g.context,
    name: g.name,
    hosts: g.hosts,
    seq: g.seq,
    prev: g.prev,
  }));
  return encode({ v: 1, master: b.master, node: b.node, groups });
}

function malformed(why: string): never {
  fail("backup.malformed", `not a version 1 Holdspace backup: ${why}`);
}

function exactKeys(v: CborValue, keys: string[]): v is Map<string, CborValue> {
  return v instanceof Map && v.size === keys.length && keys.every((k) => v.has(k));
}

function text(v: CborValue | undefined, what: string): string {
  if (typeof v !== "string" || [...v].length > MAX_TEXT) malformed(`${what} must be text of at most ${MAX_TEXT} characters`);
  return v;
}

function membership(v: CborValue): Membership {
  if (!exactKeys(v, ["g", "ctx", "name", "hosts", "seq", "prev"])) {
    malformed("a group must have exactly g, ctx, name, hosts, seq and prev");
  }
  const g = v.get("g");
  const ctx = v.get("ctx");
  const name = v.get("name");
  const hosts = v.get("hosts");
  const seq = v.get("seq");
  const prev = v.get("prev");
  if (!(g instanceof Uint8Array) || g.length !== ID_SIZE) malformed("a group id must be 32 bytes");
  if (!(ctx instanceof Uint8Array) || ctx.length === 0 || ctx.length > MAX_CONTEXT) {
    malformed(`a derivation context must be 1..${MAX_CONTEXT} bytes`);
  }
  if (!Array.isArray(hosts) || hosts.length > MAX_HOSTS) malformed(`hosts must be a list of at most ${MAX_HOSTS}`);
  if (typeof seq !== "bigint" || seq < 0n) malformed("seq must be an unsigned integer");
  if (prev !== null && (!(prev instanceof Uint8Array) || prev.length !== ID_SIZE)) malformed("prev must be 32 bytes or null");
  return {
    groupId: g,
    context: ctx,
    name: name === null ? null : text(name, "a group name"),
    hosts: hosts.map((h) => text(h, "a host")),
    seq,
    prev: prev as Uint8Array | null,
  };
}

/** The backup in `plaintext` (`backup.malformed` unless exactly the shape of 14.7). */
export function decodeBackup(plaintext: Uint8Array): Backup {
  let v: CborValue;
  try {
    v = decode(plaintext, MAX_BACKUP);
  } catch (e) {
    if (e instanceof HoldspaceError) malformed(`its contents are not canonical CBOR (${e.code})`);
    throw e;
  }
  if (!exactKeys(v, ["v", "master", "node", "groups"]) || v.get("v") !== 1n) {
    malformed("it must have exactly v (1), master, node and groups");
  }
  const master = v.get("master");
  const node = v.get("node");
  const groups = v.get("groups");
  if (!(master instanceof Uint8Array) || master.length !== 32) malformed("the master secret must be 32 bytes");
  if (!Array.isArray(groups)) malformed("groups must be a list");
  return { master, node: node === null ? null : text(node, "the node"), groups: groups.map(membership) };
}

/** The backup file of `b` under `key` (`backupKey`); `nonce` defaults to 24 fresh random bytes. */
export function sealBackup(key: Uint8Array, b: Backup, nonce?: Uint8Array): Uint8Array {
  const plain = encodeBackup(b);
  if (plain.length + 64 > MAX_BACKUP) fail("backup.too_large", `the backup would be over ${MAX_BACKUP} bytes`);
  decodeBackup(plain); // the same checks as opening
  const n = nonce ?? crypto.getRandomValues(new Uint8Array(24));
  const box = xchacha20poly1305(key, n, DOMAIN).encrypt(plain);
  const sealed = encode({ v: 1, aead: BACKUP_AEAD, nonce: n, box });
  if (sealed.length > MAX_BACKUP) fail("backup.too_large", `the backup would be over ${MAX_BACKUP} bytes`);
  return sealed;
}

/** The backup sealed in `sealed` under `key` (checks in the order of the module comment). */
export function openBackup(key: Uint8Array, sealed: Uint8Array): Backup {
  if (sealed.length > MAX_BACKUP) fail("backup.too_large", `a backup is at most ${MAX_BACKUP} bytes; this is ${sealed.length}`);
  let outer: CborValue;
  try {
    outer = decode(sealed, MAX_BACKUP);
  } catch (e) {
    if (e instanceof HoldspaceError) malformed(`not canonical CBOR (${e.code})`);
    throw e;
  }
  if (!exactKeys(outer, ["v", "aead", "nonce", "box"]) || outer.get("v") !== 1n) {
    malformed("it must have exactly v (1), aead, nonce and box");
  }
  if (outer.get("aead") !== BACKUP_AEAD) malformed("unknown AEAD");
  const nonce = outer.get("nonce");
  const box = outer.get("box");
  if (!(nonce instanceof Uint8Array) || nonce.length !== 24 || !(box instanceof Uint8Array)) {
    malformed("the nonce must be 24 bytes and the box a byte string");
  }
  let plain: Uint8Array;
  try {
    plain = xchacha20poly1305(key, nonce, DOMAIN).decrypt(box);
  } catch {
    fail("backup.bad_key", "wrong recovery key, or the backup was altered");
  }
  return decodeBackup(plain);
}

/** The backup in `sealed`, opened with the recovery key typed as `words` (`recovery.*`, then `backup.*`). */
export function restoreBackup(words: string, sealed: Uint8Array): Backup {
  return openBackup(backupKey(parseWords(words)), sealed);
}
