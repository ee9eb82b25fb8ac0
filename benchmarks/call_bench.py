"""Live calls in Debian's Chromium (spec 17.11): time from "join" to the first inbound audio, and each
member's upstream and CPU, for mesh calls of 2 (the baseline), 4 and 8 members through one node.

Run: .venv/bin/python benchmarks/call_bench.py [--json] [--rounds 3] [--sizes 2,4,8]

Each round makes a fresh group (the Python client library) whose facilitator opens the live circle
(a session on now, as clients offer the call only then), opens one page per member (fake media
devices, a browser context each, one Chromium), and has every member join at once; a page notes, per
other member, the ms from its own join to that member's first inbound audio packet (WebRTC
statistics polled every 50 ms), waiting at most 10 s + 5 s per member; pairs never heard by then
are counted apart ("heard"). Then for 3 s: audio bytes sent per member (its upstream: one Opus
encoding per other member in a mesh) and the CPU time of every browser process, per member. Times
are p50 and p95 over all (member, other) pairs of all rounds, and given as a ratio to the 2-member
call of the same run. Every browser runs on this machine: CPU per member is an upper bound of what
one device spends, since the members share the cores.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from holdspace.protocol import crypto
from tests.web.test_browser_call import START, build_hook, call_pages, make_group
from tests.web.web_node import web_node

WINDOW_S = 3.0
NAMES = tuple(f"m{i}" for i in range(10))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def browser_cpu() -> float:
    """CPU seconds of every process this one started (the Playwright driver and Chromium)."""
    total = 0.0
    for child in psutil.Process().children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


async def one_round(root: Path, dist: Path, size: int) -> dict[str, Any]:
    names = NAMES[:size]
    await trio.Path(root).mkdir(parents=True)
    async with web_node(root, dist) as web:
        _fay, group, members = await make_group(root, web, names)
        call = crypto.blake2b_256(b"call:" + group.group_id)[:16]

        def browse() -> dict[str, Any]:
            with call_pages(web.web.origin, names) as run:
                for name, m in members.items():
                    keys = {"seedHex": m.seed.hex(), "xHex": m.x_secret.hex(), "groupHex": group.group_id.hex(),
                            "callHex": call.hex(), "disguise": False}  # fmt: skip
                    assert run.ev(name, START, keys) is True
                for name in names:  # each page's join is timed from its own start
                    run.pages[name].evaluate("() => { window.joining = window.member.join(); }")
                deadline = time.monotonic() + 10 + 5 * size
                while time.monotonic() < deadline and not all(
                    len(run.ev(n, "() => window.member.firstAudioMs()")) == size - 1 for n in names
                ):
                    time.sleep(0.2)
                firsts = [v for n in names for v in run.ev(n, "() => window.member.firstAudioMs()").values()]
                sent0 = {n: run.ev(n, "() => window.member.sent()") for n in names}
                cpu0, t0 = browser_cpu(), time.monotonic()
                time.sleep(WINDOW_S)
                cpu1, t1 = browser_cpu(), time.monotonic()
                sent1 = {n: run.ev(n, "() => window.member.sent()") for n in names}
            seconds = t1 - t0
            upstream = [  # each page's own interval: reading eight pages takes a while
                (sent1[n]["bytes"] - sent0[n]["bytes"]) * 8 / (sent1[n]["atMs"] - sent0[n]["atMs"]) for n in names
            ]
            return {
                "first_ms": firsts,
                "pairs": size * (size - 1),
                "up_kbps": statistics.mean(upstream),
                "cpu": (cpu1 - cpu0) / seconds / size,
            }

        return await trio.to_thread.run_sync(browse)


async def run(sizes: list[int], rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        dist = build_hook(Path(tmp) / "hook" / "dist")
        out: dict[str, Any] = {}
        for size in sizes:
            firsts: list[float] = []
            pairs = 0
            ups: list[float] = []
            cpus: list[float] = []
            for r in range(rounds):
                result = await one_round(Path(tmp) / f"n{size}r{r}", dist, size)
                firsts += result["first_ms"]
                pairs += result["pairs"]
                ups.append(result["up_kbps"])
                cpus.append(result["cpu"])
            out[str(size)] = {
                "members": size,
                "pairs_heard": len(firsts),
                "pairs": pairs,
                "first_audio_p50_ms": round(percentile(firsts, 0.5), 1),
                "first_audio_p95_ms": round(percentile(firsts, 0.95), 1),
                "upstream_kbit_s_per_member": round(statistics.mean(ups), 1),
                "cpu_cores_per_member": round(statistics.mean(cpus), 3),
            }
        base = out[str(sizes[0])]
        for row in out.values():
            row["p50_ratio"] = round(row["first_audio_p50_ms"] / base["first_audio_p50_ms"], 2)
            row["p95_ratio"] = round(row["first_audio_p95_ms"] / base["first_audio_p95_ms"], 2)
            row["upstream_ratio"] = round(row["upstream_kbit_s_per_member"] / base["upstream_kbit_s_per_member"], 2)
        return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sizes", default="2,4,8", help="call sizes; the first is the baseline")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if not all(2 <= s <= len(NAMES) for s in sizes):
        parser.error(f"sizes are 2..{len(NAMES)}")
    result = trio.run(run, sizes, args.rounds)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{'members':>7} {'heard':>7} {'p50 ms':>8} {'p95 ms':>8} {'ratio':>11} {'up kbit/s':>9} {'cpu/member':>10}")
    for row in result.values():
        print(
            f"{row['members']:>7} {row['pairs_heard']:>3}/{row['pairs']:<3} {row['first_audio_p50_ms']:>8} "
            f"{row['first_audio_p95_ms']:>8} {row['p50_ratio']:>5}/{row['p95_ratio']:<5} "
            f"{row['upstream_kbit_s_per_member']:>9} {row['cpu_cores_per_member']:>10}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
