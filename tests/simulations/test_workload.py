"""Workloads that look like support groups: each knob has the effect its documentation states.

Weekly sessions bring bursts and check-ins with quiet days between; the diurnal factor follows each
member's time zone and keeps the daily total; group sizes and communities' sizes are heavy-tailed
when asked; mobile members are on mobile links and come and go."""

from __future__ import annotations

import json
import random
import statistics
from collections import Counter
from pathlib import Path

import pytest

from holdspace.simulations.run import run_scenario
from holdspace.simulations.runtime import Simulation
from holdspace.simulations.scenario import MOBILE_LINK, ScenarioError, parse, plan
from holdspace.simulations.workload import Activity, Diurnal, Sessions, attendance

HOUR = 3600.0


def arrivals(activity: Activity, until: float, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    out: list[float] = []
    t: float | None = 0.0
    while (t := activity.next_arrival(rng, t, until)) is not None:  # type: ignore[arg-type]
        out.append(t)
    return out


def test_sessions_are_bursts_with_quiet_time_between() -> None:
    sessions = Sessions(every=HOUR, length=600, start=300, rate=60)
    times = arrivals(Activity(2.0, sessions, Diurnal()), 200 * HOUR)
    inside = [t for t in times if sessions.inside(t)]
    outside = len(times) - len(inside)
    assert 0.85 < len(inside) / (200 * 10 * 60 / 60) < 1.15  # 60 an hour for 10 minutes of each hour
    assert 0.8 < outside / (200 * 50 / 60 * 2) < 1.2  # 2 an hour for the other 50 minutes
    assert not any(t < 300 and sessions.inside(t) for t in times)  # nothing counted before the first


def test_a_member_who_skips_a_session_posts_at_the_quiet_rate_through_it() -> None:
    sessions = Sessions(every=HOUR, length=1800, start=0, rate=120, attendance=0.5)
    attends = attendance(7, "g0m1", sessions, 400 * HOUR)
    assert 150 < sum(attends) < 250 and len(attends) == 400
    times = arrivals(Activity(1.0, sessions, Diurnal(), attends), 400 * HOUR)
    per_session = Counter(sessions.index(t) for t in times if sessions.inside(t))
    skipped = [per_session[k] for k, a in enumerate(attends) if not a]
    attended = [per_session[k] for k, a in enumerate(attends) if a]
    assert statistics.mean(attended) > 40 and statistics.mean(skipped) < 1.5


def test_diurnal_activity_follows_the_member_s_time_zone_and_keeps_the_daily_total() -> None:
    days = 30
    for zone in (0.0, 9.0):
        diurnal = Diurnal(amplitude=1.0, peak_hour=20, zone=zone, hour_at_start=0.0)
        times = arrivals(Activity(10.0, Sessions(), diurnal), days * 24 * HOUR, seed=int(zone))
        assert 0.9 < len(times) / (days * 24 * 10) < 1.1  # the amplitude moves messages, it adds none
        local = Counter(int((t / HOUR + zone) % 24) for t in times)
        evening = sum(local[h] for h in (18, 19, 20, 21))
        morning = sum(local[h] for h in (6, 7, 8, 9))
        assert evening > 8 * morning
    flat = arrivals(Activity(10.0, Sessions(), Diurnal()), days * 24 * HOUR)
    assert 0.9 < len(flat) / (days * 24 * 10) < 1.1


def scenario(extra: str, groups: int = 200, nodes: int = 50, members: int = 5) -> str:
    return f"[nodes]\ncount = {nodes}\n[groups]\ncount = {groups}\nmembers = {members}\n" + extra


def test_group_sizes_are_heavy_tailed_when_asked() -> None:
    fixed = plan(parse(scenario("")), 1).group_sizes
    assert fixed == [5] * 200
    pareto = plan(parse(scenario('sizes = "pareto"\n')), 1).group_sizes
    assert min(pareto) >= 5 and max(pareto) >= 8 * statistics.median(pareto)
    lognormal = plan(parse(scenario('sizes = "lognormal"\nsize_sigma = 1.0\nmax_members = 40\n')), 1).group_sizes
    assert 3 <= statistics.median(lognormal) <= 7 and max(lognormal) == 40 and min(lognormal) <= 2
    the_plan = plan(parse(scenario('sizes = "pareto"\n')), 1)
    assert len(the_plan.members) == sum(pareto)  # every drawn member is planned
    with pytest.raises(ScenarioError, match="over the limit of 200000"):
        plan(parse(scenario('sizes = "pareto"\n', groups=2000, members=150)), 1)


def test_communities_sizes_are_heavy_tailed_with_zipf() -> None:
    even = Counter(m.home for m in plan(parse(scenario("")), 1).members)
    assert max(even.values()) < 3 * statistics.median(even.values())
    the_plan = plan(parse(scenario("").replace("[groups]", 'communities = "zipf"\n[groups]')), 1)
    zipf = Counter(m.home for m in the_plan.members)
    assert zipf["n0"] > 8 * statistics.median(zipf.values())
    assert zipf["n0"] > zipf["n1"] > zipf["n10"]


def test_time_zones_are_shared_in_a_group_as_documented() -> None:
    zones = "[diurnal]\namplitude = 0.5\ntimezones = [-5, 0, 9]\n"
    local = plan(parse(scenario(zones)), 1)
    for g in range(200):
        assert len({m.zone for m in local.members if m.group == g}) == 1
    assert {m.zone for m in local.members} == {-5.0, 0.0, 9.0}
    mixed = plan(parse(scenario(zones + "group_local = 0.0\n")), 1)
    assert sum(len({m.zone for m in mixed.members if m.group == g}) > 1 for g in range(200)) > 150


def test_mobile_members_are_on_mobile_links(tmp_path: Path) -> None:
    the_scenario = parse(scenario("[mobile]\nfraction = 0.3\n"))
    the_plan = plan(the_scenario, 1)
    mobile = [m for m in the_plan.members if m.mobile]
    assert all(m.index > 0 for m in mobile)  # never the facilitator
    assert 0.2 < len(mobile) / (200 * 4) < 0.4
    sim = Simulation(the_scenario, the_plan, tmp_path)
    phone = next(f"g{m.group}m{m.index}" for m in mobile)
    desk = next(f"g{m.group}m{m.index}" for m in the_plan.members if not m.mobile)
    assert sim._link_for(phone, "n0") == MOBILE_LINK == sim._link_for("n3", phone)
    assert sim._link_for(desk, "n0") == the_scenario.client_link != MOBILE_LINK


def test_a_run_with_sessions_check_ins_and_mobile_members(tmp_path: Path) -> None:
    text = """
duration = "20m"
settle = "1m"
sample_interval = "1m"
[nodes]
count = 2
[groups]
count = 1
members = 4
[traffic]
messages_per_member_hour = 1
[sessions]
every = "10m"
length = "3m"
start = "1m"
messages_per_member_hour = 40
checkin_window = "1m"
[mobile]
fraction = 0.5
mean_online = "4m"
mean_offline = "1m"
"""
    result = run_scenario(parse(text, "sessions.toml"), 3, tmp_path, draw=False)
    assert result.ok, result.metrics["violations"]
    history = [json.loads(line) for line in (tmp_path / "history.jsonl").read_text().splitlines()]
    t0 = next(e["t"] for e in history if e["ev"] == "traffic_start")
    sent = [e for e in history if e["ev"] == "sent"]
    sessions = Sessions(every=600, length=180, start=60)
    inside = [e for e in sent if sessions.inside(e["started"] - t0)]
    assert len(inside) > 0.8 * len(sent) and len(sent) >= 20
    checkins = [e for e in sent if e.get("checkin")]
    assert 4 <= len(checkins) <= 8 and result.metrics["messages"]["checkins"] == len(checkins)
    assert all(sessions.inside(e["started"] - t0) for e in checkins)  # in the session's first minute
    plan_members = json.loads((tmp_path / "plan.json").read_text())["plan"]["members"]
    mobile = {f"g{g}m{i}" for g, i, _home, _churns, _zone, is_mobile in plan_members if is_mobile}
    away = {e["member"] for e in history if e["ev"] == "offline"}
    assert mobile and away and away <= mobile  # only mobile members come and go here
