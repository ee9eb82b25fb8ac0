"""A real node on 127.0.0.1 over QUIC, with its LMDB store in a temporary directory."""

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import nacl.signing
import pytest
import trio

from holdspace.clients.client import NodeSession, connect
from holdspace.clients.participant import GroupRecord, Participant
from holdspace.node.limits import NodeLimits
from holdspace.node.server import Node, open_node
from holdspace.protocol.address import InviteToken, NodeAddress


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


def people(tmp_path: Path, address: NodeAddress, *names: str) -> list[Participant]:
    """A participant per name, homed at ``address``, kept in ``tmp_path / name`` under "pass <name>"."""
    return [Participant.create(tmp_path / n, "pass " + n, address) for n in names]


async def fay_and_ana(
    tmp_path: Path, address: NodeAddress, s_fay: NodeSession, s_ana: NodeSession
) -> tuple[tuple[Participant, GroupRecord], tuple[Participant, GroupRecord]]:
    """Fay's group with Ana in it, and Ana holding the group's keys (Fay's first message, "welcome",
    shared them)."""
    fay, ana = people(tmp_path, address, "fay", "ana")
    group = await fay.create_group(s_fay, "circle")
    g_ana = await ana.join(s_ana, InviteToken.parse(await fay.invite(s_fay, group)))
    await fay.send(s_fay, group, "welcome")
    await ana.sync(s_ana, g_ana)
    return (fay, group), (ana, g_ana)


@dataclass
class Circle:
    """A running node, and on it fay's group with ana holding its keys (``fay_and_ana``), each on a
    session of their own, and ``spare`` more sessions to the node."""

    node: Node
    address: NodeAddress
    fay: Participant
    group: GroupRecord
    ana: Participant
    g_ana: GroupRecord
    s_fay: NodeSession
    s_ana: NodeSession
    spare: list[NodeSession]


@asynccontextmanager
async def circle(tmp_path: Path, spare: int = 0) -> AsyncIterator[Circle]:
    async with running_node(tmp_path / "n") as (node, address), AsyncExitStack() as stack:
        s_fay, s_ana, *more = [await stack.enter_async_context(session(address)) for _ in range(2 + spare)]
        (fay, group), (ana, g_ana) = await fay_and_ana(tmp_path, address, s_fay, s_ana)
        yield Circle(node, address, fay, group, ana, g_ana, s_fay, s_ana, more)
