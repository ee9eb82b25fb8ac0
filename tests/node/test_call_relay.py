"""Live-call signals through a running node over QUIC (spec 17.11), with the Python client library: a
member's sealed signal reaches another member's listen and opens there; nothing is stored; the
listen carries the operator's TURN credentials; a removed member's signals are refused."""

from __future__ import annotations

from contextlib import aclosing
from pathlib import Path

import pytest
import trio

from holdspace.clients.participant import Participant
from holdspace.node.server import Node
from holdspace.node.signals import TurnRelay
from holdspace.protocol import calls
from holdspace.protocol.address import InviteToken, NodeAddress
from holdspace.protocol.errors import HoldspaceError

from .conftest import session


async def test_a_signal_goes_from_member_to_member_through_the_node_and_is_not_stored(
    tmp_path: Path, node: tuple[Node, NodeAddress]
) -> None:
    running, address = node
    running.turn = TurnRelay(("turn:relay.example:3478",), b"secret")
    fay, ana, bo = (Participant.create(tmp_path / n, "pass " + n, address) for n in ("fay", "ana", "bo"))
    async with session(address) as s_fay, session(address) as s_ana, session(address) as s_bo:
        group = await fay.create_group(s_fay, "Thursday circle")
        token = InviteToken.parse(await fay.invite(s_fay, group, uses=2))
        me_ana = ana.pseudonym(await ana.join(s_ana, token))
        me_bo = bo.pseudonym(await bo.join(s_bo, token))
        gid = group.group_id
        stored = running.store.count(gid)
        with trio.fail_after(10):
            async with aclosing(s_ana.listen(gid)) as events:
                listening = await anext(events)
                assert listening["ev"] == "listening"
                turn = listening["turn"]
                assert isinstance(turn, dict) and turn["urls"] == ["turn:relay.example:3478"]
                signal = calls.Signal(b"\x05" * 16, "offer", "v=0\r\n", running.now_ms())
                box = calls.seal_signal(me_bo.seed, gid, me_ana.public_key, me_ana.x_public_key, signal)
                assert await s_bo.signal(gid, me_bo.public_key, me_ana.public_key, box) == 1
                event = await anext(events)
        assert event == {"ev": "signal", "g": gid, "from": me_bo.public_key,
                         "to": me_ana.public_key, "box": box}  # fmt: skip
        opened = calls.open_signal(me_ana.x_secret, gid, me_bo.public_key, me_ana.public_key, box, running.now_ms())
        assert opened == signal
        assert running.store.count(gid) == stored  # relayed, never stored
        # the listen was cancelled with the iterator: once the node has ended it, a signal reaches no one
        with trio.fail_after(5):
            while len(running.core.signals):  # noqa: ASYNC110 - the board has no event to wait on
                await trio.sleep(0.01)
        assert await s_bo.signal(gid, me_bo.public_key, me_ana.public_key, box) == 0
        await fay.remove_member(s_fay, group, me_bo.public_key)
        with pytest.raises(HoldspaceError) as err:
            await s_bo.signal(gid, me_bo.public_key, me_ana.public_key, box)
        assert err.value.code == "call.not_member"
        with pytest.raises(HoldspaceError) as err:
            await s_ana.signal(gid, me_ana.public_key, me_bo.public_key, box)
        assert err.value.code == "call.recipient_not_member"
