"""The node's decisions, without I/O: what to accept, store, husk and let whom read.

The trio runtime (``node.server``) and the simulator drive the same :class:`NodeCore`:

* ``check_entry`` validates an incoming entry completely — entry rules, log placement, group
  admissibility and authorisation (spec 6, 7, 12.6) — against the store *plus* entries accepted but
  not yet committed, and returns a :class:`Decision` saying what to store;
* the driver writes ``decision.record`` durably, then calls ``committed`` (or ``aborted``), which
  returns the follow-up work: payloads to discard (messages a later control entry de-authorised).

Reads go through :class:`EntryReader` (the LMDB store, or an equivalent in-memory one); the core never
writes: writing is the driver's job, so "acknowledged only after a durable commit" is enforced by the
driver awaiting the store before it answers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from holdspace.node import admission, backups
from holdspace.node.admission import Policy, TokenRecord, Usage
from holdspace.node.rates import TokenBucket
from holdspace.node.records import StoredEntry
from holdspace.node.signals import SignalBoard
from holdspace.protocol import codec, crypto, kinds
from holdspace.protocol.entry import Entry, decode_entry, decode_stored_entry
from holdspace.protocol.errors import AdmissionError, CodecError, GroupError, HoldspaceError
from holdspace.protocol.federation import FederationError
from holdspace.protocol.forks import Forks, forks_of
from holdspace.protocol.frames import ProtocolError
from holdspace.protocol.group import (
    MAX_GROUP_HOSTS,
    Computation,
    DecodeCache,
    GroupState,
    append,
    check_belongs,
    check_genesis,
    compute,
    compute_state,
    extend,
    group_id_of,
    redundant_dependency,
    saw_every_head,
    silenced,
)
from holdspace.protocol.log import ForkProof, LogHead, Placement, place, verify_fork_proof
from holdspace.protocol.payloads import (
    MAX_DEPS,
    Erase,
    Invite,
    Join,
    Mute,
    Redact,
    Remove,
    decode_payload,
    envelope_expiry,
    join_proof_message,
)
from holdspace.protocol.schedule import retention_deadline

GROUP_PAGE = 1000
LOAD_PAGE = 500  # groups whose control entries start-up reads in one read transaction
_ALL = 1 << 62  # meta_items: no limit
FORK_PREFIX = b"fork:"  # store meta: fork:<group><author> -> the fork proof with the smallest seq
OTHER_PREFIX = b"forkother:"  # store meta: forkother:<group><entry id> -> header of a void entry not held
MAX_OTHER_BRANCH = 1024  # such headers remembered per group (spec 12.5: later ones are held and retried)
#: what a host stores from peers that takes no effect (spec 12.6 step 4): joins through one invite, per
#: use it grants (each of a group's at most 32 hosts admits at most its uses: honest hosts never reach it)
MAX_JOINS_PER_USE = MAX_GROUP_HOSTS
#: entries of a pseudonym past its membership (after its last interval, or its ignored join)
MAX_PAST_MEMBERSHIP = 64
#: a client's rejoin judged by a full computation, per group
TRIAL_BURST = 5
TRIAL_EVERY_MS = 5_000


class EntryReader(Protocol):
    """The read side of the store the core needs (``node.store.Store`` implements it)."""

    def head(self, group: bytes, author: bytes) -> tuple[int, bytes] | None: ...
    def heads(self, group: bytes) -> dict[bytes, tuple[int, bytes]]: ...
    def count(self, group: bytes) -> int: ...
    def get_at(self, group: bytes, author: bytes, seq: int) -> StoredEntry | None: ...
    def has(self, entry_id: bytes) -> bool: ...
    def get(self, entry_id: bytes) -> StoredEntry | None: ...
    def iter_group(self, group: bytes, after_cursor: int = 0, limit: int = ...) -> list[tuple[int, StoredEntry]]: ...
    def controls(self, group: bytes) -> list[StoredEntry]: ...
    def controls_of(self, groups: Sequence[bytes]) -> list[list[StoredEntry]]: ...
    def groups(self) -> list[bytes]: ...
    def meta_items(self, prefix: bytes, limit: int = ...) -> list[tuple[bytes, bytes]]: ...
    def get_meta(self, key: bytes) -> bytes | None: ...
    def get_backup(self, backup_id: bytes) -> bytes | None: ...
    def backup_size(self, backup_id: bytes) -> int: ...
    def usage(self, group: bytes) -> tuple[int, int]:
        """(bytes stored in ``group``, bytes stored in the node), from counters: O(1)."""


def _by_group(items: list[tuple[bytes, bytes]], prefix_size: int) -> dict[bytes, list[bytes]]:
    """Meta values keyed ``<prefix><group><...>``, grouped by group, in key order."""
    out: dict[bytes, list[bytes]] = {}
    for key, value in items:
        out.setdefault(key[prefix_size : prefix_size + 32], []).append(value)
    return out


def _invite_of(ctx: GroupContext, join: Join) -> Invite | None:
    """The payload of the invite ``join`` redeems, if this node holds that invite."""
    invite = ctx.controls.get(join.invite_id)
    if invite is None or invite.kind != kinds.INVITE:
        return None
    payload = ctx.cache.payloads.get(invite.entry_id)
    if payload is None:
        payload = decode_payload(kinds.INVITE, invite.payload or b"", invite.author)
    assert isinstance(payload, Invite)
    return payload


def _proof_holds(ctx: GroupContext, group_id: bytes, entry: Entry, join: Join, invite: Invite) -> bool:
    """Whether ``join``'s invite proof verifies against ``invite``; verified once per join and kept in
    the group's cache (applying the join, or recording its verdict, does not verify it again)."""
    known = ctx.cache.proofs.get(entry.entry_id)
    if known is None:
        message = join_proof_message(group_id, entry.author, join.invite_id)
        # every host and member checks this proof: the curve arithmetic once per process (remember)
        known = crypto.ed25519_verify(invite.invite_key, message, join.proof, remember=True)
        ctx.cache.proofs[entry.entry_id] = known
    return known


def lost_seqs(was: list[tuple[int, int | None]], now: list[tuple[int, int | None]], head: int) -> list[int]:
    """The seqs up to ``head`` inside the intervals ``was`` and outside ``now`` (:func:`inside_intervals`:
    ``(start, end]``, end None while open), in O(intervals² + seqs returned): a removal costs what it
    takes away (the entries after its cut), never a walk of the author's whole log."""
    lost: list[int] = []
    for start, end in was:
        last = head if end is None else min(end, head)
        seq = start + 1
        while seq <= last:
            covering = [e for s, e in now if s < seq and (e is None or seq <= e)]
            if covering:
                if None in covering:
                    break
                seq = max(e for e in covering if e is not None) + 1
                continue
            nxt = min((s for s, _ in now if s >= seq), default=last)  # an interval opening at s covers from s + 1
            stop = min(last, nxt)
            lost.extend(range(seq, stop + 1))
            seq = stop + 1
    return sorted(set(lost))


def pack_record(entry: Entry) -> bytes:
    """A stored entry's bytes: ``[header, payload or null]`` (null for a husk)."""
    return codec.encode([entry.raw, entry.payload])


def unpack_record(raw: bytes) -> tuple[bytes, bytes | None]:
    """(header, payload or None) of a stored record (:func:`pack_record`'s bytes, read back from the
    node's own store: ``codec.decode_stored``)."""
    value = codec.decode_stored(raw)
    assert isinstance(value, list) and len(value) == 2 and isinstance(value[0], bytes)
    payload = value[1]
    assert payload is None or isinstance(payload, bytes)
    return value[0], payload


def to_record(entry: Entry, group_id: bytes, *, husk: bool, proof: bool | None = None) -> StoredEntry:
    """The record to store; ``proof``: a join's invite proof verdict (:attr:`StoredEntry.proof`)."""
    stored = entry.without_payload() if husk else entry
    return StoredEntry(group_id, entry.author, entry.seq, entry.entry_id, entry.kind, pack_record(stored), proof)


def from_record(record: StoredEntry) -> Entry:
    """The entry of a stored record: every rule held when the node stored it, none is checked again
    (``decode_stored_entry``; ``holdspace node check`` re-verifies the store)."""
    header, payload = unpack_record(record.raw)
    return decode_stored_entry(header, payload)


@dataclass(slots=True)
class Decision:
    """An entry to store. ``outcome`` is the code to answer with when the entry is stored but not
    effective (an ignored control entry, a husked message); None when it is fully accepted. On the
    peer path a control entry's outcome is not computed here (it is stored either way): read it from
    the state after the commit."""

    entry: Entry
    group_id: bytes
    record: StoredEntry
    husk: bool
    outcome: str | None
    duplicate: bool = False
    deadline: int | None = None  # when every host must delete the payload (expiry, session retention)
    spend: bytes | None = None  # the hash of the operator's token this new group takes a use of


@dataclass(slots=True)
class GroupContext:
    genesis: Entry
    controls: dict[bytes, Entry] = field(default_factory=dict)
    joined: dict[bytes, int] = field(default_factory=dict)  # author -> seq of its first admissible join (creator: 1)
    joins: dict[bytes, int] = field(default_factory=dict)  # invite id -> joins through it held here
    trials: TokenBucket | None = None  # full computations of a client's entry (``trial_allowed``)
    cache: DecodeCache = field(default_factory=DecodeCache)
    state: GroupState | None = None  # None: controls were added since; ``recompute`` brings it up to date
    comp: Computation | None = None  # the computation behind ``state``, extended in place when possible
    fresh: list[bytes] = field(default_factory=list)  # controls added since ``comp``, in arrival order
    committed_intervals: dict[bytes, list[tuple[int, int | None]]] | None = None  # at the last commit
    snapshot_of: tuple[GroupState, int] | None = None  # the state ``committed_intervals`` copied, and its touched
    proofs: dict[bytes, ForkProof] = field(default_factory=dict)  # forked author -> proof (smallest seq)
    others: dict[bytes, Entry] = field(default_factory=dict)  # headers at forked positions, not held
    forks: Forks = field(default_factory=Forks)  # of ``proofs`` and ``others`` (protocol.forks)

    generation: int = 0  # bumped whenever the held set changes other than by adding entries
    previous: GroupState | None = None  # the last state known, served to readers while one is computed

    def trial_allowed(self, now_ms: int) -> bool:
        """Whether a client's rejoin (a join whose author already has entries: it does not land at the
        end of L) may be judged by a full computation now: at most ``TRIAL_BURST`` at once and one per
        ``TRIAL_EVERY_MS`` after, per group, so that a removed member replaying a rejoin cannot make
        the node compute the whole group at its publish rate (the client retries later). A newcomer's
        join racing another newcomer's is not counted: a burst of people joining at once is honest."""
        if self.trials is None:
            self.trials = TokenBucket(1 / TRIAL_EVERY_MS, TRIAL_BURST, now_ms)
        return self.trials.take(now_ms)

    def count_join(self, entry: Entry) -> None:
        """Bookkeeping for a join now held: its author joined (12.6 step 2) and its invite has one more."""
        if entry.author not in self.joined:
            self.joined[entry.author] = entry.seq
        invite_id = self._invite_of(entry)
        self.joins[invite_id] = self.joins.get(invite_id, 0) + 1

    def uncount_join(self, entry: Entry) -> None:
        """:meth:`count_join` undone (a write that failed)."""
        invite_id = self._invite_of(entry)
        self.joins[invite_id] -= 1
        if self.joined.get(entry.author) == entry.seq:
            del self.joined[entry.author]
            later = [e.seq for e in self.controls.values() if e.kind == kinds.JOIN and e.author == entry.author]
            if later:
                self.joined[entry.author] = min(later)

    def _invite_of(self, join: Entry) -> bytes:
        payload = self.cache.payloads.get(join.entry_id)
        if payload is None:
            payload = self.cache.payloads[join.entry_id] = decode_payload(join.kind, join.payload or b"", join.author)
        assert isinstance(payload, Join)
        return payload.invite_id

    def set_forks(self) -> None:
        """``forks`` from ``proofs`` and ``others``; the state is computed afresh (never extended)."""
        self.forks = forks_of(self.proofs.values(), self.others.values())
        self.spoil()

    def advance(self) -> bool:
        """Bring the computation up to date by applying the entries added since at the end of L, where
        :func:`protocol.group.extend` can (cheap, whatever the group's age). False if the state must
        be computed afresh: the computation is then dropped."""
        if self.state is not None and self.comp is not None and not self.fresh:
            return True
        if self.comp is None:
            return False
        if (
            all(extend(self.comp, self.controls[e], self.cache) for e in self.fresh)
            and len(self.comp.state.outcomes) == len(self.controls) + 1  # every held entry (and the genesis)
        ):
            self.fresh.clear()
            self.state = self.comp.state
            return True
        self.spoil()
        return False

    def snapshot(self) -> tuple[int, list[Entry]]:
        """What a full computation off the event loop starts from: (generation, the entries held)."""
        return self.generation, list(self.controls.values())

    def install(self, generation: int, held: list[Entry], comp: Computation) -> None:
        """Take a computation of ``held`` made elsewhere (a worker thread), unless the held set changed
        other than by additions since its snapshot, or the state was computed meanwhile; entries added
        since are applied later, as any fresh entries are."""
        if generation != self.generation or self.comp is not None:
            return
        counted = {e.entry_id for e in held}
        self.comp = comp
        self.fresh = [eid for eid in self.controls if eid not in counted]
        self.state = None if self.fresh else comp.state

    def recompute(self) -> GroupState:
        """The state of every control entry held (stored or reserved): :meth:`advance`, else computed
        afresh here (the node's runtime does that in a worker thread first: ``Node.ready_group``)."""
        if not self.advance():
            self.comp = compute(self.genesis, self.controls.values(), self.cache, self.forks or None)
            self.state = self.comp.state
        assert self.state is not None
        return self.state

    def computation(self) -> Computation:
        """The computation of every control entry held, brought up to date (:meth:`recompute`, which
        returns at once when nothing was added since)."""
        self.recompute()
        assert self.comp is not None
        return self.comp

    def view(self) -> GroupState:
        """The state for serving reads: the current one, or while it is being computed afresh (in a
        worker thread), the last one known; never a computation on the caller's thread if a state was
        known. Deciding on entries uses the current state only."""
        if self.state is not None:
            return self.state
        if self.previous is not None:
            return self.previous
        return self.recompute()

    def spoil(self) -> None:
        """The computation no longer describes the held set: the next read computes afresh."""
        if self.comp is not None:
            self.previous = self.comp.state
        self.state, self.comp = None, None
        self.fresh.clear()
        self.generation += 1

    def snapshot_intervals(self) -> dict[bytes, list[tuple[int, int | None]]]:
        """Bring ``committed_intervals`` up to the current state; returns, for each key whose intervals
        may have changed since the last snapshot, its intervals then. When the state was extended in
        place since (the usual case) only the keys it touched are copied and compared: O(what changed),
        not O(members); after a computation afresh, every key."""
        state = self.state or self.recompute()
        committed = self.committed_intervals if self.committed_intervals is not None else {}
        if self.snapshot_of is not None and self.snapshot_of[0] is state:
            keys: Iterable[bytes] = set(state.touched[self.snapshot_of[1] :])
        else:
            keys = state.intervals.keys() | committed.keys()
        before: dict[bytes, list[tuple[int, int | None]]] = {}
        for key in keys:
            before[key] = committed.get(key, [])
            if key in state.intervals:
                committed[key] = list(state.intervals[key])
            else:
                committed.pop(key, None)
        self.committed_intervals = committed
        self.snapshot_of = (state, len(state.touched))
        return before


@dataclass(slots=True)
class Followup:
    """Work a commit leaves for the driver."""

    group_id: bytes
    forget_payloads: list[tuple[bytes, int]]  # (author, seq) of messages no longer authorised or deleted
    deadlines: list[tuple[int, bytes, int]] = field(default_factory=list)  # (when, author, seq) to delete later


def earliest(*times: int | None) -> int | None:
    return min((t for t in times if t is not None), default=None)


class NodeCore:
    """The node's decisions. ``policy`` is the operator's admission and budgets (``node.admission``),
    replaced whole when the configuration is reloaded. Bookkeeping besides the groups' states:
    ``pending`` (entries reserved, their write under way) and ``reserved_bytes`` (their stored bytes,
    per group and under ``b""`` for the node), ``arriving`` (groups admitted by an ``adopt`` or an
    invitation and not held yet: they count against ``max_groups``), ``token_uses`` (uses of
    operator tokens, counted here before they are durable)."""

    def __init__(self, store: EntryReader, policy: Policy | None = None) -> None:
        self.store = store
        self.policy = policy or Policy()
        self.groups: dict[bytes, GroupContext] = {}
        self.pending: dict[tuple[bytes, bytes], list[Entry]] = {}  # (group, author) -> uncommitted
        self.reserved_bytes: dict[bytes, int] = {}
        self.arriving: dict[bytes, None] = {}
        self.token_uses: dict[bytes, int] = {}
        self.backup_rates = backups.backup_rates()  # per pseudonym, every connection (spec 14.8)
        self.signals = SignalBoard()  # live-call listeners and signal rates (spec 17.11): never stored

    # -- admission (spec 14.6, 16.4) ----------------------------------------------------------

    def hosted_count(self) -> int:
        """Groups held (stored or whose genesis is being written) and groups admitted, arriving.
        O(arriving): groups that arrived are forgotten from it here. Counts every stored group once
        ``load_all`` has run (the runtime runs it before serving)."""
        for group in [g for g in self.arriving if g in self.groups]:
            del self.arriving[group]
        return len(self.groups) + len(self.arriving)

    def refused(self, group: bytes) -> bool:
        return group in self.policy.refused

    def _token(self, token: bytes | None, now_ms: int) -> bytes:
        """The hash of ``token`` if it may start one more group now (:func:`admission.check_token`
        against the stored record and the uses counted here)."""
        if token is None:  # pragma: no cover - check_create refused it already
            raise AdmissionError("admission.token_required")
        digest = admission.token_hash(token)
        raw = self.store.get_meta(admission.TOKEN_PREFIX + digest)
        record = TokenRecord.decode(raw) if raw is not None else None
        if digest not in self.token_uses:
            self.token_uses[digest] = admission.decode_uses(self.store.get_meta(admission.USES_PREFIX + digest))
        admission.check_token(record, self.token_uses[digest], now_ms)
        return digest

    def admit_adopt(self, group: bytes, token: bytes | None, now_ms: int) -> bytes | None:
        """A client's ``adopt`` of a group this node does not hold: :func:`admission.check_create`,
        then its token. On success the group is arriving, and the token (its hash returned) has one
        more use counted; call :meth:`adopt_ended` once the ``adopt`` is over, however it ends."""
        if self.hosts(group):
            return None
        if admission.check_create(self.policy, group, token_given=token is not None, hosted=self.hosted_count()):
            spend = self._token(token, now_ms)
            self.token_uses[spend] += 1
        else:
            spend = None
        self.arriving[group] = None
        return spend

    def adopt_ended(self, group: bytes, spend: bytes | None, *, stored: bool) -> None:
        """An ``adopt`` admitted by :meth:`admit_adopt` is over; a token use is given back unless
        the join was ``stored`` here."""
        self.arriving.pop(group, None)
        if spend is not None and not stored:
            self.token_uses[spend] -= 1

    def admit_invitation(self, group: bytes, *, added_peer: bool) -> None:
        """A peer asks for a group this node does not hold (16.4): :func:`admission.check_invitation`;
        on success the group is arriving until :meth:`invitation_ended`."""
        admission.check_invitation(self.policy, group, added_peer=added_peer, hosted=self.hosted_count())
        self.arriving[group] = None

    def invitation_ended(self, group: bytes) -> None:
        """The invitation to host ``group`` was dropped, or the group arrived."""
        self.arriving.pop(group, None)

    def usage(self, group: bytes) -> Usage:
        """Stored bytes of ``group`` and of the node: the store's counters and the reservations."""
        group_bytes, node_bytes = self.store.usage(group)
        reserved = self.reserved_bytes
        return Usage(group_bytes + reserved.get(group, 0), node_bytes + reserved.get(b"", 0))

    def _check_budget(self, decision: Decision) -> None:
        """:func:`admission.check_budget` for a decision to store (nothing read without budgets)."""
        policy = self.policy
        if decision.duplicate or (policy.max_group_bytes is None and policy.max_node_bytes is None):
            return
        size = len(decision.record.raw)
        admission.check_budget(policy, decision.entry.kind, size, self.usage(decision.group_id))

    # -- identity backups (spec 14.8) ---------------------------------------------------------

    def admit_backup(self, group: bytes, backup_id: bytes, data: bytes, authors: frozenset[bytes], now: float) -> int:
        """Whether ``data`` may be stored as backup ``backup_id`` by a session authenticated as
        ``authors``, naming ``group``: :func:`backups.check_put`, the node's budget counting the
        backups held and those being written. Checked first: the operator does not refuse the group
        (``admission.group_refused``), and the node hosts it (``proto.unknown_group``), each only once
        a pseudonym is authenticated. On success the bytes are reserved: call :meth:`backup_ended`
        with the returned amount once the write is over, however it ends."""
        if authors and self.refused(group):
            raise AdmissionError("admission.group_refused")
        if authors and not self.hosts(group):
            raise ProtocolError("proto.unknown_group")
        state = self.view(group) if authors else None
        members = frozenset(k for k in authors if state is not None and k in state.members)
        replaced = self.store.backup_size(backup_id)
        backups.check_put(
            authors=authors,
            members=members,
            size=len(data),
            replaced=replaced,
            usage=self.usage(group),
            policy=self.policy,
            rates=self.backup_rates,
            now=now,
        )
        reserved = max(len(data) - replaced, 0)
        self.reserved_bytes[b""] = self.reserved_bytes.get(b"", 0) + reserved
        return reserved

    def backup_ended(self, reserved: int) -> None:
        """A write admitted by :meth:`admit_backup` is over (durable, or failed): its reservation goes."""
        left = self.reserved_bytes.get(b"", 0) - reserved
        if left:
            self.reserved_bytes[b""] = left
        else:
            self.reserved_bytes.pop(b"", None)

    # -- groups ------------------------------------------------------------------------------

    def hosts(self, group_id: bytes) -> bool:
        return self.context(group_id) is not None

    def context(self, group_id: bytes) -> GroupContext | None:
        ctx = self.groups.get(group_id)
        if ctx is None and self.store.count(group_id) > 0:
            ctx = self._load(group_id)
        return ctx

    def _load(self, group_id: bytes) -> GroupContext:
        proofs = [raw for _key, raw in self.store.meta_items(FORK_PREFIX + group_id, limit=100_000)]
        others = [header for _key, header in self.store.meta_items(OTHER_PREFIX + group_id, limit=MAX_OTHER_BRANCH)]
        return self._load_from(group_id, self.store.controls(group_id), proofs, others)

    def _load_from(
        self, group_id: bytes, records: list[StoredEntry], proofs: list[bytes], others: list[bytes]
    ) -> GroupContext:
        """A stored group's context, from its control entries (``records``: messages are not read) and
        its fork records (``proofs``, and ``others``: headers at forked positions), its state computed.
        Nothing read here is verified again: every entry, identity document, join proof and fork
        proof in the store was verified when the node accepted it (``DecodeCache.add_stored``,
        ``verify_fork_proof(stored=True)``); only a join whose proof verdict the store does not know
        (a store migrated from format 2) has its proof verified, when the state is computed."""
        ctx: GroupContext | None = None
        cache = DecodeCache()
        controls: list[Entry] = []
        for record in records:  # control entries only: messages are not read
            entry = from_record(record)
            cache.add_stored(entry, record.proof)
            if entry.kind == kinds.GENESIS:
                ctx = GroupContext(entry, joined={entry.author: entry.seq}, cache=cache)
            else:
                controls.append(entry)
        if ctx is None:
            raise GroupError("group.bad_genesis", "stored group has no genesis")
        for entry in controls:
            ctx.controls[entry.entry_id] = entry
            if entry.kind == kinds.JOIN:
                ctx.count_join(entry)
        for raw in proofs:
            proof = verify_fork_proof(raw, stored=True)  # verified before it was stored
            ctx.proofs[proof.author] = proof
        for header in others:
            other = decode_stored_entry(header, None)  # verified before it was stored
            ctx.others[other.entry_id] = other
        if ctx.proofs or ctx.others:
            ctx.set_forks()
        ctx.snapshot_intervals()
        self.groups[group_id] = ctx
        return ctx

    def state(self, group_id: bytes) -> GroupState:
        ctx = self.context(group_id)
        if ctx is None:
            raise ProtocolError("proto.unknown_group")
        return ctx.state or ctx.recompute()

    def fork_proven(self, proof: ForkProof) -> bool:
        """Count a verified fork proof in its group's state (the forked-position rule, spec 12.5).
        True if it is to be stored: the first against its author, or one at a smaller seq (the one
        kept, so that every host ends with the same forked seq)."""
        ctx = self.context(proof.group)
        if ctx is None:
            return True
        held = ctx.proofs.get(proof.author)
        if held is not None and held.first.seq <= proof.first.seq:
            return False
        ctx.proofs[proof.author] = proof
        ctx.set_forks()
        return True

    def other_branch(self, header: bytes) -> Entry | None:
        """A header this node could not place (``log.prev_mismatch``, ``log.seq_gap``): if it is a
        valid entry at or after its author's proven forked position, and not yet known, it is
        remembered (up to ``MAX_OTHER_BRANCH`` per group), so that entries naming it are not held
        for ever; returns it (for the driver to store), else None."""
        try:
            entry = decode_entry(header, None, now_ms=None, verify=False)
            ctx = self.context(entry.log_group)
            if (
                ctx is None
                or not ctx.forks.void_at(entry.author, entry.seq)
                or entry.entry_id in ctx.forks.known
                or len(ctx.others) >= MAX_OTHER_BRANCH
            ):
                return None
            decode_entry(header, None, now_ms=None)  # the signature, now that it matters
        except HoldspaceError:
            return None
        ctx.others[entry.entry_id] = entry
        ctx.set_forks()
        return entry

    def other_headers(self, group_id: bytes) -> list[bytes]:
        """The headers :meth:`other_branch` remembered for the group."""
        ctx = self.context(group_id)
        return [e.raw for e in ctx.others.values()] if ctx is not None else []

    def view(self, group_id: bytes) -> GroupState:
        """The group's state for serving reads (:meth:`GroupContext.view`: while the state is being
        computed afresh, the last one known)."""
        ctx = self.context(group_id)
        if ctx is None:
            raise ProtocolError("proto.unknown_group")
        return ctx.view()

    def identity_document(self, group_id: bytes, key: bytes) -> bytes | None:
        """The identity document ``key`` last published in the group (genesis, join, or its latest
        applied rekey with a new document), as the group's state uses it; None if there is none.
        O(1): the state keeps the entry it took the document from."""
        ctx = self.context(group_id)
        if ctx is None:
            return None
        state = ctx.state or ctx.recompute()
        eid = state.documents.get(key)
        if eid is None:
            return None
        entry = ctx.genesis if eid == ctx.genesis.entry_id else ctx.controls[eid]
        payload = ctx.cache.payloads.get(eid) or decode_payload(entry.kind, entry.payload or b"", entry.author)
        document = getattr(payload, "document", None)
        return document.raw if document is not None else None

    def group_hosts(self, group_id: bytes) -> dict[bytes, str]:
        """The group's host nodes (node key -> address text) as its control log lists them."""
        ctx = self.context(group_id)
        if ctx is None:
            return {}
        return (ctx.state or ctx.recompute()).hosts

    def load_all(self) -> int:
        """Read every stored group's control entries now and compute its state (a node does this once,
        before serving, off the event loop); returns how many groups there are. The control entries
        are read ``LOAD_PAGE`` groups per read transaction, and the fork records of every group in one
        pass per kind (they are rare); a group loaded already is left as it is."""
        groups = self.store.groups()
        proofs = _by_group(self.store.meta_items(FORK_PREFIX, limit=_ALL), len(FORK_PREFIX))
        others = _by_group(self.store.meta_items(OTHER_PREFIX, limit=_ALL), len(OTHER_PREFIX))
        for start in range(0, len(groups), LOAD_PAGE):
            page = [g for g in groups[start : start + LOAD_PAGE] if g not in self.groups]
            for group, records in zip(page, self.store.controls_of(page), strict=True):
                held = others.get(group, [])[:MAX_OTHER_BRANCH]
                self._load_from(group, records, proofs.get(group, []), held)
        return len(groups)

    def all_hosts(self) -> dict[bytes, dict[bytes, str]]:
        """Every hosted group's host list: who this node federates with, group by group (a group
        the operator refuses is left out: it is neither pulled nor served)."""
        return {g: self.group_hosts(g) for g in self.store.groups() if g not in self.policy.refused}

    def serves(self, group_id: bytes, peer: bytes) -> bool:
        """A peer node may pull a group only if the group lists it as a host (spec 16.3), and the
        operator does not refuse the group."""
        return group_id not in self.policy.refused and peer in self.group_hosts(group_id)

    def serve_refusal(self, group_id: bytes, peer: bytes) -> str | None:
        """Why a peer may not pull ``group_id`` (None: it may): ``admission.group_refused`` or
        ``fed.not_host``."""
        if group_id in self.policy.refused:
            return "admission.group_refused"
        return None if peer in self.group_hosts(group_id) else "fed.not_host"

    def may_read(self, group_id: bytes, keys: Iterable[bytes]) -> bool:
        """Reading a group's log is for its current members: a member who left, was removed or was
        banned reads nothing more (not even ciphertext it could not open)."""
        ctx = self.context(group_id)
        if ctx is None:
            return False
        return any(k in ctx.view().members for k in keys)

    # -- entries -----------------------------------------------------------------------------

    def _head(self, group_id: bytes, author: bytes) -> LogHead | None:
        pending = self.pending.get((group_id, author))
        if pending:
            return LogHead(pending[-1].seq, pending[-1].entry_id)
        head = self.store.head(group_id, author)
        return LogHead(*head) if head else None

    def _stored_at(self, group_id: bytes, author: bytes, seq: int) -> Entry | None:
        for e in self.pending.get((group_id, author), ()):
            if e.seq == seq:
                return e
        record = self.store.get_at(group_id, author, seq)
        return from_record(record) if record else None

    @staticmethod
    def decode(header: bytes, payload: bytes | None, *, now_ms: int, from_client: bool) -> Entry:
        """The first of :meth:`check_entry`'s checks: the entry's own rules and signature (spec 6.2).
        The clock check (6.2 check 9) is the ingress node's only: a peer whose clock runs behind the
        origin's must not refuse forever what the origin accepted (hosts would never converge)."""
        return decode_entry(header, payload, now_ms=now_ms if from_client else None)

    def check_entry(
        self,
        header: bytes,
        payload: bytes | None,
        *,
        now_ms: int,
        authors: frozenset[bytes] | None,
        group: bytes | None = None,
        token: bytes | None = None,
        decoded: Entry | None = None,
    ) -> Decision:
        """Everything a node checks before storing (spec 6.2, 7.1, 12.6, 14.6), in order.

        ``authors``: the pseudonyms authenticated by the client sending this entry; None for a
        peer node relaying someone else's entry (which may be a husk). ``group``: the group the entry
        must belong to (a peer's sync event names it). ``token``: the operator's token the client
        gave with a genesis. ``decoded``: what :meth:`decode` gave for these bytes (a caller that
        needed the entry first; it is not decoded twice). Raises a typed error for a rejection
        (nothing to store); returns the :class:`Decision` otherwise.

        Besides the group's rules: the group is not one the operator refuses
        (``admission.group_refused``, from clients and peers); a client's genesis of a group new to
        this node passes :func:`admission.check_create` and, with ``create = "token"``, its token
        (:func:`admission.check_token`; the decision then names the token to spend); and an entry to
        store fits the storage budgets (:func:`admission.check_budget`: ``quota.group_full``,
        ``quota.node_full``). A duplicate is acknowledged whatever the admission and budgets.
        """
        from_client = authors is not None
        entry = decoded if decoded is not None else self.decode(header, payload, now_ms=now_ms, from_client=from_client)
        if authors is not None and entry.author not in authors:
            raise ProtocolError("proto.unauthenticated", "authenticate the entry's author on this connection first")
        if from_client and entry.payload is None:
            raise ProtocolError("proto.payload_required")
        group_id = group_id_of(entry)
        if group is not None and group_id != group:
            raise FederationError("fed.wrong_group")
        admission.check_not_refused(self.policy, group_id)
        if entry.kind == kinds.GENESIS:
            check_genesis(entry)  # needs the payload: raises group.malformed_payload without it
        ctx = self.context(group_id)
        if ctx is None and entry.kind != kinds.GENESIS:
            raise ProtocolError("proto.unknown_group", "this node does not host that group")
        if ctx is not None and entry.kind != kinds.GENESIS:
            check_belongs(entry, group_id)

        head = self._head(group_id, entry.author)
        stored = self._stored_at(group_id, entry.author, entry.seq) if head and entry.seq <= head.seq else None
        if place(head, entry, stored) is Placement.DUPLICATE:  # a fork raises ForkError with its proof
            assert stored is not None
            return Decision(
                stored, group_id, to_record(stored, group_id, husk=stored.payload is None), False, None, True
            )

        if entry.kind == kinds.GENESIS:
            decision = Decision(entry, group_id, to_record(entry, group_id, husk=False), False, None)
            if from_client and ctx is None:
                hosted = self.hosted_count()
                if admission.check_create(self.policy, group_id, token_given=token is not None, hosted=hosted):
                    decision.spend = self._token(token, now_ms)
        elif kinds.is_control(entry.kind):
            assert ctx is not None
            decision = self._check_control(ctx, group_id, entry, now_ms=now_ms, from_client=from_client)
        else:
            assert ctx is not None
            decision = self._check_message(ctx, group_id, entry, now_ms, from_client=from_client)
        self._check_budget(decision)
        return decision

    def _check_control(
        self, ctx: GroupContext, group_id: bytes, entry: Entry, *, now_ms: int, from_client: bool
    ) -> Decision:
        """A control entry's admissibility (spec 12.6) and, from a client, its outcome.

        Checked, in order: it has a payload; its ``d`` names only control entries held here
        (``group.missing_dependency``); a removal's cut names an entry of its target held here
        (``group.bad_cut`` from a client; from a peer the removal waits as for a missing dependency);
        its author joined (``group.not_member``), unless it is a join; a pseudonym's first join names
        its invite and nothing else, and no entry ``d`` names is in the causal past of another it names
        or of the author's previous control entry (``group.bad_deps``: what one author can add to the
        group's graph is bounded by what it has not seen yet); a join is
        admissible (invite held, proof, and from a client not expired by this node's clock). From a
        client also: an entry other than a join saw every head this node holds, stored or being
        stored (``group.stale_deps``: the client fetches and signs again), so that it lands at the
        end of L and is judged in time independent of the group's age; a join is judged at the end of
        L when it lands there (a newcomer's join does, by the joiner tie-break). Only when neither
        applies (more heads than one entry can name, a rejoin, a join racing another newcomer's) is
        the group's state computed afresh with the entry."""
        if entry.payload is None:
            raise GroupError("group.malformed_payload", "a control entry cannot be a husk")
        payload = decode_payload(entry.kind, entry.payload, entry.author)
        deps = getattr(payload, "deps", ())
        missing = [
            d for d in deps if d not in ctx.controls and d != group_id and d not in ctx.forks.known
        ]  # known: a forked position's (12.5)
        if missing:
            raise GroupError("group.missing_dependency", f"{len(missing)} referenced control entries are not here yet")
        if isinstance(payload, Remove):
            self._check_cut(group_id, payload, from_client=from_client)
        if entry.author not in ctx.joined and not isinstance(payload, Join):
            raise GroupError("group.not_member", "the author never joined this group")
        if isinstance(payload, Join) and entry.seq == 1 and deps != (payload.invite_id,):
            raise GroupError("group.bad_deps", "a first join names its invite and nothing else")
        comp = ctx.computation()
        previous = comp.last_of.get(entry.author)
        if redundant_dependency(comp, deps, previous) is not None:
            raise GroupError(
                "group.bad_deps", "d names an entry already in the past of another it names or of the author's last"
            )
        if isinstance(payload, Join) and (entry.author not in ctx.joined or from_client):
            # a client's join, a rejoin too, is refused once its invite has expired by this node's clock
            self._check_join_admissible(ctx, group_id, entry, payload, now_ms if from_client else None)
        proof = self._proof_verdict(ctx, group_id, entry, payload) if isinstance(payload, Join) else None
        state = comp.state
        if not from_client:  # stored whatever its outcome (within bounds); the state is brought up to date on commit
            if isinstance(payload, Join):
                self._check_joins_bound(ctx, payload)
            else:
                self._check_past_membership(ctx, state, entry)
            ctx.cache.payloads[entry.entry_id] = payload
            return Decision(entry, group_id, to_record(entry, group_id, husk=False, proof=proof), False, None)
        ctx.cache.payloads[entry.entry_id] = payload
        if not isinstance(payload, Join):
            parents = [*deps, previous] if previous is not None else list(deps)
            if len(state.heads) <= MAX_DEPS and not saw_every_head(state, parents):
                raise GroupError(
                    "group.stale_deps", "the group changed while this was written: fetch, then sign it again"
                )
        placed, outcome = append(comp, entry, ctx.cache, keep_refused=False)
        if not placed:
            if entry.entry_id in comp.items:  # applied, then found to change a void: comp is spoiled
                ctx.spoil()
            if entry.author in comp.state.latest and not ctx.trial_allowed(now_ms):  # a rejoin
                raise ProtocolError(
                    "proto.rate_limited", "this group is judging other rejoins the long way: retry in a little while"
                )
            outcome = self._judged_afresh(ctx, entry, payload)
        return Decision(entry, group_id, to_record(entry, group_id, husk=False, proof=proof), False, outcome)

    @staticmethod
    def _proof_verdict(ctx: GroupContext, group_id: bytes, entry: Entry, join: Join) -> bool | None:
        """Whether a join's invite proof verifies, kept with its record (``StoredEntry.proof``) so that
        computing the group's state from the store does not verify it again. Known already when the
        join was found admissible; a peer's rejoin (stored whatever its outcome) is verified here, as
        applying it would. None when its invite is not held here (a forked position's, spec 12.5):
        the proof is then verified when the join is applied."""
        invite = _invite_of(ctx, join)
        return None if invite is None else _proof_holds(ctx, group_id, entry, join, invite)

    def _check_cut(self, group_id: bytes, remove: Remove, *, from_client: bool) -> None:
        """A removal's cut ``c`` must name an entry of its target that this node holds (spec 12.6 step 1):
        the remover accepts the target's entries up to ``c``, so ``c`` is one the remover saw, never a
        number beyond what the target wrote (which would leave the target's later messages accepted).
        From a client: ``group.bad_cut``. From a peer: the removal waits, like a missing dependency,
        until the target's log reaches ``c`` here (every honest host stored that entry before the
        removal, so it arrives first in the normal course). For a proven equivocator, up to its forked
        seq is enough: this host may hold the other twin and never the branch the remover saw."""
        held = self._head(group_id, remove.target)
        needed = remove.cut
        ctx = self.groups.get(group_id)
        forked = ctx.forks.forked.get(remove.target) if ctx is not None else None
        if forked is not None:  # a proven equivocator: either twin at its forked seq will do (12.5)
            needed = min(needed, forked)
        if needed <= (held.seq if held is not None else 0):
            return
        if from_client:
            raise GroupError("group.bad_cut", "the cut names an entry of the target that this node does not hold")
        raise GroupError("group.missing_dependency", "the removal's cut names an entry of its target not here yet")

    def _check_joins_bound(self, ctx: GroupContext, join: Join) -> None:
        """From a peer: at most ``MAX_JOINS_PER_USE`` times an invite's uses are stored through it
        (``group.storage_bound``). Each host admits at most the invite's uses from its clients and a
        group has at most 32 hosts, so honest hosts never reach it; a co-host holding a used token
        cannot make others store joins without end."""
        invite = ctx.controls.get(join.invite_id)
        payload = ctx.cache.payloads.get(join.invite_id) if invite is not None else None
        if invite is not None and payload is None:
            payload = decode_payload(invite.kind, invite.payload or b"", invite.author)
        if isinstance(payload, Invite) and ctx.joins.get(join.invite_id, 0) >= MAX_JOINS_PER_USE * payload.max_uses:
            raise GroupError("group.storage_bound", "this host keeps no more joins through that invite")

    def _check_past_membership(self, ctx: GroupContext, state: GroupState, entry: Entry) -> None:
        """From a peer: an entry of a pseudonym outside its membership is stored (a husk, or an ignored
        control entry) only up to ``MAX_PAST_MEMBERSHIP`` entries of its log past the end of its last
        membership interval before it, or past its first join if it never was a member
        (``group.storage_bound``; the peer offers it again later, when this host's state may differ)."""
        if state.authorised_at(entry.author, entry.seq):
            return
        ends = [end for _start, end in state.intervals.get(entry.author, ()) if end is not None and end < entry.seq]
        anchor = max(ends, default=ctx.joined.get(entry.author, entry.seq))
        if entry.seq - anchor > MAX_PAST_MEMBERSHIP:
            raise GroupError(
                "group.storage_bound", f"this host keeps {MAX_PAST_MEMBERSHIP} entries of a non-member, no more"
            )

    def _judged_afresh(self, ctx: GroupContext, entry: Entry, payload: object) -> str | None:
        """A client's entry's outcome from a full computation of the group with it (the rare path)."""
        trial = dict(ctx.controls)
        trial[entry.entry_id] = entry
        state = compute_state(ctx.genesis, trial.values(), ctx.cache, ctx.forks or None)
        if isinstance(payload, Join):
            before = ctx.state or ctx.recompute()
            displaced = [
                eid
                for eid, code in before.outcomes.items()
                if code is None
                and ctx.controls.get(eid) is not None
                and ctx.controls[eid].kind == kinds.JOIN
                and state.outcomes.get(eid) is not None
            ]
            if displaced:  # a newcomer's join must not take the place of a member already admitted here
                raise GroupError("group.invite_exhausted", "the invite's uses are taken by members admitted here")
        return state.outcomes.get(entry.entry_id)

    def _check_join_admissible(
        self, ctx: GroupContext, group_id: bytes, entry: Entry, join: Join, now_ms: int | None
    ) -> None:
        """Admissibility of a join (spec 12.6 step 2): its invite is held, its proof verifies; and from a
        client, the invite has not expired by this node's clock (a join's own date is the joiner's word)."""
        invite_payload = _invite_of(ctx, join)
        if invite_payload is None:
            raise GroupError("group.unknown_invite", "the invite this join redeems is not on this node")
        if not _proof_holds(ctx, group_id, entry, join, invite_payload):
            raise GroupError("group.bad_invite_proof")
        if now_ms is not None and now_ms > invite_payload.expires_ms:
            raise GroupError("group.invite_expired", "the invite expired before this join reached the node")

    def _check_message(
        self, ctx: GroupContext, group_id: bytes, entry: Entry, now_ms: int, *, from_client: bool
    ) -> Decision:
        """A message is stored whole only if authorised, not redacted or erased, and not yet due for
        deletion; otherwise as a husk (spec 12.6, 17.5); a peer's husk of a non-member only within
        :meth:`_check_past_membership`'s bound."""
        if entry.author not in ctx.joined:
            raise GroupError("group.not_member", "the author never joined this group")
        expires: int | None = None
        if entry.payload is not None:
            try:
                expires = envelope_expiry(entry.kind, entry.payload)
            except (GroupError, CodecError) as exc:
                raise GroupError("group.malformed_payload", str(exc)) from exc
        state = ctx.state or ctx.recompute()  # reset by every reserved control entry: never stale
        member = state.authorised_at(entry.author, entry.seq)
        if not member and not from_client:
            self._check_past_membership(ctx, state, entry)
        muted = member and silenced(state, entry)
        authorised = member and not muted
        deadline = earliest(expires, retention_deadline(state, entry.timestamp_ms))
        husk = (
            not authorised
            or entry.payload is None
            or state.deleted(entry.author, entry.seq, entry.entry_id) is not None
            or (deadline is not None and deadline <= now_ms)
        )
        outcome = None if authorised else "group.muted" if muted else "group.not_member"
        decision = Decision(entry, group_id, to_record(entry, group_id, husk=husk), husk, outcome)
        decision.deadline = None if husk else deadline
        return decision

    def deadline(self, group_id: bytes, entry: Entry) -> int | None:
        """When a stored message's payload must go (its own expiry or its session's retention)."""
        if entry.payload is None or entry.kind not in kinds.MESSAGE_KINDS:
            return None
        try:
            expires = envelope_expiry(entry.kind, entry.payload)
        except (GroupError, CodecError):
            expires = None
        return earliest(expires, retention_deadline(self.state(group_id), entry.timestamp_ms))

    def must_delete(self, group_id: bytes, entry: Entry, now_ms: int, deadline: int | None) -> bool:
        """Whether a stored message's payload must be deleted now: unauthorised, redacted, erased
        or due (what a node checks again on start, in case it stopped before deleting, and when a
        deadline comes). ``deadline`` is :meth:`deadline` of the entry."""
        if entry.payload is None or entry.kind not in kinds.MESSAGE_KINDS:
            return False
        state = self.state(group_id)
        if (
            not state.authorised_at(entry.author, entry.seq)
            or silenced(state, entry)
            or state.deleted(entry.author, entry.seq, entry.entry_id)
        ):
            return True
        return deadline is not None and deadline <= now_ms

    # -- commit bookkeeping ------------------------------------------------------------------

    def reserve(self, decision: Decision) -> None:
        """Count ``decision`` as stored (for later checks) while its durable write is under way."""
        if decision.duplicate:
            return
        self.pending.setdefault((decision.group_id, decision.entry.author), []).append(decision.entry)
        self._count_bytes(decision, len(decision.record.raw))
        if decision.spend is not None:
            self.token_uses[decision.spend] += 1
        self._apply(decision)

    def _count_bytes(self, decision: Decision, size: int) -> None:
        reserved = self.reserved_bytes
        for key in (decision.group_id, b""):
            reserved[key] = reserved.get(key, 0) + size
            if not reserved[key]:
                del reserved[key]

    def _apply(self, decision: Decision) -> None:
        entry = decision.entry
        if entry.kind == kinds.GENESIS:
            ctx = GroupContext(entry, joined={entry.author: entry.seq})
            ctx.snapshot_intervals()
            self.groups[decision.group_id] = ctx
        elif kinds.is_control(entry.kind):
            ctx = self.groups[decision.group_id]
            ctx.controls[entry.entry_id] = entry
            ctx.fresh.append(entry.entry_id)
            ctx.previous = ctx.state or ctx.previous
            ctx.state = None  # messages checked from now on see this entry
            if entry.kind == kinds.JOIN:
                ctx.count_join(entry)

    def committed(self, decision: Decision) -> Followup:
        """The decision's record is durable. Returns what became unauthorised because of it: for a
        control entry, stored messages its change of intervals leaves outside; for a message, itself,
        if a control entry committed while it was being written took its authorisation away."""
        self._unpend(decision)
        followup = Followup(decision.group_id, [])
        ctx = self.groups.get(decision.group_id)
        if decision.duplicate or ctx is None:
            return followup
        entry = decision.entry
        if not kinds.is_control(entry.kind):
            state = ctx.state or ctx.recompute()
            if decision.husk:
                return followup
            if (
                not state.authorised_at(entry.author, entry.seq)
                or silenced(state, entry)
                or state.deleted(entry.author, entry.seq, entry.entry_id)
            ):
                followup.forget_payloads.append((entry.author, entry.seq))
            elif decision.deadline is not None:
                followup.deadlines.append((decision.deadline, entry.author, entry.seq))
            return followup
        first = ctx.committed_intervals is None
        after = ctx.state or ctx.recompute()
        changed = ctx.snapshot_intervals()
        if after.outcomes.get(entry.entry_id, "") is None:
            self._deletions(decision.group_id, entry, ctx, followup)
        if first:
            return followup
        for author, was in changed.items():
            if after.intervals.get(author, []) == was:
                continue
            head = self.store.head(decision.group_id, author)
            if head is None:
                continue
            for seq in lost_seqs(was, after.intervals.get(author, []), head[0]):
                followup.forget_payloads.append((author, seq))  # the driver skips control entries
        return followup

    def _deletions(self, group_id: bytes, entry: Entry, ctx: GroupContext, followup: Followup) -> None:
        """What an applied redaction, erasure or session (with retention) deletes among stored messages."""
        payload = ctx.cache.payloads.get(entry.entry_id)
        if isinstance(payload, Redact):
            state = ctx.state or ctx.recompute()
            for target in payload.ids:
                record = self.store.get(target)
                if (
                    record is not None
                    and record.group == group_id  # ids are global: an id of another group names nothing here
                    and record.kind in kinds.MESSAGE_KINDS
                    and state.deleted(record.author, record.seq, record.entry_id)
                ):
                    followup.forget_payloads.append((record.author, record.seq))
        elif isinstance(payload, Mute):  # the target's messages after the cut, dated before the end
            state = ctx.state or ctx.recompute()
            head = self.store.head(group_id, payload.target)
            for seq in range(payload.cut + 1, (head[0] if head else 0) + 1):
                record = self.store.get_at(group_id, payload.target, seq)
                if record is not None and record.kind == kinds.MESSAGE and silenced(state, from_record(record)):
                    followup.forget_payloads.append((payload.target, seq))
        elif isinstance(payload, Erase):  # only what this erase adds to the author's earlier ones
            state = ctx.state or ctx.recompute()
            head = self.store.head(group_id, entry.author)
            for seq in range(state.erase_from.get(entry.author, 0) + 1, min(payload.upto, head[0] if head else 0) + 1):
                followup.forget_payloads.append((entry.author, seq))
        elif entry.kind == kinds.SESSION:  # a rare event: one pass over the group's messages
            after = 0
            while page := self.store.iter_group(group_id, after, GROUP_PAGE):
                for cursor, record in page:
                    after = cursor
                    if record.kind not in kinds.MESSAGE_KINDS:
                        continue
                    message = from_record(record)
                    deadline = self.deadline(group_id, message)
                    if deadline is not None:
                        followup.deadlines.append((deadline, message.author, message.seq))

    def aborted(self, decision: Decision) -> None:
        """The write failed: forget exactly this reservation (and the token use it took); the rest of
        the group's view stands."""
        self._unpend(decision)
        entry = decision.entry
        if decision.duplicate:
            return
        if decision.spend is not None:
            self.token_uses[decision.spend] -= 1
        if entry.kind == kinds.GENESIS:
            self.groups.pop(decision.group_id, None)
            return
        ctx = self.groups.get(decision.group_id)
        if ctx is not None and ctx.controls.pop(entry.entry_id, None) is not None:
            ctx.spoil()  # the entry may be in the computation: compute afresh
            if entry.kind == kinds.JOIN:
                ctx.uncount_join(entry)

    def _unpend(self, decision: Decision) -> None:
        if decision.duplicate:
            return
        key = (decision.group_id, decision.entry.author)
        pending = self.pending.get(key, [])
        if decision.entry in pending:
            pending.remove(decision.entry)
            self._count_bytes(decision, -len(decision.record.raw))
        if not pending:
            self.pending.pop(key, None)
