/**
 * One group as a participant's client reads it (spec/protocol.md 14.2 rule 5): every entry the
 * node sends is verified (6.2 without the clock), placed in its author's log (7.1; a fork is
 * proven, 7.2), given to the group state (12), and, for message kinds, opened with the member's
 * keys (13) and decoded (17.1); the words of what the group deletes, and their keys, are dropped
 * (17.5). Sans-I/O: the caller feeds what a `fetch` or `subscribe` brought, in arrival order.
 *
 * Invariants: nothing unverified is kept; a log is never rewritten; words and message keys are
 * dropped, for good, once the entry is redacted, erased or past its deadline.
 */
import { equalBytes, toHex } from "./bytes.js";
import { type Content, decodeContent, type Unsupported } from "./content.js";
import { CONTROL_KIND, decodeControlPayload, DIRECT_KIND, isControlKind, MESSAGE_KIND } from "./control.js";
import { decodeDirectEnvelope, decodeMessageEnvelope, type DirectEnvelope, type MessageEnvelope, openDirectKey, openDirectWithKey } from "./e2ee.js";
import { deletedBy, messageStatus } from "./deletion.js";
import { decodeEntry, type Entry, groupOf } from "./entry.js";
import { fail, HoldspaceError } from "./errors.js";
import { GroupState } from "./group.js";
import { KeyRing } from "./keyring.js";
import { makeForkProof, place } from "./log.js";

/** A message-kind entry as this member holds it. */
export interface MessageRecord {
  readonly entry: Entry;
  readonly direct: boolean;
  /** It came without its payload (a husk: deleted at the node, or withheld from a former member). */
  readonly husk: boolean;
  /** The decoded content, or null (not readable, or deleted). */
  content: Content | Unsupported | null;
  /** Why there is no content: an `e2ee.*`, `crypto.*` or `content.*` code, or null. */
  error: string | null;
  /** The key that opened it (a disclosure hands it on, 13.6), kept only with the words. */
  key: Uint8Array | null;
  /** Why the words are gone (final, 17.5), or null. */
  deleted: "redacted" | "erased" | "expired" | null;
  /** Its seq lies in one of its author's membership intervals now (12.6). A client shows only
   * authorised words; this can change either way as control entries arrive, so it deletes nothing. */
  authorised: boolean;
  /** The envelope, while the words may still be opened (a key may arrive later). */
  envelope: MessageEnvelope | DirectEnvelope | null;
}

/** What became of one received entry. */
export type Received =
  | { readonly status: "stored"; readonly id: Uint8Array }
  | { readonly status: "duplicate"; readonly id: Uint8Array }
  | { readonly status: "held"; readonly id: Uint8Array } // waits for an earlier entry of its log
  | { readonly status: "fork"; readonly id: Uint8Array; readonly proof: Uint8Array };

interface Log {
  /** Entries by seq (headers verified and placed). */
  readonly entries: Map<bigint, Entry>;
  head: { seq: bigint; id: Uint8Array } | null;
}

export class GroupClient {
  readonly state: GroupState;
  readonly ring: KeyRing;
  private readonly logs = new Map<string, Log>();
  /** Entries past a gap in their log, by author then seq. */
  private readonly waiting = new Map<string, Map<bigint, { entry: Entry; payload: Uint8Array | null }>>();
  private readonly records: MessageRecord[] = [];
  private readonly byId = new Map<string, MessageRecord>();
  /** Epoch id (hex) -> one past the highest index of this member's own group messages held in it. */
  private readonly ownNext = new Map<string, bigint>();

  /**
   * `self` is the member's pseudonym in this group and `x25519Secrets` the X25519 secrets it has
   * used here (the current one first is usual; order does not matter).
   */
  constructor(
    readonly groupId: Uint8Array,
    readonly self: Uint8Array,
    private readonly x25519Secrets: Uint8Array[],
  ) {
    this.state = new GroupState(groupId);
    this.ring = new KeyRing(self, x25519Secrets);
  }

  /** Adds an X25519 secret (after this member's post-compromise update, 13.2). */
  addSecret(secret: Uint8Array): void {
    this.x25519Secrets.push(secret);
    this.ring.addSecret(secret);
    this.refresh();
  }

  /**
   * Takes one entry item (a header and its payload, null for a husk), in arrival order. Checked:
   * 6.2 without the clock (`entry.*`, `cbor.*`); the group (7.1, `group.bad_genesis`); placement
   * in its author's log: a gap holds it until the entries before it arrive, a `p` that is not the
   * head's id is `log.prev_mismatch`, another entry at a stored position proves a fork (the proof
   * is returned and applied to the state). A control entry must come with its payload
   * (`proto.payload_required`) and is refused if it is malformed (`group.malformed_payload`):
   * nodes store neither.
   */
  receive(header: Uint8Array, payload: Uint8Array | null): Received {
    const entry = decodeEntry(header, payload);
    if (!equalBytes(groupOf(entry), this.groupId)) fail("group.bad_genesis", "the entry belongs to another group");
    const author = toHex(entry.header.a);
    const log = this.logs.get(author) ?? { entries: new Map<bigint, Entry>(), head: null };
    const stored = log.entries.get(entry.header.s);
    if (stored !== undefined) {
      if (equalBytes(stored.id, entry.id)) return { status: "duplicate", id: entry.id };
      const proof = makeForkProof(stored, entry);
      this.state.addForkProof(proof);
      this.refresh();
      return { status: "fork", id: entry.id, proof };
    }
    const s = entry.header.s;
    if (s > (log.head?.seq ?? 0n) + 1n) {
      let held = this.waiting.get(author);
      if (held === undefined) this.waiting.set(author, (held = new Map()));
      held.set(s, { entry, payload });
      return { status: "held", id: entry.id };
    }
    this.append(author, log, entry, payload);
    // Entries that waited for this one.
    const held = this.waiting.get(author);
    for (let next = held?.get(s + 1n); next !== undefined; next = held?.get(log.head!.seq + 1n)) {
      held!.delete(next.entry.header.s);
      this.append(author, log, next.entry, next.payload);
    }
    return { status: "stored", id: entry.id };
  }

  private append(author: string, log: Log, entry: Entry, payload: Uint8Array | null): void {
    place(entry, log.head);
    const kind = entry.header.k;
    if (isControlKind(kind)) {
      if (payload === null) fail("proto.payload_required", "a control entry comes with its payload");
      this.state.add(entry, payload); // a malformed payload throws before anything is stored
    }
    log.entries.set(entry.header.s, entry);
    log.head = { seq: entry.header.s, id: entry.id };
    this.logs.set(author, log);
    if (isControlKind(kind)) {
      if (kind === CONTROL_KIND.session && equalBytes(entry.header.a, this.self)) this.usedBySession(kind, payload!, entry.header.a);
      this.refresh();
      return;
    }
    this.state.add(entry, null);
    const record: MessageRecord = {
      entry,
      direct: kind === DIRECT_KIND,
      husk: payload === null,
      content: null,
      error: null,
      key: null,
      deleted: null,
      authorised: false,
      envelope: null,
    };
    this.records.push(record);
    this.byId.set(toHex(entry.id), record);
    this.applyDeletions(record);
    if (payload === null || record.deleted !== null) return;
    try {
      record.envelope = kind === MESSAGE_KIND ? decodeMessageEnvelope(payload) : decodeDirectEnvelope(payload);
      if (kind === MESSAGE_KIND && equalBytes(entry.header.a, this.self)) this.usedOwn(record.envelope as MessageEnvelope);
    } catch (e) {
      if (!(e instanceof HoldspaceError)) throw e;
      record.error = e.code;
      return;
    }
    this.open(record);
  }

  /** A session's details are sealed on the author's chain too (17.3). */
  private usedBySession(kind: bigint, payload: Uint8Array, author: Uint8Array): void {
    const p = decodeControlPayload(kind, payload, author);
    if (p.kind !== "session" || p.details === null) return;
    try {
      this.usedOwn(decodeMessageEnvelope(p.details));
    } catch (e) {
      if (!(e instanceof HoldspaceError)) throw e;
    }
  }

  private usedOwn(env: MessageEnvelope): void {
    const hex = toHex(env.epoch);
    if (env.index >= (this.ownNext.get(hex) ?? 0n)) this.ownNext.set(hex, env.index + 1n);
  }

  /** One past the highest index of this member's own group messages held in `epoch` (0 if none):
   * kept as entries arrive, so a send never walks the messages (13.3: a key is used once). */
  ownNextIndex(epoch: Uint8Array): bigint {
    return this.ownNext.get(toHex(epoch)) ?? 0n;
  }

  /** Tries to open a record's words with the keys held now. */
  private open(r: MessageRecord): void {
    if (r.envelope === null || r.content !== null || r.deleted !== null) return;
    // Tried again only when a key may have arrived since: a later epoch key or history (group
    // messages), or a new secret (direct messages). Other failures are final.
    if (r.error !== null && r.error !== "e2ee.unknown_epoch" && !(r.direct && r.error === "crypto.decrypt_failed")) return;
    const h = r.entry.header;
    const at = { groupId: this.groupId, author: h.a, seq: h.s };
    try {
      let plaintext: Uint8Array;
      if (!r.direct) {
        const opened = this.ring.open(at, r.envelope as MessageEnvelope);
        plaintext = opened.plaintext;
        r.key = opened.key;
      } else {
        const env = r.envelope as DirectEnvelope;
        let key: Uint8Array | null = null;
        let lastError: HoldspaceError | null = null;
        for (const secret of this.x25519Secrets) {
          try {
            key = openDirectKey(env, this.self, secret);
            break;
          } catch (e) {
            if (!(e instanceof HoldspaceError)) throw e;
            lastError = e;
            if (e.code === "e2ee.not_recipient") break;
          }
        }
        if (key === null) throw lastError ?? new HoldspaceError("e2ee.not_recipient", "the direct message is not sealed to this member");
        plaintext = openDirectWithKey(key, at, env);
        r.key = key;
      }
      r.content = decodeContent(plaintext);
      r.error = null;
    } catch (e) {
      if (!(e instanceof HoldspaceError)) throw e;
      r.error = e.code;
    }
  }

  /** Marks whether a record is authorised, and drops the words and key of one the group
   * deleted (17.5: redacted or erased). */
  private applyDeletions(r: MessageRecord): void {
    r.authorised = this.state.isAuthorised(r.entry.header.a, r.entry.header.s) && !this.state.isMuted(r.entry);
    const deleted = deletedBy(this.state, r.entry);
    if (deleted === null || r.deleted !== null) return;
    r.deleted = deleted;
    r.content = null;
    r.key = null;
    r.envelope = null;
  }

  /** After the state changed: the ring follows it, deletions apply, waiting words are retried. */
  private refresh(): void {
    this.ring.sync(this.state);
    for (const r of this.records) {
      this.applyDeletions(r);
      this.open(r);
    }
  }

  /**
   * Drops the words and keys of messages whose deadline (expiry `x`, or a session's retention,
   * 17.3) is `nowMs` or earlier (17.5: clients delete at `x`, and should at the retention
   * deadline). Returns how many were dropped.
   */
  purge(nowMs: number): number {
    let n = 0;
    for (const r of this.records) {
      if (r.deleted !== null) continue;
      const st = messageStatus(this.state, r.entry, r.envelope?.expires ?? null);
      if (st.deadlineMs !== null && st.deadlineMs <= nowMs) {
        r.deleted = "expired";
        r.content = null;
        r.key = null;
        r.envelope = null;
        n++;
      }
    }
    return n;
  }

  /** The message-kind entries held, in arrival order. */
  messages(): readonly MessageRecord[] {
    return this.records;
  }

  /** The record of a message-kind entry, by id. */
  message(id: Uint8Array): MessageRecord | undefined {
    return this.byId.get(toHex(id));
  }

  /** The head of `author`'s log as held (its last placed entry), or null. */
  head(author: Uint8Array): { readonly seq: bigint; readonly id: Uint8Array } | null {
    return this.logs.get(toHex(author))?.head ?? null;
  }

  /** How many entries wait for an earlier entry of their log. */
  get waitingCount(): number {
    let n = 0;
    for (const m of this.waiting.values()) n += m.size;
    return n;
  }
}
