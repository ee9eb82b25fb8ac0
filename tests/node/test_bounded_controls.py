"""A control entry costs the node a bounded amount, whoever sends it and however old the group.

The node core is driven directly, as the node's runtime drives it, with an in-memory reader and an
explicit ``now`` (no disk, no event loop). What is asserted is what the core *does*: whether it
computes the group's state afresh (the O(group) path) or applies one entry at the end of L, and what
it answers. How long each path takes is measured in ``benchmarks/control_bench.py``.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from holdspace import node
from holdspace.protocol import author, crypto, kinds
from holdspace.protocol.entry import Entry
from holdspace.protocol.errors import GroupError
from holdspace.protocol.identity import Pseudonym, group_context
from holdspace.protocol.payloads import MAX_DEPS, MEMBER, Erase, MessageEnvelope, Redact
from tests.group_world import FAR, World
from tests.node.core_driver import from_client, hosted, store_all

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def full_computations(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts the node core's full computations of a group state while the block runs."""
    calls: list[int] = []
    compute, compute_state = node.core.compute, node.core.compute_state

    def counted_compute(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return compute(*args, **kwargs)

    def counted_compute_state(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return compute_state(*args, **kwargs)

    with monkeypatch.context() as m:
        m.setattr(node.core, "compute", counted_compute)
        m.setattr(node.core, "compute_state", counted_compute_state)
        yield calls


def test_the_node_core_imports_neither_lmdb_nor_trio() -> None:
    code = "import sys, holdspace.node.core, holdspace.node.memory_store; print(sorted({'lmdb', 'trio'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_one_more_join_in_a_group_flooded_with_stale_token_joins_is_not_a_recomputation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A used-up invite token lets anyone sign joins under fresh pseudonyms; a peer stores them (they
    are ignored, but hosts must converge). One more such join is applied at the end of L."""
    w = World()
    founder = w.people["founder"]
    uses = 13  # hosts store at most 32 joins per use of an invite (group.storage_bound): 416 here
    inv, secret = author.invite(founder.writer, w.view("founder"), w.tick(), role=MEMBER, expires_ms=FAR, max_uses=uses)
    w.publish("founder", inv)
    for k in range(uses):
        w.redeem(f"member{k}", secret)  # the invite's uses are gone
    core, reader = hosted(w)
    junk = [
        secret.join(
            author.LogWriter(Pseudonym.derive(i.to_bytes(32, "big"), group_context(w.group_id)), w.group_id), w.tick()
        )
        for i in range(400)
    ]
    store_all(core, reader, junk[:-1], w.clock)
    core.state(w.group_id)
    with full_computations(monkeypatch) as calls:
        store_all(core, reader, junk[-1:], w.clock)
        assert core.state(w.group_id).outcomes[junk[-1].entry_id] == "group.invite_exhausted"  # ignored, stored
    assert calls == []
    reference = node.core.compute_state(w.genesis, [*w.controls(), *junk])
    assert core.state(w.group_id).fingerprint() == reference.fingerprint()


def test_a_first_join_names_its_invite_and_nothing_else() -> None:
    w = World()
    w.add("ana")
    founder = w.people["founder"]
    inv, secret = author.invite(founder.writer, w.view("founder"), w.tick(), role=MEMBER, expires_ms=FAR)
    w.publish("founder", inv)
    core, reader = hosted(w)
    me = Pseudonym.derive(b"\x09" * 32, group_context(w.group_id))
    wide = secret.join(author.LogWriter(me, w.group_id), w.tick(), heads=(w.genesis.entry_id,))
    with pytest.raises(GroupError) as err:
        core.check_entry(wide.raw, wide.payload, now_ms=w.clock, authors=None)
    assert err.value.code == "group.bad_deps"
    assert from_client(core, reader, wide, w.clock) == "group.bad_deps"


def _redaction(w: World, who: str, deps: tuple[bytes, ...], nonce: int) -> Entry:
    person = w.people[who]
    payload = Redact(deps, person.key, (crypto.blake2b_256(nonce.to_bytes(8, "big")),))
    return person.writer.append(kinds.REDACT, payload.encode(), w.tick())


def _rewind(w: World, who: str, entry: Entry) -> None:
    """The client's log position after a refusal: the refused entry's seq is free again."""
    person = w.people[who]
    person.writer = author.LogWriter(person.writer.me, w.group_id, entry.seq - 1, entry.prev)


def test_a_members_control_entries_are_judged_at_the_end_of_l_and_stale_ones_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A plain member's control entries always take effect (redacting its own messages); whatever
    ``d`` it picks, the node never recomputes the group for them: an entry that did not see every
    head is refused (``group.stale_deps``), and so is one naming entries it (or another entry it
    names) saw already (``group.bad_deps``, the latest 1,024 entries as ``d``); nothing is stored and the
    log position stays free."""
    w = World()
    w.add("ana")
    w.rekey("founder")
    core, reader = hosted(w)
    accepted: list[Entry] = []
    with full_computations(monkeypatch) as calls:
        for i in range(300):
            entry = _redaction(w, "ana", core.state(w.group_id).heads, i)
            assert from_client(core, reader, entry, w.clock) is None
            accepted.append(entry)
        state = core.state(w.group_id)
        wide = _redaction(w, "ana", tuple(sorted({*state.order[-MAX_DEPS:], *state.heads})), 300)
        assert from_client(core, reader, wide, w.clock) == "group.bad_deps"  # names what it saw already
        _rewind(w, "ana", wide)
        assert calls == [], "a member's control entry made the node recompute the group"
        by_founder = _redaction(w, "founder", core.state(w.group_id).heads, 20_000)
        assert from_client(core, reader, by_founder, w.clock) is None
        accepted.append(by_founder)
        stale = _redaction(w, "ana", (accepted[-2].entry_id,), 10_000)  # her own last: not the founder's
        assert from_client(core, reader, stale, w.clock) == "group.stale_deps"
        assert calls == []
    assert reader.get(stale.entry_id) is None
    _rewind(w, "ana", stale)
    fresh = _redaction(w, "ana", core.state(w.group_id).heads, 10_000)  # signed again at that position
    assert from_client(core, reader, fresh, w.clock) is None
    accepted.append(fresh)
    reference = node.core.compute_state(w.genesis, [*w.controls(), *accepted])
    assert core.state(w.group_id).fingerprint() == reference.fingerprint()


def test_control_entries_that_change_nothing_are_refused() -> None:
    """An erase of nothing new and a redaction of what is already redacted: ``group.no_effect``."""
    w = World()
    w.add("ana")
    w.rekey("founder")
    ana = w.people["ana"]
    env = MessageEnvelope(b"\x01" * 32, 0, b"\x02" * 24, b"\x03" * 40, commitment=bytes(32)).encode()
    for _ in range(2):
        w.publish("ana", ana.writer.append(kinds.MESSAGE, env, w.tick()))
    core, reader = hosted(w)
    erase = ana.writer.append(kinds.ERASE, Erase(core.state(w.group_id).heads, ana.writer.seq).encode(), w.tick())
    assert from_client(core, reader, erase, w.clock) is None
    again = ana.writer.append(kinds.ERASE, Erase(core.state(w.group_id).heads, erase.seq - 1).encode(), w.tick())
    assert from_client(core, reader, again, w.clock) == "group.no_effect"
    _rewind(w, "ana", again)
    target = (crypto.blake2b_256(b"m"),)
    redact = ana.writer.append(kinds.REDACT, Redact(core.state(w.group_id).heads, ana.key, target).encode(), w.tick())
    assert from_client(core, reader, redact, w.clock) is None
    twice = ana.writer.append(kinds.REDACT, Redact(core.state(w.group_id).heads, ana.key, target).encode(), w.tick())
    assert from_client(core, reader, twice, w.clock) == "group.no_effect"
    assert reader.get(again.entry_id) is None and reader.get(twice.entry_id) is None


async def test_a_running_node_computes_a_group_afresh_in_a_worker_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An entry relayed by a peer that did not see every head needs the state computed afresh: the
    node does that in a worker thread (``Node.ready_group``), never on the event loop's thread."""
    import threading

    import nacl.signing

    from holdspace import node
    from holdspace.node.server import open_node

    w = World()
    w.add("ana")
    w.rekey("founder")
    concurrent_before = _redaction(w, "ana", w.view("ana").heads, 1)
    w.publish("ana", concurrent_before, everyone_sees=False)
    by_founder = _redaction(w, "founder", w.view("founder").heads, 2)  # did not see ana's
    w.publish("founder", by_founder)
    threads: list[bool] = []
    real = node.server.compute

    def watched(*args, **kwargs):  # type: ignore[no-untyped-def]
        threads.append(threading.current_thread() is threading.main_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(node.server, "compute", watched)
    async with open_node(tmp_path / "n", nacl.signing.SigningKey(b"\x05" * 32), clock=lambda: w.clock) as n:
        genesis, *rest = w.entries.values()
        await n.ingest([(genesis.raw, genesis.payload)])
        with full_computations(monkeypatch) as on_loop:
            for entry in rest:
                await n.ingest([(entry.raw, entry.payload)])
            state = n.core.state(w.group_id)
        assert on_loop == [], "the event loop's thread computed the group afresh"
    assert threads and not any(threads), threads
    reference = node.core.compute_state(w.genesis, w.controls())
    assert state.fingerprint() == reference.fingerprint()
    assert state.outcomes[by_founder.entry_id] is None and state.outcomes[concurrent_before.entry_id] is None


def test_a_replayed_rejoin_costs_at_most_a_few_full_computations(monkeypatch: pytest.MonkeyPatch) -> None:
    """A rejoin does not land at the end of L (its author already has a place), so it is judged by a
    full computation; a removed member replaying it at its publish rate gets ``proto.rate_limited``
    past ``TRIAL_BURST`` of them, one more every ``TRIAL_EVERY_MS``."""
    w = World()
    founder = w.people["founder"]
    inv, secret = author.invite(founder.writer, w.view("founder"), w.tick(), role=MEMBER, expires_ms=FAR, max_uses=1)
    w.publish("founder", inv)
    bo = w.redeem("bo", secret)
    w.remove("founder", "bo")
    again, used = author.invite(founder.writer, w.view("founder"), w.tick(), role=MEMBER, expires_ms=FAR)
    w.publish("founder", again)  # a new invite, made after the removal
    w.redeem("cy", used)  # and its one use taken
    core, reader = hosted(w)
    rejoin = used.join(bo.writer, w.tick())  # ignored (exhausted), so refused: its log position stays free
    codes = []
    with full_computations(monkeypatch) as calls:
        for _ in range(node.core.TRIAL_BURST + 3):
            codes.append(from_client(core, reader, rejoin, w.clock))
    assert codes[: node.core.TRIAL_BURST] == ["group.invite_exhausted"] * node.core.TRIAL_BURST
    assert codes[node.core.TRIAL_BURST :] == ["proto.rate_limited"] * 3
    assert len(calls) == node.core.TRIAL_BURST
    assert from_client(core, reader, rejoin, w.clock + node.core.TRIAL_EVERY_MS) == "group.invite_exhausted"
