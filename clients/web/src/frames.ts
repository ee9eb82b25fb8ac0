/**
 * Frames of the client session stream, protocol version 3 (spec/protocol.md 14.1, 14.2, 14.6, 15.3):
 * version 2 with an operator's `token` in `publish` and `adopt`, and the node's `create` admission
 * and `contact` in the answer to a version-3 `hello`.
 *
 * A message on the byte channel is a 4-byte big-endian length and that many bytes; a frame is a
 * canonical CBOR map. Requests carry a client-chosen `id`; answers (`ok` / `err`, final) and
 * events (`ev`, a subscription's) carry the id of their request.
 */
import { concat } from "./bytes.js";
import { type CborMap, type CborValue, decode, encode } from "./cbor.js";
import { HoldspaceError, fail } from "./errors.js";

export const PROTOCOL_VERSION = 3n;
/** The version a client falls back to when a version-2 node refuses a version-3 hello (14.1). */
export const PREVIOUS_VERSION = 2n;
/** Bytes of an operator's token (14.6). */
export const OPERATOR_TOKEN_SIZE = 32;
/** Largest message (15.3.3): a 1 MiB control payload, a 1 KiB header and the framing map. */
export const MAX_FRAME = 1_050_624;
const MAX_ID = (1n << 64n) - 1n;

/** A request: its op, id and the op's own fields. */
export interface Request {
  readonly op: string;
  readonly id: bigint;
  readonly fields: CborMap;
}

/** A frame sent by the node. `id` is null only for an error sent before closing (a bad frame). */
export type ServerFrame =
  | { readonly kind: "ok"; readonly id: bigint; readonly ok: CborMap }
  | { readonly kind: "err"; readonly id: bigint | null; readonly code: string; readonly msg: string }
  | { readonly kind: "event"; readonly id: bigint; readonly ev: string; readonly fields: CborMap };

type Check = (v: CborValue) => boolean;
const isUint: Check = (v) => typeof v === "bigint" && v >= 0n && v <= MAX_ID;
const bytesOf =
  (size?: number): Check =>
  (v) =>
    v instanceof Uint8Array && (size === undefined || v.length === size);
const orNull =
  (c: Check): Check =>
  (v) =>
    v === null || c(v);
const isText: Check = (v) => typeof v === "string";
const inRange =
  (lo: bigint, hi: bigint): Check =>
  (v) =>
    typeof v === "bigint" && v >= lo && v <= hi;
const arrayOf =
  (c: Check, lo: number, hi: number): Check =>
  (v) =>
    Array.isArray(v) && v.length >= lo && v.length <= hi && v.every(c);
const headerAndPayload: Check = (v) =>
  Array.isArray(v) && v.length === 2 && v.every((x) => x instanceof Uint8Array);

/** The schema of every request of 14.2 (and 14.8's backups): its fields besides `op` and `id`, each with its check. */
export const REQUEST_SCHEMAS: Readonly<Record<string, Readonly<Record<string, Check>>>> = {
  hello: { v: isUint },
  auth: { k: bytesOf(32), sig: bytesOf(64) },
  publish: { e: bytesOf(), b: orNull(bytesOf()) },
  publish_many: { entries: arrayOf(headerAndPayload, 1, 256) },
  fetch: { g: bytesOf(32), after: isUint, limit: inRange(1n, 512n) },
  subscribe: { g: bytesOf(32), after: isUint },
  cancel: { sub: isUint },
  state: { g: bytesOf(32) },
  adopt: { e: bytesOf(), b: bytesOf(), hosts: arrayOf(isText, 1, 8) },
  identity: { g: bytesOf(32), k: bytesOf(32) },
  backup_put: { b: bytesOf(32), g: bytesOf(32), data: (v) => v instanceof Uint8Array && v.length >= 1 && v.length <= 1048576 },
  backup_get: { b: bytesOf(32) },
  // live-call signalling (17.11); the box's size is the node's check (call.too_large)
  listen: { g: bytesOf(32) },
  signal: { g: bytesOf(32), from: bytesOf(32), to: bytesOf(32), box: bytesOf() },
};

/** Fields a request MAY carry besides its schema's (version 3, 14.6): op -> {field: check}. */
export const OPTIONAL_FIELDS: Readonly<Record<string, Readonly<Record<string, Check>>>> = {
  publish: { token: bytesOf(OPERATOR_TOKEN_SIZE) },
  adopt: { token: bytesOf(OPERATOR_TOKEN_SIZE) },
};

const isKnownVersion = (v: CborValue | undefined): boolean => v === PROTOCOL_VERSION || v === PREVIOUS_VERSION;

/** A refusal of a request that names its id (null: the frame could not be answered by id). */
export class FrameError extends HoldspaceError {
  readonly id: bigint | null;
  constructor(code: string, message: string, id: bigint | null) {
    super(code, message);
    this.id = id;
  }
}

function decodeFrameMap(frame: Uint8Array): CborMap {
  let item: CborValue;
  try {
    item = decode(frame, MAX_FRAME);
  } catch (e) {
    if (e instanceof HoldspaceError)
      throw new FrameError("proto.malformed_frame", `the frame is not canonical CBOR (${e.code})`, null);
    throw e;
  }
  if (!(item instanceof Map)) throw new FrameError("proto.malformed_frame", "the frame is not a map", null);
  return item;
}

/**
 * Parses a request frame as a node does (14.1, 14.2 rule 6). Refused, with a `FrameError`:
 * not canonical CBOR or not a map: `proto.malformed_frame` without id; no unsigned integer `id`:
 * `proto.bad_version` without id if it is a hello whose `v` is not 2 or 3 (what a version-1 client
 * sends), else `proto.malformed_frame` without id; then, naming the id: `op` not a known text
 * (`proto.unknown_op`), fields besides `op` and `id` not the op's schema and, besides it, only its
 * optional fields (`OPTIONAL_FIELDS`), each well formed (`proto.malformed_frame`), a hello whose
 * `v` is not 2 or 3 (`proto.bad_version`).
 */
export function parseRequest(frame: Uint8Array): Request {
  const m = decodeFrameMap(frame);
  const id = m.get("id");
  const op = m.get("op");
  if (id === undefined || !isUint(id)) {
    if (op === "hello" && m.has("v") && !isKnownVersion(m.get("v")))
      throw new FrameError("proto.bad_version", "this node speaks client protocol versions 2 and 3", null);
    throw new FrameError("proto.malformed_frame", "a request carries an unsigned integer id", null);
  }
  const rid = id as bigint;
  const schema = typeof op === "string" ? REQUEST_SCHEMAS[op] : undefined;
  if (schema === undefined) throw new FrameError("proto.unknown_op", "unknown operation", rid);
  const fields: CborMap = new Map(m);
  fields.delete("id");
  fields.delete("op");
  const extra = OPTIONAL_FIELDS[op as string] ?? {};
  for (const name of fields.keys())
    if (typeof name !== "string" || (!(name in schema) && !(name in extra)))
      throw new FrameError("proto.malformed_frame", `wrong fields for ${op}`, rid);
  for (const name of Object.keys(schema)) {
    const v = fields.get(name);
    if (v === undefined || !schema[name]!(v))
      throw new FrameError("proto.malformed_frame", `field "${name}" of ${op} is missing or malformed`, rid);
  }
  for (const name of Object.keys(extra)) {
    const v = fields.get(name);
    if (v !== undefined && !extra[name]!(v)) throw new FrameError("proto.malformed_frame", `field "${name}" of ${op} is malformed`, rid);
  }
  if (op === "hello" && !isKnownVersion(fields.get("v")))
    throw new FrameError("proto.bad_version", "this node speaks client protocol versions 2 and 3", rid);
  return { op: op as string, id: rid, fields };
}

/** Whether the node lets people start groups (14.6): anyone, the holder of an operator's token, or nobody. */
export type Admission = "open" | "token" | "closed";

/** What the answer to `hello` tells the client (14.2). `create` and `contact` are null from a
 * version-2 answer (and `contact` when the operator set none). */
export interface Hello {
  readonly v: bigint;
  readonly node: Uint8Array;
  readonly challenge: Uint8Array;
  readonly limits: CborMap;
  readonly create: Admission | null;
  readonly contact: string | null;
}

const MAX_CONTACT = 300;

/**
 * The node's answer `ok` to a `hello` with `v` = `sent` (14.2), checked; anything else is
 * `proto.malformed_frame`. Checked: `v` is `sent`; `node` and `challenge` are 32 bytes; `limits` is
 * a map; for version 3, `create` is "open", "token" or "closed" and `contact`, if present, a text of
 * at most 300 characters; for version 2, neither is present. Other fields (`web`) are left alone.
 */
export function parseHello(ok: CborMap, sent: bigint): Hello {
  const bad = (why: string): never => fail("proto.malformed_frame", `the node's hello answer is malformed: ${why}`);
  const node = ok.get("node");
  const challenge = ok.get("challenge");
  const limits = ok.get("limits");
  if (ok.get("v") !== sent) bad(`it does not answer version ${sent}`);
  if (!bytesOf(32)(node ?? null) || !bytesOf(32)(challenge ?? null)) bad("no 32-byte node key and challenge");
  if (!(limits instanceof Map)) return bad("no limits");
  const create = ok.get("create");
  const contact = ok.get("contact");
  if (sent === PREVIOUS_VERSION) {
    if (create !== undefined || contact !== undefined) bad("a version-2 answer carries create or contact");
  } else {
    if (create !== "open" && create !== "token" && create !== "closed") bad("create is not open, token or closed");
    if (contact !== undefined && (typeof contact !== "string" || [...contact].length > MAX_CONTACT)) bad("contact is not a text of at most 300 characters");
  }
  return {
    v: sent,
    node: node as Uint8Array,
    challenge: challenge as Uint8Array,
    limits,
    create: (create ?? null) as Admission | null,
    contact: (contact ?? null) as string | null,
  };
}

/** The frame of a request; refused (`proto.malformed_frame` / `proto.unknown_op`, as a node would)
 * if it does not match its schema, so a client never sends a frame the node must refuse. */
export function encodeRequest(op: string, id: bigint, fields: CborMap): Uint8Array {
  const m: CborMap = new Map(fields);
  m.set("op", op);
  m.set("id", id);
  const frame = encode(m);
  parseRequest(frame);
  return frame;
}

/**
 * Parses a frame from the node (14.1). Checked: canonical CBOR, a map; then either
 * `{id, ok: map}`, `{id, err: {code: text, msg: text}}`, `{err}` without id, or
 * `{id, ev: text, ...}` (an event), `id` an unsigned integer. Anything else:
 * `proto.malformed_frame` (a `FrameError` without id).
 */
export function parseServerFrame(frame: Uint8Array): ServerFrame {
  const m = decodeFrameMap(frame);
  const bad = (why: string): never => {
    throw new FrameError("proto.malformed_frame", `a frame from the node is malformed: ${why}`, null);
  };
  const id = m.get("id");
  if (id !== undefined && !isUint(id)) bad("the id is not an unsigned integer");
  const rid = (id ?? null) as bigint | null;
  if (m.has("err")) {
    const err = m.get("err");
    if (m.size !== (rid === null ? 1 : 2)) bad("an error has other fields");
    if (!(err instanceof Map) || err.size !== 2) return bad("the error is not {code, msg}");
    const code = err.get("code");
    const msg = err.get("msg");
    if (typeof code !== "string" || typeof msg !== "string") return bad("the error is not {code, msg}");
    return { kind: "err", id: rid, code, msg };
  }
  if (rid === null) return bad("no id");
  if (m.has("ok")) {
    const ok = m.get("ok");
    if (m.size !== 2 || !(ok instanceof Map)) return bad("an answer is not {id, ok: map}");
    return { kind: "ok", id: rid, ok };
  }
  const ev = m.get("ev");
  if (typeof ev !== "string") return bad("neither an answer nor an event");
  const fields: CborMap = new Map(m);
  fields.delete("id");
  fields.delete("ev");
  return { kind: "event", id: rid, ev, fields };
}

/** The frame of an answer or event, as a node writes it (for tests and local peers). */
export function encodeServerFrame(f: ServerFrame): Uint8Array {
  const m: CborMap = new Map();
  if (f.id !== null) m.set("id", f.id);
  if (f.kind === "ok") m.set("ok", f.ok);
  else if (f.kind === "err")
    m.set(
      "err",
      new Map<string, CborValue>([
        ["code", f.code],
        ["msg", f.msg],
      ]),
    );
  else {
    for (const [k, v] of f.fields) m.set(k, v);
    m.set("ev", f.ev);
  }
  return encode(m);
}

/** One message on the byte channel: the 4-byte big-endian length, then the frame (15.3.2).
 * A frame over MAX_FRAME is refused locally (`proto.too_large`) and nothing is written. */
export function frameMessage(frame: Uint8Array): Uint8Array {
  if (frame.length > MAX_FRAME) fail("proto.too_large", "the frame exceeds the maximum frame size");
  const prefix = new Uint8Array(4);
  new DataView(prefix.buffer).setUint32(0, frame.length);
  return concat(prefix, frame);
}

/**
 * Splits a byte channel into messages, whatever the chunk boundaries (a WebTransport stream or
 * concatenated WebSocket messages). Invariant: memory held is at most one partial message plus
 * the unread chunks; a length prefix over MAX_FRAME is refused (`proto.too_large`) before any of
 * its bytes are buffered, and the reader then stays failed.
 */
export class MessageReader {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private failed = false;

  /** Adds `chunk` and returns every message now complete, in order. */
  push(chunk: Uint8Array): Uint8Array[] {
    if (this.failed) fail("proto.too_large", "the stream was refused for an oversized message");
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const out: Uint8Array[] = [];
    for (;;) {
      if (this.buffered < 4) return out;
      const head = this.peek(4);
      const n = new DataView(head.buffer, head.byteOffset, 4).getUint32(0);
      if (n > MAX_FRAME) {
        this.failed = true;
        this.chunks = [];
        this.buffered = 0;
        fail("proto.too_large", "a message exceeds the maximum frame size");
      }
      if (this.buffered < 4 + n) return out;
      const all = this.peek(4 + n);
      out.push(all.slice(4));
      this.drop(4 + n);
    }
  }

  /** True iff no partial message is buffered (the channel may end here: 15.3.5). */
  atBoundary(): boolean {
    return this.buffered === 0;
  }

  private peek(n: number): Uint8Array {
    const first = this.chunks[0]!;
    if (first.length >= n) return first.subarray(0, n);
    const merged = concat(...this.chunks);
    this.chunks = [merged];
    return merged.subarray(0, n);
  }

  private drop(n: number): void {
    const first = this.chunks[0]!;
    if (first.length === n) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    this.buffered -= n;
  }
}
