"""A batch's signatures verified in a worker thread (``node.verify_threads``): the entries come back in
the batch's order, each exactly as ``decode_entry`` gives it or None where that would raise; a bad
signature in a batch is refused with its code while the others are accepted, in order."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from holdspace import node
from holdspace.node.verify_threads import (
    MIN_BATCH,
    SignatureThreads,
    predecode,
    signed_bytes,
    verified_entries,
    verify_signatures,
)
from holdspace.protocol import codec, kinds, signing
from holdspace.protocol.author import create_group
from holdspace.protocol.entry import Entry
from holdspace.protocol.payloads import MessageEnvelope
from tests.node.conftest import running_node, session

ENVELOPE = MessageEnvelope(b"\x01" * 32, 0, b"\x02" * 24, b"\x03" * 200, commitment=bytes(32)).encode()
T = 1_700_000_000_000


def forged(entry: Entry) -> bytes:
    """``entry``'s header with the last byte of its signature flipped (it decodes; it does not verify)."""
    raw = bytearray(entry.raw)
    raw[-1] ^= 1
    return bytes(raw)


def check_in_thread(items: list[tuple[bytes, bytes | None]], now_ms: int | None) -> list[Entry | None]:
    """What ``SignatureThreads.entries`` does, without trio: predecode, verify, put back in order."""
    decoded = predecode(items, now_ms)
    good = verify_signatures([(p[0].author, p[1], p[0].signature) for p in decoded if p is not None])
    return verified_entries(items, decoded, good)


def test_each_entry_is_what_decode_entry_gives_or_none_where_it_raises() -> None:
    genesis, writer = create_group(b"\x01" * 32, T)
    ok = [writer.append(kinds.MESSAGE, ENVELOPE, T + i) for i in range(4)]
    future = writer.append(kinds.MESSAGE, ENVELOPE, T + 10**9)
    items: list[tuple[bytes, bytes | None]] = [
        (genesis.raw, genesis.payload),
        (ok[0].raw, ok[0].payload),
        (forged(ok[1]), ok[1].payload),  # bad signature
        (ok[2].raw, b"another payload"),  # payload mismatch
        (b"\xa0", None),  # does not decode
        (ok[3].raw, None),  # a husk: header only
        (future.raw, future.payload),  # from the future (checked for a client's batch)
    ]
    got = check_in_thread(items, T)
    assert got == [genesis, ok[0], None, None, None, ok[3].without_payload(), None]
    assert check_in_thread(items, None)[6] == future  # a peer's batch: no clock check (spec 6.2 check 9)


@settings(max_examples=30)
@given(seq_count=st.integers(1, 4), timestamp=st.integers(0, 2**62), size=st.integers(0, 2000))
def test_the_signed_bytes_sliced_from_a_header_are_those_the_signature_covers(
    seq_count: int, timestamp: int, size: int
) -> None:
    genesis, writer = create_group(b"\x02" * 32, T)
    entries = [genesis] + [writer.append(kinds.MESSAGE, b"\x05" * size, timestamp) for _ in range(seq_count)]
    for entry in entries:
        fields = codec.decode(entry.raw)
        assert isinstance(fields, dict)
        assert signed_bytes(entry) == signing.signed_message(signing.DOMAIN_ENTRY, fields)


def test_a_bad_signature_is_a_false_flag_not_an_exception() -> None:
    """``verify_signatures`` is what the worker thread runs: one flag per signature, in order."""
    _, writer = create_group(b"\x03" * 32, T)
    one = writer.append(kinds.MESSAGE, ENVELOPE, T)
    pre = predecode([(one.raw, one.payload), (forged(one), one.payload)], None)
    assert all(p is not None for p in pre)
    flags = verify_signatures([(p[0].author, p[1], p[0].signature) for p in pre if p is not None])
    assert flags == [True, False]


async def test_a_small_batch_is_left_to_the_check_and_a_large_one_goes_to_a_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, writer = create_group(b"\x04" * 32, T)
    messages = [writer.append(kinds.MESSAGE, ENVELOPE, T + i) for i in range(5)]
    items: list[tuple[bytes, bytes | None]] = [(m.raw, m.payload) for m in messages]
    threads = SignatureThreads(min_batch=4)
    seen: list[bool] = []
    real = verify_signatures

    def watched(signatures: list[tuple[bytes, bytes, bytes]]) -> list[bool]:
        seen.append(threading.current_thread() is threading.main_thread())
        return real(signatures)

    monkeypatch.setattr(node.verify_threads, "verify_signatures", watched)
    assert await threads.entries(items[:3], T) == [None, None, None]
    assert await threads.entries(items, T) == messages
    assert seen == [False] and threads.batches == 1


async def test_a_bad_signature_mid_batch_is_refused_and_the_others_are_stored_in_order(tmp_path: Path) -> None:
    async with running_node(tmp_path / "n") as (running, address), session(address) as s:
        now = int(time.time() * 1000)
        genesis, writer = create_group(b"\x06" * 32, now)
        await s.authenticate(writer.me)
        await s.publish(genesis)
        n = MIN_BATCH
        messages = [writer.append(kinds.MESSAGE, ENVELOPE, now) for _ in range(2 * n + 1)]
        # a client's batch: the first n-1 messages, one forged in second place, one with a wrong payload last
        entries = [[m.raw, m.payload] for m in messages[: n - 1]]
        entries.insert(1, [forged(messages[n]), messages[n].payload])  # a later entry of the log, forged
        entries.append([messages[n - 1].raw, b"another payload"])
        assert running.signatures is not None
        before = running.signatures.batches
        answer = await s.request("publish_many", entries=entries)
        results = answer["results"]
        assert isinstance(results, list)
        assert [r[1] for r in results] == [None, "entry.bad_signature", *[None] * (n - 2), "entry.payload_mismatch"]
        assert running.signatures.batches == before + 1
        # a peer's batch goes the same way: the forged one refused, the rest stored after it, in order
        rest = [(m.raw, m.payload) for m in messages[n - 1 :]]
        forged_one = (forged(messages[n]), messages[n].payload)
        outcome = await running.ingest([rest[0], forged_one, *rest], genesis.entry_id)
        codes = [getattr(r, "code", None) for r in outcome]
        assert codes == [None, "entry.bad_signature", *[None] * len(rest)]
        assert running.signatures.batches == before + 2
        stored = [r.entry_id for _, r in running.store.iter_group(genesis.entry_id, 0, 100)]
        assert stored == [genesis.entry_id, *(m.entry_id for m in messages)]
