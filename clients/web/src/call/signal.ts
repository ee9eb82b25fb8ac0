/**
 * Live-call signals (spec/protocol.md 17.11): the CBOR map a member signs and seals to one other
 * member, and the checks its recipient makes. Pure: time and the seal's ephemeral secret are passed
 * in (fresh randomness by default).
 *
 * Invariants: `openSignal` returns a `Signal` or throws a `HoldspaceError` with a registered code
 * (`crypto.decrypt_failed`, `cbor.*`, `call.malformed_signal`, `call.bad_signature`, `call.stale`);
 * `authoriseSignal` throws `call.not_facilitator` for a control signal from anyone else;
 * a signal that opens was signed by `from` for this group and this recipient.
 */
import { ascii, concat } from "../bytes.js";
import { type CborMap, decode, encode } from "../cbor.js";
import { H, publicKey, randomBytes, seal, sealOpen, sign, verify } from "../crypto.js";
import { fail } from "../errors.js";

export const MAX_SIGNAL_BOX = 8192;
export const MAX_SIGNAL_DATA = 7936;
export const CALL_ID_SIZE = 16;
export const MAX_SIGNAL_AGE_MS = 60_000;
export const SIGNAL_TYPES = ["join", "offer", "answer", "candidate", "leave", "hand", "mute-request", "piece", "remove"] as const;
export type SignalType = (typeof SIGNAL_TYPES)[number];
/** Signals only a facilitator may send (the recipient judges, `authoriseSignal`). */
export const CONTROL_TYPES: ReadonlySet<SignalType> = new Set<SignalType>(["mute-request", "piece", "remove"]);

export interface Signal {
  readonly call: Uint8Array;
  readonly type: SignalType;
  /** SDP, an ICE candidate as JSON, or "". */
  readonly data: string;
  readonly timeMs: bigint;
}

const PSEUDONYM_HEX = /^[0-9a-f]{64}$/;

/** Throws `call.malformed_signal` unless the call id is 16 bytes, the type known, the data at most
 * 7936 bytes of UTF-8, the time an unsigned 64-bit integer, and the data fits the type: `hand` is
 * "up" or "down", `mute-request` is empty, `piece` is empty or a pseudonym as 64 lowercase hex
 * digits, `remove` is a pseudonym as 64 lowercase hex digits (the other types' data is free). */
export function checkSignal(s: Signal): void {
  if (s.call.length !== CALL_ID_SIZE) fail("call.malformed_signal", "a call id is 16 bytes");
  if (!(SIGNAL_TYPES as readonly string[]).includes(s.type)) fail("call.malformed_signal", "unknown signal type");
  if (new TextEncoder().encode(s.data).length > MAX_SIGNAL_DATA) fail("call.malformed_signal", "a signal's data is too long");
  if (s.timeMs < 0n || s.timeMs >= 1n << 64n) fail("call.malformed_signal", "a signal's time is a 64-bit unsigned integer");
  if (s.type === "hand" && s.data !== "up" && s.data !== "down") fail("call.malformed_signal", "a hand signal's data is 'up' or 'down'");
  if (s.type === "mute-request" && s.data !== "") fail("call.malformed_signal", "a mute-request's data is empty");
  if (s.type === "piece" && s.data !== "" && !PSEUDONYM_HEX.test(s.data))
    fail("call.malformed_signal", "a piece signal's data is a pseudonym in lowercase hex, or empty");
  if (s.type === "remove" && !PSEUDONYM_HEX.test(s.data)) fail("call.malformed_signal", "a remove signal's data is a pseudonym in lowercase hex");
}

/** Throws `call.not_facilitator` if `s` is a call-control signal (`mute-request`, `piece`,
 * `remove`) and `senderRole` (the sender's role in the recipient's own state of the group, null
 * for a non-member) is not "facilitator". Every other type passes. */
export function authoriseSignal(s: Signal, senderRole: string | null): void {
  if (CONTROL_TYPES.has(s.type) && senderRole !== "facilitator") fail("call.not_facilitator", `only a facilitator may send a ${s.type} signal`);
}

/** The call id of a group's live circle, the same on every member's device:
 * `H("holdspace/v1/call" || 0x00 || group)` cut to 16 bytes. */
export function circleCallId(group: Uint8Array): Uint8Array {
  return H(ascii("holdspace/v1/call"), Uint8Array.of(0), group).slice(0, CALL_ID_SIZE);
}

function body(s: Signal): CborMap {
  return new Map<string, bigint | Uint8Array | string>([
    ["call", s.call],
    ["t", s.type],
    ["d", s.data],
    ["ts", s.timeMs],
  ]);
}

/** `"holdspace/v1/signal" || 0x00 || group || from || to || CBOR({call, t, d, ts})`. */
export function signedMessage(group: Uint8Array, from: Uint8Array, to: Uint8Array, s: Signal): Uint8Array {
  return concat(ascii("holdspace/v1/signal"), Uint8Array.of(0), group, from, to, encode(body(s)));
}

/** The plaintext `{call, t, d, ts, sig}`, signed with Ed25519 `seed`. */
export function encodeSignal(seed: Uint8Array, group: Uint8Array, to: Uint8Array, s: Signal): Uint8Array {
  checkSignal(s);
  const m = body(s);
  m.set("sig", sign(seed, signedMessage(group, publicKey(seed), to, s)));
  return encode(m);
}

/** The box of a `signal` request: `encodeSignal` sealed to the recipient's X25519 key. */
export function sealSignal(
  seed: Uint8Array,
  group: Uint8Array,
  to: Uint8Array,
  toX25519: Uint8Array,
  s: Signal,
  ephemeralSecret: Uint8Array = randomBytes(32),
): Uint8Array {
  return seal(toX25519, encodeSignal(seed, group, to, s), ephemeralSecret);
}

/** Opens and checks a box (see the module's invariants), in the order of spec 17.11. */
export function openSignal(
  x25519Secret: Uint8Array,
  group: Uint8Array,
  from: Uint8Array,
  to: Uint8Array,
  box: Uint8Array,
  nowMs: bigint,
): Signal {
  const m = decode(sealOpen(x25519Secret, box), MAX_SIGNAL_BOX);
  if (!(m instanceof Map) || m.size !== 5 || !["call", "t", "d", "ts", "sig"].every((k) => m.has(k)))
    fail("call.malformed_signal", "a signal is a map of call, t, d, ts and sig");
  const call = m.get("call");
  const type = m.get("t");
  const data = m.get("d");
  const ts = m.get("ts");
  const sig = m.get("sig");
  if (
    !(call instanceof Uint8Array) ||
    typeof type !== "string" ||
    typeof data !== "string" ||
    typeof ts !== "bigint" ||
    !(sig instanceof Uint8Array) ||
    sig.length !== 64
  )
    fail("call.malformed_signal", "a signal's fields have the wrong types");
  const s: Signal = { call, type: type as SignalType, data, timeMs: ts };
  checkSignal(s);
  if (!verify(from, signedMessage(group, from, to, s), sig))
    fail("call.bad_signature", "the signal is not signed by its sender for this recipient");
  const age = nowMs - ts;
  if (age > BigInt(MAX_SIGNAL_AGE_MS) || -age > BigInt(MAX_SIGNAL_AGE_MS))
    fail("call.stale", "the signal is more than a minute old, or from the future");
  return s;
}
