"""Redaction, erasure and expiry reach every host of a group, over real QUIC between three nodes,
including a host that was down when the deletion was made."""

from pathlib import Path

import trio

from holdspace.clients.client import connect
from holdspace.clients.participant import Participant
from holdspace.node.core import from_record
from holdspace.protocol.address import InviteToken
from tests.federation.conftest import Running, converged, federated_node, free_udp_port


def seed(n: int) -> bytes:
    return bytes([n]) * 32


def payload_of(running: Running, entry_id: bytes) -> bytes | None:
    record = running.node.store.get(entry_id)
    assert record is not None, "the header must stay (a signed tombstone)"
    return from_record(record).payload


async def until_deleted(nodes: list[Running], entry_ids: list[bytes], within: float = 20.0) -> None:
    with trio.fail_after(within):
        while True:
            if all(payload_of(r, e) is None for r in nodes for e in entry_ids):
                return
            await trio.sleep(0.05)


async def test_redaction_erasure_and_expiry_reach_every_host(tmp_path: Path) -> None:
    port_c = free_udp_port()
    async with federated_node(tmp_path / "a", seed(1)) as a, federated_node(tmp_path / "b", seed(2)) as b:
        fay = Participant.create(tmp_path / "fay", "pass fay", a.address)
        ana = Participant.create(tmp_path / "ana", "pass ana", b.address)
        bo = Participant.create(tmp_path / "bo", "pass bo", None)
        async with federated_node(tmp_path / "c", seed(3), port_c) as c:
            bo.node = c.address
            async with connect(a.address) as s_fay, connect(b.address) as s_ana, connect(c.address) as s_bo:
                group = await fay.create_group(s_fay, "circle")
                gid = group.group_id
                g_ana = await ana.join(s_ana, InviteToken.parse(await fay.invite(s_fay, group)))
                g_bo = await bo.join(s_bo, InviteToken.parse(await fay.invite(s_fay, group)))
                await converged([a, b, c], gid)
                regret = await ana.send(s_ana, g_ana, "I should not have said this")
                stories = [await bo.send(s_bo, g_bo, f"my story {i}") for i in range(3)]
                brief = await fay.send(s_fay, group, "for a moment only", ttl_ms=1500)
                await converged([a, b, c], gid)
                assert all(payload_of(r, regret.entry_id) is not None for r in (a, b, c))
                await ana.redact(s_ana, g_ana, [regret.entry_id])  # made on B
                await bo.erase_my_messages(s_bo, g_bo)  # made on C
                await converged([a, b, c], gid)
                await until_deleted([a, b, c], [regret.entry_id, brief.entry_id] + [m.entry_id for m in stories])
                kept = await fay.send(s_fay, group, "still here")
        # C is down while A deletes more; on restart it pulls the redaction and deletes too
        async with connect(a.address) as s_fay, connect(b.address) as s_ana:
            late = await ana.send(s_ana, g_ana, "another regret")
            await converged([a, b], gid)
            await ana.redact(s_ana, g_ana, [late.entry_id])
            await converged([a, b], gid)
        async with federated_node(tmp_path / "c", seed(3), port_c) as c:
            await converged([a, b, c], gid)
            await until_deleted([a, b, c], [late.entry_id])
            assert all(payload_of(r, kept.entry_id) is not None for r in (a, b, c))
