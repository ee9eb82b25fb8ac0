"""A study's results as one tidy table: one row per run, one column per parameter and metric.

Columns, in order: ``run``, ``point``, the grid parameters (as written in the study, in its
order), ``seed``, ``status`` (``done`` or ``error``), ``error``, then every metric of
``metrics.json`` flattened to a dotted name, sorted:

* nested figures become ``delivery_latency.p99_s``, ``messages.sent``, ``safety.converged``...;
* per-node figures are summed and maximised over the nodes: ``bytes_per_node.sent.sum``,
  ``bytes_per_node.sent.max``, ``entries_stored_per_node.sum``...;
* the recoveries become ``recoveries`` (how many), ``recovery_converged_after_s.max`` and
  ``recoveries_never_converged``;
* refusals by code become ``rejected_by_code.CODE`` (0 where a run had none);
* the violations' sentences are left out (their counts are the ``safety.*`` columns; the sentences
  are in each run's record).

An error run has its metric columns empty (null). Wall time and memory, which differ between
machines, are not in this table but in ``timing.csv`` (``run``, ``seed``, ``wall_s``,
``setup_wall_s``, ``simulated_s``, ``speedup``, ``peak_rss_mb``), so ``results.csv`` and
``results.parquet`` are the same bytes for the same study, seeds and code.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from holdspace.simulations.study_worker import Record, write_atomically

PER_NODE = ("bytes_per_node", "entries_stored_per_node")
COUNTED = ("rejected_by_code.", "rejected_from_peers_by_code.")
TIMING = ("wall_s", "setup_wall_s", "simulated_s", "speedup", "peak_rss_mb")


def flatten(metrics: dict[str, Any]) -> dict[str, Any]:
    """A run's ``metrics.json`` as one flat row (see the module docstring)."""
    out: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k in sorted(value):
                walk(f"{prefix}.{k}", value[k])
        elif not isinstance(value, list):
            out[prefix] = value

    for key, value in metrics.items():
        if key in ("violations", "seed"):
            continue
        if key in PER_NODE and isinstance(value, dict):
            _per_node(out, key, value)
        elif key == "convergence_after_each_recovery_s" and isinstance(value, list):
            times = [r["converged_after_s"] for r in value]
            known = [t for t in times if t is not None]
            out["recoveries"] = len(times)
            out["recovery_converged_after_s.max"] = max(known) if known else None
            out["recoveries_never_converged"] = len(times) - len(known)
        else:
            walk(key, value)
    return out


def _per_node(out: dict[str, Any], key: str, nodes: dict[str, Any]) -> None:
    fields: dict[str, list[float]] = {}
    for figures in nodes.values():
        if isinstance(figures, dict):
            for name, v in figures.items():
                fields.setdefault(f"{key}.{name}", []).append(v)
        else:
            fields.setdefault(key, []).append(figures)
    for name, values in sorted(fields.items()):
        out[f"{name}.sum"] = sum(values)
        out[f"{name}.max"] = max(values)


def rows(records: list[Record], parameters: list[str]) -> tuple[list[str], list[dict[str, Any]]]:
    """The table's columns and rows (one per record, in the order given)."""
    flat = [flatten(r["metrics"]) if r["status"] == "done" and r["metrics"] else {} for r in records]
    metric_columns = sorted({k for f in flat for k in f})
    head = ["run", "point", *parameters, "seed", "status", "error"]
    columns = head + [c for c in metric_columns if c not in head]
    table = []
    for r, f in zip(records, flat, strict=True):
        row: dict[str, Any] = {"run": r["run"], "point": r["point"], "seed": r["seed"]}
        row.update({p: r["params"].get(p) for p in parameters})
        row["status"], row["error"] = r["status"], r["error"]
        for c in metric_columns:
            value = f.get(c)
            if value is None and r["status"] == "done" and c.startswith(COUNTED):
                value = 0
            row[c] = value
        table.append(row)
    return columns, table


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def write(out: Path, records: list[Record], parameters: list[str]) -> tuple[list[str], list[dict[str, Any]]]:
    """``results.csv``, ``results.parquet`` and ``timing.csv`` in ``out``; returns the table."""
    columns, table = rows(records, parameters)
    text = io.StringIO()
    w = csv.writer(text, lineterminator="\n")
    w.writerow(columns)
    for row in table:
        w.writerow([_cell(row[c]) for c in columns])
    write_atomically(out / "results.csv", text.getvalue())
    _parquet(out / "results.parquet", columns, table)
    text = io.StringIO()
    w = csv.writer(text, lineterminator="\n")
    w.writerow(["run", "seed", *TIMING])
    for r in records:
        timing = r.get("timing") or {}
        w.writerow([r["run"], r["seed"], *(_cell(timing.get(k)) for k in TIMING)])
    write_atomically(out / "timing.csv", text.getvalue())
    return columns, table


def _parquet(path: Path, columns: list[str], table: list[dict[str, Any]]) -> None:
    import pyarrow as pa  # type: ignore[import-untyped]  # noqa: PLC0415 - an optional dependency (the "sim" extra)
    import pyarrow.parquet as pq  # type: ignore[import-untyped]  # noqa: PLC0415

    arrays = []
    for c in columns:
        values = [row[c] for row in table]
        try:
            array = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):  # mixed types (10 and "5m"): text
            array = pa.array([None if v is None else _cell(v) for v in values], type=pa.string())
        if array.type == pa.null():
            array = pa.array(values, type=pa.string() if c == "error" else pa.float64())  # empty in every row
        arrays.append(array)
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(pa.Table.from_arrays(arrays, names=columns), tmp)
    tmp.replace(path)
