"""Safety and liveness checkers, run over a finished run's history and final stores.

Safety (must hold at every instant, faults or not):

* ``signatures``: every entry an honest node stored verifies (signature, payload hash), re-checked
  here from its stored bytes with the protocol's decoder.
* ``no_forgery``: every stored entry that names an honest member as its author is one that
  member's client signed (the simulator knows every entry each client signed).
* ``authorised``: every message an honest node still holds a payload for was written inside its
  author's membership, by the group state recomputed here from the node's stored control log.
* ``removed_cannot_decrypt``: a removed member, given every stored entry (as if a node leaked
  them all), can decrypt none of the messages written by members who had seen the removal.

Liveness (once faults stop):

* ``converged``: within ``settle`` seconds after the last fault ends, every live honest host of
  every group holds the same log heads and the same group state (a proven equivocator's log may
  end on a different branch on each host; the hosts must then all hold the proof).
* ``fork_proven``: an equivocating author ends up proven (a fork proof) on every honest host of
  its group.
* ``not_penalised``: no honest node ever penalises another honest node (what an equivocator
  causes is never the relaying node's fault, spec 16.5).

Each check returns the violations it found (a sentence each); an empty list is a pass.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from holdspace.node.core import unpack_record
from holdspace.node.store import StoredEntry
from holdspace.protocol import kinds
from holdspace.protocol.e2ee import GroupKeys
from holdspace.protocol.entry import Entry, decode_entry
from holdspace.protocol.errors import HoldspaceError
from holdspace.protocol.group import compute_state
from holdspace.protocol.payloads import Rekey, decode_envelope, decode_payload


@dataclass
class RemovedMember:
    key: bytes
    keys: GroupKeys  # its key state at the end of the run
    group: bytes


@dataclass
class Evidence:
    """What the checkers read: the final stores of the honest nodes, and what the clients know."""

    stores: dict[bytes, dict[str, list[tuple[int, StoredEntry]]]]  # group -> node -> entries
    honest_authors: set[bytes]  # pseudonyms of members that never misbehaved
    signed: set[bytes]  # ids of every entry an honest member's client signed
    removed: list[RemovedMember] = field(default_factory=list)
    excluding: dict[bytes, list[bytes]] = field(default_factory=dict)  # message id -> removed keys
    equivocators: dict[bytes, set[bytes]] = field(default_factory=dict)  # group -> authors who forked
    proofs: dict[bytes, dict[str, set[bytes]]] = field(default_factory=dict)  # group -> node -> proven authors
    penalties: set[tuple[str, str]] = field(default_factory=set)  # (honest node, honest peer it penalised)
    # what the checkers computed once for bytes several hosts hold alike (the same stored record,
    # the same control log): a verdict is a function of the bytes, so it is shared, never re-derived
    verdicts: dict[bytes, Entry | str] = field(default_factory=dict, repr=False)  # record -> entry or code
    decoded: dict[bytes, Entry] = field(default_factory=dict, repr=False)  # record -> entry, unverified
    states: dict[tuple[bytes, ...], Any] = field(default_factory=dict, repr=False)  # control ids -> state


def _verified(ev: Evidence, record: StoredEntry) -> Entry | str:
    """The entry of a stored record, decoded and verified (signature, payload hash), or the code
    it fails with."""
    got = ev.verdicts.get(record.raw)
    if got is None:
        header, payload = unpack_record(record.raw)
        try:
            got = decode_entry(header, payload, now_ms=None)
        except HoldspaceError as err:
            got = err.code
        ev.verdicts[record.raw] = got
    return got


def signatures(ev: Evidence) -> list[str]:
    out = []
    for group, nodes in ev.stores.items():
        for node, raw in nodes.items():
            for _cursor, record in raw:
                entry = _verified(ev, record)
                if isinstance(entry, str):
                    out.append(f"{node} stored an entry of group {group.hex()[:8]} that fails {entry}")
                    continue
                if entry.entry_id != record.entry_id or entry.author != record.author or entry.seq != record.seq:
                    out.append(f"{node} stored entry {record.entry_id.hex()[:8]} under another position")
    return out


def no_forgery(ev: Evidence) -> list[str]:
    out = []
    for nodes in ev.stores.values():
        for node, raw in nodes.items():
            for _cursor, record in raw:
                if record.author in ev.honest_authors and record.entry_id not in ev.signed:
                    out.append(f"{node} stored {record.entry_id.hex()[:8]}, which its author's client never signed")
    return out


def _decoded(ev: Evidence, record: StoredEntry) -> Entry:
    entry = ev.decoded.get(record.raw)
    if entry is None:
        header, payload = unpack_record(record.raw)
        entry = ev.decoded[record.raw] = decode_entry(header, payload, now_ms=None, verify=False)
    return entry


def _state_and_entries(ev: Evidence, raw: list[tuple[int, StoredEntry]]) -> tuple[Any, list[Entry]]:
    """A node's entries of a group, and the group state recomputed from its stored control log
    (the same log on several hosts is computed once)."""
    entries = [_decoded(ev, record) for _cursor, record in raw]
    genesis = next((e for e in entries if e.kind == kinds.GENESIS), None)
    if genesis is None:
        return None, entries
    controls = [e for e in entries if kinds.is_control(e.kind) and e.payload is not None]
    key = (genesis.entry_id, *(e.entry_id for e in controls))
    if key not in ev.states:
        ev.states[key] = compute_state(genesis, controls)
    return ev.states[key], entries


def authorised(ev: Evidence) -> list[str]:
    out = []
    for group, nodes in ev.stores.items():
        for node, raw in nodes.items():
            state, entries = _state_and_entries(ev, raw)
            if state is None:
                out.append(f"{node} holds entries of group {group.hex()[:8]} but not its genesis")
                continue
            for e in entries:
                if e.kind == kinds.MESSAGE and e.payload is not None and not state.authorised_at(e.author, e.seq):
                    out.append(
                        f"{node} holds the words of {e.entry_id.hex()[:8]}, written outside its author's membership"
                    )
    return out


def removed_cannot_decrypt(ev: Evidence) -> list[str]:
    out = []
    for removed in ev.removed:
        nodes = ev.stores.get(removed.group, {})
        if not nodes:
            continue
        _node, raw = next(iter(nodes.items()))
        state, entries = _state_and_entries(ev, raw)
        if state is None:
            continue
        keys = copy.deepcopy(removed.keys)
        by_id = {e.entry_id: e for e in entries}
        for epoch in state.epochs:  # try every epoch, recipient or not
            if epoch.entry_id in keys.epochs or epoch.entry_id not in by_id:
                continue
            try:
                rekey = decode_payload(kinds.REKEY, by_id[epoch.entry_id].payload or b"", epoch.author)
                assert isinstance(rekey, Rekey)
                keys.open_rekey(epoch, rekey)
            except HoldspaceError:
                continue
        for e in entries:
            if e.kind != kinds.MESSAGE or e.payload is None or removed.key not in ev.excluding.get(e.entry_id, ()):
                continue
            try:
                keys.decrypt(e.author, e.seq, decode_envelope(e.payload))
            except HoldspaceError:
                continue
            out.append(
                f"removed member {removed.key.hex()[:8]} decrypted {e.entry_id.hex()[:8]}, sent after its removal"
            )
    return out


def fork_proven(ev: Evidence) -> list[str]:
    out = []
    for group, authors in ev.equivocators.items():
        for node, proven in ev.proofs.get(group, {}).items():
            for author in sorted(authors - proven):
                out.append(f"{node} holds no proof that {author.hex()[:8]} forked its log in group {group.hex()[:8]}")
    return out


def not_penalised(ev: Evidence) -> list[str]:
    return [f"{node} penalised {peer}, an honest node" for node, peer in sorted(ev.penalties)]


SAFETY = {
    "signatures": signatures,
    "no_forgery": no_forgery,
    "authorised": authorised,
    "removed_cannot_decrypt": removed_cannot_decrypt,
}


def convergence(samples: list[dict[str, Any]], faults_end: float, settle: float) -> tuple[float | None, list[str]]:
    """Seconds from ``faults_end`` (virtual, absolute) until every group has been seen converged
    (each group's first converged sample from then on; groups with traffic in flight at one sample
    are caught at a later one), and the liveness violation if that exceeds ``settle``."""
    after = [s for s in samples if s["t"] >= round(faults_end, 6)]
    if not after:
        return None, ["no convergence sample after the last fault"]
    pending = set(range(after[0]["groups"]))
    for s in after:
        pending -= set(range(s["groups"])) - set(s["behind"])
        if not pending:
            took = max(0.0, round(s["t"] - faults_end, 6))
            if took > settle:
                return took, [f"the honest nodes took {took:g} s to converge after the last fault (bound {settle:g} s)"]
            return took, []
    return None, [f"{len(pending)} groups never converged on their honest hosts after the last fault"]
