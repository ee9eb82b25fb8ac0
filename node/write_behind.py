"""Durable writes that run behind the checks of the next batch (a peer's sync stream).

``Node.ingest`` checks a batch and writes it in one transaction; a puller that awaited each write
before checking the next batch would leave the event loop idle for every commit. With a
:class:`WriteBehind`, ``ingest`` returns once the batch is checked (its entries reserved, so the
next batch's checks see them) and its write runs as a task of the caller's nursery.

Invariants:

* writes complete in the order they were started: each waits for the one before it, and is not
  written (its entries are given back, as after a failed write) if that one failed;
* at most ``limit`` writes are outstanding: :meth:`start` waits for room;
* :meth:`settled` returns once every write started so far is durable, and raises if one failed
  (a puller calls it before recording how far it got);
* a write, once started, is followed through whatever happens to the caller (shielded).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable

import trio

from holdspace.protocol.frames import ProtocolError

__all__ = ["WriteBehind"]

Write = Callable[[Callable[[], None]], Awaitable[None]]
"""A write: called with a check to make just before the transaction (it raises if an earlier
write failed); it must give its reserved entries back if that check or the write fails."""


class WriteBehind:
    def __init__(self, nursery: trio.Nursery, limit: int = 1) -> None:
        self.nursery = nursery
        self.limit = limit
        self._done: deque[trio.Event] = deque()
        self.failed = False

    async def start(self, write: Write) -> None:
        """Run ``write`` after the writes started before it; waits while ``limit`` are outstanding."""
        while len(self._done) >= self.limit:
            await self._done[0].wait()
            self._done.popleft()
        before = self._done[-1] if self._done else None
        done = trio.Event()
        self._done.append(done)
        self.nursery.start_soon(self._run, write, before, done)

    def _check(self) -> None:
        if self.failed:
            raise ProtocolError("proto.busy", "an earlier batch of this stream could not be stored")

    async def _run(self, write: Write, before: trio.Event | None, done: trio.Event) -> None:
        try:
            with trio.CancelScope(shield=True):
                if before is not None:
                    await before.wait()
                await write(self._check)
        except BaseException:
            self.failed = True
            raise
        finally:
            done.set()

    async def settled(self) -> None:
        """Wait until every write started so far is durable; raise if one failed."""
        while self._done:
            await self._done[0].wait()
            self._done.popleft()
        self._check()
