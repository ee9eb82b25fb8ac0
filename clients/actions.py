"""What a participant does in a support group, shared by every front end (the CLI and the app).

Each function checks what the client can check before anything is signed (a facilitator-only action
by a non-facilitator, a report of a message the node no longer holds), so that the person gets a
clear ``client.*`` error rather than a refusal from the node after the fact.
"""

from __future__ import annotations

from holdspace.clients.client import NodeSession
from holdspace.clients.participant import ClientError, GroupRecord, Message, Participant
from holdspace.clients.support import sessions
from holdspace.protocol.content import CheckIn, Disclosure, Pin, Report, Rsvp, Turn
from holdspace.protocol.schedule import occurrence_at


def check_in(me: Participant, record: GroupRecord, mood: int, word: str | None) -> CheckIn:
    """A check-in; during a session it counts for that session's occurrence (as far as this client
    knows: before the group's state is known, it counts for no session)."""
    state = record.state
    running = occurrence_at(state, me.clock()) if state is not None else None
    return CheckIn(mood, word, (running[0].session_id, running[0].index) if running else None)


def next_occurrence(me: Participant, record: GroupRecord, session_id: bytes) -> int:
    """The index of a session's current or next occurrence."""
    for view in sessions(record, me.clock(), 10_000):
        if view.occurrence.session_id == session_id:
            return view.occurrence.index
    raise ClientError("client.unknown_session", "that session has no upcoming occurrence")


def rsvp(me: Participant, record: GroupRecord, session_id: bytes, answer: str) -> Rsvp:
    return Rsvp(session_id, next_occurrence(me, record, session_id), answer)


def require_facilitator(me: Participant, record: GroupRecord, what: str) -> None:
    if me.pseudonym(record).public_key not in me.facilitators(record):
        raise ClientError("client.not_facilitator", f"only a facilitator {what}")


async def pass_piece(
    me: Participant, s: NodeSession, record: GroupRecord, session_id: bytes, holder: bytes | None
) -> None:
    """Give the talking piece to ``holder`` for the current or next occurrence (None: open circle)."""
    require_facilitator(me, record, "passes the talking piece")
    await me.post(s, record, Turn(session_id, next_occurrence(me, record, session_id), holder))


async def pin(me: Participant, s: NodeSession, record: GroupRecord, text: str) -> None:
    require_facilitator(me, record, "pins crisis resources")
    await me.post(s, record, Pin(text))


async def cancel_session(me: Participant, s: NodeSession, record: GroupRecord, session_id: bytes) -> None:
    """Cancel a session's remaining occurrences (the node refuses it from a non-facilitator)."""
    state = record.state
    if state is None or session_id not in state.sessions:
        raise ClientError("client.unknown_session", "there is no such session in this group")
    spec = state.sessions[session_id].spec
    title = next((v.title for v in sessions(record, 0, 10_000) if v.occurrence.session_id == session_id), "")
    await me.schedule(
        s,
        record,
        title=title or "cancelled",
        about=None,
        start_ms=spec.start_ms,
        duration_ms=spec.duration_ms,
        tz=spec.tz,
        recurrence=spec.recurrence,
        retention_ms=spec.retention_ms,
        replaces=session_id,
        cancel=True,
    )


async def report(me: Participant, s: NodeSession, record: GroupRecord, target: Message, why: str) -> int:
    """Disclose one message (its signed entry and its one key) to the group's moderators and
    facilitators only; returns how many it was sealed to."""
    if target.key is None or target.deleted:
        raise ClientError("client.unknown_message", "that message cannot be reported (deleted or unread)")
    received = await s.fetch(record.group_id, target.cursor - 1, 1)
    entry = next((r.entry for r in received[0] if r.entry.entry_id == target.entry_id), None)
    if entry is None or entry.payload is None:
        raise ClientError("client.unknown_message", "the node no longer holds that message")
    to = [k for k in me.moderators(record) if k != me.pseudonym(record).public_key]
    if not to:
        raise ClientError("client.no_moderators", "this group has no moderator or facilitator to report to")
    await me.post(s, record, Report(Disclosure(entry.raw, entry.payload, target.key), why), to=to)
    return len(to)
