"""QUIC streams: a stream's length-prefixed framing and its receive credit.

Invariants of a stream's receive side (absolute stream offsets): ``consumed <= recv_offset``;
``recv_offset - consumed`` bytes are held (queued messages and the partial one) and counted in the
connection's ``buffered_bytes``; the credit granted (``_credit``) never exceeds the consumed bytes
plus the baseline window, except for a reservation that covers exactly one announced message and is
charged to the connection's reservation pool.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import trio

from ._aioquic import send_backlog
from .base import (
    HEADER_SIZE,
    STREAM_MESSAGE_TOO_LARGE,
    STREAM_TRUNCATED_MESSAGE,
    MessageTooLarge,
    StreamClosed,
    StreamReset,
    TransportError,
    encode_header,
)
from .streams import Signal, StreamEnds

if TYPE_CHECKING:
    from .quic_driver import QuicConnectionHandle

__all__ = ["QuicMessageStream"]


def _reset_exception(code: int, what: str) -> TransportError:
    if code == STREAM_MESSAGE_TOO_LARGE:
        return MessageTooLarge(f"{what}: message too large", error_code=code)
    return StreamReset(f"{what} (code {code:#x})", error_code=code)


class QuicMessageStream(StreamEnds):
    """A bidirectional QUIC stream carrying length-prefixed messages."""

    def __init__(self, conn: QuicConnectionHandle, stream_id: int) -> None:
        super().__init__(stream_id)
        self._conn = conn
        window = conn.limits.stream_receive_window
        # receive side: absolute stream offsets
        self._partial = bytearray()  # always starts at a message boundary
        self._partial_start = 0  # stream offset of _partial[0]
        self._need: int | None = None  # payload size of the message being assembled
        self._recv_offset = 0  # bytes aioquic delivered (plus the gap of a reset)
        self._consumed = 0  # bytes returned to the application or discarded
        self._credit = window  # our MAX_STREAM_DATA decision (mirrors aioquic's)
        self._extra = 0  # credit above the baseline window, charged to the reservation pool
        self._send_changed = Signal()  # a blocked sender may write (acknowledgements, closed)

    # ---------------------------------------------------------------- StreamEnds: sending

    async def send(self, message: bytes) -> None:
        await trio.lowlevel.checkpoint_if_cancelled()
        conn = self._conn
        self._check_size(message, conn.limits.max_message_size)
        size = len(message)
        bound = conn.limits.max_unacked_send_bytes
        while True:
            self._check_send()
            if send_backlog(conn.quic, self.stream_id) < bound:
                break
            conn.blocked_senders.add(self)
            await self._send_changed.wait()
        try:
            conn.quic.send_stream_data(self.stream_id, encode_header(size))
            if size:
                conn.quic.send_stream_data(self.stream_id, bytes(message))
        except (ValueError, RuntimeError) as exc:
            raise StreamReset("stream is no longer writable") from exc
        conn.stats.messages_sent += 1
        conn.wake()
        await trio.lowlevel.cancel_shielded_checkpoint()

    # ---------------------------------------------------------------- internals

    # ---------------------------------------------------------------- StreamEnds: the wire

    def _connection_error(self) -> TransportError | None:
        return self._conn.closed_exc

    def _took(self, message: bytes) -> None:
        self._consume(HEADER_SIZE + len(message))
        self._conn.stats.messages_received += 1

    def _reader_waits(self) -> None:
        if self._need is not None and self._msg_end() > self._credit:
            self._conn.wake()  # a reader now waits for a large message: try to reserve credit

    async def _write_fin(self) -> None:
        conn = self._conn
        try:
            conn.quic.send_stream_data(self.stream_id, b"", end_stream=True)
        except (ValueError, RuntimeError) as exc:
            raise StreamReset("stream is no longer writable") from exc
        self._close_send(StreamClosed("stream already finished"))
        conn.wake()
        await trio.lowlevel.cancel_shielded_checkpoint()

    def _abort_wire(self, code: int) -> None:
        conn = self._conn
        if conn.closed_exc is None:
            quic = conn.quic
            if not self._send_closed:
                with contextlib.suppress(ValueError, RuntimeError):  # finished and acknowledged
                    quic.reset_stream(self.stream_id, code)
            if not self._recv_done and quic.stream_known(self.stream_id):
                with contextlib.suppress(ValueError):  # receive side already finished
                    quic.stop_stream(self.stream_id, code)
            conn.wake()

    def _drop_buffered(self) -> None:
        held = self._recv_offset - self._consumed
        self._queue.clear()
        self._partial.clear()
        self._need = None
        if held:
            self._consume(held)

    def _send_ended(self) -> None:
        self._send_changed.fire()

    def _release(self) -> None:
        self._set_extra(0)
        self._conn.release_stream(self)

    # ---------------------------------------------------------------- credit and framing

    def _consume(self, size: int) -> None:
        conn = self._conn
        self._consumed += size
        conn.consumed_total += size
        conn.stats.buffered_bytes -= size
        window = conn.limits.stream_receive_window
        before = self._extra
        self._set_extra(max(0, self._credit - self._consumed - window))
        if self._released:
            return
        # Wake the driver when new credit is worth a frame or someone waits for it.
        if (
            self._consumed + window - self._credit >= window // 4
            or (before > self._extra and conn.pool_waiters)
            or conn.max_data_target() - conn.quic.max_data_sent >= conn.limits.max_buffered_bytes // 4
            or conn.quic.max_data_sent - conn.quic.max_data_used < conn.limits.max_buffered_bytes // 4
        ):
            conn.wake()

    def _set_extra(self, extra: int) -> None:
        self._conn.pool_used += extra - self._extra
        self._extra = extra

    def _msg_end(self) -> int:
        assert self._need is not None
        return self._partial_start + HEADER_SIZE + self._need

    def credit_target(self) -> int:
        """MAX_STREAM_DATA to advertise: baseline window after what was consumed, plus, for a
        message larger than that, a reservation up to its end if the pool has room.

        A reservation goes only to a stream whose reader has caught up (nothing queued) and is
        waiting in receive(), so a stream nobody reads cannot capture the pool; and it covers the
        whole message, so every reservation granted completes."""
        conn = self._conn
        window = conn.limits.stream_receive_window
        base = self._consumed + window
        target = self._credit
        if base - target >= window // 4:
            target = base
        if self._need is not None and not self._queue and self._readers and not self._recv_done:
            end = self._msg_end()
            if end > target:
                if end <= base:
                    target = base
                elif conn.pool_used - self._extra + (end - base) <= conn.limits.reservation_pool:
                    target = end
                    conn.pool_waiters.discard(self)
                else:
                    target = max(target, base)
                    conn.pool_waiters.add(self)
        if target > self._credit:
            self._credit = target
            self._set_extra(max(0, target - self._consumed - window))
        return self._credit

    def on_data(self, data: bytes, end_stream: bool) -> None:
        conn = self._conn
        size = len(data)
        self._recv_offset += size
        if self._recv_done:  # discarding (reset / stopped / oversize)
            self._consumed += size
            conn.consumed_total += size
            return
        stats = conn.stats
        stats.buffered_bytes += size
        stats.peak_buffered_bytes = max(stats.peak_buffered_bytes, stats.buffered_bytes)
        queued_before = len(self._queue)
        if size and not self._parse(data):
            return  # oversize: stream aborted
        if end_stream:
            truncated = None
            if self._partial:
                self._discard_partial()
                truncated = StreamReset("stream ended inside a message", error_code=STREAM_TRUNCATED_MESSAGE)
            self._end_receive(truncated)
        elif len(self._queue) != queued_before:
            self._recv_changed.fire()

    def _parse(self, data: bytes) -> bool:
        limit = self._conn.limits.max_message_size
        queue = self._queue
        if self._partial:
            self._partial += data
            buf: bytes | bytearray = self._partial
        else:
            buf = data
        total = len(buf)
        pos = 0
        while total - pos >= HEADER_SIZE:
            size = int.from_bytes(buf[pos : pos + HEADER_SIZE], "big")
            if size > limit:
                self._partial_start += pos
                self._on_oversize(size)
                return False
            end = pos + HEADER_SIZE + size
            if end > total:
                break
            queue.append(bytes(buf[pos + HEADER_SIZE : end]))
            pos = end
        if buf is self._partial:
            if pos:
                del self._partial[:pos]
        elif pos < total:
            self._partial += memoryview(data)[pos:]
        self._partial_start += pos
        if len(self._partial) >= HEADER_SIZE:
            self._need = int.from_bytes(self._partial[:HEADER_SIZE], "big")
        else:
            self._need = None
        return True

    def _discard_partial(self) -> None:
        size = len(self._partial)
        self._partial.clear()
        self._need = None
        self._conn.pool_waiters.discard(self)
        if size:
            self._consume(size)

    def _on_oversize(self, size: int) -> None:
        conn = self._conn
        conn.stats.oversize_resets += 1
        if conn.server_stats is not None:
            conn.server_stats.oversize_resets += 1
        exc = MessageTooLarge(
            f"peer announced a {size}-byte message (limit {conn.limits.max_message_size}); stream reset",
            error_code=STREAM_MESSAGE_TOO_LARGE,
        )
        # Complete messages before the bad prefix stay readable; the rest is dropped.
        partial = self._recv_offset - self._consumed - sum(HEADER_SIZE + len(m) for m in self._queue)
        self._partial.clear()
        self._need = None
        conn.pool_waiters.discard(self)
        self._consume(partial)
        self._recv_done = True
        self._recv_exc = exc
        quic = conn.quic
        with contextlib.suppress(ValueError):
            quic.stop_stream(self.stream_id, STREAM_MESSAGE_TOO_LARGE)
        if not self._send_closed:
            with contextlib.suppress(ValueError, RuntimeError):
                quic.reset_stream(self.stream_id, STREAM_MESSAGE_TOO_LARGE)
        self._close_send(exc)
        self._recv_changed.fire()
        conn.wake()

    def on_reset(self, code: int, final_offset: int | None) -> None:
        """RESET_STREAM from the peer."""
        if final_offset is not None and final_offset > self._recv_offset:
            gap = final_offset - self._recv_offset
            self._recv_offset = final_offset
            self._consumed += gap
            self._conn.consumed_total += gap
        if not self._recv_done:
            self._discard_receive(_reset_exception(code, "stream reset by peer"))

    def on_stop_sending(self, code: int) -> None:
        """STOP_SENDING from the peer (aioquic already reset our sending side)."""
        self._close_send(_reset_exception(code, "peer stopped reading"))

    def wake_sender_if_writable(self, bound: int) -> bool:
        """After acknowledgements: wake a sender blocked on this stream if it may write now (the
        unacknowledged bytes fell below ``bound``, or the send side closed); True if woken."""
        if self._send_closed or send_backlog(self._conn.quic, self.stream_id) < bound:
            self._send_changed.fire()
            return True
        return False

    def credit_target_if_reading(self) -> int | None:
        """``credit_target``, or None once nothing more will be received."""
        return None if self._recv_done else self.credit_target()
