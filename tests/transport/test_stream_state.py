"""The stream state both bindings share (``node/transport/streams.py``), driven through the
in-memory transport by random sequences of send, receive, finish and reset on both ends of a
stream.

Properties: each end receives an in-order prefix of what the other end sent; every failure is a
typed transport error; once both ends are finished or reset and drained, the stream is released
on both ends (no slot, no buffered byte left) and the connection opens new streams.
"""

from __future__ import annotations

import contextlib
from functools import partial
from typing import Any

import hypothesis.strategies as st
import nacl.signing
import trio
import trio.testing
from hypothesis import given, settings

from holdspace.node.transport import EndOfStream, MemoryNetwork, TransportError, TransportLimits

ALPN = "holdspace/1"
LIMITS = TransportLimits(max_message_size=2048, max_streams=2, handshake_timeout=3.0)

Op = tuple[str, int, int]  # (what, end: 0 client / 1 node, size or code)
ops = st.lists(
    st.one_of(
        st.tuples(st.just("send"), st.integers(0, 1), st.integers(0, 1500)),
        st.tuples(st.just("receive"), st.integers(0, 1), st.just(0)),
        st.tuples(st.just("finish"), st.integers(0, 1), st.just(0)),
        st.tuples(st.just("reset"), st.integers(0, 1), st.integers(0, 3)),
    ),
    max_size=30,
)


def ready(stream: Any) -> bool:
    """``receive`` would return at once (a message is queued, or the receive side ended)."""
    return bool(stream._queue) or stream._recv_done or stream._conn.closed_exc is not None


async def drain(stream: Any, into: list[bytes]) -> None:
    while ready(stream):
        try:
            into.append(await stream.receive())
        except (EndOfStream, TransportError):
            return


@settings(max_examples=150, deadline=None)
@given(program=ops)
async def test_random_stream_programs_keep_the_shared_state_consistent(program: list[Op]) -> None:
    network = MemoryNetwork()
    key = nacl.signing.SigningKey.generate()
    accepted: list[Any] = []
    node_conns: list[Any] = []

    async def handler(conn: Any) -> None:
        node_conns.append(conn)
        while True:
            accepted.append(await conn.accept_stream())

    async with trio.open_nursery() as nursery:
        await nursery.start(partial(network.serve, "node", key, [ALPN], handler, limits=LIMITS))
        async with network.connect("node", bytes(key.verify_key), ALPN, limits=LIMITS) as conn:
            ends: list[Any] = [await conn.open_stream(), None]
            sent: list[list[bytes]] = [[], []]
            got: list[list[bytes]] = [[], []]
            for what, end, arg in program:
                await trio.testing.wait_all_tasks_blocked()
                if ends[1] is None and accepted:
                    ends[1] = accepted[0]
                stream = ends[end]
                if stream is None:
                    continue  # the node's end exists once the client's first frame named it
                try:
                    if what == "send":
                        message = bytes([len(sent[end]) % 256]) * arg
                        await stream.send(message)
                        sent[end].append(message)
                    elif what == "receive" and ready(stream):
                        got[end].append(await stream.receive())
                    elif what == "finish":
                        await stream.finish()
                    elif what == "reset":
                        stream.reset(arg)
                except EndOfStream:
                    pass
                except TransportError as exc:
                    assert exc.code.startswith("transport.")
            # Both ends finish (a no-op after a reset or a finish) and read what is left.
            for end in (0, 1):
                await trio.testing.wait_all_tasks_blocked()
                if ends[1] is None and accepted:
                    ends[1] = accepted[0]
                if ends[end] is not None:
                    with contextlib.suppress(TransportError):
                        await ends[end].finish()
            await trio.testing.wait_all_tasks_blocked()
            ends[1] = ends[1] or accepted[0]
            for end in (0, 1):
                await drain(ends[end], got[end])
            (node_conn,) = node_conns
            for end, other in ((0, 1), (1, 0)):
                assert got[end] == sent[other][: len(got[end])]  # an in-order prefix
            for c in (conn, node_conn):
                assert c.streams == {}
                assert c.table.alive_in == c.table.alive_out == 0
                assert c.stats.buffered_bytes == 0
            fresh = await conn.open_stream()  # the slot came back
            await fresh.send(b"again")
            await trio.testing.wait_all_tasks_blocked()
            assert accepted[-1] is not ends[1]
            assert await accepted[-1].receive() == b"again"
        nursery.cancel_scope.cancel()
