"""The history of a run: every event, in the order it happened, with its virtual time.

It is both what the checkers and metrics read (after the run) and the researcher's raw output
(``history.jsonl``, one JSON object per line). It is written to disk as the run goes, never held
in memory: a run's memory does not grow with its number of events, and the readers stream the
file back (``metrics.Digest`` reads it in two passes). Times are virtual seconds since the start
of the run, rounded to the microsecond; ``t0`` is when traffic started (fault times count from
it): the time of the ``traffic_start`` event.

The first line is ``{"ev": "start", "t": 0.0}``; each later line is one event, its keys sorted.

Event kinds (every event has ``t`` and ``ev``):

=================  ==========================================================================
``node_up``        ``node`` started (again, after a crash)
``node_down``      ``node`` crashed (its tasks stopped; in-flight traffic lost)
``partition``      the network split into ``sides`` (lists of node names); ``heal`` ends it
``loss``           federation links lose ``loss`` of their packets; ``loss_end`` ends it
``setup_start``    members are connected; groups start forming; ``traffic_start`` when formed
                   (its time is ``t0``)
``setup_retry``    ``member``'s setup step ``op`` failed with ``code`` and is retried
``stored``         ``node`` durably stored entry ``id`` (16 hex digits) of ``group``, ``kind``
``refused``        ``node`` refused a request or entry from a ``client`` or ``peer`` with ``code``
``sent``           ``member`` published message ``id`` (group:author:seq) of ``bytes``, begun at
                   ``started`` (seconds since traffic start) and acknowledged at ``t``
``send_failed``    ``member`` could not publish (``code``)
``delivered``      ``member`` received and decrypted (``ok``) message ``id``
``disconnected``   ``member``'s connection to its home node failed (``code``)
``offline``        ``member`` went offline (churn); ``online`` when back
``removed``        a facilitator removed ``member`` (pseudonym ``key``)
``attack``         an adversary (``node`` or ``member``) did ``what``
``sample``         ``converged`` of ``groups`` groups had identical logs and state on every live
                   honest host
``end``            the run's horizon was reached
=================  ==========================================================================
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import trio

BUFFER = 1 << 20
#: one encoder for every event: what ``json.dumps(event, sort_keys=True, separators=(",", ":"))``
#: writes, without building an encoder per event
_encode = json.JSONEncoder(sort_keys=True, separators=(",", ":")).encode


class History:
    """The events of one run, streamed to ``path`` (invariant: the file holds every event added,
    in order, once :meth:`close` or :meth:`flush` returned)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.t0 = 0.0
        self.count = 0  # events added
        self.last_t = 0.0  # time of the last event
        self._file: IO[str] | None = None  # opened by the first event
        self._closed = False

    def add(self, ev: str, **fields: Any) -> None:
        t = round(trio.current_time(), 6)
        event = {"t": t, "ev": ev, **fields}
        if self._file is None:
            if self._closed:
                raise ValueError("the history is closed")
            self._file = self.path.open("w", encoding="utf-8", buffering=BUFFER)
            self._file.write(json.dumps({"ev": "start", "t": 0.0}, sort_keys=True) + "\n")
        self._file.write(_encode(event) + "\n")
        self.count += 1
        self.last_t = t

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        self._closed = True
        if self._file is not None:
            self._file.close()
            self._file = None

    def __iter__(self) -> Iterator[dict[str, Any]]:
        self.flush()
        return iter_events(self.path) if self.path.exists() else iter(())

    def of(self, *kinds: str) -> list[dict[str, Any]]:
        """The events of these kinds (read back from the file: for small kinds, or small runs)."""
        return [e for e in self if e["ev"] in kinds]


def iter_events(path: Path, *kinds: str) -> Iterator[dict[str, Any]]:
    """Every event of the file at ``path`` (of the given kinds, if any: lines of other kinds are
    skipped without being decoded), the ``start`` line left out."""
    needles = tuple(f'"{k}"' for k in kinds)  # a cheap filter; the decoded event is checked too
    with path.open(encoding="utf-8") as f:
        f.readline()
        for line in f:
            if needles and not any(n in line for n in needles):
                continue
            event: dict[str, Any] = json.loads(line)
            if not kinds or event["ev"] in kinds:
                yield event


def read_t0(path: Path) -> float:
    """When traffic started in the run whose history is at ``path`` (0 if it never did)."""
    return next((float(e["t"]) for e in iter_events(path, "traffic_start")), 0.0)
