"""The simulated network (simulations/network.py) under virtual time: what each knob does to the
in-memory transport's messages, and that the transport's guarantees hold through it."""

from __future__ import annotations

from collections.abc import Hashable
from functools import partial
from typing import Any

import nacl.signing
import pytest
import trio
import trio.testing

from holdspace.node.transport import HandshakeTimeout, IdleTimeout, MemoryNetwork, TransportLimits
from holdspace.simulations.network import PACKET_OVERHEAD, LinkSpec, SimWire
from tests.transport.conftest import echo_handler

ALPN = "test/1"
LIMITS = TransportLimits(idle_timeout=30.0, handshake_timeout=5.0)


async def sink(conn: Any, got: list[tuple[float, bytes]]) -> None:
    async def one(stream: Any) -> None:
        while True:
            message = await stream.receive()
            got.append((trio.current_time(), message))

    async with trio.open_nursery() as nursery:
        while True:
            nursery.start_soon(one, await conn.accept_stream())


async def setup(
    nursery: trio.Nursery, link: LinkSpec, handler: Any = echo_handler, seed: int = 1
) -> tuple[SimWire, MemoryNetwork, bytes]:
    wire = SimWire(seed, lambda src, dst: link)
    await nursery.start(wire.run)
    network = MemoryNetwork(wire)
    key = nacl.signing.SigningKey(bytes(32))
    await nursery.start(partial(network.serve, ("server", 1), key, [ALPN], handler, limits=LIMITS))
    return wire, network, bytes(key.verify_key)


def connect(network: MemoryNetwork, key: bytes, source: Hashable = "client") -> Any:
    return network.connect(("server", 1), key, ALPN, limits=LIMITS, source=source)


async def test_latency_is_one_way_per_message_and_a_round_trip_per_handshake(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery
) -> None:
    _, network, key = await setup(nursery, LinkSpec(latency_ms=50, distribution="constant", bandwidth_mbps=100_000))
    start = trio.current_time()
    async with connect(network, key) as conn:
        assert trio.current_time() - start == pytest.approx(0.100, abs=1e-6)  # the handshake: one round trip
        stream = await conn.open_stream()
        sent = trio.current_time()
        await stream.send(b"x" * 100)
        assert await stream.receive() == b"x" * 100
        assert trio.current_time() - sent == pytest.approx(0.100, abs=1e-4)  # there and back


async def test_bandwidth_serialises_messages_on_a_path(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery
) -> None:
    got: list[tuple[float, bytes]] = []
    link = LinkSpec(latency_ms=10, distribution="constant", bandwidth_mbps=1)
    _, network, key = await setup(nursery, link, lambda conn: sink(conn, got))
    async with connect(network, key) as conn:
        stream = await conn.open_stream()
        start = trio.current_time()
        for _ in range(2):
            await stream.send(bytes(60_000))
        await trio.sleep(5)
    wire_bytes = 60_000 + 50 * PACKET_OVERHEAD  # 50 packets of at most 1200 bytes
    one = wire_bytes * 8 / 1e6
    assert [t - start for t, _ in got] == pytest.approx([one + 0.010, 2 * one + 0.010], abs=1e-4)


async def test_streams_stay_in_order_while_jitter_and_reordering_mix_streams(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery
) -> None:
    got: list[tuple[float, bytes]] = []
    link = LinkSpec(latency_ms=40, jitter_ms=30, distribution="lognormal", reorder=0.3, reorder_ms=80)
    _, network, key = await setup(nursery, link, lambda conn: sink(conn, got))
    async with connect(network, key) as conn:
        a, b = await conn.open_stream(), await conn.open_stream()
        for i in range(100):
            await a.send(b"a%03d" % i)
            await b.send(b"b%03d" % i)
        await trio.sleep(10)
    order = [m for _, m in got]
    assert [m for m in order if m.startswith(b"a")] == [b"a%03d" % i for i in range(100)]
    assert [m for m in order if m.startswith(b"b")] == [b"b%03d" % i for i in range(100)]
    interleaving = [m[:1] for m in order]
    assert interleaving != [b"a", b"b"] * 100  # the streams overtook each other somewhere


async def test_a_partition_holds_messages_until_the_heal(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery
) -> None:
    got: list[tuple[float, bytes]] = []
    link = LinkSpec(latency_ms=20, distribution="constant")
    wire, network, key = await setup(nursery, link, lambda conn: sink(conn, got))
    async with connect(network, key, source="node-a") as conn:
        stream = await conn.open_stream()
        wire.partition([["node-a"], ["server"]])
        await stream.send(b"held")
        await trio.sleep(10)
        assert got == []
        healed = trio.current_time()
        wire.heal()
        await stream.send(b"after")
        await trio.sleep(1)
    assert [m for _, m in got] == [b"held", b"after"]
    assert got[0][0] == pytest.approx(healed)


async def test_a_partition_longer_than_the_idle_timeout_closes_both_ends(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery
) -> None:
    wire, network, key = await setup(nursery, LinkSpec(latency_ms=20, distribution="constant"))
    async with connect(network, key, source="node-a") as conn:
        stream = await conn.open_stream()
        wire.partition([["node-a"], ["server"]])
        start = trio.current_time()
        await stream.send(b"lost")
        with pytest.raises(IdleTimeout):
            await stream.receive()
        assert trio.current_time() - start == pytest.approx(LIMITS.idle_timeout, abs=0.1)


async def test_a_crashed_host_loses_what_is_in_flight_and_its_peer_times_out(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery
) -> None:
    wire, network, key = await setup(nursery, LinkSpec(latency_ms=20, distribution="constant"))
    async with connect(network, key) as conn:
        stream = await conn.open_stream()
        await stream.send(b"ping")
        assert await stream.receive() == b"ping"
        await stream.send(b"in flight")
        wire.crash("server")
        start = trio.current_time()
        with pytest.raises(IdleTimeout):  # no close ever arrives: only the idle timer notices
            await stream.receive()
        assert trio.current_time() - start == pytest.approx(LIMITS.idle_timeout, abs=0.1)
    assert wire.traffic["client"].messages_lost >= 1
    start = trio.current_time()
    with pytest.raises(HandshakeTimeout):
        async with connect(network, key):
            pass
    assert trio.current_time() - start == pytest.approx(LIMITS.handshake_timeout)


async def test_loss_costs_time_not_messages(autojump_clock: trio.testing.MockClock, nursery: trio.Nursery) -> None:
    async def mean_latency(loss: float) -> float:
        got: list[tuple[float, bytes]] = []
        link = LinkSpec(latency_ms=30, distribution="constant", loss=loss)
        async with trio.open_nursery() as inner:
            _, network, key = await setup(inner, link, lambda conn: sink(conn, got))
            async with connect(network, key) as conn:
                stream = await conn.open_stream()
                sent = []
                for i in range(200):
                    sent.append(trio.current_time())
                    await stream.send(b"%d" % i)
                    await trio.sleep(0.5)
                await trio.sleep(30)
            inner.cancel_scope.cancel()
        assert [m for _, m in got] == [b"%d" % i for i in range(200)]  # reliable, in order
        return sum(t - s for (t, _), s in zip(got, sent, strict=True)) / len(got)

    clean, lossy = await mean_latency(0.0), await mean_latency(0.2)
    assert clean == pytest.approx(0.030, abs=1e-4)
    assert lossy > clean + 0.02  # each loss costs a retransmission timeout (0.2 s here)


async def test_the_same_seed_draws_the_same_network(autojump_clock: trio.testing.MockClock) -> None:
    link = LinkSpec(latency_ms=40, jitter_ms=30, distribution="lognormal", loss=0.1, reorder=0.2, reorder_ms=50)

    async def arrivals(seed: int) -> list[float]:
        wire = SimWire(seed, lambda src, dst: link)
        base = trio.current_time()
        return [wire.carry("a", "b", 900, 0.0, lambda: None) - base for _ in range(50)]

    assert await arrivals(7) == await arrivals(7)
    assert await arrivals(7) != await arrivals(8)


@pytest.mark.parametrize(
    ("field", "value"),
    [("distribution", "pareto"), ("latency_ms", 0), ("loss", 0.6), ("reorder", 2), ("bandwidth_mbps", 0)],
)
def test_link_specs_outside_their_ranges_are_refused(field: str, value: object) -> None:
    spec = LinkSpec(**{field: value})  # type: ignore[arg-type]
    assert spec.validate() is not None
