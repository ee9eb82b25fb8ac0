"""Where a node's CPU goes under one publish per request: py-spy samples, summed by concern.

Starts ``benchmarks/node_bench.py --runs 0`` (10 publishers, one publish per request, 1 subscriber),
finds its node process and samples it with py-spy (every thread, Python frames) while the load runs.
Each sample is charged to the innermost frame of a known concern:

aioquic (QUIC packets, TLS, streams), crypto (Ed25519, BLAKE2b, PyNaCl), LMDB (``node/store.py``, the
store writer), decode (the CBOR codec, entry decoding, frames), session (``node/session.py``),
checks (``node/core.py``, group state, logs, admission, rates), server (``node/server.py``),
transport glue (``node/transport``), trio (the event loop and its I/O), other.

py-spy is not a project dependency: ``.venv/bin/pip install py-spy`` (it needs ptrace rights on the
node's process; as its owner, or root, that is the default).

Run: .venv/bin/python benchmarks/node_profile.py [--seconds 10] [--out FILE]
(``--out``: also keep py-spy's raw collapsed stacks)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# (concern, substrings of a frame "function (file:line)"), innermost match wins; first listed wins in a frame
CONCERNS: list[tuple[str, tuple[str, ...]]] = [
    ("crypto", ("nacl/", "protocol/crypto.py", "protocol/signing.py", "node/verify_threads.py")),
    ("LMDB", ("node/store.py", "node/store_writer.py", "lmdb")),
    ("decode", ("protocol/codec.py", "protocol/entry.py", "protocol/frames.py", "node/framing.py")),
    ("session", ("node/session.py",)),
    ("checks", ("node/core.py", "protocol/group", "protocol/log.py", "node/admission.py", "node/rates.py")),
    ("aioquic", ("aioquic/", "cryptography/")),
    ("transport glue", ("node/transport/",)),
    ("server", ("node/server.py", "node/write_behind.py")),
    ("trio", ("trio/", "outcome/", "selectors.py", "socket.py")),
]


def concern_of(frames: list[str]) -> str:
    """The concern of a sample (frames outermost first): its innermost frame with a known concern."""
    for frame in reversed(frames):
        for name, marks in CONCERNS:
            if any(mark in frame for mark in marks):
                return name
    return "other"


def node_pid(parent: int, timeout: float = 120.0) -> int:
    """The pid of the node process ``parent`` (node_bench) starts."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for children in Path(f"/proc/{parent}/task").glob("*/children"):
            for child in children.read_text().split():
                try:
                    if b"tests.node.node_process" in Path(f"/proc/{child}/cmdline").read_bytes():
                        return int(child)
                except OSError:
                    continue
        time.sleep(0.2)
    raise RuntimeError("node_bench started no node process")


def summarise(collapsed: str) -> dict[str, object]:
    by_concern: Counter[str] = Counter()
    by_thread: Counter[str] = Counter()
    by_leaf: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = stack.split(";")
        thread = frames[0] if frames[0].startswith(("thread", "process")) else "?"
        by_concern[concern_of(frames)] += count
        by_thread[thread] += count
        by_leaf[frames[-1]] += count
        total += count
    share = {k: v / max(total, 1) for k, v in by_concern.most_common()}
    return {
        "samples": total,
        "share_by_concern": share,
        "share_by_thread": {k: v / max(total, 1) for k, v in by_thread.most_common()},
        "top_frames": [(k, v / max(total, 1)) for k, v in by_leaf.most_common(15)],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        sys.exit("py-spy is not installed: .venv/bin/pip install py-spy")
    bench = subprocess.Popen(  # noqa: S603 - our own benchmark
        [
            sys.executable,
            str(ROOT / "benchmarks/node_bench.py"),
            "--runs",
            "0",
            "--seconds",
            str(args.seconds),
            "--per-publisher",
            "1500",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        pid = node_pid(bench.pid)
        time.sleep(2.0)  # the group's set-up; the load starts right after it
        with tempfile.TemporaryDirectory() as tmp:
            raw = Path(tmp) / "stacks.txt"
            flags = ["-d", str(int(args.seconds - 1)), "-r", "250", "--threads", "--format", "raw", "--nonblocking"]
            subprocess.run(  # noqa: S603
                [spy, "record", "-p", str(pid), "-o", str(raw), *flags],
                check=True,
                capture_output=True,
            )
            collapsed = raw.read_text()
        if args.out is not None:
            args.out.write_text(collapsed)
        out, _ = bench.communicate(timeout=600)
    finally:
        if bench.poll() is None:
            bench.kill()
            bench.wait()
    figures = summarise(collapsed)
    figures["load_average"] = os.getloadavg()
    run = json.loads(out[out.index("{") :])["ingest, 1 subscriber"]
    figures["entries_per_s"], figures["cpu_ms_per_entry"] = run["entries_per_s"], run["cpu_ms_per_entry"]
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
