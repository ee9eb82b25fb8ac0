"""QUIC binding of the transport, driving aioquic's sans-I/O ``QuicConnection`` from trio.

One raw non-blocking UDP socket per endpoint; a receive task drains it (many datagrams per
wake-up) and feeds connections synchronously; one driver task per connection owns its timer and
sends what ``datagrams_to_send`` produces.  Every ``now`` is ``trio.current_time()``.

See ``spec/_drafts/transport.md`` for the normative description.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import socket
import ssl
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from types import TracebackType
from typing import Any

import nacl.signing
import trio
from aioquic._buffer import Buffer
from aioquic.quic import events
from aioquic.quic.configuration import SMALLEST_MAX_DATAGRAM_SIZE, QuicConfiguration
from aioquic.quic.packet import (
    QuicErrorCode,
    QuicPacketType,
    QuicProtocolVersion,
    encode_quic_retry,
    encode_quic_version_negotiation,
    pull_quic_header,
)
from aioquic.quic.retry import QuicRetryTokenHandler

from ._aioquic import HoldspaceQuic, encode_initial_close, peer_certificate, send_backlog
from .base import (
    CLOSE_BAD_CERTIFICATE,
    CLOSE_HANDSHAKE_TIMEOUT,
    CLOSE_INTERNAL_ERROR,
    CLOSE_NO_ERROR,
    CLOSE_PIN_MISMATCH,
    CLOSE_SHUTTING_DOWN,
    HEADER_SIZE,
    STREAM_MESSAGE_TOO_LARGE,
    STREAM_TRUNCATED_MESSAGE,
    BadCertificate,
    ConnectFailed,
    ConnectionRefused,
    ConnectionStats,
    EndOfStream,
    HandshakeTimeout,
    IdleTimeout,
    MessageTooLarge,
    NoApplicationProtocol,
    PinMismatch,
    ServerStats,
    StreamClosed,
    StreamReset,
    TooManyStreams,
    TransportClosed,
    TransportError,
    TransportLimits,
    check_application_code,
    clone_error,
    encode_header,
    only_transport_errors,
)
from .certs import certificate_for, raw_ed25519_key

__all__ = ["QuicConnectionHandle", "QuicMessageStream", "connect_quic", "serve_quic"]

log = logging.getLogger(__name__)

QUIC_VERSION = QuicProtocolVersion.VERSION_1
CID_LENGTH = 8
RECV_BATCH = 256
SOCKET_BUFFER = 4 * 1024 * 1024
TLS_NO_APPLICATION_PROTOCOL = QuicErrorCode.CRYPTO_ERROR + 120

Address = tuple[str, int]
Handler = Callable[["QuicConnectionHandle"], Awaitable[None]]


def _reset_exception(code: int, what: str) -> TransportError:
    if code == STREAM_MESSAGE_TOO_LARGE:
        return MessageTooLarge(f"{what}: message too large", error_code=code)
    return StreamReset(f"{what} (code {code:#x})", error_code=code)


# =========================================================================== UDP endpoints


class _Endpoint:
    """A UDP socket shared by one (client) or many (server) connections."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._write_lock = trio.Lock()

    def send_now(self, data: bytes, addr: Address) -> None:
        """Best effort, never blocks (stateless replies, shutdown)."""
        with contextlib.suppress(OSError):  # a full buffer or unreachable peer is equivalent to loss
            self.sock.sendto(data, addr)

    async def send_datagrams(self, datagrams: Iterable[tuple[bytes, Any]]) -> None:
        sock = self.sock
        for data, addr in datagrams:
            while True:
                try:
                    sock.sendto(data, addr)
                except BlockingIOError:
                    async with self._write_lock:
                        await trio.lowlevel.wait_writable(sock)
                    continue
                except OSError:
                    pass  # treated as loss; QUIC recovers
                break

    async def recv_loop(self) -> None:
        sock = self.sock
        while True:
            await trio.lowlevel.wait_readable(sock)
            now = trio.current_time()
            for _ in range(RECV_BATCH):
                try:
                    data, addr = sock.recvfrom(65536)
                except BlockingIOError:
                    break
                except OSError:
                    continue
                self.route(data, (addr[0], addr[1]), now)
            self.after_batch()

    def route(self, data: bytes, addr: Address, now: float) -> None:
        raise NotImplementedError

    def after_batch(self) -> None:
        pass

    # hooks used by connections (server overrides)
    def register_cid(self, cid: bytes, conn: QuicConnectionHandle) -> None:
        pass

    def unregister_cid(self, cid: bytes) -> None:
        pass

    def connection_established(self, conn: QuicConnectionHandle) -> None:
        pass

    def connection_gone(self, conn: QuicConnectionHandle) -> None:
        pass


def _tune(sock: socket.socket) -> None:
    sock.setblocking(False)
    for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
        with contextlib.suppress(OSError):  # best effort; the kernel caps it
            sock.setsockopt(socket.SOL_SOCKET, option, SOCKET_BUFFER)


async def _resolve(host: str, port: int) -> tuple[socket.AddressFamily, Address]:
    infos = await trio.socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    if not infos:
        raise OSError(f"cannot resolve {host!r}")
    family, _, _, _, sockaddr = infos[0]
    return family, (str(sockaddr[0]), int(sockaddr[1]))


# =========================================================================== streams


class QuicMessageStream:
    """A bidirectional QUIC stream carrying length-prefixed messages."""

    def __init__(self, conn: QuicConnectionHandle, stream_id: int) -> None:
        self._conn = conn
        self.stream_id = stream_id
        window = conn.limits.stream_receive_window
        # receive side: absolute stream offsets
        self._queue: deque[bytes] = deque()
        self._partial = bytearray()  # always starts at a message boundary
        self._partial_start = 0  # stream offset of _partial[0]
        self._need: int | None = None  # payload size of the message being assembled
        self._recv_offset = 0  # bytes aioquic delivered (plus the gap of a reset)
        self._consumed = 0  # bytes returned to the application or discarded
        self._credit = window  # our MAX_STREAM_DATA decision (mirrors aioquic's)
        self._extra = 0  # credit above the baseline window, charged to the reservation pool
        self._recv_done = False  # nothing more will be queued
        self._recv_exc: TransportError | None = None  # raised after the queue drains (None: EOF)
        self._recv_event = trio.Event()
        self._readers = 0  # tasks waiting in receive(): only they get credit for large messages
        # send side
        self._send_closed = False
        self._send_exc: TransportError | None = None
        self._send_event = trio.Event()
        self._released = False

    # ---------------------------------------------------------------- application API

    async def send(self, message: bytes) -> None:
        await trio.lowlevel.checkpoint_if_cancelled()
        conn = self._conn
        size = len(message)
        if size > conn.limits.max_message_size:
            raise MessageTooLarge(f"{size} bytes > limit {conn.limits.max_message_size}")
        bound = conn.limits.max_unacked_send_bytes
        while True:
            self._check_send()
            if send_backlog(conn.quic, self.stream_id) < bound:
                break
            conn.blocked_senders.add(self)
            if self._send_event.is_set():
                self._send_event = trio.Event()
            await self._send_event.wait()
        try:
            conn.quic.send_stream_data(self.stream_id, encode_header(size))
            if size:
                conn.quic.send_stream_data(self.stream_id, bytes(message))
        except (ValueError, RuntimeError) as exc:
            raise StreamReset("stream is no longer writable") from exc
        conn.stats.messages_sent += 1
        conn.wake()
        await trio.lowlevel.cancel_shielded_checkpoint()

    async def receive(self) -> bytes:
        await trio.lowlevel.checkpoint_if_cancelled()
        conn = self._conn
        while True:
            if self._queue:
                message = self._queue.popleft()
                self._consume(HEADER_SIZE + len(message))
                conn.stats.messages_received += 1
                self._maybe_release()
                await trio.lowlevel.cancel_shielded_checkpoint()
                return message
            if self._recv_done:
                self._maybe_release()
                if self._recv_exc is not None:
                    raise clone_error(self._recv_exc)
                raise EndOfStream("peer finished the stream")
            if conn.closed_exc is not None:
                raise clone_error(conn.closed_exc)
            if self._recv_event.is_set():
                self._recv_event = trio.Event()
            if self._need is not None and self._msg_end() > self._credit:
                conn.wake()  # a reader now waits for a large message: try to reserve credit
            self._readers += 1
            try:
                await self._recv_event.wait()
            finally:
                self._readers -= 1

    async def finish(self) -> None:
        await trio.lowlevel.checkpoint_if_cancelled()
        if self._send_closed:
            if self._send_exc is not None and not isinstance(self._send_exc, StreamClosed):
                raise clone_error(self._send_exc)
            await trio.lowlevel.cancel_shielded_checkpoint()
            return
        conn = self._conn
        if conn.closed_exc is not None:
            raise clone_error(conn.closed_exc)
        try:
            conn.quic.send_stream_data(self.stream_id, b"", end_stream=True)
        except (ValueError, RuntimeError) as exc:
            raise StreamReset("stream is no longer writable") from exc
        self._close_send(StreamClosed("stream already finished"))
        conn.wake()
        await trio.lowlevel.cancel_shielded_checkpoint()

    def reset(self, code: int = 0) -> None:
        check_application_code(code)
        self._abort(code, StreamClosed(f"stream reset locally (code {code:#x})"))

    # ---------------------------------------------------------------- internals

    def _check_send(self) -> None:
        if self._send_exc is not None:
            raise clone_error(self._send_exc)
        if self._conn.closed_exc is not None:
            raise clone_error(self._conn.closed_exc)

    def _abort(self, code: int, exc: TransportError) -> None:
        """Reset our sending side and stop the peer's, dropping what is buffered."""
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
        self._discard_receive(exc, replace=True)
        self._close_send(exc)

    def _close_send(self, exc: TransportError) -> None:
        if not self._send_closed:
            self._send_closed = True
            self._send_exc = exc
            self._send_event.set()
        self._maybe_release()

    def _discard_receive(self, exc: TransportError | None, *, replace: bool = False) -> None:
        """No more messages will be delivered: free the buffers, remember how receive ends."""
        held = self._recv_offset - self._consumed
        self._queue.clear()
        self._partial.clear()
        self._need = None
        if held:
            self._consume(held)
        if replace or not self._recv_done:
            self._recv_done = True
            self._recv_exc = exc
        self._recv_event.set()
        self._maybe_release()

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
            if self._partial:
                self._discard_partial()
                self._recv_exc = StreamReset("stream ended inside a message", error_code=STREAM_TRUNCATED_MESSAGE)
            self._recv_done = True
            self._recv_event.set()
            self._maybe_release()
        elif len(self._queue) != queued_before:
            self._recv_event.set()

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
        self._recv_event.set()
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

    def on_connection_closed(self) -> None:
        self._recv_event.set()
        self._send_event.set()

    def _maybe_release(self) -> None:
        if not self._released and self._send_closed and self._recv_done and not self._queue:
            self._released = True
            self._set_extra(0)
            self._conn.release_stream(self)


# =========================================================================== connections


class QuicConnectionHandle:
    """One QUIC connection (client or server side); implements ``Connection``."""

    def __init__(
        self,
        *,
        endpoint: _Endpoint,
        configuration: QuicConfiguration,
        limits: TransportLimits,
        remote_address: Address,
        is_client: bool,
        expected_key: bytes | None = None,
        server_stats: ServerStats | None = None,
        original_destination_connection_id: bytes | None = None,
        retry_source_connection_id: bytes | None = None,
    ) -> None:
        self.limits = limits
        self.peer_key: bytes | None = None
        self.remote_address = remote_address
        self.alpn = ""
        self.stats = ConnectionStats()
        self.server_stats = server_stats
        self.is_client = is_client
        self._endpoint = endpoint
        self._expected_key = expected_key
        kwargs: dict[str, Any] = {}
        if not is_client:
            kwargs["original_destination_connection_id"] = original_destination_connection_id
            kwargs["retry_source_connection_id"] = retry_source_connection_id
        self.quic = HoldspaceQuic(
            configuration=configuration,
            policy=self,
            max_streams=limits.max_streams,
            request_client_certificate=not is_client,
            **kwargs,
        )
        self.cids: set[bytes] = set()
        self.streams: dict[int, QuicMessageStream] = {}
        self._released_ids: set[int] = set()
        self._accept_queue: deque[QuicMessageStream] = deque()
        self._accept_event = trio.Event()
        self._open_event = trio.Event()
        self._alive_in = 0
        self._alive_out = 0
        self.pool_used = 0
        self.pool_waiters: set[QuicMessageStream] = set()
        self.consumed_total = 0
        self.blocked_senders: set[QuicMessageStream] = set()
        self._progress_waiters = 0
        self._progress_event = trio.Event()
        self._wake_event = trio.Event()
        self._timer_at: float | None = None
        self._last_sent = trio.current_time()  # when a datagram was last sent (keep-alive clock)
        self._pings = 0
        self._handshake_deadline: float | None = trio.current_time() + limits.handshake_timeout
        self.established = trio.Event()  # set on success or failure of the handshake
        self.handshake_ok = False
        self.closed_exc: TransportError | None = None
        self.terminated = trio.Event()
        self._pin_checked = False
        self._await_confirmation = False

    # ---------------------------------------------------------------- Connection API

    async def open_stream(self) -> QuicMessageStream:
        await trio.lowlevel.checkpoint_if_cancelled()
        while True:
            if self.closed_exc is not None:
                raise clone_error(self.closed_exc)
            if self._alive_out < self.limits.max_streams:
                break
            if self._open_event.is_set():
                self._open_event = trio.Event()
            await self._open_event.wait()
        stream_id = self.quic.create_stream()
        stream = QuicMessageStream(self, stream_id)
        self.streams[stream_id] = stream
        self._alive_out += 1
        await trio.lowlevel.cancel_shielded_checkpoint()
        return stream

    async def accept_stream(self) -> QuicMessageStream:
        await trio.lowlevel.checkpoint_if_cancelled()
        while True:
            if self._accept_queue:
                stream = self._accept_queue.popleft()
                await trio.lowlevel.cancel_shielded_checkpoint()
                return stream
            if self.closed_exc is not None:
                raise clone_error(self.closed_exc)
            if self._accept_event.is_set():
                self._accept_event = trio.Event()
            await self._accept_event.wait()

    async def aclose(self, code: int = 0, reason: str = "") -> None:
        check_application_code(code)
        await trio.lowlevel.checkpoint_if_cancelled()
        if self.closed_exc is not None:
            return
        if code == CLOSE_NO_ERROR and self.handshake_ok:
            with trio.move_on_after(self.limits.close_timeout):
                while self.closed_exc is None and not self.quic.all_sent_data_acked():
                    self._progress_waiters += 1
                    try:
                        if self._progress_event.is_set():
                            self._progress_event = trio.Event()
                        await self._progress_event.wait()
                    finally:
                        self._progress_waiters -= 1
        if self.closed_exc is None:
            exc = TransportClosed("connection closed locally", error_code=code, reason=reason)
            self.close_now(code, reason, exc)
            await self.flush()

    # ---------------------------------------------------------------- credit policy (HoldspaceQuic)

    def max_data_target(self) -> int:
        return self.consumed_total + self.limits.max_buffered_bytes

    def free_stream_slots(self) -> int:
        return max(0, self.limits.max_streams - self._alive_in)

    def stream_credit_target(self, stream_id: int) -> int | None:
        stream = self.streams.get(stream_id)
        if stream is None or stream._recv_done:
            return None
        return stream.credit_target()

    # ---------------------------------------------------------------- driver

    def wake(self) -> None:
        self._wake_event.set()

    async def drive(self) -> None:
        """Own the timer and send datagrams until the connection is terminated."""
        while not self.terminated.is_set():
            deadline = math.inf
            if self._timer_at is not None:
                deadline = self._timer_at
            if self._handshake_deadline is not None:
                deadline = min(deadline, self._handshake_deadline)
            keepalive = self.limits.keepalive_every
            if keepalive is not None and self.handshake_ok:
                deadline = min(deadline, self._last_sent + keepalive)
            if not self._wake_event.is_set():
                with trio.move_on_at(deadline):
                    await self._wake_event.wait()
            self._wake_event = trio.Event()
            # Let tasks woken by the last datagrams queue their replies, so that those share
            # packets with the ACKs.
            await trio.lowlevel.checkpoint()
            now = trio.current_time()
            if self._timer_at is not None and now >= self._timer_at:
                self._timer_at = None
                self.quic.handle_timer(now)
                self.process_events()
            if (
                self._handshake_deadline is not None
                and not self.handshake_ok
                and now >= self._handshake_deadline
                and not self.terminated.is_set()
            ):
                self._handshake_timed_out()
            if self.terminated.is_set():
                break
            if keepalive is not None and self.handshake_ok and now >= self._last_sent + keepalive:
                self._pings += 1  # quiet for a keep-alive interval: a PING (acknowledged) keeps both ends alive
                self.quic.send_ping(self._pings)
                self._last_sent = now  # even if congestion control holds it back: no busy loop
            await self._send_pending(now)

    async def _send_pending(self, now: float) -> None:
        datagrams = self.quic.datagrams_to_send(now)
        self._timer_at = self.quic.get_timer()  # re-armed after every datagrams_to_send
        if datagrams:
            self._last_sent = now
            await self._endpoint.send_datagrams(datagrams)

    async def flush(self) -> None:
        """Send what is pending now (outside the driver, which is woken to re-read the timer)."""
        await self._send_pending(trio.current_time())
        self.wake()

    def flush_now(self) -> None:
        """Synchronous best-effort flush (failure paths and shutdown)."""
        for data, addr in self.quic.datagrams_to_send(trio.current_time()):
            self._last_sent = trio.current_time()
            self._endpoint.send_now(data, addr)
        self._timer_at = self.quic.get_timer()
        self.wake()

    def datagram_received(self, data: bytes, addr: Address, now: float) -> None:
        if self.terminated.is_set():
            return
        self.quic.receive_datagram(data, addr, now)
        if self.is_client and not self._pin_checked:
            self._check_pin()
        self.process_events()
        if self.closed_exc is None and (peer_close := self.quic.peer_close) is not None:
            exc = self._termination_exception(peer_close)
            if self.handshake_ok:
                self.closed_exc = exc  # tell the application now; the state drains in the background
                self._wake_all()
            else:
                self._terminate(exc)
        if not self.is_client and not self.handshake_ok and self.quic.hs_local_close:
            self._handshake_failed()
        if self._await_confirmation and self.quic.handshake_confirmed and self.closed_exc is None:
            self._await_confirmation = False
            self._established()
        if self.blocked_senders:
            bound = self.limits.max_unacked_send_bytes
            for stream in list(self.blocked_senders):
                if stream._send_closed or send_backlog(self.quic, stream.stream_id) < bound:
                    self.blocked_senders.discard(stream)
                    stream._send_event.set()
        if self._progress_waiters:
            self._progress_event.set()
        self.wake()

    def process_events(self) -> None:
        quic = self.quic
        while (event := quic.next_event()) is not None:
            if isinstance(event, events.StreamDataReceived):
                self._on_stream_data(event)
            elif isinstance(event, events.ConnectionIdIssued):
                self.cids.add(event.connection_id)
                self._endpoint.register_cid(event.connection_id, self)
            elif isinstance(event, events.ConnectionIdRetired):
                self.cids.discard(event.connection_id)
                self._endpoint.unregister_cid(event.connection_id)
            elif isinstance(event, events.StreamReset):
                final = quic.stream_final_offset(event.stream_id)
                # A stream is visible from its first frame, a reset included (its first message
                # may have been overtaken by the reset): the application accepts it and reads
                # StreamReset.
                stream = self.streams.get(event.stream_id) or self._new_peer_stream(event.stream_id)
                if stream is not None:
                    stream.on_reset(event.error_code, final)
            elif isinstance(event, events.StopSendingReceived):
                stream = self.streams.get(event.stream_id) or self._new_peer_stream(event.stream_id)
                if stream is not None:
                    stream.on_stop_sending(event.error_code)
            elif isinstance(event, events.HandshakeCompleted):
                self._on_handshake_completed(event)
            elif isinstance(event, events.ConnectionTerminated):
                self._terminate(self._termination_exception(event))
            if self.terminated.is_set():
                return

    def _on_stream_data(self, event: events.StreamDataReceived) -> None:
        stream_id = event.stream_id
        stream = self.streams.get(stream_id) or self._new_peer_stream(stream_id)
        if stream is None:
            # A stream we are done with (or our own, never opened by us): drop the bytes.
            self.consumed_total += len(event.data)
            return
        stream.on_data(event.data, event.end_stream)

    def _new_peer_stream(self, stream_id: int) -> QuicMessageStream | None:
        if stream_id in self._released_ids or (stream_id & 1) == (0 if self.is_client else 1):
            return None
        stream = QuicMessageStream(self, stream_id)
        self.streams[stream_id] = stream
        self._alive_in += 1
        self._accept_queue.append(stream)
        self._accept_event.set()
        return stream

    def release_stream(self, stream: QuicMessageStream) -> None:
        if self.streams.pop(stream.stream_id, None) is None:
            return
        self.pool_waiters.discard(stream)
        self.blocked_senders.discard(stream)
        self._released_ids.add(stream.stream_id)
        if len(self._released_ids) > 256:
            self._released_ids = {sid for sid in self._released_ids if self.quic.stream_known(sid)}
        if (stream.stream_id & 1) == (0 if self.is_client else 1):
            self._alive_out -= 1
            self._open_event.set()
        else:
            self._alive_in -= 1
            self.wake()  # MAX_STREAMS credit

    # ---------------------------------------------------------------- handshake

    def _check_pin(self) -> None:
        cert = peer_certificate(self.quic)
        if cert is None:
            return
        self._pin_checked = True
        key = raw_ed25519_key(cert)
        if key is None:
            self._fail(CLOSE_BAD_CERTIFICATE, BadCertificate("node certificate has no Ed25519 key"))
        elif key != self._expected_key:
            self._fail(
                CLOSE_PIN_MISMATCH,
                PinMismatch(f"node key {key.hex()} is not the pinned {(self._expected_key or b'').hex()}"),
            )
        else:
            self.peer_key = key

    def _on_handshake_completed(self, event: events.HandshakeCompleted) -> None:
        if self.closed_exc is not None:
            return
        self.alpn = event.alpn_protocol or ""
        if self.is_client:
            if not self._pin_checked:
                self._check_pin()
            if self.peer_key is not None:
                # In TLS 1.3 the client finishes first: the node may still reject our
                # certificate. Established means confirmed (HANDSHAKE_DONE received).
                self._await_confirmation = True
            return
        cert = peer_certificate(self.quic)
        if cert is not None:
            key = raw_ed25519_key(cert)
            if key is None:
                self._fail(CLOSE_BAD_CERTIFICATE, BadCertificate("client certificate has no Ed25519 key"))
                return
            self.peer_key = key
        self._established()

    def _established(self) -> None:
        self.handshake_ok = True
        self._handshake_deadline = None
        self.established.set()
        self._endpoint.connection_established(self)

    def _fail(self, code: int, exc: TransportError) -> None:
        """Abort during the handshake: send CONNECTION_CLOSE once and drop the state."""
        self.close_now(code, str(exc), exc)
        self.flush_now()
        self._terminate(exc)

    def _handshake_failed(self) -> None:
        """The node's QUIC stack closed the connection during the handshake (a TLS alert such as
        no common ALPN, a protocol violation): send its CONNECTION_CLOSE once and drop the state
        now, so that the half-open slot is free at once rather than after the closing period."""
        if self.terminated.is_set():
            return
        close = self.quic.close_event
        exc = self._termination_exception(close) if close is not None else ConnectFailed("handshake failed")
        self.flush_now()
        self._terminate(exc)

    def _handshake_timed_out(self) -> None:
        if self.server_stats is not None:
            self.server_stats.handshake_timeouts += 1
        self._fail(CLOSE_HANDSHAKE_TIMEOUT, HandshakeTimeout("handshake did not complete in time"))

    # ---------------------------------------------------------------- closing

    def close_now(self, code: int, reason: str, exc: TransportError) -> None:
        if self.closed_exc is None:
            self.closed_exc = exc
            if self.handshake_ok and not self.terminated.is_set():
                # CONNECTION_CLOSE preempts pending frames: send those first (a client's
                # Finished, in particular, or the node would never see the handshake complete).
                self.flush_now()
            self.quic.close(error_code=code, reason_phrase=reason)
            self._wake_all()
            self.wake()

    def _termination_exception(self, event: events.ConnectionTerminated) -> TransportError:
        if self.closed_exc is not None:
            return self.closed_exc
        code = event.error_code
        reason = event.reason_phrase
        if self.quic.hs_idle_expired:
            if not self.handshake_ok:
                return HandshakeTimeout("no answer from the peer")
            return IdleTimeout("idle timeout", reason=reason)
        by_peer = not self.quic.hs_local_close
        application = event.frame_type is None
        if not self.handshake_ok:
            if application and code == CLOSE_BAD_CERTIFICATE:
                return BadCertificate(f"the node refused our certificate: {reason}", error_code=code)
            if application and code == CLOSE_HANDSHAKE_TIMEOUT:
                return HandshakeTimeout(f"the node timed the handshake out: {reason}", error_code=code)
            if application and code == CLOSE_SHUTTING_DOWN:
                return ConnectionRefused(f"the node is shutting down: {reason}", error_code=code)
            if not application and code == TLS_NO_APPLICATION_PROTOCOL:
                return NoApplicationProtocol(f"no common ALPN: {reason}", error_code=code)
            if not application and code in (QuicErrorCode.CONNECTION_REFUSED, QuicErrorCode.INVALID_TOKEN):
                return ConnectionRefused(f"refused by the node: {reason or hex(code)}", error_code=code)
            if not application and QuicErrorCode.CRYPTO_ERROR <= code < QuicErrorCode.CRYPTO_ERROR + 0x100:
                alert = f"TLS alert {code - QuicErrorCode.CRYPTO_ERROR}"
                return ConnectFailed(f"handshake failed ({alert}) {reason}".rstrip(), error_code=code)
            return ConnectFailed(f"handshake failed (code {code:#x}) {reason}".rstrip(), error_code=code)
        if not application and code == QuicErrorCode.STREAM_LIMIT_ERROR:
            return TooManyStreams(f"stream limit exceeded: {reason}", error_code=code, by_peer=by_peer)
        kind = "application" if application else "transport"
        who = "peer" if by_peer else "local"
        return TransportClosed(
            f"connection closed ({who} {kind} code {code:#x}) {reason}".rstrip(),
            error_code=code,
            reason=reason,
            by_peer=by_peer,
        )

    def _terminate(self, exc: TransportError) -> None:
        if self.terminated.is_set():
            return
        if self.closed_exc is None:
            self.closed_exc = exc
        self.terminated.set()
        self.established.set()
        self._wake_all()
        self.wake()
        self._endpoint.connection_gone(self)

    def _wake_all(self) -> None:
        self._accept_event.set()
        self._open_event.set()
        self._progress_event.set()
        for stream in self.streams.values():
            stream.on_connection_closed()

    def abort(self, code: int = CLOSE_INTERNAL_ERROR, reason: str = "") -> None:
        """Close at once (synchronous, best effort)."""
        if self.closed_exc is None:
            self.close_now(code, reason, TransportClosed("connection aborted locally", error_code=code))
            self.flush_now()


# =========================================================================== server


class _ServerEndpoint(_Endpoint):
    def __init__(
        self,
        sock: socket.socket,
        *,
        configuration: QuicConfiguration,
        handler: Handler,
        limits: TransportLimits,
        stats: ServerStats,
    ) -> None:
        super().__init__(sock)
        self.configuration = configuration
        self.handler = handler
        self.limits = limits
        self.stats = stats
        self.by_cid: dict[bytes, QuicConnectionHandle] = {}
        self.connections: set[QuicConnectionHandle] = set()
        self.per_address: dict[str, int] = {}  # IP address -> connections from it (half-open included)
        self.half_open: set[QuicConnectionHandle] = set()
        self.retry = QuicRetryTokenHandler()
        self.nursery: trio.Nursery | None = None

    # ---------------------------------------------------------------- demultiplexing

    def route(self, data: bytes, addr: Address, now: float) -> None:
        if not data:
            return
        if not data[0] & 0x80:  # short header: route by our fixed-length connection ID
            conn = self.by_cid.get(data[1 : 1 + CID_LENGTH])
            if conn is None:
                self.stats.unroutable_dropped += 1
                return
            self._deliver(conn, data, addr, now)
            return
        try:
            header = pull_quic_header(Buffer(data=data), host_cid_length=CID_LENGTH)
        except ValueError:
            self.stats.unroutable_dropped += 1
            return
        conn = self.by_cid.get(header.destination_cid)
        if conn is not None:
            self._deliver(conn, data, addr, now)
            return
        # Anything below may start a connection: RFC 9000 section 14.1 forbids any reply, version
        # negotiation included, to a datagram smaller than 1200 bytes.
        if len(data) < SMALLEST_MAX_DATAGRAM_SIZE:
            self.stats.small_datagrams_dropped += 1
            return
        if header.packet_type == QuicPacketType.VERSION_NEGOTIATION:
            self.stats.unroutable_dropped += 1
            return  # never answer VN with VN (reflection loops)
        if header.version != QUIC_VERSION:
            self.stats.version_negotiations += 1
            self.send_now(
                encode_quic_version_negotiation(
                    source_cid=header.destination_cid,
                    destination_cid=header.source_cid,
                    supported_versions=[QUIC_VERSION],
                ),
                addr,
            )
            return
        if header.packet_type != QuicPacketType.INITIAL or len(header.destination_cid) < 8:
            self.stats.unroutable_dropped += 1
            return
        self._new_connection(header, data, addr, now)

    def _deliver(self, conn: QuicConnectionHandle, data: bytes, addr: Address, now: float) -> None:
        try:
            conn.datagram_received(data, addr, now)
        except Exception:
            log.exception("dropping a connection after an internal error")
            conn.abort(CLOSE_INTERNAL_ERROR, "internal error")
            conn._terminate(TransportClosed("internal error", error_code=CLOSE_INTERNAL_ERROR))

    def _refuse(self, header: Any, addr: Address, error_code: int) -> None:
        self.stats.connections_refused += 1
        self.send_now(
            encode_initial_close(
                version=header.version,
                source_cid=header.destination_cid,
                destination_cid=header.source_cid,
                error_code=error_code,
            ),
            addr,
        )

    def _new_connection(self, header: Any, data: bytes, addr: Address, now: float) -> None:
        limits = self.limits
        if len(self.connections) >= limits.max_connections:
            self._refuse(header, addr, QuicErrorCode.CONNECTION_REFUSED)
            return
        if self.per_address.get(addr[0], 0) >= limits.max_connections_per_address:
            self.stats.refused_per_address += 1
            self._refuse(header, addr, QuicErrorCode.CONNECTION_REFUSED)
            return
        original_dcid = header.destination_cid
        retry_scid: bytes | None = None
        if header.token:
            try:
                original_dcid = self.retry.validate_token(
                    address=addr, destination_cid=header.destination_cid, token=header.token, now=now
                )
            except ValueError:
                self.stats.invalid_tokens += 1
                self._refuse(header, addr, QuicErrorCode.INVALID_TOKEN)
                return
            retry_scid = header.destination_cid
        elif len(self.half_open) >= limits.retry_threshold:
            # Address validation: a Retry costs no state; the client proves it owns the address.
            source_cid = os.urandom(CID_LENGTH)
            self.stats.retries_sent += 1
            self.send_now(
                encode_quic_retry(
                    version=header.version,
                    source_cid=source_cid,
                    destination_cid=header.source_cid,
                    original_destination_cid=header.destination_cid,
                    retry_token=self.retry.create_token(
                        address=addr,
                        original_destination_connection_id=header.destination_cid,
                        retry_source_connection_id=source_cid,
                        now=now,
                    ),
                ),
                addr,
            )
            return
        if len(self.half_open) >= limits.max_half_open:
            self._refuse(header, addr, QuicErrorCode.CONNECTION_REFUSED)
            return
        assert self.nursery is not None
        conn = QuicConnectionHandle(
            endpoint=self,
            configuration=self.configuration,
            limits=limits,
            remote_address=addr,
            is_client=False,
            server_stats=self.stats,
            original_destination_connection_id=original_dcid,
            retry_source_connection_id=retry_scid,
        )
        for cid in (header.destination_cid, conn.quic.host_cid):
            conn.cids.add(cid)
            self.by_cid[cid] = conn
        self.connections.add(conn)
        self.half_open.add(conn)
        self.per_address[addr[0]] = self.per_address.get(addr[0], 0) + 1
        self._deliver(conn, data, addr, now)
        if not conn.quic.accepted_a_packet and not conn.terminated.is_set():
            # Nothing decrypted: keep no state for it and send nothing.
            self.stats.unroutable_dropped += 1
            conn._terminate(TransportClosed("first datagram did not decrypt"))
        if conn.terminated.is_set():
            return
        self.stats.connections = len(self.connections)
        self.stats.half_open = len(self.half_open)
        self.stats.peak_half_open = max(self.stats.peak_half_open, self.stats.half_open)
        self.nursery.start_soon(conn.drive)

    # ---------------------------------------------------------------- connection hooks

    def register_cid(self, cid: bytes, conn: QuicConnectionHandle) -> None:
        self.by_cid[cid] = conn

    def unregister_cid(self, cid: bytes) -> None:
        self.by_cid.pop(cid, None)

    def connection_established(self, conn: QuicConnectionHandle) -> None:
        self.half_open.discard(conn)
        self.stats.half_open = len(self.half_open)
        self.stats.connections_accepted += 1
        assert self.nursery is not None
        self.nursery.start_soon(self._run_handler, conn)

    def connection_gone(self, conn: QuicConnectionHandle) -> None:
        for cid in conn.cids:
            if self.by_cid.get(cid) is conn:
                del self.by_cid[cid]
        conn.cids.clear()
        if conn in self.connections:
            self.connections.discard(conn)
            host = conn.remote_address[0]
            left = self.per_address.get(host, 1) - 1
            if left > 0:
                self.per_address[host] = left
            else:
                self.per_address.pop(host, None)
        self.half_open.discard(conn)
        self.stats.connections = len(self.connections)
        self.stats.half_open = len(self.half_open)

    async def _run_handler(self, conn: QuicConnectionHandle) -> None:
        code = CLOSE_NO_ERROR
        try:
            await self.handler(conn)
        except Exception as exc:
            if not only_transport_errors(exc):
                log.exception("connection handler failed")
                code = CLOSE_INTERNAL_ERROR
        if conn.closed_exc is None:
            if code == CLOSE_NO_ERROR:
                await conn.aclose(code, "")
            else:  # a transport code (above the application range): closed directly, never raised
                conn.close_now(code, "internal error", TransportClosed("internal error", error_code=code))
                await conn.flush()

    def shutdown(self) -> None:
        for conn in list(self.connections):
            if not conn.terminated.is_set():
                if conn.closed_exc is None:
                    conn.close_now(
                        CLOSE_SHUTTING_DOWN,
                        "node shutting down",
                        TransportClosed("node shutting down", error_code=CLOSE_SHUTTING_DOWN),
                    )
                conn.flush_now()
                conn._terminate(TransportClosed("node shut down", error_code=CLOSE_SHUTTING_DOWN))


def _configuration(limits: TransportLimits, *, is_client: bool, alpns: list[str]) -> QuicConfiguration:
    return QuicConfiguration(
        is_client=is_client,
        alpn_protocols=alpns,
        idle_timeout=limits.idle_timeout,
        max_data=limits.max_buffered_bytes,
        max_stream_data=limits.stream_receive_window,
        connection_id_length=CID_LENGTH,
        supported_versions=[QUIC_VERSION],
        verify_mode=ssl.CERT_NONE,
    )


async def serve_quic(
    host: str,
    port: int,
    *,
    node_key: nacl.signing.SigningKey,
    alpns: list[str],
    handler: Callable[[QuicConnectionHandle], Awaitable[None]],
    limits: TransportLimits = TransportLimits(),  # noqa: B008 - frozen, immutable
    task_status: trio.TaskStatus[Address] = trio.TASK_STATUS_IGNORED,
    stats: ServerStats | None = None,
) -> None:
    """Serve QUIC on (host, port) until cancelled; ``handler(conn)`` runs per established
    connection and the connection is closed gracefully when it returns.

    The bound (host, port) is reported through ``task_status`` (port 0 picks a free port).
    ``stats`` (optional) is updated in place with server counters.
    """
    if not alpns:
        raise ValueError("at least one ALPN is required")
    cert, private_key = certificate_for(node_key)
    configuration = _configuration(limits, is_client=False, alpns=list(alpns))
    configuration.certificate = cert
    configuration.private_key = private_key
    family, bind_address = await _resolve(host, port)
    sock = socket.socket(family, socket.SOCK_DGRAM)
    endpoint = None
    try:
        _tune(sock)
        sock.bind(bind_address)
        endpoint = _ServerEndpoint(
            sock,
            configuration=configuration,
            handler=handler,
            limits=limits,
            stats=stats if stats is not None else ServerStats(),
        )
        async with trio.open_nursery() as nursery:
            endpoint.nursery = nursery
            nursery.start_soon(endpoint.recv_loop)
            bound = sock.getsockname()
            task_status.started((str(bound[0]), int(bound[1])))
    finally:
        if endpoint is not None:
            endpoint.shutdown()
        sock.close()


# =========================================================================== client


class _ClientEndpoint(_Endpoint):
    def __init__(self, sock: socket.socket) -> None:
        super().__init__(sock)
        self.conn: QuicConnectionHandle | None = None

    def route(self, data: bytes, addr: Address, now: float) -> None:
        conn = self.conn
        if conn is not None:
            try:
                conn.datagram_received(data, addr, now)
            except Exception:
                log.exception("dropping the connection after an internal error")
                conn.abort(CLOSE_INTERNAL_ERROR, "internal error")
                conn._terminate(TransportClosed("internal error", error_code=CLOSE_INTERNAL_ERROR))


class _ClientContext:
    """``async with connect_quic(...) as conn``; the body's exceptions pass through unchanged."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        expected_key: bytes,
        alpn: str,
        limits: TransportLimits,
        client_key: nacl.signing.SigningKey | None,
    ) -> None:
        if len(expected_key) != 32:
            raise ValueError("expected_key must be a 32-byte Ed25519 public key")
        self._host = host
        self._port = port
        self._expected_key = bytes(expected_key)
        self._alpn = alpn
        self._limits = limits
        self._client_key = client_key
        self._sock: socket.socket | None = None
        self._nursery_manager: Any = None
        self._nursery: trio.Nursery | None = None
        self._conn: QuicConnectionHandle | None = None

    async def __aenter__(self) -> QuicConnectionHandle:
        family, remote = await _resolve(self._host, self._port)
        sock = self._sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            _tune(sock)
            sock.bind(("::", 0) if family == socket.AF_INET6 else ("0.0.0.0", 0))  # noqa: S104
            configuration = _configuration(self._limits, is_client=True, alpns=[self._alpn])
            if self._client_key is not None:
                configuration.certificate, configuration.private_key = certificate_for(self._client_key)
            endpoint = _ClientEndpoint(sock)
            conn = self._conn = QuicConnectionHandle(
                endpoint=endpoint,
                configuration=configuration,
                limits=self._limits,
                remote_address=remote,
                is_client=True,
                expected_key=self._expected_key,
            )
            endpoint.conn = conn
            self._nursery_manager = trio.open_nursery()
            self._nursery = await self._nursery_manager.__aenter__()
        except BaseException:
            sock.close()
            raise
        try:
            self._nursery.start_soon(endpoint.recv_loop)
            self._nursery.start_soon(conn.drive)
            conn.quic.connect(remote, now=trio.current_time())
            conn.wake()
            await conn.established.wait()
            if not conn.handshake_ok:
                assert conn.closed_exc is not None
                raise clone_error(conn.closed_exc)
        except BaseException:
            conn.abort(CLOSE_INTERNAL_ERROR, "connect aborted")
            await self._teardown()
            raise
        return conn

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        conn = self._conn
        assert conn is not None
        if exc is None:
            try:
                await conn.aclose()
            except BaseException:
                conn.abort()
                await self._teardown()
                raise
        else:
            conn.abort(CLOSE_INTERNAL_ERROR, "client error")
        await self._teardown()
        return False

    async def _teardown(self) -> None:
        assert self._nursery is not None and self._sock is not None
        self._nursery.cancel_scope.cancel()
        try:
            await self._nursery_manager.__aexit__(None, None, None)
        finally:
            self._sock.close()


def connect_quic(
    host: str,
    port: int,
    *,
    expected_key: bytes,
    alpn: str,
    limits: TransportLimits = TransportLimits(),  # noqa: B008 - frozen, immutable
    client_key: nacl.signing.SigningKey | None = None,
) -> _ClientContext:
    """Connect to a node whose Ed25519 key is ``expected_key``: ``async with connect_quic(...) as conn``.

    Raises ConnectFailed subclasses (PinMismatch, HandshakeTimeout, ConnectionRefused,
    NoApplicationProtocol, BadCertificate). With ``client_key`` the client presents a certificate
    for that key, which the node sees as ``conn.peer_key``. Leaving the block closes gracefully
    (or aborts if the block raised).
    """
    return _ClientContext(
        host=host, port=port, expected_key=expected_key, alpn=alpn, limits=limits, client_key=client_key
    )
