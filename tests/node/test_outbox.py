"""The participant's outbox through a real node over QUIC: what is written is sealed on disk first,
handed over to exactly one signed entry, and never lost or sent twice, whatever happens to the
answer; a refusal marks its item and the rest is still sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from holdspace.clients.participant import Participant
from holdspace.node.transport.base import TransportClosed
from holdspace.protocol import kinds
from holdspace.protocol.content import Reaction, Text, decode_content
from holdspace.protocol.errors import HoldspaceError
from tests.node.conftest import fay_and_ana
from tests.node.test_support import sessions


async def test_an_answer_lost_after_the_node_stored_it_costs_nothing(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    async with sessions(tmp_path) as (node, address, s_fay, s_ana, _):
        (fay, group), (ana, g_ana) = await fay_and_ana(tmp_path, address, s_fay, s_ana)

        ana.queue(g_ana, Text("written on a bad connection"))
        assert [i.error for i in Participant.load(tmp_path / "ana", "pass ana").outbox] == [None]  # sealed at once

        real_publish = s_ana.publish

        async def stored_then_lost(entry):  # type: ignore[no-untyped-def]
            await real_publish(entry)
            raise TransportClosed("the answer was lost")

        monkeypatch.setattr(s_ana, "publish", stored_then_lost)
        with pytest.raises(TransportClosed):
            await ana.send_outbox(s_ana)
        # Handed over: the item left the outbox in the same save that kept the signed entry.
        again = Participant.load(tmp_path / "ana", "pass ana")
        record = again.record(g_ana.group_id)
        assert again.outbox == []
        assert record.pending is not None and record.pending_words is not None

        monkeypatch.setattr(s_ana, "publish", real_publish)
        await again.sync(s_ana, record)  # sends the same bytes again: acknowledged as a duplicate
        mine = [m for m in record.messages if m.author == again.pseudonym(record).public_key]
        assert [m.text for m in mine] == ["written on a bad connection"]
        assert record.pending is None and record.pending_words is None

        await fay.sync(s_fay, group)
        heard = [m.text for m in group.messages if m.text == "written on a bad connection"]
        assert heard == ["written on a bad connection"]  # exactly once
        ana_key = again.pseudonym(record).public_key
        stored = [r for _, r in node.store.iter_group(group.group_id, 0, 10**6) if r.kind == kinds.MESSAGE]
        assert len([r for r in stored if r.author == ana_key]) == 1  # Ana's words, once


async def test_a_refusal_marks_its_item_and_the_rest_is_sent(tmp_path: Path) -> None:
    async with sessions(tmp_path) as (_, address, s_fay, s_ana, _):
        (fay, group), (ana, g_ana) = await fay_and_ana(tmp_path, address, s_fay, s_ana)
        ana.queue(g_ana, Text("first"))
        stray = ana.queue(g_ana, Reaction(b"\x00" * 32, "hug"))
        stray.group_id = b"\x01" * 32  # a group Ana is not in (left it, say) between writing and sending
        ana.queue(g_ana, Text("third"))
        assert await ana.send_outbox(s_ana) == 2
        assert [(i.item_id, i.error) for i in ana.outbox] == [(stray.item_id, "client.unknown_group")]
        await fay.sync(s_fay, group)
        assert [m.text for m in group.messages if m.text in {"first", "third"}] == ["first", "third"]
        ana.discard(stray.item_id)
        assert Participant.load(tmp_path / "ana", "pass ana").outbox == []


async def test_words_sent_again_and_then_refused_come_back_marked(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    async with sessions(tmp_path) as (_, address, s_fay, s_ana, _):
        (_fay, _group), (ana, g_ana) = await fay_and_ana(tmp_path, address, s_fay, s_ana)
        ana.queue(g_ana, Text("a private word"), to_facilitators=True)

        async def lost(entry):  # type: ignore[no-untyped-def]
            raise TransportClosed("lost before the node had it")

        async def refused(entry):  # type: ignore[no-untyped-def]
            raise HoldspaceError("group.not_member", "no longer a member")

        monkeypatch.setattr(s_ana, "publish", lost)
        with pytest.raises(TransportClosed):
            await ana.send_outbox(s_ana)
        assert ana.outbox == [] and g_ana.pending is not None
        monkeypatch.setattr(s_ana, "publish", refused)
        with pytest.raises(HoldspaceError, match=r"group\.not_member"):
            await ana.sync(s_ana, g_ana)  # the pending entry is sent again first, and refused
        kept = Participant.load(tmp_path / "ana", "pass ana").outbox
        assert [(i.error, i.to_facilitators, decode_content(i.content)) for i in kept] == [
            ("group.not_member", True, Text("a private word"))
        ]
