"""Stream state shared by the QUIC and the in-memory transport.

What a message stream is, apart from how its bytes travel: a queue of whole received messages,
how the receive side ends (end of stream, or an error raised once the queue is drained), whether
the send side is closed and with which error, and when the stream is done with (both sides ended,
nothing left to read: its slot goes back to the connection). A connection's streams live in a
:class:`StreamTable`: the live streams per direction, the accept queue, and the waits for a free
slot (``open``) or for a peer's stream (``accept``).

A transport subclasses :class:`StreamEnds` with its wire: buffering and credit (``_took``,
``_drop_buffered``), writing the end of the stream (``_write_fin``), resetting it on the wire
(``_abort_wire``), waking its blocked senders (``_send_ended``) and freeing the slot
(``_release``). ``send`` stays with each transport (their backpressure differs) and starts with
the shared checks (``_check_size``: nothing written over the limit; ``_check_send``: the error of
a closed send side or connection).

Invariants: once ``_recv_done`` is set nothing more is queued; once ``_send_closed`` is set
``_send_exc`` is not None and ``send`` raises it; ``_release`` runs exactly once, when both are
set and the queue is empty.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

import trio

from .base import EndOfStream, MessageTooLarge, StreamClosed, TransportError, check_application_code, clone_error

__all__ = ["Signal", "StreamEnds", "StreamTable"]


class Signal:
    """Wake every task waiting now; a task that starts waiting later waits for the next ``fire``.

    The event exists only while a task waits (made by the first waiter, dropped by ``fire``): most
    signals of an idle connection are never waited on, and an event costs some 300 bytes (a
    simulation holds hundreds of thousands of connections). Waking is the same as with an event
    made up front: setting an event nobody waits on schedules nothing."""

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event: trio.Event | None = None

    def fire(self) -> None:
        if self._event is not None:
            self._event.set()
            self._event = None

    async def wait(self) -> None:
        if self._event is None:
            self._event = trio.Event()
        await self._event.wait()


class StreamEnds(ABC):
    """The transport-independent state of one bidirectional message stream (see the module)."""

    def __init__(self, stream_id: int) -> None:
        self.stream_id = stream_id
        # receive side
        self._queue: deque[bytes] = deque()
        self._recv_done = False  # nothing more will be queued
        self._recv_exc: TransportError | None = None  # raised after the queue drains (None: EOF)
        self._recv_changed = Signal()
        self._readers = 0  # tasks waiting in receive()
        # send side
        self._send_closed = False
        self._send_exc: TransportError | None = None
        self._released = False

    # ---------------------------------------------------------------- the wire (subclasses)

    @abstractmethod
    def _connection_error(self) -> TransportError | None:
        """Why the connection is closed (None: it is open)."""

    @abstractmethod
    def _took(self, message: bytes) -> None:
        """``receive`` is returning ``message``: account for it (buffers, credit, counters)."""

    def _reader_waits(self) -> None:  # noqa: B027 - optional hook
        """A reader is about to wait for the next message."""

    @abstractmethod
    async def _write_fin(self) -> None:
        """End our sending side on the wire and mark it closed (``finish``, send side open)."""

    @abstractmethod
    def _abort_wire(self, code: int) -> None:
        """Reset our sending side and stop the peer's on the wire (``reset`` and aborts)."""

    @abstractmethod
    def _drop_buffered(self) -> None:
        """Free every received byte held for this stream (queued messages and partial ones)."""

    def _send_ended(self) -> None:  # noqa: B027 - optional hook
        """Our sending side just closed: wake the senders that wait for room."""

    @abstractmethod
    def _release(self) -> None:
        """The stream is done with: give its slot back to the connection."""

    # ---------------------------------------------------------------- application API

    async def receive(self) -> bytes:
        await trio.lowlevel.checkpoint_if_cancelled()
        while True:
            if self._queue:
                message = self._queue.popleft()
                self._took(message)
                self._maybe_release()
                await trio.lowlevel.cancel_shielded_checkpoint()
                return message
            if self._recv_done:
                self._maybe_release()
                if self._recv_exc is not None:
                    raise clone_error(self._recv_exc)
                raise EndOfStream("peer finished the stream")
            closed = self._connection_error()
            if closed is not None:
                raise clone_error(closed)
            self._reader_waits()
            self._readers += 1
            try:
                await self._recv_changed.wait()
            finally:
                self._readers -= 1

    async def finish(self) -> None:
        await trio.lowlevel.checkpoint_if_cancelled()
        if self._send_closed:
            if self._send_exc is not None and not isinstance(self._send_exc, StreamClosed):
                raise clone_error(self._send_exc)
            await trio.lowlevel.cancel_shielded_checkpoint()
            return
        closed = self._connection_error()
        if closed is not None:
            raise clone_error(closed)
        await self._write_fin()

    def reset(self, code: int = 0) -> None:
        check_application_code(code)
        self._abort(code, StreamClosed(f"stream reset locally (code {code:#x})"))

    # ---------------------------------------------------------------- state changes

    @staticmethod
    def _check_size(message: bytes, limit: int) -> None:
        """``send``'s first check: nothing is written for a message over the limit."""
        if len(message) > limit:
            raise MessageTooLarge(f"{len(message)} bytes > limit {limit}")

    def _check_send(self) -> None:
        """Raise why nothing more can be sent: our sending side ended, or the connection closed."""
        if self._send_exc is not None:
            raise clone_error(self._send_exc)
        closed = self._connection_error()
        if closed is not None:
            raise clone_error(closed)

    def _abort(self, code: int, exc: TransportError) -> None:
        """Reset our sending side and stop the peer's, dropping what is buffered."""
        self._abort_wire(code)
        self._discard_receive(exc, replace=True)
        self._close_send(exc)

    def _end_receive(self, exc: TransportError | None) -> None:
        """Nothing more will be queued; ``receive`` raises ``exc`` (None: EndOfStream) once the
        queue is drained."""
        self._recv_done = True
        self._recv_exc = exc
        self._recv_changed.fire()
        self._maybe_release()

    def _discard_receive(self, exc: TransportError | None, *, replace: bool = False) -> None:
        """No more messages will be delivered: free the buffers, remember how receive ends (an
        earlier ending stays unless ``replace``)."""
        self._drop_buffered()
        self._queue.clear()
        if replace or not self._recv_done:
            self._recv_done = True
            self._recv_exc = exc
        self._recv_changed.fire()
        self._maybe_release()

    def _close_send(self, exc: TransportError) -> None:
        """Our sending side is closed; ``send`` raises ``exc`` from now on (a first error stays)."""
        if not self._send_closed:
            self._send_closed = True
            self._send_exc = exc
            self._send_ended()
        self._maybe_release()

    def _maybe_release(self) -> None:
        if not self._released and self._send_closed and self._recv_done and not self._queue:
            self._released = True
            self._release()

    def on_connection_closed(self) -> None:
        """The connection closed: every waiting reader and sender rechecks."""
        self._recv_changed.fire()
        self._send_ended()


S = TypeVar("S", bound=StreamEnds)


class StreamTable(Generic[S]):
    """A connection's live streams: at most ``max_streams`` per direction, counted from the
    moment a stream exists on this side until it is released.

    Stream ids follow QUIC: bit 0 is the opener (0: client, 1: server), so ``is_local`` tells our
    streams from the peer's. Invariants: ``alive_out`` (``alive_in``) is the number of our (the
    peer's) streams in ``streams``; a released stream is never counted again.
    """

    def __init__(self, *, is_client: bool, max_streams: int) -> None:
        self.is_client = is_client
        self.max_streams = max_streams
        self.streams: dict[int, S] = {}
        self.alive_in = 0
        self.alive_out = 0
        self.accept_queue: deque[S] = deque()
        self.accept_changed = Signal()
        self.open_changed = Signal()

    def is_local(self, stream_id: int) -> bool:
        return (stream_id & 1) == (0 if self.is_client else 1)

    async def open(self, closed: Callable[[], TransportError | None], new: Callable[[], S]) -> S:
        """Wait for a free slot for one of our streams, then make it with ``new()``; raises
        ``closed()`` once the connection is closed."""
        await trio.lowlevel.checkpoint_if_cancelled()
        while True:
            exc = closed()
            if exc is not None:
                raise clone_error(exc)
            if self.alive_out < self.max_streams:
                break
            await self.open_changed.wait()
        stream = new()
        self.streams[stream.stream_id] = stream
        self.alive_out += 1
        await trio.lowlevel.cancel_shielded_checkpoint()
        return stream

    async def accept(self, closed: Callable[[], TransportError | None]) -> S:
        """The next stream the peer opened; raises ``closed()`` once the connection is closed and
        no stream is left to accept."""
        await trio.lowlevel.checkpoint_if_cancelled()
        while True:
            if self.accept_queue:
                stream = self.accept_queue.popleft()
                await trio.lowlevel.cancel_shielded_checkpoint()
                return stream
            exc = closed()
            if exc is not None:
                raise clone_error(exc)
            await self.accept_changed.wait()

    def add_peer_stream(self, stream: S) -> None:
        """A stream the peer opened becomes visible: counted, and queued for ``accept``."""
        self.streams[stream.stream_id] = stream
        self.alive_in += 1
        self.accept_queue.append(stream)
        self.accept_changed.fire()

    def release(self, stream: S) -> bool | None:
        """Forget ``stream`` and free its slot: True for ours, False for the peer's, None if it
        was not (or no longer) in the table."""
        if self.streams.pop(stream.stream_id, None) is None:
            return None
        if self.is_local(stream.stream_id):
            self.alive_out -= 1
            self.open_changed.fire()
            return True
        self.alive_in -= 1
        return False

    def connection_closed(self) -> None:
        """Wake every task waiting to open or accept a stream, and every stream's waiters."""
        self.accept_changed.fire()
        self.open_changed.fire()
        for stream in self.streams.values():
            stream.on_connection_closed()
