"""Whole runs through ``holdspace sim run``: reproducible to the byte, 50 seeds of faults that all
converge, hostile participants that change nothing honest nodes hold."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from holdspace.simulations.cli import SCENARIOS

HERE = Path(__file__).parent
HOLDSPACE = [sys.executable, "-m", "holdspace"]
REPRODUCIBLE = [
    "plan.json",
    "history.jsonl",
    "metrics.json",
    "latency.csv",
    "convergence.csv",
    "traffic.csv",
    "rejected.csv",
    "latency_cdf.png",
    "convergence.png",
    "traffic.png",
]


def sim(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HOLDSPACE, "sim", "run", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **(env or {})},
        check=False,
    )


def short(tmp_path: Path, name: str, **changes: str) -> Path:
    """A shipped scenario with some top-level keys changed (to keep test runs short)."""
    lines = (SCENARIOS / f"{name}.toml").read_text().splitlines()
    for key, value in changes.items():
        lines = [f"{key} = {value}" if line.startswith(f"{key} =") else line for line in lines]
    path = tmp_path / f"{name}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_the_same_seed_gives_byte_identical_results(tmp_path: Path) -> None:
    scenario = short(tmp_path, "partition-heal", duration='"31m"')
    runs = []
    for i, hash_seed in enumerate(("1", "2")):  # even Python's hash randomisation changes nothing
        out = tmp_path / f"run{i}"
        done = sim(str(scenario), "--seed", "7", "--out", str(out), env={"PYTHONHASHSEED": hash_seed})
        assert done.returncode == 0, done.stderr
        assert "seed 7" in done.stdout  # every run prints its seed
        runs.append(out)
    for name in REPRODUCIBLE:
        assert (runs[0] / name).read_bytes() == (runs[1] / name).read_bytes(), name
    other = tmp_path / "other"
    assert sim(str(scenario), "--seed", "8", "--out", str(other), "--no-plots").returncode == 0
    assert (other / "history.jsonl").read_bytes() != (runs[0] / "history.jsonl").read_bytes()
    history = [json.loads(line) for line in (runs[0] / "history.jsonl").read_text().splitlines()]
    assert {"partition", "heal", "removed", "sent", "delivered", "stored", "sample"} <= {e["ev"] for e in history}
    # every member still in the group opened every message it was given (the pin quoted to the
    # newcomers, which has no text, included)
    assert json.loads((runs[0] / "metrics.json").read_text())["messages"]["undecryptable"] == 0


def test_a_sweep_of_partitions_crashes_and_loss_all_converge(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Twenty seeds (fifty with ``--runslow``) of the chaos scenario, on two processes."""
    last = 50 if request.config.getoption("--runslow") else 20
    out = tmp_path / "sweep"
    done = sim(str(HERE / "chaos.toml"), "--seed", f"1-{last}", "--jobs", "2", "--out", str(out), "--no-plots")
    assert done.returncode == 0, done.stdout + done.stderr
    rows = json.loads((out / "sweep.json").read_text())
    assert [r["seed"] for r in rows] == list(range(1, last + 1))
    assert all(r["ok"] for r in rows)
    faults = 0
    for seed in (1, last // 2, last):
        metrics = json.loads((out / f"seed-{seed}" / "metrics.json").read_text())
        plan = json.loads((out / f"seed-{seed}" / "plan.json").read_text())["plan"]
        assert {f["kind"] for f in plan["faults"]} >= {"partition", "crash", "remove"}
        assert metrics["convergence_after_faults_s"] is not None
        assert metrics["convergence_after_faults_s"] <= 240
        assert all(v == 0 for v in metrics["safety"].values())
        faults += len(plan["faults"])
    assert faults >= 15


def test_a_byzantine_node_and_an_equivocator_change_nothing_honest_nodes_hold(tmp_path: Path) -> None:
    out = tmp_path / "byz"
    done = sim(str(SCENARIOS / "byzantine-node.toml"), "--seed", "1", "--out", str(out), "--no-plots")
    assert done.returncode == 0, done.stdout + done.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert all(v == 0 for v in metrics["safety"].values())
    refused = metrics["rejected_from_peers_by_code"]
    assert refused.get("entry.bad_signature", 0) > 0  # forged signatures, caught by every puller
    assert refused.get("group.not_member", 0) > 0  # non-members' entries
    assert refused.get("proto.malformed_frame", 0) > 0  # the flood
    assert metrics["equivocating_authors"] >= 1  # and every honest host proved it (fork_proven)
    history = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    assert sum(1 for e in history if e["ev"] == "attack") > 50
    # members homed on honest nodes keep talking (those on n4 are served forgeries, which they refuse)
    assert metrics["messages"]["deliveries"] > 0.8 * metrics["messages"]["deliveries_expected_at_most"]


def test_bad_scenarios_and_seeds_are_refused_with_their_codes(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[nodes]\ncount = -1\n")
    done = sim(str(bad))
    assert done.returncode == 1
    assert "error: sim.bad_scenario: nodes.count" in done.stderr
    done = sim("no-such-scenario")
    assert done.returncode == 1 and "shipped scenarios: " in done.stderr
    done = sim("small-group", "--seed", "x-y")
    assert done.returncode == 1 and "sim.bad_seeds" in done.stderr


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(p.stem for p in SCENARIOS.glob("*.toml")))
def test_every_shipped_scenario_passes_its_checks(tmp_path: Path, name: str) -> None:
    done = sim(name, "--seed", "1", "--out", str(tmp_path / name))
    assert done.returncode == 0, done.stdout + done.stderr


def test_forks_raced_across_a_partition_split_nobody(tmp_path: Path) -> None:
    """Twin control entries and twin messages raced to two hosts while the network is split: every
    honest host ends with every honest author's log and the same group state, nobody is penalised."""
    out = tmp_path / "forks"
    done = sim(str(SCENARIOS / "fork-partition.toml"), "--seed", "1", "--out", str(out), "--no-plots")
    assert done.returncode == 0, done.stdout + done.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert all(v == 0 for v in metrics["safety"].values()), metrics["violations"]
    assert metrics["safety"]["not_penalised"] == 0 and metrics["safety"]["converged"] == 0
    assert metrics["equivocating_authors"] == 2  # one with twin erase entries, one with twin messages
    plan = json.loads((out / "plan.json").read_text())["plan"]
    assert {a["twin"] for a in plan["adversaries"]} == {"control", "message"}
