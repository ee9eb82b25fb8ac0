"""A peer's batch: signatures verified in a worker thread, a chunk ahead of the checks on the event
loop (``node.signatures``), with the results of checking one entry at a time."""

from __future__ import annotations

from pathlib import Path

import pytest

import node.core
from node.signatures import CHUNK
from protocol import kinds
from protocol.author import create_group
from protocol.errors import HoldspaceError
from tests.node.conftest import running_node
from tests.node.test_publish_many import ENVELOPE, now


async def test_a_forged_signature_in_a_large_batch_is_refused_and_the_rest_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[str] = []
    verified = node.core.signature_verified

    def counted(headers: list[bytes]) -> list[bool]:
        threads.append("worker")
        return verified(headers)

    monkeypatch.setattr("node.signatures.signature_verified", counted)
    async with running_node(tmp_path / "n") as (nd, _address):
        genesis, writer = create_group(b"\x01" * 32, now())
        messages = [writer.append(kinds.MESSAGE, ENVELOPE, now()) for _ in range(2 * CHUNK + 5)]
        forged = bytearray(messages[CHUNK + 3].raw)
        forged[-1] ^= 1  # its signature no longer verifies
        items = [(genesis.raw, genesis.payload), *((m.raw, m.payload) for m in messages)]
        items[CHUNK + 4] = (bytes(forged), messages[CHUNK + 3].payload)
        results = await nd.ingest(items)
        refused = [(i, r.code) for i, r in enumerate(results) if isinstance(r, HoldspaceError)]
        assert refused[0] == (CHUNK + 4, "entry.bad_signature")
        assert all(code == "log.seq_gap" for _, code in refused[1:])  # what follows the forgery waits for it
        assert len(refused) == len(items) - (CHUNK + 4)
        stored = [r.entry_id for _, r in nd.store.iter_group(genesis.entry_id, 0, 1000)]
        assert stored == [genesis.entry_id, *(m.entry_id for m in messages[: CHUNK + 3])]
        assert len(threads) == 3  # three chunks, each verified in the worker thread
