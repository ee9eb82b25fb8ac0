"""Catch-up is resumable: a node stopped halfway through a backlog resumes without the entries it
already stored being sent again; and a node a facilitator adds as a host fetches the group."""

import os
from pathlib import Path

import trio
from nacl.signing import SigningKey

from holdspace.node.server import Node
from holdspace.protocol import author, kinds
from holdspace.protocol.address import NodeAddress
from holdspace.protocol.entry import Entry
from holdspace.protocol.group import compute_state
from holdspace.protocol.identity import Pseudonym
from holdspace.protocol.payloads import MessageEnvelope
from tests.federation.conftest import converged, entry_ids, federated_node, free_udp_port

BACKLOG = 3000


def seed(n: int) -> bytes:
    return bytes([n]) * 32


def group_with_backlog(home: str, new_host: str, n: int) -> list[Entry]:
    """A founder's group on ``home``, listing ``new_host`` as a host too, with ``n`` messages."""
    now = 1_764_000_000_000
    genesis, writer = author.create_group(os.urandom(32), now, home=home)
    entries = [genesis, author.host(writer, compute_state(genesis, []), new_host, now + 1)]
    for i in range(n):
        envelope = MessageEnvelope(
            entries[-1].entry_id, i, os.urandom(24), os.urandom(200), commitment=bytes(32)
        ).encode()
        entries.append(writer.append(kinds.MESSAGE, envelope, now + 2 + i))
    return entries


def counting(node: Node, received: list[int]) -> None:
    """Count every entry the node is handed by its peers (whatever it then does with it)."""
    ingest = node.ingest

    async def counted(items, group=None, accepted=None, behind=None):  # type: ignore[no-untyped-def]
        received.append(len(items))
        return await ingest(items, group, accepted, behind)

    node.ingest = counted  # type: ignore[method-assign]


async def stored_at_least(node: Node, group: bytes, count: int) -> None:
    with trio.fail_after(30):
        while True:
            event = node.group_event(group)
            if node.store.count(group) >= count:
                return
            await event.wait()


async def test_a_stopped_catch_up_resumes_without_resending(tmp_path: Path) -> None:
    port_b = free_udp_port()
    async with federated_node(tmp_path / "a", seed(1)) as a:
        b_address = NodeAddress(bytes(SigningKey(seed(2)).verify_key), "127.0.0.1", port_b)
        entries = group_with_backlog(str(a.address), str(b_address), BACKLOG)
        gid = entries[0].entry_id
        for start in range(0, len(entries), 256):
            results = await a.node.ingest([(e.raw, e.payload) for e in entries[start : start + 256]])
            assert all(r is not None and not isinstance(r, Exception) for r in results)
        received: list[int] = []
        # B's operator added A as a peer: asked for a group that lists B, B fetches it from A
        async with federated_node(tmp_path / "b", seed(2), port_b, peers=(a.address,)) as b:
            counting(b.node, received)
            await stored_at_least(b.node, gid, BACKLOG // 3)
        first_run = sum(received)
        assert first_run < len(entries), "B stopped before the end of the backlog"
        async with federated_node(tmp_path / "b", seed(2), port_b, peers=(a.address,)) as b:
            counting(b.node, received)
            await converged([a, b], gid)
            assert entry_ids(a, gid) == entry_ids(b, gid)
        # only what was in flight when B stopped (at most two events of 256) may come twice
        assert sum(received) <= len(entries) + 2 * 256, (first_run, sum(received))
        assert sum(received) >= len(entries)


async def test_a_relayed_batch_is_stored_in_the_order_it_was_checked(tmp_path: Path) -> None:
    """A node's arrival order must stay valid for validation (its peers pull in that order): an
    invite stored after the join that redeems it would be refused by every node pulling from it."""
    async with federated_node(tmp_path / "a", seed(1)) as a:
        for attempt in range(10):
            now = 1_764_000_000_000 + attempt
            genesis, founder = author.create_group(os.urandom(32), now, home=str(a.address))
            envelope = MessageEnvelope(
                genesis.entry_id, 0, os.urandom(24), os.urandom(40), commitment=bytes(32)
            ).encode()
            message = founder.append(kinds.MESSAGE, envelope, now + 1)
            invite, secret = author.invite(
                founder, compute_state(genesis, []), now + 2, role="member", expires_ms=now + 10**9
            )
            joiner = author.LogWriter(Pseudonym.generate(), genesis.entry_id)
            join = secret.join(joiner, now + 3)
            reply = joiner.append(kinds.MESSAGE, envelope, now + 4)
            batch = [genesis, message, invite, join, reply]
            results = await a.node.ingest([(e.raw, e.payload) for e in batch])
            assert all(r is not None and not isinstance(r, Exception) for r in results)
            stored = [r.entry_id for _c, r in a.node.store.iter_group(genesis.entry_id, 0, 100)]
            assert stored == [e.entry_id for e in batch]
