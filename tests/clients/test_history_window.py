"""What a newcomer reads of what came before (spec 13.1, "History"), under "the last N days": the
sharer seals the keys of the epochs that started within N days before the join, and the newcomer
takes no others, even if a sharer sends them. A real node; every signed time is passed in."""

from __future__ import annotations

import time
from pathlib import Path

from holdspace.clients.history_keys import take_history
from holdspace.clients.participant import GroupRecord, Participant
from holdspace.protocol import crypto, e2ee
from holdspace.protocol.address import InviteToken
from holdspace.protocol.payloads import DAY_MS, Rekey
from tests.node.conftest import people, running_node, session


def at(p: Participant, ms: int) -> None:
    p.clock = lambda: ms  # type: ignore[method-assign]


async def test_a_newcomer_under_two_days_reads_yesterday_not_last_week(tmp_path: Path) -> None:
    now = int(time.time() * 1000)
    week_ago, yesterday = now - 8 * DAY_MS, now - DAY_MS
    async with running_node(tmp_path / "node") as (_, address), session(address) as s:
        fay, ana, ben, nia = people(tmp_path, address, "fay", "ana", "ben", "nia")
        for p, t in ((fay, week_ago), (ana, week_ago), (ben, yesterday), (nia, now)):
            at(p, t)
        group = await fay.create_group(s, "circle")
        await fay.set_history(s, group, 2)
        g_ana = await ana.join(s, InviteToken.parse(await fay.invite(s, group, expires_ms=now + DAY_MS)))
        await fay.send(s, group, "last week")
        at(fay, yesterday)
        g_ben = await ben.join(s, InviteToken.parse(await fay.invite(s, group, expires_ms=now + DAY_MS)))
        await fay.send(s, group, "yesterday")
        at(fay, now)
        g_nia = await nia.join(s, InviteToken.parse(await fay.invite(s, group, expires_ms=now + DAY_MS)))
        await fay.send(s, group, "today")
        await ana.sync(s, g_ana)
        await ben.sync(s, g_ben)
        state = await nia.sync(s, g_nia)

        def read(record: GroupRecord) -> set[str | None]:
            return {m.text for m in record.messages if m.text}

        assert read(g_nia) == {"yesterday", "today"}  # the epoch of yesterday, not the one of last week
        assert read(g_ben) == {"yesterday", "today"}  # joined yesterday: last week was 6 days before that
        assert read(g_ana) == {"last week", "yesterday", "today"}
        week_epoch, yesterday_epoch = state.epochs[-3], state.epochs[-2]
        assert week_epoch.started_ms == week_ago and yesterday_epoch.started_ms == yesterday

        # a sharer who seals more gives nothing more: the newcomer takes only the epochs in its window
        fay_keys, nia_keys = group.keys, g_nia.keys
        assert fay_keys is not None and nia_keys is not None
        pairs = [(e.entry_id, fay_keys.epochs[e.entry_id].epoch_key) for e in (yesterday_epoch, week_epoch)]
        blob = e2ee.encode_history_blob([(i, k) for i, k in pairs if k is not None])
        assert len(pairs) == 2 and all(k is not None for _, k in pairs)
        me = nia_keys.me.public_key
        over = Rekey((), (), None, ((me, crypto.seal(state.members[me].x25519, blob)),))
        fresh = e2ee.GroupKeys(group.group_id, nia_keys.me)
        assert take_history(state, fresh, over) == [yesterday_epoch.entry_id]
        assert week_epoch.entry_id not in fresh.epochs

        # back to "nothing before the join": the keys kept for newcomers are forgotten
        assert any(k.epoch_key is not None for k in fay_keys.epochs.values())
        await fay.set_history(s, group, "joined")
        assert all(k.epoch_key is None for k in fay_keys.epochs.values())


async def test_what_a_newcomer_fetched_before_the_keys_came_opens_once_they_come(tmp_path: Path) -> None:
    """The order of a real join: the newcomer fetches what came before it joined at once, and a member
    shares the earlier keys with it only at its turn; once they arrive, those messages open (and stay
    open on the device)."""
    now = int(time.time() * 1000)
    async with running_node(tmp_path / "node") as (_, address), session(address) as s:
        fay, ana, nia = people(tmp_path, address, "fay", "ana", "nia")
        at(fay, now - DAY_MS)
        at(ana, now - DAY_MS)
        group = await fay.create_group(s, "circle")
        await fay.set_history(s, group, 2)  # kept from the next epoch on: Ana's
        await ana.join(s, InviteToken.parse(await fay.invite(s, group, expires_ms=now + DAY_MS)))
        await fay.send(s, group, "before you came")
        at(fay, now)
        at(nia, now)
        g_nia = await nia.join(s, InviteToken.parse(await fay.invite(s, group, expires_ms=now + DAY_MS)))
        await nia.sync(s, g_nia)  # before anyone shared keys with her
        unread = [m for m in g_nia.messages if m.problem is not None]
        assert unread and all(m.problem == "e2ee.unknown_epoch" for m in unread)
        assert not any(m.text for m in g_nia.messages)

        await fay.send(s, group, "welcome")  # Fay's client rekeys to Nia first, with the earlier keys
        await nia.sync(s, g_nia)
        assert [m.text for m in g_nia.messages if m.text] == ["before you came", "welcome"]
        assert not any(m.problem for m in g_nia.messages)

        again = Participant.load(nia.home, nia.passphrase).find_group(g_nia.group_id.hex())
        assert [m.text for m in again.messages if m.text] == ["before you came", "welcome"]
