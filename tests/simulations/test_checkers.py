"""The checkers pass on an honest run and catch each violation they exist for (each is shown to
fail on evidence tampered in exactly its way)."""

from __future__ import annotations

import copy
import dataclasses

import pytest

from holdspace.node.core import pack_record, unpack_record
from holdspace.node.store import StoredEntry
from holdspace.protocol import kinds
from holdspace.protocol.author import LogWriter
from holdspace.protocol.e2ee import GroupKeys
from holdspace.protocol.entry import decode_entry
from holdspace.protocol.identity import Pseudonym
from holdspace.simulations import checkers
from holdspace.simulations.run import evidence
from holdspace.simulations.runtime import Simulation, new_directory, remove_directory, run_in_trio
from holdspace.simulations.scenario import parse, plan

SCENARIO = """
duration = "4m"
settle = "1m"
[nodes]
count = 3
[groups]
count = 1
members = 5
remote_fraction = 0.6
[traffic]
messages_per_member_hour = 60
[[faults]]
kind = "remove"
at = "1m"
group = 0
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Simulation:
    scenario = parse(SCENARIO)
    directory = new_directory()
    try:
        sim = Simulation(scenario, plan(scenario, 11), directory, history=tmp_path_factory.mktemp("run") / "h.jsonl")
        run_in_trio(sim)
        sim.history.close()
    finally:
        remove_directory(directory)
    return sim


def test_an_honest_run_passes_every_check(run: Simulation) -> None:
    ev = evidence(run)
    assert ev.removed and ev.excluding, "the run removed a member and kept talking"
    for name, check in checkers.SAFETY.items():
        assert check(ev) == [], name
    took, problems = checkers.convergence(run.history.of("sample"), run.history.t0, 60.0)
    assert problems == [] and took is not None


def _tampered(run: Simulation, change: object) -> checkers.Evidence:
    ev = evidence(run)
    ev.stores = copy.deepcopy(ev.stores)
    group = next(iter(ev.stores))
    node = next(iter(ev.stores[group]))
    entries = ev.stores[group][node]
    change(group, entries)  # type: ignore[operator]
    return ev


def test_a_stored_entry_with_a_broken_signature_is_caught(run: Simulation) -> None:
    def flip(group: bytes, entries: list[tuple[int, StoredEntry]]) -> None:
        cursor, record = entries[-1]
        header, payload = unpack_record(record.raw)
        bad = header[:-1] + bytes([header[-1] ^ 1])  # the signature is the header's last field
        entries[-1] = (cursor, dataclasses.replace(record, raw=pack_record_raw(bad, payload)))

    assert checkers.signatures(_tampered(run, flip))


def pack_record_raw(header: bytes, payload: bytes | None) -> bytes:
    return pack_record(dataclasses.replace(decode_entry(header, payload, now_ms=None, verify=False)))


def test_an_entry_its_author_never_signed_is_caught(run: Simulation) -> None:
    ev = evidence(run)
    victim = next(iter(ev.honest_authors))
    ev.signed = {i for i in ev.signed if i not in _ids_by(ev, victim)}
    assert checkers.no_forgery(ev)


def _ids_by(ev: checkers.Evidence, author: bytes) -> set[bytes]:
    return {
        r.entry_id
        for nodes in ev.stores.values()
        for entries in nodes.values()
        for _, r in entries
        if r.author == author
    }


def test_words_of_a_non_member_are_caught(run: Simulation) -> None:
    def intrude(group: bytes, entries: list[tuple[int, StoredEntry]]) -> None:
        stranger = Pseudonym.derive(bytes(32), b"stranger")
        entry = LogWriter(stranger, group).append(kinds.MESSAGE, b"\xa0", 1)
        record = StoredEntry(group, entry.author, entry.seq, entry.entry_id, entry.kind, pack_record(entry))
        entries.append((entries[-1][0] + 1, record))

    assert checkers.authorised(_tampered(run, intrude))


def test_a_removed_member_holding_a_later_key_is_caught(run: Simulation) -> None:
    ev = evidence(run)
    removed = ev.removed[0]
    stayed = next(m for m in run.members if m.record is not None and m.key != removed.key and not m.removed)
    assert stayed.record is not None
    # as if the removed member held a current member's key pair: every later epoch opens for it
    fresh = GroupKeys(removed.group, stayed.participant.pseudonym(stayed.record))
    ev.removed = [checkers.RemovedMember(removed.key, fresh, removed.group)]
    assert checkers.removed_cannot_decrypt(ev)


def test_convergence_needs_every_group_once_after_the_faults() -> None:
    samples = [
        {"t": 10.0, "groups": 2, "converged": 0, "behind": [0, 1]},
        {"t": 20.0, "groups": 2, "converged": 1, "behind": [1]},
        {"t": 30.0, "groups": 2, "converged": 1, "behind": [0]},  # group 1 caught up, group 0 busy again
    ]
    assert checkers.convergence(samples, 10.0, 60.0) == (20.0, [])
    took, problems = checkers.convergence(samples, 10.0, 5.0)
    assert took == 20.0 and problems
    assert checkers.convergence(samples[:2], 10.0, 60.0)[1]  # group 1 never seen converged
