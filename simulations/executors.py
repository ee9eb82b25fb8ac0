"""Where a study's runs execute: this machine's cores, or a Dask cluster.

Each executor takes the tasks to run and yields one record per task as runs finish (in whatever
order they finish). Both call a *runner* (by default :func:`simulations.study_worker.execute`, a
process per run) and turn anything the runner raises, or a run the cluster lost, into an error
record for that task: one broken run never ends the others.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

from holdspace.simulations.study import Task
from holdspace.simulations.study_worker import Record, execute, record, stop_all

Runner = Callable[[Task], Record]


def local(tasks: list[Task], jobs: int, runner: Runner = execute) -> Iterator[Record]:
    """Run ``tasks`` on this machine, ``jobs`` at a time (threads that each wait on a worker
    process). Closing the iterator early (an interrupt) kills the runs still going."""
    pool = ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="holdspace-study")
    try:
        futures = {pool.submit(runner, task): task for task in tasks}
        for future in as_completed(futures):
            yield _result(future, futures[future], "the run raised")
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        stop_all()


def dask(tasks: list[Task], scheduler: Any, runner: Runner = execute) -> Iterator[Record]:
    """Run ``tasks`` on the Dask cluster whose scheduler is at ``scheduler`` (an address such as
    ``tcp://10.0.0.5:8786``, or a cluster object). Each run is one task of the cluster, run by a
    worker in a process of its own; results come back to this process, which writes them.

    The workers need this project installed (the same version). A run whose worker dies is
    retried by the scheduler on another worker, as Dask does; if it keeps killing workers, or the
    cluster fails it otherwise, it is an error record."""
    from distributed import Client  # noqa: PLC0415 - an optional dependency (the "sim" extra)
    from distributed import as_completed as completed  # noqa: PLC0415

    batch = uuid.uuid4().hex[:8]  # keys unique to this study run: a resumed study is new work
    with Client(scheduler, set_as_default=False) as client:  # type: ignore[no-untyped-call]
        futures = {
            client.submit(runner, task, key=f"holdspace-sim-{task.run}-{batch}", pure=False): task for task in tasks
        }
        try:
            for future in completed(list(futures), loop=client.loop):  # type: ignore[no-untyped-call]
                yield _result(future, futures[future], "the cluster lost the run")
                future.release()
        finally:
            client.cancel([f for f in futures if not f.done()])


def _result(future: Any, task: Task, what: str) -> Record:
    try:
        got: Record = future.result()
    except Exception as exc:
        return record(task, error=f"{what}: {type(exc).__name__}: {exc}")
    return got
