"""How far a run got, written as it goes: ``DIR/phases.jsonl``.

A long run (10,000 nodes) may be stopped by a wall-clock cap, a memory cap or a signal before it
writes anything else; this file says how far it got and at what cost, one JSON object a line,
each line flushed when written:

``phase``        ``plan`` (the plan drawn), ``participants`` (every member's participant built),
                 ``nodes`` (started), ``connected`` (members connected to their home node),
                 ``admitted`` (members whose join or group creation completed), ``groups``
                 (groups formed), ``traffic`` (one line per simulated minute), ``end`` (the
                 horizon reached), ``final_state`` (the hosts' entries read back), ``stopped``
                 (every task ended, every node closed), ``history_read`` (the history read back
                 for the metrics), ``checked``
``done``/``total`` how many of the phase's items (for ``traffic``: simulated minutes of ``total``)
``wall_s``       wall seconds since the run began
``cpu_s``        CPU seconds of this process (user + system) since it began
``rss_mb``       resident memory now, and ``peak_rss_mb`` the largest so far (MB)

A phase of many items writes a line at most every twentieth of them, and at its last. Like
``timing.json`` this file differs between machines and runs: nothing else depends on it, and
writing it changes no result (it reads the clocks and the memory only).
"""

from __future__ import annotations

import json
import os
import resource
import time
from pathlib import Path
from typing import IO, Any, Final

STEPS: Final = 20  # lines per phase of many items, at most (and the last)
_PAGE_MB: Final = os.sysconf("SC_PAGE_SIZE") / (1 << 20) if hasattr(os, "sysconf") else 4096 / (1 << 20)


def rss_mb() -> float:
    """This process's resident memory now, MB (its peak where /proc is missing)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * _PAGE_MB
    except (OSError, ValueError, IndexError):
        return peak_rss_mb()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Phases:
    """Writes ``phases.jsonl`` (or nothing, with ``path`` None). Invariant: every line written is
    flushed before :meth:`note` returns, so a killed run leaves whole lines (but perhaps the last)."""

    def __init__(self, path: Path | None) -> None:
        self._file: IO[str] | None = None if path is None else path.open("w", encoding="utf-8", buffering=1)
        self._wall0 = time.perf_counter()
        self._cpu0 = cpu_s()
        self._counts: dict[str, int] = {}

    def note(self, phase: str, done: int, total: int, **extra: Any) -> None:
        """Write one line for ``phase`` now."""
        if self._file is None:
            return
        line = {
            "phase": phase,
            "done": done,
            "total": total,
            "wall_s": round(time.perf_counter() - self._wall0, 3),
            "cpu_s": round(cpu_s() - self._cpu0, 3),
            "rss_mb": round(rss_mb(), 1),
            "peak_rss_mb": round(peak_rss_mb(), 1),
            **extra,
        }
        self._file.write(json.dumps(line, sort_keys=True) + "\n")
        self._file.flush()

    def count(self, phase: str, total: int) -> None:
        """One more item of ``phase`` is done: a line at every twentieth of ``total``, and at the last."""
        done = self._counts.get(phase, 0) + 1
        self._counts[phase] = done
        if done == total or done % max(1, total // STEPS) == 0:
            self.note(phase, done, total)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def read(path: Path) -> dict[str, dict[str, Any]]:
    """The last line of each phase in ``path`` (a line cut short by a kill is skipped)."""
    last: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return last
    with path.open(encoding="utf-8") as f:
        for text in f:
            try:
                line = json.loads(text)
            except ValueError:
                continue
            if isinstance(line, dict) and isinstance(line.get("phase"), str):
                last[line["phase"]] = line
    return last
