"""Group state as a pure function of a set of control entries (spec "Groups", section 12).

    state = compute_state(genesis, control_entries)

Invariants (each is tested with hypothesis and adversarially):

* Determinism: the result depends only on the *set* of entries, never on arrival order. Control
  entries form a DAG (``"d"`` references plus each author's own log order); the DAG is linearised by
  Kahn's algorithm taking, among the ready entries, the most senior author's (earliest first entry)
  and then the smallest id; operations are applied in that order, in passes until nothing new is void.
* No state resets: an operation that would give a pseudonym membership or a higher role (a join, a
  promotion) is ignored while a removal, ban or demotion of that pseudonym exists that is *not in the
  causal past of the entitled act*: the promotion itself, or for a join the invite it redeems. Only
  someone entitled who has seen the restriction can lift it; the removed party never can.
* A restriction cannot be out-argued: every act of an author concurrent with a restriction of that
  author is void, whatever ``"d"`` it claims; only a more senior author restricting back in the same
  race prevails. Of two facilitators who remove each other concurrently, the senior stands.
* A used invite cannot be taken over: a join nobody else has seen cannot displace an acknowledged join
  of the same invite; a join racing with its inviter's loss of power is void, with everything after it.
* Entries by a pseudonym are authorised only inside its membership intervals: from its join (or the
  genesis) up to its leave, or up to the *cut* a removal names (the last of its entries the remover
  accepts).
* A mute stops group messages only: a ``message`` entry of a muted pseudonym past the mute's cut and
  dated before its end is not authorised (``muted_at``); control entries and direct messages are not
  affected, and a mute is not a restriction (it voids nothing).
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, field
from itertools import pairwise

from holdspace.protocol import crypto, kinds
from holdspace.protocol import entry as entry_module
from holdspace.protocol.address import NodeAddress
from holdspace.protocol.entry import Entry
from holdspace.protocol.errors import GroupError
from holdspace.protocol.forks import FORKED, Forks, plan
from holdspace.protocol.payloads import (
    FACILITATOR,
    HISTORY_FROM_JOIN,
    MAX_DEPS,
    MEMBER,
    MODERATOR,
    RANK,
    Close,
    ControlPayload,
    Erase,
    Genesis,
    History,
    Host,
    Invite,
    Join,
    Leave,
    Mute,
    Redact,
    Rekey,
    Remove,
    RoleChange,
    Session,
    Settings,
    Trust,
    decode_payload,
    join_proof_message,
)

MAX_GROUP_HOSTS = 32  # host nodes a group lists at most (spec 12.7)
GENESIS_GROUP = entry_module.GENESIS_GROUP  # "g" of a genesis: the group id is not known until it is signed


def group_id_of(entry: Entry) -> bytes:
    """The group an entry belongs to: its own id for a genesis, else its ``g``."""
    return entry.log_group


def check_genesis(entry: Entry) -> Genesis:
    if entry.kind != kinds.GENESIS or entry.group != GENESIS_GROUP or entry.seq != 1:
        raise GroupError("group.bad_genesis", "a genesis entry has kind genesis, g = 32 zero bytes and s = 1")
    if entry.payload is None:
        raise GroupError("group.malformed_payload", "a genesis entry needs its payload")
    payload = decode_payload(kinds.GENESIS, entry.payload, entry.author)
    assert isinstance(payload, Genesis)
    return payload


def check_belongs(entry: Entry, group_id: bytes) -> None:
    """``group.bad_genesis`` unless ``entry`` is a non-genesis entry of ``group_id``."""
    if entry.kind == kinds.GENESIS or entry.group != group_id:
        raise GroupError("group.bad_genesis", "the entry does not belong to this group")


def inside_intervals(intervals: Iterable[tuple[int, int | None]], seq: int) -> bool:
    """Whether ``seq`` falls inside one of the membership ``intervals`` ``(start, end or None)``: after
    the entry that opened it, up to and including its end."""
    return any(start < seq and (end is None or seq <= end) for start, end in intervals)


@dataclass(slots=True)
class Member:
    key: bytes
    role: str
    x25519: bytes
    since_seq: int  # seq of the join (or genesis) that opened the current membership
    admitted_by: tuple[bytes, bytes] | None = None  # (join entry id, inviter key); None for the creator
    key_set_by: bytes = b""  # the entry (genesis, join or rekey) whose identity document gave x25519
    joined_ms: int = 0  # the signed time of the join (or genesis) that opened the current membership


@dataclass(frozen=True, slots=True)
class Restriction:
    """A removal, ban, demotion, leave or revocation of a pseudonym."""

    position: int  # in the linearisation
    entry_id: bytes
    role_before: str
    reason: str  # "removed", "banned", "demoted", "left"


@dataclass(slots=True)
class InviteState:
    entry_id: bytes
    author: bytes
    invite: Invite
    uses: int = 0
    closed_by: bytes | None = None  # the applied close entry (spec 12.5), if any


@dataclass(frozen=True, slots=True)
class Epoch:
    entry_id: bytes  # the rekey that started it: messages name their epoch by this id
    number: int  # 1, 2, 3... in linearisation order
    author: bytes
    recipients: frozenset[bytes]
    stale: bool = False  # sealed to an X25519 key its author had not seen replaced: never clean
    started_ms: int = 0  # the signed time of the rekey that started it (13.1: the window of "last N days")


@dataclass(frozen=True, slots=True)
class ScheduledSession:
    """A session as its latest applied version describes it. ``session_id`` is its first entry's id."""

    session_id: bytes
    entry_id: bytes  # the latest applied version (the one whose details to show)
    author: bytes
    spec: Session
    cancelled_at_ms: int | None  # the cancelling entry's timestamp: no occurrence starts after it


@dataclass(frozen=True, slots=True)
class MuteState:
    """An applied mute (spec 12.5): the target's entries after ``cut`` dated before ``until_ms``."""

    entry_id: bytes
    author: bytes
    cut: int
    until_ms: int


@dataclass(slots=True)
class GroupState:
    group_id: bytes
    creator: bytes
    history: History
    members: dict[bytes, Member] = field(default_factory=dict)
    intervals: dict[bytes, list[tuple[int, int | None]]] = field(default_factory=dict)
    restrictions: dict[bytes, list[Restriction]] = field(default_factory=dict)  # per key, in L order
    banned: set[bytes] = field(default_factory=set)
    invites: dict[bytes, InviteState] = field(default_factory=dict)
    x25519: dict[bytes, bytes] = field(default_factory=dict)
    meta: bytes | None = None
    epochs: list[Epoch] = field(default_factory=list)
    order: list[bytes] = field(default_factory=list)  # the linearisation, by entry id
    outcomes: dict[bytes, str | None] = field(default_factory=dict)  # None: applied; else the code
    head_set: set[bytes] = field(default_factory=set)  # the heads (12.4); ``heads`` is them in byte order
    sorted_heads: tuple[bytes, ...] | None = None  # ``heads``, kept until ``head_set`` changes
    latest: dict[bytes, bytes] = field(default_factory=dict)  # author -> its last control entry in L
    hosts: dict[bytes, str] = field(default_factory=dict)  # node key -> node address text, in L order
    redactions: dict[tuple[bytes, bytes], bytes] = field(default_factory=dict)  # (author, target) -> redact id
    erased: dict[bytes, int] = field(default_factory=dict)  # author -> its messages up to this seq are erased
    sessions: dict[bytes, ScheduledSession] = field(default_factory=dict)  # session id -> latest version
    issuers: dict[bytes, bytes] = field(default_factory=dict)  # trusted credential issuer -> listing entry
    documents: dict[bytes, bytes] = field(default_factory=dict)  # key -> entry whose identity document applies
    erase_from: dict[bytes, int] = field(default_factory=dict)  # author -> its latest erase covers seqs after this
    forked: dict[bytes, int] = field(default_factory=dict)  # proven equivocator -> its first forked seq
    mutes: dict[bytes, list[MuteState]] = field(default_factory=dict)  # target -> applied mutes, in L order
    # target -> (cut, position in ``mutes[target]``), sorted: the governing mute in O(log mutes)
    mute_order: dict[bytes, list[tuple[int, int]]] = field(default_factory=dict)
    touched: list[bytes] = field(default_factory=list)  # keys whose intervals changed, in the order they did

    @property
    def heads(self) -> tuple[bytes, ...]:
        """The heads (12.4), in byte order."""
        if self.sorted_heads is None:
            self.sorted_heads = tuple(sorted(self.head_set))
        return self.sorted_heads

    def set_heads(self, heads: Iterable[bytes]) -> None:
        self.head_set = set(heads)
        self.sorted_heads = None

    def deleted(self, author: bytes, seq: int, entry_id: bytes) -> str | None:
        """Why a message's payload must not be kept ("redacted", "erased"), or None. A redaction
        counts only for an entry whose author is the one it names (so naming someone else's message
        as one's own deletes nothing and blocks nothing)."""
        if (author, entry_id) in self.redactions:
            return "redacted"
        if seq <= self.erased.get(author, 0):
            return "erased"
        return None

    def deps(self, *must: bytes) -> tuple[bytes, ...]:
        """A valid ``d`` for a new control entry: the heads, or if there are more than ``MAX_DEPS``,
        the most recent of them in ``L``, always including the latest entries of the pseudonyms in
        ``must`` (an operation's targets), so it comes after what it acts on."""
        if len(self.heads) <= MAX_DEPS:
            return self.heads
        position = {eid: i for i, eid in enumerate(self.order)}
        heads = set(self.heads)
        chosen = {self.latest[k] for k in must if self.latest.get(k) in heads}  # d is an antichain (12.6)
        for eid in sorted(self.heads, key=position.__getitem__, reverse=True):
            if len(chosen) >= MAX_DEPS:
                break
            chosen.add(eid)
        return tuple(sorted(chosen))

    def role_of(self, key: bytes) -> str | None:
        member = self.members.get(key)
        return member.role if member else None

    def ever_member(self, key: bytes) -> bool:
        return key in self.intervals

    def authorised_at(self, author: bytes, seq: int) -> bool:
        """Whether ``author``'s entry at ``seq`` falls inside one of its membership intervals."""
        return inside_intervals(self.intervals.get(author, ()), seq)

    def governing_mute(self, author: bytes, seq: int) -> MuteState | None:
        """The mute that governs ``author``'s entry at ``seq`` (spec 12.6): of the applied mutes of
        ``author`` whose cut is below ``seq``, the one with the greatest cut, and of those the last
        in ``L``. None if there is none."""
        order = self.mute_order.get(author)
        if not order:
            return None
        # the last (cut, position) with cut < seq: the greatest cut, and of those the last in L
        at = bisect.bisect_left(order, (seq, -1)) - 1
        return None if at < 0 else self.mutes[author][order[at][1]]

    def add_mute(self, target: bytes, mute: MuteState) -> None:
        """Apply ``mute`` (in ``L`` order): kept in ``mutes`` and indexed by its cut."""
        applied = self.mutes.setdefault(target, [])
        bisect.insort(self.mute_order.setdefault(target, []), (mute.cut, len(applied)))
        applied.append(mute)

    def muted_at(self, author: bytes, seq: int, timestamp_ms: int) -> bool:
        """Whether a group message (kind ``message``) by ``author`` at ``seq``, dated ``timestamp_ms``
        (its header's ``t``), is muted: its governing mute ends after that date. Direct messages and
        control entries are never muted."""
        mute = self.governing_mute(author, seq)
        return mute is not None and timestamp_ms < mute.until_ms

    def muted_until(self, author: bytes, now_ms: int) -> int | None:
        """When ``author``'s mute ends, for its next entry written at ``now_ms``; None if not muted."""
        mute = self.governing_mute(author, 2**63)
        return mute.until_ms if mute is not None and now_ms < mute.until_ms else None

    @property
    def current_epoch(self) -> Epoch | None:
        return self.epochs[-1] if self.epochs else None

    def epoch_is_clean(self, epoch: Epoch) -> bool:
        """True iff exactly the current members hold ``epoch``'s key, sealed to their current X25519
        keys: safe to send under it."""
        return not epoch.stale and epoch.recipients == frozenset(self.members)

    def fingerprint(self) -> bytes:
        """A digest of everything that defines the state, to compare states across nodes."""
        history = self.history.encode() if isinstance(self.history, str) else b"days:%d" % self.history
        parts = [self.group_id, history, self.meta or b""]
        for key in sorted(self.members):
            m = self.members[key]
            parts += [key, m.role.encode(), m.x25519, m.since_seq.to_bytes(8, "big")]
        for key in sorted(self.intervals):
            for start, end in self.intervals[key]:
                parts += [
                    key,
                    start.to_bytes(8, "big"),
                    (end if end is not None else 2**64 - 1).to_bytes(8, "big"),
                ]
        parts += sorted(self.banned)
        parts += [e.entry_id for e in self.epochs]
        parts += [key + self.hosts[key].encode() for key in sorted(self.hosts)]
        parts += [author + key + rid for (author, key), rid in sorted(self.redactions.items())]
        parts += [key + seq.to_bytes(8, "big") for key, seq in sorted(self.erased.items())]
        parts += [
            sid + s.entry_id + s.spec.encode() + (s.cancelled_at_ms or 0).to_bytes(8, "big")
            for sid, s in sorted(self.sessions.items())
        ]
        parts += [key + eid for key, eid in sorted(self.issuers.items())]
        parts += [key + seq.to_bytes(8, "big") for key, seq in sorted(self.forked.items())]
        parts += [
            key + m.entry_id + m.cut.to_bytes(8, "big") + m.until_ms.to_bytes(8, "big")
            for key in sorted(self.mutes)
            for m in self.mutes[key]
        ]
        parts += [
            eid + (code or "").encode()
            for eid, code in sorted(self.outcomes.items(), key=lambda kv: kv[0])
            if code != FORKED  # forked positions: which twin a host holds must not show (12.5)
        ]
        return crypto.blake2b_256(b"".join(parts))


def silenced(state: GroupState, entry: Entry) -> bool:
    """Whether ``entry`` is a group message its author may not post: muted (spec 12.6). Only kind
    ``message``: a muted member still writes direct messages (to the facilitators, a report)."""
    return entry.kind == kinds.MESSAGE and state.muted_at(entry.author, entry.seq, entry.timestamp_ms)


def _linearise(
    items: dict[bytes, tuple[Entry, ControlPayload]],
    deps: dict[bytes, list[bytes]] | None = None,
) -> tuple[list[bytes], dict[bytes, list[bytes]], list[tuple[int, int, bytes]]]:
    """Kahn's algorithm; returns (order, parents, newcomers). ``deps``: each entry's ``d`` as the
    forked-position rule rewrote it (default: the payload's).

    Among ready entries: an entry of an author already placed comes first, the most senior author's
    (seniority: the position of the author's first entry in L), then the smallest id; an entry of an
    author not yet placed (a joiner) comes after every such one, the earliest timestamp first, then the
    smallest id. A newcomer's join never outruns a concurrent act of an existing member, and a join
    that arrives later than every other joiner's, as joins do, lands at the end of L (so it can be
    applied without recomputing). ``newcomers``: (position, timestamp, id) of every entry placed
    while its author was not yet placed, in L order."""
    parents: dict[bytes, list[bytes]] = {}
    by_author: dict[bytes, list[Entry]] = {}
    for eid, (entry, payload) in items.items():
        parents[eid] = list(deps[eid] if deps is not None else getattr(payload, "deps", ()))
        by_author.setdefault(entry.author, []).append(entry)
    for entries in by_author.values():
        entries.sort(key=lambda e: (e.seq, e.entry_id))  # a fork's two halves: still one order
        for before, after in pairwise(entries):
            if before.entry_id not in parents[after.entry_id]:
                parents[after.entry_id].append(before.entry_id)
    children: dict[bytes, list[bytes]] = {eid: [] for eid in items}
    indegree = dict.fromkeys(items, 0)
    for eid, ps in parents.items():
        for p in ps:
            children[p].append(eid)
            indegree[eid] += 1
    seniority: dict[bytes, int] = {}
    never = len(items)

    def key(eid: bytes) -> tuple[int, int, bytes]:
        entry = items[eid][0]
        placed = seniority.get(entry.author)
        return (placed, 0, eid) if placed is not None else (never, entry.timestamp_ms, eid)

    ready = [key(eid) for eid, n in indegree.items() if n == 0]
    heapq.heapify(ready)
    order: list[bytes] = []
    newcomers: list[tuple[int, int, bytes]] = []
    while ready:
        *_, eid = heapq.heappop(ready)
        author = items[eid][0].author
        if author not in seniority:
            seniority[author] = len(order)
            newcomers.append((len(order), items[eid][0].timestamp_ms, eid))
        order.append(eid)
        for child in children[eid]:
            indegree[child] -= 1
            if indegree[child] == 0:
                heapq.heappush(ready, key(child))
    return order, parents, newcomers


FULL = -1  # an ancestry mask meaning "every entry before this one in L" (an entry that saw every head)


def saw(ancestors: dict[bytes, int], position: dict[bytes, int], later: bytes, earlier_position: int) -> bool:
    """Whether the entry at ``earlier_position`` in L is in the causal past of ``later``."""
    mask = ancestors[later]
    if mask == FULL:
        return earlier_position < position[later]
    return bool(mask >> earlier_position & 1)


def _mask(ancestors: dict[bytes, int], position: dict[bytes, int], eid: bytes) -> int:
    """``eid``'s causal past as a bit mask over positions in L."""
    mask = ancestors[eid]
    return (1 << position[eid]) - 1 if mask == FULL else mask


def _union(ancestors: dict[bytes, int], position: dict[bytes, int], parents: Iterable[bytes]) -> int:
    """The causal past of an entry with these parents: the parents and their pasts. Parents are taken
    latest first and one already in the mask adds nothing (its past is in it too), so a wide ``d``
    costs one bit test per parent, not one union."""
    mask = 0
    for p in sorted(parents, key=position.__getitem__, reverse=True):
        at = position[p]
        if mask >> at & 1:
            continue
        mask |= _mask(ancestors, position, p) | (1 << at)
    return mask


@dataclass(slots=True)
class DecodeCache:
    """Per-group memo of work that depends on one entry alone (payload decoding with its identity
    document check, and join proofs). Keeps recomputation cheap: a node recomputes the state when a
    control entry arrives, and must not re-verify every earlier signature each time."""

    payloads: dict[bytes, ControlPayload] = field(default_factory=dict)
    proofs: dict[bytes, bool] = field(default_factory=dict)

    def add_stored(self, entry: Entry, proof: bool | None = None) -> ControlPayload:
        """Take a control entry read back from the node's own store, verified completely when the
        node accepted it (the entry's signature, its identity document), so that computing the state
        does not verify it again: its payload is decoded with ``decode_payload(stored=True)``
        (every structural check, no cryptographic one), and for a join, ``proof`` is the verdict on
        its invite proof found then (None: not known, verified when the join is applied).

        Only for stored entries: an entry from the network is never added here, and a cache miss
        (what every other entry meets) decodes and verifies in full. Returns the payload."""
        if entry.payload is None:
            raise GroupError("group.malformed_payload", "a stored control entry needs its payload")
        payload = decode_payload(entry.kind, entry.payload, entry.author, stored=True)
        self.payloads[entry.entry_id] = payload
        if proof is not None and entry.kind == kinds.JOIN:
            self.proofs[entry.entry_id] = proof
        return payload


def compute_state(
    genesis: Entry, controls: Iterable[Entry], cache: DecodeCache | None = None, forks: Forks | None = None
) -> GroupState:
    """The group's state from its genesis and any set of its control entries (with payloads).

    Entries whose dependencies are not all present (transitively) are left out, as if not yet
    received. Entries that are malformed or of another group raise: callers validate first.
    ``cache`` only saves work; the result is the same with or without it. ``forks``: the group's
    proven equivocations (:mod:`protocol.forks`), applied by the forked-position rule (12.5).
    """
    return compute(genesis, controls, cache, forks).state


@dataclass(slots=True)
class Computation:
    """A computed state and what it takes to apply one more control entry at the end of L
    (:func:`extend`) instead of recomputing everything. ``state`` is mutated by ``extend``.

    Invariants kept by :func:`compute` and :func:`extend` alike:

    * ``ancestors[e]`` is ``e``'s causal past as a bit mask over positions in L, or :data:`FULL`
      when that past is every entry before ``e`` (an entry that saw every head: most of them), so a
      sequential history costs O(1) memory per entry;
    * ``newcomers``: of the entries placed while their author was not yet placed, the (position,
      timestamp, id) of each that has the greatest (timestamp, id) from its position on, in L order;
    * ``unacked``: applied joins no other author has in its causal past, in L order (with a count
      per invite, ``unacked_by_invite``);
    * ``losers``: joins whose invite was exhausted (id -> (invite id, author)); ``acked_losers``:
      per invite, how many of them another author has in its causal past (a displacement needs one);
    * ``exhausted_any``: some pass of the computation had an exhausted join (then an extension cannot
      be proven exact while anything is void).
    """

    items: dict[bytes, tuple[Entry, ControlPayload]]
    position: dict[bytes, int]
    ancestors: dict[bytes, int]
    void: dict[bytes, str]
    applier: _Applier
    last_of: dict[bytes, bytes]  # author -> its last control entry by (seq, id)
    newcomers: list[tuple[int, int, bytes]] = field(default_factory=list)
    unacked: dict[bytes, bytes] = field(default_factory=dict)  # join id -> its invite, in L order
    unacked_by_invite: dict[bytes, int] = field(default_factory=dict)  # invite -> how many of ``unacked``
    losers: dict[bytes, tuple[bytes, bytes]] = field(default_factory=dict)  # unacknowledged exhausted joins
    acked_losers: dict[bytes, int] = field(default_factory=dict)
    exhausted_any: bool = False
    forks: Forks | None = None  # the proven forks it was computed with (extend does not apply them)

    @property
    def state(self) -> GroupState:
        return self.applier.s


def _decoded(entry: Entry, group_id: bytes, cache: DecodeCache) -> ControlPayload:
    check_belongs(entry, group_id)
    if not kinds.is_control(entry.kind) or entry.payload is None:
        raise GroupError("group.malformed_payload", "compute_state takes control entries with payloads")
    payload = cache.payloads.get(entry.entry_id)
    if payload is None:
        payload = decode_payload(entry.kind, entry.payload, entry.author)
        cache.payloads[entry.entry_id] = payload
    return payload


def saw_every_head(state: GroupState, parents: Iterable[bytes]) -> bool:
    """Whether an entry with these parents (its ``d`` and its author's previous control entry) has
    every entry of the state in its causal past: it is then last in L and concurrent with nothing."""
    named = set(parents)
    return len(state.head_set) <= len(named) and all(h in named for h in state.head_set)


def redundant_dependency(comp: Computation, deps: Iterable[bytes], previous: bytes | None) -> bytes | None:
    """The first entry of ``deps`` that is in the causal past of another entry of ``deps`` or of
    ``previous`` (the author's previous control entry, which ``deps`` may also name), or None: 12.6
    requires neither. Every entry named must be in ``comp``. Cost: one bit test and at most one union
    per entry named, whatever the group's age."""
    mask = _mask(comp.ancestors, comp.position, previous) if previous is not None else 0
    named = {d for d in deps if d != previous and d in comp.position}  # not placed: a forked position's (12.5)
    for p in sorted(named, key=comp.position.__getitem__, reverse=True):
        at = comp.position[p]
        if mask >> at & 1:
            return p
        mask |= _mask(comp.ancestors, comp.position, p) | (1 << at)
    return None


def extend(comp: Computation, entry: Entry, cache: DecodeCache) -> bool:
    """Apply one more control entry at the end of L, when that is exactly what :func:`compute` would
    do. True if ``comp`` now describes the set with the entry; False if not, in which case ``comp``
    may be spoiled and the caller computes afresh. Two kinds of entry land at the end of L:

    * one that saw every head (its causal past is everything: concurrent with nothing);
    * a newcomer's first entry (a join) whose (timestamp, id) is above every newcomer placed after it
      became ready (the joiner tie-break of :func:`_linearise`).

    It must also provably change no void: nothing is void yet, or the entry is not a join and no
    invite was ever exhausted; it revokes nothing; and no applied join that nobody acknowledged shares
    an invite with an acknowledged exhausted join (a displacement).

    Cost: O(|d| log |d| + unacknowledged joins), amortised: independent of the number of entries in the
    group (heads are a set; newcomers a monotonic stack; exhausted joins are visited once each when
    acknowledged).
    """
    if entry.entry_id in comp.items:
        return True
    placed, _ = append(comp, entry, cache, keep_refused=True)
    return placed


def append(comp: Computation, entry: Entry, cache: DecodeCache, *, keep_refused: bool) -> tuple[bool, str | None]:
    """:func:`extend`, also telling the entry's outcome: (placed, outcome). ``placed`` False: the
    entry does not provably land at the end of L (``comp`` is unchanged, unless the entry was applied
    and then found to change a void: ``comp`` is spoiled). With ``keep_refused`` False an entry whose
    outcome is a code (ignored) is taken out again, leaving ``comp`` exactly as it was: a node judging
    a client's entry, which it stores only if it takes effect."""
    state = comp.state
    eid = entry.entry_id
    if comp.forks:  # forked positions: the rule of protocol.forks runs in compute only
        return False, None
    payload = _decoded(entry, state.group_id, cache)
    is_join = isinstance(payload, Join)
    if comp.void and (is_join or comp.exhausted_any):
        return False, None
    parents = list(getattr(payload, "deps", ()))
    if any(d not in comp.items for d in parents):
        return False, None
    previous = comp.last_of.get(entry.author)
    if previous is not None:
        before = comp.items[previous][0]
        if (entry.seq, eid) < (before.seq, previous):
            return False, None
        if previous not in parents:
            parents.append(previous)
    at = len(comp.position)
    if saw_every_head(state, parents):
        mask = FULL
    elif is_join and entry.author not in state.latest:
        ready_at = max(comp.position[p] for p in parents) + 1
        first = bisect.bisect_left(comp.newcomers, (ready_at,))  # the latest newcomer key from ready_at on
        if first < len(comp.newcomers) and comp.newcomers[first][1:] > (entry.timestamp_ms, eid):
            return False, None
        mask = _union(comp.ancestors, comp.position, parents)
        if mask == (1 << at) - 1:
            mask = FULL
    else:
        return False, None
    newcomer = entry.author not in state.latest
    admitted = entry.author in state.intervals  # its acknowledgements count (12.5, finding 3)
    comp.items[eid] = (entry, payload)
    comp.position[eid] = at
    comp.ancestors[eid] = mask
    outcome = comp.applier.apply(entry, payload)
    if outcome is not None and not keep_refused:  # a refused operation changed nothing in the state
        del comp.items[eid], comp.position[eid], comp.ancestors[eid]
        comp.applier.entries.pop(eid, None)
        return True, outcome
    comp.last_of[entry.author] = eid
    state.outcomes[eid] = outcome
    state.order.append(eid)
    state.latest[entry.author] = eid
    if newcomer:
        _push_newcomer(comp.newcomers, (at, entry.timestamp_ms, eid))
    if comp.applier.revoked:
        return False, outcome
    if not admitted and not newcomer and entry.author in state.intervals:
        return False, outcome  # first admitted by a rejoin: its earlier entries now acknowledge too
    newly_acked = _acknowledge(comp, entry, mask) if entry.author in state.intervals else set()
    if is_join and outcome is None:
        assert isinstance(payload, Join)
        _add_unacked(comp, eid, payload.invite_id)
        newly_acked.add(payload.invite_id)
    elif is_join and outcome == "group.invite_exhausted":
        assert isinstance(payload, Join)
        comp.losers[eid] = (payload.invite_id, entry.author)
        comp.exhausted_any = True
    # a displacement: an applied join nobody acknowledged, through an invite an acknowledged join found
    # exhausted (only the invites whose counts changed here can newly meet both)
    if any(comp.unacked_by_invite.get(i) and comp.acked_losers.get(i) for i in newly_acked):
        return False, outcome
    if mask == FULL:
        state.set_heads((eid,))
    else:
        state.head_set.difference_update(parents)
        state.head_set.add(eid)
        state.sorted_heads = None
    return True, outcome


def _push_newcomer(stack: list[tuple[int, int, bytes]], placed: tuple[int, int, bytes]) -> None:
    """Keep ``stack`` the newcomers that are each the greatest (timestamp, id) from their position on:
    positions increase and keys decrease along it, so the first element at or after a position holds
    the greatest key from there (one bisection per question, amortised O(1) per newcomer placed)."""
    while stack and stack[-1][1:] <= placed[1:]:
        stack.pop()
    stack.append(placed)


def _add_unacked(comp: Computation, join_id: bytes, invite_id: bytes) -> None:
    comp.unacked[join_id] = invite_id
    comp.unacked_by_invite[invite_id] = comp.unacked_by_invite.get(invite_id, 0) + 1


def _acknowledge(comp: Computation, entry: Entry, mask: int) -> set[bytes]:
    """Bookkeeping for the entry just placed last: joins of other authors in its causal past are now
    acknowledged (unacknowledged applied joins leave ``unacked``; exhausted ones count in
    ``acked_losers``). For an entry that saw every head that is every join but its author's own.
    Returns the invites whose ``acked_losers`` grew. Both lists are in L order and an entry that did
    not see every head covers nothing after its parents, so each is walked only up to them: a join
    naming only its invite costs O(1), whatever the number of joins nobody acknowledged yet."""
    author = entry.author

    def covered(other: bytes) -> bool:
        return comp.items[other][0].author != author and (mask == FULL or bool(mask >> comp.position[other] & 1))

    bound = len(comp.position) if mask == FULL else mask.bit_length()
    gone = []
    for join in comp.unacked:
        if comp.position[join] >= bound:
            break
        if covered(join):
            gone.append(join)
    for join in gone:
        invite_id = comp.unacked.pop(join)
        comp.unacked_by_invite[invite_id] -= 1
    grew: set[bytes] = set()
    reached = []
    for loser in comp.losers:
        if comp.position[loser] >= bound:
            break
        if covered(loser):
            reached.append(loser)
    for loser in reached:
        invite_id, _ = comp.losers.pop(loser)
        comp.acked_losers[invite_id] = comp.acked_losers.get(invite_id, 0) + 1
        grew.add(invite_id)
    return grew


def compute(
    genesis: Entry, controls: Iterable[Entry], cache: DecodeCache | None = None, forks: Forks | None = None
) -> Computation:
    """:func:`compute_state`, keeping what :func:`extend` needs."""
    cache = cache if cache is not None else DecodeCache()
    cached = cache.payloads.get(genesis.entry_id)
    genesis_payload = cached if isinstance(cached, Genesis) else check_genesis(genesis)
    cache.payloads[genesis.entry_id] = genesis_payload
    group_id = genesis.entry_id
    items: dict[bytes, tuple[Entry, ControlPayload]] = {group_id: (genesis, genesis_payload)}
    for entry in controls:
        if entry.entry_id == group_id:
            continue
        items[entry.entry_id] = (entry, _decoded(entry, group_id, cache))

    # -- forked positions (12.5, protocol.forks): void entries leave the DAG; d naming them is rewritten
    deps_of: dict[bytes, list[bytes]] = {eid: list(getattr(p, "deps", ())) for eid, (_, p) in items.items()}
    forked_out: dict[bytes, str] = {}
    if forks:
        fork_plan = plan({eid: e for eid, (e, _) in items.items()}, deps_of, forks)
        forked_out = dict.fromkeys(fork_plan.void, FORKED)
        items = {eid: item for eid, item in items.items() if eid not in fork_plan.void}
        deps_of = fork_plan.deps
    # -- end of forked positions

    # leave out entries whose dependencies are missing, transitively
    changed = True
    while changed:
        changed = False
        for eid in list(items):
            if any(d not in items for d in deps_of[eid]):
                del items[eid]
                changed = True

    order, parents, newcomers = _linearise(items, deps_of)
    position = {eid: i for i, eid in enumerate(order)}
    ancestors: dict[bytes, int] = {}
    for eid in order:
        mask = _union(ancestors, position, parents[eid])
        ancestors[eid] = FULL if mask == (1 << position[eid]) - 1 else mask
    last_of: dict[bytes, bytes] = {}
    for eid in order:
        entry = items[eid][0]
        current = last_of.get(entry.author)
        if current is None or (entry.seq, eid) > (items[current][0].seq, current):
            last_of[entry.author] = eid

    # Passes to a fixpoint. Each pass applies L; what it finds must not stand becomes *void* (ignored
    # from the start) in the next: joins revoked with their inviter, acts of an author concurrent with
    # a restriction of that author, unacknowledged joins that took an invite's use from an
    # acknowledged one. The void set only grows, so this ends (at most one pass per entry).
    void: dict[bytes, str] = {}
    exhausted_any = False
    while True:
        state = GroupState(group_id=group_id, creator=genesis.author, history=genesis_payload.history)
        applier = _Applier(state, ancestors, position, cache, void)
        for eid in order:
            entry, payload = items[eid]
            state.outcomes[eid] = applier.apply(entry, payload)
            state.order.append(eid)
            state.latest[entry.author] = eid
        exhausted_any = exhausted_any or any(code == "group.invite_exhausted" for code in state.outcomes.values())
        found = applier.revoked | _concurrent_acts(state, items, ancestors, position)
        acknowledged = _acknowledgement(items, ancestors, position, last_of, state.intervals)
        found |= _displaced_joins(state, items, acknowledged)
        found |= _closed_joins(state, items, ancestors, position)
        new = {eid: code for eid, code in found.items() if eid not in void}
        if not new:
            break
        void.update(new)
    referenced = {p for ps in parents.values() for p in ps}
    state.set_heads(eid for eid in order if eid not in referenced)
    stack: list[tuple[int, int, bytes]] = []
    for placed in newcomers:
        _push_newcomer(stack, placed)
    comp = Computation(
        items, position, ancestors, void, applier, last_of, stack, exhausted_any=exhausted_any, forks=forks
    )
    for eid in order:
        code, payload = state.outcomes[eid], items[eid][1]
        if not isinstance(payload, Join):
            continue
        if code is None and not acknowledged(eid):
            _add_unacked(comp, eid, payload.invite_id)
        elif code == "group.invite_exhausted":
            if acknowledged(eid):
                comp.acked_losers[payload.invite_id] = comp.acked_losers.get(payload.invite_id, 0) + 1
            else:
                comp.losers[eid] = (payload.invite_id, items[eid][0].author)
    if forks:  # forked positions: recorded, outside L (and outside the fingerprint)
        state.outcomes.update(forked_out)
        state.forked = dict(forks.forked)
    return comp


def _acknowledgement(
    items: dict[bytes, tuple[Entry, ControlPayload]],
    ancestors: dict[bytes, int],
    position: dict[bytes, int],
    last_of: dict[bytes, bytes],
    admitted: Container[bytes],
) -> Callable[[bytes], bool]:
    """``acknowledged(e)``: whether an author other than ``e``'s, one ``admitted`` in the pass (its
    genesis or a join of it applied: a key of the pass's intervals), has ``e`` in its causal past. An
    author's entries form a chain, so its last entry's past holds all of theirs: one mask per author.
    The masks are built on first use (only groups with joins to judge pay for them)."""
    others: dict[bytes, int] = {}
    everyone: list[int] = []

    def build() -> None:
        seen_by = {a: _mask(ancestors, position, eid) for a, eid in last_of.items() if a in admitted}
        authors = list(seen_by)
        prefix = [0]
        for a in authors:
            prefix.append(prefix[-1] | seen_by[a])
        suffix = [0]
        for a in reversed(authors):
            suffix.append(suffix[-1] | seen_by[a])
        suffix.reverse()
        others.update({a: prefix[i] | suffix[i + 1] for i, a in enumerate(authors)})
        everyone.append(prefix[-1])

    def acknowledged(eid: bytes) -> bool:
        if not everyone:
            build()
        return bool(others.get(items[eid][0].author, everyone[0]) >> position[eid] & 1)

    return acknowledged


def _concurrent_acts(
    state: GroupState,
    items: dict[bytes, tuple[Entry, ControlPayload]],
    ancestors: dict[bytes, int],
    position: dict[bytes, int],
) -> dict[bytes, str]:
    """What must not stand when an author acts concurrently with a restriction of itself (neither saw
    the other): the act is void, so a removed or demoted author cannot act by claiming it had not
    seen its removal. Except when the act restricts the restriction's author and the actor is the
    more senior (earlier first entry in L): then the junior's restriction is void instead."""
    first: dict[bytes, int] = {}
    for eid in state.order:
        first.setdefault(items[eid][0].author, position[eid])
    out: dict[bytes, str] = {}
    for eid, (entry, payload) in items.items():
        for r in state.restrictions.get(entry.author, ()):
            if (
                r.entry_id == eid
                or saw(ancestors, position, eid, r.position)
                or saw(ancestors, position, r.entry_id, position[eid])
            ):
                continue
            restrictor = items[r.entry_id][0].author
            target = getattr(payload, "target", None)
            restricts_back = isinstance(payload, Remove | RoleChange) and target == restrictor
            if restricts_back and first[entry.author] < first.get(restrictor, len(position)):
                out[r.entry_id] = "group.concurrent_restriction"
            else:
                out[eid] = "group.concurrent_restriction"
                break
    return out


def _displaced_joins(
    state: GroupState,
    items: dict[bytes, tuple[Entry, ControlPayload]],
    acknowledged: Callable[[bytes], bool],
) -> dict[bytes, str]:
    """Applied joins that nobody else had seen, which used up an invite that an acknowledged join
    (one in the causal past of another author's control entry) then found exhausted. Holding a used
    token must not let a latecomer displace the member who redeemed it."""
    exhausted = [eid for eid, code in state.outcomes.items() if code == "group.invite_exhausted"]
    if not exhausted:
        return {}
    applied_by_invite: dict[bytes, list[bytes]] = {}
    for eid, code in state.outcomes.items():
        payload = items[eid][1]
        if code is None and isinstance(payload, Join):
            applied_by_invite.setdefault(payload.invite_id, []).append(eid)

    out: dict[bytes, str] = {}
    for loser in exhausted:
        payload = items[loser][1]
        if not isinstance(payload, Join) or not acknowledged(loser):
            continue
        for eid in applied_by_invite.get(payload.invite_id, ()):
            if not acknowledged(eid):
                out[eid] = "group.invite_exhausted"
    return out


def _closed_joins(
    state: GroupState,
    items: dict[bytes, tuple[Entry, ControlPayload]],
    ancestors: dict[bytes, int],
    position: dict[bytes, int],
) -> dict[bytes, str]:
    """Applied joins through a closed invite that the closing entry had not seen: a join signed (or
    let in) after its invite was closed does not stand, however it is dated and whichever host relayed
    it, and whichever of the two L puts first. Joins the close saw are kept."""
    closes = {i.entry_id: i.closed_by for i in state.invites.values() if i.closed_by is not None}
    if not closes:
        return {}
    out: dict[bytes, str] = {}
    for eid, code in state.outcomes.items():
        payload = items[eid][1]
        if code is None and isinstance(payload, Join) and payload.invite_id in closes:
            close = closes[payload.invite_id]
            if not saw(ancestors, position, close, position[eid]):
                out[eid] = "group.invite_closed"
    return out


class _Applier:
    """Applies operations in linearisation order; each ``apply`` returns None or an error code."""

    def __init__(
        self,
        state: GroupState,
        ancestors: dict[bytes, int],
        position: dict[bytes, int],
        cache: DecodeCache,
        void: dict[bytes, str],
    ) -> None:
        self.s = state
        self.cache = cache
        self.ancestors = ancestors
        self.position = position
        self.void = void  # entry id -> code: found in an earlier pass, treated as never having happened
        self.revoked: dict[bytes, str] = {}  # joins revoked in this pass
        self.entries: dict[bytes, Entry] = {}

    # -- helpers --------------------------------------------------------------------------

    def _saw(self, op: Entry, restriction: Restriction) -> bool:
        """Whether ``restriction`` is in the causal past of ``op``."""
        return saw(self.ancestors, self.position, op.entry_id, restriction.position)

    def _saw_entry(self, op: Entry, earlier: bytes) -> bool:
        """Whether the entry ``earlier`` is in the causal past of ``op``."""
        return saw(self.ancestors, self.position, op.entry_id, self.position[earlier])

    def _unseen(self, op: Entry, key: bytes) -> list[Restriction]:
        """Restrictions of ``key`` not in ``op``'s causal past, earliest first."""
        return [r for r in self.s.restrictions.get(key, ()) if not self._saw(op, r)]

    def _may(self, op: Entry, min_role: str) -> bool:
        """The author currently holds at least ``min_role``. (An author acting concurrently with its own
        removal or demotion is void altogether: see ``_concurrent_acts``.)"""
        member = self.s.members.get(op.author)
        return member is not None and RANK[member.role] >= RANK[min_role]

    def _restrict(self, key: bytes, op: Entry, role_before: str, reason: str) -> None:
        restriction = Restriction(self.position[op.entry_id], op.entry_id, role_before, reason)
        self.s.restrictions.setdefault(key, []).append(restriction)

    def _end_membership(self, key: bytes, end: int, op: Entry, reason: str) -> None:
        member = self.s.members.pop(key)
        start, _ = self.s.intervals[key][-1]
        self.s.intervals[key][-1] = (start, max(end, start))
        self.s.touched.append(key)
        self._restrict(key, op, member.role, reason)
        self._revoke_admissions_by(key, op)

    def _revoke_admissions_by(self, inviter: bytes, op: Entry) -> None:
        """Undo joins through ``inviter``'s invites that ``op`` (which just took the inviter's power)
        had not seen: a join concurrent with its inviter's removal or demotion does not stand,
        whatever the linearisation order of the two. Joins ``op`` saw are kept. Cascades."""
        for key, member in list(self.s.members.items()):
            if member.admitted_by is None or member.admitted_by[1] != inviter:
                continue
            if self._saw_entry(op, member.admitted_by[0]):
                continue
            self.revoked[member.admitted_by[0]] = "group.invite_revoked"
            self._end_membership(key, member.since_seq, op, "revoked")

    # -- operations -----------------------------------------------------------------------

    def apply(self, op: Entry, payload: ControlPayload) -> str | None:
        s = self.s
        self.entries[op.entry_id] = op
        if op.entry_id in self.void:
            return self.void[op.entry_id]
        if isinstance(payload, Genesis):
            if op.entry_id != s.group_id:
                return "group.bad_genesis"
            s.members[op.author] = Member(
                op.author,
                FACILITATOR,
                payload.document.x_public_key,
                op.seq,
                key_set_by=op.entry_id,
                joined_ms=op.timestamp_ms,
            )
            s.intervals[op.author] = [(op.seq, None)]
            s.touched.append(op.author)
            s.x25519[op.author] = payload.document.x_public_key
            s.documents[op.author] = op.entry_id
            if payload.home is not None:
                s.hosts[NodeAddress.parse(payload.home).node_key] = payload.home
            return None
        if isinstance(payload, Invite):
            if not self._may(op, FACILITATOR):
                return "group.forbidden"
            s.invites[op.entry_id] = InviteState(op.entry_id, op.author, payload)
            return None
        if isinstance(payload, Join):
            return self._join(op, payload)
        if isinstance(payload, Remove):
            return self._remove(op, payload)
        if isinstance(payload, RoleChange):
            return self._role(op, payload)
        if isinstance(payload, Leave):
            if op.author not in s.members:
                return "group.not_member"
            self._end_membership(op.author, op.seq, op, "left")
            return None
        if isinstance(payload, Settings):
            if not self._may(op, FACILITATOR):
                return "group.forbidden"
            s.history, s.meta = payload.history, payload.meta
            return None
        if isinstance(payload, Host):
            return self._host(op, payload)
        if isinstance(payload, Redact):
            return self._redact(op, payload)
        if isinstance(payload, Erase):
            if op.author not in s.members:
                return "group.not_member"
            if payload.upto >= op.seq:  # only what is already written: never a blank cheque on the future
                return "group.bad_target"
            erased = s.erased.get(op.author, 0)
            if payload.upto <= erased:
                return "group.no_effect"
            s.erase_from[op.author], s.erased[op.author] = erased, payload.upto
            return None
        if isinstance(payload, Session):
            return self._session(op, payload)
        if isinstance(payload, Close):
            return self._close(op, payload)
        if isinstance(payload, Mute):
            return self._mute(op, payload)
        if isinstance(payload, Trust):
            if not self._may(op, FACILITATOR):
                return "group.forbidden"
            if payload.add:
                s.issuers.setdefault(payload.issuer, op.entry_id)
            elif s.issuers.pop(payload.issuer, None) is None:
                return "group.bad_target"
            return None
        return self._rekey(op, payload)

    def _close(self, op: Entry, close: Close) -> str | None:
        """A facilitator closes an invite at any time; any member may close one that has expired by the
        closing entry's own date (so an expiry holds on every host, whoever relays a late join)."""
        s = self.s
        invite = s.invites.get(close.invite_id)
        if invite is None:
            return "group.bad_target"
        expired = op.author in s.members and op.timestamp_ms > invite.invite.expires_ms
        if not (self._may(op, FACILITATOR) or expired):
            return "group.forbidden"
        if invite.closed_by is not None:
            return "group.no_effect"
        invite.closed_by = op.entry_id
        return None

    def _mute(self, op: Entry, mute: Mute) -> str | None:
        """Moderators mute members; facilitators anyone else (the rule of a removal, 12.5)."""
        s = self.s
        target = s.members.get(mute.target)
        if target is None or mute.target == op.author:
            return "group.bad_target"
        if not self._may(op, MODERATOR if target.role == MEMBER else FACILITATOR):
            return "group.forbidden"
        s.add_mute(mute.target, MuteState(op.entry_id, op.author, mute.cut, mute.until_ms))
        return None

    def _redact(self, op: Entry, redact: Redact) -> str | None:
        """Authors redact their own messages; moderators a member's, facilitators anyone's."""
        s = self.s
        if op.author not in s.members:
            return "group.not_member"
        if redact.target != op.author:
            role = s.role_of(redact.target)
            if not self._may(op, MODERATOR if role in (None, MEMBER) else FACILITATOR):
                return "group.forbidden"
        if all((redact.target, target) in s.redactions for target in redact.ids):
            return "group.no_effect"
        for target in redact.ids:
            s.redactions.setdefault((redact.target, target), op.entry_id)
        return None

    def _session(self, op: Entry, session: Session) -> str | None:
        s = self.s
        if not self._may(op, FACILITATOR):
            return "group.forbidden"
        sid = op.entry_id
        cancelled_at = op.timestamp_ms if session.cancelled else None
        if session.replaces is not None:
            sid = session.replaces
            earlier = s.sessions.get(sid)
            if earlier is None:
                return "group.bad_target"
            if earlier.cancelled_at_ms is not None:
                cancelled_at = earlier.cancelled_at_ms  # a cancelled session stays cancelled
        s.sessions[sid] = ScheduledSession(sid, op.entry_id, op.author, session, cancelled_at)
        return None

    def _host(self, op: Entry, change: Host) -> str | None:
        """A facilitator adds a host (or corrects its address) or removes one."""
        s = self.s
        if not self._may(op, FACILITATOR):
            return "group.forbidden"
        key = change.node_key
        if not change.add:
            if key not in s.hosts:
                return "group.bad_target"
            del s.hosts[key]
            return None
        if key not in s.hosts and len(s.hosts) >= MAX_GROUP_HOSTS:
            return "group.too_many_hosts"
        s.hosts[key] = change.address
        return None

    def _join(self, op: Entry, join: Join) -> str | None:
        s = self.s
        invite = s.invites.get(join.invite_id)
        if invite is None:
            return "group.unknown_invite"
        proof_ok = self.cache.proofs.get(op.entry_id)
        if proof_ok is None:
            message = join_proof_message(s.group_id, op.author, join.invite_id)
            proof_ok = crypto.ed25519_verify(invite.invite.invite_key, message, join.proof, remember=True)
            self.cache.proofs[op.entry_id] = proof_ok
        if not proof_ok:
            return "group.bad_invite_proof"
        if invite.closed_by is not None:
            return "group.invite_closed"
        if op.timestamp_ms > invite.invite.expires_ms:
            return "group.invite_expired"
        if op.timestamp_ms < self.entries[invite.entry_id].timestamp_ms:
            return "group.invite_expired"  # a join cannot predate its invite: back-dating is refused
        if invite.invite.target is not None and invite.invite.target != op.author:
            return "group.invite_not_for_you"
        if op.author in s.banned:
            return "group.banned"
        if op.author in s.members:
            return "group.already_member"
        if invite.uses >= invite.invite.max_uses:
            return "group.invite_exhausted"
        invite_entry = self.entries[invite.entry_id]
        if s.role_of(invite.author) != FACILITATOR or self._unseen(invite_entry, invite.author):
            # the inviter lost its power after (or concurrently with) making the invite
            return "group.invite_revoked"
        if self._unseen(invite_entry, op.author):
            # re-admission must be the inviter's informed act: the invite must postdate the removal
            return "group.concurrent_restriction"
        invite.uses += 1
        x25519 = join.document.x_public_key
        s.members[op.author] = Member(
            op.author,
            invite.invite.role,
            x25519,
            op.seq,
            (op.entry_id, invite.author),
            key_set_by=op.entry_id,
            joined_ms=op.timestamp_ms,
        )
        s.intervals.setdefault(op.author, []).append((op.seq, None))
        s.touched.append(op.author)
        s.x25519[op.author] = x25519
        s.documents[op.author] = op.entry_id
        if join.home is not None:  # the joiner's home node becomes a host; a listed address is kept
            key = NodeAddress.parse(join.home).node_key
            if key not in s.hosts and len(s.hosts) < MAX_GROUP_HOSTS:
                s.hosts[key] = join.home
        return None

    def _remove(self, op: Entry, remove: Remove) -> str | None:
        s = self.s
        target = s.members.get(remove.target)
        if target is None or remove.target == op.author:
            return "group.bad_target"
        needed = MODERATOR if target.role == MEMBER else FACILITATOR
        if not self._may(op, needed):
            return "group.forbidden"
        self._end_membership(remove.target, remove.cut, op, "banned" if remove.ban else "removed")
        if remove.ban:
            s.banned.add(remove.target)
        return None

    def _role(self, op: Entry, change: RoleChange) -> str | None:
        s = self.s
        target = s.members.get(change.target)
        if target is None:
            return "group.bad_target"
        lowering = RANK[change.role] < RANK[target.role]
        raising = RANK[change.role] > RANK[target.role]
        if change.target == op.author and raising:
            return "group.self_escalation"
        if not self._may(op, FACILITATOR):
            return "group.forbidden"
        if lowering:
            self._restrict(change.target, op, target.role, "demoted")
        elif raising and self._unseen(op, change.target):
            return "group.concurrent_restriction"
        target.role = change.role  # an equal role: applied, no effect
        if lowering and change.role != FACILITATOR:
            self._revoke_admissions_by(change.target, op)
        return None

    def _rekey(self, op: Entry, rekey: Rekey) -> str | None:
        s = self.s
        if op.author not in s.members:
            return "group.not_member"
        if op.author not in rekey.recipients or not rekey.recipients <= s.members.keys():
            return "group.bad_recipients"
        history_to = {key for key, _ in rekey.history}
        if history_to and (s.history == HISTORY_FROM_JOIN or not history_to <= s.members.keys()):
            return "group.bad_recipients"
        if rekey.document is not None:
            s.members[op.author].x25519 = rekey.document.x_public_key
            s.members[op.author].key_set_by = op.entry_id
            s.x25519[op.author] = rekey.document.x_public_key
            s.documents[op.author] = op.entry_id
        stale = any(
            m.key_set_by != op.entry_id and not self._saw_entry(op, m.key_set_by)
            for key, m in s.members.items()
            if key in rekey.recipients
        )
        s.epochs.append(Epoch(op.entry_id, len(s.epochs) + 1, op.author, rekey.recipients, stale, op.timestamp_ms))
        return None
