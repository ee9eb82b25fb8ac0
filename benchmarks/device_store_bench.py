"""What the participant's device store costs as the history grows: 100, 10,000 and 100,000 messages.

Run: .venv/bin/python benchmarks/device_store_bench.py [--sizes 100,10000,100000] [--rounds 200]

For each size a home is built (one identity, one group, N text messages of about 300 bytes stored
through the participant's own message log), the history closed, then measured in the same run:

* open: ``Participant.load`` (Argon2id of the passphrase included: it is paid once per unlock) and
  the passphrase derivation alone, for comparison;
* append: one message read (appended to the group's log, deletions decided, the participant saved:
  history synced, key file written), the median of ``--rounds``;
* mark read: the group's read position advanced and saved (the key file and a history sync);
* page read: the newest 50 messages opened (``messages.page``), the median of ``--rounds``;
* memory: the resident set of a fresh process that opened the home and read a page (each size in
  its own process, so the figures are its own).

The ratios take the 100-message home as baseline (target: within 1.5x at 100,000 for append and
page read; open within 1 s). Prints one JSON record per figure (the format of ``benchmarks/results``).
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from holdspace.clients.participant import GroupRecord, Message, Participant  # noqa: E402
from holdspace.protocol import crypto, e2ee  # noqa: E402
from holdspace.protocol.content import Text, encode_content  # noqa: E402
from holdspace.protocol.identity import Pseudonym  # noqa: E402
from holdspace.protocol.keyfile import MEMLIMIT, OPSLIMIT  # noqa: E402

PASSPHRASE = "correct horse battery staple"  # noqa: S105 - a benchmark identity
T0 = 1_800_000_000_000
BODY = "I had a hard week, but talking here helps. " * 7  # about 300 bytes


def message(i: int) -> Message:
    m = Message(i + 1, bytes([i % 251]) * 32, i + 1, T0 + i, None, None, os.urandom(32))
    m.plaintext, m.key, m.text = encode_content(Text(BODY)), os.urandom(32), BODY
    return m


def build(home: Path, n: int) -> None:
    me = Participant.create(home, PASSPHRASE, None)
    gid, ctx = b"\x07" * 32, b"\x08" * 32
    record = GroupRecord(gid, ctx, "circle")
    record.keys = e2ee.GroupKeys(gid, Pseudonym.derive(me.master, ctx))
    me.groups[gid] = me._attach(record)
    for start in range(0, n, 5000):
        record.messages.extend(message(i) for i in range(start, min(n, start + 5000)))
    record.cursor = n
    me.prune(record)
    me.save()
    assert me.history is not None
    me.history.close()


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def child(home: Path) -> None:
    """Open the home, read a page, print the resident set (run in a fresh process)."""
    me = Participant.load(home, PASSPHRASE)
    record = next(iter(me.groups.values()))
    page = record.messages.page(limit=50)
    assert len(page) == 50 and page[-1].text == BODY
    print(json.dumps({"rss_mib": rss_mib(), "messages": len(record.messages)}))


def measure(home: Path, rounds: int) -> dict[str, float]:
    start = time.perf_counter()
    me = Participant.load(home, PASSPHRASE)
    opened = time.perf_counter() - start
    record = next(iter(me.groups.values()))
    n = len(record.messages)
    appends, marks, pages = [], [], []
    for i in range(rounds):
        m = message(n + i)
        t = time.perf_counter()
        record.messages.append(m)
        me.prune(record, [m])
        record.cursor += 1
        me.save()
        appends.append(time.perf_counter() - t)
        t = time.perf_counter()
        record.cursor += 1
        me.save()
        marks.append(time.perf_counter() - t)
        t = time.perf_counter()
        page = record.messages.page(limit=50)
        pages.append(time.perf_counter() - t)
        assert len(page) == 50 and page[-1].text == BODY
    assert me.history is not None
    me.history.close()
    out = subprocess.run(  # noqa: S603 - this script, in a fresh process
        [sys.executable, __file__, "--child", str(home)], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return {
        "open_s": opened,
        "append_ms": 1000 * statistics.median(appends),
        "mark_ms": 1000 * statistics.median(marks),
        "page_ms": 1000 * statistics.median(pages),
        "rss_mib": json.loads(out.stdout.strip().splitlines()[-1])["rss_mib"],
        "history_mib": sum(p.stat().st_size for p in (home / "history").iterdir()) / 2**20,
        "keyfile_bytes": (home / "holdspace.keys").stat().st_size,
    }


def record(name: str, value: float, unit: str, baseline: str | None = None, base: float | None = None) -> dict:  # type: ignore[type-arg]
    ratio = value / base if base else None
    return {
        "name": name,
        "value": round(value, 4),
        "unit": unit,
        "baseline": baseline,
        "baseline_value": round(base, 4) if base is not None else None,
        "ratio": round(ratio, 3) if ratio is not None else None,
        "target": None,
        "met": None,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,10000,100000")
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--child", type=Path)
    options = parser.parse_args()
    if options.child is not None:
        child(options.child)
        return
    sizes = [int(s) for s in options.sizes.split(",")]
    t = time.perf_counter()
    crypto.argon2id(PASSPHRASE.encode(), b"\x00" * 16, opslimit=OPSLIMIT, memlimit=MEMLIMIT)
    kdf = time.perf_counter() - t
    found: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="holdspace-device-") as tmp:
        for n in sizes:
            home = Path(tmp) / str(n)
            t = time.perf_counter()
            build(home, n)
            print(f"built {n:,} messages in {time.perf_counter() - t:.1f} s", file=sys.stderr, flush=True)
            found[n] = measure(home, options.rounds)
            print(f"{n:,}: {found[n]}", file=sys.stderr, flush=True)
    base_n = sizes[0]
    base = found[base_n]
    at = f"at {base_n:,} messages"
    records = [record("passphrase derivation alone (Argon2id, part of every open)", kdf, "s")]
    for n in sizes:
        f = found[n]
        label = f"{n:,} stored messages"
        records += [
            record(f"open, {label}", f["open_s"], "s", at, base["open_s"]),
            record(f"append one message and save, {label}", f["append_ms"], "ms", at, base["append_ms"]),
            record(f"mark read and save, {label}", f["mark_ms"], "ms", at, base["mark_ms"]),
            record(f"page read (newest 50), {label}", f["page_ms"], "ms", at, base["page_ms"]),
            record(f"resident memory of a client holding {label}", f["rss_mib"], "MiB", at, base["rss_mib"]),
            record(f"history on disk, {label}", f["history_mib"], "MiB"),
            record(f"key file, {label}", f["keyfile_bytes"], "bytes", at, base["keyfile_bytes"]),
        ]
    for r in records:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
