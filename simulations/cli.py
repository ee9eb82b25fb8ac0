"""``holdspace sim``: run scenarios, one seed or a sweep over seeds on several cores; run studies (a
grid of parameters x seeds) on this machine or a Dask cluster."""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import click

from holdspace.clients.extras import require
from holdspace.clients.participant import ClientError
from holdspace.simulations.scenario import Scenario, ScenarioError, load, plan, seeds

SCENARIOS = Path(__file__).parent / "scenarios"


def find_scenario(text: str) -> Scenario:
    """A scenario file, or the name of a shipped one (``small-group``)."""
    path = Path(text)
    if not path.exists() and (SCENARIOS / f"{text}.toml").exists():
        path = SCENARIOS / f"{text}.toml"
    if not path.exists():
        shipped = ", ".join(sorted(p.stem for p in SCENARIOS.glob("*.toml")))
        raise ScenarioError("sim.bad_scenario", f"no scenario file {text!r} (shipped scenarios: {shipped})")
    return load(path)


def _seeds(text: str) -> list[int]:
    """``7`` or ``1-50`` or ``1,4,9``."""
    return seeds(text)


def _one(scenario_path: str, seed: int, out: str, draw: bool) -> dict[str, Any]:
    """A sweep's job, in a worker process. A run that breaks is a failed seed, not a broken sweep."""
    from holdspace.simulations.run import run_scenario  # noqa: PLC0415 - other commands start without the simulator

    try:
        result = run_scenario(find_scenario(scenario_path), seed, Path(out), draw=draw)
    except Exception as exc:
        return {"seed": seed, "ok": False, "error": f"{type(exc).__name__}: {exc}"[:500], "violations": {}}
    m = result.metrics
    return {
        "seed": seed,
        "ok": result.ok,
        "wall_s": round(result.wall_s, 2),
        "delivery_p99_s": m["delivery_latency"].get("p99_s"),
        "convergence_s": m["convergence_after_faults_s"],
        "violations": {k: v for k, v in m["safety"].items() if v},
    }


@click.group("sim")
def sim() -> None:
    """Simulate a network of nodes and members (the real node code, in virtual time)."""


@sim.command("run")
@click.argument("scenario")
@click.option("--seed", "seed_text", default="1", show_default=True, help="A seed, or several: 1-50 or 3,7,9.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("sim-out"), show_default=True)
@click.option("--jobs", type=click.IntRange(1, 64), default=1, show_default=True, help="Worker processes (sweeps).")
@click.option("--no-plots", is_flag=True, help="Skip the PNG plots.")
def sim_run(scenario: str, seed_text: str, out: Path, jobs: int, no_plots: bool) -> None:
    """Run SCENARIO (a TOML file, or a shipped scenario's name) and write results to --out.

    One seed writes OUT/; several write OUT/seed-N/ each, plus OUT/sweep.json. The exit status is
    1 if any safety or liveness check failed (the failing seeds are printed: re-run one with
    --seed N to replay it exactly)."""
    try:
        parsed = find_scenario(scenario)
        seeds = _seeds(seed_text)
    except ScenarioError as err:
        click.echo(f"error: {err.code}: {err.message}", err=True)
        sys.exit(1)
    try:
        if not no_plots:
            require("sim", "Drawing plots (--no-plots skips them)")
    except ClientError as err:
        click.echo(f"error: {err.code}: {err.message}", err=True)
        sys.exit(1)
    if len(seeds) == 1:
        sys.exit(_single(parsed, seeds[0], out, not no_plots))
    sys.exit(_sweep(scenario, parsed, seeds, out, jobs, not no_plots))


def _single(scenario: Scenario, seed: int, out: Path, draw: bool) -> int:
    from holdspace.simulations.run import banner, run_scenario  # noqa: PLC0415 - other commands start without the simulator

    click.echo(banner(scenario, plan(scenario, seed)))
    horizon = max(scenario.duration, plan(scenario, seed).faults_end) + scenario.settle
    with click.progressbar(length=int(horizon), label="simulated seconds", show_pos=True) as bar:
        done = [0]

        def progress(now: float) -> None:
            step = min(int(horizon), max(0, int(now))) - done[0]
            if step > 0:
                bar.update(step)
                done[0] += step

        result = run_scenario(scenario, seed, out, progress=progress, draw=draw)
    m = result.metrics
    click.echo(
        f"seed {seed}: {'ok' if result.ok else 'FAILED'}; {m['messages']['sent']} messages, delivery p50/p99 "
        f"{_ms(m['delivery_latency'].get('p50_s'))}/{_ms(m['delivery_latency'].get('p99_s'))} ms; convergence "
        f"after faults {m['convergence_after_faults_s']} s; {result.simulated_s:.0f} s simulated in "
        f"{result.wall_s:.1f} s ({result.speedup:.0f}x); results in {out}"
    )
    for name, problems in m["violations"].items():
        click.echo(f"  violation {name}: {problems[0]} ({len(problems)} in all)", err=True)
    return 0 if result.ok else 1


def _sweep(text: str, scenario: Scenario, seeds: list[int], out: Path, jobs: int, draw: bool) -> int:
    click.echo(f"scenario {scenario.name}: {len(seeds)} seeds on {jobs} processes; each writes {out}/seed-N/")
    rows: list[dict[str, Any]] = []
    context = multiprocessing.get_context("spawn")  # fresh interpreters: no state shared between runs
    with (
        ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool,
        click.progressbar(length=len(seeds), label="seeds") as bar,
    ):
        futures = [pool.submit(_one, text, seed, str(out / f"seed-{seed}"), draw) for seed in seeds]
        for future in as_completed(futures):
            rows.append(future.result())
            bar.update(1)
    rows.sort(key=lambda r: r["seed"])
    (out / "sweep.json").write_text(json.dumps(rows, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    failed = [r["seed"] for r in rows if not r["ok"]]
    click.echo(f"{len(rows) - len(failed)} of {len(rows)} seeds passed every check")
    if failed:
        click.echo(f"failing seeds (replay with --seed N): {', '.join(map(str, failed))}", err=True)
    return 1 if failed else 0


@sim.command("study")
@click.argument("study_file", metavar="STUDY.toml", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Results directory [study-NAME].")
@click.option(
    "--jobs",
    type=click.IntRange(1, 256),
    default=None,
    help="Runs at a time on this machine [its number of cores].",
)
@click.option("--scheduler", default=None, help="Run on the Dask cluster whose scheduler is at this address.")
@click.option("--retry-errors", is_flag=True, help="Run again the runs recorded as errors.")
@click.option("--keep-runs", is_flag=True, help="Keep every run's full outputs (history, plots) in OUT/runs/.")
@click.option("--no-plots", is_flag=True, help="Skip the study's PNG plots.")
def sim_study(
    study_file: Path,
    out: Path | None,
    jobs: int | None,
    scheduler: str | None,
    retry_errors: bool,
    keep_runs: bool,
    no_plots: bool,
) -> None:
    """Run every point of STUDY.toml's grid with every seed, and merge the results into one table.

    Runs go to this machine's cores (--jobs), or to a Dask cluster (--scheduler). A run that fails
    is recorded with its seed and error and the study goes on; running the same command again
    resumes the study (finished runs are not run again). Writes OUT/results.csv and
    OUT/results.parquet (one row per run), OUT/timing.csv and OUT/plots/. The exit status is 1 if
    any run ended in an error."""
    from holdspace.simulations import executors  # noqa: PLC0415 - other commands start without the study runner
    from holdspace.simulations.progress import Progress  # noqa: PLC0415
    from holdspace.simulations.study import StudyError, load  # noqa: PLC0415
    from holdspace.simulations.study_runner import run_study  # noqa: PLC0415

    try:
        study = load(study_file)
    except StudyError as err:
        click.echo(f"error: {err.code}: {err.message}", err=True)
        sys.exit(1)
    out = out or Path(f"study-{study.name}")
    jobs = jobs or os.cpu_count() or 1
    where = f"the Dask cluster at {scheduler}" if scheduler else f"{jobs} processes"
    click.echo(
        f"study {study.name}: {len(study.points)} points x {len(study.seeds)} seeds = "
        f"{len(study.points) * len(study.seeds)} runs of scenario {study.scenario}, on {where}; results in {out}"
    )
    progress = Progress(parameters=list(study.grid))
    started = time.perf_counter()

    def runs(tasks: list[Any]) -> Any:
        if scheduler:
            return executors.dask(tasks, scheduler)
        return executors.local(tasks, jobs)

    try:
        outcome = run_study(
            study,
            out,
            runs,
            retry_errors=retry_errors,
            keep_runs=keep_runs,
            draw=not no_plots,
            on_start=progress.start,
            on_record=progress.record,
        )
    except KeyboardInterrupt:
        progress.finish()
        click.echo("stopped: the finished runs are recorded; run the same command again to resume", err=True)
        sys.exit(130)
    progress.finish()
    wall = time.perf_counter() - started
    done = outcome.total - len(outcome.errors)
    click.echo(
        f"{outcome.total} runs ({outcome.resumed} from earlier): {done} done, {len(outcome.failed_checks)} of them "
        f"failed a check, {len(outcome.errors)} errors; {wall:.1f} s; table in {out / 'results.csv'} and "
        f"{out / 'results.parquet'}" + (f", {len(outcome.figures)} plots in {out / 'plots'}" if outcome.figures else "")
    )
    for r in outcome.errors:
        click.echo(
            f"  error, point {r['index']} seed {r['seed']}: {r['error']} (replay: holdspace sim run "
            f"{out / 'points' / (r['point'] + '.toml')} --seed {r['seed']})",
            err=True,
        )
    sys.exit(1 if outcome.errors else 0)


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f}"
