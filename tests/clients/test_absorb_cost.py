"""What reading costs a client as its group ages (spec 13.1, the bounded-state rule): a batch of
messages walks none of the group's epochs and recomputes no deletion mark, and a rekey is opened
by looking at the epochs it adds, not at every epoch of the group's life."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from holdspace.clients import participant as participant_module
from holdspace.clients.participant import Participant
from holdspace.protocol.address import InviteToken
from tests.node.conftest import circle, people


async def test_messages_walk_no_epoch_and_a_rekey_only_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    walked: list[tuple[int, int]] = []  # (epochs looked at before, epochs of the state) per walk
    marks: list[int] = []
    open_epochs = Participant._open_epochs
    deletion_mark = participant_module._deletion_mark

    def counted_open(self: Participant, record: Any, state: Any, keys: Any, me: Any) -> None:
        walked.append((record.epochs_looked_at, len(state.epochs)))
        open_epochs(self, record, state, keys, me)

    def counted_mark(state: Any) -> bytes:
        marks.append(1)
        return deletion_mark(state)

    async with circle(tmp_path, spare=1) as c:
        monkeypatch.setattr(Participant, "_open_epochs", counted_open)
        monkeypatch.setattr(participant_module, "_deletion_mark", counted_mark)

        for i in range(3):
            await c.fay.send(c.s_fay, c.group, f"message {i}")
        await c.ana.sync(c.s_ana, c.g_ana)
        assert [m.text for m in c.g_ana.messages][-3:] == ["message 0", "message 1", "message 2"]
        assert walked == [] and marks == []  # three messages: nothing of the group's past is walked

        (pat,) = people(tmp_path, c.address, "pat")
        await pat.join(c.spare[0], InviteToken.parse(await c.fay.invite(c.s_fay, c.group)))
        await c.fay.ensure_clean_epoch(c.s_fay, c.group)  # pat's arrival: a new epoch, sealed to ana too
        await c.fay.send(c.s_fay, c.group, "after the rekey")
        await c.ana.sync(c.s_ana, c.g_ana)
        assert c.g_ana.messages[-1].text == "after the rekey"  # the new epoch was opened
        assert walked and all(before > 0 for before, _ in walked)  # from where the last walk stopped
        assert walked[-1][1] == len(c.g_ana.state.epochs) if c.g_ana.state else False
        assert marks  # the control entries changed the state: the mark is computed again
