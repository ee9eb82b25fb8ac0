/**
 * A member's epoch keys and chains (spec/protocol.md 13.1-13.3), kept in step with the group
 * state: the keys of applied rekeys only, sealing under the current epoch only while it is clean,
 * and rekeys sealed to the current members' current X25519 keys.
 *
 * Invariants: an epoch is held only while its rekey is applied (13.1: a client must neither use
 * nor accept an ignored rekey's key), so `sync` drops the epochs of rekeys a recomputation
 * ignored; epoch keys themselves are kept only while the group's history is not `joined`, and
 * of a history blob only the epochs in the window of the setting (13.1) are taken.
 */
import { compareBytes, equalBytes, toHex } from "./bytes.js";
import { encodeControlPayload, type Rekey, type SealedFor } from "./control.js";
import { randomBytes, seal, sealOpen } from "./crypto.js";
import {
  decodeHistoryBlob,
  encodeHistoryBlob,
  type MessageEnvelope,
  type Position,
  ReceiverChains,
  sealMessage,
  SenderChain,
} from "./e2ee.js";
import { fail, HoldspaceError } from "./errors.js";
import type { GroupState } from "./group.js";
import { verifyIdentityDocument } from "./identity.js";
import { historyLimit, historyToShare, inHistoryWindow, joinedAt, MAX_HISTORY_EPOCHS } from "./keyshare.js";

interface HeldEpoch {
  readonly id: Uint8Array;
  /** Kept only while history is not "joined" (13.1). */
  key: Uint8Array | null;
  readonly sender: SenderChain;
}

/** What `sync` did. */
export interface SyncResult {
  readonly opened: Uint8Array[];
  readonly dropped: Uint8Array[];
}

export class KeyRing {
  private readonly chains = new ReceiverChains();
  private readonly epochs = new Map<string, HeldEpoch>();
  /** Applied rekeys whose history box for this member was read already: each is opened once, not
   * at every sync (a sealed box costs an X25519 operation, and a group has ever more rekeys). */
  private readonly historyRead = new Set<string>();
  private readonly secrets: Uint8Array[];

  /**
   * `self`: the member's Ed25519 key in the group; `secrets`: the X25519 secrets it has used in
   * the group (a post-compromise update adds one: `addSecret`).
   */
  constructor(
    readonly self: Uint8Array,
    secrets: readonly Uint8Array[],
  ) {
    this.secrets = [...secrets];
  }

  /** Adds an X25519 secret (after publishing a rekey with a new identity document, 13.2). */
  addSecret(secret: Uint8Array): void {
    this.secrets.push(secret);
  }

  /** Forgets an X25519 secret (once no box sealed to it is still to be opened). */
  forgetSecret(secret: Uint8Array): void {
    const i = this.secrets.findIndex((s) => equalBytes(s, secret));
    if (i >= 0) this.secrets.splice(i, 1);
  }

  private openBox(box: Uint8Array): Uint8Array | null {
    for (const secret of this.secrets) {
      try {
        return sealOpen(secret, box);
      } catch (e) {
        if (!(e instanceof HoldspaceError)) throw e;
      }
    }
    return null;
  }

  private hold(g: GroupState, id: Uint8Array, key: Uint8Array, rekey: Rekey): void {
    this.chains.addEpoch(id, key, rekey.sealed.map(([k]) => k));
    const shared = g.state.history !== "joined";
    this.epochs.set(toHex(id), { id, key: shared ? key : null, sender: new SenderChain(key, this.self) });
  }

  /**
   * Brings the ring in step with the group state: drops the epochs whose rekey is no longer
   * applied, opens this member's box in every applied rekey not held yet (with any of its
   * secrets), and takes the earlier epochs a rekey's `h` sealed to it (shared history). Boxes that
   * do not open are skipped (the epoch stays unreadable: `e2ee.unknown_epoch`).
   */
  sync(g: GroupState): SyncResult {
    const applied = new Map<string, number>();
    for (const slot of g.state.epochs) applied.set(toHex(g.idOfSlot(slot)), slot);
    const dropped: Uint8Array[] = [];
    for (const [hex, e] of [...this.epochs]) {
      if (applied.has(hex)) continue;
      this.historyRead.delete(hex);
      this.chains.dropEpoch(e.id);
      this.epochs.delete(hex);
      dropped.push(e.id);
    }
    const opened: Uint8Array[] = [];
    for (const [hex, slot] of applied) {
      const rekey = g.payloadOfSlot(slot) as Rekey;
      const id = g.idOfSlot(slot);
      if (!this.epochs.has(hex)) {
        const mine = rekey.sealed.find(([k]) => equalBytes(k, this.self));
        const key = mine === undefined ? null : this.openBox(mine[1]);
        if (key !== null && key.length === 32) {
          this.hold(g, id, key, rekey);
          opened.push(id);
        }
      }
      if (this.historyRead.has(hex)) continue;
      const history = rekey.history.find(([k]) => equalBytes(k, this.self));
      const blob = history === undefined ? null : this.openBox(history[1]);
      this.historyRead.add(hex);
      if (blob === null) continue;
      let earlier: [Uint8Array, Uint8Array][];
      try {
        earlier = decodeHistoryBlob(blob);
      } catch (e) {
        if (e instanceof HoldspaceError) continue;
        throw e;
      }
      const joined = joinedAt(g, this.self);
      for (const [epochId, key] of earlier) {
        const eHex = toHex(epochId);
        const eSlot = applied.get(eHex);
        if (eSlot === undefined || this.epochs.has(eHex) || joined === null) continue;
        if (!inHistoryWindow(g.state.history, joined, g.entryOfSlot(eSlot).header.t)) continue; // outside the window: ignored
        this.hold(g, epochId, key, g.payloadOfSlot(eSlot) as Rekey);
        opened.push(epochId);
      }
    }
    if (g.state.history === "joined") for (const e of this.epochs.values()) e.key = null;
    return { opened, dropped };
  }

  /** True iff this member holds the epoch. */
  holds(epoch: Uint8Array): boolean {
    return this.epochs.has(toHex(epoch));
  }

  /** The epochs whose keys are kept (shared history), in the order given by the group: for a
   * rekey's `h` (13.1). */
  epochKeys(g: GroupState): [Uint8Array, Uint8Array][] {
    const out: [Uint8Array, Uint8Array][] = [];
    for (const slot of g.state.epochs) {
      const e = this.epochs.get(toHex(g.idOfSlot(slot)));
      if (e?.key) out.push([e.id, e.key]);
    }
    return out;
  }

  /**
   * For a rekey this member publishes now (13.1, History): each newcomer (a current member admitted
   * by a join whom the current epoch was not sealed to) with the keys this ring kept of the earlier
   * epochs in its window, newest first (`historyToShare`: at most MAX_HISTORY_EPOCHS looked at).
   * Empty under "joined".
   */
  historyFor(g: GroupState): History[] {
    const history = g.state.history;
    if (history === "joined") return [];
    const slots = g.state.epochs;
    const last = slots.at(-1);
    const held = new Set(last === undefined ? [] : (g.payloadOfSlot(last) as Rekey).sealed.map(([k]) => toHex(k)));
    const recent = slots.slice(-MAX_HISTORY_EPOCHS).map((slot) => ({ id: g.idOfSlot(slot), startedMs: g.entryOfSlot(slot).header.t }));
    const kept = (id: Uint8Array): Uint8Array | null => this.epochs.get(toHex(id))?.key ?? null;
    const out: History[] = [];
    const newcomers = [...g.state.members].filter(([hex, m]) => !held.has(hex) && g.payloadOfSlot(m.join).kind === "join").map(([, m]) => m);
    const limit = historyLimit(newcomers.length);
    for (const m of newcomers) {
      const ids = historyToShare(history, g.entryOfSlot(m.join).header.t, recent, (id) => kept(id) !== null, limit);
      if (ids.length > 0) out.push({ to: [m.key], epochs: ids.map((id) => [id, kept(id)!] as const) });
    }
    return out;
  }

  /** The index this member's chain in `epoch` uses next, or null if the epoch is not held. */
  nextSendIndex(epoch: Uint8Array): bigint | null {
    return this.epochs.get(toHex(epoch))?.sender.nextIndex ?? null;
  }

  /** Moves this member's chain in `epoch` on to `index` (13.3: after a restart, past every index
   * it used before, which the caller kept). */
  skipSendTo(epoch: Uint8Array, index: bigint): void {
    this.epochs.get(toHex(epoch))?.sender.skipTo(index);
  }

  /** True iff this member may send now: the current epoch is clean (13.1) and held. */
  canSend(g: GroupState): boolean {
    const epoch = currentEpoch(g);
    return epoch !== null && isCleanEpoch(g) && this.holds(epoch);
  }

  /**
   * Seals a group message at position `at` under the current epoch, on this member's chain (13.3,
   * 13.4). Refused with `e2ee.unknown_epoch` unless `canSend`: a member publishes a rekey first
   * when the current epoch is not clean (after a join, removal, ban or leave, 13.1).
   */
  seal(g: GroupState, at: Position, plaintext: Uint8Array, expires: bigint | null = null): Uint8Array {
    if (!equalBytes(at.author, this.self)) fail("crypto.bad_key", "a member seals only its own messages");
    const epoch = currentEpoch(g);
    if (epoch === null || !this.canSend(g)) return fail("e2ee.unknown_epoch", "no clean epoch to send in: publish a rekey first");
    const { index, key } = this.epochs.get(toHex(epoch))!.sender.take();
    return sealMessage(key, at, epoch, index, plaintext, expires);
  }

  /** Reads a group message (13.3, 13.4): see `ReceiverChains.open`; an epoch not held is
   * `e2ee.unknown_epoch`. */
  open(at: Position, env: MessageEnvelope): { plaintext: Uint8Array; key: Uint8Array } {
    return this.chains.open(at, env);
  }
}

/** The current epoch (13.1): the last applied rekey in `L`, or null. */
export function currentEpoch(g: GroupState): Uint8Array | null {
  const slot = g.state.epochs.at(-1);
  return slot === undefined ? null : g.idOfSlot(slot);
}

/**
 * True iff the current epoch is clean (13.1): its recipients are exactly the current members, and
 * every member's X25519 key was set by an entry in the rekey's causal past (or by the rekey
 * itself, for its author's post-compromise update). The keys are those of the state now: a member
 * who left and joined again since the rekey makes it unclean ("after any join ... publishes a
 * rekey first"), where the reference (`protocol/group.py`, `epoch_is_clean`) judges the keys only
 * as the rekey was applied and finds the same recipients clean again.
 */
export function isCleanEpoch(g: GroupState): boolean {
  const slot = g.state.epochs.at(-1);
  if (slot === undefined) return false;
  const rekey = g.payloadOfSlot(slot) as Rekey;
  const members = g.state.members;
  if (rekey.sealed.length !== members.size) return false;
  for (const [key] of rekey.sealed) {
    const hex = toHex(key);
    if (!members.has(hex)) return false;
    const setBy = g.state.x25519.get(hex)?.setBy;
    if (setBy === undefined || (setBy !== slot && !g.saw(slot, setBy))) return false;
  }
  return true;
}

/** Earlier epochs' keys for some members (a rekey's `h`, 13.1): one blob, `[epoch id, key]` newest first. */
export interface History {
  readonly to: readonly Uint8Array[];
  readonly epochs: readonly (readonly [Uint8Array, Uint8Array])[];
}

/** What a rekey says besides its epoch key. */
export interface RekeyOptions {
  /** `d`: the heads the author saw (default: every head of the state). */
  readonly deps?: readonly Uint8Array[];
  /** A new identity document of the author (13.2: post-compromise update); its `x` receives the box. */
  readonly newDocument?: Uint8Array;
  /** Members to send earlier epochs' keys to (unless history is "joined", 13.1), with the blob's epochs. */
  readonly history?: History;
  /** More of the same, one blob each (`KeyRing.historyFor`); every member named once at most. */
  readonly histories?: readonly History[];
  /** The epoch key (default: 32 random bytes). */
  readonly epochKey?: Uint8Array;
}

/**
 * The payload of a rekey by `author` (12.3, 13.1, 13.2): a fresh epoch key sealed to the current
 * X25519 key of every current member (the author's new one if it sends a new document), sorted by
 * member key. Returns the payload and the epoch key.
 */
export function buildRekey(g: GroupState, author: Uint8Array, o: RekeyOptions = {}): { payload: Uint8Array; epochKey: Uint8Array } {
  const epochKey = o.epochKey ?? randomBytes(32);
  const doc = o.newDocument === undefined ? null : verifyIdentityDocument(o.newDocument);
  if (doc !== null && !equalBytes(doc.k, author)) fail("identity.bad_key", "a rekey's document must be its author's");
  const xOf = (key: Uint8Array): Uint8Array => {
    if (doc !== null && equalBytes(key, author)) return doc.x;
    const x = g.state.x25519.get(toHex(key));
    if (x === undefined) return fail("group.bad_recipients", "a member has no X25519 key in the group state");
    return x.key;
  };
  const keys = [...g.state.members.values()].map((m) => m.key).sort(compareBytes);
  const sealed: SealedFor[] = keys.map((k) => [k, seal(xOf(k), epochKey)]);
  const history: SealedFor[] = [];
  for (const h of [...(o.history === undefined ? [] : [o.history]), ...(o.histories ?? [])]) {
    const blob = encodeHistoryBlob(h.epochs);
    for (const k of h.to) history.push([k, seal(xOf(k), blob)]);
  }
  history.sort((a, b) => compareBytes(a[0], b[0]));
  const payload = encodeControlPayload({
    kind: "rekey",
    deps: o.deps ?? g.headIds(),
    sealed,
    doc,
    docBytes: o.newDocument ?? null,
    history,
  });
  return { payload, epochKey };
}
