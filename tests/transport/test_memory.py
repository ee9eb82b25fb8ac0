"""In-memory transport specifics: it runs under a virtual clock."""

from __future__ import annotations

from functools import partial
from typing import Any

import nacl.signing
import pytest
import trio
import trio.testing

from holdspace.node.transport import EndOfStream, IdleTimeout, MemoryNetwork, TransportLimits

from .conftest import ALPN, echo_handler, receive_all


async def test_under_mock_clock(autojump_clock: trio.testing.MockClock, nursery: trio.Nursery) -> None:
    network = MemoryNetwork()
    key = nacl.signing.SigningKey.generate()
    limits = TransportLimits(keepalive_interval=None)  # 60 s idle timeout, elapsed in virtual time
    serve = partial(network.serve, ("node", 1), key, [ALPN], echo_handler, limits=limits)  # no PINGs either side
    address = await nursery.start(serve)
    async with network.connect(address, bytes(key.verify_key), ALPN, limits=limits) as conn:
        stream = await conn.open_stream()
        await stream.send(b"hello")
        assert await stream.receive() == b"hello"
        start = trio.current_time()
        with pytest.raises(IdleTimeout):
            await stream.receive()
        assert trio.current_time() - start == pytest.approx(60.0)


async def test_echo_many_messages_virtual_time(autojump_clock: trio.testing.MockClock, nursery: trio.Nursery) -> None:
    network = MemoryNetwork()
    key = nacl.signing.SigningKey.generate()
    address = await nursery.start(network.serve, "anywhere", key, [ALPN], echo_handler)
    async with network.connect(address, bytes(key.verify_key), ALPN) as conn:
        assert conn.remote_address == ("anywhere", 0)
        stream: Any = await conn.open_stream()
        for i in range(200):
            await stream.send(i.to_bytes(4, "big") * 100)
        await stream.finish()
        got: list[bytes] = []
        with pytest.raises(EndOfStream):
            await receive_all(stream, got)
        assert got == [i.to_bytes(4, "big") * 100 for i in range(200)]
