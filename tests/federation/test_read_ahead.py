"""A sync stream is read ahead of its ingestion: while one event's entries are being checked and
committed, the next event is already received and decoded (the peer's sending overlaps this
node's work). No network, no store: a scripted stream and a node whose ingestion waits."""

from __future__ import annotations

from typing import Any

import trio

from holdspace.node.federation import Federation
from holdspace.node.peering import PeerBook
from holdspace.node.transport.base import EndOfStream
from holdspace.protocol.federation import encode_entries_event

GROUP = b"\x07" * 32
PEER = b"\x09" * 32


class ScriptedStream:
    """Hands out the given frames in order, then waits (a live sync stream stays open)."""

    def __init__(self, frames: list[bytes]) -> None:
        self.frames = list(frames)
        self.taken = 0

    async def receive(self) -> bytes:
        await trio.lowlevel.checkpoint()
        if self.taken < len(self.frames):
            self.taken += 1
            return self.frames[self.taken - 1]
        await trio.sleep_forever()
        raise EndOfStream

    async def send(self, message: bytes) -> None:
        await trio.lowlevel.checkpoint()


class SlowNode:
    """The parts of a node a sync stream's ingestion uses; each ``ingest`` waits for ``go``."""

    def __init__(self) -> None:
        self.federation: Any = None
        self.observer = None
        self.go = trio.Event()
        self.ingested: list[int] = []

    async def ingest(self, items: list[tuple[bytes, bytes | None]], **_kwargs: Any) -> list[Any]:
        await self.go.wait()
        self.ingested.append(len(items))
        return [object() for _ in items]  # stored (neither refused nor held)

    def generation(self, group: bytes) -> int:
        return 0

    async def put_meta(self, key: bytes, value: bytes) -> None:
        await trio.lowlevel.checkpoint()


async def test_the_next_event_is_read_while_one_is_ingested() -> None:
    frames = [encode_entries_event(GROUP, [[i, b"header-%d" % i, None]], i) for i in range(1, 4)]
    stream = ScriptedStream(frames)
    node = SlowNode()
    federation = Federation(node, PeerBook(b"\x01" * 32), connect=None)  # type: ignore[arg-type]
    async with trio.open_nursery() as nursery:
        nursery.start_soon(federation._receive_sync, stream, PEER, {GROUP})
        await trio.testing.wait_all_tasks_blocked()
        # the first event is being ingested (waiting); the second is read and decoded, and the
        # third is being received: one decoded event ahead, one more on the way
        assert node.ingested == []
        assert stream.taken == 3
        node.go.set()
        await trio.testing.wait_all_tasks_blocked()
        assert node.ingested == [1, 1, 1]
        nursery.cancel_scope.cancel()
