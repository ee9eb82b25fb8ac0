"""Store figures: durable append rate with and without group commit; open time and RSS at N entries.

Run: .venv/bin/python benchmarks/store_bench.py [N] [--seconds S] [--dir DIR] [--compare-threading] [--json]

* Appends: 1 KiB entries, every acknowledgement durable (fdatasync), 10 concurrent appenders
  through StoreWriter, against two baselines measured in the same run: the same writer limited to
  one entry per commit, and a plain loop of one ``append_batch([entry])`` per commit.
* ``--compare-threading``: the dedicated writer thread kept in node/store_writer.py against a
  variant that commits each batch through ``trio.to_thread.run_sync`` from a writer task.
* Open/RSS: fills a store with N 1 KiB entries (default 100,000; 1,000,000 works: about 2 GB of
  disk, a few minutes), then measures in a fresh process: ``Store.open`` time, RSS after opening,
  after 10,000 random point reads and after reading one whole group. RSS counts the pages of the
  memory map that were touched (file-backed, shared with the page cache, reclaimable).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import trio

from holdspace.node.store import Store, StoredEntry
from holdspace.node.store_writer import StoreWriter, _Pending

ENTRY_SIZE = 1024
APPENDERS = 10
N_GROUPS = 10
N_AUTHORS = 100
FIGURES: dict[str, object] = {}  # every printed figure, for --json (benchmarks/run_all.py)


def make_entry(group: bytes, author: bytes, seq: int, filler: bytes) -> StoredEntry:
    raw = group + author + struct.pack(">Q", seq) + filler[: ENTRY_SIZE - 72]
    return StoredEntry(group, author, seq, hashlib.blake2b(raw, digest_size=32).digest(), 1, raw)


def key(label: str) -> bytes:
    return hashlib.blake2b(label.encode(), digest_size=32).digest()


# --- append rates ----------------------------------------------------------------------------------


class ToThreadWriter(StoreWriter):
    """Variant for comparison: a trio writer task commits each batch via trio.to_thread.run_sync."""

    async def __aenter__(self) -> ToThreadWriter:
        self._send, self._recv = trio.open_memory_channel[_Pending](4000)
        self._limiter = trio.CapacityLimiter(1)
        self._nursery_cm = trio.open_nursery()
        nursery = await self._nursery_cm.__aenter__()
        nursery.start_soon(self._loop)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._send.aclose()
        await self._nursery_cm.__aexit__(None, None, None)

    async def _loop(self) -> None:
        async for first in self._recv:
            batch = [first]
            while len(batch) < self._max_entries:
                try:
                    batch.append(self._recv.receive_nowait())
                except (trio.WouldBlock, trio.EndOfChannel):
                    break
            await trio.to_thread.run_sync(self._commit, batch, limiter=self._limiter)
            for p in batch:
                p.event.set()

    async def append(self, entry: StoredEntry) -> int | None:
        pending = _Pending(entry)
        await self._send.send(pending)
        await pending.event.wait()
        if pending.error is not None:
            raise pending.error
        return pending.result


async def writer_rate(path: Path, seconds: float, writer_cls: type[StoreWriter], **kw: int) -> tuple[float, float]:
    """-> (acknowledged entries per second, entries per commit)."""
    store = Store.open(path)
    filler = os.urandom(ENTRY_SIZE)
    group = key("bench-group")
    count = 0
    try:
        async with writer_cls(store, **kw) as writer:

            async def appender(n: int) -> None:
                nonlocal count
                author = key(f"bench-author-{n}")
                seq = 0
                while trio.current_time() < deadline:
                    seq += 1
                    await writer.append(make_entry(group, author, seq, filler))
                    count += 1

            start = time.perf_counter()
            deadline = trio.current_time() + seconds
            async with trio.open_nursery() as nursery:
                for n in range(APPENDERS):
                    nursery.start_soon(appender, n)
            elapsed = time.perf_counter() - start
    finally:
        store.close()
        shutil.rmtree(path, ignore_errors=True)
    return count / elapsed, count / max(writer.commits, 1)


def direct_rate(path: Path, seconds: float) -> float:
    store = Store.open(path)
    filler = os.urandom(ENTRY_SIZE)
    group, author = key("bench-group"), key("bench-author")
    n, start = 0, time.perf_counter()
    try:
        while time.perf_counter() - start < seconds:
            n += 1
            store.append_batch([make_entry(group, author, n, filler)])
    finally:
        store.close()
        shutil.rmtree(path, ignore_errors=True)
    return n / (time.perf_counter() - start)


def appends(base: Path, seconds: float, rounds: int, compare_threading: bool) -> None:
    print(f"durable appends, {ENTRY_SIZE} B entries, {APPENDERS} concurrent appenders, {seconds:g} s x {rounds}:")
    rows: dict[str, list[tuple[float, float]]] = {}
    for _ in range(rounds):
        rows.setdefault("group commit (StoreWriter)", []).append(
            trio.run(writer_rate, base / "w", seconds, StoreWriter)
        )
        rows.setdefault("one entry per commit (StoreWriter, max_batch_entries=1)", []).append(
            trio.run(lambda: writer_rate(base / "w1", seconds, StoreWriter, max_batch_entries=1))
        )
        rows.setdefault("one entry per commit (direct append_batch loop)", []).append(
            (direct_rate(base / "d", seconds), 1.0)
        )
        if compare_threading:
            rows.setdefault("group commit, to_thread.run_sync per batch (variant)", []).append(
                trio.run(writer_rate, base / "t", seconds, ToThreadWriter)
            )
    medians = {name: statistics.median(r for r, _ in values) for name, values in rows.items()}
    for name, values in rows.items():
        per_commit = statistics.median(b for _, b in values)
        print(f"  {name:58s} {medians[name]:9,.0f} /s   ({per_commit:.1f} entries per commit)")
    batched = medians["group commit (StoreWriter)"]
    unbatched = medians["one entry per commit (StoreWriter, max_batch_entries=1)"]
    print(f"  ratio group commit / one per commit: {batched / unbatched:.1f}x")
    FIGURES["appends"] = {
        name: {"per_s": medians[name], "per_commit": statistics.median(b for _, b in values)}
        for name, values in rows.items()
    }
    FIGURES["append_seconds"], FIGURES["append_rounds"] = seconds, rounds


# --- open time and RSS ------------------------------------------------------------------------------


def fill(path: Path, n: int) -> float:
    """Write n entries (1000 per transaction); return seconds taken."""
    groups = [key(f"fill-group-{i}") for i in range(N_GROUPS)]
    authors = [key(f"fill-author-{i}") for i in range(N_AUTHORS)]
    seqs = [0] * (N_GROUPS * N_AUTHORS)
    rng = random.Random(1)  # noqa: S311 - reproducible filler, not secrets
    start = time.perf_counter()
    with Store.open(path) as store:
        for first in range(0, n, 1000):
            batch = []
            for _ in range(first, min(first + 1000, n)):
                log = rng.randrange(len(seqs))
                seqs[log] += 1
                group, author = groups[log // N_AUTHORS], authors[log % N_AUTHORS]
                batch.append(make_entry(group, author, seqs[log], rng.randbytes(ENTRY_SIZE - 72)))
            store.append_batch(batch)
    return time.perf_counter() - start


def rss_mib() -> tuple[float, float]:
    """(RSS, file-backed part of it) of this process, MiB."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields.get("RssFile", "0 kB").split()[0]) / 1024


def probe(path: Path) -> None:
    """Run in a fresh process: open the store and report time and memory, as JSON."""
    out: dict[str, float] = {}
    out["rss_before"], _ = rss_mib()
    start = time.perf_counter()
    store = Store.open(path)
    out["open_ms"] = (time.perf_counter() - start) * 1e3
    out["rss_open"], out["file_open"] = rss_mib()
    groups = store.groups()
    ids: list[bytes] = []
    for group in groups:
        ids.extend(e.entry_id for _, e in store.iter_group(group, 0, 1000))
    rng = random.Random(2)  # noqa: S311 - reproducible sampling, not secrets
    heads = [(g, a, seq) for g in groups for a, (seq, _) in store.heads(g).items()]
    start = time.perf_counter()
    for _ in range(10_000):
        g, a, top = rng.choice(heads)
        assert store.get_at(g, a, rng.randrange(1, top + 1)) is not None
    out["get_at_us"] = (time.perf_counter() - start) / 10_000 * 1e6
    start = time.perf_counter()
    for entry_id in ids[:10_000]:
        assert store.get(entry_id) is not None
    out["get_us"] = (time.perf_counter() - start) / max(len(ids[:10_000]), 1) * 1e6
    out["rss_reads"], out["file_reads"] = rss_mib()
    start = time.perf_counter()
    after, scanned = 0, 0
    while page := store.iter_group(groups[0], after, 5000):
        after = page[-1][0]
        scanned += len(page)
    out["scan_per_s"] = scanned / (time.perf_counter() - start)
    out["rss_scan"], out["file_scan"] = rss_mib()
    out["entries"] = store.info()["entries"]
    store.close()
    print(json.dumps(out))


def open_and_rss(base: Path, n: int) -> None:
    path = base / f"store-{n}"
    took = fill(path, n)
    size = (path / "data.mdb").stat().st_size
    print(
        f"store with {n:,} entries of {ENTRY_SIZE} B: filled in {took:.1f} s "
        f"({n / took:,.0f}/s, 1000 per commit); "
        f"data.mdb {size / 2**20:,.0f} MiB ({size / n:,.0f} B per entry)"
    )
    FIGURES["store"] = {"entries": n, "entry_size": ENTRY_SIZE, "fill_s": took, "data_mdb_bytes": size}
    for attempt in ("first open after fill", "second open"):
        result = subprocess.run(  # noqa: S603 - this very script, by its own path
            [sys.executable, __file__, "--probe", str(path)], check=True, capture_output=True, text=True
        )
        r = json.loads(result.stdout)
        FIGURES[attempt] = r
        print(
            f"  {attempt}: Store.open {r['open_ms']:.1f} ms; RSS {r['rss_before']:.0f} MiB before open, "
            f"{r['rss_open']:.0f} after open, {r['rss_reads']:.0f} after 20k point reads "
            f"(of which map {r['file_reads']:.0f}), {r['rss_scan']:.0f} after scanning one group "
            f"(of which map {r['file_scan']:.0f})"
        )
        print(
            f"    point reads: get_at {r['get_at_us']:.1f} us, get {r['get_us']:.1f} us; "
            f"group scan {r['scan_per_s']:,.0f} entries/s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("n", nargs="?", type=int, default=100_000, help="entries for the open/RSS figures")
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of each append measurement")
    parser.add_argument("--rounds", type=int, default=3, help="append measurements per variant (median kept)")
    parser.add_argument("--dir", type=Path, default=None, help="where to create the stores (a temp dir)")
    parser.add_argument("--compare-threading", action="store_true")
    parser.add_argument("--skip-appends", action="store_true")
    parser.add_argument("--json", action="store_true", help="also print every figure as one JSON line")
    parser.add_argument("--probe", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        probe(args.probe)
        return
    base = Path(tempfile.mkdtemp(prefix="holdspace-store-bench-", dir=args.dir))
    try:
        if not args.skip_appends:
            appends(base, args.seconds, args.rounds, args.compare_threading)
        open_and_rss(base, args.n)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    if args.json:
        print(json.dumps(FIGURES))


if __name__ == "__main__":
    main()
