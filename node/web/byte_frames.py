"""Length-prefixed messages from a byte channel whose chunk boundaries mean nothing (the binary
messages of a WebSocket, spec 15.8.2), sans-I/O.

Invariants: :meth:`MessageSplitter.push` returns every message completed by the chunk, in order,
whatever the chunking (splitting a byte string anywhere and pushing the parts gives the messages of
pushing it whole); the splitter holds at most one partial message, never more than
``HEADER_SIZE + max_size`` bytes; a length prefix over ``max_size`` raises ``MessageTooLarge``
before any byte of that message is held, and the splitter then refuses everything (the channel is
to be closed).
"""

from __future__ import annotations

from holdspace.node.transport.base import HEADER_SIZE, MessageTooLarge

__all__ = ["MessageSplitter"]


class MessageSplitter:
    """Splits a byte channel into messages (4-byte big-endian length, then that many bytes)."""

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self._partial = bytearray()
        self._need: int | None = None  # payload size of the message being assembled
        self._failed = False

    @property
    def buffered(self) -> int:
        """Bytes held: the partial message (its prefix included)."""
        return len(self._partial)

    def at_boundary(self) -> bool:
        """True iff no partial message is held (the channel may end here)."""
        return not self._partial

    def push(self, chunk: bytes) -> list[bytes]:
        """Add ``chunk``; return the messages it completes. Raises ``MessageTooLarge`` at a prefix
        over the limit (and for every push after that)."""
        if self._failed:
            raise MessageTooLarge("the channel was refused for an oversized message")
        out: list[bytes] = []
        data = memoryview(chunk)
        while data:
            if self._need is None:
                take = min(HEADER_SIZE - len(self._partial), len(data))
                self._partial += data[:take]
                data = data[take:]
                if len(self._partial) < HEADER_SIZE:
                    break
                size = int.from_bytes(self._partial, "big")
                if size > self.max_size:
                    self._failed = True
                    self._partial = bytearray()
                    raise MessageTooLarge(f"a {size}-byte message announced (limit {self.max_size})")
                self._need = size
            take = min(HEADER_SIZE + self._need - len(self._partial), len(data))
            self._partial += data[:take]
            data = data[take:]
            if len(self._partial) == HEADER_SIZE + self._need:
                out.append(bytes(self._partial[HEADER_SIZE:]))
                self._partial = bytearray()
                self._need = None
        return out
