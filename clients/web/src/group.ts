/**
 * A group's state from its control entries (spec/protocol.md 12.4-12.7, 12.8), taking entries
 * one at a time.
 *
 * Invariant: the state equals that of 12.5 computed afresh over the set of control entries held,
 * whatever order they arrived in. Most entries are applied at the end of `L` without recomputing
 * anything (12.8): one that saw every head, or a newcomer's join placed last, while that provably
 * changes no void (nothing is void, or it is not a join and no join was ever exhausted; it revokes
 * nothing; it makes no join displaced). Anything else recomputes `L` and the passes once.
 *
 * Preconditions of `add`: the entry passed 6.2 (`decodeEntry`) and log placement (7.1). Message
 * entries may be given too (their payloads are not needed): they change nothing in the state, but
 * the admission queries of 12.6 (`checkCut`, `exceedsStorageBound`) read how far each log goes.
 */
import { compareBytes, equalBytes, toHex } from "./bytes.js";
import { type ControlPayload, decodeControlPayload, isControlKind, MESSAGE_KIND } from "./control.js";
import { decodeEntry, type Entry, groupOf, isGenesis } from "./entry.js";
import { fail, HoldspaceError } from "./errors.js";
import { Bitset, linearise, type Linearisation } from "./group_graph.js";
import { type ControlNode, findings, type GroupStateData, type MuteState, Pass, type PassContext } from "./group_rules.js";
import { verifyForkProof } from "./log.js";

/** A control entry held (in `C`, waiting for a dependency, or at a forked position). */
interface Held {
  readonly slot: number;
  readonly entry: Entry;
  readonly payload: ControlPayload;
  readonly author: string;
  node: ControlNode | null;
}

/** What became of an entry given to `add`. */
export type AddResult =
  | { readonly status: "applied" }
  | { readonly status: "ignored"; readonly code: string }
  | { readonly status: "pending" }
  | { readonly status: "message" }
  | { readonly status: "duplicate" };

/** Counters of how entries were applied (for tests and benchmarks). */
export interface GroupStats {
  /** Entries applied at the end of `L` without recomputation. */
  incremental: number;
  /** Full computations (linearisation and passes). */
  full: number;
  /** Times a pending entry was tried for `C` (at most once per entry and per parent it lacked). */
  tries: number;
}

/** The state of one group, as a participant's client computes it (14.2 rule 5). */
export class GroupState {
  private readonly held: Held[] = [];
  private readonly byId = new Map<string, number>();
  /** Control entries per author, in (seq, id) order. */
  private readonly byAuthor = new Map<string, number[]>();
  /** Greatest seq seen per author, over every kind. */
  private readonly logHeads = new Map<string, bigint>();
  /** Proven equivocators: author -> smallest forked seq. */
  private readonly forked = new Map<string, bigint>();
  /** Ids known to sit at forked positions (held or not): id -> author. */
  private readonly forkedIds = new Map<string, string>();
  private readonly proofs: Uint8Array[] = [];
  /** Slots held but not in `C` and not forked: waiting for a dependency. */
  private readonly pending = new Set<number>();
  /**
   * Each pending slot, once tried, under the one thing it waits for: `i<id hex>` (an entry not
   * held) or `s<slot>` (a held entry not in `C` yet). It is tried again only when that arrives or
   * is linked, so a sender's orphans cost once each, however many (never a rescan of the set).
   */
  private readonly waiting = new Map<string, number[]>();

  private lin: Linearisation = { order: [], pos: [], seniority: new Map(), first: [] };
  private voids = new Map<number, string>();
  private pass: Pass;
  private heads = new Set<number>();
  /** Joins of `C` that no other admitted author has in its causal past yet. */
  private unacked = new Set<number>();
  /** Joins of `C` per invite id. */
  private joinsByInvite = new Map<string, number[]>();
  /** Invites (hex) through which some join was exhausted in the last pass. */
  private exhaustedInvites = new Set<string>();
  /** True once any pass gave a join `group.invite_exhausted`. */
  private sawExhausted = false;

  readonly stats: GroupStats = { incremental: 0, full: 0, tries: 0 };

  constructor(readonly groupId: Uint8Array) {
    this.pass = new Pass(this.context());
  }

  private context(): PassContext {
    return { groupId: this.groupId, node: (slot) => this.held[slot]!.node!, lin: this.lin, voids: this.voids };
  }

  // -------------------------------------------------------------------------------------------
  // Input

  /**
   * Takes one verified entry of the group (see the preconditions above). A control entry's
   * payload is decoded first (12.3; `group.malformed_payload`: the entry is refused and nothing is
   * held); an entry of another group is `group.bad_genesis`. Returns what became of the entry;
   * the outcomes of others may change too (`outcome`).
   */
  add(entry: Entry, payload: Uint8Array | null): AddResult {
    const h = entry.header;
    if (!equalBytes(groupOf(entry), this.groupId)) fail("group.bad_genesis", "the entry belongs to another group");
    if (isGenesis(h) !== (h.k === 1n)) fail("group.bad_genesis", "a genesis entry must have seq 1 and g all zero");
    const author = toHex(h.a);
    if (this.byId.has(toHex(entry.id))) return { status: "duplicate" };
    const head = this.logHeads.get(author) ?? 0n;
    if (h.s > head) this.logHeads.set(author, h.s);
    if (!isControlKind(h.k)) return { status: "message" };
    if (payload === null) fail("proto.payload_required", "a control entry's payload is needed to compute the group state");
    const decoded = decodeControlPayload(h.k, payload, h.a);
    const slot = this.held.length;
    this.held.push({ slot, entry, payload: decoded, author, node: null });
    this.byId.set(toHex(entry.id), slot);
    let mine = this.byAuthor.get(author);
    if (mine === undefined) this.byAuthor.set(author, (mine = []));
    mine.splice(this.positionIn(mine, entry), 0, slot);
    if (!this.isForked(this.held[slot]!)) this.pending.add(slot);
    this.settle([slot, ...this.wake(`i${toHex(entry.id)}`)]);
    return this.resultOf(slot);
  }

  /**
   * Takes a fork proof (7.2) against an author of this group (`log.bad_fork_proof` if it does not
   * verify or is of another group): from the smallest forked seq on, that author's control
   * entries are left out (`group.forked`), and references to them count as references to its last
   * control entry before (12.5, "Forked positions"). The state is computed afresh.
   */
  addForkProof(bytes: Uint8Array): void {
    const proof = verifyForkProof(bytes);
    if (!equalBytes(proof.group, this.groupId)) fail("log.bad_fork_proof", "the fork proof is of another group");
    const author = toHex(proof.author);
    const f = this.forked.get(author);
    if (f === undefined || proof.seq < f) this.forked.set(author, proof.seq);
    this.forkedIds.set(toHex(proof.a.id), author);
    this.forkedIds.set(toHex(proof.b.id), author);
    this.proofs.push(bytes);
    this.recompute();
  }

  /**
   * Takes a header at a forked position that this client does not hold (the `branch` of a node's
   * `state` answer, 14.2): a reference to it is then read as 12.5 says. It must be a valid header
   * (6.2 without clock and payload) of this group by a proven author at or past its forked seq;
   * otherwise it is ignored and false is returned.
   */
  addBranchHeader(bytes: Uint8Array): boolean {
    let e: Entry;
    try {
      e = decodeEntry(bytes);
    } catch (err) {
      if (err instanceof HoldspaceError) return false;
      throw err;
    }
    const author = toHex(e.header.a);
    const f = this.forked.get(author);
    if (!equalBytes(groupOf(e), this.groupId) || f === undefined || e.header.s < f) return false;
    this.forkedIds.set(toHex(e.id), author);
    this.recompute();
    return true;
  }

  private resultOf(slot: number): AddResult {
    const h = this.held[slot]!;
    if (h.node === null) {
      const code = this.outcomeOfHeld(h);
      return code === "group.forked" ? { status: "ignored", code } : { status: "pending" };
    }
    const code = this.pass.s.outcomes.get(slot) ?? null;
    return code === null ? { status: "applied" } : { status: "ignored", code };
  }

  // -------------------------------------------------------------------------------------------
  // Dependencies

  /** Where `e` goes in an author's list, by (seq, id): binary search (the end, in log order). */
  private positionIn(list: readonly number[], e: Entry): number {
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const m = this.held[list[mid]!]!.entry;
      const before = m.header.s < e.header.s || (m.header.s === e.header.s && compareBytes(m.id, e.id) < 0);
      if (before) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The author's control entry before `h` in (seq, id) order (12.4's edges), or undefined. */
  private previous(h: Held): number | undefined {
    const mine = this.byAuthor.get(h.author)!;
    const i = this.positionIn(mine, h.entry);
    return i > 0 ? mine[i - 1] : undefined;
  }

  private isForked(h: Held): boolean {
    const f = this.forked.get(h.author);
    return f !== undefined && h.entry.header.s >= f;
  }

  /** X's last held control entry with seq below its forked seq, or null (12.5). */
  private beforeFork(author: string): number | null {
    const f = this.forked.get(author)!;
    let best: number | null = null;
    for (const slot of this.byAuthor.get(author) ?? []) if (this.held[slot]!.entry.header.s < f) best = slot;
    return best;
  }

  /** The entry's parents in `C` (resolved `d` and its author's previous control entry), or null
   * while one of them is not in `C` or the cut rule holds a removal back. */
  /** `h`'s parents in `C`, or the first thing it waits for (a key of `waiting`). */
  private parentsOf(h: Held): number[] | string {
    const parents = new Set<number>();
    let blocker = "";
    const refer = (slot: number | null): boolean => {
      if (slot === null) return true;
      const p = this.held[slot]!;
      if (this.isForked(p)) return refer(this.beforeFork(p.author));
      if (p.node === null) {
        blocker = `s${slot}`;
        return false;
      }
      parents.add(slot);
      return true;
    };
    const p = h.payload;
    if (p.kind !== "genesis") {
      for (const d of p.deps) {
        const key = toHex(d);
        const slot = this.byId.get(key);
        if (slot !== undefined) {
          if (!refer(slot)) return blocker;
        } else {
          const author = this.forkedIds.get(key);
          if (author === undefined) return `i${key}`;
          if (!refer(this.beforeFork(author))) return blocker;
        }
      }
    }
    const prev = this.previous(h);
    if (prev !== undefined && !refer(prev)) return blocker;
    return [...parents];
  }

  /** The slots that waited for `key`, no longer waiting for it. */
  private wake(key: string): number[] {
    const woken = this.waiting.get(key);
    if (woken === undefined) return [];
    this.waiting.delete(key);
    return woken;
  }

  private makeNode(h: Held, parents: number[]): ControlNode {
    const anc = new Bitset(this.held.length);
    for (const p of parents) {
      anc.add(p);
      anc.or(this.held[p]!.node!.anc);
    }
    const e = h.entry;
    return { slot: h.slot, author: h.author, t: e.header.t, id: e.id, parents, entry: e, payload: h.payload, seq: e.header.s, anc };
  }

  /**
   * Moves every pending entry whose parents are now in `C` into `C`, applying each at the end of
   * `L` when 12.8 allows it, or computing the state afresh once at the end otherwise.
   */
  private settle(tried: number[]): void {
    let dirty = false;
    this.linkPending(tried, (node) => {
      if (!dirty && !this.appendAtEnd(node)) dirty = true;
    });
    if (dirty) this.recompute();
  }

  /**
   * Tries the pending slots `tried` (in order, then those each newly linked one wakes): a slot
   * whose parents are all in `C` gets its node; any other waits, in `waiting`, for what it lacks.
   * Every slot that can be linked is linked, as by a sweep of the whole pending set, at a cost of
   * one try per slot and per parent it waited for. `linked` sees each new node in the order made.
   */
  private linkPending(tried: readonly number[], linked?: (node: ControlNode) => void): void {
    const queue = [...tried];
    for (let next = 0; next < queue.length; next++) {
      const slot = queue[next]!;
      if (!this.pending.has(slot)) continue;
      const h = this.held[slot]!;
      this.stats.tries++;
      const parents = this.parentsOf(h);
      if (typeof parents === "string") {
        const waiters = this.waiting.get(parents);
        if (waiters === undefined) this.waiting.set(parents, [slot]);
        else waiters.push(slot);
        continue;
      }
      this.pending.delete(slot);
      h.node = this.makeNode(h, parents);
      linked?.(h.node);
      queue.push(...this.wake(`s${slot}`));
    }
  }

  // -------------------------------------------------------------------------------------------
  // Incremental application (12.8)

  /** True iff `n` would be last in `L` if `L` were computed afresh with it. */
  private isLast(n: ControlNode): boolean {
    if (this.lin.order.length === 0) return n.payload.kind === "genesis";
    let sawAll = true;
    for (const h of this.heads) if (!n.anc.has(h)) sawAll = false;
    if (sawAll) return true;
    // A newcomer's join: ready once its parents are placed, then placed after every senior entry
    // and every newcomer entry of smaller (t, id) placed after that.
    if (n.payload.kind !== "join" || this.lin.seniority.has(n.author)) return false;
    let ready = -1;
    for (const p of n.parents) ready = Math.max(ready, this.lin.pos[p]!);
    for (let i = this.lin.order.length - 1; i > ready; i--) {
      if (!this.lin.first[i]) continue;
      const o = this.held[this.lin.order[i]!]!.node!;
      if (o.t > n.t || (o.t === n.t && compareBytes(o.id, n.id) > 0)) return false;
    }
    return true;
  }

  /** Applies `n` at the end of `L` if 12.8 allows it; false if the state must be computed afresh. */
  private appendAtEnd(n: ControlNode): boolean {
    const isJoin = n.payload.kind === "join";
    if (!(this.voids.size === 0 || (!isJoin && !this.sawExhausted))) return false;
    if (!this.isLast(n)) return false;
    const s = this.pass.s;
    const revokedBefore = s.revokedJoins.size;
    const lin = this.lin;
    lin.pos[n.slot] = lin.order.length;
    const first = !lin.seniority.has(n.author);
    if (first) lin.seniority.set(n.author, lin.order.length);
    lin.first.push(first);
    lin.order.push(n.slot);
    const outcome = this.pass.apply(n.slot);
    for (const p of n.parents) this.heads.delete(p);
    this.heads.add(n.slot);
    // An entry that saw every head revokes nothing (every join is in its causal past), nor does a
    // newcomer's join: this guard cannot fire, and would only make the computation afresh.
    if (s.revokedJoins.size !== revokedBefore) return false;
    if (s.sawExhausted) this.sawExhausted = true;
    // Acknowledgements (12.5 finding 3): an admitted author's entry acknowledges the joins of
    // others in its causal past. (An author admitted now for the first time acknowledges through
    // its earlier entries no more than through this one, which saw them: their pasts are in its own.)
    if (s.admitted.has(n.author))
      for (const j of [...this.unacked]) if (this.held[j]!.author !== n.author && n.anc.has(j)) this.unacked.delete(j);
    if (n.payload.kind === "join") {
      this.unacked.add(n.slot);
      const key = toHex(n.payload.invite);
      const list = this.joinsByInvite.get(key);
      if (list === undefined) this.joinsByInvite.set(key, [n.slot]);
      else list.push(n.slot);
      if (outcome === "group.invite_exhausted") this.exhaustedInvites.add(key);
    }
    if (this.displaces()) return false;
    this.stats.incremental++;
    return true;
  }

  /** True iff some invite has an acknowledged exhausted join and an unacknowledged applied one. */
  private displaces(): boolean {
    const outcomes = this.pass.s.outcomes;
    for (const key of this.exhaustedInvites) {
      const joins = this.joinsByInvite.get(key) ?? [];
      const ackExhausted = joins.some((j) => outcomes.get(j) === "group.invite_exhausted" && !this.unacked.has(j));
      if (ackExhausted && joins.some((j) => outcomes.get(j) === null && this.unacked.has(j))) return true;
    }
    return false;
  }

  // -------------------------------------------------------------------------------------------
  // Computing afresh (12.4, 12.5)

  /** Computes the state afresh: `C` (forks and references resolved again), `L`, and the passes. */
  recompute(): void {
    this.stats.full++;
    this.pending.clear();
    this.waiting.clear();
    for (const h of this.held) {
      h.node = null;
      if (!this.isForked(h)) this.pending.add(h.slot);
    }
    this.linkPending([...this.pending]);
    const inC = this.held.filter((h) => h.node !== null).map((h) => h.node!);
    this.lin = linearise(inC);
    this.voids = new Map();
    this.sawExhausted = false;
    for (;;) {
      this.pass = new Pass(this.context());
      const s = this.pass.run();
      if (s.sawExhausted) this.sawExhausted = true;
      let added = false;
      for (const [slot, code] of findings(this.pass.ctx, s)) {
        if (this.voids.has(slot)) continue;
        this.voids.set(slot, code);
        added = true;
      }
      if (!added) break;
    }
    this.rebuildIndexes(inC);
  }

  private rebuildIndexes(inC: ControlNode[]): void {
    const s = this.pass.s;
    this.heads = new Set(inC.map((n) => n.slot));
    for (const n of inC) for (const p of n.parents) this.heads.delete(p);
    this.joinsByInvite = new Map();
    this.exhaustedInvites = new Set();
    this.unacked = new Set();
    const last = new Map<string, ControlNode>();
    for (const slot of this.lin.order) last.set(this.held[slot]!.author, this.held[slot]!.node!);
    for (const slot of this.lin.order) {
      const n = this.held[slot]!.node!;
      if (n.payload.kind !== "join") continue;
      const key = toHex(n.payload.invite);
      const list = this.joinsByInvite.get(key);
      if (list === undefined) this.joinsByInvite.set(key, [slot]);
      else list.push(slot);
      if (s.outcomes.get(slot) === "group.invite_exhausted") this.exhaustedInvites.add(key);
      let acked = false;
      for (const a of s.admitted) {
        if (a === n.author) continue;
        if (last.get(a)?.anc.has(slot)) acked = true;
      }
      if (!acked) this.unacked.add(slot);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Admission rules of 12.6 that a host applies before storing (queries: nothing changes)

  /**
   * 12.6 step 1 for a control entry not yet held, in order: its payload decodes (12.3,
   * `group.malformed_payload`); a pseudonym's first join (seq 1) names its invite and nothing else
   * in `d` (`group.bad_deps`); every entry `d` names is held in `C` (`group.missing_dependency`);
   * no entry `d` names is in the causal past of another it names, or of the author's previous
   * control entry (`group.bad_deps`). References to forked positions are left out of the test.
   */
  checkDeps(entry: Entry, payload: Uint8Array): void {
    const h = entry.header;
    const p = decodeControlPayload(h.k, payload, h.a);
    if (p.kind === "genesis") return;
    if (p.kind === "join" && h.s === 1n && !(p.deps.length === 1 && equalBytes(p.deps[0]!, p.invite)))
      fail("group.bad_deps", "a first join names its invite and nothing else");
    const named: number[] = [];
    for (const d of p.deps) {
      const key = toHex(d);
      const slot = this.byId.get(key);
      if (slot !== undefined && this.isForked(this.held[slot]!)) continue;
      if (slot === undefined) {
        if (this.forkedIds.has(key)) continue;
        fail("group.missing_dependency", "d names a control entry this group does not hold (yet)");
      }
      if (this.held[slot]!.node === null) fail("group.missing_dependency", "d names a control entry still waiting for its own");
      named.push(slot);
    }
    const past = new Bitset(this.held.length);
    for (const slot of named) past.or(this.held[slot]!.node!.anc);
    const author = toHex(h.a);
    const mine = this.byAuthor.get(author) ?? [];
    const previous = mine[this.positionIn(mine, entry) - 1];
    if (previous !== undefined && this.held[previous]!.node !== null) past.or(this.held[previous]!.node!.anc);
    if (named.some((slot) => past.has(slot))) fail("group.bad_deps", "d names an entry in the causal past of another it names, or of the author's previous control entry");
  }

  /**
   * The cut rule of 12.6 step 1 for a removal not yet held: its target's log (every kind) must
   * reach the cut `c` (or the target's forked seq, if it is a proven equivocator and that is
   * lower). A peer's removal that does not is held until it does (`group.missing_dependency`); a
   * client's is refused (`group.bad_cut`), since its cut must be an entry the remover saw. Other
   * entries pass. (This is an admission rule of the host: the state of 12.5 does not depend on it.)
   */
  checkCut(entry: Entry, payload: Uint8Array, fromClient: boolean): void {
    const h = entry.header;
    if (h.k !== 4n) return;
    const p = decodeControlPayload(h.k, payload, h.a);
    if (p.kind !== "remove") return;
    const target = toHex(p.target);
    const f = this.forked.get(target);
    const need = f !== undefined && f < p.cut ? f : p.cut;
    if ((this.logHeads.get(target) ?? 0n) >= need) return;
    if (fromClient) fail("group.bad_cut", "the removal's cut is beyond the last entry of its target that this node holds");
    fail("group.missing_dependency", "the removal's cut is beyond the target's log held here: it waits for the target's entries");
  }

  /** Joins held per invite (for the storage bound). */
  private joinsThrough(invite: Uint8Array): number {
    let n = 0;
    for (const h of this.held) if (h.payload.kind === "join" && equalBytes(h.payload.invite, invite)) n++;
    return n;
  }

  /**
   * The storage bound of 12.6 step 4, for an entry a peer offers that would take no effect: true
   * (refuse it with `group.storage_bound`, store nothing, try again later) if it is a join through
   * an invite that already has 32 times its `u` joins held, or an entry of a pseudonym outside its
   * membership more than 64 seqs past the end of its last interval before it (or past its first
   * join, if it never was a member). An entry inside a membership interval is never bound.
   */
  exceedsStorageBound(entry: Entry, payload: Uint8Array | null): boolean {
    const h = entry.header;
    const author = toHex(h.a);
    if (h.k === 3n && payload !== null) {
      const p = decodeControlPayload(h.k, payload, h.a);
      const inviteSlot = p.kind === "join" ? this.byId.get(toHex(p.invite)) : undefined;
      const invite = inviteSlot === undefined ? undefined : this.held[inviteSlot]!.payload;
      if (p.kind === "join" && invite?.kind === "invite" && BigInt(this.joinsThrough(p.invite)) >= 32n * invite.uses) return true;
    }
    const intervals = this.pass.s.intervals.get(author) ?? [];
    if (intervals.some(([start, end]) => h.s >= start && (end === null || h.s <= end))) return false;
    let base: bigint | null = null;
    for (const [, end] of intervals) if (end !== null && end < h.s && (base === null || end > base)) base = end;
    if (base === null) {
      const firstJoin = (this.byAuthor.get(author) ?? []).map((slot) => this.held[slot]!).find((x) => x.payload.kind === "join");
      if (firstJoin === undefined) return false; // not a member at all: 12.6 step 2 refuses it
      base = firstJoin.entry.header.s;
    }
    return h.s - base > 64n;
  }

  // -------------------------------------------------------------------------------------------
  // Reading the state

  /** The state parts of 12.5 (read only). */
  get state(): GroupStateData {
    return this.pass.s;
  }

  private outcomeOfHeld(h: Held): string | null {
    if (this.isForked(h)) return "group.forked";
    if (h.node === null) return "group.missing_dependency";
    return this.pass.s.outcomes.get(h.slot) ?? null;
  }

  /** The outcome of a held control entry: null if applied, else its code (`group.forked` at a
   * forked position, `group.missing_dependency` while it waits); undefined if not held. */
  outcome(id: Uint8Array): string | null | undefined {
    const slot = this.byId.get(toHex(id));
    return slot === undefined ? undefined : this.outcomeOfHeld(this.held[slot]!);
  }

  /** The linearisation `L`, as entry ids. */
  order(): Uint8Array[] {
    return this.lin.order.map((slot) => this.held[slot]!.entry.id);
  }

  /** The heads of the control DAG (12.4), sorted ascending. */
  headIds(): Uint8Array[] {
    return [...this.heads].map((slot) => this.held[slot]!.entry.id).sort(compareBytes);
  }

  /** The applied rekeys (epoch ids) in `L` order. */
  epochIds(): Uint8Array[] {
    return this.pass.s.epochs.map((slot) => this.held[slot]!.entry.id);
  }

  /** The entry id of a held control entry's slot (for state parts that name entries by slot). */
  idOfSlot(slot: number): Uint8Array {
    return this.held[slot]!.entry.id;
  }

  /** The held control entry of a slot. */
  entryOfSlot(slot: number): Entry {
    return this.held[slot]!.entry;
  }

  /** The decoded payload of a held control entry's slot. */
  payloadOfSlot(slot: number): ControlPayload {
    return this.held[slot]!.payload;
  }

  /** The slot of a held control entry, or undefined. */
  slotOf(id: Uint8Array): number | undefined {
    return this.byId.get(toHex(id));
  }

  /** True iff the control entry at slot `earlier` is in the causal past of the one at `later`
   * (both in `C`). */
  saw(later: number, earlier: number): boolean {
    return this.held[later]?.node?.anc.has(earlier) ?? false;
  }

  /** The fork proofs taken, as given. */
  forkProofs(): readonly Uint8Array[] {
    return this.proofs;
  }

  /** The mute governing `author`'s entry at `seq` (12.6): of its applied mutes whose cut is below
   * `seq`, the one with the greatest cut, the last in `L` among equals; null if none. */
  governingMute(author: Uint8Array, seq: bigint): MuteState | null {
    return this.pass.s.governing(toHex(author), seq); // O(log mutes), by the index of the cuts
  }

  /** When `author`'s mute ends (ms), for a group message it writes next at `nowMs`; null if it is
   * not muted then (its governing mute past every seq has ended, or there is none). */
  mutedUntil(author: Uint8Array, nowMs: bigint): bigint | null {
    const m = this.governingMute(author, 1n << 64n);
    return m !== null && nowMs < m.until ? m.until : null;
  }

  /** True iff `entry` is a group message (kind `message`) its author may not post: its governing
   * mute ends after the entry's own date `t` (12.6). Direct messages and control entries never are. */
  isMuted(entry: Entry): boolean {
    if (entry.header.k !== MESSAGE_KIND) return false;
    const m = this.governingMute(entry.header.a, entry.header.s);
    return m !== null && entry.header.t < m.until;
  }

  /** True iff `author`'s entry at `seq` lies in one of its membership intervals (12.6). */
  isAuthorised(author: Uint8Array, seq: bigint): boolean {
    for (const [start, end] of this.pass.s.intervals.get(toHex(author)) ?? []) if (seq > start && (end === null || seq <= end)) return true;
    return false;
  }
}
