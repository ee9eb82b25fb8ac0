"""A real node with its web endpoint on 127.0.0.1 (a self-signed, pinnable web certificate), and
Python clients of that endpoint: HTTPS requests (h11) and the client protocol over a WebSocket
(wsproto), both over TLS that trusts exactly that certificate."""

from __future__ import annotations

import fcntl
import functools
import hashlib
import shutil
import ssl
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import h11
import nacl.signing
import pytest
import trio
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, RejectConnection, Request

from holdspace.clients.client import NodeSession, open_session
from holdspace.node.limits import NodeLimits, default_transport_limits
from holdspace.node.server import Node, open_node
from holdspace.node.transport.certs import web_certificate
from holdspace.node.web.serve import WebEndpoint, serve_web
from holdspace.node.web.websocket import WebSocketConnection
from holdspace.protocol.address import NodeAddress

WEB = Path(__file__).resolve().parents[2] / "clients" / "web"


@contextmanager
def web_lock() -> Iterator[None]:
    """Held around every npm command in ``clients/web``: test processes running side by side (xdist)
    must not install, build or compile there at the same time (``npm ci`` deletes ``node_modules``)."""
    name = hashlib.sha256(str(WEB).encode()).hexdigest()[:16]
    with open(Path(tempfile.gettempdir()) / f"holdspace-web-{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


BUNDLE = b'export const greeting = "hello from the bundle";\n'


def page_for(dist: Path, bundle: bytes = BUNDLE) -> Path:
    """``dist`` holding ``bundle`` as holdspace.js and the page the client's build writes for it
    (``clients/web/page.mjs``, so the page tested is the one the build makes)."""
    if shutil.which("node") is None:
        pytest.fail("Node.js is not installed: run 'sh tests/install-browser.sh'")
    dist.mkdir(parents=True, exist_ok=True)
    (dist / "holdspace.js").write_bytes(bundle)
    subprocess.run(["node", str(WEB / "page.mjs"), str(dist)], check=True, timeout=60)
    return dist


@dataclass
class WebNode:
    node: Node
    address: NodeAddress
    web: WebEndpoint
    certfile: Path

    @property
    def port(self) -> int:
        return self.web.port

    def tls(self) -> ssl.SSLContext:
        """A client context trusting only this node's web certificate."""
        context = ssl.create_default_context(cafile=str(self.certfile))
        context.set_alpn_protocols(["http/1.1"])
        return context


@asynccontextmanager
async def web_node(tmp_path: Path, dist: Path, limits: NodeLimits | None = None) -> AsyncIterator[WebNode]:
    cert, key = web_certificate("127.0.0.1")
    certfile, keyfile = tmp_path / "web-cert.pem", tmp_path / "web-key.pem"
    certfile.write_bytes(cert)
    keyfile.write_bytes(key)
    key = nacl.signing.SigningKey(b"\x09" * 32)
    async with open_node(tmp_path / "node", key, limits) as node, trio.open_nursery() as nursery:
        host, port = await nursery.start(node.serve_quic, "127.0.0.1", 0)
        address = NodeAddress(node.public_key, host, port)
        endpoint = await nursery.start(
            functools.partial(
                serve_web,
                node,
                listen_host="127.0.0.1",
                port=0,
                public_host="127.0.0.1",
                certfile=certfile,
                keyfile=keyfile,
                address=str(address),
                dist=dist,
            )
        )
        yield WebNode(node, address, endpoint, certfile)
        nursery.cancel_scope.cancel()


async def https_request(
    web: WebNode, target: str, method: str = "GET", headers: list[tuple[str, str]] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One request on a fresh connection: (status, headers, body). The target is sent as written."""
    stream = await trio.open_ssl_over_tcp_stream("127.0.0.1", web.port, ssl_context=web.tls(), https_compatible=True)
    conn = h11.Connection(h11.CLIENT)
    try:
        request = h11.Request(
            method=method, target=target, headers=[("host", f"127.0.0.1:{web.port}"), *(headers or [])]
        )
        await stream.send_all(conn.send(request) + conn.send(h11.EndOfMessage()))
        status, found, body = 0, {}, b""
        with trio.fail_after(10):
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    conn.receive_data(await stream.receive_some(65536))
                elif isinstance(event, h11.Response | h11.InformationalResponse):
                    status = event.status_code
                    found = {k.decode(): v.decode() for k, v in event.headers}
                    if status == 101:
                        return status, found, body
                elif isinstance(event, h11.Data):
                    body += event.data
                elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                    return status, found, body
    finally:
        await stream.aclose()


@asynccontextmanager
async def websocket(web: WebNode, path: str = "/ws") -> AsyncIterator[WebSocketConnection]:
    """A client connection over the node's WebSocket, its reader running."""
    stream = await trio.open_ssl_over_tcp_stream("127.0.0.1", web.port, ssl_context=web.tls(), https_compatible=True)
    ws = WSConnection(ConnectionType.CLIENT)
    await stream.send_all(ws.send(Request(host=f"127.0.0.1:{web.port}", target=path)))
    accepted = False
    with trio.fail_after(10):
        while not accepted:
            ws.receive_data(await stream.receive_some(65536))
            for event in ws.events():
                if isinstance(event, RejectConnection):
                    raise AssertionError(f"the WebSocket was refused: {event.status_code}")
                accepted = accepted or isinstance(event, AcceptConnection)
    conn = WebSocketConnection(stream, ws, default_transport_limits(), ("127.0.0.1", web.port), client=True)
    async with trio.open_nursery() as nursery:
        await nursery.start(conn.run)
        yield conn
        await conn.aclose()
        nursery.cancel_scope.cancel()


@asynccontextmanager
async def ws_session(web: WebNode) -> AsyncIterator[NodeSession]:
    """The Python client's session (``clients.client``) over the node's WebSocket."""
    async with websocket(web) as conn, open_session(conn, web.address.node_key) as session:
        yield session
