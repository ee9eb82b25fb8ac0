"""The history streams to disk as the run goes: its memory does not grow with its events, and the
metrics read it back in a stream (deliveries acknowledged after they were decrypted included)."""

from __future__ import annotations

import json
from pathlib import Path

import trio

from holdspace.simulations.clock import WireClock
from holdspace.simulations.history import History, iter_events
from holdspace.simulations.metrics import Digest


def test_events_go_to_disk_as_they_happen_not_to_memory(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    history = History(path)
    sizes: list[int] = []

    async def main() -> None:
        for i in range(20_000):
            history.add("stored", node=f"n{i % 50}", group="ab" * 8, id=f"{i:016x}", kind=4)
            if i % 5_000 == 4_999:
                sizes.append(path.stat().st_size)
                await trio.sleep(1)

    trio.run(main, clock=WireClock())
    # the writer keeps counters, not events
    assert not any(isinstance(v, list | dict | set) for v in vars(history).values())
    assert sizes == sorted(sizes) and sizes[-1] > 1_000_000  # on disk while the run goes on
    history.close()
    lines = path.read_text().splitlines()
    assert json.loads(lines[0]) == {"ev": "start", "t": 0.0} and len(lines) == 20_001
    assert history.count == 20_000 and history.last_t == 3.0
    assert [e["id"] for e in iter_events(path, "stored")][:2] == [f"{0:016x}", f"{1:016x}"]


def test_the_digest_reads_deliveries_that_came_before_their_acknowledgement(tmp_path: Path) -> None:
    events = [
        {"ev": "traffic_start", "t": 5.0},
        {"ev": "delivered", "t": 6.2, "member": "g0m2", "id": "0:aa:1", "ok": True},  # before "sent"
        {"ev": "sent", "t": 6.3, "member": "g0m1", "id": "0:aa:1", "bytes": 40, "started": 6.0},
        {"ev": "delivered", "t": 6.5, "member": "g0m3", "id": "0:aa:1", "ok": True},
        {"ev": "delivered", "t": 6.6, "member": "g0m4", "id": "0:aa:1", "ok": False},
        {"ev": "sent", "t": 7.0, "member": "g0m1", "id": "0:aa:2", "bytes": 40, "started": 6.9, "checkin": True},
        {"ev": "sample", "t": 7.5, "groups": 1, "converged": 1, "behind": []},
        {"ev": "end", "t": 8.0},
    ]
    path = tmp_path / "history.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in [{"ev": "start", "t": 0.0}, *events]) + "\n")
    d = Digest.read(path, tmp_path / "latency.csv")
    assert d.t0 == 5.0 and d.last_t == 8.0 and d.events == 8
    assert list(d.latencies) == [0.2, 0.5] and d.sent == 2 and d.checkins == 1
    assert d.not_ok == {("g0m4", "aa"): 1} and d.sent_per_group == {0: 2}
    assert (tmp_path / "latency.csv").read_text().splitlines() == [
        "message,recipient,latency_s",
        "0:aa:1,g0m2,0.2",
        "0:aa:1,g0m3,0.5",
    ]
