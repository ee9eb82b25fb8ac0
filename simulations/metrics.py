"""Metrics of a run, computed from its history alone (plus the wire's traffic counters).

Every figure is in virtual time, so it is the same on any machine; the wall time a run took is
reported apart (``timing.json``), since it is not.
"""

from __future__ import annotations

import csv
import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

from simulations.history import History
from simulations.network import HostTraffic


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


def delivery_latencies(history: History) -> list[tuple[str, str, float]]:
    """(message id, recipient, seconds from the start of its publish to its decryption)."""
    started = {e["id"]: e["started"] for e in history.of("sent")}
    out = []
    for e in history.of("delivered"):
        t0 = started.get(e["id"])
        if t0 is not None and e["ok"]:
            out.append((e["id"], e["member"], round(e["t"] - t0, 6)))
    return out


def compute(
    history: History,
    traffic: dict[str, HostTraffic],
    nodes: list[str],
    *,
    convergence_s: float | None,
    violations: dict[str, list[str]],
    group_sizes: list[int],
) -> dict[str, Any]:
    sent = history.of("sent")
    removed = {e["member"] for e in history.of("removed")}
    forgers = {e["key"] for e in history.of("attack") if e["what"] == "equivocation"}  # their garbage is unreadable
    deliveries = delivery_latencies(history)
    ack = [e["t"] - e["started"] for e in sent]
    expected = sum(max(0, group_sizes[int(e["id"].split(":", 1)[0])] - 1) for e in sent)
    refused = Counter((e["code"]) for e in history.of("refused"))
    refused_peer = Counter((e["code"]) for e in history.of("refused") if e["source"] == "peer")
    stored = Counter(e["node"] for e in history.of("stored"))
    node_traffic = {n: traffic.get(n, HostTraffic()) for n in nodes}
    client_bytes = sum(t.bytes_sent + t.bytes_received for h, t in traffic.items() if h not in node_traffic)
    heals = [e["t"] for e in history.of("heal", "node_up", "loss_end") if e["t"] > history.t0]
    return {
        "messages": {
            "sent": len(sent),
            "checkins": sum(1 for e in sent if e.get("checkin")),
            "send_failed": len(history.of("send_failed")),
            "deliveries": len(deliveries),
            "deliveries_expected_at_most": expected,
            # a member still in the group who could not decrypt (concurrent rekeys, a bug...)
            "undecryptable": sum(
                1
                for e in history.of("delivered")
                if not e["ok"] and e["member"] not in removed and e["id"].split(":")[1] not in forgers
            ),
            # what removed members' clients received after their removal and could not read (as intended)
            "unreadable_to_removed_members": sum(
                1 for e in history.of("delivered") if not e["ok"] and e["member"] in removed
            ),
        },
        "publish_ack_latency": summary(ack),
        "delivery_latency": summary([d[2] for d in deliveries]),
        "convergence_after_faults_s": convergence_s,
        "convergence_after_each_recovery_s": _recoveries(history, heals),
        "bytes_per_node": {
            n: {"sent": t.bytes_sent, "received": t.bytes_received, "messages_lost": t.messages_lost}
            for n, t in node_traffic.items()
        },
        "bytes_all_clients": client_bytes,
        "entries_stored_per_node": {n: stored.get(n, 0) for n in nodes},
        "rejected_by_code": dict(sorted(refused.items())),
        "rejected_from_peers_by_code": dict(sorted(refused_peer.items())),
        "disconnections": len(history.of("disconnected")),
        "safety": {name: len(v) for name, v in violations.items()},
        "violations": {name: v[:20] for name, v in violations.items() if v},
    }


def _recoveries(history: History, times: list[float]) -> list[dict[str, float | None]]:
    """For each recovery (a heal, a restart, the end of a loss episode): seconds until a sample
    shows every group converged again."""
    samples = history.of("sample")
    out: list[dict[str, float | None]] = []
    for t in times:
        took = next((s["t"] - t for s in samples if s["t"] >= t and not s["behind"]), None)
        out.append({"at_s": round(t - history.t0, 6), "converged_after_s": None if took is None else round(took, 6)})
    return out


def write(out: Path, metrics: dict[str, Any], history: History, traffic: dict[str, HostTraffic]) -> None:
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    with (out / "latency.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["message", "recipient", "latency_s"])
        w.writerows(delivery_latencies(history))
    with (out / "convergence.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["t_s", "groups_converged", "groups"])
        for s in history.of("sample"):
            w.writerow([round(s["t"] - history.t0, 6), s["converged"], s["groups"]])
    with (out / "traffic.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["host", "bytes_sent", "bytes_received", "messages_sent", "messages_received", "messages_lost"])
        for host in sorted(traffic, key=str):
            t = traffic[host]
            w.writerow([host, t.bytes_sent, t.bytes_received, t.messages_sent, t.messages_received, t.messages_lost])
    with (out / "rejected.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["node", "source", "code", "count"])
        counts = Counter((e["node"], e["source"], e["code"]) for e in history.of("refused"))
        for (node, source, code), n in sorted(counts.items()):
            w.writerow([node, source, code, n])
