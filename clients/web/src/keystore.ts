/**
 * The identity sealed at rest under the passphrase (spec 14.4): the same key file as the Python
 * client, `{"v": 1, "kdf": "argon2id13", "ops", "mem", "salt" (16), "nonce" (24), "box"}` with
 * `box = crypto_secretbox(plaintext, nonce, Argon2id(passphrase, salt, ops, mem))` (Argon2id v1.3,
 * one lane, `mem` in bytes as libsodium counts it; XSalsa20-Poly1305 from @noble/ciphers). The file
 * records its parameters, so either client opens the other's.
 *
 * `openSecret` checks, in order: size (<= 16 MiB) and canonical CBOR, exactly those seven fields with
 * `v` = 1 and `kdf` = "argon2id13", `ops` in 1..4 and `mem` in 8192..1 GiB, salt 16 and nonce 24 bytes
 * (each `keyfile.malformed`); then the box (`keyfile.bad_passphrase`: a wrong passphrase and an altered
 * file cannot be told apart).
 */
import { secretbox } from "@noble/ciphers/salsa.js";
import { argon2id } from "hash-wasm";
import { type CborValue, decode, encode } from "./cbor.js";
import { HoldspaceError, fail } from "./errors.js";
import type { Storage } from "./storage.js";

export const MAX_KEYFILE = 16 * 1024 * 1024;
const MAX_OPS = 4; // libsodium's OPSLIMIT_SENSITIVE
const MAX_MEM = 1024 * 1024 * 1024; // MEMLIMIT_SENSITIVE
const MIN_MEM = 8192;

/** Argon2id cost: passes (`ops`) and memory in bytes (`mem`), as the key file records them. */
export interface KdfParams {
  ops: number;
  mem: number;
}

/**
 * The browser's parameters: 2 passes over 32 MiB. Measured in Node 20 (hash-wasm) on the shared
 * 2-core test machine (benchmarks/web_keys_bench.py): 0.46 to 0.61 s, 2.3 to 2.5 times libsodium at
 * the same parameters; a mid-range phone, about twice as slow again, takes about a second. (The
 * Python client's 2 passes over 64 MiB take 0.7 to 0.8 s here in WebAssembly: a file sealed there
 * opens here, a little slower.)
 */
export const BROWSER_PARAMS: KdfParams = { ops: 2, mem: 32 * 1024 * 1024 };

/** A key derived once from the passphrase, to seal again without paying Argon2id each time. */
export interface SealingKey {
  key: Uint8Array;
  salt: Uint8Array;
  params: KdfParams;
}

async function kdf(passphrase: string, salt: Uint8Array, p: KdfParams): Promise<Uint8Array> {
  return argon2id({
    password: new TextEncoder().encode(passphrase),
    salt,
    iterations: p.ops,
    parallelism: 1,
    memorySize: Math.floor(p.mem / 1024),
    hashLength: 32,
    outputType: "binary",
  });
}

export async function deriveSealingKey(passphrase: string, params: KdfParams = BROWSER_PARAMS): Promise<SealingKey> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  return { key: await kdf(passphrase, salt, params), salt, params };
}

/** The sealed key file of `plaintext` (a fresh nonce each time). */
export function sealWith(s: SealingKey, plaintext: Uint8Array): Uint8Array {
  const nonce = crypto.getRandomValues(new Uint8Array(24));
  const box = secretbox(s.key, nonce).seal(plaintext);
  const sealed = encode({ v: 1, kdf: "argon2id13", ops: s.params.ops, mem: s.params.mem, salt: s.salt, nonce, box });
  if (sealed.length > MAX_KEYFILE) fail("keyfile.malformed", "a key file is at most 16 MiB: nothing was sealed");
  return sealed;
}

export async function sealSecret(passphrase: string, plaintext: Uint8Array, params: KdfParams = BROWSER_PARAMS): Promise<Uint8Array> {
  return sealWith(await deriveSealingKey(passphrase, params), plaintext);
}

function field(m: Map<string, CborValue>, k: string): CborValue | undefined {
  return m.get(k);
}

/** The plaintext sealed in `sealed` (checks in the order of the module comment). */
export async function openSecret(passphrase: string, sealed: Uint8Array): Promise<Uint8Array> {
  return (await openSealed(passphrase, sealed)).plaintext;
}

/** The plaintext and the key that opened it (to seal again without Argon2id). */
async function openSealed(passphrase: string, sealed: Uint8Array): Promise<{ plaintext: Uint8Array; sealing: SealingKey }> {
  let v: CborValue;
  try {
    v = decode(sealed, MAX_KEYFILE);
  } catch (e) {
    if (e instanceof HoldspaceError) fail("keyfile.malformed", `not a Holdspace key file (${e.code})`);
    throw e;
  }
  const names = ["v", "kdf", "ops", "mem", "salt", "nonce", "box"];
  if (!(v instanceof Map) || v.size !== names.length || !names.every((k) => v.has(k)) || v.get("v") !== 1n) {
    fail("keyfile.malformed", "not a version 1 Holdspace key file");
  }
  const ops = field(v, "ops");
  const mem = field(v, "mem");
  const salt = field(v, "salt");
  const nonce = field(v, "nonce");
  const box = field(v, "box");
  if (field(v, "kdf") !== "argon2id13" || typeof ops !== "bigint" || typeof mem !== "bigint") {
    fail("keyfile.malformed", "unknown key derivation");
  }
  if (ops < 1n || ops > BigInt(MAX_OPS) || mem < BigInt(MIN_MEM) || mem > BigInt(MAX_MEM)) {
    fail("keyfile.malformed", "key derivation parameters out of range");
  }
  if (!(salt instanceof Uint8Array) || !(nonce instanceof Uint8Array) || !(box instanceof Uint8Array)) {
    fail("keyfile.malformed", "salt, nonce and box must be byte strings");
  }
  if (salt.length !== 16 || nonce.length !== 24) fail("keyfile.malformed", "salt or nonce has the wrong length");
  const params = { ops: Number(ops), mem: Number(mem) };
  const key = await kdf(passphrase, salt, params);
  try {
    return { plaintext: secretbox(key, nonce).open(box), sealing: { key, salt, params } };
  } catch {
    fail("keyfile.bad_passphrase", "wrong passphrase, or the key file was altered");
  }
}

export const KEYS_STORE = "keys";
const IDENTITY = "identity";

/**
 * The sealed identity in storage (store `keys`, key `identity`). Only the sealed file is written;
 * the passphrase-derived key is kept in memory while unlocked, so saving again costs no Argon2id.
 */
export class KeyStore {
  private sealing: SealingKey | null = null;

  constructor(
    private readonly storage: Storage,
    private readonly params: KdfParams = BROWSER_PARAMS,
  ) {}

  async exists(): Promise<boolean> {
    return (await this.storage.get(KEYS_STORE, IDENTITY)) !== undefined;
  }

  /** Seal `plaintext` under `passphrase` (a new salt) and store it; keeps the key for `save`. */
  async create(passphrase: string, plaintext: Uint8Array): Promise<void> {
    this.sealing = await deriveSealingKey(passphrase, this.params);
    await this.save(plaintext);
  }

  /** Open the stored identity (`client.no_identity` if none; `keyfile.*` as `openSecret`). */
  async unlock(passphrase: string): Promise<Uint8Array> {
    const sealed = await this.storage.get(KEYS_STORE, IDENTITY);
    if (sealed === undefined) fail("client.no_identity", "there is no identity in this browser yet");
    const opened = await openSealed(passphrase, sealed);
    this.sealing = opened.sealing; // later saves keep the file's own salt and parameters
    return opened.plaintext;
  }

  /** Seal again under the key of the last `create`/`unlock`, with a fresh nonce. */
  async save(plaintext: Uint8Array): Promise<void> {
    if (this.sealing === null) fail("client.no_identity", "unlock the identity before saving it");
    await this.storage.put(KEYS_STORE, IDENTITY, sealWith(this.sealing, plaintext));
  }

  /** The sealed file as stored (to export it), or undefined. */
  async sealedFile(): Promise<Uint8Array | undefined> {
    return this.storage.get(KEYS_STORE, IDENTITY);
  }

  /** Store a sealed file made elsewhere (after checking it opens under `passphrase`). */
  async importFile(passphrase: string, sealed: Uint8Array): Promise<Uint8Array> {
    const plain = await openSecret(passphrase, sealed);
    await this.storage.put(KEYS_STORE, IDENTITY, sealed);
    return plain;
  }

  lock(): void {
    this.sealing = null;
  }
}
