"""Fixtures running the same conformance tests against the QUIC and the in-memory transports."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import nacl.signing
import pytest
import trio

from holdspace.node.transport import (
    EndOfStream,
    MemoryNetwork,
    ServerStats,
    TransportError,
    TransportLimits,
    connect_quic,
    serve_quic,
)
from holdspace.node.transport.base import HEADER_SIZE
from holdspace.simulations.clock import WireClock
from holdspace.simulations.network import LinkSpec, SimWire

ALPN = "holdspace/1"

# Small limits keep backpressure tests fast: 4 streams x 16 KiB baseline + a 32 KiB message pool.
SMALL = TransportLimits(
    max_message_size=32 * 1024,
    max_streams=4,
    stream_receive_window=16 * 1024,
    max_buffered_bytes=2 * 4 * 16 * 1024 + 64 * 1024,
    max_unacked_send_bytes=32 * 1024,
    handshake_timeout=3.0,
    idle_timeout=10.0,
)

_addresses = itertools.count(1)


class Harness:
    """Start a node and connect to it, with either implementation."""

    def __init__(self, kind: str, nursery: trio.Nursery) -> None:
        self.kind = kind
        self.nursery = nursery
        self.node_key = nacl.signing.SigningKey.generate()
        if kind == "memory-wire":  # the simulator's network model: latency, bandwidth, reordering
            link = LinkSpec(latency_ms=2.0, jitter_ms=1.0, distribution="uniform", reorder=0.2, reorder_ms=3.0)
            wire = SimWire(7, lambda src, dst: link)
            nursery.start_soon(wire.run)
            self.network = MemoryNetwork(wire)
        else:
            self.network = MemoryNetwork()

    @property
    def pinned(self) -> bytes:
        return bytes(self.node_key.verify_key)

    async def serve(
        self,
        handler: Callable[[Any], Awaitable[None]],
        *,
        limits: TransportLimits = SMALL,
        alpns: tuple[str, ...] = (ALPN,),
        stats: ServerStats | None = None,
        nursery: trio.Nursery | None = None,
    ) -> Any:
        nursery = nursery or self.nursery
        if self.kind == "quic":
            return await nursery.start(
                partial(
                    serve_quic,
                    "127.0.0.1",
                    0,
                    node_key=self.node_key,
                    alpns=list(alpns),
                    handler=handler,
                    limits=limits,
                    stats=stats,
                )
            )
        address = ("node.test", next(_addresses))
        serve = partial(self.network.serve, address, self.node_key, list(alpns), handler)
        return await nursery.start(partial(serve, limits=limits, stats=stats))

    def connect(
        self,
        address: Any,
        *,
        expected_key: bytes | None = None,
        alpn: str = ALPN,
        limits: TransportLimits = SMALL,
        client_key: nacl.signing.SigningKey | None = None,
    ) -> Any:
        key = self.pinned if expected_key is None else expected_key
        if self.kind == "quic":
            return connect_quic(
                address[0], address[1], expected_key=key, alpn=alpn, limits=limits, client_key=client_key
            )
        return self.network.connect(address, key, alpn, limits=limits, client_key=client_key)

    async def send_oversize(self, stream: Any, size: int) -> None:
        """Announce a message over the limit, as a misbehaving peer would."""
        if self.kind == "quic":
            stream._conn.quic.send_stream_data(stream.stream_id, size.to_bytes(HEADER_SIZE, "big"))
            stream._conn.wake()
            await trio.lowlevel.checkpoint()
        else:
            await stream._send_unchecked(bytes(size))


@pytest.fixture(params=["quic", "memory", "memory-wire"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def transport_clock(transport: str) -> WireClock | None:
    """The simulator's wire runs in the simulator's virtual time (a test taking this fixture runs under
    it for ``memory-wire``); QUIC and the plain in-memory transport run in real time."""
    return WireClock() if transport == "memory-wire" else None


@pytest.fixture
def harness(transport: str, nursery: trio.Nursery) -> Harness:
    return Harness(transport, nursery)


async def echo_handler(conn: Any) -> None:
    """Echo every message on every stream; finish when the peer finishes."""

    async def echo(stream: Any) -> None:
        try:
            while True:
                await stream.send(await stream.receive())
        except EndOfStream:
            await stream.finish()
        except TransportError:
            stream.reset()

    async with trio.open_nursery() as nursery:
        while True:
            try:
                stream = await conn.accept_stream()
            except TransportError:
                return
            nursery.start_soon(echo, stream)


async def send_until_error(stream: Any) -> None:
    """Keep sending small messages until the stream fails (the caller expects an exception)."""
    while True:
        await stream.send(b"x")
        await trio.sleep(0.01)


async def receive_all(stream: Any, into: list[bytes]) -> None:
    """Append every message to ``into`` until the stream ends (EndOfStream propagates)."""
    while True:
        into.append(await stream.receive())
