"""What one more control entry costs the node, after 100 / 1,000 / 20,000 earlier ones.

Run: .venv/bin/python benchmarks/control_bench.py [--json] [--sizes 100,1000,20000] [--more 50]

The node core is driven as the node's runtime drives it (check, reserve, write, commit), in one
process, with the in-memory reader (so the figures are the decision's cost, not the disk's). Shapes,
as a hostile member or a hostile co-host would pick them:

* ``member, d = latest 1024``: a plain member's redactions (which always take effect), each naming the
  latest up to 1,024 control entries, through the client path;
* ``member, d = the head``: the same with a single dependency, the current head;
* ``member, stale d``: an entry naming one old entry (concurrent with everything since): its refusal;
* ``peer, flooded ignored joins``: joins redeeming a used-up invite under fresh pseudonyms, relayed by
  a peer (stored, ignored).

For each: the median time of one more entry at each size, with the ratio to the smallest size
measured in the same run (target: 20,000 within 2x of 100). Also, at each size, what computing the
state afresh costs (the node's start-up for that group, and what every entry cost before) and the
memory of the group's computation (tracemalloc, the computation alone).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from holdspace.node.core import MAX_JOINS_PER_USE, NodeCore
from holdspace.node.memory_store import MemoryReader
from holdspace.protocol import author, crypto, kinds
from holdspace.protocol.entry import Entry
from holdspace.protocol.group import compute
from holdspace.protocol.identity import Pseudonym, group_context
from holdspace.protocol.payloads import MAX_DEPS, MEMBER, Redact
from tests.group_world import FAR, World
from tests.node.core_driver import from_client, hosted, store_all


def from_peer(core: NodeCore, reader: MemoryReader, entry: Entry, now_ms: int) -> None:
    store_all(core, reader, [entry], now_ms)


def redaction(w: World, deps: tuple[bytes, ...], nonce: int, who: str = "ana") -> Entry:
    person = w.people[who]
    payload = Redact(deps, person.key, (crypto.blake2b_256(nonce.to_bytes(8, "big")),))
    return person.writer.append(kinds.REDACT, payload.encode(), w.tick())


def wide_deps(core: NodeCore, group: bytes) -> tuple[bytes, ...]:
    state = core.state(group)
    return tuple(sorted({*state.order[-MAX_DEPS:], *state.heads}))


def head_dep(core: NodeCore, group: bytes) -> tuple[bytes, ...]:
    return core.state(group).heads


def timed(step: Callable[[int], None], count: int) -> float:
    """Median seconds of ``step(i)`` over ``count`` calls."""
    times = []
    for i in range(count):
        t0 = time.perf_counter()
        step(i)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def afresh(core: NodeCore, group: bytes) -> tuple[float, float, float]:
    """(seconds with the node's decode cache: a recomputation in a running node; seconds from the
    entries alone: the node's start-up for the group; MiB of Python allocations of the computation)."""
    ctx = core.context(group)
    assert ctx is not None
    t0 = time.perf_counter()
    compute(ctx.genesis, ctx.controls.values(), ctx.cache)
    warm = time.perf_counter() - t0
    t0 = time.perf_counter()
    compute(ctx.genesis, ctx.controls.values())
    cold = time.perf_counter() - t0
    tracemalloc.start()
    comp = compute(ctx.genesis, ctx.controls.values(), ctx.cache)
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del comp
    return warm, cold, current / 2**20


def member_shape(n: int, more: int) -> dict[str, float]:
    """A member's n redactions (honest: each names the head), then what one more costs: honest,
    naming the latest 1,024 entries (refused, group.bad_deps), naming a stale dependency (refused,
    group.stale_deps)."""
    w = World()
    w.add("ana")
    w.rekey("founder")
    core, reader = hosted(w)
    for i in range(n):
        assert from_client(core, reader, redaction(w, head_dep(core, w.group_id), i), w.clock) is None
    ana = w.people["ana"]

    def rewound(entry: Entry) -> None:  # a refused entry leaves its log position free
        ana.writer = author.LogWriter(ana.writer.me, w.group_id, entry.seq - 1, entry.prev)

    # timed: the node's decision alone (each entry is signed beforehand, on the state it is sent to)
    figures: dict[str, float] = {}
    times = []
    for i in range(more):
        entry = redaction(w, head_dep(core, w.group_id), 3 * n + i)
        t0 = time.perf_counter()
        assert from_client(core, reader, entry, w.clock) is None
        times.append(time.perf_counter() - t0)
    figures["per_entry_s"] = statistics.median(times)
    wide = redaction(w, wide_deps(core, w.group_id), 10**8)
    rewound(wide)
    figures["wide_refusal_s"] = timed(lambda i: _refused(core, reader, wide, w.clock, "group.bad_deps"), more)
    founder_entry = redaction(w, head_dep(core, w.group_id), 0, "founder")
    assert from_client(core, reader, founder_entry, w.clock) is None
    stale = redaction(w, (core.state(w.group_id).latest[ana.key],), 10**9)  # did not see the founder's
    figures["stale_refusal_s"] = timed(lambda i: _refused(core, reader, stale, w.clock, "group.stale_deps"), more)
    figures["afresh_s"], figures["startup_s"], figures["afresh_mib"] = afresh(core, w.group_id)
    return figures


def _refused(core: NodeCore, reader: MemoryReader, entry: Entry, now_ms: int, code: str) -> None:
    assert from_client(core, reader, entry, now_ms) == code


def flood_shape(n: int, more: int) -> dict[str, float]:
    w = World()
    founder = w.people["founder"]
    # a host stores at most 32 joins per use of an invite (group.storage_bound): an invite whose uses
    # allow the flood, every use taken by a member first
    uses = (n + more) // (MAX_JOINS_PER_USE - 1) + 1  # the members take one join per use
    inv, secret = author.invite(founder.writer, w.view("founder"), w.tick(), role=MEMBER, expires_ms=FAR, max_uses=uses)
    w.publish("founder", inv)
    for k in range(uses):
        w.redeem(f"member{k}", secret)
    core, reader = hosted(w)
    context = group_context(w.group_id)

    def junk(i: int) -> Entry:
        me = Pseudonym.derive(i.to_bytes(32, "big"), context)
        return secret.join(author.LogWriter(me, w.group_id), w.tick())

    for i in range(n):
        from_peer(core, reader, junk(i), w.clock)
    entries = [junk(n + i) for i in range(more)]  # signed beforehand: the node's cost alone is timed

    def step(i: int) -> None:
        from_peer(core, reader, entries[i], w.clock)
        assert core.state(w.group_id).outcomes[entries[i].entry_id] == "group.invite_exhausted"

    per_entry = timed(step, more)
    warm, cold, mib = afresh(core, w.group_id)
    return {"per_entry_s": per_entry, "afresh_s": warm, "startup_s": cold, "afresh_mib": mib}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--sizes", default="100,1000,20000")
    parser.add_argument("--more", type=int, default=50)
    options = parser.parse_args()
    sizes = [int(x) for x in options.sizes.split(",")]
    shapes: dict[str, Callable[[int], dict[str, float]]] = {
        "member (d = the head; also d = latest 1024 and a stale d, refused)": lambda n: member_shape(n, options.more),
        "peer, flooded ignored joins": lambda n: flood_shape(n, options.more),
    }
    results: dict[str, dict[str, dict[str, float]]] = {}
    for name, shape in shapes.items():
        results[name] = {}
        for n in sizes:
            t0 = time.perf_counter()
            results[name][str(n)] = figures = shape(n)
            shown = ", ".join(
                f"{k} {v * 1e3:.3f} ms" if k.endswith("_s") else f"{k} {v:.1f}" for k, v in figures.items()
            )
            print(f"{name}, n={n}: {shown} ({time.perf_counter() - t0:.0f} s)", flush=True)
    if options.json:
        print(json.dumps({"sizes": sizes, "shapes": results}))


if __name__ == "__main__":
    main()
