"""Starting a simulation's nodes costs the same per node whatever their number, and nothing that
waits on the disk: no fsync (a simulated store is not durable, and each fsync of a directory made
the start of 10,000 nodes wait on the disk for about a second a node on a busy machine) and one
file descriptor a node (three a node ran out of the 20,000 a process may hold at 6,600 nodes).
Counted, not timed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import trio

from holdspace.simulations import scenario as sc
from holdspace.simulations.clock import WireClock
from holdspace.simulations.phases import Phases, read
from holdspace.simulations.runtime import Simulation

SCENARIO = """
duration = "1m"
[nodes]
count = {nodes}
[groups]
count = 1
members = 3
"""


def _descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def start(tmp_path: Path, nodes: int, monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    """Start ``nodes`` simulated nodes as a run does; the fsyncs made and descriptors held meanwhile."""
    fsyncs = [0]
    real_fsync = os.fsync

    def counted(fd: int) -> None:
        fsyncs[0] += 1
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counted)
    scenario = sc.parse(SCENARIO.format(nodes=nodes))
    work = tmp_path / f"n{nodes}"
    work.mkdir()
    phases = Phases(work / "phases.jsonl")
    sim = Simulation(scenario, sc.plan(scenario, 1), work, history=work / "history.jsonl", phases=phases)
    held: list[int] = []

    async def main() -> None:
        sim.history.add("setup_start")  # the history's own file, opened by its first event
        before = _descriptors()
        async with trio.open_nursery() as root:
            await root.start(sim.wire.run)
            for sn in sim.nodes.values():
                await root.start(sim.run_node, sn)
                sim.phases.count("nodes", len(sim.nodes))
            held.append(_descriptors() - before)
            root.cancel_scope.cancel()

    try:
        trio.run(main, clock=WireClock())
    finally:
        sim.history.close()
        phases.close()
    assert read(work / "phases.jsonl")["nodes"]["done"] == nodes  # how far the start got, as it went
    return fsyncs[0], held[0]


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts descriptors through /proc")
def test_starting_nodes_makes_no_fsync_and_holds_one_descriptor_a_node(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for nodes in (4, 16):
        fsyncs, descriptors = start(tmp_path, nodes, monkeypatch)
        assert fsyncs == 0
        assert descriptors == nodes  # one a node, at 4 nodes as at 16: 10,000 nodes fit 20,000


def test_phases_are_written_as_they_go_and_read_back_past_a_cut_line(tmp_path: Path) -> None:
    path = tmp_path / "phases.jsonl"
    phases = Phases(path)
    for _ in range(100):
        phases.count("connected", 100)
    phases.note("traffic", 3, 62)
    lines = [json.loads(line) for line in path.read_text().splitlines()]  # flushed before close
    assert [line["done"] for line in lines if line["phase"] == "connected"] == list(range(5, 101, 5))
    assert {"wall_s", "cpu_s", "rss_mb", "peak_rss_mb"} <= set(lines[-1])
    with path.open("a") as f:
        f.write('{"phase": "traffic", "do')  # a line cut short by a kill
    got = read(path)
    assert got["traffic"]["done"] == 3 and got["connected"]["done"] == 100
    phases.close()
