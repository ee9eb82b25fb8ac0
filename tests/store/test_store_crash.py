"""kill -9 at random moments: every acknowledged entry survives and the store stays consistent.

A subprocess (crash_writer.py) appends through StoreWriter with many concurrent tasks and prints
each entry id the moment its append returned; this test kills it with SIGKILL at a random moment,
reopens the store and checks. Successive runs reuse the same store, so each run also starts from
a store that was itself killed. HOLDSPACE_LONG=1 runs 50 rounds instead of 5;
HOLDSPACE_CRASH_SEED replays a given seed.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from holdspace.node.store import Store

RUNS = 50 if os.environ.get("HOLDSPACE_LONG") == "1" else 5
SCRIPT = Path(__file__).with_name("crash_writer.py")


def _run_and_kill(path: Path, seed: int, rng: random.Random, log: Path) -> tuple[set[bytes], str]:
    """Start the writer, kill it at a random moment; return the ids it acknowledged, and how it died."""
    with (
        log.open("wb") as stderr,
        subprocess.Popen(
            [sys.executable, str(SCRIPT), str(path), str(seed)], stdout=subprocess.PIPE, stderr=stderr
        ) as proc,
    ):
        assert proc.stdout is not None
        lines: list[bytes] = []
        try:
            if rng.random() < 0.2:
                # Anywhere from interpreter start-up to the first commits, READY or not.
                time.sleep(rng.uniform(0.0, 0.4))
                how = "early"
            else:
                assert proc.stdout.readline() == b"READY\n", log.read_text()
                target = rng.choice([1, 10, 100, 1000, 3000, 10_000])
                deadline = time.monotonic() + rng.uniform(0.01, 2.0)
                while len(lines) < target and time.monotonic() < deadline:
                    line = proc.stdout.readline()
                    if not line:
                        break
                    lines.append(line)
                how = f"after {len(lines)} acks"
            assert proc.poll() is None, f"the writer died by itself: {log.read_text()}"
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            rest = proc.stdout.read()  # everything written before the kill, whatever we read above
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    return _parse(b"".join(lines) + rest), how


def _parse(blob: bytes) -> set[bytes]:
    ids = set()
    for line in blob.split(b"\n")[:-1]:  # the last piece is empty or a line cut short
        if len(line) == 64:
            ids.add(bytes.fromhex(line.decode()))
    return ids


def _check(path: Path, acknowledged: set[bytes], context: str) -> int:
    with Store.open(path) as store:
        missing = [i.hex() for i in acknowledged if not store.has(i)]
        assert not missing, f"{context}: {len(missing)} acknowledged entries lost, e.g. {missing[:3]}"
        assert store.check_integrity() == [], context
        total = 0
        for group in store.groups():
            total += store.count(group)
            for author, (head, head_id) in store.heads(group).items():
                # Each task appends seq n+1 only after seq n was acknowledged: no holes allowed.
                ids = [store.id_at(group, author, seq) for seq in range(1, head + 1)]
                assert None not in ids, f"{context}: hole in a log below its head {head}"
                assert ids[-1] == head_id
        assert total == store.info()["entries"]
        return total


def test_acknowledged_entries_survive_sigkill(tmp_path: Path) -> None:
    seed = int(os.environ.get("HOLDSPACE_CRASH_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    path = tmp_path / "store"
    acknowledged: set[bytes] = set()
    for run in range(RUNS):
        got, how = _run_and_kill(path, seed + run, rng, tmp_path / f"stderr-{run}.txt")
        acknowledged |= got
        if path.exists():
            _check(path, acknowledged, f"seed {seed} run {run} ({how})")
    total = _check(path, acknowledged, f"seed {seed} final")
    assert total >= len(acknowledged)
    assert acknowledged, "no run got far enough to acknowledge anything"
