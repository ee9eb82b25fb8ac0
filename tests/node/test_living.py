"""Who the group is and who is who, through a real node (spec 14.3, 17.12-17.15): the group's name
reaches the invitee before joining and every member after, facilitators rename it, display names and
roles, a member imitating the facilitator, replies, edits within the window, and a removal that takes
the edits with it."""

from __future__ import annotations

from pathlib import Path

from holdspace.clients.corrections import edit_candidates, latest_edit
from holdspace.clients.people import People
from holdspace.clients.support import group_profile, group_title
from holdspace.node.core import from_record
from holdspace.protocol.address import InviteToken
from holdspace.protocol.content import DisplayName, Edit, Profile, Text
from holdspace.protocol.labels import label
from tests.node.conftest import people
from tests.node.test_support import sessions


async def test_the_groups_name_reaches_the_invitee_and_every_member_and_a_rename_follows(tmp_path: Path) -> None:
    async with sessions(tmp_path) as (_, address, s_fay, s_ana, s_bo):
        fay, ana, bo = people(tmp_path, address, "fay", "ana", "bo")
        group = await fay.create_group(s_fay, "Thursday grief circle")
        token = InviteToken.parse(await fay.invite(s_fay, group))
        assert token.name == "Thursday grief circle"  # what "You're invited to ..." shows
        g_ana = await ana.join(s_ana, token)
        await fay.sync(s_fay, group)
        await fay.ensure_clean_epoch(s_fay, group)  # ana gets the keys; the profile is quoted to her
        await ana.sync(s_ana, g_ana)
        assert group_title(ana.record(g_ana.group_id)) == "Thursday grief circle"
        assert ana.record(g_ana.group_id).name == "Thursday grief circle"  # from the invite, before the keys

        # a facilitator's rename is the group's, for members who joined later too; a member's is not
        await fay.post(s_fay, group, Profile("Thursday circle", "A weekly circle.", "Be kind."))
        await ana.sync(s_ana, g_ana)
        await ana.post(s_ana, g_ana, Profile("Ana's circle now"))
        g_bo = await bo.join(s_bo, InviteToken.parse(await fay.invite(s_fay, group)))
        await fay.sync(s_fay, group)
        await fay.ensure_clean_epoch(s_fay, group)
        for p, s, g in ((ana, s_ana, g_ana), (bo, s_bo, g_bo), (fay, s_fay, group)):
            await p.sync(s, g)
            assert group_profile(p.record(g.group_id)) == Profile("Thursday circle", "A weekly circle.", "Be kind.")
        assert fay.find_group("thursday circle") is group


async def test_names_roles_and_an_imitation_of_the_facilitator(tmp_path: Path) -> None:
    async with sessions(tmp_path) as (_, address, s_fay, s_ana, s_bo):
        fay, ana, bo = people(tmp_path, address, "fay", "ana", "bo")
        group = await fay.create_group(s_fay, "circle")
        g_ana = await ana.join(s_ana, InviteToken.parse(await fay.invite(s_fay, group)))
        g_bo = await bo.join(s_bo, InviteToken.parse(await fay.invite(s_fay, group)))
        await fay.sync(s_fay, group)
        await fay.ensure_clean_epoch(s_fay, group)
        await fay.post(s_fay, group, DisplayName("Fay"))
        await bo.sync(s_bo, g_bo)
        await bo.post(s_bo, g_bo, DisplayName("FAY"))  # bo takes the facilitator's name
        await ana.post(s_ana, g_ana, DisplayName("Ana"))
        await ana.sync(s_ana, g_ana)
        record = ana.record(g_ana.group_id)
        seen = People(record, ana.pseudonym(g_ana).public_key)
        k_fay, k_bo = fay.pseudonym(group).public_key, bo.pseudonym(g_bo).public_key
        assert seen(k_fay).role == "facilitator" and seen(k_bo).role is None
        assert seen(k_fay).lookalike and seen(k_bo).lookalike and seen.lookalikes
        assert seen(k_fay).name == f"Fay ({label(k_fay)})" and seen(k_bo).name == f"FAY ({label(k_bo)})"
        assert seen(ana.pseudonym(g_ana).public_key).name == "You" and seen.own_name == "Ana"


async def test_replies_edits_in_the_window_and_removal_takes_the_edits(tmp_path: Path) -> None:
    async with sessions(tmp_path) as (node, address, s_fay, s_ana, _):
        fay, ana = people(tmp_path, address, "fay", "ana")
        group = await fay.create_group(s_fay, "circle")
        g_ana = await ana.join(s_ana, InviteToken.parse(await fay.invite(s_fay, group)))
        await fay.sync(s_fay, group)
        await fay.ensure_clean_epoch(s_fay, group)
        await ana.sync(s_ana, g_ana)
        first = await ana.send(s_ana, g_ana, "I feel terible today")
        fixed = await ana.post(s_ana, g_ana, Edit(first.entry_id, "I feel terrible today"))
        answer = await fay.post(s_fay, group, Text("I'm here.", None, first.entry_id))
        await fay.sync(s_fay, group)
        record = fay.record(group.group_id)
        original = next(m for m in record.messages if m.entry_id == first.entry_id)
        edits = edit_candidates(record)
        assert latest_edit(original, edits[first.entry_id]).body == "I feel terrible today"  # type: ignore[union-attr]
        assert isinstance(answer.content, Text) and answer.content.reply == first.entry_id
        # someone else's "edit" does not count
        forged = await fay.post(s_fay, group, Edit(first.entry_id, "I feel fine"))
        await fay.sync(s_fay, group)
        edits = edit_candidates(fay.record(group.group_id))
        assert forged.entry_id in {m.entry_id for m in edits[first.entry_id]}
        assert latest_edit(original, edits[first.entry_id]).body == "I feel terrible today"  # type: ignore[union-attr]
        # removing the message removes its corrections too, on the node
        await ana.redact(s_ana, g_ana, [first.entry_id])
        stored = {r.entry_id: from_record(r).payload for _, r in node.store.iter_group(group.group_id, 0, 10**6)}
        assert stored[first.entry_id] is None and stored[fixed.entry_id] is None
        assert stored[forged.entry_id] is not None  # fay's own entry: not ana's to remove
