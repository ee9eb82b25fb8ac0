"""What a client shows of moderation beyond the log (spec 12.3, 12.6, 13.5, 17.6): who is muted and
until when, the note a removed person reads, the reason facilitators keep, and the private lines
between members and the facilitators.

Everything here reads the client's own record (its state, control entries and decrypted messages):
nothing is fetched, nothing is sent. Invariants: a removal's note is shown only to the person it was
sealed to, its reason only to its recipients (the words open with this client's key or not at all);
a private line is a direct text message between one member and the facilitators.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from holdspace.protocol import kinds
from holdspace.protocol.errors import HoldspaceError
from holdspace.protocol.payloads import FACILITATOR, Remove, decode_payload
from holdspace.protocol.removal import RemovalWords, open_removal_words

if TYPE_CHECKING:
    from holdspace.clients.participant import GroupRecord, Message
    from holdspace.protocol.entry import Entry


@dataclass(frozen=True, slots=True)
class RemovalNotice:
    """This client's pseudonym was removed (or banned) from the group."""

    by: bytes
    time_ms: int
    banned: bool
    note: str | None  # the kind note sealed to us, if the remover wrote one


def muted_until(record: GroupRecord, key: bytes, now_ms: int) -> int | None:
    """When ``key``'s mute ends, for a message it writes now; None if it is not muted."""
    state = record.state
    return state.muted_until(key, now_ms) if state is not None else None


def mutes(record: GroupRecord, now_ms: int) -> dict[bytes, int]:
    """Current members muted now -> when their mute ends."""
    state = record.state
    if state is None:
        return {}
    found = {k: state.muted_until(k, now_ms) for k in state.mutes if k in state.members}
    return {k: until for k, until in found.items() if until is not None}


def _removals(record: GroupRecord) -> list[tuple[Entry, Remove]]:
    """Applied removals, in the group's agreed order."""
    state = record.state
    if state is None:
        return []
    by_id = {e.entry_id: e for e in record.controls if e.kind == kinds.REMOVE}
    out: list[tuple[Entry, Remove]] = []
    for eid in state.order:
        entry = by_id.get(eid)
        if entry is None or state.outcomes.get(eid, "") is not None:
            continue
        payload = record.cache.payloads.get(eid) or decode_payload(entry.kind, entry.payload or b"", entry.author)
        if isinstance(payload, Remove):
            out.append((entry, payload))
    return out


def removal_words(record: GroupRecord, entry: Entry, payload: Remove) -> RemovalWords:
    """The note and reason of a removal this client can open (None for what it cannot)."""
    keys = record.keys
    if keys is None or (payload.note is None and payload.reason is None):
        return RemovalWords(None, None)
    try:
        return open_removal_words(record.group_id, entry.author, entry.seq, payload, keys.me)
    except HoldspaceError:
        return RemovalWords(None, None)  # a box that does not open is shown as no words


def removal_notice(record: GroupRecord) -> RemovalNotice | None:
    """Why this client may no longer write here: its latest applied removal, while it is not a member."""
    state, keys = record.state, record.keys
    if state is None or keys is None or keys.me.public_key in state.members:
        return None
    mine = [(e, p) for e, p in _removals(record) if p.target == keys.me.public_key]
    if not mine:
        return None
    entry, payload = mine[-1]
    return RemovalNotice(entry.author, entry.timestamp_ms, payload.ban, removal_words(record, entry, payload).note)


def removal_reasons(record: GroupRecord) -> dict[bytes, str]:
    """Removal entry id -> its reason, for the removals whose reason this client can read."""
    out: dict[bytes, str] = {}
    for entry, payload in _removals(record):
        if payload.reason is not None and (reason := removal_words(record, entry, payload).reason) is not None:
            out[entry.entry_id] = reason
    return out


def private_threads(record: GroupRecord) -> dict[bytes, list[Message]]:
    """Member -> its private line with the facilitators, oldest first: direct text messages written by
    a member who is not a facilitator, or by a facilitator to one such member (with the facilitators)."""
    state = record.state
    if state is None:
        return {}

    def facilitator(key: bytes) -> bool:
        member = state.members.get(key)
        return member is not None and member.role == FACILITATOR

    threads: dict[bytes, list[Message]] = {}
    for m in record.messages:
        if m.kind != kinds.DIRECT or m.text is None:
            continue
        if not facilitator(m.author):
            threads.setdefault(m.author, []).append(m)
            continue
        others = [k for k in m.to if not facilitator(k)]
        if len(others) == 1:
            threads.setdefault(others[0], []).append(m)
    return threads


__all__ = [
    "RemovalNotice",
    "muted_until",
    "mutes",
    "private_threads",
    "removal_notice",
    "removal_reasons",
    "removal_words",
]
