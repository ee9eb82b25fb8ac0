"""Who shares the group's keys with a newcomer, and when (spec 13.1, "Sharing keys with newcomers").

When a join leaves the current epoch unclean, every current member who holds the epoch could publish
the rekey that gives the newcomer the group's keys. So that usually exactly one does, each computes
the same order of those members for that join, and waits ``rank * step`` seconds (capped) before
publishing it, unless a rekey that makes the epoch clean arrived meanwhile. The order: facilitators
first, then everyone else, each by ``SHA-256(join entry id || member key)``. Concurrent rekeys that
still happen (a slow member, states that differ for a moment) are settled by the rules (12.4, 13.1):
the one placed last in ``L`` is the current epoch, and it is clean.

Pure: no clock, no I/O. The browser client computes the same (``clients/web/src/keyshare.ts``),
checked against the same cases (``clients/web/test/fixtures/keyshare.json``).
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Container, Iterable, Sequence

from holdspace.protocol.e2ee import MAX_HISTORY_EPOCHS
from holdspace.protocol.group import Epoch, GroupState
from holdspace.protocol.payloads import DAY_MS, FACILITATOR, HISTORY_FROM_JOIN, HISTORY_SHARED, History

STEP = 3.0  # seconds between two ranks
MAX_RANK = 20  # ranks from here on all wait MAX_RANK * STEP (one minute)
MAX_HISTORY_PAIRS = 4096  # earlier epochs' keys one rekey's "h" carries in all (about 330 KB)


def sharing_order(join_id: bytes, sharers: Iterable[tuple[bytes, str]]) -> list[bytes]:
    """The members ``(key, role)`` in the order they share keys for the join ``join_id``:
    facilitators first, then the others, each by ``SHA-256(join_id || key)``."""
    return [
        key
        for _, _, key in sorted(
            (role != FACILITATOR, hashlib.sha256(join_id + key).digest(), key) for key, role in sharers
        )
    ]


def sharing_delay(rank: int, step: float = STEP) -> float:
    """Seconds the member at ``rank`` (0 first) waits before sharing keys: ``min(rank, MAX_RANK) * step``."""
    return min(max(rank, 0), MAX_RANK) * step


def pending_join(state: GroupState) -> bytes | None:
    """The join a rekey is owed for: of the current members the current epoch was not sealed to,
    the smallest id (byte order) of the join (or genesis) that opened their membership; None if
    the epoch was sealed to every current member (unclean only by a departure, or clean)."""
    epoch = state.current_epoch
    held = epoch.recipients if epoch is not None else frozenset()
    joins = [
        m.admitted_by[0] if m.admitted_by is not None else state.group_id
        for key, m in state.members.items()
        if key not in held
    ]
    return min(joins) if joins else None


def sharers(state: GroupState) -> list[tuple[bytes, str]]:
    """The members who may share keys: current members holding the current epoch (they can also
    carry the pinned crisis resources to the newcomer, 17.8), or every member if there is none."""
    epoch = state.current_epoch
    return [(key, m.role) for key, m in state.members.items() if epoch is None or key in epoch.recipients]


def my_turn(state: GroupState, me: bytes, step: float = STEP) -> tuple[bytes, float] | None:
    """``(join id, seconds to wait)`` if a join is owed a rekey and ``me`` is among those who share
    keys; None otherwise (nothing owed, or ``me`` is the newcomer or not a member)."""
    join = pending_join(state)
    if join is None:
        return None
    order = sharing_order(join, sharers(state))
    if me not in order:
        return None
    return join, sharing_delay(order.index(me), step)


def in_history_window(history: History, joined_ms: int, started_ms: int) -> bool:
    """Whether a newcomer who joined at ``joined_ms`` (the signed time of its join) may read an
    earlier epoch whose rekey was signed at ``started_ms`` (13.1): never under ``"joined"``, always
    under ``"shared"``, and under ``N`` days iff ``started_ms >= joined_ms - N days``."""
    if history == HISTORY_FROM_JOIN:
        return False
    if history == HISTORY_SHARED:
        return True
    return isinstance(history, int) and started_ms >= joined_ms - history * DAY_MS


def history_to_share(
    history: History, joined_ms: int, epochs: Sequence[Epoch], held: Container[bytes], limit: int = MAX_HISTORY_EPOCHS
) -> list[bytes]:
    """The ids of the earlier epochs whose keys a sharer seals to a newcomer (13.1), newest first:
    of the :data:`MAX_HISTORY_EPOCHS` newest epochs of ``epochs`` (the group's, in ``L`` order),
    walked back from the newest, each whose key it ``held``, stopping at the first epoch that
    started outside the window (:func:`in_history_window`), and at ``limit`` ids. At most that
    many epochs are looked at, whatever the group's age."""
    if history == HISTORY_FROM_JOIN:
        return []
    out: list[bytes] = []
    for epoch in itertools.islice(reversed(epochs), MAX_HISTORY_EPOCHS):
        if not in_history_window(history, joined_ms, epoch.started_ms):
            break
        if len(out) >= limit:
            break
        if epoch.entry_id in held:
            out.append(epoch.entry_id)
    return out


def history_limit(newcomers: int) -> int:
    """Earlier epochs' keys each of ``newcomers`` gets in one rekey: at most
    :data:`MAX_HISTORY_EPOCHS`, and :data:`MAX_HISTORY_PAIRS` over all of them (at least one each),
    so that a rekey's ``h`` stays far below a control payload's limit."""
    return max(1, min(MAX_HISTORY_EPOCHS, MAX_HISTORY_PAIRS // max(newcomers, 1)))


__all__ = [
    "MAX_RANK",
    "STEP",
    "MAX_HISTORY_PAIRS",
    "history_limit",
    "history_to_share",
    "in_history_window",
    "my_turn",
    "pending_join",
    "sharers",
    "sharing_delay",
    "sharing_order",
]
