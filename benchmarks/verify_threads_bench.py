"""Does Ed25519 verification run beside the event loop's thread? Micro-benchmarks for node/verify_threads.py.

1. GIL: the same N signatures verified by 1, 2 and 4 threads (each thread a share); wall time and
   CPU time (all threads) against one thread. If PyNaCl's cffi call releases the GIL, 2 threads on
   2 idle cores take about half the wall time at the same CPU.
2. Beside a busy thread: the main thread runs pure Python work (a stand-in for the event loop's
   packet handling) while one verifier thread verifies; both rates against each alone. This is the
   case that matters: a verifier thread must take the GIL back after every signature, and a thread
   busy in Python gives it up only every ``sys.getswitchinterval()`` (5 ms by default).
3. A hop: the CPU (both threads) and wall time of one ``trio.to_thread.run_sync`` of a no-op and of one
   signature, against one signature verified inline: what a batch of one would cost.

Run: .venv/bin/python benchmarks/verify_threads_bench.py [--n 4000] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import nacl.signing  # noqa: E402
import trio  # noqa: E402

from holdspace.protocol import crypto  # noqa: E402


def signed(n: int) -> list[tuple[bytes, bytes, bytes]]:
    key = nacl.signing.SigningKey(b"\x07" * 32)
    out = []
    for i in range(n):
        msg = b"holdspace/v1/entry\x00" + os.urandom(180) + i.to_bytes(4, "big")
        out.append((bytes(key.verify_key), msg, key.sign(msg).signature))
    return out


def verify_all(items: list[tuple[bytes, bytes, bytes]]) -> None:
    for key, msg, sig in items:
        if not crypto.ed25519_verify(key, msg, sig):
            raise AssertionError("a signature did not verify")


def threaded(items: list[tuple[bytes, bytes, bytes]], threads: int) -> tuple[float, float]:
    """(wall s, CPU s of the process) to verify ``items`` split over ``threads`` threads."""
    shares = [items[i::threads] for i in range(threads)]
    workers = [threading.Thread(target=verify_all, args=(s,)) for s in shares]
    cpu0, t0 = time.process_time(), time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return time.perf_counter() - t0, time.process_time() - cpu0


def busy(seconds: float, stop: threading.Event | None = None) -> int:
    """Pure Python work (dict and bytes shuffling) for ``seconds``; returns rounds done."""
    rounds = 0
    deadline = time.perf_counter() + seconds
    d: dict[int, bytes] = {}
    while time.perf_counter() < deadline and not (stop is not None and stop.is_set()):
        for i in range(200):
            d[i] = bytes(16) + i.to_bytes(2, "big")
        d.clear()
        rounds += 1
    return rounds


def beside_busy(items: list[tuple[bytes, bytes, bytes]], seconds: float) -> dict[str, float]:
    """Verifier rate alone, busy rate alone, and both at once."""
    t0 = time.perf_counter()
    verify_all(items)
    alone_verify = len(items) / (time.perf_counter() - t0)
    alone_busy = busy(seconds) / seconds
    done = threading.Event()
    count = 0

    def verifier() -> None:
        nonlocal count
        while not done.is_set():
            for key, msg, sig in items[:200]:
                crypto.ed25519_verify(key, msg, sig)
                count += 1

    w = threading.Thread(target=verifier)
    w.start()
    rounds = busy(seconds)
    done.set()
    w.join()
    return {
        "verify_alone_per_s": alone_verify,
        "busy_alone_rounds_per_s": alone_busy,
        "verify_beside_busy_per_s": count / seconds,
        "busy_beside_verify_rounds_per_s": rounds / seconds,
        "switch_interval_s": sys.getswitchinterval(),
    }


def hop_cost(hops: int) -> dict[str, float]:
    """CPU (all threads) and wall time of one ``trio.to_thread.run_sync`` hop of a no-op, and of one
    hop verifying one signature, against verifying it inline: what a batch of one would cost."""
    items = signed(1)

    async def run() -> dict[str, float]:
        limiter = trio.CapacityLimiter(1)
        out = {}
        for label, fn in (("noop", lambda: None), ("one signature", lambda: verify_all(items))):
            cpu0, t0 = time.process_time(), time.perf_counter()
            for _ in range(hops):
                await trio.to_thread.run_sync(fn, limiter=limiter)
            out[f"hop, {label}: cpu_us"] = (time.process_time() - cpu0) / hops * 1e6
            out[f"hop, {label}: wall_us"] = (time.perf_counter() - t0) / hops * 1e6
        cpu0 = time.process_time()
        for _ in range(hops):
            verify_all(items)
        out["inline, one signature: cpu_us"] = (time.process_time() - cpu0) / hops * 1e6
        return out

    return trio.run(run)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    items = signed(args.n)
    figures: dict[str, object] = {"load_average": os.getloadavg(), "signatures": args.n}
    one_wall, one_cpu = threaded(items, 1)
    figures["1 thread"] = {"wall_s": one_wall, "cpu_s": one_cpu, "per_s": args.n / one_wall}
    for threads in (2, 4):
        wall, cpu = threaded(items, threads)
        figures[f"{threads} threads"] = {
            "wall_s": wall,
            "cpu_s": cpu,
            "per_s": args.n / wall,
            "wall_vs_1_thread": wall / one_wall,
            "cpu_vs_1_thread": cpu / one_cpu,
        }
    figures["thread hop"] = hop_cost(2000)
    figures["beside a busy thread"] = beside_busy(items, args.seconds)
    for interval in (0.001, 0.0002):
        sys.setswitchinterval(interval)
        figures[f"beside a busy thread, switch interval {interval * 1000:g} ms"] = beside_busy(items, args.seconds)
    sys.setswitchinterval(0.005)
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
