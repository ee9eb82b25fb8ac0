"""The client protocol over a WebSocket (spec 15.8.2): the fallback for browsers without WebTransport.
The same class serves the node's side and, for tests and Python clients, a client's (``client=True``,
over wsproto's client connection once its handshake is done).

A :class:`WebSocketConnection` offers the ``Connection`` interface the node runtime serves client
sessions on (``Node.serve_client``), over one WebSocket (wsproto, on the TLS stream the HTTPS
server upgraded). It has exactly one stream, the session stream: the client's binary messages,
concatenated in order, are its bytes (their boundaries mean nothing), split into length-prefixed
messages as on a QUIC stream; each message the node sends is one binary message.

Refused, each by closing the WebSocket: a length prefix over the message limit (1009, nothing of it
buffered), a text message (1003), a frame wsproto cannot parse (its code, 1002 or 1007). A
WebSocket has no half-close, so the session ends with the WebSocket: a client's Close ends it at
once (what is in flight is abandoned, as when a QUIC connection closes), and the node's end of the
session (``finish``) closes it with 1000. The node sends a Ping after ``keepalive_every`` seconds
without receiving anything, and closes a WebSocket silent for ``idle_timeout`` (1001).

Memory: the pump reads the socket only while fewer than ``stream_receive_window`` bytes of whole
messages wait to be read, so at most that plus one partial message (``MessageSplitter``) is held;
TCP's own flow control holds back the rest.
"""

from __future__ import annotations

import contextlib
import logging

import trio
from wsproto import WSConnection
from wsproto.connection import Connection as WsConnection
from wsproto.events import BytesMessage, CloseConnection, Ping, TextMessage
from wsproto.frame_protocol import CloseReason
from wsproto.utilities import LocalProtocolError, ProtocolError

from holdspace.node.transport.base import (
    HEADER_SIZE,
    ConnectionStats,
    IdleTimeout,
    MessageTooLarge,
    StreamClosed,
    TransportClosed,
    TransportError,
    TransportLimits,
    clone_error,
    encode_header,
)
from holdspace.node.transport.streams import Signal, StreamEnds
from holdspace.node.web.byte_frames import MessageSplitter
from holdspace.protocol.frames import ALPN_CLIENT

__all__ = ["RECV_CHUNK", "WebSocketConnection", "WebSocketStream", "websocket_close_code"]

log = logging.getLogger(__name__)

RECV_CHUNK = 64 * 1024
"""Bytes read from the socket at a time."""
APPLICATION_CLOSE_BASE = 4000
"""A node's application close code ``c`` (1 .. 999) travels as WebSocket close code 4000 + c."""


def websocket_close_code(code: int) -> int:
    """The WebSocket close code that carries the node's application close code ``code``."""
    if code == 0:
        return int(CloseReason.NORMAL_CLOSURE)
    if 0 < code < 1000:
        return APPLICATION_CLOSE_BASE + code
    return int(CloseReason.INTERNAL_ERROR)


class WebSocketStream(StreamEnds):
    """The one stream of a :class:`WebSocketConnection`: the session stream."""

    def __init__(self, conn: WebSocketConnection) -> None:
        super().__init__(0)
        self._conn = conn

    async def send(self, message: bytes) -> None:
        """One binary message: the length prefix and ``message``."""
        await trio.lowlevel.checkpoint_if_cancelled()
        conn = self._conn
        self._check_size(message, conn.limits.max_message_size)
        self._check_send()
        await conn.send_message(encode_header(len(message)) + message)
        conn.stats.messages_sent += 1

    def deliver(self, messages: list[bytes]) -> None:
        """Queue whole messages the pump read."""
        if self._recv_done or not messages:
            return
        self._queue.extend(messages)
        self._conn.queued += sum(HEADER_SIZE + len(m) for m in messages)
        self._recv_changed.fire()

    def fail(self, exc: TransportError) -> None:
        """Nothing more will arrive: ``receive`` raises ``exc`` once the queue is drained."""
        if not self._recv_done:
            self._end_receive(exc)
        self._close_send(exc)

    # ---------------------------------------------------------------- StreamEnds: the wire

    def _connection_error(self) -> TransportError | None:
        return self._conn.closed_exc

    def _took(self, message: bytes) -> None:
        conn = self._conn
        conn.queued -= HEADER_SIZE + len(message)
        conn.stats.messages_received += 1
        conn.room.fire()

    async def _write_fin(self) -> None:
        self._close_send(StreamClosed("stream already finished"))
        await self._conn.aclose(0, "session over")

    def _abort_wire(self, code: int) -> None:
        self._conn.close_soon(code, "session stream reset")

    def _drop_buffered(self) -> None:
        self._conn.queued -= sum(HEADER_SIZE + len(m) for m in self._queue)
        self._conn.room.fire()

    def _release(self) -> None:
        pass


class WebSocketConnection:
    """One client connection over a WebSocket (see the module). Run :meth:`run` beside the session."""

    def __init__(
        self,
        transport: trio.abc.Stream,
        ws: WsConnection | WSConnection,
        limits: TransportLimits,
        remote_address: tuple[str, int],
        *,
        client: bool = False,
    ) -> None:
        self.peer_key: bytes | None = None
        self.remote_address = remote_address
        self.alpn = ALPN_CLIENT
        self.stats = ConnectionStats()
        self.limits = limits
        self.closed_exc: TransportError | None = None
        self.peer_close_code: int | None = None  # the code of the peer's Close, once one arrived
        self.queued = 0  # bytes of whole messages waiting to be read (prefixes included)
        self.room = Signal()  # the reader took messages, or the connection closed
        self._transport = transport
        self._ws = ws
        self._splitter = MessageSplitter(limits.max_message_size)
        self._stream = WebSocketStream(self)
        self._client = client
        self._taken = False  # the session stream was handed out (opened by a client, accepted by a node)
        self._closed = trio.Event()
        self._send_lock = trio.Lock()
        self._last_received = trio.current_time()
        self._nursery: trio.Nursery | None = None

    # ---------------------------------------------------------------- Connection API

    async def open_stream(self) -> WebSocketStream:
        """A client's session stream (once): a WebSocket carries exactly one stream."""
        await trio.lowlevel.checkpoint_if_cancelled()
        if self.closed_exc is not None:
            raise clone_error(self.closed_exc)
        if not self._client or self._taken:
            raise StreamClosed("a WebSocket carries one stream, opened by the client")
        self._taken = True
        return self._stream

    async def accept_stream(self) -> WebSocketStream:
        """On the node's side, the session stream, once; then (and on a client's side) wait until
        the connection ends and raise why."""
        await trio.lowlevel.checkpoint_if_cancelled()
        if not self._client and not self._taken and self.closed_exc is None:
            self._taken = True
            return self._stream
        await self._closed.wait()
        assert self.closed_exc is not None
        raise clone_error(self.closed_exc)

    async def aclose(self, code: int = 0, reason: str = "") -> None:
        """Close the WebSocket with ``websocket_close_code(code)`` (best effort, bounded by
        ``close_timeout``), then the TLS stream."""
        await self._close(
            websocket_close_code(code), reason, TransportClosed("connection closed locally", error_code=code)
        )

    async def wait_closed(self) -> None:
        """Return once the connection is over (``closed_exc`` says why)."""
        await self._closed.wait()

    def close_soon(self, code: int, reason: str) -> None:
        """:meth:`aclose` from synchronous code (a stream reset)."""
        if self._nursery is not None and self.closed_exc is None:
            self._nursery.start_soon(self.aclose, code, reason)

    # ---------------------------------------------------------------- running

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Read the WebSocket and keep it alive until it ends."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            nursery.start_soon(self._keepalive)
            task_status.started()
            await self._pump()
            nursery.cancel_scope.cancel()

    async def send_message(self, data: bytes) -> None:
        """Send ``data`` as one binary message; raises the connection's error once it is closed."""
        async with self._send_lock:
            if self.closed_exc is not None:
                raise clone_error(self.closed_exc)
            await self._write(self._ws.send(BytesMessage(data=data)))

    async def _write(self, data: bytes) -> None:
        try:
            await self._transport.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            self._lost(TransportClosed("connection lost", by_peer=True))
            raise clone_error(self.closed_exc or TransportClosed("connection lost")) from None
        self.stats.count_sent(len(data))

    async def _pump(self) -> None:
        while self.closed_exc is None:
            while self.queued >= self.limits.stream_receive_window and self.closed_exc is None:
                await self.room.wait()
            if self.closed_exc is not None:
                return
            try:
                data = await self._transport.receive_some(RECV_CHUNK)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                data = b""
            if not data:
                self._lost(TransportClosed("connection lost", by_peer=True))
                return
            self._last_received = trio.current_time()
            self.stats.count_received(len(data))
            try:
                self._ws.receive_data(bytes(data))
                for event in self._ws.events():
                    if not await self._on_event(event):
                        return
            except ProtocolError as err:  # ParseFailed: a frame wsproto cannot parse
                code = getattr(err, "code", CloseReason.PROTOCOL_ERROR)
                await self._close(int(code), "bad frame", TransportClosed(f"bad WebSocket frame: {err}"))
                return

    async def _on_event(self, event: object) -> bool:
        """Handle one WebSocket event; False once the connection is over."""
        if isinstance(event, BytesMessage):
            try:
                self._stream.deliver(self._splitter.push(bytes(event.data)))
            except MessageTooLarge as err:
                self.stats.oversize_resets += 1
                self._stream.fail(MessageTooLarge(str(err)))
                await self._close(int(CloseReason.MESSAGE_TOO_BIG), "message too large", clone_error(err))
                return False
        elif isinstance(event, TextMessage):
            exc = TransportClosed("a text message on the WebSocket")
            await self._close(int(CloseReason.UNSUPPORTED_DATA), "binary messages only", exc)
            return False
        elif isinstance(event, Ping):
            async with self._send_lock:
                if self.closed_exc is None:
                    await self._write(self._ws.send(event.response()))
        elif isinstance(event, CloseConnection):
            self.peer_close_code = event.code
            exc = TransportClosed(f"WebSocket closed by the peer ({event.code})", by_peer=True)
            await self._close(int(CloseReason.NORMAL_CLOSURE), "", exc, answer=event)
            return False
        return True

    async def _keepalive(self) -> None:
        every = self.limits.keepalive_every
        while self.closed_exc is None:
            quiet = trio.current_time() - self._last_received
            if quiet >= self.limits.idle_timeout:
                await self._close(int(CloseReason.GOING_AWAY), "idle", IdleTimeout("idle timeout"))
                return
            wait = self.limits.idle_timeout - quiet
            if every is not None:
                wait = min(wait, every)
            await trio.sleep(wait)
            if every is not None and trio.current_time() - self._last_received >= every:
                async with self._send_lock:
                    if self.closed_exc is None:
                        try:
                            await self._write(self._ws.send(Ping()))
                        except TransportError:
                            return

    # ---------------------------------------------------------------- closing

    def _lost(self, exc: TransportError) -> None:
        """The connection is over: wake every waiter with ``exc``."""
        if self.closed_exc is None:
            self.closed_exc = exc
        self._stream.fail(clone_error(self.closed_exc))
        self._closed.set()
        self.room.fire()

    async def _close(
        self, ws_code: int, reason: str, exc: TransportError, answer: CloseConnection | None = None
    ) -> None:
        """Send a Close (``answer``'s response, if the client closed first) and end the connection."""
        if self.closed_exc is not None:
            return
        self._lost(exc)
        with trio.CancelScope(shield=True), trio.move_on_after(self.limits.close_timeout):
            async with self._send_lock:
                try:
                    close = answer.response() if answer is not None else CloseConnection(ws_code, reason[:120])
                    data = self._ws.send(close)
                    await self._transport.send_all(data)
                    self.stats.count_sent(len(data))
                except (LocalProtocolError, trio.BrokenResourceError, trio.ClosedResourceError):
                    pass
            with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                await self._transport.aclose()
