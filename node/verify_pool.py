"""Entry signatures of a large batch verified in a worker process, beside the event loop.

Why a process: PyNaCl releases the GIL while it verifies, but the Python decoding around each
verification holds it, so a worker *thread* measured slower than none (issue 17). A process has a
GIL of its own. What crosses over is small: each header's bytes (about 240 bytes) one way, one
byte back; the worker decodes and verifies, the event loop's thread decodes without verifying.

Only batches of at least ``MIN_BATCH`` entries go to the worker (a peer's sync event, a large
``publish_many``): below that the round trip costs more than it saves. The worker is
``python -m node.verify_pool``, started on first use (a node that never gets a large batch never
starts it), talking over its standard input and output (no pickling, and no re-import of the
parent's main module as ``multiprocessing`` would do). If it fails, batches are verified inline
from then on.

Wire (both ways, big-endian): a request is a 4-byte count, then each header as a 4-byte length and
its bytes; the answer is one byte per header, 1 if it decodes and its signature verifies.

Invariant: :meth:`SignaturePool.verified` returns, for each header, True only if
``decode_entry(header, None, now_ms=None)`` succeeds; the caller has already decoded every header
it submits without verifying (so any failure here is the signature's).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import BinaryIO, Final

import trio

from protocol.entry import decode_entry
from protocol.errors import HoldspaceError

__all__ = ["MIN_BATCH", "SignaturePool", "verify_headers"]

log = logging.getLogger("holdspace.node")

MIN_BATCH: Final = 32  # entries in a batch below which signatures are verified inline
MAX_HEADERS: Final = 4096  # headers in one request (a sync event holds at most a few hundred)
_ROOT: Final = str(Path(__file__).resolve().parents[1])  # where the worker imports this code from


def verify_headers(headers: list[bytes]) -> bytes:
    """In the worker: for each header, 1 if it decodes and its signature verifies, else 0."""
    out = bytearray()
    for header in headers:
        try:
            decode_entry(header, None, now_ms=None)
        except HoldspaceError:
            out.append(0)
        else:
            out.append(1)
    return bytes(out)


def encode_request(headers: list[bytes]) -> bytes:
    parts = [len(headers).to_bytes(4, "big")]
    for header in headers:
        parts += [len(header).to_bytes(4, "big"), header]
    return b"".join(parts)


def _read_exact(stream: BinaryIO, size: int) -> bytes | None:
    data = stream.read(size)
    return data if len(data) == size else None


def serve(inp: BinaryIO, out: BinaryIO) -> None:
    """The worker's loop: answer requests until the input ends (or is malformed)."""
    while (head := _read_exact(inp, 4)) is not None:
        count = int.from_bytes(head, "big")
        if count > MAX_HEADERS:
            return
        headers = []
        for _ in range(count):
            size = _read_exact(inp, 4)
            header = _read_exact(inp, int.from_bytes(size, "big")) if size is not None else None
            if header is None:
                return
            headers.append(header)
        out.write(verify_headers(headers))
        out.flush()


class SignaturePool:
    """One worker process verifying batches of entry signatures, one batch at a time."""

    def __init__(self) -> None:
        self._process: trio.Process | None = None
        self._lock = trio.Lock()
        self.broken = False
        self.batches = 0  # batches verified by the worker (tests, benchmarks)

    async def verified(self, headers: list[bytes]) -> list[bool] | None:
        """Each header's signature checked in the worker; None if the worker is unavailable (the
        caller verifies inline). The exchange is shielded from cancellation (it takes about as
        long as verifying the batch), so the worker's answers stay in step."""
        if self.broken or not headers or len(headers) > MAX_HEADERS:
            return None
        async with self._lock:
            with trio.CancelScope(shield=True):
                try:
                    answer = await self._exchange(encode_request(headers), len(headers))
                except (OSError, trio.BrokenResourceError, trio.ClosedResourceError, EOFError):
                    await self._broke()
                    return None
        self.batches += 1
        return [b == 1 for b in answer]

    async def _exchange(self, request: bytes, count: int) -> bytes:
        if self._process is None:
            env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [_ROOT, os.environ.get("PYTHONPATH")])))
            self._process = await trio.lowlevel.open_process(
                [sys.executable, "-m", "node.verify_pool"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=env,
            )
        process = self._process
        assert process.stdin is not None and process.stdout is not None
        await process.stdin.send_all(request)
        answer = bytearray()
        while len(answer) < count:
            chunk = await process.stdout.receive_some(count - len(answer))
            if not chunk:
                raise EOFError("the signature worker ended")
            answer += chunk
        return bytes(answer)

    async def _broke(self) -> None:
        log.warning("the signature worker failed: signatures are verified inline from now on")
        self.broken = True
        await self.aclose()

    async def aclose(self) -> None:
        """Stop the worker (shielded: it is killed, then reaped)."""
        process, self._process = self._process, None
        if process is None:
            return
        with trio.CancelScope(shield=True):
            process.kill()
            await process.wait()
            for pipe in (process.stdin, process.stdout):
                if pipe is not None:
                    await pipe.aclose()


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
