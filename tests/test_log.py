import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from holdspace.protocol import codec, kinds
from holdspace.protocol.entry import create_entry
from holdspace.protocol.errors import LogError
from holdspace.protocol.log import ForkError, LogHead, Placement, make_fork_proof, place, verify_fork_proof
from tests.helpers import GROUP, T0, chain, pseudonym

ALICE = pseudonym("alice")
LOG = chain(ALICE, 5)


def head_of(n: int) -> LogHead | None:
    return LogHead(n, LOG[n - 1].entry_id) if n else None


def test_appends_in_order() -> None:
    for i, e in enumerate(LOG):
        assert place(head_of(i), e) is Placement.APPEND


def test_gap_and_prev_mismatch() -> None:
    with pytest.raises(LogError) as err:
        place(head_of(1), LOG[3])
    assert err.value.code == "log.seq_gap"
    with pytest.raises(LogError) as err:
        place(None, LOG[1])
    assert err.value.code == "log.seq_gap"
    stranger = create_entry(
        ALICE, group=GROUP, seq=3, prev=b"\x09" * 32, timestamp_ms=T0, kind=kinds.MESSAGE, payload=b""
    )
    with pytest.raises(LogError) as err:
        place(head_of(2), stranger)
    assert err.value.code == "log.prev_mismatch"


def test_duplicate_and_fork() -> None:
    assert place(head_of(5), LOG[2], LOG[2]) is Placement.DUPLICATE
    twin = create_entry(
        ALICE, group=GROUP, seq=3, prev=LOG[1].entry_id, timestamp_ms=T0, kind=kinds.MESSAGE, payload=b"x"
    )
    with pytest.raises(ForkError) as err:
        place(head_of(5), twin, LOG[2])
    assert err.value.code == "log.fork"
    proof = err.value.proof
    checked = verify_fork_proof(proof.encode())
    assert {checked.first.entry_id, checked.second.entry_id} == {twin.entry_id, LOG[2].entry_id}
    assert checked.author == ALICE.public_key and checked.group == GROUP


def _bad_proof_code(raw: bytes) -> str:
    with pytest.raises(LogError) as err:
        verify_fork_proof(raw)
    return err.value.code


def test_fork_proof_rejections() -> None:
    twin = create_entry(
        ALICE, group=GROUP, seq=3, prev=LOG[1].entry_id, timestamp_ms=T0, kind=kinds.MESSAGE, payload=b"x"
    )
    proof = make_fork_proof(LOG[2], twin)
    assert _bad_proof_code(codec.encode({"v": 1, "a": LOG[2].raw, "b": LOG[2].raw})) == "log.bad_fork_proof"
    # different seqs are not a fork
    assert _bad_proof_code(codec.encode({"v": 1, "a": LOG[1].raw, "b": LOG[2].raw})) == "log.bad_fork_proof"
    # different authors at the same seq are not a fork
    bob3 = chain(pseudonym("bob"), 3)[2]
    first, second = sorted([LOG[2], bob3], key=lambda e: e.entry_id)
    assert _bad_proof_code(codec.encode({"v": 1, "a": first.raw, "b": second.raw})) == "log.bad_fork_proof"
    # wrong order
    assert _bad_proof_code(codec.encode({"v": 1, "a": proof.second.raw, "b": proof.first.raw})) == "log.bad_fork_proof"
    # a forged entry inside
    forged = bytearray(proof.second.raw)
    forged[-1] ^= 1
    assert _bad_proof_code(codec.encode({"v": 1, "a": proof.first.raw, "b": bytes(forged)})) == "log.bad_fork_proof"
    assert _bad_proof_code(b"\xff") == "log.bad_fork_proof"
    assert _bad_proof_code(codec.encode({"v": 2, "a": b"", "b": b""})) == "log.bad_fork_proof"


@settings(max_examples=50, deadline=None)
@given(st.permutations(list(range(5))))
def test_any_arrival_order_yields_same_log_when_buffered(order: list[int]) -> None:
    """Entries arriving out of order are placed once their predecessors are in: the result is the same log."""
    head: LogHead | None = None
    pending = [LOG[i] for i in order]
    placed: list[bytes] = []
    while pending:
        progress = False
        for e in list(pending):
            try:
                place(head, e)
            except LogError as err:
                assert err.code == "log.seq_gap"
                continue
            head = LogHead(e.seq, e.entry_id)
            placed.append(e.entry_id)
            pending.remove(e)
            progress = True
        assert progress
    assert placed == [e.entry_id for e in LOG]


def test_genesis_headers_of_two_groups_are_not_a_fork() -> None:
    """One key founding two groups signs two seq-1 entries with g = 0: different logs, no equivocation."""
    from holdspace.protocol.group import GENESIS_GROUP

    me = pseudonym("founder")
    a = create_entry(me, group=GENESIS_GROUP, seq=1, prev=None, timestamp_ms=T0, kind=kinds.GENESIS, payload=b"a")
    b = create_entry(me, group=GENESIS_GROUP, seq=1, prev=None, timestamp_ms=T0, kind=kinds.GENESIS, payload=b"b")
    assert a.log_group == a.entry_id and b.log_group == b.entry_id
    with pytest.raises(LogError) as err:
        make_fork_proof(a, b)
    assert err.value.code == "log.bad_fork_proof"
    # but a second seq-1 entry in the group a founds is a fork, provable from the two headers
    twin = create_entry(me, group=a.entry_id, seq=1, prev=None, timestamp_ms=T0, kind=kinds.MESSAGE, payload=b"")
    assert verify_fork_proof(make_fork_proof(a, twin).encode()).author == me.public_key
