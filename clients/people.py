"""Who is who in a group, as a client shows it (spec 17.13, 17.14): display names, labels, roles.

Computed from what the client has read, nothing sent. A member's display name is its latest ``name``
content (highest seq) while it is a current member; a member without one is shown by its label
(four words, ``protocol.labels``). Members whose names look alike are all shown with a suffix and
flagged (``lookalike``), so that no member, a facilitator included, can be imitated unnoticed. Roles
come from the group state computed from the signed control log, never from what anyone wrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from holdspace.protocol.content import DisplayName
from holdspace.protocol.labels import Shown, label, shown_names
from holdspace.protocol.payloads import FACILITATOR, MODERATOR

if TYPE_CHECKING:
    from holdspace.clients.participant import GroupRecord

ROLE_WORDS = {FACILITATOR: "facilitator", MODERATOR: "moderator"}


def display_names(record: GroupRecord) -> dict[bytes, str | None]:
    """Each author's latest display name (highest seq; None: withdrawn), current members only."""
    latest: dict[bytes, tuple[int, str | None]] = {}
    for m in record.messages.extras():
        content = m.content
        if isinstance(content, DisplayName) and (m.author not in latest or m.seq > latest[m.author][0]):
            latest[m.author] = (m.seq, content.name)
    state = record.state
    members = state.members if state is not None else {}
    return {k: v[1] for k, v in latest.items() if k in members}


@dataclass(frozen=True, slots=True)
class Person:
    """How one pseudonym is shown: ``name`` (with its suffix if it looks like another's), ``label``
    (its four words, always available to compare), ``role`` (a word, or None for a member) and
    whether the reader should be warned that another member's name looks alike."""

    name: str
    label: str
    role: str | None
    lookalike: bool
    you: bool


class People:
    """The people of one group, computed once for a page."""

    def __init__(self, record: GroupRecord, mine: bytes | None = None) -> None:
        state = record.state
        names = display_names(record)
        keys = set(state.members) if state is not None else set()
        if mine is not None:
            keys.add(mine)
        self.mine = mine
        self.roles = {k: m.role for k, m in state.members.items()} if state is not None else {}
        self.shown: dict[bytes, Shown] = shown_names({k: names.get(k) for k in keys})
        self.own_name = names.get(mine) if mine is not None else None

    def __call__(self, key: bytes) -> Person:
        shown = self.shown.get(key)
        role = ROLE_WORDS.get(self.roles.get(key, ""))
        if shown is None:  # a former member: its label only
            return Person(label(key), label(key), None, False, key == self.mine)
        text = "You" if key == self.mine else shown.text
        return Person(text, label(key), role, shown.lookalike, key == self.mine)

    def name(self, key: bytes) -> str:
        return self(key).name

    @property
    def lookalikes(self) -> bool:
        """Whether any two members' names look alike (the page then says how to tell them apart)."""
        return any(s.lookalike for s in self.shown.values())
