"""What deletion on time costs a node: the start-up retention pass, and scheduled deletions.

Run: .venv/bin/python benchmarks/retention_bench.py [N]

A store holds one group with N messages (default 100,000; a quarter with a time to live, the group has
a weekly session with a retention rule). Measured in the same run:

* baseline: reading every stored entry and decoding it (what any full scan of the store costs);
* the start-up pass of ``Node.run_retention`` over the same store (decode, authorisation, redaction
  and erasure checks, deadline from the envelope and the session schedule), as entries per second
  and as a ratio to the baseline;
* deleting payloads when due: N/4 expired messages, deleted by the retention task, per second.

Prints one JSON record per figure (the benchmark record format of ``benchmarks/results``).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import nacl.signing
import trio

from holdspace.node.core import from_record, to_record
from holdspace.node.server import open_node
from holdspace.node.store import Store
from holdspace.protocol import author, kinds
from holdspace.protocol.identity import new_master_secret
from holdspace.protocol.payloads import MessageEnvelope, Session

T0 = 1_800_000_000_000


def build(directory: Path, n: int) -> tuple[bytes, int]:
    """A group whose founder wrote ``n`` messages (every 4th expiring at T0 + 1 h) and one session."""
    genesis, writer = author.create_group(new_master_secret(), T0 - 10_000)
    gid = genesis.entry_id
    state_deps = (gid,)
    session = Session(state_deps, None, T0, 3_600_000, "Europe/London", ("weekly", 52), 86_400_000, False, None)
    entries = [genesis, writer.append(kinds.SESSION, session.encode(), T0 - 5_000)]
    for i in range(n):
        expires = T0 + 3_600_000 if i % 4 == 0 else None
        envelope = MessageEnvelope(b"\x01" * 32, i, os.urandom(24), os.urandom(256), expires, commitment=bytes(32))
        entries.append(writer.append(kinds.MESSAGE, envelope.encode(), T0 + i))
    with Store.open(directory / "store") as store:
        for start in range(0, len(entries), 5000):
            store.append_batch([to_record(e, gid, husk=False) for e in entries[start : start + 5000]])
    return gid, len(entries)


def record(name: str, value: float, unit: str, baseline: str | None = None, base: float | None = None) -> dict:  # type: ignore[type-arg]
    ratio = value / base if base else None
    return {
        "name": name,
        "value": round(value, 3),
        "unit": unit,
        "baseline": baseline,
        "baseline_value": round(base, 3) if base is not None else None,
        "ratio": round(ratio, 3) if ratio is not None else None,
        "target": None,
        "met": None,
    }


async def measure(directory: Path, gid: bytes, total: int) -> list[dict]:  # type: ignore[type-arg]
    key = nacl.signing.SigningKey(b"\x05" * 32)
    with Store.open(directory / "store") as store:
        start = time.perf_counter()
        after = 0
        while page := store.iter_group(gid, after, 1000):
            for cursor, rec in page:
                after = cursor
                from_record(rec)
        scan = total / (time.perf_counter() - start)

    clock = {"now": T0 + 60_000}
    async with open_node(directory, key, clock=lambda: clock["now"]) as node:
        # open_node started the pass; time one more, alone, on the same store
        await node.retention_ready.wait()
        node._deadlines.clear()
        start = time.perf_counter()
        await node._retention_pass()
        passed = total / (time.perf_counter() - start)
        due = len(node._deadlines)
        clock["now"] = T0 + 3_600_000 + 1  # every time-to-live is due
        start = time.perf_counter()
        node._deadlines_changed.set()
        with trio.fail_after(600):
            while True:
                if not node._deadlines or node._deadlines[0][0] > clock["now"]:
                    break
                await trio.sleep(0.01)
        await trio.sleep(0.2)  # the last batch's commit
        delete_time = time.perf_counter() - start
        deleted = sum(1 for _, r in node.store.iter_group(gid, 0, 10**9) if from_record(r).payload is None)
        delete_rate = deleted / delete_time
    return [
        record("retention: full scan of the store (decode every entry)", scan, "entries/s"),
        record(
            "retention: start-up pass (deadlines, redactions, erasures)",
            passed,
            "entries/s",
            "full scan of the store",
            scan,
        ),
        record("retention: deadlines scheduled by the pass", due, "deadlines"),
        record("retention: expired payloads deleted when due", delete_rate, "deletions/s"),
    ]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory(prefix="holdspace-retention-") as tmp:
        gid, total = build(Path(tmp), n)
        for rec in trio.run(measure, Path(tmp), gid, total):
            print(json.dumps(rec))


if __name__ == "__main__":
    main()
