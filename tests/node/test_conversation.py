"""Participants hold a group conversation through a real node over QUIC on loopback."""

from pathlib import Path

import pytest

from holdspace.clients.participant import Participant
from holdspace.protocol.address import InviteToken
from holdspace.protocol.errors import HoldspaceError
from holdspace.protocol.payloads import MODERATOR
from tests.node.conftest import session


def people(tmp_path: Path, address, *names: str) -> list[Participant]:
    return [Participant.create(tmp_path / n, "pass " + n, address) for n in names]


async def test_group_conversation_and_removal(tmp_path: Path, node) -> None:
    _, address = node
    fay, ana, bo = people(tmp_path, address, "fay", "ana", "bo")
    async with session(address) as s_fay, session(address) as s_ana, session(address) as s_bo:
        group = await fay.create_group(s_fay, "Thursday circle")
        token_ana = await fay.invite(s_fay, group, uses=1)
        token_bo = await fay.invite(s_fay, group, role=MODERATOR)
        g_ana = await ana.join(s_ana, InviteToken.parse(token_ana))
        g_bo = await bo.join(s_bo, InviteToken.parse(token_bo))
        await fay.send(s_fay, group, "Welcome, both of you.")  # rekeys to include the joiners first
        await ana.send(s_ana, g_ana, "Thank you. It has been a hard week.")
        await bo.send(s_bo, g_bo, "I'm glad you came.")
        for p, g in ((fay, group), (ana, g_ana), (bo, g_bo)):
            await p.sync(s_fay if p is fay else s_ana if p is ana else s_bo, g)
        texts = {m.text for m in ana.record(g_ana.group_id).messages}
        assert {"Welcome, both of you.", "I'm glad you came."} <= texts

        await fay.remove_member(s_fay, group, bo.pseudonym(g_bo).public_key)
        await fay.send(s_fay, group, "Only for those still here.")
        state = await bo.sync(s_bo, g_bo)
        assert bo.pseudonym(g_bo).public_key not in state.members
        assert "Only for those still here." not in {m.text for m in bo.record(g_bo.group_id).messages}
        await ana.sync(s_ana, g_ana)
        assert "Only for those still here." in {m.text for m in ana.record(g_ana.group_id).messages}
        with pytest.raises(HoldspaceError):
            await bo.send(s_bo, g_bo, "can I still post?")


async def test_state_survives_reload_and_passphrase_protects_it(tmp_path: Path, node) -> None:
    _, address = node
    (fay,) = people(tmp_path, address, "fay")
    async with session(address) as s:
        group = await fay.create_group(s, "circle")
        await fay.send(s, group, "kept")
    again = Participant.load(tmp_path / "fay", "pass fay")
    assert [m.text for m in again.record(group.group_id).messages] == ["kept"]
    with pytest.raises(HoldspaceError) as err:
        Participant.load(tmp_path / "fay", "wrong")
    assert err.value.code == "keyfile.bad_passphrase"
    assert b"kept" not in (tmp_path / "fay" / "holdspace.keys").read_bytes()


async def test_identity_documents_and_publish_rate_limit(tmp_path: Path) -> None:
    from holdspace.node.limits import NodeLimits
    from holdspace.protocol import kinds
    from holdspace.protocol.payloads import MessageEnvelope
    from tests.node.conftest import running_node

    limits = NodeLimits(publish_rate=2, publish_burst=3)
    async with running_node(tmp_path / "n", limits) as (_, address):
        (fay,) = people(tmp_path, address, "fay")
        async with session(address) as s:
            group = await fay.create_group(s, "g")
            me = fay.pseudonym(group)
            document = await s.identity(group.group_id, me.public_key)
            assert document.x_public_key == me.x_public_key
            with pytest.raises(HoldspaceError) as err:
                await s.identity(group.group_id, b"\x05" * 32)
            assert err.value.code == "proto.not_found"
            writer = fay.writer(group)
            env = MessageEnvelope(b"\x01" * 32, 0, b"\x02" * 24, b"\x03" * 40, commitment=bytes(32)).encode()
            codes = []
            for _ in range(6):
                try:
                    await s.publish(writer.append(kinds.MESSAGE, env, 1))
                except HoldspaceError as exc:
                    codes.append(exc.code)
                    break
                codes.append("ok")
            assert codes[0] == "ok"
            assert codes[-1] == "proto.rate_limited"


async def test_expired_invite_refused(tmp_path: Path, node) -> None:
    """The node judges an invite's expiry by its own clock: a join arriving later is refused, however
    it is dated (the join's timestamp is the joiner's word)."""
    import trio

    from holdspace.protocol.author import InviteSecret, LogWriter
    from holdspace.protocol.identity import Pseudonym, group_context

    _, address = node
    (fay,) = people(tmp_path, address, "fay")
    async with session(address) as s_fay, session(address) as s_late:
        group = await fay.create_group(s_fay, "g")
        from holdspace.clients.participant import now_ms

        token = InviteToken.parse(await fay.invite(s_fay, group, expires_ms=now_ms() + 300))
        await trio.sleep(0.5)
        me = Pseudonym.generate()
        late = Pseudonym.derive(me.seed, group_context(group.group_id))
        await s_late.authenticate(late)
        backdated = InviteSecret(token.group_id, token.invite_id, token.seed).join(
            LogWriter(late, group.group_id), now_ms() - 10_000
        )
        with pytest.raises(HoldspaceError) as err:
            await s_late.publish(backdated)
        assert err.value.code == "group.invite_expired"
