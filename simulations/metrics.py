"""Metrics of a run, computed from its history alone (plus the wire's traffic counters), read
back from ``history.jsonl`` as a stream (:class:`Digest`), never held in memory whole.

Every figure is in virtual time, so it is the same on any machine; the wall time a run took is
reported apart (``timing.json``), since it is not.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
from array import array
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from holdspace.simulations.history import iter_events
from holdspace.simulations.network import HostTraffic


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (``q`` in [0, 100])."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def summary(values: list[float]) -> dict[str, Any]:
    v = sorted(values)
    if not v:
        return {"count": 0}
    return {
        "count": len(v),
        "mean_s": round(sum(v) / len(v), 6),
        "p50_s": round(percentile(v, 50), 6),
        "p90_s": round(percentile(v, 90), 6),
        "p99_s": round(percentile(v, 99), 6),
        "max_s": round(v[-1], 6),
    }


@dataclass
class Digest:
    """What the metrics and plots need of a history, read from its file in two passes (the
    history itself is never in memory). Deliveries are resolved in the second pass, since a
    member may decrypt a message before its author's publish is acknowledged (``sent``).

    Invariants: ``latencies`` holds one value per delivery that decrypted a message whose ``sent``
    is in the history, in the order of the history; ``latency.csv`` gets the same rows, in the same
    order, written while reading (``csv_path``)."""

    t0: float = 0.0
    last_t: float = 0.0
    events: int = 0
    sent: int = 0
    sent_per_group: Counter[int] = field(default_factory=Counter)
    checkins: int = 0
    send_failed: int = 0
    disconnections: int = 0
    ack: list[float] = field(default_factory=list)
    latencies: array[float] = field(default_factory=lambda: array("d"))
    not_ok: Counter[tuple[str, str]] = field(default_factory=Counter)  # (member, author key prefix)
    removed: set[str] = field(default_factory=set)
    forgers: set[str] = field(default_factory=set)  # equivocators: their garbage is unreadable
    refused: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (node, source, code)
    stored: Counter[str] = field(default_factory=Counter)
    samples: list[dict[str, Any]] = field(default_factory=list)
    marks: dict[str, list[float]] = field(default_factory=dict)  # times of partition, heal, loss...

    @classmethod
    def read(cls, path: Path, csv_path: Path | None = None) -> Digest:
        d = cls()
        started: dict[str, float] = {}
        for e in iter_events(path):  # pass 1: everything but the deliveries
            d.events += 1
            d.last_t = e["t"]
            ev = e["ev"]
            if ev == "delivered":
                continue
            if ev == "sent":
                started[e["id"]] = e["started"]
                d.sent += 1
                d.sent_per_group[int(e["id"].split(":", 1)[0])] += 1
                d.checkins += bool(e.get("checkin"))
                d.ack.append(e["t"] - e["started"])
            elif ev == "stored":
                d.stored[e["node"]] += 1
            elif ev == "refused":
                d.refused[(e["node"], e["source"], e["code"])] += 1
            elif ev == "sample":
                d.samples.append(e)
            elif ev == "send_failed":
                d.send_failed += 1
            elif ev == "disconnected":
                d.disconnections += 1
            elif ev == "removed":
                d.removed.add(e["member"])
            elif ev == "attack" and e["what"] == "equivocation":
                d.forgers.add(e["key"])
            elif ev == "traffic_start":
                d.t0 = e["t"]
            if ev in MARKS:
                d.marks.setdefault(ev, []).append(e["t"])
        with contextlib.ExitStack() as stack:
            writer = None
            if csv_path is not None:
                writer = csv.writer(
                    stack.enter_context(csv_path.open("w", newline="", encoding="utf-8")), lineterminator="\n"
                )
                writer.writerow(["message", "recipient", "latency_s"])
            for e in iter_events(path, "delivered"):  # pass 2: the deliveries
                if not e["ok"]:
                    d.not_ok[(e["member"], e["id"].split(":")[1])] += 1
                    continue
                t0 = started.get(e["id"])
                if t0 is not None:
                    latency = round(e["t"] - t0, 6)
                    d.latencies.append(latency)
                    if writer is not None:
                        writer.writerow([e["id"], e["member"], latency])
        return d


MARKS: Final = ("partition", "heal", "loss", "loss_end", "node_up", "node_down")


def compute(
    digest: Digest,
    traffic: dict[str, HostTraffic],
    nodes: list[str],
    *,
    convergence_s: float | None,
    violations: dict[str, list[str]],
    group_sizes: list[int],
) -> dict[str, Any]:
    d = digest
    expected = sum(n * max(0, group_sizes[g] - 1) for g, n in d.sent_per_group.items())
    refused = Counter[str]()
    refused_peer = Counter[str]()
    for (_node, source, code), n in d.refused.items():
        refused[code] += n
        if source == "peer":
            refused_peer[code] += n
    node_traffic = {n: traffic.get(n, HostTraffic()) for n in nodes}
    client_bytes = sum(t.bytes_sent + t.bytes_received for h, t in traffic.items() if h not in node_traffic)
    heals = sorted(t for k in ("heal", "node_up", "loss_end") for t in d.marks.get(k, []) if t > d.t0)
    return {
        "messages": {
            "sent": d.sent,
            "checkins": d.checkins,
            "send_failed": d.send_failed,
            "deliveries": len(d.latencies),
            "deliveries_expected_at_most": expected,
            # a member still in the group who could not decrypt (concurrent rekeys, a bug...)
            "undecryptable": sum(
                n for (member, author), n in d.not_ok.items() if member not in d.removed and author not in d.forgers
            ),
            # what removed members' clients received after their removal and could not read (as intended)
            "unreadable_to_removed_members": sum(n for (member, _a), n in d.not_ok.items() if member in d.removed),
        },
        "publish_ack_latency": summary(d.ack),
        "delivery_latency": summary(list(d.latencies)),
        "convergence_after_faults_s": convergence_s,
        "convergence_after_each_recovery_s": _recoveries(d, heals),
        "bytes_per_node": {
            n: {"sent": t.bytes_sent, "received": t.bytes_received, "messages_lost": t.messages_lost}
            for n, t in node_traffic.items()
        },
        "bytes_all_clients": client_bytes,
        "entries_stored_per_node": {n: d.stored.get(n, 0) for n in nodes},
        "rejected_by_code": dict(sorted(refused.items())),
        "rejected_from_peers_by_code": dict(sorted(refused_peer.items())),
        "disconnections": d.disconnections,
        "safety": {name: len(v) for name, v in violations.items()},
        "violations": {name: v[:20] for name, v in violations.items() if v},
    }


def _recoveries(d: Digest, times: list[float]) -> list[dict[str, float | None]]:
    """For each recovery (a heal, a restart, the end of a loss episode): seconds until a sample
    shows every group converged again."""
    samples = d.samples
    out: list[dict[str, float | None]] = []
    for t in times:
        took = next((s["t"] - t for s in samples if s["t"] >= t and not s["behind"]), None)
        out.append({"at_s": round(t - d.t0, 6), "converged_after_s": None if took is None else round(took, 6)})
    return out


def write(out: Path, metrics: dict[str, Any], d: Digest, traffic: dict[str, HostTraffic]) -> None:
    """``metrics.json``, ``convergence.csv``, ``traffic.csv`` and ``rejected.csv`` (``latency.csv``
    is written by :meth:`Digest.read`)."""
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    with (out / "convergence.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["t_s", "groups_converged", "groups"])
        for s in d.samples:
            w.writerow([round(s["t"] - d.t0, 6), s["converged"], s["groups"]])
    with (out / "traffic.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["host", "bytes_sent", "bytes_received", "messages_sent", "messages_received", "messages_lost"])
        for host in sorted(traffic, key=str):
            t = traffic[host]
            w.writerow([host, t.bytes_sent, t.bytes_received, t.messages_sent, t.messages_received, t.messages_lost])
    with (out / "rejected.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["node", "source", "code", "count"])
        for (node, source, code), n in sorted(d.refused.items()):
            w.writerow([node, source, code, n])
