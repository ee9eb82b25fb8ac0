"""Three community nodes share one group over real QUIC on loopback (issue: federation)."""

from pathlib import Path

from holdspace.clients.client import connect
from holdspace.clients.participant import Participant
from holdspace.protocol.address import InviteToken
from tests.federation.conftest import converged, entry_ids, federated_node, free_udp_port


def seed(n: int) -> bytes:
    return bytes([n]) * 32


async def test_members_on_three_nodes_share_one_group_and_a_restarted_node_converges(tmp_path: Path) -> None:
    port_c = free_udp_port()
    async with (
        federated_node(tmp_path / "a", seed(1)) as a,
        federated_node(tmp_path / "b", seed(2)) as b,
    ):
        fay = Participant.create(tmp_path / "fay", "pass fay", a.address)
        ana = Participant.create(tmp_path / "ana", "pass ana", b.address)
        bo = Participant.create(tmp_path / "bo", "pass bo", None)
        async with federated_node(tmp_path / "c", seed(3), port_c) as c:
            bo.node = c.address
            async with connect(a.address) as s_fay, connect(b.address) as s_ana, connect(c.address) as s_bo:
                group = await fay.create_group(s_fay, "Thursday circle")
                gid = group.group_id
                g_ana = await ana.join(s_ana, InviteToken.parse(await fay.invite(s_fay, group)))
                g_bo = await bo.join(s_bo, InviteToken.parse(await fay.invite(s_fay, group)))
                state = await fay.sync(s_fay, group)
                assert set(state.hosts) == {a.node.public_key, b.node.public_key, c.node.public_key}
                await converged([a, b, c], gid)
                await fay.send(s_fay, group, "Welcome, both of you.")  # rekeys to the joiners first
                await converged([a, b, c], gid)
                await ana.send(s_ana, g_ana, "Thank you for having me.")
                await bo.send(s_bo, g_bo, "Glad to be here.")
                await converged([a, b, c], gid)
                for person, s, g in ((fay, s_fay, group), (ana, s_ana, g_ana), (bo, s_bo, g_bo)):
                    await person.sync(s, g)
                texts = {
                    name: {m.text for m in p.record(gid).messages}
                    for name, p in (("fay", fay), ("ana", ana), ("bo", bo))
                }
                everything = {"Welcome, both of you.", "Thank you for having me.", "Glad to be here."}
                assert texts["fay"] == everything
                assert texts["ana"] == everything
                assert texts["bo"] == everything
        # C is down: A and B go on without it
        async with connect(a.address) as s_fay, connect(b.address) as s_ana:
            for i in range(20):
                await fay.send(s_fay, group, f"while C sleeps {i}")
                await ana.send(s_ana, g_ana, f"reply {i}")
        await converged([a, b], gid)
        async with federated_node(tmp_path / "c", seed(3), port_c) as c:
            await converged([a, b, c], gid)
            assert entry_ids(a, gid) == entry_ids(b, gid) == entry_ids(c, gid)
            async with connect(c.address) as s_bo:
                await bo.sync(s_bo, g_bo)
            assert "while C sleeps 19" in {m.text for m in bo.record(gid).messages}
        # node states agree, not only their entries
        states = {r.node.core.state(gid).fingerprint() for r in (a, b)}
        assert len(states) == 1
