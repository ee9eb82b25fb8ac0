/**
 * End-to-end encryption (spec/protocol.md section 13): padding, key commitment, sender chains,
 * message and direct envelopes, and the associated data that binds a ciphertext to its group,
 * author and log position.
 *
 * Invariants: a reader checks the key commitment before it decrypts (13.4, 13.5), and a failed
 * check or decryption never changes any state (`ReceiverChains` advances only on success).
 */
import { ascii, compareBytes, concat, equalBytes } from "./bytes.js";
import { type CborMap, type CborValue, decode, encode } from "./cbor.js";
import { aeadDecrypt, aeadEncrypt, H, hkdf32, hmacSha256, randomBytes, seal, sealOpen } from "./crypto.js";
import { fail, HoldspaceError } from "./errors.js";
import { DIRECT_KIND, MESSAGE_KIND } from "./control.js";

const MAX_U63 = (1n << 63n) - 1n;

// ---------------------------------------------------------------------------------------------
// Padding (13.4)

/** The padding buckets: a padded plaintext has one of these lengths. */
export const BUCKETS: readonly number[] = [64, 256, 1024, 4096, 16384, 65280];
/** The longest plaintext that can be padded (one byte goes to the 0x80 marker). */
export const MAX_PLAINTEXT = 65279;

/** pad(m): `m || 0x80 || zeros` up to the smallest bucket strictly greater than `len(m)`;
 * a plaintext over 65279 bytes cannot be sent (`e2ee.bad_padding`). */
export function pad(m: Uint8Array): Uint8Array {
  const size = BUCKETS.find((b) => b > m.length);
  if (size === undefined) return fail("e2ee.bad_padding", "the plaintext is longer than 65279 bytes and cannot be padded");
  const out = new Uint8Array(size);
  out.set(m);
  out[m.length] = 0x80;
  return out;
}

/** unpad: removes the trailing zeros and the final 0x80. `e2ee.bad_padding` if the length is not
 * a bucket (any bucket, minimal or not) or the marker is missing. */
export function unpad(p: Uint8Array): Uint8Array {
  if (!BUCKETS.includes(p.length)) fail("e2ee.bad_padding", "the padded plaintext's length is not a bucket");
  let i = p.length - 1;
  while (i >= 0 && p[i] === 0) i--;
  if (i < 0 || p[i] !== 0x80) fail("e2ee.bad_padding", "the padding marker is missing");
  return p.slice(0, i);
}

// ---------------------------------------------------------------------------------------------
// Key commitment and sender chains (13.3, 13.4)

const COMMIT_PREFIX = concat(ascii("holdspace/v1/key-commitment"), Uint8Array.of(0));
const CHAIN_SALT = ascii("holdspace/v1/chain");

/** commit(key) = H("holdspace/v1/key-commitment" || 0x00 || key). */
export function commit(key: Uint8Array): Uint8Array {
  return H(COMMIT_PREFIX, key);
}

/** ck_0 = HKDF(ikm = epoch key, salt = "holdspace/v1/chain", info = sender's Ed25519 key). */
export function initialChainKey(epochKey: Uint8Array, sender: Uint8Array): Uint8Array {
  return hkdf32(epochKey, CHAIN_SALT, sender);
}

/** mk_i = HMAC-SHA-256(ck_i, 0x01). */
export function messageKey(chainKey: Uint8Array): Uint8Array {
  return hmacSha256(chainKey, Uint8Array.of(1));
}

/** ck_(i+1) = HMAC-SHA-256(ck_i, 0x02). */
export function nextChainKey(chainKey: Uint8Array): Uint8Array {
  return hmacSha256(chainKey, Uint8Array.of(2));
}

function u64(n: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, n);
  return out;
}

/** ad of a group message (13.4): "holdspace/v1/message" || 0x00 || group id || author ||
 * seq (8 bytes BE) || epoch id || i (8 bytes BE). */
export function messageAd(groupId: Uint8Array, author: Uint8Array, seq: bigint, epoch: Uint8Array, index: bigint): Uint8Array {
  return concat(ascii("holdspace/v1/message"), Uint8Array.of(0), groupId, author, u64(seq), epoch, u64(index));
}

/** ad of a direct message (13.5): "holdspace/v1/direct" || 0x00 || group id || author || seq (8 bytes BE). */
export function directAd(groupId: Uint8Array, author: Uint8Array, seq: bigint): Uint8Array {
  return concat(ascii("holdspace/v1/direct"), Uint8Array.of(0), groupId, author, u64(seq));
}

// ---------------------------------------------------------------------------------------------
// Envelopes (13.4, 13.5): structure only, as a node checks it.

export interface MessageEnvelope {
  readonly epoch: Uint8Array;
  readonly index: bigint;
  readonly nonce: Uint8Array;
  readonly ciphertext: Uint8Array;
  readonly commitment: Uint8Array;
  readonly expires: bigint | null;
}

export interface DirectEnvelope {
  readonly recipients: readonly (readonly [key: Uint8Array, box: Uint8Array])[];
  readonly nonce: Uint8Array;
  readonly ciphertext: Uint8Array;
  readonly commitment: Uint8Array;
  readonly expires: bigint | null;
}

export const MAX_DIRECT_RECIPIENTS = 256;
const SEALED_KEY_SIZE = 80;
const MAX_MESSAGE_PAYLOAD = 65536;

function envelopeFields(payload: Uint8Array, what: string, required: string[]): CborMap {
  const bad = (why: string): never => fail("group.malformed_payload", `${what} envelope: ${why}`);
  let value: CborValue;
  try {
    value = decode(payload, MAX_MESSAGE_PAYLOAD);
  } catch (e) {
    if (e instanceof HoldspaceError) return bad(`not canonical CBOR (${e.code})`);
    throw e;
  }
  if (!(value instanceof Map)) return bad("not a map");
  for (const k of required) if (!value.has(k)) bad(`the field "${k}" is missing`);
  for (const k of value.keys()) if (!required.includes(k) && k !== "x") bad(`unknown field "${k}"`);
  const x = value.get("x");
  if (value.has("x") && (typeof x !== "bigint" || x < 0n || x > MAX_U63)) bad("x must be an expiry in ms, at most 2^63-1");
  return value;
}

const isBytes = (v: CborValue | undefined, size: number): v is Uint8Array => v instanceof Uint8Array && v.length === size;

/**
 * Decodes a group message's envelope (13.4), checking what a node checks: canonical CBOR of at
 * most 65536 bytes, a map of exactly `e`, `i`, `n`, `c`, `k` and an optional `x`; `e` 32 bytes,
 * `i` an unsigned integer, `n` 24 bytes, `c` a byte string of at least 16 bytes, `k` 32 bytes,
 * `x` an unsigned integer <= 2^63-1. Any failure: `group.malformed_payload`.
 */
export function decodeMessageEnvelope(payload: Uint8Array): MessageEnvelope {
  const f = envelopeFields(payload, "message", ["e", "i", "n", "c", "k"]);
  const e = f.get("e");
  const i = f.get("i");
  const n = f.get("n");
  const c = f.get("c");
  const k = f.get("k");
  if (!isBytes(e, 32) || typeof i !== "bigint" || i < 0n || !isBytes(n, 24) || !(c instanceof Uint8Array) || c.length < 16 || !isBytes(k, 32))
    return fail("group.malformed_payload", "message envelope: e, i, n, c or k has the wrong type or size");
  return { epoch: e, index: i, nonce: n, ciphertext: c, commitment: k, expires: (f.get("x") as bigint | undefined) ?? null };
}

/**
 * Decodes a direct message's envelope (13.5), as a node checks it: canonical CBOR of at most
 * 65536 bytes, a map of exactly `r`, `n`, `c`, `k` and an optional `x`; `r` 1..256 pairs
 * [32-byte key, 80-byte box] strictly ascending by key; `n` 24 bytes; `c` at least 16 bytes; `k`
 * 32 bytes; `x` as in 13.4. Any failure: `group.malformed_payload`.
 */
export function decodeDirectEnvelope(payload: Uint8Array): DirectEnvelope {
  const bad = (why: string): never => fail("group.malformed_payload", `direct envelope: ${why}`);
  const f = envelopeFields(payload, "direct", ["r", "n", "c", "k"]);
  const r = f.get("r");
  const n = f.get("n");
  const c = f.get("c");
  const k = f.get("k");
  if (!Array.isArray(r) || r.length < 1 || r.length > MAX_DIRECT_RECIPIENTS) return bad("r must seal a key to 1..256 members");
  const recipients: (readonly [Uint8Array, Uint8Array])[] = [];
  for (const item of r) {
    if (!Array.isArray(item) || item.length !== 2 || !isBytes(item[0], 32) || !isBytes(item[1], SEALED_KEY_SIZE))
      return bad("r must hold [32-byte member key, 80-byte sealed key] pairs");
    recipients.push([item[0], item[1]]);
  }
  for (let i = 1; i < recipients.length; i++)
    if (compareBytes(recipients[i - 1]![0], recipients[i]![0]) >= 0) bad("r must be sorted by member key without duplicates");
  if (!isBytes(n, 24) || !(c instanceof Uint8Array) || c.length < 16 || !isBytes(k, 32)) return bad("n, c or k has the wrong type or size");
  return { recipients, nonce: n, ciphertext: c, commitment: k, expires: (f.get("x") as bigint | undefined) ?? null };
}

/** Structural check of a message-kind payload (12.6 step 5), by kind; `group.malformed_payload`. */
export function checkEnvelope(kind: bigint, payload: Uint8Array): MessageEnvelope | DirectEnvelope {
  if (kind === MESSAGE_KIND) return decodeMessageEnvelope(payload);
  if (kind === DIRECT_KIND) return decodeDirectEnvelope(payload);
  return fail("group.malformed_payload", `kind ${kind} has no message envelope`);
}

/** The expiry `x` of a message-kind payload, or null (the payload must decode). */
export function envelopeExpiry(kind: bigint, payload: Uint8Array): bigint | null {
  return checkEnvelope(kind, payload).expires;
}

/** The encoding of a message envelope. */
export function encodeMessageEnvelope(e: MessageEnvelope): Uint8Array {
  const m = new Map<string, CborValue>([
    ["e", e.epoch],
    ["i", e.index],
    ["n", e.nonce],
    ["c", e.ciphertext],
    ["k", e.commitment],
  ]);
  if (e.expires !== null) m.set("x", e.expires);
  return encode(m);
}

/** The encoding of a direct envelope. */
export function encodeDirectEnvelope(e: DirectEnvelope): Uint8Array {
  const m = new Map<string, CborValue>([
    ["r", e.recipients.map(([k, b]) => [k, b])],
    ["n", e.nonce],
    ["c", e.ciphertext],
    ["k", e.commitment],
  ]);
  if (e.expires !== null) m.set("x", e.expires);
  return encode(m);
}

// ---------------------------------------------------------------------------------------------
// Sealing and opening one message

/** Where a message sits: the group, its author and its seq in the author's log. */
export interface Position {
  readonly groupId: Uint8Array;
  readonly author: Uint8Array;
  readonly seq: bigint;
}

/**
 * The payload of a group message (13.4): `plaintext` padded and encrypted under the message key
 * `mk` of index `index` of the author's chain in `epoch`, with the key commitment. The nonce is
 * random unless given (vectors give it); `expires` is the optional `x`.
 */
export function sealMessage(
  mk: Uint8Array,
  at: Position,
  epoch: Uint8Array,
  index: bigint,
  plaintext: Uint8Array,
  expires: bigint | null = null,
  nonce: Uint8Array = randomBytes(24),
): Uint8Array {
  const ad = messageAd(at.groupId, at.author, at.seq, epoch, index);
  const ciphertext = aeadEncrypt(mk, nonce, pad(plaintext), ad);
  return encodeMessageEnvelope({ epoch, index, nonce, ciphertext, commitment: commit(mk), expires });
}

/**
 * Opens a group message's envelope with the message key `mk`, in order: `commit(mk)` equals the
 * envelope's `k` (else `e2ee.bad_commitment`, before any decryption); the AEAD opens with the
 * ad of 13.4 for `at` (else `crypto.decrypt_failed`); the padding is sound (`e2ee.bad_padding`).
 * Returns the plaintext (the content's CBOR, 17.1).
 */
export function openMessage(mk: Uint8Array, at: Position, env: MessageEnvelope): Uint8Array {
  if (!equalBytes(commit(mk), env.commitment)) fail("e2ee.bad_commitment", "the message key does not match the key commitment the author signed");
  const ad = messageAd(at.groupId, at.author, at.seq, env.epoch, env.index);
  return unpad(aeadDecrypt(mk, env.nonce, env.ciphertext, ad));
}

/** A recipient of a direct message: its Ed25519 key (in `r`) and its current X25519 key. */
export interface DirectRecipient {
  readonly key: Uint8Array;
  readonly x25519: Uint8Array;
}

/** Randomness a sender may fix (the spec's vectors do; a client never does). */
export interface DirectRandomness {
  readonly contentKey: Uint8Array;
  readonly nonce: Uint8Array;
  /** One ephemeral X25519 secret per recipient, in the order of `r` (sorted by key). */
  readonly ephemeral: readonly Uint8Array[];
}

/**
 * The payload of a direct message (13.5): a fresh content key sealed to each recipient's X25519
 * key (`r` sorted by Ed25519 key; duplicates refused), committed in `k`, and the padded plaintext
 * under it with the ad of 13.5. No recipient: `e2ee.no_recipients`; more than 256:
 * `group.malformed_payload`.
 */
export function sealDirect(
  at: Position,
  recipients: readonly DirectRecipient[],
  plaintext: Uint8Array,
  expires: bigint | null = null,
  fixed: DirectRandomness | null = null,
): Uint8Array {
  if (recipients.length === 0) fail("e2ee.no_recipients", "a direct message must be sealed to at least one member");
  if (recipients.length > MAX_DIRECT_RECIPIENTS) fail("group.malformed_payload", "a direct message is sealed to at most 256 members");
  const sorted = [...recipients].sort((a, b) => compareBytes(a.key, b.key));
  for (let i = 1; i < sorted.length; i++)
    if (equalBytes(sorted[i - 1]!.key, sorted[i]!.key)) fail("group.malformed_payload", "a recipient is named twice");
  const contentKey = fixed?.contentKey ?? randomBytes(32);
  const nonce = fixed?.nonce ?? randomBytes(24);
  const boxes = sorted.map((r, i) => [r.key, seal(r.x25519, contentKey, fixed?.ephemeral[i] ?? randomBytes(32))] as const);
  const ciphertext = aeadEncrypt(contentKey, nonce, pad(plaintext), directAd(at.groupId, at.author, at.seq));
  return encodeDirectEnvelope({ recipients: boxes, nonce, ciphertext, commitment: commit(contentKey), expires });
}

/**
 * Opens this member's box of a direct message and returns the content key, in order: the
 * member's key is among the recipients (else `e2ee.not_recipient`); the box opens with its X25519
 * secret (else `crypto.decrypt_failed`); the key inside gives `commit(key) = k` (else
 * `e2ee.bad_commitment`).
 */
export function openDirectKey(env: DirectEnvelope, self: Uint8Array, x25519Secret: Uint8Array): Uint8Array {
  const mine = env.recipients.find(([k]) => equalBytes(k, self));
  if (mine === undefined) return fail("e2ee.not_recipient", "the direct message is not sealed to this member");
  const key = sealOpen(x25519Secret, mine[1]);
  if (!equalBytes(commit(key), env.commitment)) fail("e2ee.bad_commitment", "the sealed key does not match the key commitment the author signed");
  return key;
}

/**
 * Opens a direct message's ciphertext with a content key, in order: the commitment (13.5,
 * `e2ee.bad_commitment`), the AEAD with the ad of 13.5 (`crypto.decrypt_failed`), the padding
 * (`e2ee.bad_padding`). Used by recipients after `openDirectKey`, and by disclosures (13.6).
 */
export function openDirectWithKey(contentKey: Uint8Array, at: Position, env: DirectEnvelope): Uint8Array {
  if (!equalBytes(commit(contentKey), env.commitment)) fail("e2ee.bad_commitment", "the content key does not match the key commitment the author signed");
  return unpad(aeadDecrypt(contentKey, env.nonce, env.ciphertext, directAd(at.groupId, at.author, at.seq)));
}

/** A recipient's whole path through a direct message: its box, then the ciphertext. */
export function openDirect(env: DirectEnvelope, at: Position, self: Uint8Array, x25519Secret: Uint8Array): Uint8Array {
  return openDirectWithKey(openDirectKey(env, self, x25519Secret), at, env);
}

// ---------------------------------------------------------------------------------------------
// Epoch keys (13.1)

/** Opens the epoch key sealed to `self` in a rekey's `r`; null if the rekey does not name it.
 * A box that names it but does not open (or does not hold 32 bytes) is `crypto.decrypt_failed`. */
export function openEpochKey(sealed: readonly (readonly [Uint8Array, Uint8Array])[], self: Uint8Array, x25519Secret: Uint8Array): Uint8Array | null {
  const mine = sealed.find(([k]) => equalBytes(k, self));
  if (mine === undefined) return null;
  const key = sealOpen(x25519Secret, mine[1]);
  if (key.length !== 32) fail("crypto.decrypt_failed", "a sealed epoch key is not 32 bytes");
  return key;
}

/** The history blob of 13.1: `[* [epoch id, epoch key]]`, newest first, at most 512 pairs. */
export function encodeHistoryBlob(epochs: readonly (readonly [Uint8Array, Uint8Array])[]): Uint8Array {
  return encode(epochs.map(([id, key]) => [id, key]));
}

/** Decodes a history blob; anything but a list of [32-byte id, 32-byte key] is `crypto.decrypt_failed`
 * (it came out of a box that opened, so its author sent garbage). */
export function decodeHistoryBlob(blob: Uint8Array): [Uint8Array, Uint8Array][] {
  let v: CborValue;
  try {
    v = decode(blob);
  } catch {
    return fail("crypto.decrypt_failed", "the history blob is not canonical CBOR");
  }
  if (Array.isArray(v) && v.length > 512) return fail("e2ee.history_too_long", "a history blob carries at most 512 epochs");
  if (!Array.isArray(v) || !v.every((p) => Array.isArray(p) && p.length === 2 && isBytes(p[0], 32) && isBytes(p[1], 32)))
    return fail("crypto.decrypt_failed", "the history blob is not a list of [epoch id, epoch key]");
  return v.map((p) => [(p as Uint8Array[])[0]!, (p as Uint8Array[])[1]!]);
}

// ---------------------------------------------------------------------------------------------
// Chains (13.3)

/** How many skipped message keys a receiver keeps per chain, and how far ahead an index may be. */
export const RATCHET_WINDOW = 2000;

/** A sender's own chain in one epoch: the next index and its chain key. */
export class SenderChain {
  private ck: Uint8Array;
  private next = 0n;

  constructor(epochKey: Uint8Array, sender: Uint8Array) {
    this.ck = initialChainKey(epochKey, sender);
  }

  /** The next index and its message key; the chain moves on (each key is used once). */
  take(): { index: bigint; key: Uint8Array } {
    const out = { index: this.next, key: messageKey(this.ck) };
    this.ck = nextChainKey(this.ck);
    this.next++;
    return out;
  }

  /** The index the next `take` returns. */
  get nextIndex(): bigint {
    return this.next;
  }

  /** Moves the chain on to `index` (no-op if it is there or past it): the keys below are never
   * used, as when a client restarts the chain from the epoch key and knows what it already sent. */
  skipTo(index: bigint): void {
    while (this.next < index) {
      this.ck = nextChainKey(this.ck);
      this.next++;
    }
  }
}

/**
 * A receiver's state of one sender's chain in one epoch (13.3): the chain key at the next
 * expected index and the message keys of skipped indices (at most 2000, the oldest dropped
 * first). Invariant: every held key is for an index below `next`; `key` never changes state.
 */
export class ReceiverChain {
  private ck: Uint8Array;
  private next = 0n;
  private readonly skipped = new Map<bigint, Uint8Array>();

  constructor(initial: Uint8Array) {
    this.ck = initial;
  }

  /** The next expected index. */
  get nextIndex(): bigint {
    return this.next;
  }

  /** How many skipped keys are held. */
  get skippedCount(): number {
    return this.skipped.size;
  }

  /** The message key of `index`, without changing anything: `e2ee.ratchet_window` if the index
   * is more than 2000 ahead of `next`, or below it with its key no longer held. */
  key(index: bigint): Uint8Array {
    if (index < this.next) {
      const k = this.skipped.get(index);
      if (k === undefined) fail("e2ee.ratchet_window", "the message index is behind the sender's chain and its key is gone");
      return k;
    }
    if (index - this.next > BigInt(RATCHET_WINDOW)) fail("e2ee.ratchet_window", "the message index is too far ahead of the sender's chain");
    let ck = this.ck;
    for (let i = this.next; i < index; i++) ck = nextChainKey(ck);
    return messageKey(ck);
  }

  /** Records that `index` was read: its key is deleted, skipped keys below it are kept (the
   * oldest dropped beyond 2000) and the chain moves past it. Call only after a successful open. */
  consume(index: bigint): void {
    if (index < this.next) {
      this.skipped.delete(index);
      return;
    }
    let ck = this.ck;
    for (let i = this.next; i < index; i++) {
      this.skipped.set(i, messageKey(ck));
      ck = nextChainKey(ck);
    }
    this.ck = nextChainKey(ck);
    this.next = index + 1n;
    while (this.skipped.size > RATCHET_WINDOW) {
      const oldest = this.skipped.keys().next().value as bigint;
      this.skipped.delete(oldest);
    }
  }
}

/**
 * A member's receiving state: per epoch, the chain of every recipient of its rekey (13.1: on
 * receiving an epoch key a member derives ck_0 for every recipient; the epoch key itself is kept
 * only where history is shared).
 */
export class ReceiverChains {
  private readonly chains = new Map<string, Map<string, ReceiverChain>>();

  private static id(b: Uint8Array): string {
    let s = "";
    for (const x of b) s += x.toString(16).padStart(2, "0");
    return s;
  }

  /** Adds an epoch: a chain for each sender the rekey sealed the key to. */
  addEpoch(epoch: Uint8Array, epochKey: Uint8Array, senders: Iterable<Uint8Array>): void {
    const m = new Map<string, ReceiverChain>();
    for (const s of senders) m.set(ReceiverChains.id(s), new ReceiverChain(initialChainKey(epochKey, s)));
    this.chains.set(ReceiverChains.id(epoch), m);
  }

  /** True iff this member holds the epoch. */
  hasEpoch(epoch: Uint8Array): boolean {
    return this.chains.has(ReceiverChains.id(epoch));
  }

  /** Forgets an epoch's chains (17.5: keys go with the words). */
  dropEpoch(epoch: Uint8Array): void {
    this.chains.delete(ReceiverChains.id(epoch));
  }

  /** The chain of `sender` in `epoch`, if held. */
  chain(epoch: Uint8Array, sender: Uint8Array): ReceiverChain | undefined {
    return this.chains.get(ReceiverChains.id(epoch))?.get(ReceiverChains.id(sender));
  }

  /**
   * Reads a group message (13.3, 13.4), in order: its epoch is held with a chain for the author
   * (else `e2ee.unknown_epoch`); the index is within the window (`e2ee.ratchet_window`); then
   * `openMessage` (commitment, AEAD, padding). Only a message that opens moves the chain. Returns
   * the plaintext and the message key (kept for a disclosure, 13.6, as long as the words are).
   */
  open(at: Position, env: MessageEnvelope): { plaintext: Uint8Array; key: Uint8Array } {
    const chain = this.chain(env.epoch, at.author);
    if (chain === undefined) return fail("e2ee.unknown_epoch", "the message is encrypted under an epoch whose key this member does not hold");
    const key = chain.key(env.index);
    const plaintext = openMessage(key, at, env);
    chain.consume(env.index);
    return { plaintext, key };
  }
}
