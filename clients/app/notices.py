"""What the app's pages need for notices and "New since your last visit" (issue 19, point 11).

The notices themselves are shown by the page's script (``static/app.js``), only if the person chose
them in Settings (kept in the key file as ``notify``), only while the page is open but hidden, and
never with words: "New message in <group name>", "The session starts in N minutes". There is no
push server: a closed page tells nothing. The server only says, through the live events, which
groups have new messages from others (with their names) and which sessions start soon.

The last visit: each group's record keeps the node's cursor the person last had on screen
(``GroupRecord.read_mark``, in the key file as ``read``). A visit (the conversation loaded as a
page) remembers the mark it found, so the line stays where it was while the page refreshes itself;
the page's refreshes move the mark on only while the page is visible.

Invariants: a mark only moves forward; the line is above a message of someone else whose cursor is
after the visit's mark, never above one of the person's own, and never on a first visit (no mark).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from holdspace.clients.i18n import _
from holdspace.clients.participant import GroupRecord, Participant
from holdspace.clients.records import Message
from holdspace.protocol.schedule import upcoming

SOON_MS = 15 * 60_000  # a session is reminded of when it starts within this time
UNREAD_LINE = "New since your last visit"


def first_new(rows: Iterable[Mapping[str, Any]], since: int | None) -> str | None:
    """The id of the first message row (in the order shown) that someone else wrote and that arrived
    after ``since`` (a row's ``cursor``); None on a first visit or when nothing is new."""
    if since is None:
        return None
    for row in rows:
        if not row["you"] and row.get("cursor", 0) > since:
            return str(row["id"])
    return None


def advance(record: GroupRecord) -> bool:
    """Move the record's read mark to what it has read (True if it moved: the key file is to be saved)."""
    if record.read_mark is None or record.cursor > record.read_mark:
        record.read_mark = record.cursor
        return True
    return False


def counts_as_new(m: Message, mine: bytes) -> bool:
    """A message a notice is about: a text someone else wrote (not a reaction, an RSVP, a session's details)."""
    return m.author != mine and m.text is not None


def soon(me: Participant, now_ms: int, names: Mapping[bytes, str]) -> list[dict[str, Any]]:
    """Occurrences of every group's sessions that start within ``SOON_MS`` (and have not started):
    ``{"g": group hex, "name", "key": "<session hex>:<index>", "start": ms}``; never a session's title."""
    out: list[dict[str, Any]] = []
    for gid, record in me.groups.items():
        state = record.state
        if state is None or not state.sessions:
            continue
        for occ in upcoming(state, now_ms, 5):
            if now_ms < occ.start_ms <= now_ms + SOON_MS:
                key = f"{occ.session_id.hex()}:{occ.index}"
                out.append({"g": gid.hex(), "name": names.get(gid, _("your group")), "key": key, "start": occ.start_ms})
    return out
