"""Running a study: every (grid point, seed) once, resumable, then one table and its plots.

The results directory ``OUT``:

``study.json``             the resolved study (grid, seeds, points with their parameters)
``points/POINT.toml``      each point's scenario: ``holdspace sim run OUT/points/POINT.toml --seed N``
                           replays one run of it exactly
``runs/POINT-SEED.json``   one record per finished run (see ``study_worker.py``), written atomically
                           as soon as the run ends
``runs/POINT-SEED/``       the run's full outputs (history, metrics, plots), with ``--keep-runs`` only
``results.csv``, ``results.parquet``  the tidy table (see ``table.py``)
``timing.csv``             wall time and peak memory per run
``plots/*.png``            each ``[[plots]]`` figure (or the defaults)

Invariants:

* a run whose record is in ``runs/`` is finished and never run again (an ``error`` record is run
  again only when asked, ``retry_errors``): stopping a study at any moment and starting it again
  with the same file and ``OUT`` completes it without redoing any finished run;
* a record is written only for a run that ended by itself (finished, raised, died, timed out),
  never for one cut short by stopping the study;
* the table has exactly one row per run of the study, in point then seed order, whatever order the
  runs finished in and however many sessions it took.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from holdspace.simulations import plots, table
from holdspace.simulations.study import Study, Task, default_plots
from holdspace.simulations.study_worker import Record, write_atomically

Runs = Callable[[list[Task]], Iterable[Record]]


@dataclass
class Outcome:
    total: int  # runs of the study
    resumed: int  # runs already finished before this session
    records: list[Record] = field(default_factory=list)  # one per run, point then seed order
    figures: list[Path] = field(default_factory=list)

    @property
    def errors(self) -> list[Record]:
        return [r for r in self.records if r["status"] == "error"]

    @property
    def failed_checks(self) -> list[Record]:
        return [r for r in self.records if r["status"] == "done" and not r["metrics"].get("ok", False)]


def read_record(path: Path) -> Record | None:
    """The record at ``path``, or None if there is none (or it cannot be read: run it again)."""
    try:
        got = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return got if isinstance(got, dict) and got.get("status") in ("done", "error") else None


def run_study(
    study: Study,
    out: Path,
    runs: Runs,
    *,
    retry_errors: bool = False,
    keep_runs: bool = False,
    draw: bool = True,
    on_start: Callable[[int, int], None] | None = None,
    on_record: Callable[[Record], None] | None = None,
) -> Outcome:
    """Run what is left of ``study`` into ``out`` with ``runs`` (an executor, see
    ``executors.py``); write the table and the plots. ``on_start(to_run, already_done)`` and
    ``on_record(record)`` report progress."""
    (out / "runs").mkdir(parents=True, exist_ok=True)
    (out / "points").mkdir(exist_ok=True)
    write_atomically(out / "study.json", json.dumps(study.describe(), indent=2, sort_keys=True) + "\n")
    for point in study.points:
        write_atomically(out / "points" / f"{point.id}.toml", point.toml())
    tasks = study.tasks(out / "runs" if keep_runs else None)
    finished: dict[str, Record] = {}
    for task in tasks:
        got = read_record(out / "runs" / f"{task.run}.json")
        if got is not None and (got["status"] == "done" or not retry_errors):
            finished[task.run] = got
    todo = [t for t in tasks if t.run not in finished]
    outcome = Outcome(total=len(tasks), resumed=len(finished))
    if on_start is not None:
        on_start(len(todo), len(finished))
    for got in runs(todo):
        write_atomically(out / "runs" / f"{got['run']}.json", json.dumps(got, indent=1, sort_keys=True) + "\n")
        finished[got["run"]] = got
        if on_record is not None:
            on_record(got)
    outcome.records = [finished[t.run] for t in tasks]
    _, rows = table.write(out, outcome.records, list(study.grid))
    if draw and study.grid:
        outcome.figures = draw_plots(study, out, rows)
    return outcome


def draw_plots(study: Study, out: Path, rows: list[dict[str, Any]]) -> list[Path]:
    (out / "plots").mkdir(exist_ok=True)
    drawn = []
    for spec in study.plots or default_plots(study):
        name = "_".join(_slug(x) for x in (spec.metric, "vs", spec.against, *(["by", spec.by] if spec.by else [])))
        path = out / "plots" / f"{name}.png"
        if plots.study(path, rows, spec.metric, spec.against, spec.by, study.name):
            drawn.append(path)
    return drawn


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")
