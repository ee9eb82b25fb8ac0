"""One run of a study, in a process of its own: ``python -m holdspace.simulations.study_worker TASK RECORD``.

:func:`execute` starts that process and returns the run's record; it is what both the local pool
and a Dask cluster's workers call, so a run is isolated the same way everywhere (its own
interpreter: peak memory is its own, and a crash, a kill or an exhausted memory takes down one run,
not the study). A record is a JSON object:

``run``, ``point``, ``index``, ``params``, ``seed``  which run (see ``study.py``)
``status``   ``"done"`` (the run finished; ``metrics["ok"]`` says whether its checks passed) or
             ``"error"`` (it raised, died or timed out: ``error`` says how)
``metrics``  the run's ``metrics.json`` (None for an error)
``timing``   its ``timing.json`` (wall time, peak memory; None for an error)

Invariant: every task given to :func:`execute` gets exactly one record back, whatever happens to
the process (unless the caller itself is interrupted).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import traceback
from dataclasses import asdict
from pathlib import Path
from typing import Any

from holdspace.simulations.study import Task

Record = dict[str, Any]
_ERROR_CHARS = 2000
_live: dict[int, subprocess.Popen[bytes]] = {}  # pid -> worker process, for stop_all
_live_lock = threading.Lock()


def record(task: Task, *, error: str | None = None, metrics: Any = None, timing: Any = None) -> Record:
    return {
        "run": task.run,
        "point": task.point,
        "index": task.index,
        "params": task.params,
        "seed": task.seed,
        "status": "error" if error is not None else "done",
        "error": None if error is None else error[:_ERROR_CHARS],
        "metrics": metrics,
        "timing": timing,
    }


def run_task(task: Task) -> Record:
    """Run ``task`` in this process. Any exception is the run's error, never the caller's."""
    from holdspace.simulations.run import run_scenario  # noqa: PLC0415 - the driver never imports the simulator
    from holdspace.simulations.scenario import parse  # noqa: PLC0415

    try:
        scenario = parse(task.scenario, f"{task.point}.toml")
        if task.keep is not None:
            out = Path(task.keep)
            result = run_scenario(scenario, task.seed, out, draw=True)
            timing = json.loads((out / "timing.json").read_text(encoding="utf-8"))
        else:
            with tempfile.TemporaryDirectory(prefix="holdspace-run-") as tmp:
                result = run_scenario(scenario, task.seed, Path(tmp), draw=False)
                timing = json.loads((Path(tmp) / "timing.json").read_text(encoding="utf-8"))
    except Exception as exc:
        frames = traceback.extract_tb(exc.__traceback__)
        where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
        return record(task, error=f"{type(exc).__name__}: {exc}{where}")
    return record(task, metrics=result.metrics, timing=timing)


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader sees the old file or the whole new one, never a
    part (a temporary file in the same folder, flushed to disk, then renamed over it)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with tmp.open("w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


def execute(task: Task) -> Record:
    """Run ``task`` in a new interpreter and return its record; a process that dies without one
    (killed, out of memory) or outlives ``task.timeout`` (wall seconds; it is killed) gives an error
    record saying so."""
    with tempfile.TemporaryDirectory(prefix="holdspace-study-") as tmp:
        task_path, record_path = Path(tmp) / "task.json", Path(tmp) / "record.json"
        task_path.write_text(json.dumps(asdict(task)), encoding="utf-8")
        command = [sys.executable, "-m", "holdspace.simulations.study_worker", str(task_path), str(record_path)]
        proc = subprocess.Popen(  # noqa: S603 - this interpreter, our module, paths we made
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        with _live_lock:
            _live[proc.pid] = proc
        try:
            try:
                _, err = proc.communicate(timeout=task.timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
                return record(task, error=f"timed out: still running after {task.timeout:g} s (wall clock)")
        finally:
            with _live_lock:
                _live.pop(proc.pid, None)
        if record_path.exists():
            loaded: Record = json.loads(record_path.read_text(encoding="utf-8"))
            return loaded
        tail = " | ".join(err.decode(errors="replace").strip().splitlines()[-3:])
        return record(
            task, error=f"the worker process exited with status {proc.returncode}" + (f": {tail}" * bool(tail))
        )


def stop_all() -> None:
    """Kill every worker process this process started and that is still running."""
    with _live_lock:
        procs = list(_live.values())
    for proc in procs:
        if proc.poll() is None:
            proc.kill()


def main(argv: list[str]) -> int:
    task = Task(**json.loads(Path(argv[1]).read_text(encoding="utf-8")))
    write_atomically(Path(argv[2]), json.dumps(run_task(task), sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
