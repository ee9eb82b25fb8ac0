"""What a request costs on the wire over QUIC: datagrams per request and answer on one long-lived
stream (the client session's shape). Real UDP on 127.0.0.1.

Before the credit and acknowledgement policy of ``HoldspaceQuic`` and the driver, each round trip
cost about three datagrams each way: every read raised MAX_DATA by a few bytes (an ack-eliciting
frame, so its own packet and the peer's ACK), and an ACK never left with data sent before its 1 ms
timer. Now an answer or the next request carries the pending ACK, and MAX_DATA moves by quarters of
the budget.
"""

from __future__ import annotations

from functools import partial

import nacl.signing
import trio

from holdspace.node.transport import ServerStats, TransportLimits, connect_quic, serve_quic
from holdspace.node.transport._aioquic import ACK_DELAY
from holdspace.node.transport.base import Connection, EndOfStream

from .conftest import ALPN

ROUNDS = 40
LIMITS = TransportLimits(handshake_timeout=5.0)


async def answer_each(conn: Connection) -> None:
    """Answer every message on the first stream with a short reply, at once."""
    stream = await conn.accept_stream()
    try:
        while True:
            request = await stream.receive()
            await stream.send(b"ok:" + request[:8])
    except EndOfStream:
        await stream.finish()


async def test_a_round_trip_costs_about_one_datagram_each_way(nursery: trio.Nursery) -> None:
    key = nacl.signing.SigningKey.generate()
    stats = ServerStats()
    address = await nursery.start(
        partial(serve_quic, "127.0.0.1", 0, node_key=key, alpns=[ALPN], handler=answer_each, limits=LIMITS, stats=stats)
    )
    async with connect_quic(*address, expected_key=bytes(key.verify_key), alpn=ALPN, limits=LIMITS) as conn:
        stream = await conn.open_stream()
        await stream.send(b"warm-up")  # the handshake's last packets are not counted
        await stream.receive()
        await trio.sleep(3 * ACK_DELAY)
        sent, received = conn.stats.datagrams_sent, conn.stats.datagrams_received
        for i in range(ROUNDS):
            await stream.send(i.to_bytes(4, "big") * 50)  # 200 bytes: one datagram
            assert await stream.receive() == b"ok:" + i.to_bytes(4, "big") * 2
        await trio.sleep(3 * ACK_DELAY)  # the last answer's ACK
        up = (conn.stats.datagrams_sent - sent) / ROUNDS
        down = (conn.stats.datagrams_received - received) / ROUNDS
        await stream.finish()
    # One datagram each way when the answer comes within ACK_DELAY (it carries the ACK, and the
    # next request carries the ACK of the answer); a slow answer adds an ACK of its own (2 at most).
    # Before: about 2.7 up and 2.2 down (MAX_DATA updates and their ACKs).
    assert up <= 1.5, f"{up:.2f} datagrams per request"
    assert down <= 1.5, f"{down:.2f} datagrams per answer"


async def answer_together(conn: Connection) -> None:
    """Read ``BURST`` requests, then answer them from as many tasks at once, each taking the stream
    in turn (as the node's requests do when one commit acknowledges them all)."""
    stream = await conn.accept_stream()
    requests = [await stream.receive() for _ in range(BURST)]
    lock = trio.Lock()
    go = trio.Event()

    async def answer(request: bytes) -> None:
        await go.wait()
        async with lock:
            await stream.send(b"ok:" + request)

    async with trio.open_nursery() as nursery:
        for request in requests:
            nursery.start_soon(answer, request)
        await trio.sleep(0.05)  # every request acknowledged, every answering task waiting
        go.set()
    await stream.finish()


BURST = 16


async def test_answers_written_together_leave_together(nursery: trio.Nursery) -> None:
    key = nacl.signing.SigningKey.generate()
    address = await nursery.start(
        partial(serve_quic, "127.0.0.1", 0, node_key=key, alpns=[ALPN], handler=answer_together, limits=LIMITS)
    )
    async with connect_quic(*address, expected_key=bytes(key.verify_key), alpn=ALPN, limits=LIMITS) as conn:
        stream = await conn.open_stream()
        for i in range(BURST):
            await stream.send(b"%02d" % i)
        await trio.sleep(0.03)  # past the server's ACK delay: its ACK leaves on its own
        received = conn.stats.datagrams_received
        answers = {await stream.receive() for _ in range(BURST)}
        assert answers == {b"ok:%02d" % i for i in range(BURST)}
        # 16 answers of 9 bytes fit one packet (before: one datagram per answer)
        assert conn.stats.datagrams_received - received <= 2
