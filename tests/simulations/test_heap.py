"""The collector's policy during a run: raised thresholds and frozen long-lived state while the run
lasts, and the process's own policy back (nothing left frozen) when it ends, even by an error."""

from __future__ import annotations

import gc
from dataclasses import replace
from pathlib import Path

import pytest

from holdspace.simulations import heap, runtime
from holdspace.simulations.cli import SCENARIOS
from holdspace.simulations.scenario import load, plan


def test_the_policy_holds_inside_and_is_undone_after() -> None:
    before = gc.get_threshold()
    with heap.collector():
        assert gc.get_threshold() == heap.THRESHOLDS
        kept = [[i] for i in range(1000)]  # long-lived state built by a phase
        heap.settle()
        assert gc.get_freeze_count() >= len(kept)  # exempt from later full collections
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0  # handed back: a later run starts as this one did


def test_an_error_inside_still_restores_the_policy() -> None:
    before = gc.get_threshold()

    def run() -> None:
        with heap.collector():
            heap.settle()
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        run()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_a_run_settles_its_phases_under_the_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A whole (short) run: each phase that builds long-lived state is settled while the raised
    thresholds are in force, and the process's policy is back afterwards."""
    scenario = load(SCENARIOS / "small-group.toml")
    scenario = replace(scenario, duration=60.0, settle=30.0)
    seen: list[tuple[tuple[int, int, int], int]] = []
    real = heap.settle

    def settle() -> None:
        real()
        seen.append((gc.get_threshold(), gc.get_freeze_count()))

    monkeypatch.setattr(heap, "settle", settle)
    before = gc.get_threshold()
    sim = runtime.Simulation(scenario, plan(scenario, 1), tmp_path / "work", history=tmp_path / "history.jsonl")
    try:
        runtime.run_in_trio(sim)
    finally:
        sim.history.close()
    assert len(seen) == 2  # nodes and members up; groups formed
    assert all(threshold == heap.THRESHOLDS and frozen > 0 for threshold, frozen in seen)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
