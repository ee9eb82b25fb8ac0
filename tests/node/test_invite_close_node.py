"""An invite's expiry holds on every host (spec 12.5, finding 4), even against a hostile co-host.

A node checks an invite's expiry against its own clock only for a client's join (12.6 step 3); a join
relayed by a peer is judged by its own date, which its signer chooses. So a co-host holding a used or
leaked token can let anyone in after the expiry with a back-dated join. A close entry is the rule
every host checks: once an invite is closed, a join the close did not see does not stand.
"""

from __future__ import annotations

from pathlib import Path

from holdspace.clients.participant import CLOSE_DELAY_MS, now_ms
from holdspace.protocol import author
from holdspace.protocol.identity import Pseudonym, group_context
from holdspace.protocol.payloads import MEMBER
from tests.group_world import T0, World
from tests.node.core_driver import commit, from_client, hosted
from tests.node.test_outbox import fay_and_ana
from tests.node.test_support import sessions


def test_a_back_dated_join_relayed_after_the_close_does_not_stand() -> None:
    w = World()
    entry, token = author.invite(
        w.people["founder"].writer, w.view("founder"), w.tick(), role=MEMBER, expires_ms=T0 + 1_000, max_uses=5
    )
    w.publish("founder", entry)
    w.redeem("ana", token)
    w.publish("founder", author.close_invite(w.people["founder"].writer, w.view("founder"), token.invite_id, w.tick()))
    core, reader = hosted(w)
    w.clock += 10_000_000  # long after the expiry: a client's join would be refused by the clock

    mallory = Pseudonym.derive(b"m" * 32, group_context(w.group_id))
    writer = author.LogWriter(mallory, w.group_id)
    back_dated = token.join(writer, entry.timestamp_ms + 1)  # dated inside the invite's lifetime
    assert from_client(core, reader, back_dated, w.clock) == "group.invite_expired"
    relayed = core.check_entry(back_dated.raw, back_dated.payload, now_ms=w.clock, authors=None)  # a co-host's
    commit(core, reader, relayed)
    state = core.state(w.group_id)
    assert state.outcomes[back_dated.entry_id] == "group.invite_closed"
    assert mallory.public_key not in state.members and w.people["ana"].key in state.members


async def test_members_close_expired_invites_a_facilitator_at_once(tmp_path: Path) -> None:
    async with sessions(tmp_path) as (node, address, s_fay, s_ana, _):
        (fay, group), (ana, g_ana) = await fay_and_ana(tmp_path, address, s_fay, s_ana)
        now = now_ms()
        await fay.invite(s_fay, group, uses=3, expires_ms=now - 1_000)  # expired a second ago
        await fay.invite(s_fay, group, uses=3, expires_ms=now - CLOSE_DELAY_MS[1] - 1_000)  # over an hour ago
        await fay.invite(s_fay, group, uses=3, expires_ms=now + 3_600_000)  # still open
        state = await ana.sync(s_ana, g_ana)
        assert len(ana.invites_to_close(g_ana, state, ana.clock())) == 1  # a member waits out its delay
        assert await ana.close_expired_invites(s_ana, g_ana, state) == 1

        state = await fay.sync(s_fay, group)
        assert await fay.close_expired_invites(s_fay, group, state) == 1  # the one a second past its expiry
        state = node.core.state(group.group_id)
        closed = {i.entry_id: i.closed_by is not None for i in state.invites.values() if i.invite.max_uses == 3}
        assert sorted(closed.values()) == [False, True, True]
        assert await fay.close_expired_invites(s_fay, group, await fay.sync(s_fay, group)) == 0
