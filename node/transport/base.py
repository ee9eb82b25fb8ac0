"""Transport interface shared by the QUIC and in-memory implementations.

The layers above exchange whole messages on bidirectional streams.  Framing lives inside the
transport: on the wire every message is a 4-byte big-endian length followed by that many bytes
(see ``spec/_drafts/transport.md``), so both implementations offer identical message semantics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = [
    "CLOSE_BAD_CERTIFICATE",
    "CLOSE_HANDSHAKE_TIMEOUT",
    "CLOSE_INTERNAL_ERROR",
    "CLOSE_NO_ERROR",
    "CLOSE_PIN_MISMATCH",
    "CLOSE_SHUTTING_DOWN",
    "HEADER_SIZE",
    "MAX_APPLICATION_CODE",
    "STREAM_MESSAGE_TOO_LARGE",
    "STREAM_TRUNCATED_MESSAGE",
    "BadCertificate",
    "ByteCounts",
    "ConnectFailed",
    "Connection",
    "ConnectionRefused",
    "ConnectionStats",
    "EndOfStream",
    "HandshakeTimeout",
    "IdleTimeout",
    "MessageStream",
    "MessageTooLarge",
    "NoApplicationProtocol",
    "PinMismatch",
    "ServerStats",
    "StreamClosed",
    "StreamReset",
    "TooManyStreams",
    "TransportClosed",
    "TransportError",
    "TransportLimits",
    "check_application_code",
    "clone_error",
    "encode_header",
    "only_transport_errors",
]

HEADER_SIZE = 4
"""Size of the big-endian length prefix in front of every message."""

MAX_APPLICATION_CODE = 0xFFFF
"""Codes 0..0xFFFF in ``reset()`` / ``aclose()`` belong to the application; the binding uses 0x10000+."""

# Stream error codes used by the transport itself (RESET_STREAM / STOP_SENDING).
STREAM_MESSAGE_TOO_LARGE = 0x10000
STREAM_TRUNCATED_MESSAGE = 0x10001

# Application CONNECTION_CLOSE codes used by the transport itself.
CLOSE_NO_ERROR = 0x0
CLOSE_PIN_MISMATCH = 0x10000
CLOSE_HANDSHAKE_TIMEOUT = 0x10001
CLOSE_BAD_CERTIFICATE = 0x10002
CLOSE_SHUTTING_DOWN = 0x10003
CLOSE_INTERNAL_ERROR = 0x10004


def encode_header(size: int) -> bytes:
    return size.to_bytes(HEADER_SIZE, "big")


def check_application_code(code: int) -> int:
    if not 0 <= code <= MAX_APPLICATION_CODE:
        raise ValueError(f"application error codes are 0..{MAX_APPLICATION_CODE:#x}, got {code:#x}")
    return code


# --------------------------------------------------------------------------- exceptions


def clone_error(exc: TransportError) -> TransportError:
    """A fresh instance of ``exc`` (one exception object must not be raised in several tasks)."""
    new = exc.__class__.__new__(exc.__class__)
    new.__dict__.update(exc.__dict__)
    new.args = exc.args
    return new


def only_transport_errors(exc: BaseException) -> bool:
    """True for a TransportError, or a group made only of them (a handler whose connection
    failed, as opposed to a handler with a bug)."""
    if isinstance(exc, BaseExceptionGroup):
        return exc.split(TransportError)[1] is None
    return isinstance(exc, TransportError)


class TransportError(Exception):
    """Base class of every transport exception; ``code`` is a stable machine-readable string."""

    code = "transport.error"

    def __init__(self, message: str = "", *, error_code: int | None = None) -> None:
        super().__init__(message or self.code)
        self.error_code = error_code
        """Numeric wire code (stream or connection error code) when one is involved."""


class TransportClosed(TransportError):  # noqa: N818 - names fixed by the interface
    """The connection is closed (locally, by the peer, or by the transport)."""

    code = "transport.closed"

    def __init__(
        self,
        message: str = "",
        *,
        error_code: int | None = None,
        reason: str = "",
        by_peer: bool = False,
    ) -> None:
        super().__init__(message, error_code=error_code)
        self.reason = reason
        self.by_peer = by_peer


class IdleTimeout(TransportClosed):
    """Nothing was received for ``TransportLimits.idle_timeout`` seconds."""

    code = "transport.idle_timeout"


class TooManyStreams(TransportClosed):
    """The connection was closed because a peer opened more streams than it was allowed."""

    code = "transport.too_many_streams"


class ConnectFailed(TransportError):  # noqa: N818 - names fixed by the interface
    """Establishing a connection failed."""

    code = "transport.connect_failed"


class PinMismatch(ConnectFailed):
    """The node presented a key other than the pinned one; no application data was exchanged."""

    code = "transport.pin_mismatch"


class HandshakeTimeout(ConnectFailed):
    code = "transport.handshake_timeout"


class ConnectionRefused(ConnectFailed):
    """The node refused the connection (connection cap, half-open cap, invalid token, no listener)."""

    code = "transport.refused"


class NoApplicationProtocol(ConnectFailed):
    """No common ALPN."""

    code = "transport.alpn_mismatch"


class BadCertificate(ConnectFailed):
    """The peer's certificate does not carry an Ed25519 key."""

    code = "transport.bad_certificate"


class EndOfStream(TransportError):  # noqa: N818 - names fixed by the interface
    """The peer finished its sending side cleanly and every message was read."""

    code = "transport.end_of_stream"


class StreamReset(TransportError):  # noqa: N818 - names fixed by the interface
    """The stream was reset (``error_code`` holds the peer's or transport's code)."""

    code = "transport.stream_reset"


class MessageTooLarge(TransportError):  # noqa: N818 - names fixed by the interface
    """A message exceeds ``TransportLimits.max_message_size``.

    Raised by ``send`` before anything is written (the stream stays usable), and on both sides of a
    stream the receiver reset because an oversize length prefix arrived.
    """

    code = "transport.message_too_large"


class StreamClosed(TransportError):  # noqa: N818 - names fixed by the interface
    """This side already finished or reset the stream."""

    code = "transport.stream_closed"


# --------------------------------------------------------------------------- limits and stats


@dataclass(frozen=True)
class TransportLimits:
    """Resource limits of one endpoint.  Defaults suit a community node; tests shrink them.

    Receive-side memory of a connection is bounded by ``max_buffered_bytes`` (bytes received from
    the peer and not yet returned by ``receive``; the QUIC receive windows are granted from this
    budget, never beyond it).  It must hold every stream's baseline window plus one maximal message,
    so that a message that has started can always complete while the application keeps reading.
    """

    max_message_size: int = 1024 * 1024 + 1024
    """Largest message (payload bytes, without the 4-byte prefix). 1 MiB + 1 KiB."""

    max_streams: int = 32
    """Concurrent streams per connection and direction: peer-opened streams the application has not
    finished with (MAX_STREAMS credit is only returned when the application is done with one), and
    locally opened streams (``open_stream`` waits for a free slot)."""

    stream_receive_window: int = 32 * 1024
    """Baseline receive credit per stream. A message larger than this is granted credit up to its
    end, from the connection budget, once its length prefix is known and the reader has caught up."""

    max_buffered_bytes: int = 4 * 1024 * 1024
    """Per connection: received bytes not yet read by the application (hard bound)."""

    max_unacked_send_bytes: int = 256 * 1024
    """Per stream: ``send`` waits while more than this is written but not acknowledged."""

    max_connections: int = 2048
    """Server: total connections (half-open included); the next one is refused."""

    max_half_open: int = 64
    """Server: connections still handshaking; above it new ones are refused."""

    max_connections_per_address: int = 256
    """Server: connections (half-open included) from one IP address; the next one from it is refused,
    so one host cannot take every slot. Generous because many people can share an address (NAT)."""

    retry_threshold: int = 8
    """Server: once this many connections are half-open, Initials without a valid token get a
    Retry (address validation) instead of state. 0 = always require Retry."""

    handshake_timeout: float = 10.0
    idle_timeout: float = 60.0
    close_timeout: float = 2.0
    """Graceful ``aclose`` waits at most this long for unacknowledged data before closing."""

    keepalive_interval: float | None = 20.0
    """After this long without sending anything, an endpoint sends a QUIC PING, so a connection to a
    live peer never reaches the idle timeout however quiet the application is (a long-lived
    subscription, a federation link with nothing new). None: no keep-alive, a quiet connection ends
    at the idle timeout. Used as at most a third of ``idle_timeout`` (see ``keepalive_every``)."""

    def __post_init__(self) -> None:
        for name in (
            "max_message_size",
            "max_streams",
            "stream_receive_window",
            "max_buffered_bytes",
            "max_unacked_send_bytes",
            "max_connections",
            "max_half_open",
            "max_connections_per_address",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.retry_threshold < 0:
            raise ValueError("retry_threshold must be >= 0")
        if self.max_message_size >= 1 << 32:
            raise ValueError("max_message_size must fit the 4-byte length prefix")
        if self.stream_receive_window < 2 * HEADER_SIZE:
            raise ValueError("stream_receive_window is too small")
        if self.reservation_pool < self.max_message_size + HEADER_SIZE:
            raise ValueError(
                "max_buffered_bytes must be >= 2 * max_streams * stream_receive_window + max_message_size + 4"
            )
        if min(self.handshake_timeout, self.idle_timeout, self.close_timeout) <= 0:
            raise ValueError("timeouts must be positive")
        if self.keepalive_interval is not None and self.keepalive_interval <= 0:
            raise ValueError("keepalive_interval must be positive (or None)")

    @property
    def keepalive_every(self) -> float | None:
        """The PING interval actually used: ``keepalive_interval``, at most a third of the idle
        timeout (so one lost PING does not end a connection)."""
        if self.keepalive_interval is None:
            return None
        return min(self.keepalive_interval, self.idle_timeout / 3)

    @property
    def reservation_pool(self) -> int:
        """Bytes of the connection budget left for messages larger than a baseline window."""
        return self.max_buffered_bytes - 2 * self.max_streams * self.stream_receive_window


@dataclass
class ByteCounts:
    """What crossed the wire. QUIC: the UDP payload of each datagram (the QUIC packets, with
    retransmissions; not the 28 bytes of IP and UDP headers), and the datagrams; counted when the
    socket took or returned one. In memory: each message with its 4-byte prefix, when it is sent
    and when it arrives (no datagrams, no handshake)."""

    bytes_sent: int = 0
    bytes_received: int = 0
    datagrams_sent: int = 0
    datagrams_received: int = 0

    def count_sent(self, nbytes: int, datagrams: int = 1) -> None:
        self.bytes_sent += nbytes
        self.datagrams_sent += datagrams

    def count_received(self, nbytes: int, datagrams: int = 1) -> None:
        self.bytes_received += nbytes
        self.datagrams_received += datagrams


@dataclass
class ConnectionStats(ByteCounts):
    """One connection; its byte counts include its handshake (QUIC: each datagram routed to it,
    and each one it sent)."""

    buffered_bytes: int = 0
    """Bytes received and not yet returned by ``receive`` (partial messages included)."""
    peak_buffered_bytes: int = 0
    oversize_resets: int = 0
    """Streams this side reset because the peer announced a message over the limit."""
    messages_sent: int = 0
    messages_received: int = 0
    handshake_bytes_sent: int = 0
    """``bytes_sent`` when the handshake completed (0 in memory)."""
    handshake_bytes_received: int = 0
    """``bytes_received`` when the handshake completed (0 in memory)."""


@dataclass
class ServerStats(ByteCounts):
    """One listening endpoint. Its byte counts cover, over QUIC, everything its socket sent and
    received (every connection, stateless replies and dropped datagrams included); in memory, the
    messages of all its connections."""

    connections_accepted: int = 0
    """Connections whose handshake completed."""
    connections_refused: int = 0
    retries_sent: int = 0
    invalid_tokens: int = 0
    version_negotiations: int = 0
    small_datagrams_dropped: int = 0
    """Datagrams < 1200 bytes that would have started a connection: dropped without reply."""
    unroutable_dropped: int = 0
    """Datagrams that are not valid QUIC or name no known connection."""
    handshake_timeouts: int = 0
    oversize_resets: int = 0
    half_open: int = 0
    peak_half_open: int = 0
    connections: int = 0
    refused_per_address: int = 0
    """Connections refused because their address already had ``max_connections_per_address``."""


# --------------------------------------------------------------------------- interface


@runtime_checkable
class MessageStream(Protocol):
    async def send(self, message: bytes) -> None:
        """Send one message; waits under backpressure.

        Raises MessageTooLarge (nothing written), StreamClosed, StreamReset, TransportClosed."""
        ...

    async def receive(self) -> bytes:
        """Next whole message. EndOfStream once the peer finished and all was read."""
        ...

    async def finish(self) -> None:
        """End our sending side (the peer reads EndOfStream after the last message)."""
        ...

    def reset(self, code: int = 0) -> None:
        """Abort both directions with an application code (0..0xFFFF)."""
        ...


@runtime_checkable
class Connection(Protocol):
    peer_key: bytes | None
    remote_address: tuple[str, int]
    alpn: str
    stats: ConnectionStats

    async def open_stream(self) -> MessageStream:
        """Open a bidirectional stream (waits for a free slot). The peer sees it on its first
        message, finish or reset."""
        ...

    async def accept_stream(self) -> MessageStream:
        """Next stream opened by the peer; raises TransportClosed when the connection ends."""
        ...

    async def aclose(self, code: int = 0, reason: str = "") -> None:
        """Close. Code 0 is graceful: data already sent is delivered first (bounded by
        ``close_timeout``); any other code aborts at once."""
        ...
