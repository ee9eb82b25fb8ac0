"""PNG plots of a run (matplotlib, headless): delivery latency CDF, convergence over time, traffic
per node. Each figure is drawn from the same history the metrics come from."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from holdspace.simulations.metrics import Digest
from holdspace.simulations.network import HostTraffic

_PNG = {"Software": None}  # no version string in the file: the same run gives the same bytes


def write(out: Path, digest: Digest, traffic: dict[str, HostTraffic], nodes: list[str], title: str) -> None:
    plt = _pyplot()
    _latency(plt, out / "latency_cdf.png", digest, title)
    _convergence(plt, out / "convergence.png", digest, title)
    _traffic(plt, out / "traffic.png", traffic, nodes, title)


def _pyplot() -> Any:
    import matplotlib  # noqa: PLC0415 - costs ~0.4 s to import: only runs that draw pay it

    matplotlib.use("Agg")  # no display
    import matplotlib.pyplot  # noqa: PLC0415

    return matplotlib.pyplot


def _latency(plt: Any, path: Path, digest: Digest, title: str) -> None:
    values = sorted(v * 1000 for v in digest.latencies)
    fig, ax = plt.subplots(figsize=(7, 4.2))
    if values:
        ys = [(i + 1) / len(values) for i in range(len(values))]
        ax.step(values, ys, where="post")
        ax.set_xscale("log")
    ax.set_xlabel("delivery latency, publish to decrypted by a member (ms, virtual time)")
    ax.set_ylabel("fraction of deliveries")
    ax.set_ylim(0, 1.01)
    ax.grid(True, which="both", alpha=0.3)
    ax.set_title(f"{title}: delivery latency CDF ({len(values)} deliveries)")
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata=_PNG)
    plt.close(fig)


def _convergence(plt: Any, path: Path, digest: Digest, title: str) -> None:
    samples = digest.samples
    t0 = digest.t0
    fig, ax = plt.subplots(figsize=(7, 4.2))
    xs = [(s["t"] - t0) / 60 for s in samples]
    ys = [s["converged"] / s["groups"] if s["groups"] else 1.0 for s in samples]
    ax.plot(xs, ys, drawstyle="steps-post")
    for start_ev, end_ev, colour in (("partition", "heal", "tab:red"), ("loss", "loss_end", "tab:orange")):
        starts = digest.marks.get(start_ev, [])
        ends = digest.marks.get(end_ev, [])
        for a, b in zip(starts, ends, strict=False):
            ax.axvspan((a - t0) / 60, (b - t0) / 60, color=colour, alpha=0.15, label=start_ev)
    for t in digest.marks.get("node_down", []):
        if t >= t0:
            ax.axvline((t - t0) / 60, color="black", alpha=0.4, linestyle=":", label="crash")
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    if unique:
        ax.legend(unique.values(), unique.keys(), loc="lower right")
    ax.set_xlabel("minutes since traffic started (virtual time)")
    ax.set_ylabel("groups converged on all live honest hosts")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(True, alpha=0.3)
    ax.set_title(f"{title}: convergence over time")
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata=_PNG)
    plt.close(fig)


def _traffic(plt: Any, path: Path, traffic: dict[str, HostTraffic], nodes: list[str], title: str) -> None:
    sent = [traffic.get(n, HostTraffic()).bytes_sent / 1e6 for n in nodes]
    received = [traffic.get(n, HostTraffic()).bytes_received / 1e6 for n in nodes]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    if len(nodes) <= 40:
        xs = range(len(nodes))
        ax.bar([x - 0.2 for x in xs], sent, width=0.4, label="sent")
        ax.bar([x + 0.2 for x in xs], received, width=0.4, label="received")
        ax.set_xticks(list(xs), nodes, rotation=90 if len(nodes) > 12 else 0)
        ax.set_xlabel("node")
    else:  # many nodes: each curve sorted, largest first
        ax.plot(sorted(sent, reverse=True), label="sent")
        ax.plot(sorted(received, reverse=True), label="received")
        ax.set_xlabel("nodes, ranked by traffic")
    ax.set_ylabel("MB on the wire (headers included)")
    ax.legend()
    ax.grid(True, axis="y", alpha=0.3)
    ax.set_title(f"{title}: traffic per node")
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata=_PNG)
    plt.close(fig)


def study(
    path: Path,
    table: list[dict[str, Any]],
    metric: str,
    against: str,
    by: str | None,
    title: str,
) -> bool:
    """A study's figure: ``metric`` against the grid parameter ``against``, one line per value of
    ``by``: the median across seeds, a band from the lowest to the highest seed, and each seed as a
    dot. Durations written as text (``"25m"``) are placed by their seconds; other text values are
    categories, in the grid's order. Returns False (and draws nothing) if no run has the metric."""
    from holdspace.simulations.scenario import ScenarioError, duration  # noqa: PLC0415

    done = [r for r in table if r["status"] == "done" and isinstance(r.get(metric), int | float)]
    if not done:
        return False

    def position(value: Any) -> float | None:
        if isinstance(value, bool):
            return None
        if isinstance(value, int | float):
            return float(value)
        try:
            return duration(value, against)
        except ScenarioError:
            return None

    xs_written = list(dict.fromkeys(r[against] for r in table))
    numeric = all(position(v) is not None for v in xs_written)
    place = {v: (position(v) if numeric else float(i)) for i, v in enumerate(xs_written)}
    series = list(dict.fromkeys(r[by] for r in table)) if by else [None]
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for value in series:
        rows = [r for r in done if by is None or r[by] == value]
        points = [x for x in xs_written if any(r[against] == x for r in rows)]
        if not points:
            continue
        xs = [place[x] for x in points]
        ys = [sorted(float(r[metric]) for r in rows if r[against] == x) for x in points]
        label = None if by is None else f"{by} = {value}"
        (line,) = ax.plot(xs, [statistics.median(y) for y in ys], marker="o", label=label)
        ax.fill_between(xs, [y[0] for y in ys], [y[-1] for y in ys], color=line.get_color(), alpha=0.15)
        for x, y in zip(xs, ys, strict=True):
            ax.scatter([x] * len(y), y, color=line.get_color(), s=10, alpha=0.5)
    if not numeric:
        ax.set_xticks([place[v] for v in xs_written], [str(v) for v in xs_written])
    ax.set_xlabel(against + (" (s)" if numeric and any(isinstance(v, str) for v in xs_written) else ""))
    ax.set_ylabel(metric)
    ax.grid(True, alpha=0.3)
    if by is not None:
        ax.legend()
    seeds = len({r["seed"] for r in done})
    ax.set_title(f"{title}: median, range and each of {seeds} seeds")
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata=_PNG)
    plt.close(fig)
    return True
