"""Every benchmark in one command: one JSON list of records and a Markdown table.

Run: .venv/bin/python benchmarks/run_all.py [--quick] [--only NAME[,NAME]] [--full-sim] [--output DIR]

Each benchmark script runs in its own process (isolation; memory figures are its own), with a
flag that makes it print its figures as JSON; one adapter per benchmark turns them into records:

    {"name", "value", "unit", "baseline", "baseline_value", "ratio", "target", "met"}

``ratio`` is ``value / baseline_value``, where the baseline is a figure the same script measured in
the same run (null where none applies). ``target`` applies to ``ratio`` when the record has a
baseline, otherwise to ``value``; ``met`` says whether it holds (both null where no target is set;
the direction, at least or at most, is in the Markdown table). A benchmark that fails (crash, no
parseable output, time-out) becomes one record ``{"name": "<bench>: failed", "value": null, ...}``;
the others still run.

Writes, in ``benchmarks/results/`` (or ``--output``):

* ``latest.json``: the records (a plain list);
* ``latest.md``: the machine, the run, and the table;
* ``machine.json``: the machine and the run (cores, Python, date, options, each benchmark's wall time
  and error if any).

latest.json, machine.json and latest.md are written again after each benchmark (a run stopped
midway keeps what it measured; the records of a benchmark that has not run yet stay as they were).

Benchmarks (``--only`` names): protocol, control, transport, store, node, federation, startup,
retention, device, app, sim, nostr. The start-up benchmark generates its store once (10,000 groups,
1,000,000 signed entries, about 1.1 GB; many minutes on a loaded machine) in
``$TMPDIR/holdspace-startup-store`` and reuses it in later runs. With ``--only``, the other
benchmarks' records already in ``latest.json`` are kept.
The full run stores 1,000,000 entries for the store figures (a few minutes, about 2 GB of disk);
``--quick`` uses 100,000 and short durations everywhere (a smoke run). The simulator's 1,000-node
hour (about a quarter of an hour) runs only with ``--full-sim`` (with ``--quick``: its 100-node
variant); otherwise only the small scenario.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
PY = sys.executable

Record = dict[str, Any]
KEYS = ("name", "value", "unit", "baseline", "baseline_value", "ratio", "target", "met")


# --- records ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A target from the issue or a benchmark's docstring: ``on`` ("ratio" or "value") ``op`` ``value``."""

    on: str
    op: str  # ">=" or "<="
    value: float
    source: str

    def met(self, record: Record) -> bool | None:
        x = record[self.on]
        if x is None:
            return None
        return bool(x >= self.value if self.op == ">=" else x <= self.value)

    def text(self, unit: str | None) -> str:
        op = {">=": "≥", "<=": "≤"}[self.op]
        return f"ratio {op} {self.value:g}" if self.on == "ratio" else f"{op} {self.value:g} {unit or ''}".rstrip()


# Records whose name contains the key get this target (where the benchmark set none, or the same one).
TARGETS: dict[str, Target] = {
    "after 20,000 control entries": Target("ratio", "<=", 2, "issue: 20,000 earlier entries within 2x of 100"),
    # issue 17: the first matching key wins, so each 32-per-round-trip key comes before its one-per-request key
    "Holdspace: accepted msgs/s (10 publishers, 1 live subscriber, ~1 KiB signed messages, 32 per round trip)": Target(
        "ratio", ">=", 10, "issue 17: publish_many of 32 >= 10x nostr-relay"
    ),
    "Holdspace: accepted msgs/s": Target("ratio", ">=", 4, "issue 17: one publish per request >= 4x nostr-relay"),
    "Holdspace: server CPU per accepted message, 32 per round trip": Target(
        "value", "<=", 0.12, "issue 17: publish_many of 32 <= 0.12 ms CPU per entry"
    ),
    "Holdspace: server CPU per accepted message": Target("ratio", "<=", 0.2, "issue 17: <= 0.2x nostr-relay's CPU"),
    "node CPU per accepted entry, publish_many of 32": Target("value", "<=", 0.12, "issue 17: <= 0.12 ms per entry"),
    "node CPU per accepted entry (ingest)": Target("value", "<=", 0.30, "issue 17: one publish per request <= 0.30 ms"),
    "ingest with 10 live subscribers vs 1": Target("ratio", ">=", 0.8, "issue 17: >= 0.8x the 1-subscriber rate"),
    "fan-out delivery latency p99, 10 subscribers, paced 1,000/s": Target("value", "<=", 30, "issue 17: < 30 ms"),
    "federation: catch-up of": Target("ratio", ">=", 0.9, "issue 17: catch-up >= 0.9x the node's local ingest"),
    "node start-up with 10,000 groups": Target("value", "<=", 2, "issue 17: start-up within 2 s"),
    "anonymous memory at start-up with 10,000 groups": Target("value", "<=", 200, "issue 17: < 200 MB"),
    "communities: wall time": Target("value", "<=", 600, "issue: 1,000 nodes x 1 hour within 10 minutes"),
    "catch-up wire overhead": Target("ratio", "<=", 1.10, "federation_bench: bytes received <= 1.10 x entries"),
    "device: append one message and save, 100,000": Target("ratio", "<=", 1.5, "issue: 100,000 within 1.5x of 100"),
    "device: page read (newest 50), 100,000": Target("ratio", "<=", 1.5, "issue: 100,000 within 1.5x of 100"),
    "device: open, 100,000": Target("value", "<=", 1.0, "issue: open within 1 s"),
}


def _num(x: float | None, digits: int = 6) -> float | int | None:
    """Rounded to ``digits`` significant figures (integers stay integers)."""
    if x is None:
        return None
    if isinstance(x, int) and not isinstance(x, bool):
        return x
    return float(f"{x:.{digits}g}")


def rec(
    name: str,
    value: float | None,
    unit: str,
    baseline: str | None = None,
    baseline_value: float | None = None,
) -> Record:
    """A record; the ratio is computed here from the unrounded figures; targets come from TARGETS."""
    ratio = value / baseline_value if value is not None and baseline_value else None
    return {
        "name": name,
        "value": _num(value),
        "unit": unit,
        "baseline": baseline if baseline_value is not None else None,
        "baseline_value": _num(baseline_value),
        "ratio": _num(ratio, 4),
        "target": None,
        "met": None,
    }


def target_of(record: Record) -> Target | None:
    for key, target in TARGETS.items():
        if key in record["name"]:
            return target
    return None


def finish(bench: str, records: list[Record]) -> list[Record]:
    """Prefix names with the benchmark's, check the keys, apply TARGETS."""
    out = []
    for given in records:
        r = {k: given.get(k) for k in KEYS}
        if not str(r["name"]).startswith(f"{bench}:"):
            r["name"] = f"{bench}: {r['name']}"
        target = target_of(r)
        if target is not None and r["target"] in (None, target.value):
            r["target"], r["met"] = target.value, target.met(r)
        out.append(r)
    return out


def failed(bench: str) -> Record:
    return dict.fromkeys(KEYS) | {"name": f"{bench}: failed"}


# --- parsing a script's output ----------------------------------------------------------------------


def last_json(text: str) -> Any:
    """The last JSON value that starts at the beginning of a line (a one-line dump or an indented one)."""
    decoder = json.JSONDecoder()
    offsets = [m.start() for m in re.finditer(r"^[\[{]", text, re.MULTILINE)]
    for offset in reversed(offsets):
        try:
            return decoder.raw_decode(text, offset)[0]
        except json.JSONDecodeError:
            continue
    raise ValueError("no JSON in the output")


def json_lines(text: str) -> list[Any]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


# --- adapters: one per benchmark --------------------------------------------------------------------


def protocol_records(out: str) -> list[Record]:
    f = last_json(out)
    base = f["baseline_per_s"]
    blake = "BLAKE2b-256 of 1 KiB, same run"
    records = [
        rec("entry header, empty payload, seq > 1", f["entry_header_bytes"], "bytes"),
        rec("BLAKE2b-256 of 1 KiB (the baseline of the rates)", base, "/s"),
    ]
    records += [rec(key[len("rate: ") :], v, "/s", blake, base) for key, v in f.items() if key.startswith("rate: ")]
    records.append(rec("encrypt 1 KB message (ratchet step + pad + AEAD)", f["encrypt_1kb_per_s"], "/s", blake, base))
    for key, v in f.items():
        if key.startswith("payload bytes: "):
            size = int(key.rsplit(" ", 1)[1])
            records.append(
                rec(f"encrypted payload of a {size:,}-byte message", v, "bytes", "plaintext bytes", size or None)
            )
    for n in sorted({int(k.split()[1].rstrip(":")) for k in f if k.startswith("removal ")}):
        g = f"removal in a {n:,}-member group"
        records += [
            rec(f"{g}: remove + rekey entries", f[f"removal {n}: bytes"], "bytes"),
            rec(f"{g}: remover's time (incl. one state computation)", f[f"removal {n}: remover_ms"], "ms"),
            rec(
                f"{g}: a node's state recomputation with its cache",
                f[f"removal {n}: recompute_ms"],
                "ms",
                "first, cold state computation",
                f[f"removal {n}: cold_ms"],
            ),
        ]
    return records


def node_records(out: str) -> list[Record]:
    d = last_json(out)
    base = d["baseline_entries_per_s"]
    runs = d["runs"]
    ing, full, paced = (
        runs["ingest, 1 subscriber"],
        runs["full load, 10 subscribers"],
        runs["paced 1000/s, 10 subscribers"],
    )
    limit = "single-core decode + verify + durable store (1000 per commit)"
    return [
        rec("ingest over QUIC (10 publishers, 1 subscriber)", ing["entries_per_s"], "entries/s", limit, base),
        rec(
            "node CPU per accepted entry (ingest)",
            ing["cpu_ms_per_entry"],
            "ms",
            "single-core decode + verify + store, per entry",
            1000 / base,
        ),
        rec("node CPU share during ingest", ing["node_cpu_share"], "cores"),
        *ingest_detail_records(ing),
        rec("live delivery latency p50, 1 subscriber, full load", ing["p50_ms"], "ms"),
        rec("live delivery latency p99, 1 subscriber, full load", ing["p99_ms"], "ms"),
        rec("ingest over QUIC with 10 live subscribers", full["entries_per_s"], "entries/s", limit, base),
        rec(
            "ingest with 10 live subscribers vs 1",
            full["entries_per_s"],
            "entries/s",
            "1 subscriber, same run",
            ing["entries_per_s"],
        ),
        rec(
            "fan-out delivery latency p50, 10 subscribers, full load",
            full["p50_ms"],
            "ms",
            "1 subscriber, full load",
            ing["p50_ms"],
        ),
        rec(
            "fan-out delivery latency p99, 10 subscribers, full load",
            full["p99_ms"],
            "ms",
            "1 subscriber, full load",
            ing["p99_ms"],
        ),
        rec("paced run: accepted entries/s", paced["entries_per_s"], "entries/s", "asked rate", 1000.0),
        rec("fan-out delivery latency p50, 10 subscribers, paced 1,000/s", paced["p50_ms"], "ms"),
        rec("fan-out delivery latency p99, 10 subscribers, paced 1,000/s", paced["p99_ms"], "ms"),
        rec("node peak RSS (10 subscribers, full load)", full["node_peak_rss_mb"], "MiB"),
        *batched_records(runs, base, limit),
    ]


def ingest_detail_records(ing: dict[str, Any]) -> list[Record]:
    """Datagrams per entry, each core's busy share and each node thread's CPU share during ingest
    (absent from older node_bench output)."""
    records = []
    if "node_datagrams_in_per_entry" in ing:
        records += [
            rec("datagrams the node received per entry (ingest)", ing["node_datagrams_in_per_entry"], "datagrams"),
            rec("datagrams the node sent per entry (ingest)", ing["node_datagrams_out_per_entry"], "datagrams"),
        ]
    for i, share in enumerate(ing.get("core_busy_shares", [])):
        records.append(rec(f"core {i} busy share during ingest (everything on the machine)", share, "cores"))
    for name, share in sorted(ing.get("node_thread_cpu_shares", {}).items()):
        if share >= 0.005:
            records.append(rec(f"node thread {name!r}: CPU share during ingest", share, "cores"))
    return records


def batched_records(runs: dict[str, Any], base: float, limit: str) -> list[Record]:
    """The ingest run with publish_many (absent from older node_bench output)."""
    label = next((k for k in runs if "publish_many" in k), None)
    if label is None:
        return []
    batched, single = runs[label], runs["ingest, 1 subscriber"]
    return [
        rec(f"ingest over QUIC, {label.split(', ')[-1]}", batched["entries_per_s"], "entries/s", limit, base),
        rec(
            f"ingest over QUIC, {label.split(', ')[-1]}, vs one publish per request",
            batched["entries_per_s"],
            "entries/s",
            "one publish per request, same run",
            single["entries_per_s"],
        ),
        rec(
            f"node CPU per accepted entry, {label.split(', ')[-1]}",
            batched["cpu_ms_per_entry"],
            "ms",
            "one publish per request, same run",
            single["cpu_ms_per_entry"],
        ),
    ]


def store_records(out: str) -> list[Record]:
    d = last_json(out)
    a = d["appends"]
    batched = a["group commit (StoreWriter)"]
    one = a["one entry per commit (StoreWriter, max_batch_entries=1)"]
    direct = a["one entry per commit (direct append_batch loop)"]
    one_label = "same writer, one entry per commit"
    records = [
        rec(
            "durable appends, group commit (StoreWriter, 10 appenders)",
            batched["per_s"],
            "entries/s",
            one_label,
            one["per_s"],
        ),
        rec("entries per commit under group commit", batched["per_commit"], "entries"),
        rec(
            "durable appends, direct append_batch loop, one per commit",
            direct["per_s"],
            "entries/s",
            one_label,
            one["per_s"],
        ),
    ]
    s = d["store"]
    n = s["entries"]
    at = f"{n:,} entries"
    first, second = d["first open after fill"], d["second open"]
    records += [
        rec(f"fill {at} (1000 per commit)", n / s["fill_s"], "entries/s"),
        rec(f"data.mdb bytes per entry, {at}", s["data_mdb_bytes"] / n, "bytes", "entry size", s["entry_size"]),
        rec(f"Store.open time, {at} (first open after the fill)", first["open_ms"], "ms"),
        rec(f"Store.open time, {at} (second open)", second["open_ms"], "ms"),
        rec(f"RSS after Store.open, {at}", second["rss_open"], "MiB", "same process before open", second["rss_before"]),
        rec(
            f"RSS after 10,000 get_at + 10,000 get, {at}",
            second["rss_reads"],
            "MiB",
            "same process before open",
            second["rss_before"],
        ),
        rec(f"RSS after the reads: mapped store pages in it (reclaimable), {at}", second["file_reads"], "MiB"),
        rec(
            f"RSS after scanning one group, {at}",
            second["rss_scan"],
            "MiB",
            "same process before open",
            second["rss_before"],
        ),
        rec(f"point read get_at, {at}", second["get_at_us"], "us"),
        rec(f"point read get (by entry id), {at}", second["get_us"], "us"),
        rec(f"scan of one group, {at}", second["scan_per_s"], "entries/s"),
    ]
    return records


def control_records(out: str) -> list[Record]:
    """One more control entry after N earlier ones, per shape, against the smallest N in the same run;
    and what computing the group afresh costs (the node's start-up for that group)."""
    d = last_json(out)
    sizes = d["sizes"]
    records: list[Record] = []
    labels = {
        "per_entry_s": "one more entry, accepted",
        "wide_refusal_s": "one more entry naming the latest 1,024 (refused: group.bad_deps)",
        "stale_refusal_s": "one more entry with a stale d (refused: group.stale_deps)",
    }
    for shape, by_size in d["shapes"].items():
        first = by_size[str(sizes[0])]
        for n in sizes:
            figures = by_size[str(n)]
            for key, label in labels.items():
                if key in figures:
                    records.append(
                        rec(
                            f"{shape}: {label}, after {n:,} control entries",
                            figures[key] * 1e3,
                            "ms",
                            f"the same after {sizes[0]:,}",
                            first[key] * 1e3,
                        )
                    )
            records.append(rec(f"{shape}: the group computed afresh, {n:,} control entries", figures["afresh_s"], "s"))
            records.append(
                rec(f"{shape}: the group's state at the node's start, {n:,} control entries", figures["startup_s"], "s")
            )
            records.append(
                rec(f"{shape}: memory of that computation, {n:,} control entries", figures["afresh_mib"], "MiB")
            )
    return records


def transport_records(out: str) -> list[Record]:
    d = last_json(out)
    records = []
    for run in d["runs"]:
        s, m, quic, memory = run["streams"], run["messages"], run["quic"], run["memory"]
        on = f"{s} stream{'s' if s > 1 else ''}"
        records += [
            rec(
                f"QUIC loopback, 1 KiB one way, {on}",
                m / quic["elapsed"],
                "msgs/s",
                "in-memory transport, same messages",
                m / memory["elapsed"],
            ),
            rec(f"QUIC node CPU per message, {on}", quic["server_cpu"] / m * 1e6, "us"),
            rec(
                f"QUIC client CPU per message, {on}",
                quic["client_cpu"] / m * 1e6,
                "us",
                "in-memory transport, both ends",
                memory["client_cpu"] / m * 1e6,
            ),
        ]
    return records


def federation_records(out: str) -> list[Record]:
    d = last_json(out)
    prop, cu, sync, live = d["propagation"], d["catch_up"], d["nothing_missing"], d["live_push"]
    a, b, c = prop["A"], prop["B"], prop["C"]
    on_a = "seen on A, the publishing node (0 hops)"
    records = [
        rec("propagation A→B→C, publish sent → seen on C, p50", c["sent_p50"], "ms", on_a, a["sent_p50"]),
        rec("propagation A→B→C, publish sent → seen on C, p99", c["sent_p99"], "ms", on_a, a["sent_p99"]),
        rec("propagation, publish sent → seen on B (1 hop), p50", b["sent_p50"], "ms", on_a, a["sent_p50"]),
        rec("propagation, ack on A → seen on C, p50", c["ack_p50"], "ms"),
        rec("propagation, ack on A → seen on C, p99", c["ack_p99"], "ms"),
    ]
    entries = cu["entries"]
    records += [
        rec(
            f"catch-up of {entries:,} entries over QUIC",
            cu["rate"],
            "entries/s",
            "Node.ingest of the same entries on B, no network",
            cu["base_rate"],
        ),
        rec(
            "catch-up wire overhead: UDP bytes received by B",
            cu["rx_bytes"],
            "bytes",
            "bytes of the missing entries (header + payload)",
            cu["missing_bytes"],
        ),
        rec(f"catch-up time, {entries:,} entries", cu["catch_up_s"], "s"),
        rec("catch-up CPU of the sending node A per entry", 1000 * cu["cpu_a"] / entries, "ms"),
        rec(
            "catch-up CPU of B's process per entry",
            1000 * cu["cpu_b"] / entries,
            "ms",
            "B's Node.ingest wall time per entry, no network",
            1000 * cu["base_s"] / entries,
        ),
        rec(
            "catch-up peak anonymous memory of B's process",
            cu["rss_peak_mb"],
            "MiB",
            "before the catch-up",
            cu["rss_before_mb"],
        ),
    ]
    base = sync[0]
    records.append(rec(f"restart, nothing missing: {base['case']}, UDP bytes both ways", base["bytes"], "bytes"))
    records += [
        rec(
            f"restart, nothing missing: {row['case']}, {row['entries']:,} entries, UDP bytes both ways",
            row["bytes"],
            "bytes",
            "no shared group (the handshakes only)",
            base["bytes"],
        )
        for row in sync[1:]
    ]
    n = live["messages"]
    per_entry = live["entry_bytes"] / n
    records += [
        rec("live push A → B, bytes on the wire per entry", live["a_to_b"] / n, "bytes", "entry bytes", per_entry),
        rec("live push B → A (sent back), bytes per entry", live["b_to_a"] / n, "bytes", "entry bytes", per_entry),
    ]
    return records


def startup_records(out: str) -> list[Record]:
    """Node start-up on a generated store (``startup_bench.py``), against the same start on an empty
    store (the process's imports and QUIC set-up)."""
    d = last_json(out)
    full, empty = d["full"], d["empty"]
    at = f"{d['groups']:,} groups and {d['entries']:,} entries"
    return [
        rec(
            f"node start-up with {at} (process start to serving)", full["seconds"], "s", "empty store", empty["seconds"]
        ),
        rec(
            f"CPU seconds of the node's start-up with {at} (process start to serving)",
            full["cpu_s"],
            "s",
            "empty store",
            empty["cpu_s"],
        ),
        rec(f"anonymous memory at start-up with {at}", full["rss_anon_mb"], "MB", "empty store", empty["rss_anon_mb"]),
        rec(
            f"anonymous memory {d['settle_s']:g} s after start-up, {at} (retention pass under way)",
            full["rss_anon_settled_mb"],
            "MB",
            "empty store",
            empty["rss_anon_settled_mb"],
        ),
        rec(f"store size, {at}", d["store_mb"], "MB"),
    ]


def retention_records(out: str) -> list[Record]:
    records = [r for r in json_lines(out) if "name" in r]
    if not records:
        raise ValueError("no records in the output")
    return records


def app_records(out: str) -> list[Record]:
    d = last_json(out)
    lib, app, render = d["library"], d["app"], d["render"]
    n = d["messages"]
    library = "the client library alone (send; subscribe batch + sync), same node"
    return [
        rec(
            f"live delivery through the app, median of {n} (form post → change event → page)",
            app["median_ms"],
            "ms",
            library,
            lib["median_ms"],
        ),
        rec(f"live delivery through the app, p95 of {n}", app["p95_ms"], "ms", library, lib["p95_ms"]),
        rec(
            f"conversation page holding {render['messages']} messages, median GET",
            render["page_ms"],
            "ms",
            "GET of the static stylesheet",
            render["css_ms"],
        ),
    ]


def sim_records(out: str, results: Path) -> list[Record]:
    records: list[Record] = json.loads(results.read_text())
    for r in records:
        if r.get("baseline") == "target":  # the target is not a measured baseline: see TARGETS
            r["baseline"] = r["baseline_value"] = r["ratio"] = None
    return records


def nostr_records(out: str) -> list[Record]:
    records = last_json(out)
    if not isinstance(records, list) or not records:
        raise ValueError("no records in the output")
    return records


# --- the benchmarks ---------------------------------------------------------------------------------


@dataclass
class Bench:
    name: str
    what: str
    command: Callable[[argparse.Namespace, Path], list[str]]
    adapt: Callable[[str, Path], list[Record]]
    timeout: Callable[[argparse.Namespace], float]


def script(name: str) -> list[str]:
    return [PY, str(BENCH / name)]


BENCHES = [
    Bench(
        "protocol",
        "entry overhead, sign/verify/encode/decode rates, encryption overhead, removal cost",
        lambda o, tmp: [*script("protocol_bench.py"), "--json"],
        lambda out, tmp: protocol_records(out),
        lambda o: 600,
    ),
    Bench(
        "control",
        "one more control entry after 100 / 1,000 / 20,000, as a hostile member or co-host picks it",
        lambda o, tmp: [
            *script("control_bench.py"),
            "--json",
            "--sizes",
            "100,1000,5000" if o.quick else "100,1000,20000",
        ],
        lambda out, tmp: control_records(out),
        lambda o: 1800,
    ),
    Bench(
        "transport",
        "QUIC over loopback vs the in-memory transport",
        lambda o, tmp: [*script("transport_bench.py"), "--json", "--messages", "5000" if o.quick else "20000"],
        lambda out, tmp: transport_records(out),
        lambda o: 900,
    ),
    Bench(
        "store",
        "durable appends (group commit vs one per commit); open time and memory at N entries",
        lambda o, tmp: [
            *script("store_bench.py"),
            "--json",
            str(100_000 if o.quick else 1_000_000),
            *(["--seconds", "1", "--rounds", "1"] if o.quick else []),
        ],
        lambda out, tmp: store_records(out),
        lambda o: 900 if o.quick else 3600,
    ),
    Bench(
        "node",
        "ingest over QUIC vs the single-core limit, live delivery latency",
        lambda o, tmp: [
            *script("node_bench.py"),
            "--json",
            *(["--seconds", "2", "--per-publisher", "600"] if o.quick else []),
        ],
        lambda out, tmp: node_records(out),
        lambda o: 1800,
    ),
    Bench(
        "federation",
        "propagation A→B→C, catch-up rate and wire overhead, restart sync cost, live push",
        lambda o, tmp: [*script("federation_bench.py"), "--json", *(["--quick"] if o.quick else [])],
        lambda out, tmp: federation_records(out),
        lambda o: 3600,
    ),
    Bench(
        "startup",
        "node start-up on a generated store (10,000 groups, 1,000,000 entries) vs an empty store",
        lambda o, tmp: [
            *script("startup_bench.py"),
            "--json",
            "--store",
            str(Path(tempfile.gettempdir()) / "holdspace-startup-store"),
            "--starts",
            "2",
            *(["--groups", "1000"] if o.quick else []),
        ],
        lambda out, tmp: startup_records(out),
        lambda o: 3600,
    ),
    Bench(
        "retention",
        "start-up retention pass and deletions when due",
        lambda o, tmp: [*script("retention_bench.py"), str(20_000 if o.quick else 100_000)],
        lambda out, tmp: retention_records(out),
        lambda o: 1800,
    ),
    Bench(
        "device",
        "the participant's device store: open, append, page read and memory at 100 / 10,000 / 100,000 messages",
        lambda o, tmp: [
            *script("device_store_bench.py"),
            *(["--sizes", "100,10000,100000", "--rounds", "50"] if o.quick else []),
        ],
        lambda out, tmp: retention_records(out),
        lambda o: 1800,
    ),
    Bench(
        "app",
        "the participant's web app: live delivery vs the client library, page render vs a static file",
        lambda o, tmp: [*script("app_bench.py"), "--json", *(["--quick"] if o.quick else [])],
        lambda out, tmp: app_records(out),
        lambda o: 600,
    ),
    Bench(
        "sim",
        "simulator speed (1,000 nodes x 1 hour only with --full-sim)",
        lambda o, tmp: [
            *script("sim_bench.py"),
            "--results",
            str(tmp / "sim_bench.json"),
            *([] if o.full_sim else ["--small-only"]),
            *(["--quick"] if o.quick else []),
        ],
        lambda out, tmp: sim_records(out, tmp / "sim_bench.json"),
        lambda o: 7200 if o.full_sim else 600,
    ),
    Bench(
        "nostr",
        "Holdspace vs nostr-relay, side by side",
        lambda o, tmp: [*script("nostr_compare.py"), "--seconds", "3" if o.quick else "10"],
        lambda out, tmp: nostr_records(out),
        lambda o: 1800,
    ),
]


# --- running ----------------------------------------------------------------------------------------


def _is_json_dump_line(line: str) -> bool:
    """Lines of a JSON dump, not echoed as progress (they are parsed, and kept in the log)."""
    return bool(re.match(r'\s*[\[\]{}]|\s+"', line))


def run_script(cmd: list[str], timeout: float, log: Path) -> tuple[int | None, str, str]:
    """Run ``cmd`` in its own session, echoing its output; -> (exit code or None on time-out, stdout, stderr)."""
    env = os.environ | {
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    proc = subprocess.Popen(  # noqa: S603 - our own benchmark scripts
        cmd,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its node processes share its process group: one kill stops them all
    )
    captured: dict[str, list[str]] = {"out": [], "err": []}
    lock = threading.Lock()

    def pump(stream: Any, key: str) -> None:
        for line in stream:
            with lock:
                captured[key].append(line)
                if not _is_json_dump_line(line):
                    print(f"    {line.rstrip()[:200]}", flush=True)

    threads = [
        threading.Thread(target=pump, args=(proc.stdout, "out"), daemon=True),
        threading.Thread(target=pump, args=(proc.stderr, "err"), daemon=True),
    ]
    for t in threads:
        t.start()
    code: int | None
    try:
        code = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        code = None
    finally:
        if proc.poll() is None or code is None:
            _kill_group(proc)
    for t in threads:
        t.join(10)
    out, err = "".join(captured["out"]), "".join(captured["err"])
    log.write_text(f"$ {' '.join(cmd)}\n--- stdout\n{out}\n--- stderr\n{err}")
    return code, out, err


def _kill_group(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # the group this script started for the benchmark
    proc.wait()


def machine_info() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal:")
        )
    except (OSError, StopIteration):
        mem_kb = 0
    commit = subprocess.run(  # read-only
        ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "cores": os.cpu_count(),
        "cpu": cpu or platform.processor(),
        "memory_gib": round(mem_kb / 2**20, 1),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "commit": commit or None,
    }


# --- output -----------------------------------------------------------------------------------------


def fmt(x: Any) -> str:
    if x is None:
        return ""
    if isinstance(x, bool):
        return "yes" if x else "**no**"
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        if x == 0:
            return "0"
        if abs(x) >= 1000:
            return f"{x:,.0f}"
        if abs(x) >= 100:
            return f"{x:.1f}"
        if abs(x) >= 1:
            return f"{x:.2f}"
        return f"{x:.3g}"
    return str(x).replace("|", "\\|")


def table(records: list[Record]) -> str:
    lines = [
        "| figure | value | unit | baseline (same run) | baseline value | ratio | target | met |",
        "| --- | ---: | --- | --- | ---: | ---: | --- | --- |",
    ]
    for r in records:
        target = target_of(r)
        if r["target"] is None:
            target_text = ""
        elif target is not None and target.value == r["target"]:
            target_text = target.text(r["unit"])
        else:
            target_text = fmt(r["target"])
        cells = [
            fmt(r["name"]),
            fmt(r["value"]) if r["value"] is not None else "—",
            fmt(r["unit"]),
            fmt(r["baseline"]),
            fmt(r["baseline_value"]),
            fmt(r["ratio"]),
            target_text,
            fmt(r["met"]),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown(records: list[Record], machine: dict[str, Any], run: dict[str, Any]) -> str:
    m = machine
    failures = {name: b for name, b in run["benchmarks"].items() if b.get("error")}
    durations = ", ".join(f"{name} {b['seconds']:.0f} s" for name, b in run["benchmarks"].items())
    head = [
        "# Holdspace benchmarks: latest run",
        "",
        f"Run: `{run['command']}` on {run['date']}, {run['seconds']:.0f} s in all ({durations}).",
        "",
        f"Machine: {m['cores']} cores ({m['cpu']}), {m['memory_gib']} GiB memory; {m['implementation']} "
        f"{m['python']}; {m['platform']}; commit {m['commit']}. Load average {run['load_before']} before, "
        f"{run['load_after']} after.",
        "",
        "Each benchmark ran in its own process, one after the other. Ratios are value / baseline value, the "
        "baseline measured by the same script in the same run. A target applies to the ratio when the figure "
        "has a baseline, otherwise to the value. The machine is shared (tests may run at the same time), so "
        "the figures are noisy: compare ratios rather than absolute rates.",
        "",
        "The same records, for reading by a program: `latest.json`; the machine and the run: `machine.json`.",
        "",
    ]
    if failures:
        head += ["Failed:", ""]
        for name, b in failures.items():
            error = b["error"].strip().replace("\n", "\n    ")
            head.append(f"* **{name}**:\n\n    {error}\n")
    return "\n".join([*head, table(records), ""])


def write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smoke run: short durations, 100,000-entry store")
    parser.add_argument("--only", default="", help="comma-separated benchmarks: " + ", ".join(b.name for b in BENCHES))
    parser.add_argument("--full-sim", action="store_true", help="also the simulator's 1,000-node hour (~16 min)")
    parser.add_argument("--output", type=Path, default=BENCH / "results", help="where the results are written")
    options = parser.parse_args()
    names = [n.strip() for n in options.only.split(",") if n.strip()]
    unknown = set(names) - {b.name for b in BENCHES}
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    selected = [b for b in BENCHES if not names or b.name in names]

    machine = machine_info()
    started = time.perf_counter()
    run: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": " ".join([".venv/bin/python", "benchmarks/run_all.py", *sys.argv[1:]]),
        "options": {"quick": options.quick, "full_sim": options.full_sim, "only": names or None},
        "load_before": ", ".join(f"{x:.2f}" for x in os.getloadavg()),
        "benchmarks": {},
    }
    print(
        f"{machine['cores']} cores, Python {machine['python']}, {run['date']}; load {run['load_before']}; "
        f"{'quick' if options.quick else 'full'} run of: {', '.join(b.name for b in selected)}",
        flush=True,
    )
    records: list[Record] = []
    latest = options.output / "latest.json"
    earlier: list[Record] = json.loads(latest.read_text()) if latest.exists() else []
    logs = Path(tempfile.mkdtemp(prefix="holdspace-run-all-"))
    for i, bench in enumerate(selected, 1):
        tmp = logs / bench.name
        tmp.mkdir()
        cmd = bench.command(options, tmp)
        print(f"\n[{i}/{len(selected)}] {bench.name}: {bench.what}\n  $ {' '.join(cmd)}", flush=True)
        t0 = time.perf_counter()
        error = None
        got: list[Record] = []
        try:
            timeout = bench.timeout(options)
            code, out, err = run_script(cmd, timeout, logs / f"{bench.name}.log")
            if code is None:
                error = f"timed out after {timeout:.0f} s"
            elif code != 0:
                error = f"exit code {code}: " + "\n".join((err or out).strip().splitlines()[-8:])
            else:
                got = finish(bench.name, bench.adapt(out, tmp))
        except Exception as exc:  # any failure of one benchmark is recorded, the rest still run
            error = f"{type(exc).__name__}: {exc}"
        seconds = time.perf_counter() - t0
        run["benchmarks"][bench.name] = {"seconds": round(seconds, 1), "error": error, "records": len(got)}
        if error is not None:
            print(f"  FAILED after {seconds:.0f} s: {error}  (output: {logs / f'{bench.name}.log'})", flush=True)
            records.append(failed(bench.name))
        else:
            print(f"  done in {seconds:.0f} s: {len(got)} figures", flush=True)
            records += got
        save(options.output, earlier, records, machine, run, started, logs)
    md = save(options.output, earlier, records, machine, run, started, logs)
    print("\n" + md)
    print(f"total {run['seconds']:.0f} s; written to {options.output}; each benchmark's output in {logs}")
    return 1 if any(b["error"] for b in run["benchmarks"].values()) else 0


def save(
    output: Path,
    earlier: list[Record],
    records: list[Record],
    machine: dict[str, Any],
    run: dict[str, Any],
    started: float,
    logs: Path,
) -> str:
    """Write latest.json, machine.json and latest.md: the records so far, and those of ``earlier``
    (the previous latest.json) of every benchmark that has not run in this run (the others of a
    partial run, ``--only``). Called after each benchmark, so a run stopped midway keeps what it
    measured (``run["benchmarks"]`` in machine.json says which ran). Returns the Markdown."""
    run["seconds"] = round(time.perf_counter() - started, 1)
    run["load_after"] = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    run["logs"] = str(logs)
    output.mkdir(parents=True, exist_ok=True)
    kept = [r for r in earlier if str(r["name"]).split(":")[0] not in run["benchmarks"]]
    everything = kept + records
    write(output / "latest.json", json.dumps(everything, indent=2, ensure_ascii=False) + "\n")
    write(output / "machine.json", json.dumps({"machine": machine, "run": run}, indent=2) + "\n")
    md = markdown(everything, machine, run)
    write(output / "latest.md", md)
    return md


if __name__ == "__main__":
    sys.exit(main())
