"""The same node and federation code over the in-memory transport (what the simulator drives):
three nodes, members on each, one group; every node ends with the same entries."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import nacl.signing
import trio

from holdspace.clients.client import NodeSession, open_session
from holdspace.clients.participant import Participant
from holdspace.node.federation import Federation, memory_connector
from holdspace.node.peering import PeerBook
from holdspace.node.server import Node, open_node
from holdspace.node.transport.memory import MemoryNetwork
from holdspace.protocol.address import InviteToken, NodeAddress
from holdspace.protocol.federation import ALPN_FEDERATION
from holdspace.protocol.frames import ALPN_CLIENT
from tests.federation.conftest import stores_converged


@asynccontextmanager
async def memory_node(network: MemoryNetwork, directory: Path, name: str) -> AsyncIterator[tuple[Node, NodeAddress]]:
    key = nacl.signing.SigningKey(bytes([len(name)]) * 31 + name[0].encode())
    async with open_node(directory / name, key) as node, trio.open_nursery() as nursery:
        federation = Federation(node, PeerBook(node.public_key), memory_connector(network, key))
        await nursery.start(network.serve, (name, 1), key, [ALPN_CLIENT, ALPN_FEDERATION], node.handle_connection)
        nursery.start_soon(federation.run)
        yield node, NodeAddress(node.public_key, name, 1)
        nursery.cancel_scope.cancel()


@asynccontextmanager
async def session(network: MemoryNetwork, address: NodeAddress) -> AsyncIterator[NodeSession]:
    async with (
        network.connect((address.host, address.port), address.node_key, ALPN_CLIENT) as conn,
        open_session(conn, address.node_key) as s,
    ):
        yield s


async def test_three_nodes_over_the_memory_transport(tmp_path: Path) -> None:
    network = MemoryNetwork()
    async with (
        memory_node(network, tmp_path, "a") as (a, addr_a),
        memory_node(network, tmp_path, "bb") as (b, addr_b),
        memory_node(network, tmp_path, "ccc") as (c, addr_c),
    ):
        fay = Participant.create(tmp_path / "fay", "p", addr_a)
        ana = Participant.create(tmp_path / "ana", "p", addr_b)
        bo = Participant.create(tmp_path / "bo", "p", addr_c)
        async with (
            session(network, addr_a) as s_fay,
            session(network, addr_b) as s_ana,
            session(network, addr_c) as s_bo,
        ):
            group = await fay.create_group(s_fay, "circle")
            g_ana = await ana.join(s_ana, InviteToken.parse(await fay.invite(s_fay, group)))
            g_bo = await bo.join(s_bo, InviteToken.parse(await fay.invite(s_fay, group)))
            await stores_converged([a, b, c], group.group_id)
            await fay.send(s_fay, group, "hello from a")
            await stores_converged([a, b, c], group.group_id)
            await ana.send(s_ana, g_ana, "hello from b")
            await bo.send(s_bo, g_bo, "hello from c")
            await stores_converged([a, b, c], group.group_id)
            await fay.sync(s_fay, group)
        assert {m.text for m in fay.record(group.group_id).messages} == {"hello from a", "hello from b", "hello from c"}
        ids = [{r.entry_id for _c, r in n.store.iter_group(group.group_id, 0, 10_000)} for n in (a, b, c)]
        assert ids[0] == ids[1] == ids[2]
