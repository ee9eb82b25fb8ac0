"""A study's progress display: one line rewritten in place on a terminal, plain lines otherwise.

On a terminal: ``12/50 runs, 1 error, 0 failed checks; 3m10s so far, about 9m left`` kept on one
line, with each error printed above it as it happens. Elsewhere (a log file, CI, a pipe): one line
per finished run, ``[12/50] p3 seed 7 (loss=0.02): ok, 41.2 s``, so nothing depends on ``\\r``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TextIO


def _clock(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class Progress:
    def __init__(
        self,
        stream: TextIO | None = None,
        tty: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
        parameters: list[str] | None = None,
    ) -> None:
        self.parameters = parameters  # the order in which a run's parameters are shown
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty() if tty is None else tty
        self.clock = clock
        self.started = clock()
        self.total = 0
        self.done = 0
        self.errors = 0
        self.failed = 0

    def start(self, to_run: int, resumed: int) -> None:
        self.total, self.started = to_run, self.clock()
        if resumed:
            self._line(f"{resumed} runs already finished (resuming); {to_run} to run")
        if self.tty:
            self._status()

    def record(self, record: dict[str, Any]) -> None:
        self.done += 1
        what = "ok"
        if record["status"] == "error":
            self.errors += 1
            what = f"ERROR {record['error']}"
        elif not record["metrics"].get("ok", False):
            self.failed += 1
            what = "checks failed: " + ", ".join(k for k, v in record["metrics"].get("safety", {}).items() if v)
        order = self.parameters or list(record["params"])
        params = ", ".join(f"{k.rsplit('.', 1)[-1]}={record['params'][k]}" for k in order if k in record["params"])
        wall = (record.get("timing") or {}).get("wall_s")
        line = (
            f"[{self.done}/{self.total}] point {record['index']} seed {record['seed']}"
            + (f" ({params})" if params else "")
            + f": {what}"
            + (f", {wall:.1f} s" if isinstance(wall, int | float) else "")
        )
        if not self.tty:
            self._line(line)
            return
        if record["status"] == "error" or what != "ok":
            self.stream.write("\r\x1b[2K")
            self._line(line)
        self._status()

    def _status(self) -> None:
        elapsed = self.clock() - self.started
        left = "" if not self.done else f", about {_clock(elapsed / self.done * (self.total - self.done))} left"
        self.stream.write(
            f"\r\x1b[2K{self.done}/{self.total} runs, {self.errors} errors, {self.failed} failed checks; "
            f"{_clock(elapsed)} so far{left}"
        )
        self.stream.flush()

    def finish(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()
