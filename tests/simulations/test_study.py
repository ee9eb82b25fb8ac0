"""Studies: a grid of parameters x seeds. A failing run is recorded and the study goes on; a
stopped study resumes without running a finished run again; the results merge into one table (CSV
and Parquet) with a row per run; bad study files are refused with sim.bad_study."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from holdspace.simulations import executors
from holdspace.simulations.study import StudyError, Task, default_plots, load
from holdspace.simulations.study_runner import run_study
from holdspace.simulations.study_worker import Record, record

HOLDSPACE = [sys.executable, "-m", "holdspace"]
TINY = """
name = "tiny"
duration = "3m"
settle = "1m"
sample_interval = "30s"
[nodes]
count = 2
[groups]
count = 1
members = 3
[traffic]
messages_per_member_hour = 30
[[faults]]
kind = "partition"
at = "1m"
until = "2m"
sides = [["n0"]]
"""


def write_study(tmp_path: Path, body: str) -> Path:
    (tmp_path / "tiny.toml").write_text(TINY)
    path = tmp_path / "study.toml"
    path.write_text('name = "s"\nscenario = "tiny.toml"\n' + body)
    return path


GRID = """seeds = "1-3"
[set]
duration = "4m"
[grid]
"network.federation.loss" = [0.0, 0.1]
"faults.0.until" = ["2m", "3m"]
"""


def fake(task: Task) -> Record:
    """A stand-in for a run: figures made from the task, an exception for one (point, seed)."""
    loss = task.params["network.federation.loss"]
    if loss == 0.1 and task.params["faults.0.until"] == "3m" and task.seed == 2:
        raise RuntimeError("g0m1 could not join after 20 attempts")
    metrics = {
        "ok": task.seed != 3,
        "seed": task.seed,
        "scenario": "tiny",
        "delivery_latency": {"count": 10, "p99_s": 0.1 + loss + task.seed / 100},
        "convergence_after_faults_s": 10.0 * task.seed,
        "bytes_per_node": {"n0": {"sent": 100, "received": 50}, "n1": {"sent": 300, "received": 70}},
        "entries_stored_per_node": {"n0": 4, "n1": 6},
        "convergence_after_each_recovery_s": [{"at_s": 60.0, "converged_after_s": 5.0}],
        "rejected_by_code": {"group.stale_deps": 2} if task.seed == 1 else {},
        "safety": {"converged": 0 if task.seed != 3 else 1},
        "violations": {"converged": ["took too long"]} if task.seed == 3 else {},
    }
    return record(task, metrics=metrics, timing={"wall_s": 1.5, "peak_rss_mb": 60.0})


def local(runner: Any = fake) -> Any:
    return lambda tasks: executors.local(tasks, 2, runner)


def test_a_failing_run_is_recorded_with_its_seed_and_the_study_goes_on(tmp_path: Path) -> None:
    study = load(write_study(tmp_path, GRID))
    assert len(study.points) == 4 and study.seeds == [1, 2, 3]
    seen: list[Record] = []
    outcome = run_study(study, tmp_path / "out", local(), draw=False, on_record=seen.append)
    assert len(seen) == 12 == len(outcome.records)  # every run has its record, the failing one too
    [error] = outcome.errors
    assert error["seed"] == 2 and error["params"] == {"network.federation.loss": 0.1, "faults.0.until": "3m"}
    assert error["error"].startswith("the run raised: RuntimeError: g0m1 could not join")
    saved = json.loads((tmp_path / "out" / "runs" / f"{error['run']}.json").read_text())
    assert saved == error
    assert {r["seed"] for r in outcome.failed_checks} == {3}  # a failed check is a result, not an error
    # the point's scenario is there to replay the failing seed with `holdspace sim run`
    replay = (tmp_path / "out" / "points" / f"{error['point']}.toml").read_text()
    assert "loss = 0.1" in replay and 'until = "3m"' in replay


def test_a_stopped_study_resumes_without_running_a_finished_run_again(tmp_path: Path) -> None:
    study = load(write_study(tmp_path, GRID))
    out = tmp_path / "out"
    ran: list[str] = []

    def stopped_after_five(tasks: list[Task]) -> Iterator[Record]:
        for task in tasks[:5]:
            ran.append(task.run)
            yield fake(task)
        raise KeyboardInterrupt  # the study is stopped while other runs are going

    with pytest.raises(KeyboardInterrupt):
        run_study(study, out, stopped_after_five, draw=False)
    assert sorted(p.stem for p in (out / "runs").glob("*.json")) == sorted(ran)
    before = {p.name: p.read_bytes() for p in (out / "runs").glob("*.json")}

    again: list[str] = []

    def counting(task: Task) -> Record:
        again.append(task.run)
        return fake(task)

    outcome = run_study(study, out, local(counting), draw=False)
    assert outcome.resumed == 5 and len(again) == 7 and not set(again) & set(ran)
    assert all((out / "runs" / name).read_bytes() == data for name, data in before.items())
    assert len(outcome.records) == 12

    again.clear()  # finished: nothing to run, not even the error, unless asked
    assert run_study(study, out, local(counting), draw=False).resumed == 12 and again == []
    run_study(study, out, local(counting), draw=False, retry_errors=True)
    assert len(again) == 1

    # a point added to the grid leaves the other points' runs finished
    bigger = load(write_study(tmp_path, GRID.replace("[0.0, 0.1]", "[0.0, 0.1, 0.2]")))
    again.clear()
    assert run_study(bigger, out, local(counting), draw=False).resumed == 12 and len(again) == 6


def test_the_merged_table_has_a_row_per_run_and_every_metric(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    plot = '[[plots]]\nmetric = "delivery_latency.p99_s"\nagainst = "faults.0.until"\nby = "network.federation.loss"\n'
    study = load(write_study(tmp_path, GRID + plot))
    out = tmp_path / "out"
    outcome = run_study(study, out, local(), draw=True)
    with (out / "results.csv").open() as f:
        rows = list(csv.DictReader(f))
    columns = list(rows[0])
    assert columns[:7] == ["run", "point", "network.federation.loss", "faults.0.until", "seed", "status", "error"]
    assert [(r["point"], r["seed"]) for r in rows] == [(p.id, str(s)) for p in study.points for s in (1, 2, 3)]
    assert {
        "delivery_latency.p99_s",
        "convergence_after_faults_s",
        "bytes_per_node.sent.sum",
        "bytes_per_node.sent.max",
        "entries_stored_per_node.sum",
        "recoveries",
        "recovery_converged_after_s.max",
        "rejected_by_code.group.stale_deps",
        "safety.converged",
        "ok",
    } <= set(columns)
    assert not any(c.startswith(("violations", "timing", "wall")) for c in columns)  # machine-dependent or text
    first = rows[0]
    assert first["bytes_per_node.sent.sum"] == "400" and first["bytes_per_node.sent.max"] == "300"
    assert first["rejected_by_code.group.stale_deps"] == "2" and rows[1]["rejected_by_code.group.stale_deps"] == "0"
    error = next(r for r in rows if r["status"] == "error")
    assert error["delivery_latency.p99_s"] == "" and "could not join" in error["error"]

    parquet = pq.read_table(out / "results.parquet")
    assert parquet.column_names == columns and parquet.num_rows == 12
    assert parquet.column("seed").to_pylist() == [int(r["seed"]) for r in rows]
    assert parquet.column("network.federation.loss").to_pylist()[:3] == [0.0, 0.0, 0.0]
    assert parquet.column("delivery_latency.p99_s").to_pylist() == [
        None if r["delivery_latency.p99_s"] == "" else float(r["delivery_latency.p99_s"]) for r in rows
    ]
    timing = (out / "timing.csv").read_text().splitlines()
    assert timing[0].startswith("run,seed,wall_s") and len(timing) == 13
    [figure] = outcome.figures  # the metric against a parameter, a line per value of another
    assert figure.name == "delivery-latency-p99-s_vs_faults-0-until_by_network-federation-loss.png"
    assert figure.read_bytes().startswith(b"\x89PNG")
    # the same records give the same bytes: table, Parquet file and figure
    written = {p: p.read_bytes() for p in (out / "results.csv", out / "results.parquet", figure)}
    for p in written:
        p.unlink()
    assert run_study(study, out, local(), draw=True).resumed == 12
    assert all(p.read_bytes() == data for p, data in written.items())
    # without [[plots]]: convergence and delivery latency against each grid parameter
    assert [(p.metric, p.against) for p in default_plots(load(write_study(tmp_path, GRID)))] == [
        ("convergence_after_faults_s", "network.federation.loss"),
        ("delivery_latency.p99_s", "network.federation.loss"),
        ("convergence_after_faults_s", "faults.0.until"),
        ("delivery_latency.p99_s", "faults.0.until"),
    ]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("grids = 1", "unknown key 'grids'"),
        ('[grid]\n"faults.3.until" = ["2m"]', "faults.3.until: the scenario has no faults.3 (it has 1 of them)"),
        ('[grid]\n"groups.members" = [3, 0]', "grid point {'groups.members': 0}: groups.members must be"),
        ('[grid]\n"groups.memberz" = [3]', "unknown key 'groups.memberz'"),
        ('[grid]\n"groups.members" = []', "grid.groups.members must be a non-empty list"),
        ('[grid]\n"groups.members" = [3, 3]', "lists a value twice"),
        ('seeds = "x"', "seeds: seeds are N, A-B"),
        ('timeout = "soon"', "timeout"),
        ('[grid]\n"groups.members" = [3]\n[[plots]]\nmetric = "ok"\nagainst = "duration"', "plots[0].against"),
    ],
)
def test_bad_study_files_are_refused_with_sim_bad_study(tmp_path: Path, body: str, needle: str) -> None:
    with pytest.raises(StudyError) as caught:
        load(write_study(tmp_path, body))
    assert caught.value.code == "sim.bad_study"
    assert needle in caught.value.message


def test_a_study_runs_through_the_cli(tmp_path: Path) -> None:
    """Real runs, each in its own process, two at a time."""
    path = write_study(tmp_path, 'seeds = [4]\n[grid]\n"network.federation.loss" = [0.0, 0.05]\n')
    out = tmp_path / "out"
    command = [*HOLDSPACE, "sim", "study", str(path), "--out", str(out), "--jobs", "2", "--no-plots"]
    env = {**os.environ, "PYTHONHASHSEED": "3"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 points x 1 seeds = 2 runs" in done.stdout and "[2/2] point " in done.stdout  # plain progress lines
    rows = list(csv.DictReader((out / "results.csv").read_text().splitlines()))
    assert [r["status"] for r in rows] == ["done", "done"] and all(r["ok"] == "true" for r in rows)
    assert all(int(r["messages.sent"]) > 0 and float(r["convergence_after_faults_s"]) >= 0 for r in rows)
    assert len(list((out / "runs").glob("*.json"))) == 2 and (out / "results.parquet").exists()


def test_the_dask_path_runs_on_a_local_cluster(tmp_path: Path) -> None:
    """Two real runs on a Dask LocalCluster (in-process workers, each run in a process of its own),
    and a run that outlives its time limit, killed and recorded as an error."""
    from distributed import LocalCluster

    study = load(write_study(tmp_path, 'seeds = [1, 2]\n[grid]\n"network.federation.loss" = [0.0]\n'))
    tasks = study.tasks()
    late = Task(**{**tasks[1].__dict__, "run": "late-2", "timeout": 0.05})
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        got = {r["run"]: r for r in executors.dask([tasks[0], late], cluster)}
    assert got[tasks[0].run]["status"] == "done" and got[tasks[0].run]["metrics"]["ok"] is True
    assert got[tasks[0].run]["metrics"]["messages"]["sent"] > 0
    assert got["late-2"]["status"] == "error" and "timed out" in got["late-2"]["error"]
    assert got["late-2"]["seed"] == 2
