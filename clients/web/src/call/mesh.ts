/**
 * A mesh call (spec/protocol.md 17.11): one RTCPeerConnection per pair of members in the call, its
 * media DTLS-SRTP between the two browsers. For each pair the member with the lower pseudonym
 * (bytewise) offers and the other answers; candidates trickle both ways. Signals are sealed to the
 * one member they are for and signed (`signal.ts`) and go through the node (`CallSignaller`).
 *
 * Signals leave paced to the node's signal rate (`Pacer`), one after another in the order made.
 *
 * Invariants: a connection exists only with a current member of the group as this member's state
 * says (`setMembers` closes the others at once); a signal acts only if it opens, verifies and comes
 * from a current member, for this call; an offer is made only by the lower pseudonym of a pair.
 */
import { compareBytes, fromHex, toHex } from "../bytes.js";
import { publicKey } from "../crypto.js";
import { HoldspaceError } from "../errors.js";
import { Pacer } from "./pacer.js";
import { openSignal, sealSignal, type Signal, type SignalType } from "./signal.js";

/** How a signal box reaches its recipient (the node's `signal` request): resolves with the number of
 * listening connections it went to, rejects with the node's refusal. */
export interface CallSignaller {
  send(to: Uint8Array, box: Uint8Array): Promise<number>;
}

export interface MeshOptions {
  readonly group: Uint8Array;
  readonly seed: Uint8Array;
  readonly x25519Secret: Uint8Array;
  readonly call: Uint8Array;
  readonly signaller: CallSignaller;
  /** The local media (audio; no video unless the member turned the camera on). */
  readonly media: MediaStream;
  readonly iceServers: RTCIceServer[];
  readonly nowMs?: () => bigint;
}

/** One pair of the mesh, seen from this member. */
export interface Link {
  readonly key: Uint8Array;
  readonly pc: RTCPeerConnection;
  /** Candidates that arrived before the remote description. */
  readonly early: RTCIceCandidateInit[];
  remote: MediaStream | null;
  /** When the link was last seen not connected (ms, `performance.now()`), or null while connected. */
  badSince: number | null;
}

/** A link not connected for this long is set up again (`repair`). */
export const REPAIR_AFTER_MS = 8_000;

export class CallMesh {
  readonly self: Uint8Array;
  readonly links = new Map<string, Link>();
  /** Current members (hex) and their X25519 keys, from this member's state of the group. */
  private members = new Map<string, Uint8Array>();
  /** Codes the node (or a peer's box) refused, newest last: `call.not_member` once removed. */
  readonly refusals: string[] = [];
  /** Members whose connection was closed because they left the group. */
  readonly dropped = new Set<string>();
  /** Called when a link gets the other side's media. */
  onRemote: ((key: Uint8Array, stream: MediaStream) => void) | null = null;
  /** Members (hex) known to be in this call: a signal of it came from them, and no `leave` since. */
  private readonly present = new Set<string>();
  /** Set-ups tried again per member (hex) since the last time it connected. */
  private readonly retries = new Map<string, number>();
  private joined = false;
  private readonly now: () => bigint;
  private readonly pacer = new Pacer();

  constructor(private readonly o: MeshOptions) {
    this.self = publicKey(o.seed);
    this.now = o.nowMs ?? (() => BigInt(Date.now()));
  }

  /** Replaces the member list (after every change of the group state): links with anyone no longer
   * a member are closed now. */
  setMembers(members: Map<string, Uint8Array>): void {
    this.members = new Map(members);
    for (const [hex, link] of this.links) {
      if (!this.members.has(hex)) {
        link.pc.close();
        this.links.delete(hex);
        this.dropped.add(hex);
      }
    }
    if (!this.members.has(toHex(this.self))) this.leaveLocally(); // this member was removed
  }

  /** Joins the call: a `join` to every other current member. Resolves with the codes refused. */
  async join(): Promise<string[]> {
    this.joined = true;
    const others = [...this.members.keys()].filter((hex) => hex !== toHex(this.self));
    const sent = await Promise.all(others.map((hex) => this.send(hex, "join", "")));
    return sent.filter((code): code is string => code !== null);
  }

  /**
   * Sets up again the links with members known to be in the call that are missing or not connected
   * for `REPAIR_AFTER_MS` (a lost signal, a path that broke): the lower pseudonym of the pair offers afresh, the higher one sends `join`.
   * Called periodically while in the call; `nowMs` is `performance.now()`.
   */
  async repair(nowMs: number): Promise<void> {
    if (!this.joined) return;
    const self = toHex(this.self);
    for (const hex of new Set([...this.present, ...this.links.keys()])) {
      if (hex === self || !this.members.has(hex)) continue;
      const link = this.link(hex);
      if (link !== undefined && link.pc.connectionState === "connected") {
        link.badSince = null;
        this.retries.delete(hex);
        continue;
      }
      if (link !== undefined && link.badSince === null) {
        link.badSince = nowMs;
        continue;
      }
      if (link !== undefined && nowMs - link.badSince! < REPAIR_AFTER_MS) continue;
      this.retries.set(hex, (this.retries.get(hex) ?? 0) + 1);
      if (this.lowerThan(hex)) await this.onJoin(hex, true);
      else await this.send(hex, "join", "");
      const again = this.link(hex);
      if (again !== undefined) again.badSince = nowMs;
    }
  }

  /** Members this one has not reached after two set-ups tried again: with no relay (17.11), the
   * member is told that a direct path to them does not work. */
  unreachable(): string[] {
    return [...this.retries].filter(([hex, n]) => n >= 2 && this.members.has(hex)).map(([hex]) => hex);
  }

  /** Leaves: a `leave` to each linked member, then every link closed. */
  async leave(): Promise<void> {
    const linked = [...this.links.keys()];
    this.leaveLocally();
    await Promise.all(linked.map((hex) => this.send(hex, "leave", "")));
  }

  private leaveLocally(): void {
    this.joined = false;
    this.present.clear();
    for (const link of this.links.values()) link.pc.close();
    this.links.clear();
  }

  /** A `signal` event from the node. Signals that do not open, verify or come from a current
   * member for this call are ignored (their code kept in `refusals`). */
  async receive(from: Uint8Array, box: Uint8Array): Promise<void> {
    const hex = toHex(from);
    if (!this.members.has(hex) || hex === toHex(this.self)) return;
    let s: Signal;
    try {
      s = openSignal(this.o.x25519Secret, this.o.group, from, this.self, box, this.now());
    } catch (e) {
      this.refusals.push(e instanceof HoldspaceError ? e.code : "call.malformed_signal");
      return;
    }
    if (toHex(s.call) !== toHex(this.o.call) || !this.joined) return;
    if (s.type === "leave") this.present.delete(hex);
    else this.present.add(hex);
    if (s.type === "join") await this.onJoin(hex);
    else if (s.type === "offer") await this.onOffer(hex, s.data);
    else if (s.type === "answer") await this.link(hex)?.pc.setRemoteDescription({ type: "answer", sdp: s.data });
    else if (s.type === "candidate") await this.onCandidate(hex, s.data);
    else if (s.type === "leave") this.close(hex);
    if (s.type === "answer") await this.flushEarly(hex);
  }

  private link(hex: string): Link | undefined {
    return this.links.get(hex);
  }

  private lowerThan(hex: string): boolean {
    return compareBytes(this.self, fromHex(hex)) < 0;
  }

  private async onJoin(hex: string, afresh = false): Promise<void> {
    const existing = this.link(hex);
    const live = existing !== undefined && !["failed", "closed"].includes(existing.pc.connectionState);
    if (live && !afresh) return;
    if (existing !== undefined) this.close(hex);
    if (!this.lowerThan(hex)) {
      await this.send(hex, "join", ""); // the lower pseudonym offers: tell it this member is here
      return;
    }
    const link = this.open(hex);
    const offer = await link.pc.createOffer();
    await link.pc.setLocalDescription(offer);
    await this.send(hex, "offer", offer.sdp ?? "");
  }

  private async onOffer(hex: string, sdp: string): Promise<void> {
    if (this.lowerThan(hex)) return; // only the lower pseudonym of a pair offers
    this.close(hex);
    const link = this.open(hex);
    await link.pc.setRemoteDescription({ type: "offer", sdp });
    await this.flushEarly(hex);
    const answer = await link.pc.createAnswer();
    await link.pc.setLocalDescription(answer);
    await this.send(hex, "answer", answer.sdp ?? "");
  }

  private async onCandidate(hex: string, data: string): Promise<void> {
    const link = this.link(hex);
    if (link === undefined) return;
    let candidate: RTCIceCandidateInit;
    try {
      candidate = JSON.parse(data) as RTCIceCandidateInit;
    } catch {
      this.refusals.push("call.malformed_signal");
      return;
    }
    if (link.pc.remoteDescription === null) link.early.push(candidate);
    else await link.pc.addIceCandidate(candidate);
  }

  private async flushEarly(hex: string): Promise<void> {
    const link = this.link(hex);
    if (link === undefined || link.pc.remoteDescription === null) return;
    for (const c of link.early.splice(0)) await link.pc.addIceCandidate(c);
  }

  private open(hex: string): Link {
    const pc = new RTCPeerConnection({ iceServers: this.o.iceServers, bundlePolicy: "max-bundle" });
    const link: Link = { key: fromHex(hex), pc, early: [], remote: null, badSince: null };
    for (const track of this.o.media.getTracks()) pc.addTrack(track, this.o.media);
    pc.onicecandidate = (ev) => {
      if (ev.candidate !== null) void this.send(hex, "candidate", JSON.stringify(ev.candidate.toJSON()));
    };
    pc.ontrack = (ev) => {
      const stream = ev.streams[0] ?? new MediaStream([ev.track]);
      link.remote = stream;
      this.onRemote?.(link.key, stream);
    };
    this.links.set(hex, link);
    return link;
  }

  private close(hex: string): void {
    this.link(hex)?.pc.close();
    this.links.delete(hex);
  }

  /** Seals and sends one signal; the node's refusal code, or null. */
  private async send(hex: string, type: SignalType, data: string): Promise<string | null> {
    const x25519 = this.members.get(hex);
    if (x25519 === undefined) return null;
    const to = fromHex(hex);
    for (let attempt = 0; ; attempt++) {
      await this.pacer.take();
      const box = sealSignal(this.o.seed, this.o.group, to, x25519, { call: this.o.call, type, data, timeMs: this.now() });
      try {
        await this.o.signaller.send(to, box);
        return null;
      } catch (e) {
        const code = e instanceof HoldspaceError ? e.code : "web.unreachable";
        if (code === "call.rate_limited" && attempt < 3) continue; // another tab of this member signals too
        this.refusals.push(code);
        return code;
      }
    }
  }
}
