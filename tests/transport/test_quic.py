"""QUIC-specific behaviour: datagram-level hygiene, Retry, half-open and handshake limits,
certificates. Real UDP on 127.0.0.1."""

from __future__ import annotations

import datetime
import math
import os
import random
import socket
import ssl
from collections.abc import Callable
from functools import partial
from typing import Any

import nacl.signing
import pytest
import trio
from aioquic._buffer import Buffer
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.connection import QuicConnection
from aioquic.quic.events import ConnectionTerminated
from aioquic.quic.packet import QuicPacketType, pull_quic_header
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID

from holdspace.node.transport import (
    BadCertificate,
    ConnectFailed,
    ConnectionRefused,
    HandshakeTimeout,
    PinMismatch,
    ServerStats,
    TransportLimits,
    certs,
    connect_quic,
    serve_quic,
)
from holdspace.node.transport import quic_client as quic_module
from holdspace.node.transport.certs import certificate_for, raw_ed25519_key

from .conftest import ALPN, echo_handler

TLS_NO_APPLICATION_PROTOCOL = 0x100 + 120  # CRYPTO_ERROR + the TLS alert no_application_protocol

FAST = TransportLimits(handshake_timeout=3.0)


async def start(
    nursery: trio.Nursery,
    key: nacl.signing.SigningKey,
    *,
    limits: TransportLimits = FAST,
    handler: Any = echo_handler,
) -> tuple[tuple[str, int], ServerStats]:
    stats = ServerStats()
    address = await nursery.start(
        partial(
            serve_quic,
            "127.0.0.1",
            0,
            node_key=key,
            alpns=[ALPN],
            handler=handler,
            limits=limits,
            stats=stats,
        )
    )
    return address, stats


async def echo_once(address: tuple[str, int], key: nacl.signing.SigningKey, **kwargs: Any) -> None:
    async with connect_quic(*address, expected_key=bytes(key.verify_key), alpn=ALPN, **kwargs) as conn:
        stream = await conn.open_stream()
        await stream.send(b"ping")
        assert await stream.receive() == b"ping"


@pytest.fixture
async def raw_socket() -> Any:
    """A plain UDP socket on 127.0.0.1 (closed at teardown)."""
    with trio.socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        await sock.bind(("127.0.0.1", 0))
        yield sock


async def replies(sock: trio.socket.SocketType, seconds: float) -> list[bytes]:
    got = []
    with trio.move_on_after(seconds):
        while True:
            data, _ = await sock.recvfrom(65536)
            got.append(data)
    return got


async def wait_until(predicate: Callable[[], bool], seconds: float = 5.0) -> None:
    with trio.fail_after(seconds):
        while not predicate():  # noqa: ASYNC110 - polling counters owned by the server
            await trio.sleep(0.01)


def client_initial(address: tuple[str, int]) -> bytes:
    """A genuine client Initial (padded to 1200 bytes) from a connection we will never continue."""
    client = QuicConnection(
        configuration=QuicConfiguration(is_client=True, alpn_protocols=[ALPN], verify_mode=ssl.CERT_NONE)
    )
    client.connect(address, now=0.0)
    (data, _), *_ = client.datagrams_to_send(now=0.0)
    return data


@pytest.fixture
def key() -> nacl.signing.SigningKey:
    return nacl.signing.SigningKey.generate()


async def test_small_datagrams_get_no_reply(
    nursery: trio.Nursery, key: nacl.signing.SigningKey, raw_socket: Any
) -> None:
    address, stats = await start(nursery, key)
    # A long header with an unknown version: 1199 bytes must stay unanswered ...
    unknown_version = bytes([0xC0]) + bytes.fromhex("1a2a3a4a") + bytes([8]) + os.urandom(8) + bytes([8])
    unknown_version += os.urandom(8)
    await raw_socket.sendto(unknown_version.ljust(1199, b"\0"), address)
    await raw_socket.sendto(client_initial(address)[:1199], address)  # a truncated Initial
    await raw_socket.sendto(os.urandom(50), address)
    assert await replies(raw_socket, 0.3) == []
    assert stats.small_datagrams_dropped == 2
    # ... while the same probe at 1200 bytes gets Version Negotiation (positive control).
    await raw_socket.sendto(unknown_version.ljust(1200, b"\0"), address)
    (reply,) = await replies(raw_socket, 0.3)
    header = pull_quic_header(Buffer(data=reply), host_cid_length=8)
    assert header.packet_type == QuicPacketType.VERSION_NEGOTIATION
    assert header.supported_versions == [1]
    assert stats.version_negotiations == 1
    # The endpoint's counters cover what it dropped and its stateless reply, nothing else.
    assert (stats.bytes_received, stats.datagrams_received) == (1199 + 1199 + 50 + 1200, 4)
    assert (stats.bytes_sent, stats.datagrams_sent) == (len(reply), 1)


async def test_retry_always(nursery: trio.Nursery, key: nacl.signing.SigningKey) -> None:
    address, stats = await start(nursery, key, limits=TransportLimits(retry_threshold=0, handshake_timeout=3))
    await echo_once(address, key)
    assert stats.retries_sent == 1
    assert stats.connections_accepted == 1


async def test_retry_once_half_open_connections_pile_up(
    nursery: trio.Nursery, key: nacl.signing.SigningKey, raw_socket: Any
) -> None:
    limits = TransportLimits(retry_threshold=1, handshake_timeout=3.0)
    address, stats = await start(nursery, key, limits=limits)
    await echo_once(address, key)
    assert stats.retries_sent == 0  # nothing half-open: no Retry
    await raw_socket.sendto(client_initial(address), address)  # a handshake that never completes
    await wait_until(lambda: stats.half_open == 1)
    await echo_once(address, key)  # goes through Retry, then connects
    assert stats.retries_sent == 1
    assert stats.connections_accepted == 2


async def test_invalid_token_is_refused(nursery: trio.Nursery, key: nacl.signing.SigningKey, raw_socket: Any) -> None:
    address, stats = await start(nursery, key, limits=TransportLimits(retry_threshold=0, handshake_timeout=3))
    client = QuicConnection(
        configuration=QuicConfiguration(
            is_client=True, alpn_protocols=[ALPN], verify_mode=ssl.CERT_NONE, token=os.urandom(40)
        )
    )
    client.connect(address, now=0.0)
    for data, _ in client.datagrams_to_send(now=0.0):
        await raw_socket.sendto(data, address)
    (reply,) = await replies(raw_socket, 0.3)
    client.receive_datagram(reply, address, now=0.01)
    client.handle_timer(now=100.0)  # end of the draining period
    events = []
    while (event := client.next_event()) is not None:
        events.append(event)
    assert len(events) == 1
    assert isinstance(events[0], ConnectionTerminated)
    assert events[0].error_code == 0xB  # INVALID_TOKEN
    assert stats.invalid_tokens == 1


async def test_handshake_timeout_frees_half_open_slot(
    nursery: trio.Nursery, key: nacl.signing.SigningKey, raw_socket: Any
) -> None:
    address, stats = await start(nursery, key, limits=TransportLimits(handshake_timeout=0.3))
    await raw_socket.sendto(client_initial(address), address)
    await wait_until(lambda: stats.half_open == 1)
    await wait_until(lambda: stats.handshake_timeouts == 1 and stats.half_open == 0 and stats.connections == 0)


async def test_half_open_cap_refuses(nursery: trio.Nursery, key: nacl.signing.SigningKey, raw_socket: Any) -> None:
    limits = TransportLimits(max_half_open=1, retry_threshold=10, handshake_timeout=3.0)
    address, stats = await start(nursery, key, limits=limits)
    await raw_socket.sendto(client_initial(address), address)
    await wait_until(lambda: stats.half_open == 1)
    with pytest.raises(ConnectionRefused):
        await echo_once(address, key)
    assert stats.connections_refused == 1


async def failed_handshake(address: tuple[str, int], source: str) -> int | None:
    """One handshake offering an ALPN the node does not speak, from its own socket on ``source``
    (Retry answered, lost datagrams resent); returns the error code of the node's
    CONNECTION_CLOSE (None: no close within 30 seconds, generous for a loaded machine)."""
    client = QuicConnection(
        configuration=QuicConfiguration(is_client=True, alpn_protocols=["not-spoken/1"], verify_mode=ssl.CERT_NONE)
    )
    with trio.socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        await sock.bind((source, 0))
        client.connect(address, now=trio.current_time())
        with trio.move_on_after(30.0):
            while True:
                for data, addr in client.datagrams_to_send(now=trio.current_time()):
                    await sock.sendto(data, addr)
                timer = client.get_timer()
                with trio.move_on_at(math.inf if timer is None else timer):
                    data, addr = await sock.recvfrom(65536)
                    client.receive_datagram(data, (addr[0], addr[1]), now=trio.current_time())
                    close = client._close_event  # the node's CONNECTION_CLOSE, before draining ends
                    if close is not None:
                        return close.error_code
                if timer is not None and trio.current_time() >= timer:
                    client.handle_timer(now=trio.current_time())
    return None


async def test_failed_handshakes_give_their_admission_slot_back_at_once(
    nursery: trio.Nursery, key: nacl.signing.SigningKey
) -> None:
    """300 handshakes with an ALPN the node does not speak, from 300 addresses (127.0.x.y), each
    refused with no_application_protocol; right after them an honest client connects at once: no
    failed handshake still holds a half-open slot."""
    address, stats = await start(nursery, key, limits=TransportLimits(handshake_timeout=10.0))
    sources = [f"127.0.{1 + i // 250}.{2 + i % 250}" for i in range(300)]
    codes: list[int | None] = []

    async def attempt(source: str) -> None:
        codes.append(await failed_handshake(address, source))

    for first in range(0, len(sources), 100):  # 100 at a time: more than the half-open cap
        async with trio.open_nursery() as attempts:
            for source in sources[first : first + 100]:
                attempts.start_soon(attempt, source)
    assert stats.half_open == 0 and stats.connections == 0, "failed handshakes still hold admission slots"
    await echo_once(address, key)  # at once: no ConnectionRefused
    assert codes == [TLS_NO_APPLICATION_PROTOCOL] * 300  # each refused for its ALPN, none for lack of room
    assert stats.connections_refused == 0
    assert stats.connections_accepted == 1


async def test_client_handshake_timeout(key: nacl.signing.SigningKey, raw_socket: Any) -> None:
    silent = raw_socket  # bound, never answers
    address = silent.getsockname()
    with trio.fail_after(5), pytest.raises(HandshakeTimeout) as info:
        await echo_once(address, key, limits=TransportLimits(handshake_timeout=0.3))
    assert info.value.code == "transport.handshake_timeout"


async def test_garbage_does_not_hurt(nursery: trio.Nursery, key: nacl.signing.SigningKey, raw_socket: Any) -> None:
    address, stats = await start(nursery, key)
    rng = random.Random(1234)
    for i in range(300):
        data = bytearray(rng.randbytes(rng.randint(1200, 1500)))
        if i % 3 == 0:  # long header, QUIC v1, Initial type: passes the header parser
            data[0] = 0xC0 | (data[0] & 0x0F)
            data[1:5] = (1).to_bytes(4, "big")
            data[5] = 8
            data[14] = 8
            data[23] = 0  # empty token
            data[24:26] = (0x4000 | 1000).to_bytes(2, "big")
        elif i % 3 == 1:  # short header to a random connection ID
            data[0] = 0x40 | (data[0] & 0x3F)
        await raw_socket.sendto(bytes(data), address)
    await echo_once(address, key)
    assert stats.half_open == 0
    assert stats.connections == 0 or stats.connections_accepted == 1
    assert stats.unroutable_dropped >= 200


async def test_pin_mismatch_leaves_no_connection(nursery: trio.Nursery, key: nacl.signing.SigningKey) -> None:
    address, stats = await start(nursery, key)
    other = nacl.signing.SigningKey.generate()
    with pytest.raises(PinMismatch):
        await echo_once(address, other)
    await wait_until(lambda: stats.connections == 0)
    assert stats.connections_accepted == 0


async def test_forged_client_certificate_is_rejected(
    nursery: trio.Nursery, key: nacl.signing.SigningKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[bytes | None] = []

    async def handler(conn: Any) -> None:
        seen.append(conn.peer_key)

    address, stats = await start(nursery, key, handler=handler)
    victim = nacl.signing.SigningKey.generate()
    victim_cert, _ = certificate_for(victim)
    attacker = ed25519.Ed25519PrivateKey.generate()
    real = certs.certificate_for

    def forged(signing_key: nacl.signing.SigningKey) -> Any:
        return (victim_cert, attacker) if signing_key is victim else real(signing_key)

    monkeypatch.setattr(quic_module, "certificate_for", forged)
    with pytest.raises(ConnectFailed):
        await echo_once(address, key, client_key=victim)
    assert seen == []
    assert stats.connections_accepted == 0


async def test_non_ed25519_client_certificate_is_refused(
    nursery: trio.Nursery, key: nacl.signing.SigningKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    address, stats = await start(nursery, key)
    client_key = nacl.signing.SigningKey.generate()
    ec_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "not a node")])
    ec_cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(ec_key.public_key())
        .serial_number(1)
        .not_valid_before(datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC))
        .not_valid_after(datetime.datetime(2100, 1, 1, tzinfo=datetime.UTC))
        .sign(ec_key, hashes.SHA256())
    )
    real = certs.certificate_for

    def ecdsa(signing_key: nacl.signing.SigningKey) -> Any:
        return (ec_cert, ec_key) if signing_key is client_key else real(signing_key)

    monkeypatch.setattr(quic_module, "certificate_for", ecdsa)
    with pytest.raises(BadCertificate):
        await echo_once(address, key, client_key=client_key)
    assert stats.connections_accepted == 0


def test_certificate_carries_the_node_key(key: nacl.signing.SigningKey) -> None:
    cert, private_key = certificate_for(key)
    assert raw_ed25519_key(cert) == bytes(key.verify_key)
    public_key = cert.public_key()
    assert isinstance(public_key, ed25519.Ed25519PublicKey)
    public_key.verify(cert.signature, cert.tbs_certificate_bytes)  # self-signed
    assert private_key.public_key().public_bytes_raw() == bytes(key.verify_key)


async def test_cancelled_connect_cleans_up(key: nacl.signing.SigningKey, raw_socket: Any) -> None:
    with trio.move_on_after(0.2) as scope:
        await echo_once(raw_socket.getsockname(), key)
    assert scope.cancelled_caught


async def test_body_exception_passes_through_unchanged(nursery: trio.Nursery, key: nacl.signing.SigningKey) -> None:
    address, _ = await start(nursery, key)
    with pytest.raises(KeyError):
        async with connect_quic(*address, expected_key=bytes(key.verify_key), alpn=ALPN):
            raise KeyError("not wrapped in an ExceptionGroup")
