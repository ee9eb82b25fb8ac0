"""Run a scenario with a seed and write its results.

``DIR/plan.json``      the seed, the scenario's resolved options and everything drawn from the seed
``DIR/history.jsonl``  every event of the run (see ``history.py``): the raw output, streamed to disk
                       as the run goes; the metrics and checks read it back
``DIR/metrics.json``   figures (virtual time) and the checkers' verdicts
``DIR/*.csv``          latency per delivery, convergence samples, traffic per host, refusals
``DIR/*.png``          latency CDF, convergence over time, traffic per node
``DIR/timing.json``    wall time and peak memory
``DIR/phases.jsonl``   how far the run got, as it goes: each phase's progress, CPU and memory (see
                       ``phases.py``; a run stopped early still says where it was)

Everything but ``timing.json`` and ``phases.jsonl`` is byte-identical for the same scenario, seed and code.
"""

from __future__ import annotations

import json
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from holdspace.simulations import checkers, metrics, plots
from holdspace.simulations.phases import Phases
from holdspace.simulations.runtime import Simulation, new_directory, remove_directory, run_in_trio
from holdspace.simulations.scenario import Plan, Scenario, describe, plan


@dataclass
class RunResult:
    seed: int
    ok: bool  # every safety and liveness check passed
    metrics: dict[str, Any]
    wall_s: float
    simulated_s: float
    peak_rss_mb: float

    @property
    def speedup(self) -> float:
        return self.simulated_s / self.wall_s if self.wall_s else float("inf")


def evidence(sim: Simulation) -> checkers.Evidence:
    honest = {k for k in sim.entry_authors if k not in sim.adversary_keys}
    signed: set[bytes] = set()
    for m in sim.members:
        signed |= m.participant.signed
    removed = [
        checkers.RemovedMember(m.key, m.record.keys, m.record.group_id)
        for m, _t in sim.removed
        if m.record is not None and m.record.keys is not None
    ]
    return checkers.Evidence(
        stores=sim.final,
        honest_authors=honest,
        signed=signed,
        removed=removed,
        excluding=sim.sent_excluding,
        equivocators=sim.equivocators,
        proofs=sim.proofs,
        penalties=sim.penalties,
    )


def banner(scenario: Scenario, the_plan: Plan) -> str:
    """What a run prints first: the seed and every option derived from it."""
    faults = [f"{f.kind}@{f.at:g}s" + (f"-{f.end:g}s" if f.end is not None else "") for f in the_plan.faults]
    return (
        f"scenario {scenario.name} seed {the_plan.seed}: {scenario.nodes} nodes, {scenario.groups} groups x "
        f"{_sizes(scenario, the_plan)} members, {scenario.duration:g} s of traffic, "
        f"settle bound {scenario.settle:g} s; "
        f"faults: {', '.join(faults) or 'none'}; adversaries: "
        f"{', '.join(a.kind for a in the_plan.adversaries) or 'none'} (full plan in plan.json)"
    )


def _sizes(scenario: Scenario, the_plan: Plan) -> str:
    if scenario.group_sizes == "fixed" or not the_plan.group_sizes:
        return str(scenario.members)
    sizes = the_plan.group_sizes
    return f"{min(sizes)}..{max(sizes)} ({scenario.group_sizes}, {sum(sizes)} in all)"


def run_scenario(
    scenario: Scenario,
    seed: int,
    out: Path,
    *,
    progress: Callable[[float], None] | None = None,
    draw: bool = True,
) -> RunResult:
    out.mkdir(parents=True, exist_ok=True)
    phases = Phases(out / "phases.jsonl")
    try:
        return _run(scenario, seed, out, phases, progress, draw)
    finally:
        phases.close()


def _run(
    scenario: Scenario,
    seed: int,
    out: Path,
    phases: Phases,
    progress: Callable[[float], None] | None,
    draw: bool,
) -> RunResult:
    the_plan = plan(scenario, seed)
    phases.note("plan", len(the_plan.members), len(the_plan.members))
    (out / "plan.json").write_text(
        json.dumps({"scenario": describe(scenario), "plan": the_plan.to_json()}, indent=2, sort_keys=True) + "\n",
        encoding="utf-8",
    )
    workdir = new_directory()
    try:
        sim = Simulation(scenario, the_plan, workdir, progress, history=out / "history.jsonl", phases=phases)
        started = time.perf_counter()
        try:
            run_in_trio(sim)
        finally:
            sim.history.close()
        wall = time.perf_counter() - started
        phases.note("stopped", 1, 1)
    finally:
        remove_directory(workdir)
    digest = metrics.Digest.read(out / "history.jsonl", out / "latency.csv")
    phases.note("history_read", 1, 1)
    ev = evidence(sim)
    violations = {name: check(ev) for name, check in checkers.SAFETY.items()}
    faults_end = digest.t0 + the_plan.faults_end
    took, liveness = checkers.convergence(digest.samples, faults_end, scenario.settle)
    violations["converged"] = liveness
    violations["fork_proven"] = checkers.fork_proven(ev)
    violations["not_penalised"] = checkers.not_penalised(ev)
    traffic = {str(k): v for k, v in sim.wire.traffic.items()}
    nodes = scenario.node_names
    figures = metrics.compute(
        digest,
        traffic,
        nodes,
        convergence_s=took,
        violations=violations,
        group_sizes=the_plan.group_sizes,
    )
    figures["equivocating_authors"] = sum(len(a) for a in sim.equivocators.values())
    figures["ok"] = not any(violations.values())
    figures["seed"] = seed
    figures["scenario"] = scenario.name
    metrics.write(out, figures, digest, traffic)
    phases.note("checked", 1, 1, ok=figures["ok"])
    if draw:
        plots.write(out, digest, traffic, nodes, scenario.name)
    simulated = digest.last_t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = RunResult(seed, figures["ok"], figures, wall, simulated, peak)
    timing = {"wall_s": round(wall, 3), "simulated_s": simulated, "speedup": round(result.speedup, 2)}
    timing["setup_wall_s"] = round(sim.setup_wall_s, 3)  # forming the groups, before traffic
    timing["peak_rss_mb"] = round(peak, 1)
    (out / "timing.json").write_text(json.dumps(timing, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return result
