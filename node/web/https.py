"""The node's HTTPS server (spec 15.8.2, 15.8.3): HTTP/1.1 (h11) over TLS (trio's ``SSLStream``),
serving the :class:`~node.web.site.Site` and upgrading ``/ws`` to a WebSocket (wsproto) whose
session the caller serves.

Limits: at most ``max_connections`` connections (the next one is closed at once); the TLS
handshake and each request's head within ``handshake_timeout``; a connection idle between requests
for ``idle_timeout`` is closed; a request head over :data:`MAX_HEAD` bytes is refused (431), as is
anything h11 cannot parse (400). Only GET and HEAD are served; a request body is read and dropped,
up to :data:`MAX_BODY` bytes (beyond: the connection is closed).
"""

from __future__ import annotations

import contextlib
import logging
import ssl
from collections.abc import Awaitable, Callable

import h11
import trio
from wsproto.connection import Connection as WsConnection
from wsproto.connection import ConnectionType
from wsproto.utilities import generate_accept_token

from holdspace.node.transport.base import TransportLimits
from holdspace.node.web.site import Response, Site

__all__ = ["MAX_BODY", "MAX_HEAD", "WS_PATH", "HttpsServer", "tls_context"]

log = logging.getLogger(__name__)

WS_PATH = "/ws"
"""The path of the node's WebSocket endpoint (``wss://host:port/ws``)."""
MAX_HEAD = 16 * 1024
MAX_BODY = 64 * 1024
RECV_CHUNK = 16 * 1024

WebSocketHandler = Callable[[trio.abc.Stream, WsConnection, tuple[str, int]], Awaitable[None]]


def tls_context(certfile: str, keyfile: str) -> ssl.SSLContext:
    """A server TLS context (TLS 1.2 or later, ALPN ``http/1.1``) with the operator's certificate
    chain and key. Raises ``OSError`` or ``ssl.SSLError`` if they cannot be loaded."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certfile, keyfile)
    context.set_alpn_protocols(["http/1.1"])
    return context


class _ClosedError(Exception):
    """The connection is over (the peer left, or a limit was hit)."""


class HttpsServer:
    """Serves HTTPS connections from a listener (see the module)."""

    def __init__(
        self, site: Site, context: ssl.SSLContext, limits: TransportLimits, on_websocket: WebSocketHandler
    ) -> None:
        self.site = site
        self.context = context
        self.limits = limits
        self.on_websocket = on_websocket
        self.active = 0
        self.refused = 0

    async def serve(
        self,
        listeners: list[trio.SocketListener],
        *,
        task_status: trio.TaskStatus[list[trio.SocketListener]] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Serve ``listeners`` until cancelled."""
        await trio.serve_listeners(self.connection, listeners, task_status=task_status)

    async def connection(self, tcp: trio.SocketStream) -> None:
        """One TCP connection, from its TLS handshake to its close."""
        if self.active >= self.limits.max_connections:
            self.refused += 1
            await tcp.aclose()
            return
        self.active += 1
        stream = trio.SSLStream(tcp, self.context, server_side=True, https_compatible=True)
        try:
            peer = tcp.socket.getpeername()
            address = (str(peer[0]), int(peer[1]))
            with trio.fail_after(self.limits.handshake_timeout):
                await stream.do_handshake()
            await self._http(stream, address)
        except trio.TooSlowError:
            log.debug("https: a TLS handshake was too slow")
        except (_ClosedError, trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            pass
        except Exception:  # one connection's failure must not stop the server
            log.exception("https: a connection failed")
        finally:
            self.active -= 1
            with (
                trio.CancelScope(shield=True),
                trio.move_on_after(self.limits.close_timeout),
                contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError),
            ):
                await stream.aclose()

    async def _http(self, stream: trio.SSLStream[trio.SocketStream], address: tuple[str, int]) -> None:
        """Requests on one connection, one at a time: the first request's head within
        ``handshake_timeout`` of the TLS handshake, each later one within ``idle_timeout``."""
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
        first = True
        while True:
            try:
                with trio.fail_after(self.limits.handshake_timeout if first else self.limits.idle_timeout):
                    event = await self._next(conn, stream)
            except trio.TooSlowError:
                return
            except h11.RemoteProtocolError as err:
                status = 431 if "too long" in str(err) or "exceeds" in str(err) else 400
                await self._send_error(conn, stream, status)
                return
            first = False
            if isinstance(event, h11.ConnectionClosed):
                return
            if not isinstance(event, h11.Request):  # pragma: no cover - h11 gives a request first
                return
            head = len(event.target) + sum(len(name) + len(value) + 4 for name, value in event.headers)
            if head > MAX_HEAD:  # h11 bounds only a head that has not arrived whole
                await self._send_error(conn, stream, 431)
                return
            target = event.target.decode("ascii", "replace")
            if target.split("?", 1)[0] == WS_PATH and event.method == b"GET":
                await self._websocket(conn, stream, event, address)
                return
            await self._drain_body(conn, stream)
            accept = b", ".join(value for name, value in event.headers if name == b"accept-encoding")
            method = event.method.decode("ascii", "replace")
            await self._send(conn, stream, self.site.respond(method, target, accept.decode("ascii", "replace")))
            if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                return
            try:
                conn.start_next_cycle()
            except h11.LocalProtocolError:
                return

    async def _next(self, conn: h11.Connection, stream: trio.SSLStream[trio.SocketStream]) -> h11.Event:
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await stream.receive_some(RECV_CHUNK)
                conn.receive_data(bytes(data))  # b"" marks the end of the connection
                continue
            if event is h11.PAUSED:  # a request proposing an upgrade: its head is all we need
                raise _ClosedError
            assert not isinstance(event, type)
            return event

    async def _drain_body(self, conn: h11.Connection, stream: trio.SSLStream[trio.SocketStream]) -> None:
        received = 0
        while conn.their_state is h11.SEND_BODY:
            event = await self._next(conn, stream)
            if isinstance(event, h11.Data):
                received += len(event.data)
                if received > MAX_BODY:
                    raise _ClosedError
            elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                return

    async def _send(self, conn: h11.Connection, stream: trio.SSLStream[trio.SocketStream], response: Response) -> None:
        data = conn.send(h11.Response(status_code=response.status, headers=list(response.headers)))
        assert data is not None
        if response.body:
            body = conn.send(h11.Data(data=response.body))
            assert body is not None
            data += body
        end = conn.send(h11.EndOfMessage())
        assert end is not None
        await stream.send_all(data + end)

    async def _send_error(self, conn: h11.Connection, stream: trio.SSLStream[trio.SocketStream], status: int) -> None:
        if conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        body = b"bad request\n"
        headers = (
            ("content-type", "text/plain; charset=utf-8"),
            ("content-length", str(len(body))),
            ("connection", "close"),
        )
        try:
            await self._send(conn, stream, Response(status, headers, body))
        except h11.LocalProtocolError:
            return

    async def _websocket(
        self,
        conn: h11.Connection,
        stream: trio.SSLStream[trio.SocketStream],
        request: h11.Request,
        address: tuple[str, int],
    ) -> None:
        """Upgrade ``GET /ws`` (RFC 6455 section 4.2). Checked: ``Upgrade: websocket``, a
        ``Connection`` naming ``upgrade``, ``Sec-WebSocket-Version: 13`` and a key; else 426 (a
        plain request) or 400. No extension and no subprotocol is negotiated."""
        headers: dict[bytes, list[bytes]] = {}
        for name, value in request.headers:
            headers.setdefault(name.lower(), []).append(value)
        upgrade = b",".join(headers.get(b"upgrade", [])).lower()
        connection = [t.strip() for t in b",".join(headers.get(b"connection", [])).lower().split(b",")]
        key = headers.get(b"sec-websocket-key", [b""])[0]
        if upgrade != b"websocket" or b"upgrade" not in connection:
            await self._send_error(conn, stream, 426)
            return
        if headers.get(b"sec-websocket-version") != [b"13"] or len(key) != 24:
            await self._send_error(conn, stream, 400)
            return
        accept = generate_accept_token(key)
        data = conn.send(
            h11.InformationalResponse(
                status_code=101,
                headers=[
                    ("upgrade", "websocket"),
                    ("connection", "Upgrade"),
                    ("sec-websocket-accept", accept.decode()),
                ],
            )
        )
        assert data is not None
        await stream.send_all(data)
        trailing, _closed = conn.trailing_data
        await self.on_websocket(stream, WsConnection(ConnectionType.SERVER, trailing_data=bytes(trailing)), address)
