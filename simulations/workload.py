"""Workloads that look like support groups: when each member posts, in virtual time.

A member's posting is a Poisson process whose rate varies with time (``Activity.rate``):

* **between sessions** (quiet days): ``traffic.messages_per_member_hour``;
* **during its group's weekly session**, if the member attends it: ``sessions.messages_per_member_hour``
  (a burst), plus one **check-in** message at a time drawn uniformly in the session's first
  ``sessions.checkin_window``;
* both multiplied by the **diurnal** factor ``1 + amplitude * cos(2 pi (h - peak_hour) / 24)``,
  where ``h`` is the hour of the day in the member's time zone: its mean over a day is 1, so the
  amplitude moves messages between hours without changing how many a day brings.

Arrivals are drawn exactly, segment by segment (a segment is a stretch inside or outside one
session): within a segment the rate is bounded by ``segment rate x (1 + amplitude)``; an arrival
drawn at that bound is kept with probability ``rate / bound`` (thinning), and a draw past the
segment's end restarts at the end (memorylessness). Without sessions and with a flat day the
draws are the plain exponential gaps of a constant rate, as before these knobs existed.

Invariants: every draw comes from the generator passed in (the member's own), so a member's
arrivals depend only on the seed and its name; ``rate(t) <= bound`` over each segment.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Final

SECONDS_PER_HOUR: Final = 3600.0


@dataclass(frozen=True)
class Sessions:
    """A group's weekly meetings (``every == 0``: none)."""

    every: float = 0.0  # seconds between session starts
    length: float = 0.0  # seconds
    start: float = 0.0  # the first session's start, seconds after traffic starts
    rate: float = 0.0  # messages per member-hour during a session
    checkin: bool = True
    checkin_window: float = 300.0
    attendance: float = 1.0  # share of members who attend a given session

    def index(self, t: float) -> int:
        """The session whose period holds ``t`` (-1 before the first)."""
        if self.every <= 0 or t < self.start:
            return -1
        return int((t - self.start) // self.every)

    def inside(self, t: float) -> bool:
        k = self.index(t)
        return k >= 0 and t < self.start + k * self.every + self.length

    def starts(self, until: float) -> list[float]:
        """Every session start in ``[0, until)``."""
        if self.every <= 0:
            return []
        out, t = [], self.start
        while t < until:
            out.append(t)
            t += self.every
        return out

    def segment_end(self, t: float) -> float:
        """Where the stretch (inside or outside a session) holding ``t`` ends."""
        if self.every <= 0:
            return math.inf
        if t < self.start:
            return self.start
        k = self.index(t)
        begin = self.start + k * self.every
        return begin + self.length if t < begin + self.length else begin + self.every


@dataclass(frozen=True)
class Diurnal:
    amplitude: float = 0.0  # 0 .. 1
    peak_hour: float = 20.0  # local time of the most activity
    zone: float = 0.0  # the member's UTC offset, hours
    hour_at_start: float = 0.0  # UTC hour of the day when traffic starts

    def factor(self, t: float) -> float:
        if self.amplitude == 0:
            return 1.0
        local = (self.hour_at_start + t / SECONDS_PER_HOUR + self.zone) % 24.0
        return 1.0 + self.amplitude * math.cos(2 * math.pi * (local - self.peak_hour) / 24.0)


@dataclass(frozen=True)
class Activity:
    """When one member posts (see the module docstring). Times are seconds since traffic started."""

    base: float  # messages per member-hour between sessions
    sessions: Sessions
    diurnal: Diurnal
    attends: tuple[bool, ...] = ()  # attends[k]: the member attends session k (beyond: attends)

    def attending(self, k: int) -> bool:
        return k < 0 or k >= len(self.attends) or self.attends[k]

    def segment_rate(self, t: float) -> float:
        """Messages per member-second over the segment holding ``t``, before the diurnal factor."""
        if self.sessions.inside(t) and self.attending(self.sessions.index(t)):
            return self.sessions.rate / SECONDS_PER_HOUR
        return self.base / SECONDS_PER_HOUR

    def rate(self, t: float) -> float:
        return self.segment_rate(t) * self.diurnal.factor(t)

    def next_arrival(self, rng: random.Random, t: float, until: float) -> float | None:
        """The first arrival after ``t``, or None if there is none before ``until``."""
        while t < until:
            rate = self.segment_rate(t)
            end = min(until, self.sessions.segment_end(t))
            if rate <= 0:
                t = end
                continue
            bound = rate * (1.0 + self.diurnal.amplitude)
            nxt = t + rng.expovariate(bound)
            if nxt >= end:
                t = end
                continue
            t = nxt
            if self.diurnal.amplitude == 0 or rng.random() * bound < self.rate(t):
                return t
        return None


def attendance(seed: int, member: str, sessions: Sessions, until: float) -> tuple[bool, ...]:
    """Which of the sessions before ``until`` ``member`` attends, drawn from the seed and its name."""
    if sessions.attendance >= 1.0:
        return ()
    rng = random.Random(f"{seed}/attendance/{member}")  # noqa: S311 - simulated behaviour
    return tuple(rng.random() < sessions.attendance for _ in sessions.starts(until))


def zipf_weights(n: int, s: float) -> list[float]:
    """Cumulative weights of ``n`` items, item ``k`` weighing ``1 / (k + 1) ** s``."""
    total, out = 0.0, []
    for k in range(n):
        total += 1.0 / (k + 1) ** s
        out.append(total)
    return out


def group_size(rng: random.Random, kind: str, members: int, spread: float, cap: int) -> int:
    """One group's size: ``fixed`` (``members``), ``lognormal`` (median ``members``, sigma
    ``spread``) or ``pareto`` (at least ``members``, tail index ``spread``); between 1 and ``cap``."""
    if kind == "lognormal":
        size = round(members * math.exp(rng.gauss(0.0, spread)))
    elif kind == "pareto":
        size = math.floor(members * rng.paretovariate(spread))
    else:
        size = members
    return max(1, min(cap, size))
