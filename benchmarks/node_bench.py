"""Node ingest and live delivery over real QUIC on loopback, against a same-run baseline.

Workload (issue 4): 10 concurrent clients each publish signed, end-to-end encrypted ~1 KiB messages
into one group and wait for each acknowledgement; subscribers receive them live. The node runs in
its own process so its CPU time can be read from /proc.

Figures:
* accepted entries/s and node CPU per entry (process CPU seconds / entries);
* baseline: the single-core rate of decode + verify + durable LMDB store (1000 per commit) of the
  same entries, measured in this run; the ratio says how close the networked node gets to it;
* live delivery latency to 10 subscribers (p50, p99), at full load and paced at 1,000 entries/s.

Each run also counts the datagrams the node received and sent per entry (read from the clients'
connection counters: every datagram of the node's connections has a client at its other end), the
busy share of each core of the machine (from /proc/stat: everything running on it, the clients and
other work included) and the CPU share of each of the node's threads (event loop, store writer...).

Run: .venv/bin/python benchmarks/node_bench.py [--seconds 10] [--json] [--runs 0,3]
(--json: also the baseline and every run's figures as one last JSON line)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import AsyncExitStack, aclosing
from pathlib import Path

import nacl.signing
import trio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from holdspace.clients.client import NodeSession, connect  # noqa: E402
from holdspace.node.core import NodeCore, to_record  # noqa: E402
from holdspace.node.store import Store  # noqa: E402
from holdspace.node.transport.base import ByteCounts  # noqa: E402
from holdspace.protocol import e2ee, kinds  # noqa: E402
from holdspace.protocol.address import NodeAddress  # noqa: E402
from holdspace.protocol.author import LogWriter, create_group, invite  # noqa: E402
from holdspace.protocol.entry import Entry, decode_entry  # noqa: E402
from holdspace.protocol.group import compute_state  # noqa: E402
from holdspace.protocol.identity import Pseudonym, group_context  # noqa: E402

SEED = b"\x33" * 32
PUBLISHERS = 10
BATCH = 32  # entries per publish_many request in the batched run
SUBSCRIBERS = 10
T0 = int(time.time() * 1000)


def cpu_seconds(pid: int, which: str = "both") -> float:
    """Process CPU time from /proc: user + system (or one of them)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    user, system = int(fields[11]), int(fields[12])
    ticks = {"both": user + system, "user": user, "system": system}[which]
    return ticks / os.sysconf("SC_CLK_TCK")


def core_ticks() -> list[tuple[int, int]]:
    """(busy, total) clock ticks of each core since boot, from /proc/stat."""
    out = []
    for line in Path("/proc/stat").read_text().splitlines():
        name, *values = line.split()
        if name.startswith("cpu") and name != "cpu":
            ticks = [int(v) for v in values]
            idle = ticks[3] + ticks[4]  # idle + iowait
            out.append((sum(ticks) - idle, sum(ticks)))
    return out


def busy_share(before: tuple[int, int], after: tuple[int, int]) -> float:
    return (after[0] - before[0]) / max(1, after[1] - before[1])


def thread_ticks(pid: int) -> dict[str, int]:
    """CPU clock ticks of each of the process's threads, by name (threads of one name added up)."""
    out: dict[str, int] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        if task.name == str(pid):
            name = "event loop"
        elif name == "python":  # threads Python starts are not named for the OS: the store writer's
            name = "store writer (and other unnamed threads)"
        out[name] = out.get(name, 0) + int(fields[11]) + int(fields[12])
    return out


def datagrams(counts: list[ByteCounts]) -> tuple[int, int]:
    """Datagrams the node received and sent on these (client-side) connections: (in, out)."""
    return sum(c.datagrams_sent for c in counts), sum(c.datagrams_received for c in counts)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Workload:
    """A group with publishers and subscribers, and pre-built encrypted messages for each publisher."""

    def __init__(self, per_publisher: int) -> None:
        self.genesis, self.founder = create_group(os.urandom(32), T0)
        state = compute_state(self.genesis, [])
        inv, self.secret = invite(self.founder, state, T0, role="member", expires_ms=T0 + 10**9, max_uses=1000)
        self.setup: list[tuple[Pseudonym, Entry]] = [(self.founder.me, self.genesis), (self.founder.me, inv)]
        self.writers: list[LogWriter] = []
        for _ in range(PUBLISHERS + SUBSCRIBERS):
            me = Pseudonym.derive(os.urandom(32), group_context(self.genesis.entry_id))
            w = LogWriter(me, self.genesis.entry_id)
            self.setup.append((me, self.secret.join(w, T0)))
            self.writers.append(w)
        controls = [e for _, e in self.setup[1:]]
        state = compute_state(self.genesis, controls)
        epoch_key = e2ee.new_epoch_key()
        rekey = self.founder.append(
            kinds.REKEY, e2ee.make_rekey(state, state.heads, self.founder.me, epoch_key).encode(), T0
        )
        self.setup.append((self.founder.me, rekey))
        state = compute_state(self.genesis, [*controls, rekey])
        epoch = state.epochs[-1]
        self.messages: list[list[Entry]] = []
        text = os.urandom(900)
        for w in self.writers[:PUBLISHERS]:
            keys = e2ee.GroupKeys(self.genesis.entry_id, w.me)
            keys.accept_epoch(epoch, epoch_key)
            batch = []
            for _ in range(per_publisher):
                env = keys.encrypt(epoch.entry_id, w.seq + 1, text)
                batch.append(w.append(kinds.MESSAGE, env.encode(), T0))
            self.messages.append(batch)


def baseline_rate(entries: list[Entry], tmp: Path) -> float:
    """decode + verify + durable store, one core, 1000 entries per commit (the ceiling a node could reach)."""
    store = Store.open(tmp / "baseline")
    core = NodeCore(store)
    start = time.perf_counter()
    for i in range(0, len(entries), 1000):
        chunk = entries[i : i + 1000]
        records = []
        for e in chunk:
            checked = decode_entry(e.raw, e.payload, now_ms=T0 + 60_000)
            records.append(to_record(checked, checked.group, husk=False))
        store.append_batch(records)
    elapsed = time.perf_counter() - start
    store.close()
    del core
    return len(entries) / elapsed


async def send(session: NodeSession, chunk: list[Entry]) -> None:
    """Publish ``chunk``: one entry with ``publish``, more with one ``publish_many`` (one request, one
    durable transaction); every entry must be stored."""
    if len(chunk) == 1:
        await session.publish(chunk[0])
        return
    results = await session.publish_many(chunk)
    if not all(isinstance(r, int) for r in results):
        raise RuntimeError(f"the node refused entries: {[r for r in results if isinstance(r, str)][:3]}")


async def send_timed(session: NodeSession, chunk: list[Entry], sent_at: dict[bytes, float]) -> int:
    """:func:`send` ``chunk``, noting when each entry left (for latencies); returns how many."""
    sent = time.perf_counter()
    for entry in chunk:
        sent_at[entry.entry_id] = sent
    await send(session, chunk)
    return len(chunk)


async def note_arrivals(
    address: NodeAddress,
    wl: Workload,
    reader: LogWriter,
    sent_at: dict[bytes, float],
    latencies: list[float],
    ready: trio.Event,
    stop: Callable[[], bool],
    counts: list[ByteCounts] | None = None,
) -> None:
    """Subscribe to the workload's group as ``reader`` (``ready`` once live) and note each timed
    entry's latency as it arrives, until ``stop()`` holds after a batch. The connection's counts are
    added to ``counts``."""
    async with connect(address) as s:
        if counts is not None:
            counts.append(s.conn.stats)
        await s.authenticate(reader.me)
        after = (await s.fetch(wl.genesis.entry_id, 0, 512))[1]
        ready.set()
        async with aclosing(s.subscribe(wl.genesis.entry_id, after)) as batches:
            async for received in batches:
                now = time.perf_counter()
                for r in received:
                    t = sent_at.get(r.entry.entry_id)
                    if t is not None:
                        latencies.append(now - t)
                if stop():
                    return


async def run_load(
    address: NodeAddress,
    wl: Workload,
    node_pid: int,
    paced: float | None,
    seconds: float,
    subscribers: int,
    batch: int = 1,
) -> dict:
    sent_at: dict[bytes, float] = {}
    latencies: list[float] = []
    done = trio.Event()
    accepted = 0

    counts: list[ByteCounts] = []  # publishers' connections: the node's datagrams, seen from the client side
    sub_counts: list[ByteCounts] = []  # the same, subscribers' connections

    async def subscriber(w: LogWriter, ready: trio.Event) -> None:
        await note_arrivals(address, wl, w, sent_at, latencies, ready, done.is_set, sub_counts)

    async def publisher(i: int, session: NodeSession) -> None:
        nonlocal accepted
        interval = PUBLISHERS / paced if paced else 0.0
        deadline = time.perf_counter() + seconds
        next_at = time.perf_counter()
        entries = wl.messages[i]
        for start in range(0, len(entries), batch):
            if time.perf_counter() > deadline:
                break
            if interval:
                next_at += interval
                await trio.sleep(max(0.0, next_at - time.perf_counter()))
            sent = await send_timed(session, entries[start : start + batch], sent_at)
            accepted += sent  # not `accepted += await ...`: that reads the count before the await

    async with AsyncExitStack() as stack:
        sessions: list[NodeSession] = []
        for i in range(PUBLISHERS):
            s = await stack.enter_async_context(connect(address))
            await s.authenticate(wl.writers[i].me)
            sessions.append(s)
            counts.append(s.conn.stats)
        async with trio.open_nursery() as outer:
            readies = []
            for w in wl.writers[PUBLISHERS : PUBLISHERS + subscribers]:
                ready = trio.Event()
                readies.append(ready)
                outer.start_soon(subscriber, w, ready)
            for ready in readies:
                await ready.wait()
            dg0, sdg0 = datagrams(counts), datagrams(sub_counts)
            cpu0, t0 = cpu_seconds(node_pid), time.perf_counter()
            sys0 = cpu_seconds(node_pid, "system")
            own0 = time.process_time()
            cores0, threads0 = core_ticks(), thread_ticks(node_pid)
            async with trio.open_nursery() as inner:
                for i, s in enumerate(sessions):
                    inner.start_soon(publisher, i, s)
            elapsed = time.perf_counter() - t0
            cpu = cpu_seconds(node_pid) - cpu0
            system = cpu_seconds(node_pid, "system") - sys0
            own = time.process_time() - own0
            cores = [busy_share(a, b) for a, b in zip(cores0, core_ticks(), strict=True)]
            hz = os.sysconf("SC_CLK_TCK")
            threads = {n: (t - threads0.get(n, 0)) / hz / elapsed for n, t in thread_ticks(node_pid).items()}
            dg = [b - a for a, b in zip(dg0, datagrams(counts), strict=True)]
            sdg = [b - a for a, b in zip(sdg0, datagrams(sub_counts), strict=True)]
            await trio.sleep(1.0)
            done.set()
            outer.cancel_scope.cancel()
    latencies.sort()
    return {
        "accepted": accepted,
        "entries_per_s": accepted / elapsed,
        "cpu_ms_per_entry": 1000 * cpu / max(accepted, 1),
        "node_system_cpu_ms_per_entry": 1000 * system / max(accepted, 1),
        "client_cpu_ms_per_entry": 1000 * own / max(accepted, 1),
        "node_cpu_share": cpu / elapsed,
        "client_cpu_share": own / elapsed,
        "core_busy_shares": cores,  # each core of the machine (everything on it, not only the node)
        "node_thread_cpu_shares": threads,
        "p50_ms": 1000 * statistics.median(latencies) if latencies else None,
        "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))] if latencies else None,
        "deliveries": len(latencies),
        "node_datagrams_in_per_entry": (dg[0] + sdg[0]) / max(accepted, 1),
        "node_datagrams_out_per_entry": (dg[1] + sdg[1]) / max(accepted, 1),
        "publisher_datagrams_in_out_per_entry": [dg[0] / max(accepted, 1), dg[1] / max(accepted, 1)],
        "subscriber_datagrams_in_out_per_entry": [sdg[0] / max(accepted, 1), sdg[1] / max(accepted, 1)],
    }


async def setup_group(address: NodeAddress, wl: Workload) -> None:
    async with connect(address) as s:
        for me, entry in wl.setup:
            await s.authenticate(me)
            await s.publish(entry)


async def main(seconds: float, per_publisher: int, json_line: bool = False, only: str | None = None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        print(f"building workload ({PUBLISHERS} publishers x {per_publisher} encrypted messages)...", flush=True)
        wl = Workload(per_publisher)
        flat = [e for batch in wl.messages for e in batch]
        base = baseline_rate(flat[:20_000], tmpdir)
        print(f"baseline (decode + verify + durable store, 1 core): {base:,.0f} entries/s", flush=True)
        results = {}
        runs = (
            ("ingest, 1 subscriber", None, 1, 1),
            ("full load, 10 subscribers", None, SUBSCRIBERS, 1),
            ("paced 1000/s, 10 subscribers", 1000.0, SUBSCRIBERS, 1),
            (f"ingest, 1 subscriber, publish_many of {BATCH}", None, 1, BATCH),
        )
        if only is not None:  # a subset (profiling): figures only, no summary
            runs = tuple(runs[int(i)] for i in only.split(","))
        for label, paced, subscribers, batch in runs:
            data = tmpdir / f"node-{len(results)}"
            proc = subprocess.Popen(  # noqa: ASYNC220, S603 - our own node, started once
                [sys.executable, "-m", "tests.node.node_process", str(data)], cwd=ROOT, stdout=subprocess.PIPE
            )
            assert proc.stdout is not None
            port = int(proc.stdout.readline().split()[1])
            address = NodeAddress(bytes(nacl.signing.SigningKey(b"\x21" * 32).verify_key), "127.0.0.1", port)
            try:
                await setup_group(address, wl)
                r = await run_load(address, wl, proc.pid, paced, seconds, subscribers, batch)
                r["node_peak_rss_mb"] = rss_mb(proc.pid)
            finally:
                proc.kill()
                proc.wait()
            results[label] = r
            wl = Workload(per_publisher)
        if only is not None:
            print(json.dumps(results, indent=1))
            return
        ingest, full, paced_run, batched = results.values()
        print(json.dumps(results, indent=1))
        print(
            f"ingest: {ingest['entries_per_s']:,.0f} entries/s = {ingest['entries_per_s'] / base:.2f} x baseline; "
            f"node CPU {ingest['cpu_ms_per_entry']:.3f} ms/entry; p99 to 1 subscriber {ingest['p99_ms']:.1f} ms\n"
            f"10 subscribers, full load: {full['entries_per_s']:,.0f} entries/s, p50 {full['p50_ms']:.1f} ms,"
            f" p99 {full['p99_ms']:.1f} ms; paced 1000/s: p50 {paced_run['p50_ms']:.1f} ms,"
            f" p99 {paced_run['p99_ms']:.1f} ms\n"
            f"publish_many of {BATCH}: {batched['entries_per_s']:,.0f} entries/s ="
            f" {batched['entries_per_s'] / base:.2f} x baseline; node CPU {batched['cpu_ms_per_entry']:.3f} ms/entry"
        )
        if json_line:
            print(json.dumps({"baseline_entries_per_s": base, "seconds": seconds, "runs": results}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--per-publisher", type=int, default=3000)
    parser.add_argument("--json", action="store_true", help="also print every figure as one JSON line")
    parser.add_argument("--runs", default=None, help="only these runs, by index (0-3, comma-separated): no summary")
    args = parser.parse_args()
    trio.run(main, args.seconds, args.per_publisher, args.json, args.runs)
