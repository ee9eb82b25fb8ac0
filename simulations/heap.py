"""The garbage collector's policy during a run.

A run builds a large heap that lives as long as the run does (every node's store, caches and
connections; every member's participant, keys and tasks), then creates and drops small objects at
a high rate (messages, frames, trio's tasks, cancel scopes and exceptions). CPython's collector
scans every tracked object in its full collections, so with the default thresholds a 100-node run
spent about a fifth of its CPU in the collector, mostly re-scanning that long-lived heap.

:func:`collector` sets thresholds that collect the young generation less often, and
:func:`settle` (called when a phase that builds long-lived state ends: the nodes and members are up,
the groups are formed) collects once and moves every surviving object to the collector's permanent
generation (``gc.freeze``), so later full collections scan only what was made since. Nothing is
leaked: reference counting frees almost everything; cycles made after a ``settle`` are collected as
before; on the way out every frozen object is handed back (``gc.unfreeze``) and the thresholds are
restored, so the next run in the same process starts as this one did.

The collector's timing is a function of the allocations alone, which the run's seed determines, so
this changes no result: a run stays byte-identical (``tests/simulations/test_runs.py``).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

#: allocations (net of deallocations) between young collections, and the two older generations'
#: counts (CPython's defaults: 700, 10, 10)
THRESHOLDS: Final = (50_000, 20, 10)


@contextmanager
def collector() -> Iterator[None]:
    """The run's collector policy, for the duration of the ``with`` block."""
    saved = gc.get_threshold()
    gc.set_threshold(*THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*saved)
        gc.unfreeze()


def settle() -> None:
    """A phase that built long-lived state ended: collect, then exempt the survivors from later scans."""
    gc.collect()
    gc.freeze()
