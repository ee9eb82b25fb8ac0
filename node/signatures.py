"""Signatures of a peer's batch verified on the other core, one chunk ahead of the checks.

Ed25519 verification is the largest single cost of taking a peer's entries, and PyNaCl releases the
GIL while it runs. While the event loop checks and stores chunk ``k`` of a batch (Python, holding the
GIL), a worker thread verifies the signatures of chunk ``k + 1``. The check then skips only the
signature (:meth:`node.core.NodeCore.check_entry` with ``signed=True``); a header whose signature did
not verify is checked in full, so its refusal has its usual code. Order and results are those of
checking the batch one entry at a time.
"""

from __future__ import annotations

import trio

from node.core import signature_verified

CHUNK = 64  # entries per unit of work handed to the thread
THREADED = 16  # smaller batches are verified inline (a thread hop costs more than it saves)


class VerifiedAhead:
    """``await verified(i)``: whether header ``i``'s signature verified, computed in a worker thread
    one chunk ahead of the caller (who asks for ``i`` in increasing order). With ``threads`` False
    (the simulator, which runs everything inline) or a small batch, every answer is False at once:
    the check verifies inline."""

    def __init__(
        self, nursery: trio.Nursery, headers: list[bytes], limiter: trio.CapacityLimiter, *, threads: bool
    ) -> None:
        self._nursery = nursery
        self._headers = headers
        self._limiter = limiter
        self._inline = not threads or len(headers) < THREADED
        self._done: dict[int, trio.Event] = {}
        self._results: dict[int, list[bool]] = {}
        if not self._inline:
            self._start(0)

    def _start(self, chunk: int) -> None:
        if chunk in self._done or chunk * CHUNK >= len(self._headers):
            return
        self._done[chunk] = trio.Event()
        self._nursery.start_soon(self._verify, chunk)

    async def _verify(self, chunk: int) -> None:
        part = self._headers[chunk * CHUNK : (chunk + 1) * CHUNK]
        self._results[chunk] = await trio.to_thread.run_sync(signature_verified, part, limiter=self._limiter)
        self._done[chunk].set()

    async def verified(self, index: int) -> bool:
        if self._inline:
            return False
        chunk = index // CHUNK
        self._start(chunk)
        self._start(chunk + 1)  # the next chunk's signatures while this one is checked
        await self._done[chunk].wait()
        self._results.pop(chunk - 1, None)
        return self._results[chunk][index % CHUNK]
