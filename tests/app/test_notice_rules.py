"""The rules behind the app's notices and "New since your last visit" (``clients.app.notices``), and
what the key file keeps of them: the choice (``notify``) and each group's read mark (``read``)."""

from __future__ import annotations

from pathlib import Path

from holdspace.clients.app.notices import advance, counts_as_new, first_new
from holdspace.clients.participant import GroupRecord, Participant
from holdspace.clients.records import Message


def row(i: str, cursor: int, you: bool = False) -> dict[str, object]:
    return {"id": i, "cursor": cursor, "you": you}


def test_the_line_goes_above_the_first_message_of_someone_else_since_the_mark() -> None:
    rows = [row("a", 3), row("b", 5, you=True), row("c", 6), row("d", 9)]
    assert first_new(rows, 4) == "c"  # b is the person's own
    assert first_new(rows, 9) is None  # nothing new
    assert first_new(rows, None) is None  # a first visit shows no line


def test_the_mark_only_moves_forward() -> None:
    record = GroupRecord(bytes(32), b"group:x", "circle")
    record.cursor = 7
    assert advance(record) and record.read_mark == 7
    assert not advance(record)
    record.read_mark = 9  # read further on another visit than this record's cursor (fetched again)
    assert not advance(record) and record.read_mark == 9


def test_only_texts_of_others_are_told_of() -> None:
    mine, other = b"m" * 32, b"o" * 32
    assert counts_as_new(Message(1, other, 1, 0, "hello"), mine)
    assert not counts_as_new(Message(2, mine, 1, 0, "hello"), mine)
    assert not counts_as_new(Message(3, other, 2, 0, None), mine)  # a reaction, an RSVP, unreadable


def test_the_key_file_keeps_the_choice_and_the_read_marks(tmp_path: Path) -> None:
    me = Participant.create(tmp_path / "me", "a long passphrase", None)
    assert not me.notify  # off unless chosen
    record = me._attach(GroupRecord(b"\x01" * 32, b"group:x", "circle"))
    record.cursor = 12
    advance(record)
    me.groups[record.group_id] = record
    me.notify = True
    me.save()
    again = Participant.load(tmp_path / "me", "a long passphrase")
    assert again.notify and again.groups[record.group_id].read_mark == 12
