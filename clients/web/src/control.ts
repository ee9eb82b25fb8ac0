/**
 * Control payloads (spec/protocol.md 12.2, 12.3): the plaintext CBOR of the control kinds 1-15,
 * decoded with every structural rule, and encoded back.
 *
 * Invariant: `decodeControlPayload` refuses every structural deviation with
 * `group.malformed_payload` (never another code, never a crash), and for every payload it accepts,
 * `encodeControlPayload(decoded)` reproduces the bytes exactly (the codec is deterministic).
 * Nothing here depends on the group's state: a payload that decodes is judged by 12.5 later.
 */
import { ascii, compareBytes, concat } from "./bytes.js";
import { type CborMap, type CborValue, decode, type Encodable, encode } from "./cbor.js";
import { parseNodeAddress } from "./address.js";
import { fail, HoldspaceError } from "./errors.js";
import { type IdentityDocument, verifyIdentityDocument } from "./identity.js";
import { KINDS } from "./entry.js";
import { SEAL_OVERHEAD } from "./crypto.js";
import { decodeDirectEnvelope } from "./e2ee.js";

export type Role = "member" | "moderator" | "facilitator";
/** History visibility (12.2): what a member who joins may read of what came before it: nothing
 * ("joined"), everything ("shared"), or the epochs started in the last N days (1..365) before its join. */
export type HistoryVisibility = "joined" | "shared" | bigint;

/** The most days "hv" may name. */
export const MAX_HISTORY_DAYS = 365n;

/** Rank of a role (12.1): member 1 < moderator 2 < facilitator 3. */
export const ROLE_RANK: Readonly<Record<Role, number>> = { member: 1, moderator: 2, facilitator: 3 };

export const CONTROL_KIND = {
  genesis: 1n,
  invite: 2n,
  join: 3n,
  remove: 4n,
  role: 5n,
  leave: 6n,
  settings: 7n,
  rekey: 8n,
  host: 9n,
  redact: 10n,
  erase: 11n,
  session: 12n,
  trust: 13n,
  close: 14n,
  mute: 15n,
} as const;
export const MESSAGE_KIND = 16n;
export const DIRECT_KIND = 17n;

export const MAX_DEPS = 1024;
export const MAX_SETTINGS_META = 4096;
export const MAX_ADDRESS_TEXT = 300;
export const MAX_REDACT = 256;
export const MAX_SESSION_DURATION = 86_400_000n;
export const MAX_RETENTION = 31_622_400_000n;
export const MAX_OCCURRENCES = 520n;
export const MAX_TZ_TEXT = 64;
export const MAX_SESSION_START = 32_503_680_000_000n;
export const MAX_SESSION_DETAILS = 8192;
/** A removal's note or reason (12.3): a direct envelope of at most this many bytes. */
export const MAX_SEALED_WORDS = 8192;
const TZ_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/;

/** A sealed box for one member: `[member key, Seal(member X25519, secret)]`. */
export type SealedFor = readonly [key: Uint8Array, box: Uint8Array];

export interface Genesis {
  readonly kind: "genesis";
  readonly nonce: Uint8Array;
  readonly doc: IdentityDocument;
  readonly docBytes: Uint8Array;
  readonly history: HistoryVisibility;
  readonly home: string | null;
  /** The node key of `home`. */
  readonly homeKey: Uint8Array | null;
}
export interface Invite {
  readonly kind: "invite";
  readonly deps: readonly Uint8Array[];
  readonly role: Role;
  readonly expires: bigint;
  readonly uses: bigint;
  readonly target: Uint8Array | null;
  readonly key: Uint8Array;
}
export interface Join {
  readonly kind: "join";
  readonly deps: readonly Uint8Array[];
  readonly invite: Uint8Array;
  readonly proof: Uint8Array;
  readonly doc: IdentityDocument;
  readonly docBytes: Uint8Array;
  readonly home: string | null;
  /** The node key of `home`. */
  readonly homeKey: Uint8Array | null;
}
export interface Remove {
  readonly kind: "remove";
  readonly deps: readonly Uint8Array[];
  readonly target: Uint8Array;
  readonly cut: bigint;
  readonly ban: boolean;
  /** A note for the removed member: a direct envelope (13.5) at the removal's seq, or null. */
  readonly note: Uint8Array | null;
  /** The reason, for the facilitators: a direct envelope (13.5) at the removal's seq, or null. */
  readonly reason: Uint8Array | null;
}
export interface RoleChange {
  readonly kind: "role";
  readonly deps: readonly Uint8Array[];
  readonly target: Uint8Array;
  readonly role: Role;
}
export interface Leave {
  readonly kind: "leave";
  readonly deps: readonly Uint8Array[];
}
export interface Settings {
  readonly kind: "settings";
  readonly deps: readonly Uint8Array[];
  readonly history: HistoryVisibility;
  readonly meta: Uint8Array | null;
}
export interface Rekey {
  readonly kind: "rekey";
  readonly deps: readonly Uint8Array[];
  readonly sealed: readonly SealedFor[];
  readonly doc: IdentityDocument | null;
  readonly docBytes: Uint8Array | null;
  readonly history: readonly SealedFor[];
}
export interface Host {
  readonly kind: "host";
  readonly deps: readonly Uint8Array[];
  readonly address: string;
  readonly nodeKey: Uint8Array;
  readonly add: boolean;
}
export interface Redact {
  readonly kind: "redact";
  readonly deps: readonly Uint8Array[];
  readonly target: Uint8Array;
  readonly ids: readonly Uint8Array[];
}
export interface Erase {
  readonly kind: "erase";
  readonly deps: readonly Uint8Array[];
  readonly seq: bigint;
}
export interface Recurrence {
  readonly period: "daily" | "weekly";
  readonly count: bigint;
}
export interface SessionVersion {
  readonly kind: "session";
  readonly deps: readonly Uint8Array[];
  readonly replaces: Uint8Array | null;
  readonly start: bigint;
  readonly duration: bigint;
  readonly tz: string;
  readonly recurrence: Recurrence | null;
  readonly retention: bigint | null;
  readonly cancelled: boolean;
  readonly details: Uint8Array | null;
}
export interface Trust {
  readonly kind: "trust";
  readonly deps: readonly Uint8Array[];
  readonly key: Uint8Array;
  readonly add: boolean;
}
export interface Close {
  readonly kind: "close";
  readonly deps: readonly Uint8Array[];
  readonly invite: Uint8Array;
}

/** A mute (12.3, 12.5): the target's group messages after seq `cut`, dated before `until`, are refused. */
export interface Mute {
  readonly kind: "mute";
  readonly deps: readonly Uint8Array[];
  readonly target: Uint8Array;
  readonly cut: bigint;
  readonly until: bigint;
}

export type ControlPayload =
  | Genesis
  | Invite
  | Join
  | Remove
  | RoleChange
  | Leave
  | Settings
  | Rekey
  | Host
  | Redact
  | Erase
  | SessionVersion
  | Trust
  | Close
  | Mute;

/** Every control payload but the genesis carries `d`. */
export type DependentPayload = Exclude<ControlPayload, Genesis>;

/** True iff `kind` is a control kind (0x01-0x0E; 0x0F is unassigned). */
export function isControlKind(kind: bigint): boolean {
  return kind >= 1n && kind <= 15n;
}

/** True iff `kind` is a message kind of the registry (`message` or `direct`). */
export function isMessageKind(kind: bigint): boolean {
  return kind === MESSAGE_KIND || kind === DIRECT_KIND;
}

function kindName(kind: bigint): string {
  return KINDS.get(kind)?.name ?? `kind ${kind}`;
}

function bad(kind: bigint, why: string): never {
  return fail("group.malformed_payload", `${kindName(kind)} payload: ${why}`);
}

const isUint = (v: CborValue | undefined): v is bigint => typeof v === "bigint" && v >= 0n;
const isKey = (v: CborValue | undefined): v is Uint8Array => v instanceof Uint8Array && v.length === 32;

/** The payload's map, with exactly the required keys and any of the optional ones. */
function fields(kind: bigint, payload: Uint8Array, required: string[], optional: string[] = []): CborMap {
  let value: CborValue;
  try {
    value = decode(payload, KINDS.get(kind)?.limit ?? 0);
  } catch (e) {
    if (e instanceof HoldspaceError) return bad(kind, `not canonical CBOR (${e.code})`);
    throw e;
  }
  if (!(value instanceof Map)) return bad(kind, "not a map");
  for (const k of required) if (!value.has(k)) bad(kind, `the field "${k}" is missing`);
  for (const k of value.keys()) if (!required.includes(k) && !optional.includes(k)) bad(kind, `unknown field "${k}"`);
  return value;
}

function strictlyAscending(items: readonly Uint8Array[]): boolean {
  for (let i = 1; i < items.length; i++) if (compareBytes(items[i - 1]!, items[i]!) >= 0) return false;
  return true;
}

function deps(kind: bigint, v: CborValue | undefined): Uint8Array[] {
  if (!Array.isArray(v) || !v.every(isKey)) return bad(kind, "d must be a list of 32-byte entry ids");
  const d = v as Uint8Array[];
  if (d.length < 1 || d.length > MAX_DEPS) bad(kind, `d must name 1 to ${MAX_DEPS} control entries`);
  if (!strictlyAscending(d)) bad(kind, "d must be sorted ascending without duplicates");
  return d;
}

function role(kind: bigint, v: CborValue | undefined): Role {
  if (v !== "member" && v !== "moderator" && v !== "facilitator") return bad(kind, "a role is member, moderator or facilitator");
  return v;
}

/** `hv`: the text "joined" or "shared", or an unsigned integer of days 1..365 (12.2). */
function history(kind: bigint, v: CborValue | undefined): HistoryVisibility {
  if (v === "joined" || v === "shared") return v;
  if (typeof v === "bigint" && v >= 1n && v <= MAX_HISTORY_DAYS) return v;
  return bad(kind, 'hv must be "joined", "shared" or a number of days 1..365');
}

/** A node address of at most 300 characters, in its normal form (12.2); returns it and its key. */
function home(kind: bigint, v: CborValue | undefined): { address: string; nodeKey: Uint8Array } {
  if (typeof v !== "string" || v.length < 1 || v.length > MAX_ADDRESS_TEXT) return bad(kind, "h must be a node address");
  let parsed;
  try {
    parsed = parseNodeAddress(v);
  } catch (e) {
    if (e instanceof HoldspaceError) return bad(kind, `h is not a node address (${e.code})`);
    throw e;
  }
  if (parsed.normal !== v) bad(kind, "h must be a node address in its normal form");
  return { address: v, nodeKey: parsed.nodeKey };
}

/** An identity document (4.4) whose key is the entry's author. */
function document(kind: bigint, v: CborValue | undefined, author: Uint8Array): IdentityDocument {
  if (!(v instanceof Uint8Array)) return bad(kind, "doc must be an identity document");
  let doc: IdentityDocument;
  try {
    doc = verifyIdentityDocument(v);
  } catch (e) {
    if (e instanceof HoldspaceError) return bad(kind, `the identity document is refused (${e.code})`);
    throw e;
  }
  if (compareBytes(doc.k, author) !== 0) bad(kind, "the identity document is not the author's");
  return doc;
}

function sealedList(kind: bigint, v: CborValue | undefined, name: string): SealedFor[] {
  if (!Array.isArray(v)) return bad(kind, `${name} must be a list of [member key, sealed box]`);
  const out: SealedFor[] = [];
  for (const item of v) {
    if (!Array.isArray(item) || item.length !== 2 || !isKey(item[0]) || !(item[1] instanceof Uint8Array))
      bad(kind, `${name} must be a list of [32-byte key, sealed box]`);
    const [key, box] = item as [Uint8Array, Uint8Array];
    if (box.length < SEAL_OVERHEAD) bad(kind, `${name} holds a sealed box shorter than ${SEAL_OVERHEAD} bytes`);
    out.push([key, box]);
  }
  if (!strictlyAscending(out.map((p) => p[0]))) bad(kind, `${name} must be sorted by member key without duplicates`);
  return out;
}

function session(kind: bigint, f: CborMap): SessionVersion {
  const s = f.get("s");
  const st = f.get("st");
  const du = f.get("du");
  const tz = f.get("tz");
  const rc = f.get("rc");
  const rt = f.get("rt");
  const x = f.get("x");
  const e = f.get("e");
  if (s !== null && !isKey(s)) bad(kind, "s must be null or a 32-byte session id");
  if (!isUint(st) || st >= MAX_SESSION_START) bad(kind, "st must be a start time in ms before the year 3000");
  if (!isUint(du) || du < 1n || du > MAX_SESSION_DURATION) bad(kind, "du must be 1..86400000 ms");
  if (typeof tz !== "string" || tz.length > MAX_TZ_TEXT || !TZ_NAME.test(tz))
    bad(kind, "tz must be an IANA time zone name of at most 64 characters");
  let recurrence: Recurrence | null = null;
  if (rc !== null) {
    if (!Array.isArray(rc) || rc.length !== 2 || (rc[0] !== "daily" && rc[0] !== "weekly") || !isUint(rc[1]) || rc[1] < 2n || rc[1] > MAX_OCCURRENCES)
      return bad(kind, 'rc must be null or ["daily" | "weekly", 2..520]');
    recurrence = { period: rc[0], count: rc[1] };
  }
  if (rt !== null && (!isUint(rt) || rt > MAX_RETENTION)) bad(kind, "rt must be null or 0..31622400000 ms");
  if (typeof x !== "boolean") bad(kind, "x must be a boolean");
  if (e !== null && (!(e instanceof Uint8Array) || e.length > MAX_SESSION_DETAILS)) bad(kind, "e must be null or at most 8192 bytes");
  return {
    kind: "session",
    deps: deps(kind, f.get("d")),
    replaces: s as Uint8Array | null,
    start: st as bigint,
    duration: du as bigint,
    tz: tz as string,
    recurrence,
    retention: rt as bigint | null,
    cancelled: x as boolean,
    details: e as Uint8Array | null,
  };
}

/**
 * Decodes the payload of a control entry of `kind` by `author` (12.2, 12.3). Checked, for every
 * kind: canonical CBOR within the kind's payload limit, a map, exactly the kind's fields (the
 * optional ones of genesis and join aside); `d` 1..1024 32-byte ids, strictly ascending; roles
 * among member, moderator, facilitator; `hv` "joined", "shared" or an unsigned integer 1..365; node addresses (`h`) of 1..300
 * characters that parse (12.2) and are in normal form; identity documents (`doc`) that verify (4.4)
 * and name the author. Per kind: genesis `n` 16 bytes; invite `x` and `u` unsigned with `u` >= 1,
 * `p` null or 32 bytes, `i` 32 bytes; join `i` 32 bytes and named by `d`, `w` 64 bytes; remove `m`
 * 32 bytes, `c` unsigned, `b` boolean, optional `n` and `y` direct envelopes (13.5) of at most 8192 bytes; role `m` 32 bytes; settings `e` null or at most 4096
 * bytes; rekey `r` a non-empty and `h` a possibly empty list of [32-byte key, box of at least 48
 * bytes], each strictly ascending by key, `doc` null or a document; host `a` boolean; redact `m`
 * 32 bytes, `r` 1..256 32-byte ids strictly ascending; erase `s` >= 1; session as 12.3 (`s`, `st`
 * below year 3000, `du` 1..86400000, `tz` the grammar in at most 64 characters, `rc`, `rt`
 * 0..31622400000, `x` boolean, `e` at most 8192 bytes); trust `k` 32 bytes, `a` boolean; close `i`
 * 32 bytes; mute `m` 32 bytes, `c` unsigned, `u` unsigned below 32503680000000 (year 3000). Integers are never booleans. Any failure: `group.malformed_payload`. (Where 12.3 is
 * silent — an invite's `x` and `u` take any unsigned value, an invite's `i` is not checked as a
 * point, a node address is refused above 300 characters before it is parsed — this follows the
 * reference, `protocol/payloads.py`, consulted on those doubts.)
 */
export function decodeControlPayload(kind: bigint, payload: Uint8Array, author: Uint8Array): ControlPayload {
  switch (kind) {
    case CONTROL_KIND.genesis: {
      const f = fields(kind, payload, ["n", "doc", "hv"], ["h"]);
      const n = f.get("n");
      if (!(n instanceof Uint8Array) || n.length !== 16) bad(kind, "n must be 16 bytes");
      const hv = history(kind, f.get("hv"));
      const h = f.has("h") ? home(kind, f.get("h")) : null;
      const doc = document(kind, f.get("doc"), author);
      return { kind: "genesis", nonce: n as Uint8Array, doc, docBytes: f.get("doc") as Uint8Array, history: hv, home: h?.address ?? null, homeKey: h?.nodeKey ?? null };
    }
    case CONTROL_KIND.invite: {
      const f = fields(kind, payload, ["d", "r", "x", "u", "p", "i"]);
      const x = f.get("x");
      const u = f.get("u");
      const p = f.get("p");
      const i = f.get("i");
      if (!isUint(x) || !isUint(u) || u < 1n) bad(kind, "x must be an unsigned integer and u a positive one");
      if (p !== null && !isKey(p)) bad(kind, "p must be null or a 32-byte pseudonym");
      if (!isKey(i)) bad(kind, "i must be a 32-byte Ed25519 public key");
      return { kind: "invite", deps: deps(kind, f.get("d")), role: role(kind, f.get("r")), expires: x as bigint, uses: u as bigint, target: p as Uint8Array | null, key: i as Uint8Array };
    }
    case CONTROL_KIND.join: {
      const f = fields(kind, payload, ["d", "i", "w", "doc"], ["h"]);
      const d = deps(kind, f.get("d"));
      const i = f.get("i");
      const w = f.get("w");
      if (!isKey(i) || !d.some((x) => compareBytes(x, i) === 0)) bad(kind, "i must be a 32-byte invite id that d names too");
      if (!(w instanceof Uint8Array) || w.length !== 64) bad(kind, "w must be a 64-byte signature");
      const h = f.has("h") ? home(kind, f.get("h")) : null;
      const doc = document(kind, f.get("doc"), author);
      return { kind: "join", deps: d, invite: i as Uint8Array, proof: w as Uint8Array, doc, docBytes: f.get("doc") as Uint8Array, home: h?.address ?? null, homeKey: h?.nodeKey ?? null };
    }
    case CONTROL_KIND.remove: {
      const f = fields(kind, payload, ["d", "m", "c", "b"], ["n", "y"]);
      const m = f.get("m");
      const c = f.get("c");
      const b = f.get("b");
      if (!isKey(m) || !isUint(c) || typeof b !== "boolean") bad(kind, "m must be a 32-byte key, c an unsigned integer, b a boolean");
      const words = (name: string): Uint8Array | null => {
        const v = f.get(name);
        if (v === undefined) return null;
        if (!(v instanceof Uint8Array) || v.length > MAX_SEALED_WORDS) bad(kind, `${name} must be a direct envelope of at most 8192 bytes`);
        try {
          decodeDirectEnvelope(v as Uint8Array);
        } catch (e) {
          if (!(e instanceof HoldspaceError)) throw e;
          bad(kind, `${name} is not a direct envelope`);
        }
        return v as Uint8Array;
      };
      const note = words("n");
      const reason = words("y");
      return { kind: "remove", deps: deps(kind, f.get("d")), target: m as Uint8Array, cut: c as bigint, ban: b as boolean, note, reason };
    }
    case CONTROL_KIND.role: {
      const f = fields(kind, payload, ["d", "m", "r"]);
      const m = f.get("m");
      if (!isKey(m)) bad(kind, "m must be a 32-byte key");
      return { kind: "role", deps: deps(kind, f.get("d")), target: m as Uint8Array, role: role(kind, f.get("r")) };
    }
    case CONTROL_KIND.leave: {
      const f = fields(kind, payload, ["d"]);
      return { kind: "leave", deps: deps(kind, f.get("d")) };
    }
    case CONTROL_KIND.settings: {
      const f = fields(kind, payload, ["d", "hv", "e"]);
      const e = f.get("e");
      const hv = history(kind, f.get("hv"));
      if (e !== null && (!(e instanceof Uint8Array) || e.length > MAX_SETTINGS_META)) bad(kind, "e must be null or at most 4096 bytes");
      return { kind: "settings", deps: deps(kind, f.get("d")), history: hv, meta: e as Uint8Array | null };
    }
    case CONTROL_KIND.rekey: {
      const f = fields(kind, payload, ["d", "r", "doc", "h"]);
      const docValue = f.get("doc");
      const doc = docValue === null ? null : document(kind, docValue, author);
      const sealed = sealedList(kind, f.get("r"), "r");
      if (sealed.length === 0) bad(kind, "r must seal the epoch key to at least its author");
      const hist = sealedList(kind, f.get("h"), "h");
      return { kind: "rekey", deps: deps(kind, f.get("d")), sealed, doc, docBytes: docValue as Uint8Array | null, history: hist };
    }
    case CONTROL_KIND.host: {
      const f = fields(kind, payload, ["d", "h", "a"]);
      const a = f.get("a");
      if (typeof a !== "boolean") bad(kind, "a must be a boolean");
      const h = home(kind, f.get("h"));
      return { kind: "host", deps: deps(kind, f.get("d")), address: h.address, nodeKey: h.nodeKey, add: a as boolean };
    }
    case CONTROL_KIND.redact: {
      const f = fields(kind, payload, ["d", "m", "r"]);
      const m = f.get("m");
      const r = f.get("r");
      if (!isKey(m)) bad(kind, "m must be a 32-byte key");
      if (!Array.isArray(r) || r.length < 1 || r.length > MAX_REDACT || !r.every(isKey)) bad(kind, "r must list 1 to 256 entry ids");
      if (!strictlyAscending(r as Uint8Array[])) bad(kind, "r must be sorted ascending without duplicates");
      return { kind: "redact", deps: deps(kind, f.get("d")), target: m as Uint8Array, ids: r as Uint8Array[] };
    }
    case CONTROL_KIND.erase: {
      const f = fields(kind, payload, ["d", "s"]);
      const s = f.get("s");
      if (!isUint(s) || s < 1n) bad(kind, "s must be a positive integer");
      return { kind: "erase", deps: deps(kind, f.get("d")), seq: s as bigint };
    }
    case CONTROL_KIND.session:
      return session(kind, fields(kind, payload, ["d", "s", "st", "du", "tz", "rc", "rt", "x", "e"]));
    case CONTROL_KIND.trust: {
      const f = fields(kind, payload, ["d", "k", "a"]);
      const k = f.get("k");
      const a = f.get("a");
      if (!isKey(k) || typeof a !== "boolean") bad(kind, "k must be a 32-byte key and a a boolean");
      return { kind: "trust", deps: deps(kind, f.get("d")), key: k as Uint8Array, add: a as boolean };
    }
    case CONTROL_KIND.close: {
      const f = fields(kind, payload, ["d", "i"]);
      const i = f.get("i");
      if (!isKey(i)) bad(kind, "i must be a 32-byte invite id");
      return { kind: "close", deps: deps(kind, f.get("d")), invite: i as Uint8Array };
    }
    case CONTROL_KIND.mute: {
      const f = fields(kind, payload, ["d", "m", "c", "u"]);
      const m = f.get("m");
      const c = f.get("c");
      const u = f.get("u");
      if (!isKey(m) || !isUint(c) || !isUint(u) || u >= MAX_SESSION_START) bad(kind, "m must be a 32-byte key, c an unsigned integer, u a time before the year 3000");
      return { kind: "mute", deps: deps(kind, f.get("d")), target: m as Uint8Array, cut: c as bigint, until: u as bigint };
    }
    default:
      return bad(kind, "this kind has no control payload");
  }
}

/** The kind number of a control payload. */
export function kindOf(p: ControlPayload): bigint {
  return CONTROL_KIND[p.kind];
}

/** The CBOR fields of a control payload (the inverse of `decodeControlPayload`). */
function payloadFields(p: ControlPayload): Record<string, Encodable> {
  const sealed = (list: readonly SealedFor[]): Encodable => list.map(([k, b]) => [k, b]);
  switch (p.kind) {
    case "genesis":
      return { n: p.nonce, doc: p.docBytes, hv: p.history, ...(p.home === null ? {} : { h: p.home }) };
    case "invite":
      return { d: p.deps, r: p.role, x: p.expires, u: p.uses, p: p.target, i: p.key };
    case "join":
      return { d: p.deps, i: p.invite, w: p.proof, doc: p.docBytes, ...(p.home === null ? {} : { h: p.home }) };
    case "remove":
      return { d: p.deps, m: p.target, c: p.cut, b: p.ban, ...(p.note === null ? {} : { n: p.note }), ...(p.reason === null ? {} : { y: p.reason }) };
    case "role":
      return { d: p.deps, m: p.target, r: p.role };
    case "leave":
      return { d: p.deps };
    case "settings":
      return { d: p.deps, hv: p.history, e: p.meta };
    case "rekey":
      return { d: p.deps, r: sealed(p.sealed), doc: p.docBytes, h: sealed(p.history) };
    case "host":
      return { d: p.deps, h: p.address, a: p.add };
    case "redact":
      return { d: p.deps, m: p.target, r: p.ids };
    case "erase":
      return { d: p.deps, s: p.seq };
    case "session":
      return {
        d: p.deps,
        s: p.replaces,
        st: p.start,
        du: p.duration,
        tz: p.tz,
        rc: p.recurrence === null ? null : [p.recurrence.period, p.recurrence.count],
        rt: p.retention,
        x: p.cancelled,
        e: p.details,
      };
    case "trust":
      return { d: p.deps, k: p.key, a: p.add };
    case "close":
      return { d: p.deps, i: p.invite };
    case "mute":
      return { d: p.deps, m: p.target, c: p.cut, u: p.until };
  }
}

/** The payload bytes of `p`. */
export function encodeControlPayload(p: ControlPayload): Uint8Array {
  return encode(payloadFields(p));
}

/** The message a join's `w` signs (12.3): "holdspace/v1/join" || 0x00 || group id || author || invite id. */
export function joinProofMessage(groupId: Uint8Array, joiner: Uint8Array, inviteId: Uint8Array): Uint8Array {
  return concat(ascii("holdspace/v1/join"), Uint8Array.of(0), groupId, joiner, inviteId);
}

/** Sorted ascending (bytewise), without duplicates: the form of `d` (12.3). */
export function sortedIds(ids: Iterable<Uint8Array>): Uint8Array[] {
  const out = [...ids].sort(compareBytes);
  return out.filter((x, i) => i === 0 || compareBytes(out[i - 1]!, x) !== 0);
}
