"""What a support group's client shows, computed from what it has read (no I/O, nothing sent).

Every view trusts only what it can check: roles come from the group state the client computed from
the signed control log; a pin or a talking-piece turn counts only if its author is a facilitator now;
a report's words are checked against the reported author's signature; a badge only if the credential
verifies against an issuer the group trusts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from holdspace.clients.crisis import DEFAULT_RESOURCES
from holdspace.clients.moderation import removal_words
from holdspace.protocol import kinds
from holdspace.protocol.content import (
    CheckIn,
    CredentialPost,
    Pin,
    Profile,
    Quote,
    Reaction,
    Report,
    RevocationPost,
    Rsvp,
    SessionDetails,
    Text,
    Turn,
    decode_content,
    verify_disclosure,
)
from holdspace.protocol.credential import Badge, check_badge
from holdspace.protocol.entry import Entry
from holdspace.protocol.errors import HoldspaceError
from holdspace.protocol.payloads import FACILITATOR, RANK, Mute, Redact, Remove, RoleChange, decode_payload
from holdspace.protocol.schedule import Occurrence, upcoming

if TYPE_CHECKING:
    from holdspace.clients.participant import GroupRecord, Message
    from holdspace.protocol.group import GroupState


def is_facilitator(record: GroupRecord, key: bytes) -> bool:
    return record.state is not None and record.state.role_of(key) == FACILITATOR


Carried = Pin | Profile  # what a facilitator publishes for the whole group, carried to newcomers by quotes


def current_pin(record: GroupRecord) -> Message | None:
    """The message that carries the group's current crisis resources (spec 17.8): a pin, or a verified
    quote of one, whose pinned entry's author is a facilitator now and which the group has not deleted.

    Pins are ordered by the **pinned entry's** own (timestamp, entry id), which only its facilitator
    signed: for a quote, the disclosed entry's, never the quote's, so a member's quote can show a pin
    again but never make an older pin current. Ties (the same pin read directly and quoted) go to the
    pin itself, then to the earliest message; every client holding the same entries agrees. For a quote,
    the message returned is the quote; its words are the pin's, verified against the facilitator's
    signature."""
    return _current(record, Pin)


def current_profile(record: GroupRecord) -> Message | None:
    """The message that carries the group's current profile (spec 17.12): the same rule as the pin's
    (:func:`current_pin`) for ``profile`` content."""
    return _current(record, Profile)


def _current(record: GroupRecord, kind: type[Carried]) -> Message | None:
    found: Message | None = None
    best: tuple[int, bytes, int] | None = None
    for m in record.messages.extras():  # pins and quotes are among the messages that are not texts
        content = m.content
        rank: tuple[int, bytes, int] | None = None
        if isinstance(content, kind) and is_facilitator(record, m.author):
            rank = (m.timestamp_ms, m.entry_id, 1)
        elif isinstance(content, Quote):
            quoted = _quoted(record, content, kind)
            if quoted is not None:
                rank = (quoted[0].timestamp_ms, quoted[0].entry_id, 0)
        if rank is not None and (best is None or rank > best):
            found, best = m, rank
    return found


def _quoted(record: GroupRecord, quote: Quote, kind: type[Carried]) -> tuple[Entry, Carried] | None:
    """The pin (or profile) a quote discloses, if it verifies (13.6), is one by a facilitator now and
    the group has not redacted or erased it."""
    try:
        entry, plaintext = verify_disclosure(record.group_id, quote.disclosure)
        inner = decode_content(plaintext)
    except HoldspaceError:
        return None
    state = record.state
    if (
        not isinstance(inner, kind)
        or not is_facilitator(record, entry.author)
        or state is None
        or state.deleted(entry.author, entry.seq, entry.entry_id) is not None
    ):
        return None
    return entry, inner


def carried(record: GroupRecord, m: Message | None) -> Carried | None:
    """The pin or profile a current message (:func:`current_pin`, :func:`current_profile`) carries."""
    content = m.content if m is not None else None
    if isinstance(content, (Pin, Profile)):
        return content
    if isinstance(content, Quote):
        for kind in (Pin, Profile):
            quoted = _quoted(record, content, kind)
            if quoted is not None:
                return quoted[1]
    return None


def group_profile(record: GroupRecord) -> Profile | None:
    """The group's current name, description and guidelines, if a facilitator published any this
    client can read (directly, or quoted into an epoch it can open)."""
    found = carried(record, current_profile(record))
    return found if isinstance(found, Profile) else None


def group_title(record: GroupRecord) -> str | None:
    """The group's name as members see it: the current profile's (17.12), else the name this device
    was given for it (by the invite, or by its person), else None."""
    profile = group_profile(record)
    return profile.name if profile is not None else record.name


def crisis_resources(record: GroupRecord) -> tuple[str, bool]:
    """The group's pinned crisis resources, and whether they are the group's (False: the built-in
    default, shown when no facilitator pinned any that this client can read)."""
    found = carried(record, current_pin(record))
    if isinstance(found, Pin):
        return found.resources, True
    return DEFAULT_RESOURCES, False


def reactions(record: GroupRecord) -> dict[bytes, Counter[str]]:
    """Per message id: how many members gave each reaction (one of each kind per member; undo removes)."""
    given: dict[tuple[bytes, bytes, str], bool] = {}
    for m in record.messages.extras():
        content = m.content
        if isinstance(content, Reaction):
            given[(content.target, m.author, content.reaction)] = not content.undo
    out: dict[bytes, Counter[str]] = {}
    for (target, _, reaction), on in given.items():
        if on:
            out.setdefault(target, Counter())[reaction] += 1
    return out


@dataclass(slots=True)
class SessionView:
    occurrence: Occurrence
    title: str
    about: str | None
    tz: str
    retention_ms: int | None
    facilitator: bytes
    rsvps: dict[bytes, str] = field(default_factory=dict)
    talking_piece: bytes | None = None


def _holder(state: GroupState, holder: bytes | None) -> bytes | None:
    """The talking piece's holder: a removed (or departed) member holds it no more (17.3)."""
    return holder if holder is not None and holder in state.members else None


def sessions(record: GroupRecord, now_ms: int, limit: int = 20) -> list[SessionView]:
    """Upcoming (and running) occurrences with their titles, RSVPs and who holds the talking piece."""
    state = record.state
    if state is None:
        return []
    details: dict[bytes, SessionDetails] = {}
    rsvps: dict[tuple[bytes, int], dict[bytes, str]] = {}
    turns: dict[tuple[bytes, int], tuple[int, bytes, bytes | None]] = {}  # latest by (time, id): same on every client
    for m in record.messages.extras():
        content = m.content
        if isinstance(content, SessionDetails) and m.kind == kinds.SESSION:
            details[m.entry_id] = content
        elif isinstance(content, Rsvp) and m.author in state.members:
            rsvps.setdefault((content.session, content.occurrence), {})[m.author] = content.answer
        elif isinstance(content, Turn) and is_facilitator(record, m.author):
            key = (content.session, content.occurrence)
            if key not in turns or (m.timestamp_ms, m.entry_id) > turns[key][:2]:
                turns[key] = (m.timestamp_ms, m.entry_id, content.holder)
    out: list[SessionView] = []
    for occ in upcoming(state, now_ms, limit):
        scheduled = state.sessions[occ.session_id]
        found = details.get(scheduled.entry_id)
        title = found.title if found else "(a session scheduled before you joined: its title is sealed)"
        key = (occ.session_id, occ.index)
        out.append(
            SessionView(
                occ,
                title,
                found.about if found else None,
                scheduled.spec.tz,
                scheduled.spec.retention_ms,
                scheduled.author,
                rsvps.get(key, {}),
                _holder(state, turns[key][2]) if key in turns else None,
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class CheckInSummary:
    count: int
    moods: dict[int, int]  # mood -> how many
    average: float | None
    words: list[str]


def checkin_summary(record: GroupRecord, session_id: bytes, occurrence: int) -> CheckInSummary:
    """Check-ins of one occurrence that this client can read (a facilitator reads those shared with
    facilitators only, too): the latest per member."""
    latest: dict[bytes, CheckIn] = {}
    for m in record.messages.extras():
        content = m.content
        if isinstance(content, CheckIn) and content.occurrence == (session_id, occurrence):
            latest[m.author] = content
    moods = Counter(c.mood for c in latest.values())
    average = sum(c.mood for c in latest.values()) / len(latest) if latest else None
    words = sorted(c.word for c in latest.values() if c.word)
    return CheckInSummary(len(latest), dict(sorted(moods.items())), average, words)


@dataclass(frozen=True, slots=True)
class ReportView:
    reporter: bytes
    time_ms: int
    reason: str
    verified: bool
    reported_author: bytes | None
    reported_id: bytes | None
    words: str | None
    problem: str | None  # why the disclosure does not verify


def reports(record: GroupRecord) -> list[ReportView]:
    out: list[ReportView] = []
    for m in record.messages.extras():
        content = m.content
        if not isinstance(content, Report):
            continue
        try:
            entry, plaintext = verify_disclosure(record.group_id, content.disclosure)
            inner = decode_content(plaintext)
        except HoldspaceError as err:
            out.append(ReportView(m.author, m.timestamp_ms, content.reason, False, None, None, None, err.message))
            continue
        words = inner.body if isinstance(inner, Text) else None
        out.append(
            ReportView(m.author, m.timestamp_ms, content.reason, True, entry.author, entry.entry_id, words, None)
        )
    return out


@dataclass(frozen=True, slots=True)
class LogLine:
    time_ms: int
    actor: bytes
    action: str
    target: bytes | None
    outcome: str | None  # None: applied; else the code it was ignored with
    until_ms: int | None = None  # a mute's end (0: the mute was lifted)
    reason: str | None = None  # a removal's reason, when this client can read it


def moderation_log(record: GroupRecord) -> list[LogLine]:
    """Removals (with the reason, for those who can read it), bans, mutes, role changes and redactions
    by others, in the group's agreed order, plus the reports this client can read."""
    state = record.state
    if state is None:
        return []
    by_id = {e.entry_id: e for e in record.controls}
    lines: list[LogLine] = []
    for eid in state.order:
        entry = by_id.get(eid)
        if entry is None or entry.kind not in (kinds.REMOVE, kinds.ROLE, kinds.REDACT, kinds.MUTE):
            continue
        payload = record.cache.payloads.get(eid) or decode_payload(entry.kind, entry.payload or b"", entry.author)
        outcome = state.outcomes.get(eid)
        if isinstance(payload, Remove):
            action = "ban" if payload.ban else "remove"
            reason = removal_words(record, entry, payload).reason if payload.reason is not None else None
            lines.append(LogLine(entry.timestamp_ms, entry.author, action, payload.target, outcome, reason=reason))
        elif isinstance(payload, Mute):
            action = "mute" if payload.until_ms > entry.timestamp_ms else "unmute"
            lines.append(
                LogLine(entry.timestamp_ms, entry.author, action, payload.target, outcome, until_ms=payload.until_ms)
            )
        elif isinstance(payload, RoleChange):
            lines.append(LogLine(entry.timestamp_ms, entry.author, f"role -> {payload.role}", payload.target, outcome))
        elif isinstance(payload, Redact) and payload.target != entry.author:
            lines.append(
                LogLine(entry.timestamp_ms, entry.author, f"redact {len(payload.ids)}", payload.target, outcome)
            )
    for r in reports(record):
        lines.append(LogLine(r.time_ms, r.reporter, "report", r.reported_author, None))
    return sorted(lines, key=lambda line: line.time_ms)


def badges(record: GroupRecord, now_ms: int) -> dict[bytes, Badge]:
    """Per member who posted a credential about itself: its badge, verified or with the reason not."""
    state = record.state
    if state is None:
        return {}
    latest: dict[bytes, bytes] = {}
    revocations: list[bytes] = []
    for m in record.messages.extras():
        content = m.content
        if isinstance(content, CredentialPost):
            latest[m.author] = content.attestation
        elif isinstance(content, RevocationPost):
            revocations.append(content.revocation)
    return {
        key: check_badge(
            raw, subject=key, group=record.group_id, issuers=state.issuers, revocations=revocations, now_ms=now_ms
        )
        for key, raw in latest.items()
        if key in state.members
    }


def may_moderate(record: GroupRecord, key: bytes) -> bool:
    role = record.state.role_of(key) if record.state is not None else None
    return role is not None and RANK[role] >= RANK["moderator"]
