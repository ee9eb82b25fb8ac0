/**
 * The browser participant (the counterpart of clients/participant.py for what a phone needs): an
 * identity sealed under the passphrase (keystore.ts, profile.ts), the device history (history.ts),
 * joining by invite (12.3, 14.3), and one group's conversation: reading what the node sends
 * (group_client.ts), and sending text, reactions, check-ins and reports through the outbox.
 *
 * Invariants:
 * - nothing secret is written unsealed: the profile goes through the key store, outbox items
 *   through the outbox (outbox.ts, the history's `out` store);
 * - the outbox sends, keeps and removes items (see its invariants: saved before sending, the signed
 *   entry saved into the item before it is sent, the same bytes re-sent after a lost answer, removed
 *   only after the ack); the conversation only seals and signs an item once it holds the keys, and
 *   records an acknowledged entry as this member's log head;
 * - a message key is used once: the next index of this member's sender chain in each epoch is
 *   saved in the profile before the sealed entry is sent anywhere.
 */
import { ascii, concat, equalBytes, fromHex, toHex } from "./bytes.js";
import type { CborMap, CborValue } from "./cbor.js";
import { carryWelcome } from "./about.js";
import { type Content, decodeContent, encodeContent, type QuoteContent, type Reaction } from "./content.js";
import { type ControlPayload, CONTROL_KIND, DIRECT_KIND, encodeControlPayload, kindOf, MESSAGE_KIND } from "./control.js";
import { randomBytes } from "./crypto.js";
import { type DirectRecipient, sealDirect } from "./e2ee.js";
import { DeviceLog, type EntryItem } from "./device_log.js";
import { createEntry, decodeEntry, type Entry } from "./entry.js";
import { fail, HoldspaceError } from "./errors.js";
import { GroupClient } from "./group_client.js";
import { HISTORY_STORES, HistoryStore } from "./history.js";
import { createIdentityDocument, derivePseudonym, type Pseudonym } from "./identity.js";
import type { InviteToken } from "./invite.js";
import { joinPayload } from "./invite_payloads.js";
import { buildRekey, currentEpoch } from "./keyring.js";
import type { KeyStore } from "./keystore.js";
import { type Audience, type FlushResult, Outbox, type OutItem, TRANSIENT } from "./outbox.js";
import { lineRecipients } from "./private_line.js";
import { currentOrNext } from "./schedule.js";
import { decodeProfile, encodeProfile, type GroupRecord, type Profile } from "./profile.js";
import type { Backup } from "./recovery.js";
import type { Storage } from "./storage.js";
import { checkinRecipients, currentPin, reactionCounts, type ReadMessage, reportRecipients } from "./support.js";
import { edits, quoted } from "./corrections.js";
import { msg, t } from "./i18n.js";

/** History budget of the browser (bytes): words beyond it are pruned, oldest first. */
export const BROWSER_BUDGET = 32 * 1024 * 1024;
/** Shortest passphrase the browser accepts. */
export const MIN_PASSPHRASE = 8;
const FETCH_LIMIT = 512n;

/** What the participant needs of a session with its node (`NodeClient` is one). */
export interface NodeLink {
  request(op: string, fields: CborMap): Promise<CborMap>;
  subscribe(group: Uint8Array, after: bigint, onEvent: (ev: string, fields: CborMap) => void): { id: bigint; done: Promise<CborMap> };
  authenticate(seed: Uint8Array): Promise<void>;
}

/** Checks a passphrase chosen in the browser: at least 8 characters (`web.short_passphrase`), and
 * the confirmation the same (`app.passphrase_mismatch`). */
export function checkNewPassphrase(passphrase: string, confirmation: string): void {
  if ([...passphrase].length < MIN_PASSPHRASE) fail("web.short_passphrase", `a passphrase has at least ${MIN_PASSPHRASE} characters`);
  if (passphrase !== confirmation) fail("app.passphrase_mismatch", "the two passphrases differ; type the same one twice");
}

/** The derivation context of the pseudonym in a group joined by invite (4.2). */
export function groupContext(groupId: Uint8Array): Uint8Array {
  return concat(ascii("group:"), groupId);
}

export class Participant {
  /** The one outbox of this browser (every group's items, in the history's `out` store). */
  readonly outbox: Outbox;

  private constructor(
    private readonly keys: KeyStore,
    readonly history: HistoryStore,
    readonly profile: Profile,
    readonly clock: () => number,
  ) {
    this.outbox = new Outbox(history);
  }

  /** A new identity: a fresh master secret and history key, sealed under `passphrase`. */
  static async create(keys: KeyStore, storage: Storage, passphrase: string, node: string, clock: () => number = Date.now): Promise<Participant> {
    if (passphrase === "") fail("client.passphrase", "an empty passphrase would protect nothing");
    const profile: Profile = { master: randomBytes(32), historyKey: randomBytes(32), node, groups: [], backupKey: null };
    await keys.create(passphrase, encodeProfile(profile));
    return new Participant(keys, await HistoryStore.open(storage, profile.historyKey, BROWSER_BUDGET), profile, clock);
  }

  /** The identity of `backup` (14.7), sealed in this browser under `passphrase` in place of any
   * there, with a fresh history key (the history of an identity there before, sealed under a key
   * that is lost with its passphrase, is deleted); `backupKey` is kept for later backups. A
   * membership's log position may be stale: a conversation reads its own log before it writes (14.7). */
  static async restore(keys: KeyStore, storage: Storage, passphrase: string, backup: Backup, backupKey: Uint8Array, clock: () => number = Date.now): Promise<Participant> {
    if (passphrase === "") fail("client.passphrase", "an empty passphrase would protect nothing");
    const groups: GroupRecord[] = backup.groups.map((m) => {
      const known = m.seq > 0n && m.prev !== null;
      return { groupId: m.groupId, context: m.context, hosts: [...m.hosts], seq: known ? m.seq : 0n, prev: known ? m.prev : null, join: null, sent: new Map() };
    });
    const profile: Profile = { master: backup.master, historyKey: randomBytes(32), node: backup.node ?? "", groups, backupKey };
    for (const store of HISTORY_STORES) for (const k of await storage.keys(store)) await storage.delete(store, k);
    await keys.create(passphrase, encodeProfile(profile));
    return new Participant(keys, await HistoryStore.open(storage, profile.historyKey, BROWSER_BUDGET), profile, clock);
  }

  /** The identity stored in this browser, opened with `passphrase` (`keyfile.bad_passphrase`). */
  static async unlock(keys: KeyStore, storage: Storage, passphrase: string, clock: () => number = Date.now): Promise<Participant> {
    const profile = decodeProfile(await keys.unlock(passphrase));
    return new Participant(keys, await HistoryStore.open(storage, profile.historyKey, BROWSER_BUDGET), profile, clock);
  }

  async save(): Promise<void> {
    await this.keys.save(encodeProfile(this.profile));
  }

  pseudonym(record: GroupRecord): Pseudonym {
    return derivePseudonym(this.profile.master, record.context);
  }

  group(groupId: Uint8Array): GroupRecord | undefined {
    return this.profile.groups.find((g) => equalBytes(g.groupId, groupId));
  }

  /**
   * Joins the group of `token` under a pseudonym derived for it alone: the join entry is signed,
   * kept in the profile, then published (`publish` when this node is the token's first host, else
   * `adopt` with the token's hosts). A definite refusal forgets the group and throws; an unsettled
   * answer keeps the join, to be sent again by `Conversation.connect`. Already joined:
   * `client.already_joined`.
   */
  async join(link: NodeLink, token: InviteToken, publishHere: boolean): Promise<GroupRecord> {
    if (this.group(token.groupId) !== undefined) fail("client.already_joined", "you are already in that group");
    const context = groupContext(token.groupId);
    const me = derivePseudonym(this.profile.master, context);
    const now = BigInt(this.clock());
    const doc = createIdentityDocument(me, now);
    const payload = joinPayload(token, me.ed25519Public, doc, this.profile.node);
    const entry = createEntry(me.ed25519Seed, { group: token.groupId, seq: 1n, prev: null, timeMs: now, kind: CONTROL_KIND.join, payload });
    const hosts = token.nodes.map((n) => n.normal);
    const record: GroupRecord = { groupId: token.groupId, context, hosts, seq: 0n, prev: null, join: [entry.bytes, payload], sent: new Map() };
    this.profile.groups.push(record);
    await this.save();
    await link.authenticate(me.ed25519Seed);
    try {
      await this.sendJoin(link, record, publishHere);
    } catch (e) {
      if (e instanceof HoldspaceError && !TRANSIENT.has(e.code)) {
        this.profile.groups.splice(this.profile.groups.indexOf(record), 1);
        await this.save();
      }
      throw e;
    }
    return record;
  }

  /** Sends the kept join (if any) and records it as this member's first entry once acknowledged. */
  async sendJoin(link: NodeLink, record: GroupRecord, publishHere = true): Promise<void> {
    if (record.join === null) return;
    const [header, payload] = record.join;
    const fields = new Map<string, CborValue>([["e", header], ["b", payload]]);
    if (!publishHere) fields.set("hosts", [...record.hosts]);
    await link.request(publishHere ? "publish" : "adopt", fields);
    record.seq = 1n;
    record.prev = decodeEntry(header, payload).id;
    record.join = null;
    await this.save();
  }
}

/** How the outbox names an item that is not a text. */
const OUTBOX_WORDS: Readonly<Record<string, string>> = { checkin: msg("Your check-in"), report: msg("Your report"), name: msg("Your name in the group"), profile: msg("The group's profile"), pin: msg("The crisis resources") };

/** One message as the conversation shows it. */
export interface ShownMessage {
  readonly id: string;
  readonly mine: boolean;
  readonly author: Uint8Array;
  readonly role: string | null;
  readonly timeMs: number;
  readonly text: string;
  readonly warning: string | null;
  readonly reactions: Record<Reaction, number>;
  /** The text shown is a correction (17.15). */
  readonly edited: boolean;
  /** The message it replies to (17.15), or null: its author, and its first words or, under a
   * content warning, the warning only; both null when this member cannot read that message. */
  readonly reply: { readonly author: Uint8Array | null; readonly quote: string | null; readonly warning: string | null } | null;
}

/** What the conversation shows now. */
export interface ConversationView {
  /** `member`: a member holding the current epoch; `waiting`: a member without the group's keys
   * yet; `joining`: the join is not acknowledged; `gone`: no longer a member. */
  readonly status: "member" | "waiting" | "joining" | "gone";
  readonly messages: readonly ShownMessage[];
  /** What waits to be sent: `text` as the conversation lists it; `member`, the member (hex) whose
   * private line an item is on (its `text` then says so, and `words` are its words alone), else null. */
  readonly outbox: readonly { readonly key: string; readonly text: string; readonly words: string; readonly error: string | null; readonly member: string | null }[];
  /** The group's crisis resources (17.8), or null (the client shows built-in ones). */
  readonly pin: string | null;
}

/** Where an entry of this member is written: its group, its author and its seq. */
export interface At {
  readonly groupId: Uint8Array;
  readonly author: Uint8Array;
  readonly seq: bigint;
}

/**
 * One group's conversation over a node session. `connect` authenticates, sends a kept join, reads
 * what this device kept of the group (device_log.ts; the group state and the keys are computed from
 * the entries, one at a time, never stored beside them), fetches only what is new after the kept
 * cursor, subscribes, and sends the outbox; `onChange` is called after each change.
 */
export class Conversation {
  readonly client: GroupClient;
  private readonly me: Pseudonym;
  private readonly payloads = new Map<string, Uint8Array>();
  private link: NodeLink | null = null;
  private cursor = 0n;
  private readonly device: DeviceLog;
  private readonly forgotten = new Set<string>();
  private loaded = false;
  /** Entry items the node sent since this page opened (a fetch's or a subscription's). */
  fetched = 0;
  private waiting: OutItem[] = [];
  /** Entry id (hex) -> the node's cursor it arrived at (from the device, a fetch or a subscription). */
  private readonly arrivals = new Map<string, bigint>();
  onChange: () => void = () => undefined;

  constructor(
    readonly participant: Participant,
    readonly record: GroupRecord,
  ) {
    this.me = participant.pseudonym(record);
    this.client = new GroupClient(record.groupId, this.me.ed25519Public, [this.me.x25519Secret]);
    this.device = new DeviceLog(participant.history, record.groupId);
  }

  get self(): Uint8Array {
    return this.me.ed25519Public;
  }

  /** The node session the conversation reads through, or null before `connect`. */
  get session(): NodeLink | null {
    return this.link;
  }

  /** The node's cursor this conversation has read up to (0 before anything was read). */
  get position(): bigint {
    return this.cursor;
  }

  /** The node's cursor the entry `id` (hex) arrived at, or undefined if it was not read here. */
  arrivedAt(id: string): bigint | undefined {
    return this.arrivals.get(id);
  }

  /** Reads this group's items from the outbox, for `view`. */
  async loadOutbox(): Promise<void> {
    this.waiting = await this.participant.outbox.pending(this.record.groupId);
  }

  /** `publishHere`: the node of `link` hosts the group (a kept join is published there, else adopted).
   * Called again with a new session (the browser back online), it reads on from where it was.
   * Resolves with what the flush of the outbox did. */
  async connect(link: NodeLink, publishHere = true): Promise<FlushResult> {
    this.link = link;
    await this.loadOutbox();
    await link.authenticate(this.me.ed25519Seed);
    await this.participant.sendJoin(link, this.record, publishHere);
    if (!this.loaded) {
      this.loaded = true;
      const kept = await this.device.load();
      this.take(kept.items, false);
      // an entry missing from the device (a log with a gap): read the group from the node again
      this.cursor = this.client.waitingCount > 0 ? 0n : kept.cursor;
    }
    for (let more = true; more; ) {
      const page = await link.request("fetch", new Map<string, CborValue>([["g", this.record.groupId], ["after", this.cursor], ["limit", FETCH_LIMIT]]));
      this.take(page.get("entries"));
      const next = page.get("next");
      if (typeof next === "bigint" && next > this.cursor) this.cursor = next;
      more = page.get("more") === true;
    }
    this.onChange();
    const sub = link.subscribe(this.record.groupId, this.cursor, (ev, fields) => {
      if (ev !== "entries") return;
      this.take(fields.get("entries"));
      this.onChange();
      void this.flush();
    });
    sub.done.catch(() => undefined); // a subscription ends with its session; coming back online opens both again
    return this.flush();
  }

  /** Takes entry items `[cursor, header, payload]` from a fetch or a subscription (`keep`: and
   * keeps them on this device), or from the device, in order. An entry the client refuses
   * (malformed, another group's) is skipped: a node cannot make it count. */
  take(items: CborValue | readonly EntryItem[] | undefined, keep = true): void {
    if (!Array.isArray(items)) return;
    const kept: EntryItem[] = [];
    for (const item of items as readonly CborValue[]) {
      if (!Array.isArray(item) || item.length !== 3) continue;
      const [c, header, payload] = item;
      if (keep) this.fetched++;
      if (typeof c === "bigint" && c > this.cursor) this.cursor = c;
      if (typeof c !== "bigint" || !(header instanceof Uint8Array) || !(payload === null || payload instanceof Uint8Array)) continue;
      try {
        const got = this.client.receive(header, payload);
        const id = toHex(got.id);
        if (payload !== null) this.payloads.set(id, payload);
        if (!this.arrivals.has(id)) this.arrivals.set(id, c);
        kept.push([c, header, payload]); // a duplicate too: this member's own entry, read when acknowledged
      } catch (e) {
        if (!(e instanceof HoldspaceError)) throw e;
      }
    }
    if (keep) void this.device.keep(kept, this.cursor);
    for (const r of this.client.messages()) {
      if (r.deleted === null || r.deleted === "expired") continue;
      const id = toHex(r.entry.id);
      if (this.forgotten.has(id)) continue;
      this.forgotten.add(id);
      this.payloads.delete(id);
      void this.device.forget(id); // 17.5: the device deletes its copy of what the group deleted
    }
  }

  /** Settles once what the node sent so far is kept on this device. */
  kept(): Promise<void> {
    return this.device.idle();
  }

  /** Puts `content` in the outbox (sealed at once in the history) and starts sending it; `member`
   * names the private line of an item whose audience is `line` (private_line.ts). */
  async compose(content: Content, to: Audience = "group", member: Uint8Array | null = null): Promise<void> {
    await this.participant.outbox.add(this.record.groupId, encodeContent(content), to, this.participant.clock(), null, member);
    await this.loadOutbox();
    this.onChange();
    await this.flush();
  }

  async send(text: string, warning: string | null = null): Promise<void> {
    await this.compose(warning === null || warning === "" ? { t: "text", b: text } : { t: "text", b: text, cw: warning });
  }

  async react(messageId: string, reaction: Reaction): Promise<void> {
    await this.compose({ t: "react", m: fromHex(messageId), r: reaction });
  }

  /** A check-in (17.2), sealed to the facilitators only; during a session's date it counts for that
   * date (`s`), as the Python client's does, so it is in that date's summary. */
  async checkin(mood: number, word: string | null = null): Promise<void> {
    const c: Content = word === null || word === "" ? { t: "checkin", m: BigInt(mood) } : { t: "checkin", m: BigInt(mood), w: word };
    const now = this.participant.clock();
    const running = currentOrNext(this, now);
    const during: Content = running !== null && running.start <= now ? { ...c, s: [fromHex(running.session), running.index] } : c;
    await this.compose(during, "facilitators");
  }

  /** A report of a message (17.6): its header, payload and key, sealed to moderators and facilitators. */
  async report(messageId: string, why: string): Promise<void> {
    const r = this.client.message(fromHex(messageId));
    const payload = this.payloads.get(messageId);
    if (r === undefined || r.key === null || payload === undefined) return fail("client.unknown_message", "no message you have read has that id");
    await this.compose({ t: "report", e: r.entry.bytes, p: payload, k: r.key, why }, "moderators");
  }

  /** Sends this group's items of the outbox through the session (none yet: nothing is sent). Never
   * rejects: a failure (signing, the session) is the result's `stoppedBy`, and everything stays queued. */
  async flush(): Promise<FlushResult> {
    const link = this.link;
    if (link === null) return { sent: [], refused: [], stoppedBy: "web.unreachable" };
    const flushed = this.participant.outbox.flush(link, {
      group: this.record.groupId,
      sign: (item) => this.sign(link, item),
      acknowledged: async (_item, [header, payload]) => {
        const entry = decodeEntry(header, payload);
        this.record.seq = entry.header.s;
        this.record.prev = entry.id;
        await this.participant.save();
      },
      changed: async () => {
        await this.loadOutbox();
        this.onChange();
      },
    });
    return flushed.catch((e: unknown) => ({ sent: [], refused: [], stoppedBy: e instanceof HoldspaceError ? e.code : "web.unreachable" }));
  }

  /** This member's log head: the later of what a node acknowledged and what it holds of the log. */
  head(): { seq: bigint; prev: Uint8Array | null } {
    const held = this.client.head(this.self);
    if (held !== null && held.seq > this.record.seq) return { seq: held.seq, prev: held.id };
    return { seq: this.record.seq, prev: this.record.prev };
  }

  /**
   * Seals and signs the item's entry (the outbox saves it into the item before sending it). A group
   * message needs a clean epoch this member holds: if it holds an earlier one (it was given keys
   * before), it publishes a rekey first (13.1); if it holds none, it waits for the group's keys (null).
   */
  private async sign(link: NodeLink, item: OutItem): Promise<[Uint8Array, Uint8Array] | null> {
    const g = this.client.state;
    if (!g.state.members.has(toHex(this.self)) || this.record.join !== null) return null;
    const head = this.head();
    const at = { groupId: this.record.groupId, author: this.self, seq: head.seq + 1n };
    let kind: bigint;
    let payload: Uint8Array;
    if (item.to === "group") {
      const ring = this.client.ring;
      if (!ring.canSend(g)) {
        if (!g.state.epochs.some((slot) => ring.holds(g.idOfSlot(slot)))) return null;
        await this.rekey(link);
        return null; // signed once the rekey comes back
      }
      payload = await this.sealGroup(at, item.content);
      kind = MESSAGE_KIND;
    } else {
      const recipients: DirectRecipient[] =
        item.to === "line" && item.member !== null ? lineRecipients(g, item.member, this.self) : item.to === "facilitators" ? checkinRecipients(g) : reportRecipients(g);
      payload = sealDirect(at, recipients, item.content);
      kind = DIRECT_KIND;
    }
    const entry = createEntry(this.me.ed25519Seed, { group: this.record.groupId, seq: at.seq, prev: head.prev, timeMs: BigInt(this.participant.clock()), kind, payload });
    return [entry.bytes, payload];
  }

  /** Seals `content` as a group message of this member at `at` in the current epoch (13.4), which
   * it must be able to send in (`ring.canSend`): its sender chain goes past every index kept in the
   * profile and every one of its messages held, and the index used is saved before the sealed bytes
   * exist anywhere. */
  async sealGroup(at: At, content: Uint8Array): Promise<Uint8Array> {
    const g = this.client.state;
    const ring = this.client.ring;
    const epoch = currentEpoch(g);
    if (epoch === null || !ring.canSend(g)) return fail("e2ee.unknown_epoch", "no clean epoch to send in yet");
    const hex = toHex(epoch);
    ring.skipSendTo(epoch, this.record.sent.get(hex) ?? 0n);
    ring.skipSendTo(epoch, this.client.ownNextIndex(epoch)); // and past any of its messages the node holds
    this.record.sent.set(hex, ring.nextSendIndex(epoch)! + 1n);
    await this.participant.save();
    return ring.seal(g, at, content);
  }

  /**
   * Publishes a control entry of this member (a facilitator's session, for one) at once, not
   * through the outbox: `build` gets the entry's position and the group state's heads and returns
   * the payload. A group message that needs a clean epoch first gets one (a rekey, 13.1). Once
   * acknowledged, the entry is this member's head and is read into the group state. Needs a session.
   */
  async publishControl(build: (at: At, deps: Uint8Array[]) => Promise<ControlPayload>): Promise<Uint8Array> {
    const link = this.link ?? fail("web.unreachable", "the group's node is not connected");
    const g = this.client.state;
    if (!this.client.ring.canSend(g) && g.state.epochs.some((slot) => this.client.ring.holds(g.idOfSlot(slot)))) await this.rekey(link);
    const head = this.head();
    const at: At = { groupId: this.record.groupId, author: this.self, seq: head.seq + 1n };
    const p = await build(at, this.client.state.headIds());
    const payload = encodeControlPayload(p);
    const entry = createEntry(this.me.ed25519Seed, { group: this.record.groupId, seq: at.seq, prev: head.prev, timeMs: BigInt(this.participant.clock()), kind: kindOf(p), payload });
    await link.request("publish", new Map<string, CborValue>([["e", entry.bytes], ["b", payload]]));
    await this.acknowledged(entry, payload);
    return entry.id;
  }

  /** An entry of this member the node acknowledged: its new head, read into the group state. */
  private async acknowledged(entry: Entry, payload: Uint8Array): Promise<void> {
    this.record.seq = entry.header.s;
    this.record.prev = entry.id;
    await this.participant.save();
    try {
      this.client.receive(entry.bytes, payload);
    } catch (e) {
      if (!(e instanceof HoldspaceError)) throw e;
    }
    this.onChange();
  }

  /** Publishes a rekey to the current members (13.1), once acknowledged this member's new head. */
  private async rekey(link: NodeLink): Promise<void> {
    const g = this.client.state;
    const head = this.head();
    const { payload } = buildRekey(g, this.self, { histories: this.client.ring.historyFor(g) });
    const entry: Entry = createEntry(this.me.ed25519Seed, { group: this.record.groupId, seq: head.seq + 1n, prev: head.prev, timeMs: BigInt(this.participant.clock()), kind: CONTROL_KIND.rekey, payload });
    try {
      await link.request("publish", new Map<string, CborValue>([["e", entry.bytes], ["b", payload]]));
    } catch (e) {
      if (e instanceof HoldspaceError) return; // stale or unsettled: tried again at the next flush
      throw e;
    }
    await this.acknowledged(entry, payload);
    void carryWelcome(this); // newcomers read the profile and pin at once (17.12); queued, not awaited
  }

  /** A quote (13.6) disclosing a group message this member read, or null if it holds no key or
   * payload for it (it cannot disclose it). */
  disclosure(id: Uint8Array): QuoteContent | null {
    const r = this.client.message(id);
    const payload = this.payloads.get(toHex(id));
    if (r === undefined || r.key === null || payload === undefined) return null;
    return { t: "quote", e: r.entry.bytes, p: payload, k: r.key };
  }

  /** The messages shown: authorised, not deleted. */
  read(): ReadMessage[] {
    return this.client.messages().filter((r) => r.authorised && r.deleted === null);
  }

  view(): ConversationView {
    const g = this.client.state;
    const read = this.read();
    const counts = reactionCounts(read);
    const edited = edits(read);
    const readable = new Map(read.map((r) => [toHex(r.entry.id), r]));
    const member = g.state.members.get(toHex(this.self));
    const epoch = currentEpoch(g);
    const status = this.record.join !== null ? "joining" : member === undefined ? (this.client.head(this.self) === null ? "joining" : "gone") : epoch !== null && this.client.ring.holds(epoch) ? "member" : "waiting";
    const messages: ShownMessage[] = [];
    for (const r of read) {
      const c = r.content;
      if (r.direct || c === null || c.t !== "text" || "unsupported" in c) continue;
      const id = toHex(r.entry.id);
      const role = g.state.members.get(toHex(r.entry.header.a))?.role ?? null;
      const e = edited.get(id);
      let reply: ShownMessage["reply"] = null;
      if (c.re !== undefined) {
        const to = readable.get(toHex(c.re));
        const tc = to?.content;
        if (to === undefined || to.direct || tc === null || tc === undefined || tc.t !== "text" || "unsupported" in tc) reply = { author: null, quote: null, warning: null };
        else {
          const te = edited.get(toHex(c.re));
          const warning = te !== undefined ? te.warning : (tc.cw ?? null);
          reply = { author: to.entry.header.a, quote: warning === null ? quoted(te?.body ?? tc.b) : null, warning };
        }
      }
      messages.push({
        id,
        mine: equalBytes(r.entry.header.a, this.self),
        author: r.entry.header.a,
        role,
        timeMs: Number(r.entry.header.t),
        text: e?.body ?? c.b,
        warning: e !== undefined ? e.warning : (c.cw ?? null),
        reactions: counts.get(id) ?? { heart: 0, hug: 0, "me-too": 0, "thank-you": 0 },
        edited: e !== undefined,
        reply,
      });
    }
    const outbox = this.waiting.map((i) => {
      const c = decodeContent(i.content);
      const words = (c.t === "text" || c.t === "edit") && !("unsupported" in c) ? (c as { b: string }).b : t(OUTBOX_WORDS[c.t] ?? msg("Your reaction"));
      const member = i.to === "line" && i.member !== null ? toHex(i.member) : null;
      const text = member === null ? words : t("Privately, on a private line: {words}", { words });
      return { key: i.key, text, words, error: i.error, member };
    });
    return { status, messages, outbox, pin: currentPin(read, g)?.text ?? null };
  }
}
