/**
 * A member's live call in one group (spec/protocol.md 17.11), over a session with the node: the
 * group is read and followed (`GroupClient`: every entry verified, the state computed here, so the
 * member list is this member's own, not the node's word), signals are listened for, and a
 * `CallMesh` holds the connections. Joining is a separate, explicit step (`join`).
 *
 * Invariants: the mesh's member list is replaced after every entry that changes the state, so a
 * removal, ban or leave closes the connection with that member as soon as it arrives here; the
 * microphone is opened only by `join`, with audio on and the camera off.
 */
import { toHex } from "../bytes.js";
import type { CborMap, CborValue } from "../cbor.js";
import { publicKey } from "../crypto.js";
import { GroupClient } from "../group_client.js";
import type { NodeClient } from "../transport_client.js";
import { type Disguised, disguise, type DisguiseOptions } from "./disguise.js";
import { type CallEvent, CallMesh, REPAIR_AFTER_MS } from "./mesh.js";

export interface RoomOptions {
  readonly group: Uint8Array;
  readonly seed: Uint8Array;
  readonly x25519Secret: Uint8Array;
  /** The call's id (16 bytes). */
  readonly call: Uint8Array;
  /** Disguise the voice before it is sent (null: the member's own voice). */
  readonly disguise?: DisguiseOptions | null;
  /** The repair rounds' timing (`REPAIR_TIMING` if absent). */
  readonly repair?: RepairTiming;
}

/** How often links are looked at (`everyMs`) and how long one may stay not connected before it is
 * set up again (`afterMs`); a member not reached after two rounds is told it cannot connect. */
export interface RepairTiming {
  readonly everyMs: number;
  readonly afterMs: number;
}

const PAGE = 512n;
/** A small picture: a mesh encodes it once per other member, on a phone's upstream and CPU. */
export const CAMERA_CONSTRAINTS: MediaTrackConstraints = { width: { ideal: 320 }, height: { ideal: 240 }, frameRate: { ideal: 15 } };
export const REPAIR_TIMING: RepairTiming = { everyMs: 2_000, afterMs: REPAIR_AFTER_MS };

export class CallRoom {
  readonly group: GroupClient;
  mesh: CallMesh | null = null;
  /** ICE servers from the node's `listening` event (its TURN relay), if it gave any. */
  iceServers: RTCIceServer[] = [];
  private media: MediaStream | null = null;
  private disguised: Disguised | null = null;
  private audio: AudioContext | null = null;
  private readonly pendingSignals: [Uint8Array, Uint8Array][] = [];
  private listenId: bigint | null = null;
  private subscriptionId: bigint | null = null;
  private membersKey = "";
  private repairing: ReturnType<typeof setInterval> | null = null;
  /** The repair rounds' timing, read at each `join`. */
  repair: RepairTiming;
  /** Called after anything the call screen shows may have changed. */
  onChange: (() => void) | null = null;
  /** Called for what the member should be told (the mesh's events). */
  onEvent: ((e: CallEvent) => void) | null = null;

  constructor(
    readonly client: NodeClient,
    readonly o: RoomOptions,
  ) {
    this.group = new GroupClient(o.group, publicKey(o.seed), [o.x25519Secret]);
    this.repair = o.repair ?? REPAIR_TIMING;
  }

  /** Reads the group up to now, follows it, and listens for signals. Needs an authenticated client. */
  async open(): Promise<void> {
    let after = 0n;
    for (;;) {
      const page = await this.client.request(
        "fetch",
        new Map<string, CborValue>([["g", this.o.group], ["after", after], ["limit", PAGE]]),
      );
      this.take(page.get("entries"));
      after = page.get("next") as bigint;
      if (page.get("more") !== true) break;
    }
    this.refreshMembers();
    const sub = this.client.subscribe(this.o.group, after, (ev, fields) => {
      if (ev === "entries") {
        this.take(fields.get("entries"));
        this.refreshMembers();
        this.onChange?.(); // a session may have opened or closed the circle
      }
    });
    this.subscriptionId = sub.id;
    void sub.done.catch(() => undefined);
    const listening = new Promise<void>((resolve, reject) => {
      const l = this.client.listen(this.o.group, (ev, fields) => {
        if (ev === "listening") {
          this.iceServers = iceServersOf(fields.get("turn"));
          resolve();
        } else if (ev === "signal") this.onSignal(fields);
      });
      this.listenId = l.id;
      l.done.then(() => undefined, reject);
    });
    await listening;
  }

  /** The current members (hex) and their X25519 keys, as this member's state says. */
  members(): Map<string, Uint8Array> {
    const s = this.group.state.state;
    const out = new Map<string, Uint8Array>();
    for (const hex of s.members.keys()) {
      const key = s.x25519.get(hex)?.key;
      if (key !== undefined) out.set(hex, key);
    }
    return out;
  }

  /** The current members' roles (hex -> role), as this member's state says. */
  roles(): Map<string, string> {
    const out = new Map<string, string>();
    for (const [hex, m] of this.group.state.state.members) out.set(hex, m.role);
    return out;
  }

  /** Joins the call: opens the microphone (and the camera only if `camera`), disguised if asked,
   * and signals `join`. Resolves with the codes of signals the node refused (`call.not_member`
   * once removed). */
  async join(camera = false, voice: DisguiseOptions | null | undefined = this.o.disguise): Promise<string[]> {
    if (this.media === null) {
      const mic = await navigator.mediaDevices.getUserMedia({ audio: true, video: camera ? CAMERA_CONSTRAINTS : false });
      if (voice !== undefined && voice !== null) {
        this.audio = new AudioContext();
        this.disguised = disguise(this.audio, mic, voice);
        this.media = this.disguised.stream;
        for (const v of mic.getVideoTracks()) this.media.addTrack(v);
      } else this.media = mic;
    }
    if (this.mesh === null) {
      this.mesh = new CallMesh({
        group: this.o.group,
        seed: this.o.seed,
        x25519Secret: this.o.x25519Secret,
        call: this.o.call,
        media: this.media,
        iceServers: this.iceServers,
        repairAfterMs: this.repair.afterMs,
        signaller: {
          send: async (to, box) => {
            const ok = await this.client.request(
              "signal",
              new Map<string, CborValue>([
                ["g", this.o.group],
                ["from", publicKey(this.o.seed)],
                ["to", to],
                ["box", box],
              ]),
            );
            return Number(ok.get("n") ?? 0n);
          },
        },
      });
      this.mesh.onChange = () => this.onChange?.();
      this.mesh.onEvent = (e) => this.onEvent?.(e);
      this.mesh.setMembers(this.members(), this.roles());
    }
    const refused = await this.mesh.join();
    if (this.repairing !== null) clearInterval(this.repairing); // the timing may have changed since
    this.repairing = setInterval(() => void this.mesh?.repair(performance.now()).catch(() => undefined), this.repair.everyMs);
    for (const [from, box] of this.pendingSignals.splice(0)) void this.mesh.receive(from, box);
    return refused;
  }

  /** Leaves the call (the group stays followed). */
  async leave(): Promise<void> {
    await this.mesh?.leave();
  }

  /** The local media (null before `join`). */
  get local(): MediaStream | null {
    return this.media;
  }

  /** Leaves the call and releases the microphone (and camera): the browser stops capturing. A
   * later `join` asks for them again. */
  async hangUp(): Promise<void> {
    await this.leave();
    this.release();
  }

  private release(): void {
    this.disguised?.stop();
    this.disguised = null;
    for (const t of this.media?.getTracks() ?? []) t.stop();
    this.media = null;
    this.mesh = null;
    void this.audio?.close().catch(() => undefined);
    this.audio = null;
  }

  /** Leaves, stops listening and following, and releases the microphone. */
  async close(): Promise<void> {
    if (this.repairing !== null) clearInterval(this.repairing);
    this.repairing = null;
    await this.leave();
    for (const id of [this.listenId, this.subscriptionId]) {
      if (id !== null) await this.client.request("cancel", new Map([["sub", id]])).catch(() => undefined);
    }
    this.release();
  }

  private take(entries: CborValue | undefined): void {
    if (!Array.isArray(entries)) return;
    for (const item of entries) {
      if (!Array.isArray(item)) continue;
      const [, header, payload] = item;
      if (!(header instanceof Uint8Array)) continue;
      try {
        this.group.receive(header, payload instanceof Uint8Array ? payload : null);
      } catch {
        // an entry this client refuses is not part of its state (14.2 rule 5)
      }
    }
  }

  private refreshMembers(): void {
    const members = this.members();
    const roles = this.roles();
    const key = [...members.keys()].sort().map((hex) => `${hex}:${roles.get(hex) ?? ""}`).join(",");
    if (key === this.membersKey) return;
    this.membersKey = key;
    this.mesh?.setMembers(members, roles);
    this.onChange?.();
  }

  private onSignal(fields: CborMap): void {
    const from = fields.get("from");
    const box = fields.get("box");
    if (!(from instanceof Uint8Array) || !(box instanceof Uint8Array)) return;
    if (this.mesh === null) {
      if (this.pendingSignals.length < 64) this.pendingSignals.push([from, box]);
      return;
    }
    void this.mesh.receive(from, box).catch(() => undefined);
  }
}

/** The `turn` of a `listening` event as RTCPeerConnection's ICE servers (none if absent or malformed). */
export function iceServersOf(turn: CborValue | undefined): RTCIceServer[] {
  if (!(turn instanceof Map)) return [];
  const urls = turn.get("urls");
  const username = turn.get("username");
  const credential = turn.get("credential");
  if (!Array.isArray(urls) || !urls.every((u) => typeof u === "string") || typeof username !== "string" || typeof credential !== "string")
    return [];
  return [{ urls: urls as string[], username, credential }];
}

/** The hex of a pseudonym, as the mesh and the group state key members. */
export function memberId(key: Uint8Array): string {
  return toHex(key);
}
