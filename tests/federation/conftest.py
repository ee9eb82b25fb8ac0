"""Federated nodes on 127.0.0.1 over real QUIC, each with its LMDB store in a temporary directory."""

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import nacl.signing
import trio

from holdspace.node.admission import Policy
from holdspace.node.federation import Federation, quic_connector
from holdspace.node.limits import NodeLimits
from holdspace.node.peering import PeerBook
from holdspace.node.server import Node, open_node
from holdspace.protocol.address import NodeAddress
from holdspace.protocol.federation import heads_digest


@dataclass
class Running:
    node: Node
    address: NodeAddress
    federation: Federation


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@asynccontextmanager
async def federated_node(
    data_dir: Path,
    seed: bytes,
    port: int = 0,
    *,
    limits: NodeLimits | None = None,
    blocked: frozenset[bytes] = frozenset(),
    peers: tuple[NodeAddress, ...] = (),
    policy: Policy | None = None,
) -> AsyncIterator[Running]:
    key = nacl.signing.SigningKey(seed)
    async with open_node(data_dir, key, limits, policy=policy) as node, trio.open_nursery() as nursery:
        book = PeerBook(node.public_key, {p.node_key: p for p in peers}, set(blocked))
        federation = Federation(node, book, quic_connector(key, node.limits.transport))
        host, bound = await nursery.start(node.serve_quic, "127.0.0.1", port)
        nursery.start_soon(federation.run)
        yield Running(node, NodeAddress(node.public_key, host, bound), federation)
        nursery.cancel_scope.cancel()


def digest(running: Running, group: bytes) -> bytes:
    return heads_digest(running.node.store.heads(group))


async def converged(nodes: list[Running], group: bytes, within: float = 30.0) -> None:
    """Wait until every node holds the same log heads for ``group`` (fails after ``within`` s)."""
    await stores_converged([r.node for r in nodes], group, within)


async def stores_converged(nodes: list[Node], group: bytes, within: float = 30.0) -> None:
    with trio.move_on_after(within):
        while True:
            events = [n.group_event(group) for n in nodes]  # taken before the check: no lost wake-up
            if _same(nodes, group):
                return
            await _any(events)
    heads = [{a.hex()[:8]: s for a, (s, _i) in n.store.heads(group).items()} for n in nodes]
    raise AssertionError(f"no convergence in {within} s: heads per node {heads}")


async def _any(events: list[trio.Event]) -> None:
    async with trio.open_nursery() as nursery:

        async def wait(event: trio.Event) -> None:
            await event.wait()
            nursery.cancel_scope.cancel()

        for event in events:
            nursery.start_soon(wait, event)


def _same(nodes: list[Node], group: bytes) -> bool:
    digests = {heads_digest(n.store.heads(group)) for n in nodes}
    return len(digests) == 1 and all(n.store.count(group) for n in nodes)


def entry_ids(running: Running, group: bytes) -> set[bytes]:
    return {record.entry_id for _cursor, record in running.node.store.iter_group(group, 0, 10**9)}
