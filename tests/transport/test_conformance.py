"""Conformance suite: every test runs against the QUIC binding (real UDP on 127.0.0.1) and the
in-memory transport, through the same interface."""

from __future__ import annotations

import os
from typing import Any

import nacl.signing
import pytest
import trio

from holdspace.node.transport import (
    ConnectFailed,
    Connection,
    ConnectionRefused,
    EndOfStream,
    IdleTimeout,
    MessageStream,
    MessageTooLarge,
    NoApplicationProtocol,
    PinMismatch,
    ServerStats,
    StreamClosed,
    StreamReset,
    TransportClosed,
    TransportError,
    TransportLimits,
)
from holdspace.node.transport.base import CLOSE_SHUTTING_DOWN, STREAM_MESSAGE_TOO_LARGE
from holdspace.simulations.clock import WireClock

from .conftest import ALPN, SMALL, Harness, echo_handler, receive_all, send_until_error

DEFAULT = TransportLimits(handshake_timeout=3.0)


async def roundtrip(conn: Any, messages: list[bytes]) -> list[bytes]:
    stream = await conn.open_stream()
    got = []
    for message in messages:
        await stream.send(message)
        got.append(await stream.receive())
    await stream.finish()
    with pytest.raises(EndOfStream):
        await stream.receive()
    return got


async def test_interface_and_handshake(harness: Harness, transport_clock: WireClock | None) -> None:
    address = await harness.serve(echo_handler)
    async with harness.connect(address) as conn:
        assert isinstance(conn, Connection)
        assert conn.peer_key == harness.pinned
        assert conn.alpn == ALPN
        assert isinstance(conn.remote_address, tuple)
        stream = await conn.open_stream()
        assert isinstance(stream, MessageStream)
        assert await roundtrip(conn, [b"hello"]) == [b"hello"]


async def test_many_concurrent_streams(harness: Harness, transport_clock: WireClock | None) -> None:
    address = await harness.serve(echo_handler, limits=DEFAULT)
    results: dict[int, list[bytes]] = {}

    async def client(conn: Any, index: int) -> None:
        messages = [f"{index}:{i}:".encode() + os.urandom(index * 97 + i) for i in range(12)]
        results[index] = await roundtrip(conn, messages)
        assert results[index] == messages

    count = DEFAULT.max_streams + 16  # more than the stream cap: slots must come back
    async with harness.connect(address, limits=DEFAULT) as conn, trio.open_nursery() as nursery:
        for index in range(count):
            nursery.start_soon(client, conn, index)
    assert len(results) == count


@pytest.mark.parametrize("size", [0, 1, 64 * 1024, DEFAULT.max_message_size])
async def test_message_sizes(harness: Harness, transport_clock: WireClock | None, size: int) -> None:
    address = await harness.serve(echo_handler, limits=DEFAULT)
    message = os.urandom(size)
    async with harness.connect(address, limits=DEFAULT) as conn:
        assert await roundtrip(conn, [message, b"after"]) == [message, b"after"]


async def test_oversize_send_is_refused_and_stream_keeps_working(
    harness: Harness, transport_clock: WireClock | None
) -> None:
    address = await harness.serve(echo_handler)
    async with harness.connect(address) as conn:
        stream = await conn.open_stream()
        with pytest.raises(MessageTooLarge) as info:
            await stream.send(bytes(SMALL.max_message_size + 1))
        assert info.value.code == "transport.message_too_large"
        await stream.send(b"still fine")
        assert await stream.receive() == b"still fine"


async def test_oversize_prefix_resets_only_that_stream(harness: Harness, transport_clock: WireClock | None) -> None:
    server_conns: list[Any] = []
    outcome: list[BaseException] = []
    done = trio.Event()

    async def handler(conn: Any) -> None:
        server_conns.append(conn)
        bad = await conn.accept_stream()
        try:
            while True:
                await bad.receive()
        except TransportError as exc:
            outcome.append(exc)
        done.set()
        await echo_handler(conn)

    address = await harness.serve(handler)
    async with harness.connect(address) as conn:
        bad = await conn.open_stream()
        await bad.send(b"first")
        await harness.send_oversize(bad, SMALL.max_message_size + 1)
        with trio.fail_after(5):
            await done.wait()
        assert isinstance(outcome[0], MessageTooLarge)
        assert outcome[0].error_code == STREAM_MESSAGE_TOO_LARGE
        assert server_conns[0].stats.oversize_resets == 1
        # The sender learns it too (STOP_SENDING / RESET_STREAM carry the code) ...
        with trio.fail_after(5), pytest.raises(MessageTooLarge):
            await send_until_error(bad)
        # ... and the connection keeps working.
        assert await roundtrip(conn, [b"next stream"]) == [b"next stream"]


async def test_pin_mismatch_exchanges_no_application_data(harness: Harness, transport_clock: WireClock | None) -> None:
    calls: list[Any] = []

    async def handler(conn: Any) -> None:
        calls.append(conn)
        await echo_handler(conn)

    address = await harness.serve(handler)
    wrong = bytes(nacl.signing.SigningKey.generate().verify_key)
    with pytest.raises(PinMismatch) as info:
        async with harness.connect(address, expected_key=wrong):
            pytest.fail("connected despite the wrong pin")
    assert info.value.code == "transport.pin_mismatch"
    assert isinstance(info.value, ConnectFailed)
    await trio.sleep(0.2)
    assert calls == []  # the node never saw an established connection


async def test_wrong_alpn_fails(harness: Harness, transport_clock: WireClock | None) -> None:
    address = await harness.serve(echo_handler, alpns=("holdspace-fed/1",))
    with pytest.raises(NoApplicationProtocol) as info:
        async with harness.connect(address, alpn="holdspace/1"):
            pytest.fail("connected without a common ALPN")
    assert info.value.code == "transport.alpn_mismatch"
    async with harness.connect(address, alpn="holdspace-fed/1") as conn:
        assert conn.alpn == "holdspace-fed/1"


async def test_client_certificate_gives_peer_key(harness: Harness, transport_clock: WireClock | None) -> None:
    seen: list[bytes | None] = []
    both = trio.Event()

    async def handler(conn: Any) -> None:
        seen.append(conn.peer_key)
        if len(seen) == 2:
            both.set()

    address = await harness.serve(handler)
    client_key = nacl.signing.SigningKey.generate()
    async with harness.connect(address, client_key=client_key) as conn:
        assert conn.peer_key == harness.pinned
    async with harness.connect(address):
        pass
    with trio.fail_after(5):
        await both.wait()
    assert seen == [bytes(client_key.verify_key), None]


async def test_stalled_reader_blocks_sender_and_bounds_memory(
    harness: Harness, transport_clock: WireClock | None
) -> None:
    server_conns: list[Any] = []
    release = trio.Event()
    received: dict[int, int] = {}
    all_received = trio.Event()

    async def handler(conn: Any) -> None:
        server_conns.append(conn)
        streams = [await conn.accept_stream() for _ in range(SMALL.max_streams)]
        await release.wait()  # never reads until told to

        async def drain(index: int, stream: Any) -> None:
            count = 0
            try:
                while True:
                    await stream.receive()
                    count += 1
            except EndOfStream:
                received[index] = count
                if len(received) == SMALL.max_streams:
                    all_received.set()

        async with trio.open_nursery() as nursery:
            for index, stream in enumerate(streams):
                nursery.start_soon(drain, index, stream)

    address = await harness.serve(handler)
    message = bytes(8 * 1024)
    sent: dict[int, int] = {}
    async with harness.connect(address) as conn:
        streams = [await conn.open_stream() for _ in range(SMALL.max_streams)]

        async def fill(index: int, stream: Any) -> None:
            sent[index] = 0
            while True:
                await stream.send(message)
                sent[index] += 1

        with trio.move_on_after(1.0) as scope:
            async with trio.open_nursery() as nursery:
                for index, stream in enumerate(streams):
                    nursery.start_soon(fill, index, stream)
        assert scope.cancelled_caught, "send never blocked"
        total = sum(sent.values()) * len(message)
        per_stream_bound = SMALL.stream_receive_window + SMALL.max_unacked_send_bytes + 2 * len(message)
        assert total <= SMALL.max_streams * per_stream_bound
        stats = server_conns[0].stats
        assert 0 < stats.buffered_bytes <= SMALL.max_buffered_bytes
        assert stats.peak_buffered_bytes <= SMALL.max_buffered_bytes
        # One more send on a stalled stream blocks.
        with trio.move_on_after(0.2) as scope:
            await streams[0].send(message)
            sent[0] += 1
        assert scope.cancelled_caught
        # The reader resumes: everything arrives, in full.
        release.set()
        for stream in streams:
            await stream.finish()
        with trio.fail_after(10):
            await all_received.wait()
    assert received == sent
    assert server_conns[0].stats.peak_buffered_bytes <= SMALL.max_buffered_bytes


async def test_idle_timeout_closes(harness: Harness, transport_clock: WireClock | None) -> None:
    limits = TransportLimits(idle_timeout=0.4, handshake_timeout=3.0, keepalive_interval=None)
    server_side: list[BaseException] = []
    server_done = trio.Event()

    async def handler(conn: Any) -> None:
        try:
            await conn.accept_stream()
        except TransportError as exc:
            server_side.append(exc)
        server_done.set()

    address = await harness.serve(handler, limits=limits)
    async with harness.connect(address, limits=limits) as conn:
        with trio.fail_after(5), pytest.raises(IdleTimeout) as info:
            await conn.accept_stream()
        assert info.value.code == "transport.idle_timeout"
    with trio.fail_after(5):
        await server_done.wait()
    assert isinstance(server_side[0], IdleTimeout)


async def test_graceful_close_delivers_everything(harness: Harness, transport_clock: WireClock | None) -> None:
    got: list[bytes] = []
    ended = trio.Event()

    async def handler(conn: Any) -> None:
        stream = await conn.accept_stream()
        try:
            while True:
                got.append(await stream.receive())
        except EndOfStream:
            pass
        ended.set()

    address = await harness.serve(handler, limits=DEFAULT)
    messages = [os.urandom(20_000) + bytes([i]) for i in range(60)]
    async with harness.connect(address, limits=DEFAULT) as conn:
        stream = await conn.open_stream()
        for message in messages:
            await stream.send(message)
        await stream.finish()
        await conn.aclose()  # right away: data in flight must still arrive
    with trio.fail_after(10):
        await ended.wait()
    assert got == messages


async def test_handler_return_closes_gracefully_after_sending(
    harness: Harness, transport_clock: WireClock | None
) -> None:
    messages = [os.urandom(30_000) for _ in range(40)]

    async def handler(conn: Any) -> None:
        stream = await conn.open_stream()
        for message in messages:
            await stream.send(message)
        await stream.finish()
        # returning closes the connection gracefully

    address = await harness.serve(handler, limits=DEFAULT)
    async with harness.connect(address, limits=DEFAULT) as conn:
        stream = await conn.accept_stream()
        got: list[bytes] = []
        with pytest.raises(EndOfStream):
            await receive_all(stream, got)
        assert got == messages
        with trio.fail_after(5), pytest.raises(TransportClosed) as info:
            await conn.accept_stream()
        assert info.value.by_peer
        assert info.value.error_code == 0


async def test_reset_propagates_with_code(harness: Harness, transport_clock: WireClock | None) -> None:
    outcome: list[BaseException] = []
    done = trio.Event()

    async def handler(conn: Any) -> None:
        stream = await conn.accept_stream()
        try:
            while True:
                await stream.receive()
        except TransportError as exc:
            outcome.append(exc)
        done.set()

    address = await harness.serve(handler)
    async with harness.connect(address) as conn:
        stream = await conn.open_stream()
        await stream.send(b"x")
        stream.reset(7)
        with pytest.raises(StreamClosed):
            await stream.send(b"y")
        with trio.fail_after(5):
            await done.wait()
    assert isinstance(outcome[0], StreamReset)
    assert outcome[0].error_code == 7
    with pytest.raises(ValueError, match="application error codes"):
        stream.reset(0x10000)


async def test_peer_stop_reading_surfaces_on_send(harness: Harness, transport_clock: WireClock | None) -> None:
    async def handler(conn: Any) -> None:
        stream = await conn.accept_stream()
        await stream.receive()
        stream.reset(3)
        await trio.sleep(5)

    address = await harness.serve(handler)
    async with harness.connect(address) as conn:
        stream = await conn.open_stream()
        await stream.send(b"x")
        with trio.fail_after(5), pytest.raises(StreamReset) as info:
            await send_until_error(stream)
        assert info.value.error_code == 3
        with trio.fail_after(5), pytest.raises(StreamReset):
            await stream.receive()


async def test_open_stream_waits_for_a_free_slot(harness: Harness, transport_clock: WireClock | None) -> None:
    address = await harness.serve(echo_handler)
    async with harness.connect(address) as conn:
        streams = [await conn.open_stream() for _ in range(SMALL.max_streams)]
        with trio.move_on_after(0.2) as scope:
            await conn.open_stream()
        assert scope.cancelled_caught
        streams[0].reset()
        with trio.fail_after(2):
            extra = await conn.open_stream()
        await extra.send(b"ok")
        assert await extra.receive() == b"ok"


async def test_peer_close_ends_accept(harness: Harness, transport_clock: WireClock | None) -> None:
    outcome: list[BaseException] = []
    done = trio.Event()

    async def handler(conn: Any) -> None:
        try:
            await conn.accept_stream()
        except TransportError as exc:
            outcome.append(exc)
        done.set()

    address = await harness.serve(handler)
    async with harness.connect(address) as conn:
        await conn.aclose(5, "bye")
        with pytest.raises(TransportClosed):
            await conn.open_stream()
    with trio.fail_after(5):
        await done.wait()
    assert isinstance(outcome[0], TransportClosed)
    assert outcome[0].error_code == 5
    assert outcome[0].by_peer


async def test_connection_cap_refuses_the_next(harness: Harness, transport_clock: WireClock | None) -> None:
    limits = TransportLimits(max_connections=2, handshake_timeout=3.0)
    stats = ServerStats()

    async def handler(conn: Any) -> None:
        await trio.sleep_forever()

    address = await harness.serve(handler, limits=limits, stats=stats)
    async with harness.connect(address) as one, harness.connect(address) as two:
        assert one.peer_key == two.peer_key == harness.pinned
        with pytest.raises(ConnectionRefused) as info:
            async with harness.connect(address):
                pytest.fail("a third connection was accepted")
        assert info.value.code == "transport.refused"
    assert stats.connections_refused == 1


async def test_node_shutdown_closes_connections(harness: Harness, transport_clock: WireClock | None) -> None:
    async with trio.open_nursery() as server_nursery:
        address = await harness.serve(echo_handler, nursery=server_nursery)
        async with harness.connect(address) as conn:
            assert await roundtrip(conn, [b"up"]) == [b"up"]
            server_nursery.cancel_scope.cancel()
            with trio.fail_after(5), pytest.raises(TransportClosed) as info:
                await conn.accept_stream()
            assert info.value.error_code == CLOSE_SHUTTING_DOWN


async def test_no_listener_or_bad_key_length(harness: Harness, transport_clock: WireClock | None) -> None:
    if harness.kind == "memory":
        with pytest.raises(ConnectionRefused):
            async with harness.connect(("nobody", 1)):
                pass
    with pytest.raises(ValueError, match="32-byte"):
        async with harness.connect(("127.0.0.1", 9), expected_key=b"short"):
            pass


async def test_large_messages_on_every_stream_share_a_small_pool(
    harness: Harness, transport_clock: WireClock | None
) -> None:
    # The reservation pool holds exactly one maximal message: large messages on all streams must
    # take turns, complete, and never push the receiver over its budget.
    limits = TransportLimits(
        max_message_size=32 * 1024,
        max_streams=4,
        stream_receive_window=16 * 1024,
        max_buffered_bytes=2 * 4 * 16 * 1024 + 32 * 1024 + 4,
        max_unacked_send_bytes=32 * 1024,
        handshake_timeout=3.0,
    )
    assert limits.reservation_pool == limits.max_message_size + 4
    server_conns: list[Any] = []
    received: dict[int, list[bytes]] = {}
    all_done = trio.Event()

    async def handler(conn: Any) -> None:
        server_conns.append(conn)

        async def read(stream: Any) -> None:
            got: list[bytes] = []
            with pytest.raises(EndOfStream):
                await receive_all(stream, got)
            received[got[0][0]] = got
            if len(received) == limits.max_streams:
                all_done.set()

        async with trio.open_nursery() as nursery:
            for _ in range(limits.max_streams):
                nursery.start_soon(read, await conn.accept_stream())

    address = await harness.serve(handler, limits=limits)
    expected = {
        index: [bytes([index]) + os.urandom(limits.max_message_size - 1 - (i % 3) * 5000) for i in range(8)]
        for index in range(limits.max_streams)
    }
    async with harness.connect(address, limits=limits) as conn:

        async def write(index: int) -> None:
            stream = await conn.open_stream()
            for message in expected[index]:
                await stream.send(message)
            await stream.finish()

        async with trio.open_nursery() as nursery:
            for index in expected:
                nursery.start_soon(write, index)
        with trio.fail_after(20):
            await all_done.wait()
    assert received == expected
    stats = server_conns[0].stats
    assert stats.peak_buffered_bytes <= limits.max_buffered_bytes
    assert stats.buffered_bytes == 0


async def test_byte_counters_per_connection_and_endpoint(harness: Harness, transport_clock: WireClock | None) -> None:
    """Every connection counts the bytes it sent and received, handshake included, and the
    listener's stats count those of all its connections; in memory they are exactly the framed
    messages, over QUIC the packets carrying them (more, never less)."""
    stats = ServerStats()
    server_conns: list[Any] = []

    async def handler(conn: Any) -> None:
        server_conns.append(conn)
        await echo_handler(conn)

    address = await harness.serve(handler, stats=stats)
    messages = [b"", b"x", os.urandom(5000), os.urandom(SMALL.max_message_size)]
    framed = sum(4 + len(m) for m in messages)
    async with harness.connect(address) as conn:
        assert await roundtrip(conn, messages) == messages
        (server,) = server_conns
        ours, theirs = conn.stats, server.stats
        if harness.kind == "quic":
            assert ours.bytes_sent > framed and ours.bytes_received > framed
            assert theirs.bytes_sent > framed and theirs.bytes_received > framed
            assert ours.datagrams_sent > 0 and theirs.datagrams_received > 0
            for side in (ours, theirs):  # the handshake is part of the count, and happened first
                assert 0 < side.handshake_bytes_sent < side.bytes_sent
                assert 0 < side.handshake_bytes_received < side.bytes_received
        else:
            assert ours.bytes_sent == ours.bytes_received == framed
            assert theirs.bytes_sent == theirs.bytes_received == framed
            assert ours.handshake_bytes_sent == ours.datagrams_sent == 0
        assert stats.bytes_received >= theirs.bytes_received
        assert stats.bytes_sent >= theirs.bytes_sent
