"""Moderation that fits a support group, from the client library through a real node: a mute for a
time, the private line to the facilitators, a removal with a note and a reason (spec 12.3, 12.6, 13.5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from holdspace.clients.moderation import muted_until, mutes, private_threads, removal_notice, removal_reasons
from holdspace.clients.support import moderation_log
from holdspace.clients.support import sessions as upcoming_sessions
from holdspace.protocol import author
from holdspace.protocol.content import Turn
from holdspace.protocol.errors import HoldspaceError
from tests.node.test_support import circle, eventually, payloads, sessions


async def test_a_muted_member_reads_writes_to_the_facilitators_and_posts_again_when_unmuted(tmp_path: Path) -> None:
    async with sessions(tmp_path) as (_node, address, s_fay, s_ana, s_bo):
        (fay, group), (ana, g_ana), (bo, g_bo) = await circle(tmp_path, address, s_fay, s_ana, s_bo)
        await ana.send(s_ana, g_ana, "first")
        until = bo.clock() + 3_600_000
        await bo.mute_member(s_bo, g_bo, ana.pseudonym(g_ana).public_key, until)  # a moderator mutes a member
        await ana.sync(s_ana, g_ana)
        assert muted_until(g_ana, ana.pseudonym(g_ana).public_key, ana.clock()) == until
        with pytest.raises(HoldspaceError) as err:
            await ana.send(s_ana, g_ana, "am I muted?")
        assert err.value.code == "group.muted"
        await ana.message_facilitators(s_ana, g_ana, "I would like to talk about what happened.")
        await fay.sync(s_fay, group)
        assert mutes(group, fay.clock()) == {ana.pseudonym(g_ana).public_key: until}
        threads = private_threads(group)
        assert [m.text for m in threads[ana.pseudonym(g_ana).public_key]] == [
            "I would like to talk about what happened."
        ]
        await fay.reply_privately(s_fay, group, ana.pseudonym(g_ana).public_key, "Of course. I am here.")
        await bo.sync(s_bo, g_bo)
        assert not private_threads(g_bo)  # a moderator who is not a facilitator is not on the line
        await ana.sync(s_ana, g_ana)
        assert [m.text for m in private_threads(g_ana)[ana.pseudonym(g_ana).public_key]] == [
            "I would like to talk about what happened.",
            "Of course. I am here.",
        ]
        await fay.mute_member(s_fay, group, ana.pseudonym(g_ana).public_key, 0)  # lifted
        await ana.send(s_ana, g_ana, "thank you")
        await fay.sync(s_fay, group)
        assert "thank you" in [m.text for m in group.messages]
        assert "am I muted?" not in [m.text for m in group.messages]
        assert [line.action for line in moderation_log(group) if line.action in ("mute", "unmute")] == [
            "mute",
            "unmute",
        ]


async def test_a_removed_person_reads_the_note_and_only_facilitators_the_reason(tmp_path: Path) -> None:
    async with sessions(tmp_path) as (_node, address, s_fay, s_ana, s_bo):
        (fay, group), (ana, g_ana), (bo, g_bo) = await circle(tmp_path, address, s_fay, s_ana, s_bo)
        note, reason = "We wish you well; this circle is not right for you now.", "Shared another member's story."
        await fay.remove_member(s_fay, group, ana.pseudonym(g_ana).public_key, note=note, reason=reason)
        await ana.sync(s_ana, g_ana)
        notice = removal_notice(g_ana)
        assert notice is not None and notice.note == note and not notice.banned
        assert removal_reasons(g_ana) == {}  # the removed person never reads the reason
        await bo.sync(s_bo, g_bo)
        assert removal_reasons(g_bo) == {} and removal_notice(g_bo) is None  # nor does a moderator
        await fay.sync(s_fay, group)
        assert list(removal_reasons(group).values()) == [reason]
        assert [line.reason for line in moderation_log(group) if line.action == "remove"] == [reason]
        with pytest.raises(HoldspaceError) as err:
            await ana.send(s_ana, g_ana, "hello?")
        assert err.value.code == "client.not_member"


async def test_a_removed_member_holds_the_talking_piece_no_more(tmp_path: Path) -> None:
    async with sessions(tmp_path) as (_node, address, s_fay, s_ana, s_bo):
        (fay, group), (ana, g_ana), (bo, g_bo) = await circle(tmp_path, address, s_fay, s_ana, s_bo)
        sid = await fay.schedule(
            s_fay, group, title="Circle", about=None, start_ms=fay.clock() - 60_000, duration_ms=3_600_000, tz="UTC"
        )
        await fay.post(s_fay, group, Turn(sid, 0, ana.pseudonym(g_ana).public_key))
        await bo.sync(s_bo, g_bo)
        assert [v.talking_piece for v in upcoming_sessions(g_bo, bo.clock())] == [ana.pseudonym(g_ana).public_key]
        await fay.remove_member(s_fay, group, ana.pseudonym(g_ana).public_key)
        await bo.sync(s_bo, g_bo)
        assert [v.talking_piece for v in upcoming_sessions(g_bo, bo.clock())] == [None]  # the circle is open


async def test_a_message_written_concurrently_with_a_mute_is_dropped_by_the_node_and_the_readers(
    tmp_path: Path,
) -> None:
    async with sessions(tmp_path) as (node, address, s_fay, s_ana, s_bo):
        (fay, group), (ana, g_ana), (bo, g_bo) = await circle(tmp_path, address, s_fay, s_ana, s_bo)
        state = await bo.sync(s_bo, g_bo)  # bo decides to mute ana, on what he has seen so far
        cut = g_bo.log_heads.get(ana.pseudonym(g_ana).public_key, 0)
        crossed = await ana.send(s_ana, g_ana, "written while bo was muting me")
        await fay.sync(s_fay, group)
        assert "written while bo was muting me" in [m.text for m in group.messages]  # read before the mute
        key = ana.pseudonym(g_ana).public_key
        entry = author.mute(bo.writer(g_bo), state, key, cut, bo.clock() + 3_600_000, bo.clock())
        await bo._publish(s_bo, g_bo, entry)
        await fay.sync(s_fay, group)
        (seen,) = [m for m in group.messages if m.entry_id == crossed.entry_id]
        assert seen.deleted == "muted" and seen.text is None  # the reader keeps no copy either
        await eventually(lambda: payloads(node, group.group_id)[crossed.entry_id] is None)  # nor the host
