"""Virtual time for a run, and the network's deliveries folded into its jumps.

trio's ``MockClock`` with ``autojump_threshold=0`` jumps to the next deadline whenever every task
is blocked. :class:`WireClock` (a ``trio.abc.Clock``) does the same, except that the simulated
network (:class:`~.network.SimWire`) is consulted first: when its earliest arrival comes no later
than the next deadline, the clock moves to that arrival and delivers everything due then (in
``(time, sequence)`` order) instead.

A delivery therefore costs no task of its own: no wake-up, no timeout expiring, no ``Cancelled``
raised and caught, as a task sleeping until each arrival needs. Arrivals at time ``t`` happen
once every task runnable at ``t`` has run, before any deadline later than ``t`` expires.

How: trio's run loop asks the clock ``deadline_to_sleep_time`` once per pass in which no task is
runnable (the run is idle). A simulation does no real I/O (no sockets, no threads: stores commit
inline), so idle means waiting on virtual time: the clock jumps there and answers 0, and the loop
then expires the deadlines that are due and runs the tasks the deliveries woke.

Invariants: virtual time never goes backwards; time stands still while any task is runnable;
nothing is delivered before its arrival time. Time moves only by jumps, so reading the clock is
reading one number. Not for runs with real I/O: their waits would be skipped.
"""

from __future__ import annotations

import math
from typing import Protocol

import trio


class Deliveries(Protocol):
    """What the clock needs of a network: when its next arrival is due, and to deliver."""

    def next_arrival(self) -> float:
        """The earliest pending arrival time (``math.inf``: nothing in flight)."""

    def deliver_due(self, now: float) -> None:
        """Deliver every arrival due at or before ``now``, in order."""


class WireClock(trio.abc.Clock):
    """Virtual time that jumps to the next deadline or arrival when the run is idle (see the module)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.wire: Deliveries | None = None

    def start_clock(self) -> None:
        pass

    def current_time(self) -> float:
        return self.now

    def deadline_to_sleep_time(self, deadline: float) -> float:
        """No task is runnable: deliver what the wire has due by ``deadline``, or jump to it."""
        now = self.now
        if deadline <= now:
            return 0
        wire = self.wire
        arrival = math.inf if wire is None else wire.next_arrival()
        if wire is not None and arrival <= deadline and arrival < math.inf:
            self.now = max(now, arrival)
            wire.deliver_due(self.now)
        elif deadline < math.inf:
            self.now = deadline
        else:  # nothing will ever happen: let trio wait (and report the deadlock as it would)
            return 999_999_999
        return 0
