"""Replies and edits as a client shows them (spec 17.15), computed from what it has read.

An ``edit`` counts only if its author wrote the text it names (the same pseudonym), its timestamp is
not before the text's and at most ``EDIT_WINDOW_MS`` after it, and neither has been deleted; among
those, the greatest (timestamp, entry id) is the text shown, marked "edited". Every client holding
the same entries shows the same text. A reply shows the start of the message it answers, if the
client can read it; a message under a content warning is quoted by its warning only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from holdspace.protocol.content import EDIT_WINDOW_MS, Edit, Text

if TYPE_CHECKING:
    from holdspace.clients.participant import GroupRecord, Message

QUOTE_CHARS = 160  # characters of a replied-to message shown above the reply


@dataclass(frozen=True, slots=True)
class Edited:
    body: str
    warning: str | None
    edit_ids: tuple[bytes, ...]  # every edit entry of the text (redacted with it)


def edit_candidates(record: GroupRecord) -> dict[bytes, list[Message]]:
    """The edit messages read, by the entry id they name (not yet checked against the text)."""
    found: dict[bytes, list[Message]] = {}
    for m in record.messages.extras():
        content = m.content
        if isinstance(content, Edit) and m.deleted is None:
            found.setdefault(content.target, []).append(m)
    return found


def latest_edit(original: Message, candidates: list[Message]) -> Edited | None:
    """The edit that counts for ``original`` (a text message), by the rule above, or None."""
    if original.deleted is not None or not isinstance(original.content, Text):
        return None
    valid = [
        m
        for m in candidates
        if m.author == original.author and 0 <= m.timestamp_ms - original.timestamp_ms <= EDIT_WINDOW_MS
    ]
    if not valid:
        return None
    best = max(valid, key=lambda m: (m.timestamp_ms, m.entry_id))
    content = best.content
    assert isinstance(content, Edit)
    return Edited(content.body, content.warning, tuple(m.entry_id for m in valid))


def may_edit(original: Message, mine: bytes, now_ms: int) -> bool:
    """Whether the reader may still edit ``original``: its own readable text, within the window."""
    return (
        original.author == mine
        and original.deleted is None
        and isinstance(original.content, Text)
        and now_ms - original.timestamp_ms <= EDIT_WINDOW_MS
    )


def quoted(text: str) -> str:
    """The start of a replied-to text, on one line, cut at ``QUOTE_CHARS`` characters."""
    line = " ".join(text.split())
    return line if len(line) <= QUOTE_CHARS else line[: QUOTE_CHARS - 1] + "…"
