/**
 * The rules of spec/protocol.md 12.5: one pass of the control entries in `L` order (the table of
 * rules and effects, revocation), and the findings made over the state a pass ended with.
 *
 * A `Pass` starts from the empty state; entries in the void set are ignored with their void code
 * before any rule is checked. Invariant: `apply` changes the state only for an applied entry, and
 * records every restriction (removal, ban, demotion, leave, revocation) with its position in `L`.
 */
import { toHex } from "./bytes.js";
import type { ControlPayload, HistoryVisibility, Invite, Role, SessionVersion } from "./control.js";
import { joinProofMessage, ROLE_RANK } from "./control.js";
import { verify } from "./crypto.js";
import type { Entry } from "./entry.js";
import type { Bitset, GraphNode, Linearisation } from "./group_graph.js";

/** An entry of `C` as the rules see it. */
export interface ControlNode extends GraphNode {
  readonly entry: Entry;
  readonly payload: ControlPayload;
  readonly seq: bigint;
  /** Its causal past `anc(e)` (slots), itself excluded. */
  readonly anc: Bitset;
}

export const MAX_HOSTS = 32;

export interface Member {
  readonly key: Uint8Array;
  role: Role;
  /** The author of the invite it joined through (null for the creator). */
  readonly admittedBy: string | null;
  /** The join (or genesis) that opened its current membership. */
  readonly join: number;
}

export interface InviteState {
  readonly slot: number;
  readonly author: string;
  readonly payload: Invite;
  readonly t: bigint;
  uses: bigint;
  closedBy: number | null;
}

export interface Restriction {
  readonly of: string;
  /** The entry that restricted (for a revocation, the entry that revoked). */
  readonly entry: number;
  readonly pos: number;
  readonly roleBefore: Role;
  readonly what: "remove" | "ban" | "demote" | "leave" | "revoke";
}

export interface SessionState {
  /** The latest applied version's entry. */
  readonly slot: number;
  readonly author: Uint8Array;
  readonly version: SessionVersion;
  readonly cancelledAt: bigint | null;
}

/** An applied mute (12.5): the target's messages after `cut` dated before `until` are refused. */
export interface MuteState {
  readonly slot: number;
  readonly cut: bigint;
  readonly until: bigint;
}

/** An X25519 key of a pseudonym and the entry whose identity document set it. */
export interface KeyState {
  readonly key: Uint8Array;
  readonly setBy: number;
}

/** The state parts of 12.5, keyed by hex. */
export class GroupStateData {
  readonly members = new Map<string, Member>();
  /** Membership intervals [start, end] (end null while open), in order. */
  readonly intervals = new Map<string, [bigint, bigint | null][]>();
  readonly banned = new Set<string>();
  readonly invites = new Map<string, InviteState>();
  history: HistoryVisibility = "joined";
  meta: Uint8Array | null = null;
  /** Applied rekeys, in `L` order (slots). */
  readonly epochs: number[] = [];
  /** node key (hex) -> node address. */
  readonly hosts = new Map<string, string>();
  /** `${m hex}:${entry id hex}` -> the redaction's slot. */
  readonly redactions = new Map<string, number>();
  readonly erased = new Map<string, bigint>();
  /** session id (hex) -> its latest applied version. */
  readonly sessions = new Map<string, SessionState>();
  /** issuer key (hex) -> the trust entry that listed it (slot). */
  readonly issuers = new Map<string, number>();
  /** target (hex) -> its applied mutes, in `L` order. */
  readonly mutes = new Map<string, MuteState[]>();
  /** target (hex) -> [cut, position in `mutes`] of each applied mute, sorted ascending: the
   * governing mute of an entry in O(log mutes) (`governing`). */
  readonly muteOrder = new Map<string, [bigint, number][]>();
  readonly x25519 = new Map<string, KeyState>();
  /** Restrictions per restricted pseudonym, in `L` order. */
  readonly restrictions = new Map<string, Restriction[]>();
  /** Pseudonyms whose genesis or a join was applied (12.5 finding 3). */
  readonly admitted = new Set<string>();
  /** Joins whose member was revoked (finding 1). */
  readonly revokedJoins = new Set<number>();
  /** Outcome of each entry of `L` in this pass: null (applied) or its code. */
  readonly outcomes = new Map<number, string | null>();
  /** True once a join had the outcome `group.invite_exhausted`. */
  sawExhausted = false;

  /** Applies `mute` to `target` (hex), after every mute applied before it in `L`: kept in `mutes`
   * and indexed by its cut in `muteOrder` (a later mute of an equal cut sorts after the earlier). */
  addMute(target: string, mute: MuteState): void {
    let applied = this.mutes.get(target);
    if (applied === undefined) this.mutes.set(target, (applied = []));
    let order = this.muteOrder.get(target);
    if (order === undefined) this.muteOrder.set(target, (order = []));
    const at = firstAbove(order, mute.cut);
    order.splice(at, 0, [mute.cut, applied.length]);
    applied.push(mute);
  }

  /**
   * The mute governing `target`'s (hex) entry at `seq` (12.6): of its applied mutes whose cut is
   * below `seq`, the one with the greatest cut, and of those the last in `L`; null if none. Found
   * by binary search in `muteOrder`: the last element whose cut is below `seq`.
   */
  governing(target: string, seq: bigint): MuteState | null {
    const order = this.muteOrder.get(target);
    if (order === undefined) return null;
    const at = firstAtOrAbove(order, seq) - 1;
    return at < 0 ? null : this.mutes.get(target)![order[at]![1]]!;
  }
}

/** The index of the first element of `order` (sorted by cut) whose cut is above `cut`. */
function firstAbove(order: readonly [bigint, number][], cut: bigint): number {
  let lo = 0;
  let hi = order.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (order[mid]![0] <= cut) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The index of the first element of `order` (sorted by cut) whose cut is `seq` or above. */
function firstAtOrAbove(order: readonly [bigint, number][], seq: bigint): number {
  let lo = 0;
  let hi = order.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (order[mid]![0] < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** What a pass reads: the entries of `C` by slot, `L`, the group id and the void set. */
export interface PassContext {
  readonly groupId: Uint8Array;
  readonly node: (slot: number) => ControlNode;
  readonly lin: Linearisation;
  readonly voids: ReadonlyMap<number, string>;
}

const rank = (r: Role | undefined): number => (r === undefined ? 0 : ROLE_RANK[r]);

/** One pass of 12.5 over `L` (or a continuation of one, for an entry appended at the end). */
export class Pass {
  readonly s = new GroupStateData();

  constructor(readonly ctx: PassContext) {}

  /** Applies every entry of `L` in order; returns the state. */
  run(): GroupStateData {
    for (const slot of this.ctx.lin.order) this.apply(slot);
    return this.s;
  }

  private node(slot: number): ControlNode {
    return this.ctx.node(slot);
  }

  private role(key: string): Role | undefined {
    return this.s.members.get(key)?.role;
  }

  private may(o: ControlNode, r: Role): boolean {
    return rank(this.role(o.author)) >= rank(r);
  }

  /** unseen(o, X): X's restrictions recorded so far that are not in anc(o). */
  private unseen(o: ControlNode, x: string): Restriction[] {
    return (this.s.restrictions.get(x) ?? []).filter((r) => !o.anc.has(r.entry));
  }

  private restrict(x: string, o: ControlNode, roleBefore: Role, what: Restriction["what"]): void {
    const r: Restriction = { of: x, entry: o.slot, pos: this.ctx.lin.pos[o.slot]!, roleBefore, what };
    const list = this.s.restrictions.get(x);
    if (list === undefined) this.s.restrictions.set(x, [r]);
    else list.push(r);
  }

  private openInterval(x: string, start: bigint): void {
    const list = this.s.intervals.get(x);
    if (list === undefined) this.s.intervals.set(x, [[start, null]]);
    else list.push([start, null]);
  }

  /** Closes X's open interval at `end` (the end is never before the start). */
  private closeInterval(x: string, end: bigint): void {
    const last = this.s.intervals.get(x)?.at(-1);
    if (last !== undefined && last[1] === null) last[1] = end > last[0] ? end : last[0];
  }

  /** Revocation (12.5): members admitted through X's invites (and theirs, and so on) whose join
   * `o` had not seen lose their membership. */
  private revoke(x: string, o: ControlNode): void {
    const queue = [x];
    while (queue.length > 0) {
      const inviter = queue.shift()!;
      for (const [y, m] of [...this.s.members]) {
        if (m.admittedBy !== inviter || o.anc.has(m.join)) continue;
        this.closeInterval(y, this.node(m.join).seq);
        this.restrict(y, o, m.role, "revoke");
        this.s.members.delete(y);
        this.s.revokedJoins.add(m.join);
        queue.push(y);
      }
    }
  }

  /** Ends X's membership by `o` (remove, leave), or lowers its role: a restriction, then revocation. */
  private ended(x: string, o: ControlNode, roleBefore: Role, what: Restriction["what"]): void {
    this.restrict(x, o, roleBefore, what);
    this.revoke(x, o);
  }

  /** Applies entry `slot` (which must be next in `L`); returns its outcome (null: applied). */
  apply(slot: number): string | null {
    const o = this.node(slot);
    const voided = this.ctx.voids.get(slot);
    const outcome = voided ?? this.rule(o);
    this.s.outcomes.set(slot, outcome);
    if (outcome === "group.invite_exhausted" && voided === undefined) this.s.sawExhausted = true;
    return outcome;
  }

  /** The table of 12.5: the first failing rule's code, or null after the effect. */
  private rule(o: ControlNode): string | null {
    const s = this.s;
    const a = o.author;
    const p = o.payload;
    switch (p.kind) {
      case "genesis": {
        s.members.set(a, { key: o.entry.header.a, role: "facilitator", admittedBy: null, join: o.slot });
        s.admitted.add(a);
        this.openInterval(a, 1n);
        s.history = p.history;
        s.x25519.set(a, { key: p.doc.x, setBy: o.slot });
        if (p.home !== null && p.homeKey !== null) this.addHost(p.home, toHex(p.homeKey), false);
        return null;
      }
      case "invite": {
        if (!this.may(o, "facilitator")) return "group.forbidden";
        s.invites.set(toHex(o.entry.id), { slot: o.slot, author: a, payload: p, t: o.t, uses: 0n, closedBy: null });
        return null;
      }
      case "join": {
        const inv = s.invites.get(toHex(p.invite));
        if (inv === undefined) return "group.unknown_invite";
        if (!verify(inv.payload.key, joinProofMessage(this.ctx.groupId, o.entry.header.a, p.invite), p.proof)) return "group.bad_invite_proof";
        if (inv.closedBy !== null) return "group.invite_closed";
        if (!(inv.t <= o.t && o.t <= inv.payload.expires)) return "group.invite_expired";
        if (inv.payload.target !== null && toHex(inv.payload.target) !== a) return "group.invite_not_for_you";
        if (s.banned.has(a)) return "group.banned";
        if (s.members.has(a)) return "group.already_member";
        if (inv.uses >= inv.payload.uses) return "group.invite_exhausted";
        const invNode = this.node(inv.slot);
        if (this.role(inv.author) !== "facilitator" || this.unseen(invNode, inv.author).length > 0) return "group.invite_revoked";
        if (this.unseen(invNode, a).length > 0) return "group.concurrent_restriction";
        inv.uses++;
        s.members.set(a, { key: o.entry.header.a, role: inv.payload.role, admittedBy: inv.author, join: o.slot });
        s.admitted.add(a);
        s.x25519.set(a, { key: p.doc.x, setBy: o.slot });
        this.openInterval(a, o.seq);
        if (p.home !== null && p.homeKey !== null) this.addHost(p.home, toHex(p.homeKey), false);
        return null;
      }
      case "remove": {
        const t = toHex(p.target);
        const target = s.members.get(t);
        if (target === undefined || t === a) return "group.bad_target";
        if (!this.may(o, target.role === "member" ? "moderator" : "facilitator")) return "group.forbidden";
        const start = s.intervals.get(t)!.at(-1)![0];
        this.closeInterval(t, p.cut > start ? p.cut : start);
        s.members.delete(t);
        if (p.ban) s.banned.add(t);
        this.ended(t, o, target.role, p.ban ? "ban" : "remove");
        return null;
      }
      case "role": {
        const t = toHex(p.target);
        const target = s.members.get(t);
        if (target === undefined) return "group.bad_target";
        const raising = rank(p.role) > rank(target.role);
        if (t === a && raising) return "group.self_escalation";
        if (!this.may(o, "facilitator")) return "group.forbidden";
        if (raising && this.unseen(o, t).length > 0) return "group.concurrent_restriction";
        const before = target.role;
        target.role = p.role;
        if (rank(p.role) < rank(before)) this.ended(t, o, before, "demote");
        return null;
      }
      case "leave": {
        const me = s.members.get(a);
        if (me === undefined) return "group.not_member";
        this.closeInterval(a, o.seq);
        s.members.delete(a);
        this.ended(a, o, me.role, "leave");
        return null;
      }
      case "settings": {
        if (!this.may(o, "facilitator")) return "group.forbidden";
        s.history = p.history;
        s.meta = p.meta;
        return null;
      }
      case "host": {
        if (!this.may(o, "facilitator")) return "group.forbidden";
        const key = toHex(p.nodeKey);
        if (!p.add) {
          if (!s.hosts.has(key)) return "group.bad_target";
          s.hosts.delete(key);
          return null;
        }
        if (!s.hosts.has(key) && s.hosts.size >= MAX_HOSTS) return "group.too_many_hosts";
        this.addHost(p.address, key, true);
        return null;
      }
      case "rekey": {
        if (!s.members.has(a)) return "group.not_member";
        const recipients = p.sealed.map(([k]) => toHex(k));
        if (!recipients.includes(a) || !recipients.every((k) => s.members.has(k))) return "group.bad_recipients";
        if (p.history.length > 0 && (s.history === "joined" || !p.history.every(([k]) => s.members.has(toHex(k))))) return "group.bad_recipients";
        s.epochs.push(o.slot);
        if (p.doc !== null) s.x25519.set(a, { key: p.doc.x, setBy: o.slot });
        return null;
      }
      case "redact": {
        if (!s.members.has(a)) return "group.not_member";
        const m = toHex(p.target);
        if (m !== a) {
          const r = this.role(m);
          if (!this.may(o, r === undefined || r === "member" ? "moderator" : "facilitator")) return "group.forbidden";
        }
        const fresh = p.ids.filter((id) => !s.redactions.has(`${m}:${toHex(id)}`));
        if (fresh.length === 0) return "group.no_effect";
        for (const id of fresh) s.redactions.set(`${m}:${toHex(id)}`, o.slot);
        return null;
      }
      case "erase": {
        if (!s.members.has(a)) return "group.not_member";
        if (p.seq >= o.seq) return "group.bad_target";
        if (p.seq <= (s.erased.get(a) ?? 0n)) return "group.no_effect";
        s.erased.set(a, p.seq);
        return null;
      }
      case "session": {
        if (!this.may(o, "facilitator")) return "group.forbidden";
        if (p.replaces === null) {
          s.sessions.set(toHex(o.entry.id), { slot: o.slot, author: o.entry.header.a, version: p, cancelledAt: p.cancelled ? o.t : null });
          return null;
        }
        const id = toHex(p.replaces);
        const earlier = s.sessions.get(id);
        if (earlier === undefined) return "group.bad_target";
        const cancelledAt = earlier.cancelledAt ?? (p.cancelled ? o.t : null);
        s.sessions.set(id, { slot: o.slot, author: o.entry.header.a, version: p, cancelledAt });
        return null;
      }
      case "close": {
        const inv = s.invites.get(toHex(p.invite));
        if (inv === undefined) return "group.bad_target";
        if (!this.may(o, "facilitator") && !(s.members.has(a) && o.t > inv.payload.expires)) return "group.forbidden";
        if (inv.closedBy !== null) return "group.no_effect";
        inv.closedBy = o.slot;
        return null;
      }
      case "mute": {
        const t = toHex(p.target);
        const target = s.members.get(t);
        if (target === undefined || t === a) return "group.bad_target";
        if (!this.may(o, target.role === "member" ? "moderator" : "facilitator")) return "group.forbidden";
        s.addMute(t, { slot: o.slot, cut: p.cut, until: p.until });
        return null;
      }
      case "trust": {
        if (!this.may(o, "facilitator")) return "group.forbidden";
        const k = toHex(p.key);
        if (!p.add) {
          if (!s.issuers.has(k)) return "group.bad_target";
          s.issuers.delete(k);
          return null;
        }
        if (!s.issuers.has(k)) s.issuers.set(k, o.slot);
        return null;
      }
    }
  }

  /** Adds a node to the hosts (12.7). A join or genesis adds only a new key, below 32 hosts; a
   * facilitator's host entry also corrects the address of a listed one. */
  private addHost(address: string, key: string, replace: boolean): void {
    if (this.s.hosts.has(key)) {
      if (replace) this.s.hosts.set(key, address);
      return;
    }
    if (this.s.hosts.size < MAX_HOSTS) this.s.hosts.set(key, address);
  }
}

/**
 * The findings of 12.5 over the state a pass ended with: entry slot -> void code. An entry found
 * by several findings takes the code of the last of them in the order 1, 2, 3, 4.
 */
export function findings(ctx: PassContext, s: GroupStateData): Map<number, string> {
  const found = new Map<number, string>();
  const { node, lin } = ctx;
  // 1. Revoked joins.
  for (const j of s.revokedJoins) found.set(j, "group.invite_revoked");
  // 2. Concurrent acts of a restricted author.
  const senior = (author: string): number => lin.seniority.get(author) ?? Infinity;
  for (const slot of lin.order) {
    const o = node(slot);
    const rs = s.restrictions.get(o.author);
    if (rs === undefined) continue;
    for (const r of rs) {
      if (r.entry === slot) continue;
      const re = node(r.entry);
      if (o.anc.has(r.entry) || re.anc.has(slot)) continue;
      const p = o.payload;
      if ((p.kind === "remove" || p.kind === "role") && toHex(p.target) === re.author && senior(o.author) < senior(re.author)) {
        found.set(r.entry, "group.concurrent_restriction");
        continue;
      }
      found.set(slot, "group.concurrent_restriction");
      break;
    }
  }
  // 3. Displaced joins. A join is acknowledged if some entry of another admitted author has it
  // in its causal past: that author's last control entry in `C` has them all.
  const last = new Map<string, ControlNode>();
  for (const slot of lin.order) last.set(node(slot).author, node(slot));
  const acknowledged = (j: ControlNode): boolean => {
    for (const a of s.admitted) {
      if (a === j.author) continue;
      const e = last.get(a);
      if (e !== undefined && e.anc.has(j.slot)) return true;
    }
    return false;
  };
  const joinsByInvite = new Map<string, ControlNode[]>();
  for (const slot of lin.order) {
    const j = node(slot);
    if (j.payload.kind !== "join") continue;
    const key = toHex(j.payload.invite);
    const list = joinsByInvite.get(key);
    if (list === undefined) joinsByInvite.set(key, [j]);
    else list.push(j);
  }
  for (const joins of joinsByInvite.values()) {
    if (!joins.some((j) => s.outcomes.get(j.slot) === "group.invite_exhausted" && acknowledged(j))) continue;
    for (const j of joins) if (s.outcomes.get(j.slot) === null && !acknowledged(j)) found.set(j.slot, "group.invite_exhausted");
  }
  // 4. Joins through an invite closed in the pass that the close had not seen.
  for (const [inviteId, joins] of joinsByInvite) {
    const closedBy = s.invites.get(inviteId)?.closedBy;
    if (closedBy === null || closedBy === undefined) continue;
    const c = node(closedBy);
    for (const j of joins) if (s.outcomes.get(j.slot) === null && !c.anc.has(j.slot)) found.set(j.slot, "group.invite_closed");
  }
  return found;
}
