"""The forked-position rule (spec 12.4, 12.5 "Forked positions"): what a proven equivocation does to
group state, so that every host computes the same state whichever twin it happened to hold.

An author proven (by a fork proof, 7.2) to have signed two entries at seq ``s`` of one group's log has
its log **void from s on** for group state: its control entries at seq >= s are left out of the DAG
(outcome ``group.forked``), whichever branch they are on. A ``d`` reference naming such an entry (a
twin, or anything after it) counts as a reference to that author's last held control entry before
``s`` (a true ancestor of every entry at or after ``s``), or as no reference when there is none.
Honest authors who named a twin, or what followed it, before the fork was known are therefore never
blocked, and no id of the forked position ever enters the linearisation, the heads or the fingerprint.

Invariants:

* The result depends only on the set of held entries outside the void positions and on the forked seq
  of each author (the smallest forked seq proven): two hosts holding different twins compute the same.
* Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from holdspace.protocol.entry import Entry
from holdspace.protocol.log import ForkProof

FORKED = "group.forked"  # the outcome of a held control entry at or after a forked position


@dataclass(frozen=True, slots=True)
class Forks:
    """A group's proven forks. ``forked``: author -> the smallest seq at which it equivocated.
    ``known``: ids of entries at a forked position or after it, with their author, that a host may
    not hold (the twins of each proof, verified headers of the other branch it was sent)."""

    forked: Mapping[bytes, int] = field(default_factory=dict)
    known: Mapping[bytes, bytes] = field(default_factory=dict)  # entry id -> author

    def __bool__(self) -> bool:
        return bool(self.forked)

    def void_at(self, author: bytes, seq: int) -> bool:
        """Whether ``author``'s entry at ``seq`` is at or after a forked position."""
        first = self.forked.get(author)
        return first is not None and seq >= first

    def names_void(self, entry_id: bytes, held: Mapping[bytes, Entry]) -> bytes | None:
        """The author, if ``entry_id`` names an entry at or after that author's forked position
        (held, or known from a proof or a header); None otherwise."""
        entry = held.get(entry_id)
        if entry is not None:
            return entry.author if self.void_at(entry.author, entry.seq) else None
        return self.known.get(entry_id)


def forks_of(proofs: Iterable[ForkProof], others: Iterable[Entry] = ()) -> Forks:
    """The :class:`Forks` of verified ``proofs`` (of one group) and of verified headers ``others``
    (entries of a proven author sent to this host that it could not place: its other branch)."""
    forked: dict[bytes, int] = {}
    known: dict[bytes, bytes] = {}
    proofs = list(proofs)
    for proof in proofs:
        author = proof.author
        forked[author] = min(forked.get(author, proof.first.seq), proof.first.seq)
    for proof in proofs:
        for twin in (proof.first, proof.second):
            known[twin.entry_id] = twin.author
    for entry in others:
        if entry.seq >= forked.get(entry.author, entry.seq + 1):
            known[entry.entry_id] = entry.author
    return Forks(forked, known)


@dataclass(frozen=True, slots=True)
class ForkPlan:
    """What :func:`plan` decides for one computation: the held entries that are void, and the ``d``
    of every other entry with references to void entries replaced."""

    void: frozenset[bytes]
    deps: dict[bytes, list[bytes]]


def plan(held: Mapping[bytes, Entry], deps: Mapping[bytes, Iterable[bytes]], forks: Forks) -> ForkPlan:
    """Apply the forked-position rule to ``held`` (entry id -> entry, the genesis included) whose
    ``d`` are ``deps``: the void entries, and each remaining entry's ``d`` where a reference to a
    void entry (held or known) becomes one to its author's last held control entry before the
    forked position (deduplicated, order kept), or is dropped when there is none."""
    void = frozenset(eid for eid, e in held.items() if forks.void_at(e.author, e.seq))
    before: dict[bytes, tuple[int, bytes]] = {}  # forked author -> its last held (seq, id) before the fork
    for eid, e in held.items():
        if e.author in forks.forked and eid not in void and (e.seq, eid) > before.get(e.author, (0, b"")):
            before[e.author] = (e.seq, eid)
    out: dict[bytes, list[bytes]] = {}
    for eid, ds in deps.items():
        if eid in void:
            continue
        rewritten: list[bytes] = []
        for named in ds:
            author = forks.names_void(named, held)
            target = named if author is None else before.get(author, (0, None))[1]
            if target is not None and target not in rewritten:
                rewritten.append(target)
        out[eid] = rewritten
    return ForkPlan(void, out)
