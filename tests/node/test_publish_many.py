"""``publish_many``: many entries in one request, each checked as a publish is, stored in one durable
transaction, one result per entry (real node, real QUIC)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from holdspace import protocol
from holdspace.node.limits import NodeLimits
from holdspace.protocol import kinds
from holdspace.protocol.author import create_group
from holdspace.protocol.errors import HoldspaceError
from holdspace.protocol.frames import MAX_BATCH
from holdspace.protocol.payloads import MessageEnvelope
from tests.node.conftest import running_node, session

ENVELOPE = MessageEnvelope(b"\x01" * 32, 0, b"\x02" * 24, b"\x03" * 1000, commitment=bytes(32)).encode()


def now() -> int:
    return int(time.time() * 1000)


async def test_each_entry_gets_its_result_and_the_stored_ones_are_durable(tmp_path: Path) -> None:
    async with running_node(tmp_path / "n") as (node, address), session(address) as s:
        genesis, writer = create_group(b"\x01" * 32, now())
        _, stranger = create_group(b"\x02" * 32, now())
        await s.authenticate(writer.me)
        await s.authenticate(stranger.me)
        messages = [writer.append(kinds.MESSAGE, ENVELOPE, now()) for _ in range(5)]
        forged_header = bytearray(messages[1].raw)
        forged_header[-1] ^= 1  # its signature no longer verifies
        outsider = stranger.append(kinds.MESSAGE, ENVELOPE, now())  # first entry of a log in no group
        results = await s.publish_many([genesis, messages[0], messages[0], outsider])
        assert isinstance(results[0], int) and isinstance(results[1], int)
        assert results[2] == results[1]  # a duplicate in the same batch: acknowledged, stored once
        assert results[3] == "proto.unknown_group"
        forged = await s.request("publish_many", entries=[[bytes(forged_header), ENVELOPE]])
        assert forged["results"] == [[None, "entry.bad_signature"]]
        results = await s.publish_many(messages[1:])
        assert all(isinstance(r, int) and r > 0 for r in results)
        stored = [r.entry_id for _, r in node.store.iter_group(genesis.entry_id, 0, 100)]
        assert stored == [genesis.entry_id, *(m.entry_id for m in messages)]


async def test_an_entry_refused_mid_batch_leaves_the_rest_of_its_log_unplaced(tmp_path: Path) -> None:
    async with running_node(tmp_path / "n") as (node, address), session(address) as s:
        genesis, writer = create_group(b"\x01" * 32, now())
        await s.authenticate(writer.me)
        await s.publish(genesis)
        first = writer.append(kinds.MESSAGE, ENVELOPE, now())
        bad = writer.append(kinds.MESSAGE, b"not an envelope", now())
        after = writer.append(kinds.MESSAGE, ENVELOPE, now())
        results = await s.publish_many([first, bad, after])
        assert isinstance(results[0], int)
        assert results[1] == "group.malformed_payload"
        assert results[2] == "log.seq_gap"  # its predecessor was refused: nothing out of order is stored
        assert node.store.count(genesis.entry_id) == 2


async def test_batches_are_bounded_and_count_against_the_rate_limit(tmp_path: Path) -> None:
    limits = NodeLimits(publish_rate=10, publish_burst=20)
    async with running_node(tmp_path / "n", limits) as (_, address), session(address) as s:
        genesis, writer = create_group(b"\x01" * 32, now())
        await s.authenticate(writer.me)
        entries = [genesis, *(writer.append(kinds.MESSAGE, ENVELOPE, now()) for _ in range(30))]
        with pytest.raises(HoldspaceError) as err:
            await s.publish_many(entries)  # 31 entries: more than the burst of 20
        assert err.value.code == "proto.rate_limited"
        with pytest.raises(HoldspaceError) as err:
            await s.request("publish_many", entries=[[genesis.raw, genesis.payload]] * (MAX_BATCH + 1))
        assert err.value.code == "proto.malformed_frame"
        with pytest.raises(HoldspaceError) as err:
            await s.request("publish_many", entries=[])
        assert err.value.code == "proto.malformed_frame"


async def test_an_entry_is_decoded_once_on_its_way_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its group's state is brought up to date from the entry the check then uses: the node decodes
    (and verifies) a header once, whatever the path (``publish``, ``publish_many``, a peer's
    ``ingest``). The session's look-up of the author, to charge its rate, reads the CBOR only."""
    from holdspace import node

    decoded: list[bytes] = []
    real = protocol.entry.decode_entry

    def counting(raw: bytes, payload: bytes | None, **kwargs: Any) -> protocol.entry.Entry:
        decoded.append(raw)
        return real(raw, payload, **kwargs)

    for module in (node.core, node.server, node.session):
        monkeypatch.setattr(module, "decode_entry", counting)
    async with running_node(tmp_path / "n") as (running, address), session(address) as s:
        genesis, writer = create_group(b"\x01" * 32, now())
        await s.authenticate(writer.me)
        await s.publish(genesis)
        one, two, three = (writer.append(kinds.MESSAGE, ENVELOPE, now()) for _ in range(3))
        decoded.clear()
        await s.publish(one)
        await s.publish_many([two])
        await running.ingest([(three.raw, three.payload)])
        assert [decoded.count(e.raw) for e in (one, two, three)] == [1, 1, 1]
