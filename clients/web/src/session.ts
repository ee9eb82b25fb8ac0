/**
 * The client's side of a version-3 session stream (spec/protocol.md 14.1), sans-I/O: it chooses
 * request ids, keeps what is in flight, and sorts the node's frames by request. The caller moves
 * bytes (a WebTransport stream or a WebSocket) and time.
 *
 * Invariants: ids count up from 0 and are never reused in a session; at most `inFlight` requests
 * (subscriptions not counted) are in flight, a further one being refused locally with
 * `proto.in_flight` before anything is sent; each request gets exactly one final frame; events of
 * a subscription the client cancelled, and events whose `ev` is unknown, are dropped.
 */
import type { CborMap } from "./cbor.js";
import { fail } from "./errors.js";
import { type ServerFrame, encodeRequest, frameMessage, parseServerFrame } from "./frames.js";

/** Events a client knows (14.2): any other `ev` is ignored. */
export const KNOWN_EVENTS: ReadonlySet<string> = new Set(["subscribed", "entries", "listening", "signal"]); // 14.2, 17.11

/** What a frame from the node means for the client. */
/** Requests answered by events until cancelled: a subscription (14.2) and a listen (17.11). */
const STREAMING: ReadonlySet<string> = new Set(["subscribe", "listen"]);

export type Delivery =
  | { readonly kind: "final"; readonly op: string; readonly frame: ServerFrame }
  | { readonly kind: "event"; readonly op: string; readonly frame: ServerFrame }
  | { readonly kind: "ignored"; readonly reason: string }
  | { readonly kind: "fatal"; readonly code: string; readonly msg: string };

export class ClientSession {
  private nextId = 0n;
  private readonly pending = new Map<bigint, { op: string; cancelled: boolean }>();
  private counted = 0;

  constructor(readonly inFlight: number = 64) {}

  /** Requests in flight now, subscriptions not counted. */
  get inFlightCount(): number {
    return this.counted;
  }

  /** The message (length prefix and frame) of a new request; its id is returned with it. */
  request(op: string, fields: CborMap): { id: bigint; message: Uint8Array } {
    const isSub = STREAMING.has(op);
    if (!isSub && this.counted >= this.inFlight)
      fail("proto.in_flight", "as many requests are in flight as the node allows: await an answer first");
    const id = this.nextId;
    const message = frameMessage(encodeRequest(op, id, fields));
    this.nextId++;
    this.pending.set(id, { op, cancelled: false });
    if (!isSub) this.counted++;
    return { id, message };
  }

  /** The message of a cancel of subscription (or listen) `sub`; its events are dropped from now on. */
  cancel(sub: bigint): { id: bigint; message: Uint8Array } {
    const p = this.pending.get(sub);
    if (p !== undefined && STREAMING.has(p.op)) p.cancelled = true;
    return this.request("cancel", new Map([["sub", sub]]));
  }

  /**
   * Sorts one frame from the node: a final answer of a request in flight (which frees its id), an
   * event of a live subscription, something to ignore (an event of a cancelled subscription or of
   * an unknown kind), or a fatal error (an error without id: the node closes the connection). A
   * frame that is malformed, or names no request in flight, or an event of a request that is not a
   * subscription, is a `proto.malformed_frame` error: the node broke the protocol.
   */
  receive(frame: Uint8Array): Delivery {
    const f = parseServerFrame(frame);
    if (f.kind === "err" && f.id === null) return { kind: "fatal", code: f.code, msg: f.msg };
    const id = f.id as bigint;
    const p = this.pending.get(id);
    if (p === undefined) fail("proto.malformed_frame", `the node answered request ${id}, which is not in flight`);
    if (f.kind === "event") {
      if (!STREAMING.has(p.op)) fail("proto.malformed_frame", `an event for request ${id}, which is not a subscription`);
      if (p.cancelled) return { kind: "ignored", reason: "an event of a cancelled subscription" };
      if (!KNOWN_EVENTS.has(f.ev)) return { kind: "ignored", reason: `an unknown event "${f.ev}"` };
      return { kind: "event", op: p.op, frame: f };
    }
    this.pending.delete(id);
    if (!STREAMING.has(p.op)) this.counted--;
    return { kind: "final", op: p.op, frame: f };
  }
}
