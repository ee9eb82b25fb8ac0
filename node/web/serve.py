"""Starting a node's web endpoint (spec 15.8): HTTPS and the WebSocket on TCP, WebTransport on UDP,
both on the ``[web]`` port, all under the operator's certificate, all serving client sessions
through ``Node.serve_client``.

WebTransport is not offered on the node's own UDP port: a QUIC server chooses its certificate
before it reads the client's ALPN, and the browser must see the operator's web certificate while a
Holdspace client pins the node's Ed25519 certificate; aioquic has no per-ALPN certificate. So the
web port is its own UDP port, the same number as the HTTPS port (a browser's ``https://host:port``
names both).
"""

from __future__ import annotations

import base64
import errno
import functools
import ssl
from dataclasses import dataclass
from pathlib import Path

import trio
from aioquic.quic.configuration import QuicConfiguration
from cryptography import x509
from wsproto.connection import Connection as WsConnection

from holdspace.node.server import Node
from holdspace.node.transport.base import TransportLimits
from holdspace.node.transport.certs import pinnable_hash
from holdspace.node.transport.quic_driver import QuicConnectionHandle
from holdspace.node.transport.quic_server import serve_quic_configured
from holdspace.node.transport.webtransport import WT_PATH, WebTransportConnection, webtransport_configuration
from holdspace.node.web.https import WS_PATH, HttpsServer, tls_context
from holdspace.node.web.site import Site, WebError
from holdspace.node.web.websocket import WebSocketConnection

__all__ = ["DIST", "WebEndpoint", "load_certificate", "serve_web", "url_host"]

DIST = Path(__file__).resolve().parents[2] / "clients" / "web" / "dist"
"""The built browser client (``npm run build`` in ``clients/web``)."""


def url_host(host: str) -> str:
    """``host`` as written in a URL (an IPv6 address in brackets)."""
    return f"[{host}]" if ":" in host else host


def load_certificate(
    certfile: Path, keyfile: Path, limits: TransportLimits
) -> tuple[ssl.SSLContext, QuicConfiguration, bytes | None]:
    """The TLS context (HTTPS), the QUIC configuration (WebTransport) and the pinnable hash (None:
    not pinnable) of the operator's certificate chain and key; ``web.certificate`` if they cannot be
    loaded or do not belong together."""
    try:
        context = tls_context(str(certfile), str(keyfile))
        certificate = x509.load_pem_x509_certificate(certfile.read_bytes())
        quic = webtransport_configuration(limits, str(certfile), str(keyfile))
    except (OSError, ssl.SSLError, ValueError) as err:
        raise WebError("web.certificate", f"{certfile} / {keyfile}: {err}") from None
    return context, quic, pinnable_hash(certificate)


@dataclass(frozen=True, slots=True)
class WebEndpoint:
    """What a started web endpoint reports: its port and origin (``https://host:port``)."""

    port: int
    origin: str


async def _tcp_listeners_with_free_udp(port: int, host: str, attempts: int = 20) -> list[trio.SocketListener]:
    """TCP listeners on ``port``; with port 0, on a free TCP port whose UDP twin is free too (the
    WebTransport endpoint takes the same number): a port whose UDP side another process holds is
    given back and another one drawn, up to ``attempts`` times."""
    for _ in range(attempts if port == 0 else 1):
        listeners = await trio.open_tcp_listeners(port, host=host)
        if port != 0:
            return listeners
        bound = listeners[0].socket.getsockname()
        probe = trio.socket.socket(listeners[0].socket.family, trio.socket.SOCK_DGRAM)
        try:
            await probe.bind(bound[:2])
            return listeners
        except OSError as err:
            if err.errno != errno.EADDRINUSE:
                raise
            for listener in listeners:
                await listener.aclose()
        finally:
            probe.close()
    raise OSError(errno.EADDRINUSE, "no free port with its UDP twin free")


async def serve_web(
    node: Node,
    *,
    listen_host: str,
    port: int,
    public_host: str,
    certfile: Path,
    keyfile: Path,
    address: str,
    dist: Path = DIST,
    task_status: trio.TaskStatus[WebEndpoint] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve the web endpoint until cancelled (port 0 picks a free TCP port, then takes the same
    UDP port). ``address`` is the node's address (``holdspace://…``), told to pages in
    ``/node.json``. Raises ``WebError``: ``web.certificate`` (the files cannot be loaded),
    ``web.not_built`` or ``web.integrity`` (see ``Site.load``)."""
    context, quic, pin = load_certificate(certfile, keyfile, node.limits.transport)
    listeners = await _tcp_listeners_with_free_udp(port, listen_host)
    try:
        bound = int(listeners[0].socket.getsockname()[1])
        origin = f"https://{url_host(public_host)}:{bound}"
        info: dict[str, object] = {
            "address": address,
            "webtransport": origin + WT_PATH,
            "websocket": "wss://" + origin.removeprefix("https://") + WS_PATH,
            "certificate_hashes": [] if pin is None else [base64.b64encode(pin).decode()],
        }
        site = Site.load(dist, origin=origin, info=info)

        async def on_websocket(stream: trio.abc.Stream, ws: WsConnection, peer: tuple[str, int]) -> None:
            conn = WebSocketConnection(stream, ws, node.limits.transport, peer)
            async with trio.open_nursery() as nursery:
                await nursery.start(conn.run)
                try:
                    await node.serve_client(conn)
                finally:
                    await conn.aclose(0, "session over")
                    nursery.cancel_scope.cancel()

        async def on_webtransport(conn: QuicConnectionHandle) -> None:
            assert isinstance(conn, WebTransportConnection)
            with trio.move_on_after(node.limits.transport.handshake_timeout):
                await conn.session_ready.wait()
            if conn.session_ready.is_set():
                await node.serve_client(conn)

        server = HttpsServer(site, context, node.limits.transport, on_websocket)
        async with trio.open_nursery() as nursery:
            await nursery.start(
                functools.partial(
                    serve_quic_configured,
                    listen_host,
                    bound,
                    configuration=quic,
                    handler=on_webtransport,
                    limits=node.limits.transport,
                    factory=WebTransportConnection,
                )
            )
            await nursery.start(server.serve, listeners)
            node.web_origin = origin  # told in hello: clients make invite links with it (spec 14.3)
            try:
                task_status.started(WebEndpoint(bound, origin))
                await trio.sleep_forever()
            finally:
                node.web_origin = None
    finally:
        for listener in listeners:
            await listener.aclose()
