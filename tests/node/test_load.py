"""400 concurrent client connections on one node (1,000 with ``--runslow``; own process, real QUIC): all held open at
once, every request answered, none failed.

Each connection authenticates its own pseudonym, creates a group, publishes messages and reads them
back while all the others are open. Handshakes are started 32 at a time, as a real population of
clients arrives over time (a node refuses more than 64 half-open connections at once: spec 15.5.4;
the flood case is in tests/attacks). ``HOLDSPACE_LOAD_CONNECTIONS`` changes the count.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import nacl.signing
import pytest
import trio

from holdspace.clients.client import connect
from holdspace.protocol import kinds
from holdspace.protocol.address import NodeAddress
from holdspace.protocol.author import create_group
from holdspace.protocol.payloads import MessageEnvelope
from tests.node.node_process import SEED
from tests.node.test_crash import start_node

CI_CONNECTIONS, LONG_CONNECTIONS = 400, 1000  # in every test run, and with --runslow
MESSAGES = 3
HANDSHAKES_AT_ONCE = 32


async def test_hundreds_of_concurrent_client_connections_with_zero_failed_requests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    default = LONG_CONNECTIONS if request.config.getoption("--runslow") else CI_CONNECTIONS
    connections = int(os.environ.get("HOLDSPACE_LOAD_CONNECTIONS", default))
    monkeypatch.setenv("HOLDSPACE_TEST_PER_ADDRESS", str(connections + 10))  # every client is on 127.0.0.1
    proc, port = await start_node(tmp_path / "node")
    address = NodeAddress(bytes(nacl.signing.SigningKey(SEED).verify_key), "127.0.0.1", port)
    arriving = trio.CapacityLimiter(HANDSHAKES_AT_ONCE)
    opened = 0
    everyone_open = trio.Event()
    done = 0
    requests = 0
    failures: list[str] = []

    async def client(index: int) -> None:
        nonlocal opened, done, requests
        try:
            async with arriving:
                conn = connect(address)
                session = await conn.__aenter__()
            try:
                opened += 1
                if opened == connections:
                    everyone_open.set()
                await everyone_open.wait()  # every connection is open from here on: the load is concurrent
                now = int(time.time() * 1000)
                genesis, writer = create_group(index.to_bytes(32, "big"), now)
                await session.authenticate(writer.me)
                await session.publish(genesis)
                envelope = MessageEnvelope(b"\x01" * 32, 0, b"\x02" * 24, b"\x03" * 200, commitment=bytes(32)).encode()
                for _ in range(MESSAGES):
                    await session.publish(writer.append(kinds.MESSAGE, envelope, now))
                got = await session.fetch_all(genesis.entry_id)
                requests += 4 + MESSAGES  # hello, auth, genesis, messages, one fetch page
                if len(got) != 1 + MESSAGES:
                    failures.append(f"client {index}: read {len(got)} entries back")
                done += 1
            finally:
                await conn.__aexit__(None, None, None)
        except Exception as exc:
            failures.append(f"client {index}: {type(exc).__name__}: {exc}")
            everyone_open.set()  # one failed: do not leave the others waiting

    try:
        with trio.fail_after(600):
            async with trio.open_nursery() as nursery:
                for i in range(connections):
                    nursery.start_soon(client, i)
    finally:
        proc.kill()
        await proc.wait()
    assert failures == [], f"{len(failures)} failed, e.g. {failures[:3]}"
    assert opened == done == connections
    print(f"{connections} connections open at once; {requests} requests, none failed")
