"""What the pages show, computed from the participant's state: plain dicts for the templates.

Nothing here performs I/O or sends anything; nothing secret (keys, seeds, the master secret) is ever
put in a view. Words are the only sensitive thing a view holds, and they go to the local page only.
"""

from __future__ import annotations

import os
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from holdspace.clients.corrections import edit_candidates, latest_edit, may_edit, quoted
from holdspace.clients.participant import GroupRecord, Message, Outgoing, Participant
from holdspace.clients.people import People, Person
from holdspace.clients.support import badges, group_title, may_moderate, reactions
from holdspace.protocol import kinds
from holdspace.protocol.content import (
    REACTIONS,
    CheckIn,
    DisplayName,
    Edit,
    Profile,
    Reaction,
    Rsvp,
    Text,
    decode_content,
)
from holdspace.protocol.credential import Badge
from holdspace.protocol.errors import CODES, HoldspaceError
from holdspace.protocol.labels import label
from holdspace.protocol.schedule import zone

REACTION_LABELS = {
    "heart": ("❤️", "Heart"),
    "hug": ("🤗", "Hug"),
    "me-too": ("🙋", "Me too"),
    "thank-you": ("🙏", "Thank you"),
}
NOT_SENT = {  # why something written could not be sent, in the writer's terms
    "client.not_member": "you are not a member of this group at the moment",
    "client.unknown_group": "you are no longer in this group",
}
MOODS = {1: "very low", 2: "low", 3: "okay", 4: "good", 5: "very good"}
UNREADABLE = {
    "e2ee.unknown_epoch": "written before you joined, so it was locked with keys you were never given",
    "e2ee.ratchet_window": "its key was already used or is gone",
}
DELETED = {  # what happened to a message whose words are gone, in everyday words
    "redacted": "removed",
    "erased": "deleted by its author",
    "expired": "set to disappear, and did",
    "muted": "sent while its author was muted",
}
UNNAMED = "A group without a name yet"


@lru_cache(maxsize=1)
def local_zone() -> str:
    """The IANA zone times are shown in: $TZ, else the system's, else UTC."""
    name = os.environ.get("TZ", "").lstrip(":")
    if not name:
        try:
            target = Path("/etc/localtime").resolve()
            name = str(target).split("zoneinfo/", 1)[1] if "zoneinfo/" in str(target) else ""
        except OSError:
            name = ""
    try:
        zone(name or "UTC")
    except HoldspaceError:
        return "UTC"
    return name or "UTC"


def when(ms: int, tz: str | None = None) -> dict[str, str]:
    moment = datetime.fromtimestamp(ms / 1000, zone(tz or local_zone()))
    return {"iso": moment.isoformat(timespec="seconds"), "text": moment.strftime("%a %d %b, %H:%M")}


def member_label(key: bytes, mine: bytes | None = None) -> str:
    """A speakable name for a pseudonym that cannot be ground: its four label words (spec 17.14).
    Pages that show members side by side use :class:`clients.people.People` (display names and
    look-alike suffixes) instead."""
    return "You" if key == mine else label(key)


def duration_words(ms: int) -> str:
    """A duration as people say it: "90 minutes", "1 hour", "36 hours", "2 days" (whole units only,
    the largest that divides it, never "24.0 hours")."""
    minutes = ms // 60_000
    for size, unit in ((1440, "day"), (60, "hour"), (1, "minute")):
        if minutes >= size and minutes % size == 0:
            n = minutes // size
            return f"{n} {unit}{'' if n == 1 else 's'}"
    seconds = max(1, ms // 1000)
    return f"{seconds} second{'' if seconds == 1 else 's'}"


def counted(n: int, one: str, many: str | None = None) -> str:
    """ "1 moderator", "3 moderators": a number with its noun agreeing."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def person_view(person: Person) -> dict[str, Any]:
    return {
        "name": person.name,
        "label": person.label,
        "role": person.role,
        "lookalike": person.lookalike,
        "you": person.you,
    }


def badge_view(found: dict[bytes, Badge], key: bytes) -> dict[str, Any] | None:
    """A member's badge for the page; ``found``: the group's badges (``clients.support.badges``),
    computed once for a whole page."""
    badge = found.get(key)
    if badge is None:
        return None
    if badge.verified:
        return {"verified": True, "role": badge.role, "why": "checked: issued by an issuer this group trusts"}
    return {"verified": False, "role": badge.role or "credential", "why": badge.reason}


def group_name(record: GroupRecord) -> str:
    """The group's name: its profile's (17.12), else the one the invite or this person gave, never
    a fragment of its id."""
    return group_title(record) or UNNAMED


def group_summary(me: Participant, record: GroupRecord) -> dict[str, Any]:
    role = record.state.role_of(me.pseudonym(record).public_key) if record.state is not None else None
    return {"id": record.group_id.hex(), "name": group_name(record), "role": role, "member": role is not None}


#: the newest entries of a group shown as its conversation (older ones stay on the device)
PAGE = 300


def messages(me: Participant, record: GroupRecord, limit: int = PAGE) -> list[dict[str, Any]]:
    """The conversation: the text messages (and ones this client cannot read) among the group's
    newest ``limit`` entries, oldest first. Reactions, check-ins, RSVPs and the rest are shown by
    their own views, not as messages."""
    mine = me.pseudonym(record).public_key
    given = reactions(record)
    own_reactions = _own_reactions(record, mine)
    moderator = may_moderate(record, mine)
    found = badges(record, me.clock())  # once per page, not once per message
    people = People(record, mine)
    edits = edit_candidates(record)
    page = record.messages.page(limit=limit)
    by_id = {m.entry_id: m for m in page}
    now = me.clock()
    rows: list[dict[str, Any]] = []
    for m in page:
        if m.kind not in (kinds.MESSAGE, kinds.DIRECT) or m.deleted == "pruned":
            continue  # pruned words are counted in one note above the conversation
        content = m.content
        if content is not None and not isinstance(content, Text):
            continue
        row = _message_row(m, mine, given, own_reactions, moderator, found)
        _correct(row, m, people, edits, by_id, now)
        previous = rows[-1] if rows else None
        if row["problem"] and previous is not None and previous.get("sealed") == row["problem"]:
            previous["count"] += 1  # a run of messages sealed before our time is one note, not a wall
            continue
        if row["problem"]:
            row["sealed"] = row["problem"]
        rows.append(row)
    return rows


def _message_row(
    m: Message,
    mine: bytes,
    given: dict[bytes, Any],
    own_reactions: set[tuple[bytes, str]],
    moderator: bool,
    found: dict[bytes, Badge],
) -> dict[str, Any]:
    content = m.content
    warning = content.warning if isinstance(content, Text) else None
    counts = given.get(m.entry_id, {})
    return {
        "id": m.entry_id.hex(),
        "author": member_label(m.author, mine),
        "you": m.author == mine,
        "cursor": m.cursor,  # where it arrived in the home node's log ("New since your last visit")
        "time": when(m.timestamp_ms),
        "text": m.text,
        "warning": warning,
        "deleted": DELETED.get(m.deleted, m.deleted) if m.deleted else None,
        "problem": None if m.problem is None else UNREADABLE.get(m.problem, "it could not be opened"),
        "problem_code": m.problem,
        "direct": m.kind == kinds.DIRECT,
        "expires": when(m.expires_ms) if m.expires_ms else None,
        "reactions": [
            {
                "name": name,
                "emoji": REACTION_LABELS[name][0],
                "label": REACTION_LABELS[name][1],
                "count": counts.get(name, 0),
                "mine": (m.entry_id, name) in own_reactions,
            }
            for name in REACTIONS
        ],
        "badge": badge_view(found, m.author),
        "can_redact": m.deleted is None and (m.author == mine or moderator),
        "can_report": m.deleted is None and m.key is not None and m.author != mine,
        "sealed": None,  # for a run of unreadable messages: why they cannot be read
        "count": 1,
    }


def _correct(
    row: dict[str, Any],
    m: Message,
    people: People,
    edits: dict[bytes, list[Message]],
    by_id: dict[bytes, Message],
    now: int,
) -> None:
    """Add to a message row who wrote it (name, label, role, look-alike warning), its latest edit,
    and the message it replies to (spec 17.13-17.15)."""
    author = people(m.author)
    row.update(author=author.name, person=person_view(author), edited=False, reply=None)
    row["can_edit"] = row["you"] and m.kind == kinds.MESSAGE and may_edit(m, m.author, now)
    edited = latest_edit(m, edits.get(m.entry_id, []))
    if edited is not None:
        row.update(text=edited.body, warning=edited.warning, edited=True)
    content = m.content
    if isinstance(content, Text) and content.reply is not None:
        target = by_id.get(content.reply)
        row["reply"] = _reply_view(target, people, edits)


def _reply_view(target: Message | None, people: People, edits: dict[bytes, list[Message]]) -> dict[str, Any]:
    """What a reply shows of the message it answers: its author and first words, its warning only
    if it has one, or that it cannot be shown."""
    content = target.content if target is not None else None
    if target is None or target.deleted is not None or not isinstance(content, Text):
        return {"author": None, "text": None, "warning": None, "id": None}
    body, warning = content.body, content.warning
    edited = latest_edit(target, edits.get(target.entry_id, []))
    if edited is not None:
        body, warning = edited.body, edited.warning
    return {
        "author": people(target.author).name,
        "text": None if warning else quoted(body),
        "warning": warning,
        "id": target.entry_id.hex(),
    }


def _unreadable(code: str | None) -> str | None:
    if code is None:
        return None
    return UNREADABLE.get(code, "it could not be opened")


def _own_reactions(record: GroupRecord, mine: bytes) -> set[tuple[bytes, str]]:
    on: dict[tuple[bytes, str], bool] = {}
    for m in record.messages.extras():
        content = m.content
        if m.author == mine and isinstance(content, Reaction):
            on[(content.target, content.reaction)] = not content.undo
    return {k for k, v in on.items() if v}


def outbox(me: Participant, record: GroupRecord) -> list[dict[str, Any]]:
    """What waits to be sent in this group (or was refused), described in words: first what is being
    sent right now (signed, not yet acknowledged), then the outbox."""
    rows = []
    if record.pending is not None and record.pending_words is not None:
        pending = Outgoing(b"", record.group_id, record.pending_words[0], me.clock())
        rows.append({**_outgoing_row(pending), "sending": True})
    return rows + [_outgoing_row(item) for item in me.outbox if item.group_id == record.group_id]


def _outgoing_row(item: Outgoing) -> dict[str, Any]:
    try:
        content = decode_content(item.content)
    except HoldspaceError:
        content = None
    if isinstance(content, Text):
        what = content.body
    elif isinstance(content, Reaction):
        what = f"Your reaction ({REACTION_LABELS[content.reaction][1]})"
    elif isinstance(content, CheckIn):
        what = f"Your check-in ({MOODS[content.mood]})"
    elif isinstance(content, Rsvp):
        what = f"Your answer ({content.answer})"
    elif isinstance(content, Edit):
        what = f"Your correction: {content.body}"
    elif isinstance(content, DisplayName):
        what = f"Your name in this group: {content.name}" if content.name else "Going back to your four words"
    elif isinstance(content, Profile):
        what = f"The group's new name and description: {content.name}"
    else:
        what = "Something you wrote"
    reason = None
    if item.error is not None:
        reason = NOT_SENT.get(item.error) or CODES.get(item.error, "it was refused")
    return {
        "id": item.item_id.hex(),
        "what": what,
        "time": when(item.queued_ms),
        "error": item.error,
        "reason": reason,
        "sending": False,
    }
