"""The node's web endpoint without a browser (spec 15.8): its pages over HTTPS (exactly the built page,
its script pinned by SRI, a strict CSP, nothing else) and the client protocol over its WebSocket,
into the same sessions as the node's own QUIC binding."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import ssl
import urllib.request
from dataclasses import replace
from pathlib import Path

import nacl.signing
import pytest
import trio
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import given
from hypothesis import strategies as st
from wsproto.events import BytesMessage, TextMessage

from holdspace.clients.cli import cli
from holdspace.clients.participant import Participant
from holdspace.node.config import init_node
from holdspace.node.limits import NodeLimits, default_transport_limits
from holdspace.node.transport.base import MessageTooLarge, TransportError, encode_header
from holdspace.node.transport.certs import certificate_for, pinnable_hash, web_certificate
from holdspace.node.web.byte_frames import MessageSplitter
from holdspace.node.web.site import Site, WebError
from holdspace.protocol.address import InviteToken
from holdspace.protocol.frames import MAX_FRAME, PROTOCOL_VERSION, decode_reply, encode_client_request
from tests.cli.test_cli import start_node, stop_node
from tests.node.conftest import session
from tests.web.web_node import BUNDLE, WebNode, https_request, web_node, websocket, ws_session

ORIGIN = "https://127.0.0.1:4443"
PASSPHRASE = "correct horse battery staple"  # what tests.cli.test_cli.start_node types


# --- the site, sans-I/O -----------------------------------------------------------------------------


def test_the_site_serves_the_page_its_pinned_script_and_nothing_else(dist: Path) -> None:
    site = Site.load(dist, origin=ORIGIN, info={"address": "x"})
    page = site.respond("GET", "/")
    assert page.status == 200 and dict(page.headers)["content-type"] == "text/html; charset=utf-8"
    src, integrity = re.search(rb'<script type="module" src="([^"]+)" integrity="([^"]+)"', page.body).groups()
    script = site.respond("GET", src.decode())
    assert script.body == BUNDLE and dict(script.headers)["content-type"] == "text/javascript; charset=utf-8"
    assert integrity.decode() == "sha384-" + base64.b64encode(hashlib.sha384(BUNDLE).digest()).decode()
    assert json.loads(site.respond("GET", "/node.json").body) == {"address": "x"}
    for target in ("/index.html", "/holdspace.js.map", "/../web-key.pem", "/%2e%2e/node.toml", "//etc/passwd", "/x"):
        assert site.respond("GET", target).status == 404, target
    assert site.respond("POST", "/").status == 405
    head = site.respond("HEAD", "/")
    assert head.status == 200 and head.body == b"" and dict(head.headers)["content-length"] == str(len(page.body))


def test_every_response_carries_the_strict_policy(dist: Path) -> None:
    site = Site.load(dist, origin=ORIGIN, info={})
    for target in ("/", "/holdspace.js", "/node.json", "/nothing"):
        headers = dict(site.respond("GET", target).headers)
        csp = headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src 'self';" in csp
        assert f"connect-src {ORIGIN} wss://127.0.0.1:4443;" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp and "frame-ancestors 'none'" in csp
        assert headers["x-content-type-options"] == "nosniff"


def test_a_page_whose_script_does_not_match_its_hash_is_not_served(dist: Path) -> None:
    (dist / "holdspace.js").write_bytes(BUNDLE + b"// altered after the build\n")
    with pytest.raises(WebError) as err:
        Site.load(dist, origin=ORIGIN, info={})
    assert err.value.code == "web.integrity"


@pytest.mark.parametrize(
    "page",
    [
        b"<script>alert(1)</script>",
        b'<img src="/x" onerror="alert(1)">',
        b'<script src="/holdspace.js"></script>',  # no integrity
        b'<script src="https://cdn.example/x.js" integrity="sha384-x"></script>',
        b'<script src="/../node.key" integrity="sha384-x"></script>',
    ],
)
def test_an_inline_unpinned_or_foreign_script_is_refused(dist: Path, page: bytes) -> None:
    (dist / "index.html").write_bytes(b"<!doctype html><title>x</title>" + page)
    with pytest.raises(WebError) as err:
        Site.load(dist, origin=ORIGIN, info={})
    assert err.value.code == "web.integrity"


def test_an_unbuilt_client_is_a_typed_error(tmp_path: Path) -> None:
    with pytest.raises(WebError) as err:
        Site.load(tmp_path / "nothing", origin=ORIGIN, info={})
    assert err.value.code == "web.not_built"


def test_the_web_certificate_is_pinnable_and_a_long_lived_one_is_not() -> None:
    cert = x509.load_pem_x509_certificate(web_certificate("127.0.0.1")[0])
    assert pinnable_hash(cert) == hashlib.sha256(cert.public_bytes(Encoding.DER)).digest()
    with pytest.raises(ValueError, match="1 to 14 days"):
        web_certificate("127.0.0.1", days=30)
    assert pinnable_hash(certificate_for(nacl.signing.SigningKey(b"\x01" * 32))[0]) is None  # Ed25519: not pinnable


# --- byte channel framing (the WebSocket's) ---------------------------------------------------------


@given(
    st.lists(st.binary(max_size=300), max_size=8),
    st.lists(st.integers(min_value=0, max_value=4000), max_size=12),
)
def test_any_chunking_gives_the_same_messages(messages: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(encode_header(len(m)) + m for m in messages)
    splitter = MessageSplitter(300)
    got: list[bytes] = []
    start = 0
    for cut in [*sorted({c % (len(stream) + 1) for c in cuts}), len(stream)]:
        got += splitter.push(stream[start:cut])
        start = cut
    assert got == messages and splitter.at_boundary()


def test_an_oversized_prefix_is_refused_before_its_bytes_are_held() -> None:
    splitter = MessageSplitter(100)
    assert splitter.push(encode_header(3) + b"abc" + encode_header(101)[:2]) == [b"abc"]
    with pytest.raises(MessageTooLarge):
        splitter.push(encode_header(101)[2:] + b"x" * 50)
    assert splitter.buffered == 0
    with pytest.raises(MessageTooLarge):  # and stays refused
        splitter.push(encode_header(1) + b"y")


# --- over the network -------------------------------------------------------------------------------


async def test_the_https_server_serves_the_page_and_refuses_the_rest(tmp_path: Path, dist: Path) -> None:
    async with web_node(tmp_path, dist) as web:
        status, headers, page = await https_request(web, "/")
        assert status == 200 and "script-src 'self'" in headers["content-security-policy"]
        src, integrity = re.search(rb'src="([^"]+)" integrity="([^"]+)"', page).groups()
        status, headers, bundle = await https_request(web, src.decode())
        assert status == 200 and headers["content-type"].startswith("text/javascript")
        assert integrity.decode() == "sha384-" + base64.b64encode(hashlib.sha384(bundle).digest()).decode()
        status, _, body = await https_request(web, "/node.json")
        info = json.loads(body)
        assert info["address"] == str(web.address)
        assert info["webtransport"] == f"https://127.0.0.1:{web.port}/wt"
        assert info["websocket"] == f"wss://127.0.0.1:{web.port}/ws"
        der = x509.load_pem_x509_certificate(web.certfile.read_bytes()).public_bytes(Encoding.DER)
        assert info["certificate_hashes"] == [base64.b64encode(hashlib.sha256(der).digest()).decode()]
        for target in (
            "/../web-key.pem",
            "/..%2fweb-key.pem",
            "/%2e%2e/%2e%2e/etc/passwd",
            "/node.key",
            "/web-key.pem",
        ):
            status, _, body = await https_request(web, target)
            assert status == 404 and b"PRIVATE KEY" not in body, target
        assert (await https_request(web, "/", method="DELETE"))[0] == 405
        assert (await https_request(web, "/ws"))[0] == 426  # not an upgrade


async def test_a_participant_talks_over_the_websocket_with_one_on_quic(tmp_path: Path, dist: Path) -> None:
    async with web_node(tmp_path, dist) as web:
        fay = Participant.create(tmp_path / "fay", "pass fay", web.address)
        ana = Participant.create(tmp_path / "ana", "pass ana", web.address)
        with trio.fail_after(30):
            async with ws_session(web) as s_fay, session(web.address) as s_ana:
                group = await fay.create_group(s_fay, "Thursday circle")
                g_ana = await ana.join(s_ana, InviteToken.parse(await fay.invite(s_fay, group)))
                await fay.send(s_fay, group, "Welcome, over a WebSocket.")
                await ana.send(s_ana, g_ana, "Thank you, over QUIC.")
                await ana.sync(s_ana, g_ana)
                await fay.sync(s_fay, group)
        assert "Welcome, over a WebSocket." in {m.text for m in ana.record(g_ana.group_id).messages}
        assert "Thank you, over QUIC." in {m.text for m in fay.record(group.group_id).messages}


async def test_one_session_stream_whatever_the_message_boundaries(tmp_path: Path, dist: Path) -> None:
    """A request split over three binary messages, and two requests in one, are read as the stream they make."""
    async with web_node(tmp_path, dist) as web, websocket(web) as conn:
        stream = await conn.open_stream()
        one = encode_client_request(7, "hello", v=PROTOCOL_VERSION)
        two = encode_client_request(8, "hello", v=PROTOCOL_VERSION)
        wire = encode_header(len(one)) + one + encode_header(len(two)) + two
        for chunk in (wire[:2], wire[2:9], wire[9:]):
            await conn.send_message(chunk)
        with trio.fail_after(10):
            answers = {decode_reply(await stream.receive()).rid for _ in range(2)}
        assert answers == {7, 8}
        with pytest.raises(TransportError):
            await conn.open_stream()  # one stream per WebSocket


@pytest.mark.parametrize(
    ("bad", "code"),
    [(BytesMessage(data=encode_header(MAX_FRAME + 1)), 1009), (TextMessage(data="hello"), 1003)],
)
async def test_an_oversized_prefix_or_a_text_message_closes_the_websocket(
    tmp_path: Path, dist: Path, bad: BytesMessage | TextMessage, code: int
) -> None:
    async with web_node(tmp_path, dist) as web:
        async with websocket(web) as conn:
            async with conn._send_lock:
                await conn._write(conn._ws.send(bad))
            with trio.fail_after(10):
                await conn.wait_closed()
            assert conn.peer_close_code == code
        with trio.fail_after(10):
            while web.node.clients:  # noqa: ASYNC110 - the node's counter has no event
                await trio.sleep(0.01)


def test_node_run_serves_the_client_when_web_is_enabled(tmp_path: Path, bundle: Path) -> None:
    """``holdspace node run`` with ``[web]`` enabled: the pages on the web port, under the
    certificate ``node web-cert`` wrote, and the node's address in /node.json."""
    directory = tmp_path / "node"
    init_node(directory, "127.0.0.1:0", PASSPHRASE)
    done = CliRunner().invoke(cli, ["node", "web-cert", str(directory)])
    assert done.exit_code == 0, done.output
    assert (directory / "web-key.pem").stat().st_mode & 0o077 == 0
    config = directory / "node.toml"
    text = config.read_text().replace("enabled = false\n# port = 443", "enabled = true\nport = 0")
    config.write_text(
        text.replace('# cert = "web-cert.pem"\n# key = "web-key.pem"', 'cert = "web-cert.pem"\nkey = "web-key.pem"')
    )
    address, proc = start_node(directory, init=False)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        origin = re.search(r"holdspace web client: (https://127\.0\.0\.1:\d+)/", line)
        assert origin, line
        context = ssl.create_default_context(cafile=str(directory / "web-cert.pem"))
        with urllib.request.urlopen(origin.group(1) + "/node.json", context=context, timeout=10) as response:
            assert json.load(response)["address"] == address
        with urllib.request.urlopen(origin.group(1) + "/", context=context, timeout=10) as response:
            assert b'integrity="sha384-' in response.read()
    finally:
        stop_node(proc)


async def raw_exchange(web: WebNode, data: bytes) -> bytes:
    """Send ``data`` on a fresh TLS connection; return everything the node sent until it closed."""
    stream = await trio.open_ssl_over_tcp_stream("127.0.0.1", web.port, ssl_context=web.tls(), https_compatible=True)
    received = b""
    with trio.fail_after(10):
        if data:
            await stream.send_all(data)
        while chunk := await stream.receive_some(65536):
            received += chunk
    await stream.aclose()
    return received


async def test_garbage_oversized_heads_and_silence_are_refused_and_the_server_goes_on(
    tmp_path: Path, dist: Path
) -> None:
    limits = NodeLimits(transport=replace(default_transport_limits(), handshake_timeout=0.5))
    async with web_node(tmp_path, dist, limits) as web:
        assert (await raw_exchange(web, b"\x00\x01 NOT HTTP AT ALL\r\n\r\n")).startswith(b"HTTP/1.1 400 ")
        huge = b"GET / HTTP/1.1\r\nhost: x\r\nx-filler: " + b"a" * 20_000 + b"\r\n\r\n"
        assert (await raw_exchange(web, huge)).startswith(b"HTTP/1.1 431 ")
        assert await raw_exchange(web, b"") == b""  # nothing sent: closed after the handshake timeout
        status, _, _ = await https_request(web, "/")
        assert status == 200
