"""The history of a run: every event, in the order it happened, with its virtual time.

It is both what the checkers read (offline, after the run) and the researcher's raw output
(``history.jsonl``, one JSON object per line). Times are virtual seconds since the start of the
run, rounded to the microsecond; ``t0`` is when traffic started (fault times count from it).

Event kinds (every event has ``t`` and ``ev``):

=================  ==========================================================================
``node_up``        ``node`` started (again, after a crash)
``node_down``      ``node`` crashed (its tasks stopped; in-flight traffic lost)
``partition``      the network split into ``sides`` (lists of node names); ``heal`` ends it
``loss``           federation links lose ``loss`` of their packets; ``loss_end`` ends it
``setup_start``    members are connected; groups start forming; ``traffic_start`` when formed
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
from pathlib import Path
from typing import Any

import trio


class History:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.t0 = 0.0

    def add(self, ev: str, **fields: Any) -> None:
        self.events.append({"t": round(trio.current_time(), 6), "ev": ev, **fields})

    def of(self, *kinds: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["ev"] in kinds]

    def write(self, path: Path) -> None:
        with path.open("w", encoding="utf-8") as f:
            f.write(json.dumps({"t": 0.0, "ev": "start", "t0": round(self.t0, 6)}, sort_keys=True) + "\n")
            for event in self.events:
                f.write(json.dumps(event, sort_keys=True, separators=(",", ":")) + "\n")

    @classmethod
    def read(cls, path: Path) -> History:
        history = cls()
        with path.open(encoding="utf-8") as f:
            first = json.loads(f.readline())
            history.t0 = float(first["t0"])
            history.events = [json.loads(line) for line in f if line.strip()]
        return history
