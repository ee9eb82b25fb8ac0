"""When a scheduled session meets, and until when its words may be kept (spec 17.3).

A session starts at ``start_ms`` and lasts ``duration_ms``. A recurring one meets ``count`` times,
every day or every week *at the same local wall time* in its time zone (so a weekly 19:00 meeting
stays at 19:00 across daylight-saving changes). Occurrence ``k`` (0-based) starts at the local time
of the first start plus ``k`` days (or ``7k`` days), converted to UTC as PEP 495 does with
``fold = 0``: an ambiguous local time takes the earlier instant, and a local time that does not exist
(in a spring-forward gap) takes the offset in force *before* the transition. An unknown time zone name
is read as UTC. No occurrence of a cancelled session starts after its cancellation.

Retention: a message whose timestamp ``t`` lies in an occurrence ``[start, start + duration)`` of a
session with retention ``r`` must be deleted by every host at ``start + duration + r``.

Pure functions: no clock is read here; callers pass times in milliseconds since the Unix epoch.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from importlib import resources
from zoneinfo import ZoneInfo

from holdspace.protocol.group import GroupState, ScheduledSession


@dataclass(frozen=True, slots=True)
class Occurrence:
    session_id: bytes
    index: int  # 0-based
    start_ms: int
    end_ms: int


#: names that are not the same zone on every host (the host's own zone, leap-second and POSIX copies)
NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})


@lru_cache(maxsize=1)
def _known() -> frozenset[str]:
    """The zones of the bundled ``tzdata`` release (not the host's own database, which may differ)."""
    return frozenset(resources.files("tzdata").joinpath("zones").read_text().split())


def is_zone(name: str) -> bool:
    """Whether ``name`` is a zone :func:`zone` reads as itself (not as UTC for being unknown). A
    client refuses to schedule in any other name: hosts would all read it as UTC, silently."""
    return name == "UTC" or zone(name) is not UTC


@lru_cache(maxsize=256)
def zone(name: str) -> tzinfo:
    """The IANA zone ``name`` (exact spelling), read from the bundled ``tzdata`` so that hosts with the
    same release compute the same occurrences; UTC when it is unknown or not a real zone."""
    if name in NOT_ZONES or name.startswith(("right/", "posix/")) or name not in _known():
        return UTC
    try:
        with resources.files("tzdata").joinpath("zoneinfo", *name.split("/")).open("rb") as f:
            return ZoneInfo.from_file(f, key=name)
    except (OSError, ValueError):
        return UTC


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@lru_cache(maxsize=4096)
def occurrences(session: ScheduledSession) -> tuple[Occurrence, ...]:
    """Every occurrence of ``session``, in time order (at most ``MAX_OCCURRENCES``)."""
    spec = session.spec
    count = spec.recurrence[1] if spec.recurrence else 1
    step = timedelta(days=7 if spec.recurrence and spec.recurrence[0] == "weekly" else 1)
    tz = zone(spec.tz)
    first = datetime.fromtimestamp(spec.start_ms // 1000, tz).replace(tzinfo=None)
    extra_ms = spec.start_ms % 1000
    out: list[Occurrence] = []  # (cached per session version: a node asks for every message it stores)
    for k in range(count):
        local = (first + k * step).replace(tzinfo=tz, fold=0)
        start = _ms(local) + extra_ms if k else spec.start_ms
        if session.cancelled_at_ms is not None and start > session.cancelled_at_ms:
            break
        out.append(Occurrence(session.session_id, k, start, start + spec.duration_ms))
    return tuple(out)


@lru_cache(maxsize=4096)
def _starts(session: ScheduledSession) -> tuple[int, ...]:
    return tuple(o.start_ms for o in occurrences(session))


def occurrence_at(state: GroupState, timestamp_ms: int) -> list[Occurrence]:
    """The occurrences (of any session) under way at ``timestamp_ms``. Two occurrences of one session
    overlap at most pairwise (a duration is at most a day, and a local day is at least 23 hours), so
    only the last two that started can be under way."""
    found: list[Occurrence] = []
    for session in state.sessions.values():
        index = bisect_right(_starts(session), timestamp_ms) - 1
        every = occurrences(session)
        found.extend(every[i] for i in (index - 1, index) if i >= 0 and timestamp_ms < every[i].end_ms)
    return found


def retention_deadline(state: GroupState, timestamp_ms: int) -> int | None:
    """When a message dated ``timestamp_ms`` must be deleted under the group's session retention
    rules (the earliest rule that applies), or None if none applies."""
    deadlines = [
        occ.end_ms + retention
        for occ in occurrence_at(state, timestamp_ms)
        if (retention := state.sessions[occ.session_id].spec.retention_ms) is not None
    ]
    return min(deadlines, default=None)


def upcoming(state: GroupState, now_ms: int, limit: int = 20) -> list[Occurrence]:
    """Occurrences that have not ended by ``now_ms``, soonest first."""
    found = [occ for s in state.sessions.values() for occ in occurrences(s) if occ.end_ms > now_ms]
    return sorted(found, key=lambda o: (o.start_ms, o.session_id))[:limit]
