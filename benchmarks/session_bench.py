"""What the client session's decision costs per request, against decoding the request alone.

Run: .venv/bin/python benchmarks/session_bench.py [--json] [--rounds 5000]

The session (``node.session.ClientSession``) is driven as the node's runtime drives it, in one process,
over the node core and the in-memory reader (no disk, no sockets). For each request kind: the median
time of ``ClientSession.receive`` (for a fetch, also building the answer from a page), and its ratio
to ``decode_client_request`` of the same frame measured in the same run: the part every runtime pays anyway.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from holdspace.node.core import NodeCore
from holdspace.node.limits import NodeLimits
from holdspace.node.rates import PublishRates
from holdspace.node.session import ClientSession, Fetch
from holdspace.protocol.frames import auth_message, decode_client_request, encode_client_request
from tests.group_world import World
from tests.node.core_driver import hosted

NODE_KEY = b"\x4e" * 32
BATCHES = 7


@dataclass
class Host:
    core: NodeCore
    limits: NodeLimits = field(default_factory=lambda: NodeLimits(request_rate=1e12, request_burst=1e12))
    public_key: bytes = NODE_KEY
    federates: bool = False
    web_origin: str | None = None
    rates: PublishRates = field(default_factory=lambda: PublishRates(1e12, 1e12))

    def fork_proofs(self, group: bytes) -> list[bytes]:
        return []


def per_call(fn: Callable[[], object], rounds: int) -> float:
    """The median over ``BATCHES`` batches of the mean time of one call, in microseconds."""
    times = []
    for _ in range(BATCHES):
        start = time.perf_counter()
        for _ in range(rounds):
            fn()
        times.append((time.perf_counter() - start) / rounds * 1e6)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--rounds", type=int, default=5_000)
    args = parser.parse_args()

    w = World()
    w.add("ana")
    w.rekey("founder")
    w.deliver_keys()
    said = [w.say("ana", f"message {i}") for i in range(20)]
    core, reader = hosted(w)
    session = ClientSession(Host(core), b"\xc0" * 32, 0.0)
    ana = w.people["ana"].writer.me
    signed = ana.sign(auth_message(session.challenge, NODE_KEY, ana.public_key))
    session.receive(encode_client_request(0, "auth", k=ana.public_key, sig=signed), 0.0)
    page = reader.iter_group(w.group_id, 0, 64)

    def fetch(frame: bytes) -> object:
        effect = session.receive(frame, 0.0)
        assert isinstance(effect, Fetch)
        session.done(effect.rid)  # answered: its id is free for the next round
        return effect.answer(page)

    def decide(frame: bytes) -> object:
        effect = session.receive(frame, 0.0)
        session.in_flight.clear()  # as if answered: the id is free for the next round
        return effect

    frames = {
        "hello": encode_client_request(1, "hello", v=2),
        "auth": encode_client_request(2, "auth", k=ana.public_key, sig=signed),
        "state": encode_client_request(3, "state", g=w.group_id),
        "fetch (+ answer of 64 entries)": encode_client_request(4, "fetch", g=w.group_id, after=0, limit=64),
        "publish (decision)": encode_client_request(5, "publish", e=said[-1].raw, b=said[-1].payload),
    }
    results: dict[str, dict[str, float]] = {}
    for name, frame in frames.items():
        baseline = per_call(partial(decode_client_request, frame), args.rounds)
        if name.startswith("fetch"):
            measured = per_call(partial(fetch, frame), args.rounds // 10)
        else:
            measured = per_call(partial(decide, frame), args.rounds)
        results[name] = {"session_us": round(measured, 2), "decode_us": round(baseline, 2)}
        results[name]["ratio"] = round(measured / baseline, 2)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'request':34} {'session µs':>11} {'decode µs':>10} {'ratio':>7}")
    for name, r in results.items():
        print(f"{name:34} {r['session_us']:11.2f} {r['decode_us']:10.2f} {r['ratio']:7.2f}")


if __name__ == "__main__":
    main()
