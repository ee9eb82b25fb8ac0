/**
 * Message content (spec/protocol.md 17.1): the plaintext CBOR map of every `message` and `direct`
 * entry and of a session's details, decoded with every check a client makes.
 *
 * Invariant: `decodeContent` returns a typed content, an `unsupported` marker for a type this
 * client does not know (never an error: newer clients may add types), or throws
 * `content.malformed`; a sender builds content with `encodeContent`, which refuses (with the same
 * code) anything `decodeContent` would refuse.
 */
import { type CborMap, type CborValue, decode, encode } from "./cbor.js";
import { fail, HoldspaceError } from "./errors.js";
import { MAX_PLAINTEXT } from "./e2ee.js";

export const REACTIONS = ["heart", "hug", "me-too", "thank-you"] as const;
export type Reaction = (typeof REACTIONS)[number];
export const RSVP_ANSWERS = ["yes", "no", "maybe"] as const;
export type RsvpAnswer = (typeof RSVP_ANSWERS)[number];

export interface TextContent {
  readonly t: "text";
  readonly b: string;
  readonly cw?: string;
  /** The entry id this text replies to (17.15). */
  readonly re?: Uint8Array;
}
export interface ReactContent {
  readonly t: "react";
  readonly m: Uint8Array;
  readonly r: Reaction;
  readonly u?: true;
}
export interface CheckinContent {
  readonly t: "checkin";
  readonly m: bigint;
  readonly w?: string;
  readonly s?: readonly [session: Uint8Array, occurrence: bigint];
}
export interface RsvpContent {
  readonly t: "rsvp";
  readonly s: Uint8Array;
  readonly o: bigint;
  readonly a: RsvpAnswer;
}
export interface TurnContent {
  readonly t: "turn";
  readonly s: Uint8Array;
  readonly o: bigint;
  readonly h: Uint8Array | null;
}
export interface PinContent {
  readonly t: "pin";
  readonly b: string;
}
export interface CredentialPost {
  readonly t: "credential";
  readonly c: Uint8Array;
}
export interface RevocationPost {
  readonly t: "revocation";
  readonly c: Uint8Array;
}
/** The disclosure fields of 13.6 (the entry's header, its payload and the key that opens it). */
export interface DisclosureFields {
  readonly e: Uint8Array;
  readonly p: Uint8Array;
  readonly k: Uint8Array;
}
export interface ReportContent extends DisclosureFields {
  readonly t: "report";
  readonly why: string;
}
export interface QuoteContent extends DisclosureFields {
  readonly t: "quote";
}
export interface SessionDetails {
  readonly t: "session";
  readonly title: string;
  readonly about?: string;
}

/** The group's name, description and guidelines (17.12). */
export interface ProfileContent {
  readonly t: "profile";
  readonly n: string;
  readonly d?: string;
  readonly g?: string;
}
/** The author's display name in the group (17.13); null withdraws it. */
export interface NameContent {
  readonly t: "name";
  readonly n: string | null;
}
/** A new text for the author's own message `m` (17.15). */
export interface EditContent {
  readonly t: "edit";
  readonly m: Uint8Array;
  readonly b: string;
  readonly cw?: string;
}

export type Content =
  | TextContent
  | ReactContent
  | CheckinContent
  | RsvpContent
  | TurnContent
  | PinContent
  | CredentialPost
  | RevocationPost
  | ReportContent
  | QuoteContent
  | SessionDetails
  | ProfileContent
  | NameContent
  | EditContent;

/** Content of a type this client does not know: shown as "unsupported content", never acted on. */
export interface Unsupported {
  readonly t: string;
  readonly unsupported: true;
}

const MAX_U63 = (1n << 63n) - 1n;
const utf8 = new TextEncoder();
const byteLength = (s: string): number => utf8.encode(s).length;

/** Field rules per type: required fields, optional ones, and a check per field. */
type Check = (v: CborValue) => boolean;
const text = (min: number, max: number): Check => (v) => typeof v === "string" && byteLength(v) >= min && byteLength(v) <= max;
const bytes = (size?: number): Check => (v) => v instanceof Uint8Array && (size === undefined || v.length === size);
const uint = (min = 0n, max = MAX_U63): Check => (v) => typeof v === "bigint" && v >= min && v <= max;
const REFUSED_IN_NAME = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;
/**
 * A one-line name (17.12): non-empty, no character of the categories Cc, Cf, Zl, Zp, and no white
 * space at either end (every white-space character JavaScript and Python disagree on is Cc or Cf).
 */
export function isOneLine(s: string): boolean {
  return s.length > 0 && s === s.trim() && !REFUSED_IN_NAME.test(s);
}
const oneLine = (max: number): Check => (v) => text(1, max)(v) && isOneLine(v as string);
const oneOf = (values: readonly string[]): Check => (v) => typeof v === "string" && values.includes(v);

const SCHEMAS: Readonly<Record<Content["t"], { required: Record<string, Check>; optional: Record<string, Check> }>> = {
  text: { required: { b: text(0, 60000) }, optional: { cw: text(1, 100), re: bytes(32) } },
  react: { required: { m: bytes(32), r: oneOf(REACTIONS) }, optional: { u: (v) => v === true } },
  checkin: {
    required: { m: uint(1n, 5n) },
    optional: { w: text(1, 32), s: (v) => Array.isArray(v) && v.length === 2 && bytes(32)(v[0]!) && uint()(v[1]!) },
  },
  rsvp: { required: { s: bytes(32), o: uint(), a: oneOf(RSVP_ANSWERS) }, optional: {} },
  turn: { required: { s: bytes(32), o: uint(), h: (v) => v === null || bytes(32)(v) }, optional: {} },
  pin: { required: { b: text(1, 60000) }, optional: {} },
  credential: { required: { c: bytes() }, optional: {} },
  revocation: { required: { c: bytes() }, optional: {} },
  report: { required: { e: bytes(), p: bytes(), k: bytes(32), why: text(0, 1000) }, optional: {} },
  quote: { required: { e: bytes(), p: bytes(), k: bytes(32) }, optional: {} },
  session: { required: { title: text(1, 200) }, optional: { about: text(1, 2000) } },
  profile: { required: { n: oneLine(64) }, optional: { d: text(1, 2000), g: text(1, 8000) } },
  name: { required: { n: (v) => v === null || oneLine(64)(v) }, optional: {} },
  edit: { required: { m: bytes(32), b: text(0, 60000) }, optional: { cw: text(1, 100) } },
};

function isKnownType(t: string): t is Content["t"] {
  return Object.prototype.hasOwnProperty.call(SCHEMAS, t);
}

const malformed = (why: string): never => fail("content.malformed", `malformed content: ${why}`);

/** Checks a content map against its type's schema; returns it as a typed content. */
function checkFields(m: CborMap, t: Content["t"]): Content {
  const schema = SCHEMAS[t];
  for (const k of Object.keys(schema.required)) if (!m.has(k)) malformed(`a ${t} needs the field "${k}"`);
  for (const [k, v] of m) {
    if (k === "t") continue;
    const check = schema.required[k] ?? schema.optional[k];
    if (check === undefined) return malformed(`a ${t} has no field "${k}"`);
    if (!check(v)) malformed(`the field "${k}" of a ${t} is not as 17.1 says`);
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of m) out[k] = v;
  if (t === "checkin" && m.has("s")) {
    const s = m.get("s") as [Uint8Array, bigint];
    out["s"] = [s[0], s[1]] as const;
  }
  return out as unknown as Content;
}

/**
 * Decodes a plaintext (after unpad) as content, in this order, the first failure being
 * `content.malformed`: canonical CBOR of at most 65279 bytes; a map with a text `"t"`; then, if
 * `t` is not a type of 17.1, the content is unsupported (no further check); otherwise the field set
 * is exactly the required fields plus any of the optional ones, and each field is as 17.1 says
 * (text lengths in UTF-8 bytes: text body 0..60000, cw 1..100, check-in word 1..32, pin 1..60000,
 * report reason 0..1000, title 1..200, about 1..2000; group name and display name one-line names
 * (17.12) of 1..64, description 1..2000, guidelines 1..8000; mood 1..5; reactions and RSVP answers from
 * their fixed sets; `u` only `true`; 32-byte ids; unsigned integers at most 2^63-1; booleans are
 * not integers).
 */
export function decodeContent(plaintext: Uint8Array): Content | Unsupported {
  let v: CborValue;
  try {
    v = decode(plaintext, MAX_PLAINTEXT);
  } catch (e) {
    if (e instanceof HoldspaceError) return malformed(`not canonical CBOR (${e.code})`);
    throw e;
  }
  if (!(v instanceof Map)) return malformed("not a map");
  const t = v.get("t");
  if (typeof t !== "string") return malformed('no text field "t"');
  if (!isKnownType(t)) return { t, unsupported: true };
  return checkFields(v, t);
}

/** True iff `c` is content of a known type. */
export function isSupported(c: Content | Unsupported): c is Content {
  return !("unsupported" in c);
}

/** The plaintext of a content; refuses (`content.malformed`) what `decodeContent` would refuse. */
export function encodeContent(c: Content): Uint8Array {
  const m = new Map<string, CborValue>();
  for (const [k, v] of Object.entries(c)) {
    if (v === undefined) continue;
    m.set(k, k === "s" && Array.isArray(v) ? [...(v as [Uint8Array, bigint])] : (v as CborValue));
  }
  const bytesOut = encode(m);
  if (bytesOut.length > MAX_PLAINTEXT) malformed("longer than 65279 bytes");
  decodeContent(bytesOut);
  return bytesOut;
}
