"""The parts of the QUIC binding that reach into aioquic internals (aioquic 1.x).

Everything that depends on private aioquic attributes lives here so that an aioquic upgrade has
one file to review:

* receive credit: aioquic doubles MAX_DATA / MAX_STREAM_DATA as data *arrives*, regardless of
  what the application read.  ``HoldspaceQuic`` replaces that with credit granted by a policy
  object (bytes consumed by the application + a fixed budget), and returns MAX_STREAMS credit
  only when the application is done with a stream;
* client certificates: aioquic only requests them behind a test flag (``_request_client_certificate``);
* send backlog, close initiator, idle expiry: read from private state;
* stateless CONNECTION_CLOSE in an Initial packet (ported from aioquic.asyncio.server);
* HTTP/3 (the WebTransport endpoint): bytes its parser holds for a stream.
* acknowledgements (1-RTT): aioquic sends an ACK ``_ack_delay`` (1 ms) after the first
  ack-eliciting packet, in a packet of its own even when data leaves before that (the ACK is
  written only once its timer is due). ``HoldspaceQuic`` waits up to ``ACK_DELAY`` instead, sends
  the pending ACK with the first data it writes meanwhile, and acknowledges at once after
  ``ACK_EVERY`` datagrams (a bulk sender keeps its congestion window moving). So a request whose
  answer is ready within ``ACK_DELAY`` costs one datagram back, not two.
"""

from __future__ import annotations

from typing import Protocol

from aioquic import tls
from aioquic.h3.connection import H3Connection
from aioquic.quic import events
from aioquic.quic.configuration import SMALLEST_MAX_DATAGRAM_SIZE
from aioquic.quic.connection import (
    CONNECTION_LIMIT_FRAME_CAPACITY,
    MAX_STREAM_DATA_FRAME_CAPACITY,
    TRANSPORT_CLOSE_FRAME_CAPACITY,
    NetworkAddress,
    QuicConnection,
    QuicConnectionState,
)
from aioquic.quic.crypto import CryptoPair
from aioquic.quic.packet import QuicFrameType, QuicPacketType
from aioquic.quic.packet_builder import QuicPacketBuilder
from aioquic.quic.stream import QuicStream
from cryptography import x509

__all__ = [
    "ACK_DELAY",
    "ACK_EVERY",
    "CreditPolicy",
    "HoldspaceQuic",
    "encode_initial_close",
    "h3_buffered",
    "peer_certificate",
    "send_backlog",
]

#: Longest wait (s) before a 1-RTT ACK; below the 25 ms ``max_ack_delay`` aioquic announces, so the
#: peer's loss detection allows for it (RFC 9002 section 6.2.1).
ACK_DELAY = 0.010
#: Datagrams received while an ACK is pending after which it is sent at once.
ACK_EVERY = 8


class CreditPolicy(Protocol):
    def max_data_target(self) -> int:
        """Connection receive credit (absolute offset) the peer may use."""
        ...

    def free_stream_slots(self) -> int:
        """How many more bidirectional streams the peer may open right now."""
        ...

    def stream_credit_target(self, stream_id: int) -> int | None:
        """Absolute MAX_STREAM_DATA for the stream, or None to leave it unchanged."""
        ...


class HoldspaceQuic(QuicConnection):
    def __init__(
        self,
        *,
        policy: CreditPolicy,
        max_streams: int,
        request_client_certificate: bool = False,
        max_uni_streams: int = 0,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._hs_policy = policy
        self._hs_request_cert = request_client_certificate
        self._hs_streams_granted = max_streams
        # Only bidirectional streams exist in the Holdspace binding; MAX_STREAMS starts at the cap.
        # ``max_uni_streams`` is the peer's lifetime total of unidirectional streams, never raised
        # (HTTP/3 needs its peer's control and QPACK streams; the Holdspace binding none).
        self._local_max_streams_bidi.value = max_streams
        self._local_max_streams_uni.value = max_uni_streams
        self.hs_idle_expired = False
        self.hs_local_close = False
        self._ack_delay = ACK_DELAY
        self._hs_unacked = 0  # datagrams received since the pending 1-RTT ACK was scheduled
        self._hs_data_written = False  # stream data written since the last datagrams_to_send

    # -- hooks --------------------------------------------------------------------------

    def _initialize(self, peer_cid: bytes) -> None:
        super()._initialize(peer_cid)
        if self._hs_request_cert:
            # Servers ask for a certificate; clients without one send an empty Certificate and
            # the handshake continues without client authentication (RFC 8446 section 4.4.2.4).
            self.tls._request_client_certificate = True

    def close(
        self,
        error_code: int = 0,
        frame_type: int | None = None,
        reason_phrase: str = "",
    ) -> None:
        if self._close_event is None:
            self.hs_local_close = True
        super().close(error_code=error_code, frame_type=frame_type, reason_phrase=reason_phrase)

    def receive_datagram(self, data: bytes, addr: object, now: float) -> None:
        super().receive_datagram(data, addr, now)
        space = self._spaces.get(tls.Epoch.ONE_RTT)
        if space is None or space.ack_at is None:
            self._hs_unacked = 0
            return
        self._hs_unacked += 1
        if self._hs_unacked >= ACK_EVERY:
            space.ack_at = min(space.ack_at, now)

    def send_stream_data(self, stream_id: int, data: bytes, end_stream: bool = False) -> None:
        super().send_stream_data(stream_id, data, end_stream)
        self._hs_data_written = True

    def datagrams_to_send(self, now: float) -> list[tuple[bytes, NetworkAddress]]:
        if self._hs_data_written:
            self._hs_data_written = False
            space = self._spaces.get(tls.Epoch.ONE_RTT)
            if space is not None and space.ack_at is not None and space.ack_at > now:
                space.ack_at = now  # the pending ACK leaves with the data
        datagrams = super().datagrams_to_send(now)
        space = self._spaces.get(tls.Epoch.ONE_RTT)
        if space is None or space.ack_at is None:
            self._hs_unacked = 0
        return datagrams

    def handle_timer(self, now: float) -> None:
        if self._close_at is not None and now >= self._close_at and self._close_event is None:
            self.hs_idle_expired = True
        super().handle_timer(now)

    def _write_connection_limits(self, builder: QuicPacketBuilder, space: object) -> None:
        max_data = self._local_max_data
        target = self._hs_policy.max_data_target()
        max_data.value = max(max_data.value, target)
        streams = self._local_max_streams_bidi
        granted = streams.used + self._hs_policy.free_stream_slots()
        self._hs_streams_granted = max(self._hs_streams_granted, granted)
        streams.value = self._hs_streams_granted  # undo aioquic's own increments
        # No MAX_STREAMS batching (aioquic waits until the peer has few streams left, but a peer
        # may hold stream ids it never used on the wire, and would wait forever).
        for limit in (max_data, streams):
            if limit.value != limit.sent:
                buf = builder.start_frame(
                    limit.frame_type,
                    capacity=CONNECTION_LIMIT_FRAME_CAPACITY,
                    handler=self._on_connection_limit_delivery,
                    handler_args=(limit,),
                )
                buf.push_uint_var(limit.value)
                limit.sent = limit.value

    def _write_stream_limits(self, builder: QuicPacketBuilder, space: object, stream: QuicStream) -> None:
        assert stream.stream_id is not None
        if stream.max_stream_data_local:
            target = self._hs_policy.stream_credit_target(stream.stream_id)
            if target is not None and target > stream.max_stream_data_local:
                stream.max_stream_data_local = target
        if stream.max_stream_data_local_sent != stream.max_stream_data_local:
            buf = builder.start_frame(
                QuicFrameType.MAX_STREAM_DATA,
                capacity=MAX_STREAM_DATA_FRAME_CAPACITY,
                handler=self._on_max_stream_data_delivery,
                handler_args=(stream,),
            )
            buf.push_uint_var(stream.stream_id)
            buf.push_uint_var(stream.max_stream_data_local)
            stream.max_stream_data_local_sent = stream.max_stream_data_local

    # -- private state read by the driver ----------------------------------------------

    @property
    def max_data_sent(self) -> int:
        return self._local_max_data.sent

    @property
    def max_data_used(self) -> int:
        return self._local_max_data.used

    @property
    def handshake_complete(self) -> bool:
        return self._handshake_complete

    @property
    def peer_close(self) -> events.ConnectionTerminated | None:
        """The peer's CONNECTION_CLOSE, as soon as it arrived (aioquic reports termination only
        after the draining period)."""
        return None if self.hs_local_close else self._close_event

    @property
    def close_event(self) -> events.ConnectionTerminated | None:
        """The CONNECTION_CLOSE sent or received, as soon as there is one (aioquic reports
        termination only after the closing or draining period)."""
        return self._close_event

    @property
    def handshake_confirmed(self) -> bool:
        return self._handshake_confirmed

    @property
    def accepted_a_packet(self) -> bool:
        """False while no packet has been decrypted (a server's first datagram was garbage)."""
        return self._state != QuicConnectionState.FIRSTFLIGHT

    def create_stream(self) -> int:
        """Allocate the next bidirectional stream id (nothing is sent until data is written)."""
        stream_id = self.get_next_available_stream_id()
        self._get_or_create_stream_for_send(stream_id)
        return stream_id

    def stream_final_offset(self, stream_id: int) -> int | None:
        stream = self._streams.get(stream_id)
        return None if stream is None else stream.receiver.highest_offset

    def stream_delivered_offset(self, stream_id: int) -> int | None:
        """Where the stream's in-order data handed to the application ends (below any gap left by
        a lost packet; ``stream_final_offset`` counts past the gap)."""
        stream = self._streams.get(stream_id)
        return None if stream is None else stream.receiver._buffer_start

    def all_sent_data_acked(self) -> bool:
        """True when the handshake is confirmed (so the peer has our Finished) and every
        stream's data (and FIN, if any) is acknowledged or reset."""
        if not self._handshake_confirmed:
            return False
        for stream in self._streams.values():
            sender = stream.sender
            if sender.is_finished or sender._reset_error_code is not None:
                continue
            if sender._buffer_start != sender._buffer_stop or sender._buffer_fin is not None:
                return False
        return True

    def stream_known(self, stream_id: int) -> bool:
        return stream_id in self._streams


def send_backlog(quic: QuicConnection, stream_id: int) -> int:
    """Bytes written to the stream and not yet acknowledged (sent or not)."""
    stream = quic._streams.get(stream_id)
    if stream is None:
        return 0
    sender = stream.sender
    if sender._reset_error_code is not None:
        return 0
    return sender._buffer_stop - sender._buffer_start


def h3_buffered(h3: H3Connection, stream_id: int) -> int:
    """Bytes of ``stream_id`` that HTTP/3 received and holds unparsed (a partial frame)."""
    stream = h3._stream.get(stream_id)
    return 0 if stream is None else len(stream.buffer)


def peer_certificate(quic: QuicConnection) -> x509.Certificate | None:
    tls = getattr(quic, "tls", None)
    return None if tls is None else tls._peer_certificate


def encode_initial_close(*, version: int, source_cid: bytes, destination_cid: bytes, error_code: int) -> bytes:
    """A server Initial packet carrying a transport CONNECTION_CLOSE (stateless refusal).

    The Initial keys derive from ``source_cid``, the Destination Connection ID the client chose.
    Ported from aioquic.asyncio.server._encode_invalid_token_close with a variable error code.
    """
    crypto = CryptoPair()
    crypto.setup_initial(cid=source_cid, is_client=False, version=version)
    builder = QuicPacketBuilder(
        host_cid=source_cid,
        is_client=False,
        max_datagram_size=SMALLEST_MAX_DATAGRAM_SIZE,
        peer_cid=destination_cid,
        version=version,
    )
    builder.start_packet(QuicPacketType.INITIAL, crypto)
    buf = builder.start_frame(QuicFrameType.TRANSPORT_CLOSE, capacity=TRANSPORT_CLOSE_FRAME_CAPACITY)
    buf.push_uint_var(error_code)
    buf.push_uint_var(QuicFrameType.PADDING)
    buf.push_uint_var(0)
    datagrams, _ = builder.flush()
    return datagrams[0]
