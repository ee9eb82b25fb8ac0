"""QUIC connection driver: one aioquic ``QuicConnection`` pumped from trio.

A connection is fed datagrams synchronously by its endpoint (``datagram_received``); its driver
task (``drive``) owns the aioquic timer, the handshake deadline and the keep-alive, and sends what
``datagrams_to_send`` produces through the endpoint. It also decides receive credit (the
``CreditPolicy`` of ``HoldspaceQuic``), checks the pinned key, and maps aioquic's close events
to transport exceptions. Invariant: once ``terminated`` is set the endpoint holds no reference
to the connection (``connection_gone`` was called exactly once).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from typing import Any, Protocol

import trio
from aioquic.quic import events
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.packet import (
    QuicErrorCode,
)

from ._aioquic import HoldspaceQuic, peer_certificate
from .base import (
    CLOSE_BAD_CERTIFICATE,
    CLOSE_HANDSHAKE_TIMEOUT,
    CLOSE_INTERNAL_ERROR,
    CLOSE_NO_ERROR,
    CLOSE_PIN_MISMATCH,
    CLOSE_SHUTTING_DOWN,
    BadCertificate,
    ByteCounts,
    ConnectFailed,
    ConnectionRefused,
    ConnectionStats,
    HandshakeTimeout,
    IdleTimeout,
    NoApplicationProtocol,
    PinMismatch,
    ServerStats,
    TooManyStreams,
    TransportClosed,
    TransportError,
    TransportLimits,
    check_application_code,
)
from .certs import raw_ed25519_key
from .quic_streams import QuicMessageStream
from .streams import StreamTable

__all__ = ["Address", "Endpoint", "QuicConnectionHandle"]

log = logging.getLogger(__name__)

TLS_NO_APPLICATION_PROTOCOL = QuicErrorCode.CRYPTO_ERROR + 120
QUIET_ROUNDS = 3  # rounds seeing no new message that end a burst (a writer hands over in two; the
# order within a round is shuffled, so a hand-over can look quiet for two rounds running)
COALESCE_ROUNDS = 64  # most rounds a send pass waits for a burst of messages to end

Address = tuple[str, int]


class Endpoint(Protocol):
    """What a connection needs from the UDP endpoint that carries it."""

    def send_now(self, data: bytes, addr: Address, also: ByteCounts | None = None) -> None:
        """Send one datagram, best effort, never blocking; counted in ``also`` too."""
        ...

    async def send_datagrams(self, datagrams: Iterable[tuple[bytes, Any]], also: ByteCounts | None = None) -> None:
        """Send datagrams, waiting while the socket buffer is full; counted in ``also`` too."""
        ...

    def register_cid(self, cid: bytes, conn: QuicConnectionHandle) -> None: ...

    def unregister_cid(self, cid: bytes) -> None: ...

    def connection_established(self, conn: QuicConnectionHandle) -> None: ...

    def connection_gone(self, conn: QuicConnectionHandle) -> None: ...


class QuicConnectionHandle:
    """One QUIC connection (client or server side); implements ``Connection``."""

    def __init__(
        self,
        *,
        endpoint: Endpoint,
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
        self.quic = self._new_quic(configuration, kwargs)
        self.cids: set[bytes] = set()
        self.table: StreamTable[QuicMessageStream] = StreamTable(is_client=is_client, max_streams=limits.max_streams)
        self._released_ids: set[int] = set()
        self.pool_used = 0
        self.pool_waiters: set[QuicMessageStream] = set()
        self.consumed_total = 0
        self.blocked_senders: set[QuicMessageStream] = set()
        self._progress_waiters = 0
        self._progress_event = trio.Event()
        self._wake_event = trio.Event()
        self._timer_at: float | None = None
        self._written_at_send = 0  # stats.messages_sent at the last send pass
        self._last_sent = trio.current_time()  # when a datagram was last sent (keep-alive clock)
        self._pings = 0
        self._handshake_deadline: float | None = trio.current_time() + limits.handshake_timeout
        self.established = trio.Event()  # set on success or failure of the handshake
        self.handshake_ok = False
        self.closed_exc: TransportError | None = None
        self.terminated = trio.Event()
        self._pin_checked = False
        self._await_confirmation = False

    def _new_quic(self, configuration: QuicConfiguration, kwargs: dict[str, Any]) -> HoldspaceQuic:
        """The aioquic connection this handle drives (a subclass may choose other stream limits)."""
        return HoldspaceQuic(
            configuration=configuration,
            policy=self,
            max_streams=self.limits.max_streams,
            request_client_certificate=not self.is_client,
            **kwargs,
        )

    # ---------------------------------------------------------------- Connection API

    @property
    def streams(self) -> dict[int, QuicMessageStream]:
        """Live streams by id (ours and the peer's)."""
        return self.table.streams

    async def open_stream(self) -> QuicMessageStream:
        return await self.table.open(
            lambda: self.closed_exc, lambda: QuicMessageStream(self, self.quic.create_stream())
        )

    async def accept_stream(self) -> QuicMessageStream:
        return await self.table.accept(lambda: self.closed_exc)

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
        """MAX_DATA to advertise: ``consumed + max_buffered_bytes``, but raised only once that adds
        at least a quarter of the budget or the peer has less than a quarter left. MAX_DATA is
        ack-eliciting: raised by the few bytes of every request read, it would cost a datagram each
        way per request (its own packet or its ACK). Never above ``consumed + budget``."""
        budget = self.limits.max_buffered_bytes
        target = self.consumed_total + budget
        sent = self.quic.max_data_sent
        if target - sent >= budget // 4 or sent - self.quic.max_data_used < budget // 4:
            return target
        return min(sent, target)

    def free_stream_slots(self) -> int:
        return max(0, self.limits.max_streams - self.table.alive_in)

    def stream_credit_target(self, stream_id: int) -> int | None:
        stream = self.streams.get(stream_id)
        return None if stream is None else stream.credit_target_if_reading()

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
            # packets with the ACKs; and while messages are being written, let the writers of a
            # burst finish (see _coalesce).
            await self._coalesce()
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

    async def _coalesce(self) -> None:
        """Yield once; then, if messages were written since the last send pass, keep yielding until
        ``QUIET_ROUNDS`` scheduling rounds pass with no new message (at most ``COALESCE_ROUNDS``).

        Answers that complete together (one durable commit acknowledges many pipelined requests)
        are written by as many tasks, one after the other (each takes the session stream in turn):
        sending after the first would put each answer in a packet of its own."""
        await trio.lowlevel.checkpoint()
        written = self.stats.messages_sent
        if written == self._written_at_send:
            return
        quiet = 0
        for _ in range(COALESCE_ROUNDS):
            await trio.lowlevel.checkpoint()
            if self.stats.messages_sent != written:
                written, quiet = self.stats.messages_sent, 0
            else:
                quiet += 1
                if quiet >= QUIET_ROUNDS:
                    break

    async def _send_pending(self, now: float) -> None:
        self._written_at_send = self.stats.messages_sent
        datagrams = self.quic.datagrams_to_send(now)
        self._timer_at = self.quic.get_timer()  # re-armed after every datagrams_to_send
        if datagrams:
            self._last_sent = now
            await self._endpoint.send_datagrams(datagrams, self.stats)

    async def flush(self) -> None:
        """Send what is pending now (outside the driver, which is woken to re-read the timer)."""
        await self._send_pending(trio.current_time())
        self.wake()

    def flush_now(self) -> None:
        """Synchronous best-effort flush (failure paths and shutdown)."""
        for data, addr in self.quic.datagrams_to_send(trio.current_time()):
            self._last_sent = trio.current_time()
            self._endpoint.send_now(data, addr, self.stats)
        self._timer_at = self.quic.get_timer()
        self.wake()

    def datagram_received(self, data: bytes, addr: Address, now: float) -> None:
        self.stats.count_received(len(data))
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
                self.terminate(exc)
        if not self.is_client and not self.handshake_ok and self.quic.hs_local_close:
            self._handshake_failed()
        if self._await_confirmation and self.quic.handshake_confirmed and self.closed_exc is None:
            self._await_confirmation = False
            self._established()
        if self.blocked_senders:
            bound = self.limits.max_unacked_send_bytes
            for stream in list(self.blocked_senders):
                if stream.wake_sender_if_writable(bound):
                    self.blocked_senders.discard(stream)
        if self._progress_waiters:
            self._progress_event.set()
        self.wake()

    def process_events(self) -> None:
        quic = self.quic
        while (event := quic.next_event()) is not None:
            if isinstance(event, events.ConnectionIdIssued):
                self.cids.add(event.connection_id)
                self._endpoint.register_cid(event.connection_id, self)
            elif isinstance(event, events.ConnectionIdRetired):
                self.cids.discard(event.connection_id)
                self._endpoint.unregister_cid(event.connection_id)
            elif isinstance(event, events.HandshakeCompleted):
                self._on_handshake_completed(event)
            elif isinstance(event, events.ConnectionTerminated):
                self.terminate(self._termination_exception(event))
            else:
                self._stream_event(event)
            if self.terminated.is_set():
                return

    def _stream_event(self, event: events.QuicEvent) -> None:
        """An event of the application's streams (data, reset, stop-sending); a subclass that
        speaks another protocol on its streams (HTTP/3) routes them itself."""
        if isinstance(event, events.StreamDataReceived):
            self._on_stream_data(event)
        elif isinstance(event, events.StreamReset):
            final = self.quic.stream_final_offset(event.stream_id)
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

    def _on_stream_data(self, event: events.StreamDataReceived) -> None:
        stream_id = event.stream_id
        stream = self.streams.get(stream_id) or self._new_peer_stream(stream_id)
        if stream is None:
            # A stream we are done with (or our own, never opened by us): drop the bytes.
            self.consumed_total += len(event.data)
            return
        stream.on_data(event.data, event.end_stream)

    def _new_peer_stream(self, stream_id: int) -> QuicMessageStream | None:
        if stream_id in self._released_ids or self.table.is_local(stream_id):
            return None
        stream = QuicMessageStream(self, stream_id)
        self.table.add_peer_stream(stream)
        return stream

    def release_stream(self, stream: QuicMessageStream) -> None:
        ours = self.table.release(stream)
        if ours is None:
            return
        self.pool_waiters.discard(stream)
        self.blocked_senders.discard(stream)
        self._released_ids.add(stream.stream_id)
        if len(self._released_ids) > 256:
            self._released_ids = {sid for sid in self._released_ids if self.quic.stream_known(sid)}
        if not ours:
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
        self.stats.handshake_bytes_sent = self.stats.bytes_sent
        self.stats.handshake_bytes_received = self.stats.bytes_received
        self.handshake_ok = True
        self._handshake_deadline = None
        self.established.set()
        self._endpoint.connection_established(self)

    def _fail(self, code: int, exc: TransportError) -> None:
        """Abort during the handshake: send CONNECTION_CLOSE once and drop the state."""
        self.close_now(code, str(exc), exc)
        self.flush_now()
        self.terminate(exc)

    def _handshake_failed(self) -> None:
        """The node's QUIC stack closed the connection during the handshake (a TLS alert such as
        no common ALPN, a protocol violation): send its CONNECTION_CLOSE once and drop the state
        now, so that the half-open slot is free at once rather than after the closing period."""
        if self.terminated.is_set():
            return
        close = self.quic.close_event
        exc = self._termination_exception(close) if close is not None else ConnectFailed("handshake failed")
        self.flush_now()
        self.terminate(exc)

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

    def terminate(self, exc: TransportError) -> None:
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
        self._progress_event.set()
        self.table.connection_closed()

    def abort(self, code: int = CLOSE_INTERNAL_ERROR, reason: str = "") -> None:
        """Close at once (synchronous, best effort)."""
        if self.closed_exc is None:
            self.close_now(code, reason, TransportClosed("connection aborted locally", error_code=code))
            self.flush_now()
