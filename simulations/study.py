"""Study files: a grid of scenario parameters x seeds, and the runs it stands for.

A study names a base scenario, fixed overrides (``[set]``), parameters to sweep (``[grid]``: every
combination of their values) and seeds; every (grid point, seed) is one run. The schema is in
``simulations/README.md``; this module is its only reader. A bad file raises :class:`StudyError`
(``sim.bad_study``) with a sentence naming the key; so does a grid point that makes an invalid
scenario (every point is checked before anything runs, so a sweep never stops half-way on a typo).

Parameters are dotted paths into the scenario's TOML tables: ``duration``,
``network.federation.loss``, ``groups.members``, ``faults.0.until`` (a number indexes an array of
tables). Values are written as in a scenario file (``"25m"`` or ``1500`` for a duration).

Invariants:

* a point's id is a hash of its whole resolved scenario (base file, ``[set]`` and the point's
  values), so a changed base never reuses the records of another one, and points added to a grid
  leave the ids of the others as they were;
* a run's id is ``POINT-SEED``; at most one record per run id exists in a results directory;
* the order of points is the order of the grid's keys and of their values, as written.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import tomlkit

from holdspace.protocol.errors import HoldspaceError
from holdspace.simulations.scenario import ScenarioError, duration, from_data, seeds, toml_data

MAX_RUNS: Final = 100_000
SCENARIOS: Final = Path(__file__).parent / "scenarios"


class StudyError(HoldspaceError):
    family = "sim"


def _bad(message: str) -> StudyError:
    return StudyError("sim.bad_study", message)


@dataclass(frozen=True)
class PlotSpec:
    """One figure: ``metric`` (a column of the results table) against the grid parameter
    ``against``, one line per value of the grid parameter ``by`` (if given), spread across seeds."""

    metric: str
    against: str
    by: str | None = None


@dataclass(frozen=True)
class Point:
    """One combination of the grid's values: ``params`` (path -> value as written) and the resolved
    scenario tables ``data``."""

    index: int
    id: str
    params: dict[str, Any]
    data: dict[str, Any]

    def toml(self) -> str:
        """The point's scenario as a file ``holdspace sim run`` accepts (to replay one of its runs)."""
        return tomlkit.dumps(self.data)


@dataclass(frozen=True)
class Task:
    """One run to do: everything a worker needs, with no file of the driver's (a cluster's workers
    may not share its disk). ``keep`` is a directory for the run's full outputs, or None."""

    run: str
    point: str
    index: int
    params: dict[str, Any]
    seed: int
    scenario: str  # the point's scenario, TOML text
    timeout: float | None = None
    keep: str | None = None


@dataclass
class Study:
    name: str
    description: str
    scenario: str  # as written: a shipped scenario's name or a path
    base: dict[str, Any]  # the scenario's tables with [set] applied
    grid: dict[str, list[Any]]
    seeds: list[int]
    timeout: float | None = None
    plots: list[PlotSpec] = field(default_factory=list)
    source: str = ""
    points: list[Point] = field(default_factory=list)

    def tasks(self, keep: Path | None = None) -> list[Task]:
        """Every run of the study, point by point, seed by seed."""
        out = []
        for point in self.points:
            text = point.toml()
            for seed in self.seeds:
                run = f"{point.id}-{seed}"
                out.append(
                    Task(
                        run=run,
                        point=point.id,
                        index=point.index,
                        params=point.params,
                        seed=seed,
                        scenario=text,
                        timeout=self.timeout,
                        keep=None if keep is None else str(keep / run),
                    )
                )
        return out

    def describe(self) -> dict[str, Any]:
        """The resolved study, for ``study.json``."""
        return {
            "name": self.name,
            "description": self.description,
            "scenario": self.scenario,
            "grid": self.grid,
            "seeds": self.seeds,
            "timeout_s": self.timeout,
            "plots": [{"metric": p.metric, "against": p.against, "by": p.by} for p in self.plots],
            "points": [{"point": p.id, "index": p.index, "params": p.params} for p in self.points],
        }


def load(path: str | Path) -> Study:
    """Read and check a study file. Raises :class:`StudyError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise _bad(f"cannot read {path}: {exc.strerror}") from exc
    return parse(text, path)


def parse(text: str, path: Path) -> Study:
    """Check a study (the text of ``path``, whose folder relative scenario paths start from).

    Conditions checked, each refused with ``sim.bad_study`` and a sentence naming the key:

    * the text is TOML; the top level has only ``name``, ``description``, ``scenario``, ``seeds``,
      ``timeout``, ``set``, ``grid`` and ``plots``;
    * ``scenario`` is given and names a shipped scenario or a readable scenario file;
    * ``seeds`` is N, ``"A-B"``, ``"A,B,C"`` or a list of integers (1 to 100,000 non-negative);
    * ``timeout``, if given, is a positive duration;
    * ``[set]`` and ``[grid]`` keys are dotted paths that reach into the scenario's tables (list
      indices must exist); every ``[grid]`` value is a non-empty list without repeats;
    * the grid has at most 100,000 runs (points x seeds);
    * every point's resolved scenario passes the scenario checks (``scenario.from_data``);
    * each ``[[plots]]`` names a ``metric``, ``against`` a grid parameter and optionally ``by``
      another grid parameter.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _bad(f"{path} is not valid TOML: {exc}") from exc
    unknown = sorted(set(data) - {"name", "description", "scenario", "seeds", "timeout", "set", "grid", "plots"})
    if unknown:
        raise _bad(f"unknown key {unknown[0]!r} (see simulations/README.md for the schema)")
    name = _text(data, "name", path.stem)
    description = _text(data, "description", "")
    scenario = data.get("scenario")
    if not isinstance(scenario, str) or not scenario:
        raise _bad("scenario is required: a shipped scenario's name or a path to a scenario file")
    scenario_path = _scenario_path(scenario, path.parent)
    try:
        base = toml_data(scenario_path.read_text(encoding="utf-8"), str(scenario_path))
    except (OSError, ScenarioError) as exc:
        raise _bad(f"scenario {scenario!r}: {getattr(exc, 'message', None) or exc}") from exc
    base.setdefault("name", scenario_path.stem)
    try:
        run_seeds = seeds(data.get("seeds", 1))
    except ScenarioError as exc:
        raise _bad(f"seeds: {exc.message}") from exc
    timeout = None
    if "timeout" in data:
        try:
            timeout = duration(data["timeout"], "timeout")
        except ScenarioError as exc:
            raise _bad(exc.message) from exc
        if timeout <= 0:
            raise _bad("timeout must be positive")
    fixed = _flat(_table(data, "set"), "set")
    for key, value in fixed.items():
        _assign(base, key, value, "set")
    grid = _flat(_table(data, "grid"), "grid")
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise _bad(f"grid.{key} must be a non-empty list of values")
        if len({json.dumps(v, sort_keys=True, default=str) for v in values}) != len(values):
            raise _bad(f"grid.{key} lists a value twice")
    n_points = 1
    for values in grid.values():
        n_points *= len(values)
    if n_points * len(run_seeds) > MAX_RUNS:
        raise _bad(f"{n_points} points x {len(run_seeds)} seeds is over the limit of {MAX_RUNS} runs")
    plots = [_plot(p, grid, i) for i, p in enumerate(_tables(data, "plots"))]
    study = Study(name, description, scenario, base, grid, run_seeds, timeout, plots, str(path))
    study.points = _points(study)
    return study


def _text(data: dict[str, Any], key: str, default: str) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise _bad(f"{key} must be a string, not {value!r}")
    return value


def _table(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise _bad(f"{key} must be a table ([{key}])")
    return value


def _tables(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise _bad(f"{key} must be an array of tables ([[{key}]])")
    return value


def _scenario_path(text: str, here: Path) -> Path:
    for candidate in (here / text, Path(text), SCENARIOS / f"{text}.toml"):
        if candidate.is_file():
            return candidate
    shipped = ", ".join(sorted(p.stem for p in SCENARIOS.glob("*.toml")))
    raise _bad(f"scenario {text!r} is neither a file nor a shipped scenario ({shipped})")


def _flat(table: dict[str, Any], where: str) -> dict[str, Any]:
    """``{"a": {"b": 1}, "c.d": 2}`` -> ``{"a.b": 1, "c.d": 2}`` (tables nest, quoted keys may
    already be dotted)."""
    out: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else k, v)
        else:
            if prefix in out:
                raise _bad(f"{where}.{prefix} is given twice")
            out[prefix] = value

    walk("", table)
    return out


def assign(data: dict[str, Any], path: str, value: Any) -> None:
    """Set ``path`` (dotted; numbers index arrays) in a scenario's tables to ``value``."""
    _assign(data, path, value, "grid")


def _assign(data: dict[str, Any], path: str, value: Any, where: str) -> None:
    parts = path.split(".")
    if not all(parts):
        raise _bad(f"{where}: {path!r} is not a dotted path")
    node: Any = data
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        here = ".".join(parts[: i + 1])
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise _bad(f"{where}.{path}: the scenario has no {here} (it has {len(node)} of them)")
            if last:
                node[int(part)] = value
            else:
                node = node[int(part)]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
        else:
            raise _bad(f"{where}.{path}: {'.'.join(parts[:i])} is a value, not a table")


def _plot(table: dict[str, Any], grid: dict[str, list[Any]], i: int) -> PlotSpec:
    where = f"plots[{i}]"
    unknown = sorted(set(table) - {"metric", "against", "by"})
    if unknown:
        raise _bad(f"unknown key {where}.{unknown[0]}")
    metric, against, by = table.get("metric"), table.get("against"), table.get("by")
    if not isinstance(metric, str) or not metric:
        raise _bad(f"{where}.metric must name a column of the results table")
    if against not in grid:
        raise _bad(f"{where}.against must be a grid parameter ({', '.join(grid) or 'the grid is empty'})")
    if by is not None and (by not in grid or by == against):
        raise _bad(f"{where}.by must be another grid parameter")
    return PlotSpec(metric, str(against), None if by is None else str(by))


def _points(study: Study) -> list[Point]:
    keys = list(study.grid)
    out = []
    for index, values in enumerate(itertools.product(*(study.grid[k] for k in keys))):
        params = dict(zip(keys, values, strict=True))
        data = copy.deepcopy(study.base)
        for key, value in params.items():
            _assign(data, key, value, "grid")
        try:
            from_data(copy.deepcopy(data), f"{study.name} point {index}")
        except ScenarioError as exc:
            raise _bad(f"grid point {params}: {exc.message}") from exc
        digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:10]
        out.append(Point(index, digest, params, data))
    return out


def default_plots(study: Study) -> list[PlotSpec]:
    """Without ``[[plots]]``: convergence after the faults and the 99th percentile of delivery
    latency, each against every grid parameter."""
    return [
        PlotSpec(metric, key)
        for key in study.grid
        for metric in ("convergence_after_faults_s", "delivery_latency.p99_s")
    ]
