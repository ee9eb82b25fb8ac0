"""Scenario files: every shipped one loads; every mistake is refused with sim.bad_scenario and a
sentence naming the key; a seed determines the whole plan."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from holdspace.simulations.cli import SCENARIOS
from holdspace.simulations.scenario import ScenarioError, duration, load, parse, plan

SHIPPED = sorted(SCENARIOS.glob("*.toml"))


def test_the_shipped_scenarios_are_there() -> None:
    names = {p.stem for p in SHIPPED}
    shipped = {"small-group", "hundred-communities", "partition-heal", "lossy-mobile", "byzantine-node"}
    assert shipped | {"fork-partition"} <= names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_scenario_loads_and_plans(path: object) -> None:
    scenario = load(path)  # type: ignore[arg-type]
    the_plan = plan(scenario, 1)
    assert scenario.description
    assert len(the_plan.members) == scenario.groups * scenario.members
    assert all(0 <= f.at <= scenario.duration for f in the_plan.faults)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("nodez = 3", "unknown key 'nodez'"),
        ("[nodes]\ncount = 0", "nodes.count"),
        ("[nodes]\ncount = 'three'", "nodes.count"),
        ("duration = '10 minutes'", "duration"),
        ("duration = true", "duration"),
        ("[network.federation]\nloss = 0.9", "network.federation.loss"),
        ("[network.clients]\ndistribution = 'pareto'", "distribution"),
        ("[groups]\ncount = 5000\nmembers = 50", "over the limit"),
        ("[traffic]\nmessage_bytes = [500, 10]", "traffic.message_bytes"),
        ("[[faults]]\nkind = 'meteor'\nat = 1", "faults[0].kind"),
        ("[[faults]]\nkind = 'partition'\nat = '1m'", "faults[0].until is required"),
        ("[[faults]]\nkind = 'partition'\nat = '1m'\nuntil = '2m'\nsides = [['n9']]", "'n9' is not a node"),
        ("[[faults]]\nkind = 'crash'\nat = '9m'\nuntil = '2m'", "at <= until <= duration"),
        ("[[adversaries]]\nkind = 'forger'", "node is required"),
        ("[[adversaries]]\nkind = 'equivocator'\ntwin = 'genesis'", "adversaries[0].twin"),
        ("[[adversaries]]\nkind = 'flooder'\nnode = 'n0'\ntwin = 'control'", "for an equivocator only"),
        ("[nodes]\ncount = 1\n[random_faults]\npartitions = 1", "at least 2 nodes"),
        ("this is not toml", "not valid TOML"),
    ],
)
def test_mistakes_are_refused_with_a_sentence(text: str, needle: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse("duration = '5m'\n" + text if not text.startswith("duration") else text)
    assert caught.value.code == "sim.bad_scenario"
    assert needle in caught.value.message


def test_research_scale_is_within_the_limits() -> None:
    """10,000 community nodes with 100,000 members (the scale benchmark's largest run) is a scenario."""
    scenario = parse("[nodes]\ncount = 10000\n[groups]\ncount = 10000\nmembers = 10\nremote_fraction = 0.3\n")
    assert (scenario.nodes, scenario.groups * scenario.members) == (10_000, 100_000)


@given(h=st.integers(0, 48), m=st.integers(0, 59), s=st.integers(0, 59))
def test_durations_read_as_written(h: int, m: int, s: int) -> None:
    text = (f"{h}h" if h else "") + (f"{m}m" if m else "") + (f"{s}s" if s or not (h or m) else "")
    assert duration(text, "k") == h * 3600 + m * 60 + s
    assert duration(h * 3600 + m * 60 + s, "k") == h * 3600 + m * 60 + s


def test_a_seed_fixes_the_whole_plan_and_other_seeds_differ() -> None:
    scenario = load(SCENARIOS / "hundred-communities.toml")
    a, b, c = plan(scenario, 5), plan(scenario, 5), plan(scenario, 6)
    assert a.to_json() == b.to_json()
    assert a.to_json() != c.to_json()
    drawn = [f for f in a.faults if f.kind in ("partition", "crash")]
    assert len(drawn) == 4
    low, high = scenario.random_window
    assert all(low <= f.at <= (f.end or f.at) <= high for f in drawn)
    assert a.faults_end == max(f.end or f.at for f in drawn)
