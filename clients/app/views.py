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
from holdspace.clients.i18n import N_, _, current, ngettext
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

# Every text below is English, marked for extraction (N_); it is translated (_) where it is shown.
REACTION_LABELS = {
    "heart": ("❤️", N_("Heart")),
    "hug": ("🤗", N_("Hug")),
    "me-too": ("🙋", N_("Me too")),
    "thank-you": ("🙏", N_("Thank you")),
}
NOT_SENT = {  # why something written could not be sent, in the writer's terms
    "client.not_member": N_("you are not a member of this group at the moment"),
    "client.unknown_group": N_("you are no longer in this group"),
}
MOODS = {1: N_("very low"), 2: N_("low"), 3: N_("okay"), 4: N_("good"), 5: N_("very good")}
UNREADABLE = {
    "e2ee.unknown_epoch": N_("written before you joined, so it was locked with keys you were never given"),
    "e2ee.ratchet_window": N_("its key was already used or is gone"),
}
DELETED = {  # what happened to a message whose words are gone, in everyday words
    "redacted": N_("This message was removed. Its words are gone for everyone."),
    "erased": N_("This message was deleted by its author. Its words are gone for everyone."),
    "expired": N_("This message was set to disappear, and did. Its words are gone for everyone."),
    "muted": N_("This message was sent while its author was muted. Its words are gone for everyone."),
}
ROLE_WORDS = {"member": N_("member"), "moderator": N_("moderator"), "facilitator": N_("facilitator")}
ANSWER_WORDS = {"yes": N_("yes"), "no": N_("no"), "maybe": N_("maybe")}
UNNAMED = N_("A group without a name yet")


def role_word(role: str | None) -> str | None:
    """A role (``protocol.payloads.ROLES``) in the current language; None stays None."""
    return None if role is None else _(ROLE_WORDS.get(role, role))


def answer_word(answer: str | None) -> str | None:
    """An RSVP answer in the current language; None stays None."""
    return None if answer is None else _(ANSWER_WORDS.get(answer, answer))


def mood_words() -> dict[int, str]:
    """:data:`MOODS` in the current language."""
    return {k: _(v) for k, v in MOODS.items()}


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
    if current() == "en":
        text = moment.strftime("%a %d %b, %H:%M")
    else:  # day and month names in the person's language
        from babel.dates import format_datetime  # noqa: PLC0415 - only when a translation is used

        text = format_datetime(moment, "EEE d MMM, HH:mm", locale=current())
    return {"iso": moment.isoformat(timespec="seconds"), "text": text}


def member_label(key: bytes, mine: bytes | None = None) -> str:
    """A speakable name for a pseudonym that cannot be ground: its four label words (spec 17.14).
    Pages that show members side by side use :class:`clients.people.People` (display names and
    look-alike suffixes) instead."""
    return _("You") if key == mine else label(key)


def duration_words(ms: int) -> str:
    """A duration as people say it: "90 minutes", "1 hour", "36 hours", "2 days" (whole units only,
    the largest that divides it, never "24.0 hours")."""
    minutes = ms // 60_000
    if minutes >= 1440 and minutes % 1440 == 0:
        return ngettext("{n} day", "{n} days", minutes // 1440)
    if minutes >= 60 and minutes % 60 == 0:
        return ngettext("{n} hour", "{n} hours", minutes // 60)
    if minutes >= 1:
        return ngettext("{n} minute", "{n} minutes", minutes)
    return ngettext("{n} second", "{n} seconds", max(1, ms // 1000))


def counted(n: int, one: str, many: str | None = None) -> str:
    """ "1 moderator", "3 moderators": a number with its noun agreeing."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def person_view(person: Person) -> dict[str, Any]:
    return {
        "name": person.name,
        "label": person.label,
        "role": role_word(person.role),
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
        return {"verified": True, "role": badge.role, "why": _("checked: issued by an issuer this group trusts")}
    return {"verified": False, "role": badge.role or _("credential"), "why": badge.reason}


def group_name(record: GroupRecord) -> str:
    """The group's name: its profile's (17.12), else the one the invite or this person gave, never
    a fragment of its id."""
    return group_title(record) or _(UNNAMED)


def group_summary(me: Participant, record: GroupRecord) -> dict[str, Any]:
    role = record.state.role_of(me.pseudonym(record).public_key) if record.state is not None else None
    return {
        "id": record.group_id.hex(),
        "name": group_name(record),
        "role": role_word(role),
        "member": role is not None,
    }


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
        "deleted": _(DELETED.get(m.deleted, DELETED["redacted"])) if m.deleted else None,
        "problem": None if m.problem is None else _(UNREADABLE.get(m.problem, N_("it could not be opened"))),
        "problem_code": m.problem,
        "direct": m.kind == kinds.DIRECT,
        "expires": when(m.expires_ms) if m.expires_ms else None,
        "reactions": [
            {
                "name": name,
                "emoji": REACTION_LABELS[name][0],
                "label": _(REACTION_LABELS[name][1]),
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
    return _(UNREADABLE.get(code, N_("it could not be opened")))


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
        what = _("Your reaction ({reaction})", reaction=_(REACTION_LABELS[content.reaction][1]))
    elif isinstance(content, CheckIn):
        what = _("Your check-in ({mood})", mood=_(MOODS[content.mood]))
    elif isinstance(content, Rsvp):
        what = _("Your answer ({answer})", answer=answer_word(content.answer))
    elif isinstance(content, Edit):
        what = _("Your correction: {body}", body=content.body)
    elif isinstance(content, DisplayName):
        what = (
            _("Your name in this group: {name}", name=content.name)
            if content.name
            else _("Going back to your four words")
        )
    elif isinstance(content, Profile):
        what = _("The group's new name and description: {name}", name=content.name)
    else:
        what = _("Something you wrote")
    reason = None
    if item.error is not None:
        found = NOT_SENT.get(item.error)
        reason = _(found) if found is not None else CODES.get(item.error, _("it was refused"))
    return {
        "id": item.item_id.hex(),
        "what": what,
        "time": when(item.queued_ms),
        "error": item.error,
        "reason": reason,
        "sending": False,
    }
