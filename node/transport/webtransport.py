"""WebTransport over HTTP/3 (draft-ietf-webtrans-http3-02, what Chromium speaks): the browser's QUIC
path to a node's client protocol (spec 15.8.1).

A :class:`WebTransportConnection` is a server QUIC connection driven exactly like the node's own
(``QuicConnectionHandle``: timer, keep-alive, handshake deadline, admission by the same
``serve_quic_configured``), that speaks HTTP/3 (ALPN ``h3``) through aioquic's sans-I/O
``H3Connection`` instead of the Holdspace binding, and offers the ``Connection`` interface the
node runtime serves client sessions on:

* it accepts one WebTransport session per connection, an extended CONNECT (``:protocol
  webtransport``) to :data:`WT_PATH`, from any origin (a session carries no ambient authority: no
  cookie, no client certificate); any other request is answered with an HTTP status and its stream
  ended (404 anything else, 429 a second session), and more than :data:`MAX_REFUSED_REQUESTS` of
  those close the connection;
* the session's bidirectional streams opened by the client are the connection's streams, carrying
  the same length-prefixed messages as a Holdspace QUIC stream (``QuicMessageStream``: the same
  framing, size limit, credit and backpressure); the first is the session stream (spec 14.1), the
  runtime resets the others;
* datagrams are discarded unread (counted); the node opens no stream; the peer may open at most
  :data:`MAX_UNI_STREAMS` unidirectional streams in all (HTTP/3's control and QPACK streams);
* the session ends with its CONNECT stream: a client that closes it (FIN or reset) ends the
  connection; the node closes the session (a CLOSE_WEBTRANSPORT_SESSION capsule) before it closes
  the connection.

Receive memory stays bounded: every stream's credit is what the application (or HTTP/3's parser)
consumed plus a window (spec 15.4.1), never what merely arrived.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import trio
from aioquic.buffer import encode_uint_var
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import DataReceived, H3Event, HeadersReceived, WebTransportStreamDataReceived
from aioquic.h3.exceptions import H3Error
from aioquic.quic import events
from aioquic.quic.configuration import QuicConfiguration

from ._aioquic import HoldspaceQuic, h3_buffered
from .base import StreamClosed, TransportClosed, TransportLimits
from .quic_driver import QuicConnectionHandle
from .quic_endpoint import quic_configuration
from .quic_streams import QuicMessageStream

__all__ = [
    "MAX_REFUSED_REQUESTS",
    "MAX_UNI_STREAMS",
    "WT_PATH",
    "WebQuic",
    "WebTransportConnection",
    "h3_code_from_wt",
    "webtransport_configuration",
    "wt_code_from_h3",
]

log = logging.getLogger(__name__)

WT_PATH = "/wt"
"""The path of the node's WebTransport endpoint (``https://host:port/wt``)."""
MAX_UNI_STREAMS = 3
"""Unidirectional streams a browser may open over a connection's life: HTTP/3's control stream and
the two QPACK streams. WebTransport's own unidirectional streams are not used."""
MAX_REFUSED_REQUESTS = 8
"""HTTP/3 requests refused on one connection before the node closes it."""
H3_STREAM_WINDOW = 64 * 1024
"""Receive credit of a stream HTTP/3 parses itself, beyond what it has parsed."""
MAX_DATAGRAM_FRAME = 1200
"""Advertised because HTTP/3 datagrams are required by WebTransport; every datagram is dropped."""
WT_BIDI_STREAM = 0x41
"""The signal that opens a WebTransport bidirectional stream (draft-02 section 4.2)."""
CLOSE_SESSION_CAPSULE = 0x2843
"""CLOSE_WEBTRANSPORT_SESSION (draft-02 section 5)."""
H3_NO_ERROR = 0x100
H3_EXCESSIVE_LOAD = 0x107
_WT_CODE_FIRST = 0x52E4A40FA8DB  # WEBTRANSPORT_APPLICATION_ERROR codes start here (draft-02 4.3)
_WT_CODE_LAST = 0x52E5AC983162


def h3_code_from_wt(code: int) -> int:
    """The HTTP/3 error code that carries WebTransport application error ``code`` (0 .. 2^32-1)."""
    return _WT_CODE_FIRST + code + code // 0x1E


def wt_code_from_h3(code: int) -> int | None:
    """The WebTransport application error code carried by HTTP/3 error ``code``, or None if it is
    none (outside the range, or one of its reserved codepoints)."""
    if not _WT_CODE_FIRST <= code <= _WT_CODE_LAST or (code - 0x21) % 0x1F == 0:
        return None
    shifted = code - _WT_CODE_FIRST
    return shifted - shifted // 0x1F


def webtransport_configuration(limits: TransportLimits, certfile: str, keyfile: str) -> QuicConfiguration:
    """The QUIC configuration of a node's HTTP/3 endpoint: ALPN ``h3``, the operator's certificate
    chain and key (PEM files), the node's transport limits."""
    configuration = quic_configuration(limits, is_client=False, alpns=list(H3_ALPN))
    configuration.max_datagram_frame_size = MAX_DATAGRAM_FRAME
    configuration.load_cert_chain(certfile, keyfile)
    return configuration


class WebQuic(HoldspaceQuic):
    """``HoldspaceQuic`` whose stream error codes are carried as WebTransport codes on the
    session's streams (``is_wt_stream``), as draft-02 section 4.3 maps them."""

    def __init__(self, *, is_wt_stream: Callable[[int], bool], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._is_wt_stream = is_wt_stream

    def reset_stream(self, stream_id: int, error_code: int) -> None:
        if self._is_wt_stream(stream_id):
            error_code = h3_code_from_wt(error_code)
        super().reset_stream(stream_id, error_code)

    def stop_stream(self, stream_id: int, error_code: int) -> None:
        if self._is_wt_stream(stream_id):
            error_code = h3_code_from_wt(error_code)
        super().stop_stream(stream_id, error_code)


class WebTransportConnection(QuicConnectionHandle):
    """One browser's HTTP/3 connection and its WebTransport session (see the module).

    Invariants: ``session_id`` is set at most once (the CONNECT stream of the one session accepted);
    every stream in ``streams`` is a bidirectional stream of that session opened by the client, and
    ``_preface[id]`` is the number of bytes HTTP/3 took from its start (the stream signal and the
    session id); a stream id is made a message stream at most once."""

    def __init__(self, *, path: str = WT_PATH, **kwargs: Any) -> None:
        self.path = path
        self.h3: H3Connection | None = None
        self.session_id: int | None = None
        self.session_ready = trio.Event()
        self.datagrams_dropped = 0
        self.refused_requests = 0
        self._preface: dict[int, int] = {}
        super().__init__(**kwargs)

    def _new_quic(self, configuration: QuicConfiguration, kwargs: dict[str, Any]) -> HoldspaceQuic:
        return WebQuic(
            configuration=configuration,
            policy=self,
            max_streams=self.limits.max_streams,
            max_uni_streams=MAX_UNI_STREAMS,
            request_client_certificate=False,
            is_wt_stream=self._preface.__contains__,
            **kwargs,
        )

    # ---------------------------------------------------------------- Connection API

    async def open_stream(self) -> QuicMessageStream:
        raise StreamClosed("the node opens no stream on a WebTransport session")

    async def aclose(self, code: int = 0, reason: str = "") -> None:
        """Close the session (a CLOSE_WEBTRANSPORT_SESSION capsule ends the CONNECT stream), then
        the connection as ``QuicConnectionHandle.aclose`` does."""
        if self.closed_exc is None and self.h3 is not None and self.session_id is not None:
            message = reason.encode()[:1024]
            body = code.to_bytes(4, "big") + message
            capsule = encode_uint_var(CLOSE_SESSION_CAPSULE) + encode_uint_var(len(body)) + body
            try:
                self.h3.send_data(self.session_id, capsule, end_stream=True)
            except (H3Error, ValueError, RuntimeError):  # the CONNECT stream is already closed
                log.debug("the WebTransport session was already closed")
            self.wake()
        await super().aclose(code, reason)

    # ---------------------------------------------------------------- credit policy

    def free_stream_slots(self) -> int:
        open_session = 0 if self.session_id is None else 1  # the CONNECT stream lives as long as the session
        return max(0, self.limits.max_streams - self.table.alive_in - open_session)

    def stream_credit_target(self, stream_id: int) -> int | None:
        stream = self.streams.get(stream_id)
        if stream is not None:
            target = stream.credit_target_if_reading()
            return None if target is None else target + self._preface[stream_id]
        received = self.quic.stream_delivered_offset(stream_id)  # a gap is not consumed
        if received is None:
            return None
        buffered = 0 if self.h3 is None else h3_buffered(self.h3, stream_id)
        return received - buffered + H3_STREAM_WINDOW

    # ---------------------------------------------------------------- events

    def _stream_event(self, event: events.QuicEvent) -> None:
        if isinstance(event, events.ProtocolNegotiated):
            self.h3 = H3Connection(self.quic, enable_webtransport=True)
            return
        if isinstance(event, events.DatagramFrameReceived):
            self.datagrams_dropped += 1
            return
        h3 = self.h3
        if h3 is None:
            if isinstance(event, events.StreamDataReceived):
                self.consumed_total += len(event.data)
            return
        routed = 0
        for h3_event in h3.handle_event(event):
            routed += self._on_h3(h3, h3_event)
        if isinstance(event, events.StreamDataReceived):
            # Everything HTTP/3 took for itself (frames, stream signals) or that was dropped is
            # consumed now; what went to a message stream is consumed as the application reads it.
            self.consumed_total += len(event.data) - routed
        elif isinstance(event, events.StreamReset | events.StopSendingReceived):
            self._on_reset(event)

    def _on_reset(self, event: events.StreamReset | events.StopSendingReceived) -> None:
        stream_id = event.stream_id
        if stream_id == self.session_id:
            self._session_over("the client reset the WebTransport session")
            return
        stream = self.streams.get(stream_id)
        if stream is None:
            return
        code = wt_code_from_h3(event.error_code)
        code = event.error_code if code is None else code
        if isinstance(event, events.StreamReset):
            final = self.quic.stream_final_offset(stream_id)
            stream.on_reset(code, None if final is None else final - self._preface[stream_id])
        else:
            stream.on_stop_sending(code)

    def _on_h3(self, h3: H3Connection, event: H3Event) -> int:
        """Handle one HTTP/3 event; return the payload bytes handed to a message stream."""
        if isinstance(event, WebTransportStreamDataReceived):
            return self._on_session_data(event)
        if isinstance(event, HeadersReceived):
            self._on_request(h3, event)
        elif isinstance(event, DataReceived) and event.stream_id == self.session_id and event.stream_ended:
            self._session_over("the client closed the WebTransport session")
        return 0

    def _on_request(self, h3: H3Connection, event: HeadersReceived) -> None:
        """Accept the session or refuse the request. Checked, in order: an extended CONNECT for
        WebTransport to ``path`` (else 404); the first session of the connection (else 429)."""
        headers = dict(event.headers)
        status = 200
        connect = headers.get(b":method") == b"CONNECT" and headers.get(b":protocol") == b"webtransport"
        if not connect or headers.get(b":path") != self.path.encode():
            status = 404
        elif self.session_id is not None:
            status = 429
        if status != 200:
            self.refused_requests += 1
            h3.send_headers(event.stream_id, [(b":status", str(status).encode())], end_stream=True)
            if self.refused_requests > MAX_REFUSED_REQUESTS:
                exc = TransportClosed("too many refused requests")
                self.close_now(H3_EXCESSIVE_LOAD, "too many refused requests", exc)
            return
        self.session_id = event.stream_id
        h3.send_headers(event.stream_id, [(b":status", b"200"), (b"sec-webtransport-http3-draft", b"draft02")])
        self.session_ready.set()

    def _on_session_data(self, event: WebTransportStreamDataReceived) -> int:
        stream_id = event.stream_id
        stream = self.streams.get(stream_id)
        if stream is None:
            if event.session_id != self.session_id or stream_id in self._preface or stream_id & 2:
                return 0  # another session's, a stream done with, or unidirectional: dropped
            self._preface[stream_id] = len(encode_uint_var(WT_BIDI_STREAM)) + len(encode_uint_var(event.session_id))
            stream = QuicMessageStream(self, stream_id)
            self.table.add_peer_stream(stream)
        stream.on_data(event.data, event.stream_ended)
        return len(event.data)

    def _session_over(self, why: str) -> None:
        """The client ended the session: the connection ends with it."""
        if self.closed_exc is None:
            self.close_now(H3_NO_ERROR, why, TransportClosed(why, by_peer=True))
