/**
 * A mesh call (spec/protocol.md 17.11): one RTCPeerConnection per pair of members in the call, its
 * media DTLS-SRTP between the two browsers. For each pair the member with the lower pseudonym
 * (bytewise) offers and the other answers; candidates trickle both ways. Signals are sealed to the
 * one member they are for and signed (`signal.ts`) and go through the node (`CallSignaller`).
 *
 * Signals leave paced to the node's signal rate (`Pacer`), one after another in the order made.
 *
 * Call control (17.11): hands (`hand`, anyone), and from facilitators only `mute-request` (this
 * member's microphone stops sending), `piece` (the call's talking piece) and `remove` (the named
 * member is dropped and every signal of it ignored until this member leaves the call).
 *
 * Invariants: a connection exists only with a current member of the group as this member's state
 * says (`setMembers` closes the others at once), never with a member removed from this call
 * (`barred`); a signal acts only if it opens, verifies and comes from a current member, for this
 * call, and a control signal only if its sender is a facilitator in this member's state; an offer
 * is made only by the lower pseudonym of a pair; while muted no audio leaves (every audio sender's
 * track is null).
 */
import { compareBytes, fromHex, toHex } from "../bytes.js";
import { publicKey } from "../crypto.js";
import { fail, HoldspaceError } from "../errors.js";
import { Pacer } from "./pacer.js";
import { authoriseSignal, openSignal, sealSignal, type Signal, type SignalType } from "./signal.js";

/** What happened in the call, for the screen to say: `mute-request` (this member was muted by
 * `by`), `removed` (`who` was removed by `by`), `removed-me`, `hand` (`who` raised or lowered a
 * hand), `piece` (`by` gave the piece to `who`, "" for nobody). */
export interface CallEvent {
  readonly kind: "mute-request" | "removed" | "removed-me" | "hand" | "piece";
  readonly who: string;
  readonly by: string;
}

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
  /** How long a link may stay not connected before it is set up again (`REPAIR_AFTER_MS` if absent). */
  readonly repairAfterMs?: number;
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

/** The data of a `join` from a member whose camera is on. */
export const CAMERA = "camera";

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
  /** Called after anything the screen shows changed (who is in the call, hands, piece, links). */
  onChange: (() => void) | null = null;
  /** Called for what the member should be told (see `CallEvent`). */
  onEvent: ((e: CallEvent) => void) | null = null;
  /** Members (hex) removed from this call by a facilitator: no link, their signals ignored. */
  readonly barred = new Set<string>();
  /** Raised hands (hex), in the order they went up. */
  readonly hands: string[] = [];
  /** The call's talking piece (hex), or null: nobody holds it. */
  holder: string | null = null;
  /** True while this member's microphone sends nothing. */
  muted = false;
  /** Members (hex) whose last `join` said their camera is on: the offerer offers to receive video. */
  private readonly cameras = new Set<string>();
  /** Roles (hex -> "facilitator", "moderator", "member") from this member's state of the group. */
  private roles = new Map<string, string>();
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
  setMembers(members: Map<string, Uint8Array>, roles: Map<string, string> = new Map()): void {
    this.members = new Map(members);
    this.roles = new Map(roles);
    for (const [hex, link] of this.links) {
      if (!this.members.has(hex)) {
        link.pc.close();
        this.links.delete(hex);
        this.dropped.add(hex);
      }
    }
    for (const hex of [...this.present]) if (!this.members.has(hex)) this.forget(hex);
    if (!this.members.has(toHex(this.self))) this.leaveLocally(); // this member was removed
    this.onChange?.();
  }

  /** A `join`'s data: "camera" when this member sends video, else "". */
  private joinData(): string {
    return this.o.media.getVideoTracks().length > 0 ? CAMERA : "";
  }

  /** The role of member `hex` in this member's state (null: not a member). */
  roleOf(hex: string): string | null {
    return this.members.has(hex) ? (this.roles.get(hex) ?? "member") : null;
  }

  /** Members (hex) in the call as this member knows: linked, or a signal of the call came from
   * them and no `leave` since; never a barred one. */
  inCall(): string[] {
    const self = toHex(this.self);
    return [...new Set([...this.present, ...this.links.keys()])].filter((hex) => hex !== self && !this.barred.has(hex) && this.members.has(hex));
  }

  get isJoined(): boolean {
    return this.joined;
  }

  /** Mutes (no audio leaves: every audio sender carries no track) or unmutes this member. */
  async setMuted(muted: boolean): Promise<void> {
    this.muted = muted;
    for (const t of this.o.media.getAudioTracks()) t.enabled = !muted;
    await Promise.all([...this.links.values()].map((link) => this.applyMute(link.pc)));
    this.onChange?.();
  }

  private async applyMute(pc: RTCPeerConnection): Promise<void> {
    const track = this.o.media.getAudioTracks()[0] ?? null;
    for (const t of pc.getTransceivers()) {
      if (t.receiver.track.kind !== "audio" || t.currentDirection === "stopped" || pc.connectionState === "closed") continue;
      await t.sender.replaceTrack(this.muted ? null : track).catch(() => undefined);
    }
  }

  /** Raises (or lowers) this member's hand: a `hand` to everyone in the call. */
  async raiseHand(up: boolean): Promise<void> {
    this.noteHand(toHex(this.self), up);
    await this.toAll("hand", up ? "up" : "down");
  }

  /** A facilitator asks everyone in the call to mute (`call.not_facilitator` for anyone else). */
  async askAllToMute(): Promise<void> {
    this.mustFacilitate();
    await this.toAll("mute-request", "");
  }

  /** A facilitator gives the call's talking piece to `hex` (null: nobody holds it). */
  async givePiece(hex: string | null): Promise<void> {
    this.mustFacilitate();
    this.takePiece(hex ?? "");
    await this.toAll("piece", hex ?? "");
  }

  /** A facilitator removes `hex` from the call: dropped here at once, a `remove` to everyone in the
   * call (the removed member included), its signals ignored from now on. */
  async removeFromCall(hex: string): Promise<void> {
    this.mustFacilitate();
    const everyone = this.inCall();
    this.bar(hex);
    await Promise.all(everyone.map((to) => this.send(to, "remove", hex)));
  }

  /** Tells a member who just joined what signals are not kept to tell: this member's raised hand,
   * and, from a facilitator, who holds the piece. */
  private async catchUp(hex: string): Promise<void> {
    const self = toHex(this.self);
    if (this.hands.includes(self)) await this.send(hex, "hand", "up");
    if (this.holder !== null && this.roleOf(self) === "facilitator") await this.send(hex, "piece", this.holder);
  }

  private mustFacilitate(): void {
    if (this.roleOf(toHex(this.self)) !== "facilitator") fail("call.not_facilitator", "only a facilitator may do this");
  }

  private async toAll(type: SignalType, data: string): Promise<void> {
    await Promise.all(this.inCall().map((hex) => this.send(hex, type, data)));
  }

  private noteHand(hex: string, up: boolean): void {
    const at = this.hands.indexOf(hex);
    if (up && at < 0) this.hands.push(hex);
    if (!up && at >= 0) this.hands.splice(at, 1);
  }

  private takePiece(hex: string): void {
    this.holder = hex === "" ? null : hex;
    if (hex !== "") this.noteHand(hex, false); // the holder's hand goes down
  }

  private bar(hex: string): void {
    this.barred.add(hex);
    this.close(hex);
    this.forget(hex);
  }

  /** `hex` is no longer in the call: not present, its hand down, the piece not its. */
  private forget(hex: string): void {
    this.present.delete(hex);
    this.noteHand(hex, false);
    if (this.holder === hex) this.holder = null;
  }

  /** Joins the call: a `join` to every other current member. Resolves with the codes refused. */
  async join(): Promise<string[]> {
    this.joined = true;
    const others = [...this.members.keys()].filter((hex) => hex !== toHex(this.self) && !this.barred.has(hex));
    const sent = await Promise.all(others.map((hex) => this.send(hex, "join", this.joinData())));
    return sent.filter((code): code is string => code !== null);
  }

  /**
   * Sets up again the links with members known to be in the call that are missing or not connected
   * for `REPAIR_AFTER_MS` (or the mesh's `repairAfterMs`; a lost signal, a path that broke): the lower pseudonym of the pair offers afresh, the higher one sends `join`.
   * Called periodically while in the call; `nowMs` is `performance.now()`.
   */
  async repair(nowMs: number): Promise<void> {
    if (!this.joined) return;
    const self = toHex(this.self);
    for (const hex of new Set([...this.present, ...this.links.keys()])) {
      if (hex === self || !this.members.has(hex) || this.barred.has(hex)) continue;
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
      if (link !== undefined && nowMs - link.badSince! < (this.o.repairAfterMs ?? REPAIR_AFTER_MS)) continue;
      this.retries.set(hex, (this.retries.get(hex) ?? 0) + 1);
      if (this.lowerThan(hex)) await this.onJoin(hex, true);
      else await this.send(hex, "join", this.joinData());
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
    this.barred.clear(); // a removal holds for the rest of the call as this member was in it
    this.hands.splice(0);
    this.holder = null;
    for (const link of this.links.values()) link.pc.close();
    this.links.clear();
    this.onChange?.();
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
    if (toHex(s.call) !== toHex(this.o.call) || !this.joined || this.barred.has(hex)) return;
    try {
      authoriseSignal(s, this.roleOf(hex));
    } catch (e) {
      this.refusals.push(e instanceof HoldspaceError ? e.code : "call.not_facilitator");
      return;
    }
    const fresh = !this.present.has(hex) && !this.links.has(hex);
    if (s.type === "leave") this.forget(hex);
    else this.present.add(hex);
    if (s.type === "join" && fresh) void this.catchUp(hex);
    if (s.type === "hand" || s.type === "mute-request" || s.type === "piece" || s.type === "remove") {
      this.control(hex, s);
      this.onChange?.();
      return;
    }
    if (s.type === "join") {
      if (s.data === CAMERA) this.cameras.add(hex);
      else this.cameras.delete(hex);
      await this.onJoin(hex);
    }
    else if (s.type === "offer") await this.onOffer(hex, s.data);
    else if (s.type === "answer") await this.link(hex)?.pc.setRemoteDescription({ type: "answer", sdp: s.data });
    else if (s.type === "candidate") await this.onCandidate(hex, s.data);
    else if (s.type === "leave") this.close(hex);
    if (s.type === "answer") await this.flushEarly(hex);
    this.onChange?.();
  }

  /** A call-control signal from `from` (already authorised), as the table of 17.11 says. */
  private control(from: string, s: Signal): void {
    if (s.type === "hand") {
      this.noteHand(from, s.data === "up");
      this.onEvent?.({ kind: "hand", who: from, by: from });
    } else if (s.type === "mute-request") {
      void this.setMuted(true);
      this.onEvent?.({ kind: "mute-request", who: toHex(this.self), by: from });
    } else if (s.type === "piece") {
      this.takePiece(s.data);
      this.onEvent?.({ kind: "piece", who: s.data, by: from });
    } else if (s.type === "remove") {
      if (s.data === toHex(this.self)) {
        this.leaveLocally();
        this.onEvent?.({ kind: "removed-me", who: s.data, by: from });
      } else {
        this.bar(s.data);
        this.onEvent?.({ kind: "removed", who: s.data, by: from });
      }
    }
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
      await this.send(hex, "join", this.joinData()); // the lower pseudonym offers: tell it this member is here
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
    for (const track of this.o.media.getTracks()) {
      const sender = pc.addTrack(track, this.o.media);
      if (this.muted && track.kind === "audio") void sender.replaceTrack(null).catch(() => undefined);
    }
    // The offer holds a video section if either side has a camera on; the answerer's own camera
    // track takes it (an added track is matched to the offered section of its kind).
    if (this.lowerThan(hex) && this.o.media.getVideoTracks().length === 0 && this.cameras.has(hex)) pc.addTransceiver("video", { direction: "recvonly" });
    pc.onconnectionstatechange = () => this.onChange?.();
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
