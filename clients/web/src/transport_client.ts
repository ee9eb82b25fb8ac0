/**
 * A session with the node over a byte channel (spec/protocol.md 14.1, 15.8): requests are written
 * as the sans-I/O `ClientSession` frames them, the node's bytes are split by a `MessageReader` and
 * sorted by the session, and each request's promise settles with its final frame; events of a
 * subscription go to its listener. `hello` and `authenticate` are the first steps of every session.
 *
 * Invariants: every request's promise settles exactly once (with its answer, its refusal as a
 * `HoldspaceError`, or the session's failure); once the session failed (the channel broke, the node
 * sent an error without id, or broke the protocol) every pending and later request rejects with
 * that failure.
 */
import { ascii, concat, equalBytes } from "./bytes.js";
import type { CborMap, CborValue } from "./cbor.js";
import { publicKey, sign } from "./crypto.js";
import { HoldspaceError, fail } from "./errors.js";
import { type Hello, MessageReader, PREVIOUS_VERSION, PROTOCOL_VERSION, type ServerFrame, parseHello } from "./frames.js";
import { ClientSession } from "./session.js";
import type { ByteChannel } from "./transport.js";

/** `holdspace/v1/auth || 0x00 || challenge || node key || pseudonym` (14.2 `auth`). */
export function authMessage(challenge: Uint8Array, nodeKey: Uint8Array, pseudonym: Uint8Array): Uint8Array {
  return concat(ascii("holdspace/v1/auth"), Uint8Array.of(0), challenge, nodeKey, pseudonym);
}

/** What `hello` tells the client (frames.ts `parseHello`). */
export type { Hello } from "./frames.js";

type Pending = { resolve: (ok: CborMap) => void; reject: (e: HoldspaceError) => void };

export class NodeClient {
  private readonly session: ClientSession;
  private readonly reader = new MessageReader();
  private readonly pending = new Map<bigint, Pending>();
  private readonly listeners = new Map<bigint, (ev: string, fields: CborMap) => void>();
  private failure: HoldspaceError | null = null;
  private greeting: Hello | null = null;

  /** Starts reading `channel`; `inFlight` is the node's limit (64 until `hello` says otherwise). */
  constructor(
    readonly channel: ByteChannel,
    inFlight = 64,
  ) {
    this.session = new ClientSession(inFlight);
    void this.pump();
  }

  /** The node's `hello` answer, once received. */
  get hello(): Hello | null {
    return this.greeting;
  }

  /** Sends a request; resolves with its `ok` map, rejects with its refusal (code and sentence). */
  request(op: string, fields: CborMap): Promise<CborMap> {
    return this.start(op, fields).answer;
  }

  /** Subscribes to `group` after cursor `after`: `onEvent` gets each event's fields (`subscribed`,
   * `entries`). `done` settles with the subscription's final frame (after `cancel`, or a refusal). */
  subscribe(group: Uint8Array, after: bigint, onEvent: (ev: string, fields: CborMap) => void): { id: bigint; done: Promise<CborMap> } {
    const { id, answer } = this.start("subscribe", new Map<string, CborValue>([["g", group], ["after", after]]), onEvent);
    return { id, done: answer };
  }

  /** Listens for live-call signals in `group` (spec 17.11 `listen`): `onEvent` gets `listening`
   * (with the node's `turn` credentials, if any) and each `signal`. `done` settles with the final
   * frame (after `cancel`, or a refusal such as `call.not_member`). */
  listen(group: Uint8Array, onEvent: (ev: string, fields: CborMap) => void): { id: bigint; done: Promise<CborMap> } {
    const { id, answer } = this.start("listen", new Map<string, CborValue>([["g", group]]), onEvent);
    return { id, done: answer };
  }

  private start(
    op: string,
    fields: CborMap,
    onEvent: ((ev: string, fields: CborMap) => void) | null = null,
  ): { id: bigint; answer: Promise<CborMap> } {
    if (this.failure !== null) return { id: -1n, answer: Promise.reject(this.failure) };
    let id: bigint;
    let message: Uint8Array;
    try {
      ({ id, message } = this.session.request(op, fields));
    } catch (e) {
      return { id: -1n, answer: Promise.reject(e instanceof Error ? e : new Error(String(e))) };
    }
    const answer = new Promise<CborMap>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    if (onEvent !== null) this.listeners.set(id, onEvent);
    this.channel.write(message).catch((e: unknown) => this.fail(e));
    return { id, answer };
  }

  /** `hello` (14.2): the node's key, this connection's challenge, the node's limits and (version 3)
   * its admission and contact, checked (`parseHello`). A node that refuses version 3
   * (`proto.bad_version`, a version-2 node) is greeted again with version 2 (14.1). Rejects with
   * `web.wrong_node` if the node's key is not `expectedNode` (when given). */
  async greet(expectedNode: Uint8Array | null = null): Promise<Hello> {
    let hello: Hello;
    try {
      hello = parseHello(await this.request("hello", new Map([["v", PROTOCOL_VERSION]])), PROTOCOL_VERSION);
    } catch (e) {
      if (!(e instanceof HoldspaceError) || e.code !== "proto.bad_version") throw e;
      hello = parseHello(await this.request("hello", new Map([["v", PREVIOUS_VERSION]])), PREVIOUS_VERSION);
    }
    if (expectedNode !== null && !equalBytes(hello.node, expectedNode))
      fail("web.wrong_node", "the node that answered is not the node its page names");
    this.greeting = hello;
    return this.greeting;
  }

  /** `auth` (14.2): proves this connection holds the pseudonym of Ed25519 `seed`. Needs `greet` first. */
  async authenticate(seed: Uint8Array): Promise<void> {
    const hello = this.greeting ?? fail("proto.unauthenticated", "greet the node before authenticating");
    const key = publicKey(seed);
    const sig = sign(seed, authMessage(hello.challenge, hello.node, key));
    await this.request("auth", new Map<string, CborValue>([["k", key], ["sig", sig]]));
  }

  /** `backup_put` (spec 14.8): keeps `data` (a sealed backup file) on the node under `backupId`.
   * The session must have authenticated a current member of `group`, a group the node hosts. */
  async putBackup(backupId: Uint8Array, group: Uint8Array, data: Uint8Array): Promise<void> {
    await this.request("backup_put", new Map<string, CborValue>([["b", backupId], ["g", group], ["data", data]]));
  }

  /** `backup_get` (spec 14.8): the backup the node keeps under `backupId` (`proto.not_found` if none).
   * Needs no authentication. */
  async getBackup(backupId: Uint8Array): Promise<Uint8Array> {
    const data = (await this.request("backup_get", new Map<string, CborValue>([["b", backupId]]))).get("data");
    return data instanceof Uint8Array ? data : fail("proto.malformed_frame", "the node's backup_get answer has no data");
  }

  /** Ends the session at once: every pending request rejects. */
  close(): void {
    this.channel.close();
    this.fail(new HoldspaceError("web.unreachable", "the session was closed"));
  }

  private async pump(): Promise<void> {
    try {
      for (;;) {
        const chunk = await this.channel.read();
        if (chunk === null) break;
        for (const frame of this.reader.push(chunk)) this.deliver(frame);
      }
      this.fail(new HoldspaceError("web.unreachable", "the node ended the session"));
    } catch (e) {
      this.fail(e);
    }
  }

  private deliver(frame: Uint8Array): void {
    const d = this.session.receive(frame);
    if (d.kind === "fatal") {
      this.fail(new HoldspaceError(d.code, d.msg));
      this.channel.close();
    } else if (d.kind === "event") {
      const f: ServerFrame = d.frame;
      if (f.kind === "event") this.listeners.get(f.id)?.(f.ev, f.fields);
    } else if (d.kind === "final") {
      const f = d.frame;
      const id = f.id as bigint;
      const p = this.pending.get(id);
      this.pending.delete(id);
      this.listeners.delete(id);
      if (f.kind === "ok") p?.resolve(f.ok);
      else if (f.kind === "err") p?.reject(new HoldspaceError(f.code, f.msg));
    }
  }

  private fail(e: unknown): void {
    if (this.failure === null)
      this.failure = e instanceof HoldspaceError ? e : new HoldspaceError("web.unreachable", `the channel failed: ${String(e)}`);
    for (const p of this.pending.values()) p.reject(this.failure);
    this.pending.clear();
    this.listeners.clear();
  }
}
