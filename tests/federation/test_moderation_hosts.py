"""A revoked invite and a mute hold on every host (spec 12.5, 12.6, 14.3), over real QUIC between two
nodes: the facilitator acts on one node, and the other refuses what the act forbids."""

from pathlib import Path

import pytest

from holdspace.clients.client import connect
from holdspace.clients.participant import Participant
from holdspace.protocol.address import InviteToken
from holdspace.protocol.errors import HoldspaceError
from tests.federation.conftest import converged, federated_node


def seed(n: int) -> bytes:
    return bytes([n]) * 32


async def test_a_revoked_invite_and_a_mute_made_on_one_host_are_enforced_by_the_other(tmp_path: Path) -> None:
    async with federated_node(tmp_path / "a", seed(1)) as a, federated_node(tmp_path / "b", seed(2)) as b:
        fay = Participant.create(tmp_path / "fay", "pass fay", a.address)
        ana = Participant.create(tmp_path / "ana", "pass ana", b.address)
        cy = Participant.create(tmp_path / "cy", "pass cy", b.address)
        async with connect(a.address) as s_fay, connect(b.address) as s_ana, connect(b.address) as s_cy:
            group = await fay.create_group(s_fay, "circle")
            g_ana = await ana.join(s_ana, InviteToken.parse(await fay.invite(s_fay, group)))  # B becomes a host
            token = InviteToken.parse(await fay.invite(s_fay, group, uses=5))
            state = await fay.sync(s_fay, group)
            open_invites = [i for i in state.invites.values() if i.invite.max_uses == 5]
            await fay.close_invite(s_fay, group, open_invites[0].entry_id)  # revoked on A
            until = fay.clock() + 3_600_000
            await fay.mute_member(s_fay, group, ana.pseudonym(g_ana).public_key, until)  # muted on A
            await converged([a, b], group.group_id)

            with pytest.raises(HoldspaceError) as err:
                await cy.join(s_cy, token)  # through B
            assert err.value.code == "group.invite_closed"
            with pytest.raises(HoldspaceError) as err:
                await ana.send(s_ana, g_ana, "posted through B while muted")
            assert err.value.code == "group.muted"
            await ana.message_facilitators(s_ana, g_ana, "may we talk?")  # the private line stays open
            await converged([a, b], group.group_id)
            await fay.sync(s_fay, group)
            assert [m.text for m in group.messages if m.text == "may we talk?"] == ["may we talk?"]
