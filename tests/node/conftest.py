"""A real node on 127.0.0.1 over QUIC, with its LMDB store in a temporary directory."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import nacl.signing
import pytest
import trio

from holdspace.clients.client import NodeSession, connect
from holdspace.node.limits import NodeLimits
from holdspace.node.server import Node, open_node
from holdspace.protocol.address import NodeAddress


@asynccontextmanager
async def running_node(
    data_dir: Path, limits: NodeLimits | None = None, seed: bytes = b"\x07" * 32
) -> AsyncIterator[tuple[Node, NodeAddress]]:
    key = nacl.signing.SigningKey(seed)
    async with open_node(data_dir, key, limits) as node, trio.open_nursery() as nursery:
        host, port = await nursery.start(node.serve_quic, "127.0.0.1", 0)
        yield node, NodeAddress(node.public_key, host, port)
        nursery.cancel_scope.cancel()


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[tuple[Node, NodeAddress]]:
    async with running_node(tmp_path / "node") as pair:
        yield pair


@asynccontextmanager
async def session(address: NodeAddress) -> AsyncIterator[NodeSession]:
    async with connect(address) as s:
        yield s
