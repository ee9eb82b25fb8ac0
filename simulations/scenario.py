"""Scenario files: what a simulation run sets up, which faults it injects, what it measures.

The schema is documented in ``simulations/README.md``; this module is its only reader. Every value
is checked: a bad file raises :class:`ScenarioError` (code ``sim.bad_scenario``) with a sentence
naming the key, never a traceback. Durations are numbers of seconds or strings such as ``"90s"``,
``"15m"``, ``"1h"``, ``"1h30m"``.

:func:`plan` turns a scenario and a seed into a :class:`Plan`: every random choice (home nodes,
fault times, partition sides, crashed nodes) is drawn here, from the seed alone, and the plan is
written next to the results, so a run can be read and replayed without the code that drew it.
"""

from __future__ import annotations

import bisect
import random
import re
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Final

from holdspace.protocol.errors import HoldspaceError
from holdspace.simulations.network import LinkSpec
from holdspace.simulations.workload import group_size, zipf_weights

MAX_NODES: Final = 20_000
MAX_GROUPS: Final = 20_000
MAX_MEMBERS_PER_GROUP: Final = 200
MAX_MEMBERS: Final = 200_000
MAX_DURATION: Final = 7 * 86_400.0
MAX_FAULTS: Final = 1000


class ScenarioError(HoldspaceError):
    family = "sim"


def _bad(message: str) -> ScenarioError:
    return ScenarioError("sim.bad_scenario", message)


_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?(?:(\d+)ms)?$")


def duration(value: object, key: str) -> float:
    """Seconds from ``12``, ``12.5``, ``"90s"``, ``"15m"``, ``"1h30m"``, ``"250ms"``."""
    if isinstance(value, bool):
        raise _bad(f"{key}: a duration is a number of seconds or a string like '15m', not {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and value and (m := _DURATION.match(value.strip())) and any(m.groups()):
        h, mi, s, ms = (float(g) if g else 0.0 for g in m.groups())
        seconds = h * 3600 + mi * 60 + s + ms / 1000
    else:
        raise _bad(f"{key}: a duration is a number of seconds or a string like '15m', not {value!r}")
    if not (0 <= seconds <= MAX_DURATION):
        raise _bad(f"{key}: {seconds:g} s is outside [0, {MAX_DURATION:g}] s")
    return seconds


class _Table:
    """Typed access to one TOML table; unknown keys are refused (a typo must not pass silently)."""

    def __init__(self, data: object, path: str) -> None:
        if not isinstance(data, dict):
            raise _bad(f"{path or 'the file'} must be a table")
        self.data: dict[str, Any] = data
        self.path = path
        self.used: set[str] = set()

    def _key(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def get(self, key: str, default: Any) -> Any:
        self.used.add(key)
        return self.data.get(key, default)

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        value = self.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not (low <= value <= high):
            raise _bad(f"{self._key(key)} must be an integer in [{low}, {high}], not {value!r}")
        return value

    def number(self, key: str, default: float, low: float, high: float) -> float:
        value = self.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not (low <= value <= high):
            raise _bad(f"{self._key(key)} must be a number in [{low:g}, {high:g}], not {value!r}")
        return float(value)

    def text(self, key: str, default: str, choices: tuple[str, ...] | None = None) -> str:
        value = self.get(key, default)
        if not isinstance(value, str) or (choices is not None and value not in choices):
            allowed = f" (one of {', '.join(choices)})" if choices else ""
            raise _bad(f"{self._key(key)} must be a string{allowed}, not {value!r}")
        return value

    def seconds(self, key: str, default: float | str | None) -> float | None:
        value = self.get(key, default)
        return None if value is None else duration(value, self._key(key))

    def table(self, key: str) -> _Table:
        return _Table(self.get(key, {}), self._key(key))

    def tables(self, key: str) -> list[_Table]:
        value = self.get(key, [])
        if not isinstance(value, list):
            raise _bad(f"{self._key(key)} must be an array of tables ([[{self._key(key)}]])")
        return [_Table(item, f"{self._key(key)}[{i}]") for i, item in enumerate(value)]

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise _bad(f"unknown key {self._key(unknown[0])!r} (see simulations/README.md for the schema)")


def _link(table: _Table, default: LinkSpec) -> LinkSpec:
    spec = LinkSpec(
        latency_ms=table.number("latency_ms", default.latency_ms, 0.001, 60_000),
        jitter_ms=table.number("jitter_ms", default.jitter_ms, 0, 60_000),
        distribution=table.text("distribution", default.distribution),
        bandwidth_mbps=table.number("bandwidth_mbps", default.bandwidth_mbps, 0.001, 100_000),
        loss=table.number("loss", default.loss, 0, 0.5),
        reorder=table.number("reorder", default.reorder, 0, 1),
        reorder_ms=table.number("reorder_ms", default.reorder_ms, 0, 60_000),
    )
    table.done()
    problem = spec.validate()
    if problem:
        raise _bad(f"{table.path}: {problem}")
    return spec


FAULT_KINDS: Final = ("partition", "crash", "loss", "remove")
ADVERSARY_KINDS: Final = ("forger", "flooder", "equivocator")
TWIN_KINDS: Final = ("message", "control")  # what an equivocator signs twice
FEDERATION_LINK: Final = LinkSpec(latency_ms=25.0, jitter_ms=8.0, distribution="lognormal", bandwidth_mbps=100.0)
CLIENT_LINK: Final = LinkSpec(latency_ms=30.0, jitter_ms=10.0, distribution="lognormal", bandwidth_mbps=20.0)
MOBILE_LINK: Final = LinkSpec(latency_ms=60.0, jitter_ms=30.0, distribution="lognormal", bandwidth_mbps=5.0, loss=0.01)
GROUP_SIZES: Final = ("fixed", "lognormal", "pareto")
COMMUNITIES: Final = ("even", "zipf")


@dataclass(frozen=True)
class Fault:
    """One fault, as written or as drawn from the seed (times in seconds of simulated time).

    partition: ``sides`` (node names) or ``split`` (fraction of nodes cut off, drawn), until ``end``.
    crash: ``node`` (a name, or drawn), restarted at ``end`` (never, if ``end`` is None).
    loss: federation links lose ``loss`` of their packets until ``end``.
    remove: a facilitator removes a member of ``group`` (drawn) at ``at``.
    """

    kind: str
    at: float
    end: float | None = None
    sides: tuple[tuple[str, ...], ...] = ()
    node: str | None = None
    loss: float = 0.0
    group: int = 0
    member: int | None = None


@dataclass(frozen=True)
class Adversary:
    """A misbehaving participant of the network, active from ``at`` to ``end``.

    forger: node ``node`` offers its peers entries with forged signatures, tampered payloads and
    entries of non-members, ``rate`` per minute. flooder: node ``node`` sends its peers malformed
    frames, ``rate`` per minute. equivocator: a member of ``group`` signs two different entries at
    one log position and publishes one to each of two hosts, ``rate`` per minute; ``twin`` says
    what it signs twice: ``message``, or ``control`` (two erase entries, which the group's control
    log and every honest author's next control entry then depend on).
    """

    kind: str
    at: float
    end: float
    rate: float
    node: str | None = None
    group: int = 0
    twin: str = "message"


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    nodes: int
    groups: int
    members: int  # per group, the facilitator included
    remote_fraction: float  # members whose home node is not the facilitator's
    duration: float  # seconds of traffic after setup
    settle: float  # liveness bound: honest nodes converge within this after the last fault ends
    sample_interval: float
    messages_per_member_hour: float
    message_bytes: tuple[int, int]
    federation_link: LinkSpec
    client_link: LinkSpec
    churn_fraction: float
    mean_online: float
    mean_offline: float
    faults: tuple[Fault, ...] = ()
    random_partitions: int = 0
    random_crashes: int = 0
    random_window: tuple[float, float] = (0.0, 0.0)
    random_max_fault: float = 0.0
    adversaries: tuple[Adversary, ...] = ()
    source: str = ""
    # workloads (see workload.py and the README): defaults leave them off
    group_sizes: str = "fixed"  # fixed | lognormal | pareto
    size_sigma: float = 0.7  # lognormal: sigma of log(size / members)
    size_alpha: float = 1.5  # pareto: tail index (members is the minimum)
    max_members: int = MAX_MEMBERS_PER_GROUP  # drawn sizes are capped here
    communities: str = "even"  # even: group g on node g mod count; zipf: nodes weighted 1/(k+1)^s
    zipf_s: float = 1.0
    sessions_every: float = 0.0  # weekly sessions: seconds between starts (0: none)
    sessions_length: float = 3600.0
    sessions_start: float | None = None  # first start after traffic starts (None: drawn per group)
    sessions_rate: float = 30.0  # messages per member-hour during a session
    checkin: bool = True
    checkin_window: float = 300.0
    attendance: float = 1.0
    diurnal_amplitude: float = 0.0
    peak_hour: float = 20.0
    timezones: tuple[float, ...] = (0.0,)
    group_local: float = 1.0  # share of a group's members in its facilitator's time zone
    mobile_fraction: float = 0.0
    mobile_online: float = 900.0
    mobile_offline: float = 1800.0
    mobile_link: LinkSpec = MOBILE_LINK

    @property
    def node_names(self) -> list[str]:
        return [f"n{i}" for i in range(self.nodes)]


def load(path: str | Path) -> Scenario:
    """Read and check a scenario file. Raises :class:`ScenarioError`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError("sim.bad_scenario", f"cannot read {path}: {exc.strerror}") from exc
    return parse(text, str(path))


def parse(text: str, source: str = "<scenario>") -> Scenario:
    return from_data(toml_data(text, source), source)


def toml_data(text: str, source: str = "<scenario>") -> dict[str, Any]:
    """The TOML tables of a scenario file, unchecked (a study edits them before :func:`from_data`)."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _bad(f"{source} is not valid TOML: {exc}") from exc


def from_data(data: dict[str, Any], source: str = "<scenario>") -> Scenario:
    """Check a scenario's TOML tables (see :func:`parse`). Raises :class:`ScenarioError`."""
    top = _Table(data, "")
    name = top.text("name", Path(source).stem)
    description = top.text("description", "")
    duration_s = top.seconds("duration", "10m")
    settle = top.seconds("settle", "5m")
    sample = top.seconds("sample_interval", "10s")
    assert duration_s is not None and settle is not None and sample is not None
    if sample <= 0:
        raise _bad("sample_interval must be positive")

    nodes_t = top.table("nodes")
    n_nodes = nodes_t.integer("count", 3, 1, MAX_NODES)
    communities = nodes_t.text("communities", "even", COMMUNITIES)
    zipf_s = nodes_t.number("zipf_s", 1.0, 0, 5)
    nodes_t.done()
    groups_t = top.table("groups")
    n_groups = groups_t.integer("count", 1, 1, MAX_GROUPS)
    members = groups_t.integer("members", 5, 1, MAX_MEMBERS_PER_GROUP)
    remote = groups_t.number("remote_fraction", 0.5, 0, 1)
    group_sizes = groups_t.text("sizes", "fixed", GROUP_SIZES)
    size_sigma = groups_t.number("size_sigma", 0.7, 0, 5)
    size_alpha = groups_t.number("size_alpha", 1.5, 0.1, 10)
    max_members = groups_t.integer("max_members", MAX_MEMBERS_PER_GROUP, 1, MAX_MEMBERS_PER_GROUP)
    groups_t.done()
    if members > max_members:
        raise _bad(f"groups.members ({members}) is over groups.max_members ({max_members})")
    if group_sizes == "fixed" and n_groups * members > MAX_MEMBERS:
        raise _bad(f"groups.count x groups.members = {n_groups * members} is over the limit of {MAX_MEMBERS}")

    traffic = top.table("traffic")
    rate = traffic.number("messages_per_member_hour", 6, 0, 3600)
    sizes = traffic.get("message_bytes", [20, 400])
    if not (
        isinstance(sizes, list)
        and len(sizes) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in sizes)
        and 1 <= sizes[0] <= sizes[1] <= 60_000
    ):
        raise _bad(f"traffic.message_bytes must be [low, high] with 1 <= low <= high <= 60000, not {sizes!r}")
    traffic.done()

    network = top.table("network")
    fed_link = _link(network.table("federation"), FEDERATION_LINK)
    client_link = _link(network.table("clients"), CLIENT_LINK)
    mobile_link = _link(network.table("mobile"), MOBILE_LINK)
    network.done()

    churn = top.table("churn")
    churn_fraction = churn.number("fraction", 0, 0, 1)
    mean_online = churn.seconds("mean_online", "10m")
    mean_offline = churn.seconds("mean_offline", "5m")
    assert mean_online is not None and mean_offline is not None
    if churn_fraction and (mean_online <= 0 or mean_offline <= 0):
        raise _bad("churn.mean_online and churn.mean_offline must be positive")
    churn.done()
    workload = _workload(top)

    names = {f"n{i}" for i in range(n_nodes)}
    faults = tuple(_fault(t, names, n_groups, duration_s) for t in top.tables("faults"))
    if len(faults) > MAX_FAULTS:
        raise _bad(f"at most {MAX_FAULTS} faults")
    rnd = top.table("random_faults")
    partitions = rnd.integer("partitions", 0, 0, MAX_FAULTS)
    crashes = rnd.integer("crashes", 0, 0, MAX_FAULTS)
    window = rnd.get("window", [0, duration_s])
    if not (isinstance(window, list) and len(window) == 2):
        raise _bad("random_faults.window must be [start, end]")
    w0, w1 = duration(window[0], "random_faults.window[0]"), duration(window[1], "random_faults.window[1]")
    if not (w0 <= w1 <= duration_s):
        raise _bad("random_faults.window must be [start, end] with start <= end <= duration")
    max_fault = rnd.seconds("max_duration", "5m")
    assert max_fault is not None
    rnd.done()
    if (partitions or crashes) and n_nodes < 2:
        raise _bad("random faults need at least 2 nodes")
    adversaries = tuple(_adversary(t, names, n_groups, duration_s) for t in top.tables("adversaries"))
    top.done()
    return Scenario(
        name=name,
        description=description,
        nodes=n_nodes,
        groups=n_groups,
        members=members,
        remote_fraction=remote,
        duration=duration_s,
        settle=settle,
        sample_interval=sample,
        messages_per_member_hour=rate,
        message_bytes=(sizes[0], sizes[1]),
        federation_link=fed_link,
        client_link=client_link,
        churn_fraction=churn_fraction,
        mean_online=mean_online,
        mean_offline=mean_offline,
        faults=faults,
        random_partitions=partitions,
        random_crashes=crashes,
        random_window=(w0, w1),
        random_max_fault=max_fault,
        adversaries=adversaries,
        source=source,
        mobile_link=mobile_link,
        group_sizes=group_sizes,
        size_sigma=size_sigma,
        size_alpha=size_alpha,
        max_members=max_members,
        communities=communities,
        zipf_s=zipf_s,
        **workload,
    )


def _workload(top: _Table) -> dict[str, Any]:
    """The ``[sessions]``, ``[diurnal]`` and ``[mobile]`` tables (``[network.mobile]`` is read with
    the other links)."""
    sessions = top.table("sessions")
    every = sessions.seconds("every", 0)
    length = sessions.seconds("length", "1h")
    start = sessions.seconds("start", None)
    rate = sessions.number("messages_per_member_hour", 30, 0, 3600)
    checkin = sessions.get("checkin", True)
    if not isinstance(checkin, bool):
        raise _bad(f"sessions.checkin must be true or false, not {checkin!r}")
    window = sessions.seconds("checkin_window", "5m")
    attendance = sessions.number("attendance", 1.0, 0, 1)
    sessions.done()
    assert every is not None and length is not None and window is not None
    if every and not (0 < length <= every):
        raise _bad("sessions.length must be positive and at most sessions.every")

    diurnal = top.table("diurnal")
    amplitude = diurnal.number("amplitude", 0.0, 0, 1)
    peak = diurnal.number("peak_hour", 20, 0, 24)
    zones = diurnal.get("timezones", [0])
    if not (
        isinstance(zones, list)
        and zones
        and len(zones) <= 48
        and all(isinstance(z, int | float) and not isinstance(z, bool) and -12 <= z <= 14 for z in zones)
    ):
        raise _bad(f"diurnal.timezones must be a list of UTC offsets in hours (-12 .. 14), not {zones!r}")
    local = diurnal.number("group_local", 1.0, 0, 1)
    diurnal.done()

    mobile = top.table("mobile")
    fraction = mobile.number("fraction", 0.0, 0, 1)
    online = mobile.seconds("mean_online", "15m")
    offline = mobile.seconds("mean_offline", "30m")
    mobile.done()
    assert online is not None and offline is not None
    if fraction and (online <= 0 or offline <= 0):
        raise _bad("mobile.mean_online and mobile.mean_offline must be positive")
    return {
        "sessions_every": every,
        "sessions_length": length,
        "sessions_start": start,
        "sessions_rate": rate,
        "checkin": checkin,
        "checkin_window": window,
        "attendance": attendance,
        "diurnal_amplitude": amplitude,
        "peak_hour": peak,
        "timezones": tuple(float(z) for z in zones),
        "group_local": local,
        "mobile_fraction": fraction,
        "mobile_online": online,
        "mobile_offline": offline,
    }


def seeds(value: object) -> list[int]:
    """Seeds from ``7``, ``"1-50"``, ``"1,4,9"`` or a list of integers: between 1 and 100,000
    non-negative seeds. Raises :class:`ScenarioError` with ``sim.bad_seeds``."""
    out: list[int] = []
    if isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        out = list(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        out = [value]
    elif isinstance(value, str):
        try:
            for part in value.split(","):
                if "-" in part.strip()[1:]:
                    a, b = part.strip().split("-", 1)
                    out.extend(range(int(a), int(b) + 1))
                else:
                    out.append(int(part))
        except ValueError:
            raise ScenarioError("sim.bad_seeds", f"seeds are N, A-B or a comma-separated list, not {value!r}") from None
    else:
        raise ScenarioError("sim.bad_seeds", f"seeds are N, A-B or a comma-separated list, not {value!r}")
    if not out or len(out) > 100_000 or any(s < 0 for s in out):
        raise ScenarioError("sim.bad_seeds", "between 1 and 100000 non-negative seeds")
    return out


def _node(table: _Table, key: str, names: set[str]) -> str | None:
    value = table.get(key, None)
    if value is None:
        return None
    if value not in names:
        raise _bad(f"{table.path}.{key}: {value!r} is not a node of this scenario (n0 .. n{len(names) - 1})")
    return str(value)


def _window(table: _Table, duration_s: float, needs_end: bool) -> tuple[float, float | None]:
    at = table.seconds("at", None)
    if at is None:
        raise _bad(f"{table.path}.at is required")
    end = table.seconds("until", None)
    if needs_end and end is None:
        raise _bad(f"{table.path}.until is required")
    if at > duration_s or (end is not None and not (at <= end <= duration_s)):
        raise _bad(f"{table.path}: at <= until <= duration is required")
    return at, end


def _fault(table: _Table, names: set[str], n_groups: int, duration_s: float) -> Fault:
    kind = table.text("kind", "", FAULT_KINDS)
    if kind == "partition":
        at, end = _window(table, duration_s, True)
        raw = table.get("sides", None)
        split = table.number("split", 0.5, 0.0, 1.0)
        sides: tuple[tuple[str, ...], ...] = ()
        if raw is not None:
            if not (isinstance(raw, list) and all(isinstance(s, list) for s in raw)):
                raise _bad(f"{table.path}.sides must be a list of lists of node names")
            for side in raw:
                for n in side:
                    if n not in names:
                        raise _bad(f"{table.path}.sides: {n!r} is not a node of this scenario")
            sides = tuple(tuple(str(n) for n in side) for side in raw)
        table.done()
        return Fault(kind, at, end, sides=sides, loss=split)
    if kind == "crash":
        at, end = _window(table, duration_s, False)
        node = _node(table, "node", names)
        table.done()
        return Fault(kind, at, end, node=node)
    if kind == "loss":
        at, end = _window(table, duration_s, True)
        loss = table.number("loss", 0.05, 0, 0.5)
        table.done()
        return Fault(kind, at, end, loss=loss)
    at, _ = _window(table, duration_s, False)
    group = table.integer("group", 0, 0, n_groups - 1)
    table.done()
    return Fault(kind, at, None, group=group)


def _adversary(table: _Table, names: set[str], n_groups: int, duration_s: float) -> Adversary:
    kind = table.text("kind", "", ADVERSARY_KINDS)
    at = table.seconds("at", 0.0)
    end = table.seconds("until", duration_s)
    assert at is not None and end is not None
    if not (at <= end <= duration_s):
        raise _bad(f"{table.path}: at <= until <= duration is required")
    rate = table.number("rate_per_min", 10, 0.01, 6000)
    node = _node(table, "node", names)
    if kind in ("forger", "flooder") and node is None:
        raise _bad(f"{table.path}.node is required for a {kind}")
    group = table.integer("group", 0, 0, n_groups - 1)
    twin = table.text("twin", "message", TWIN_KINDS)
    if twin != "message" and kind != "equivocator":
        raise _bad(f"{table.path}.twin is for an equivocator only")
    table.done()
    return Adversary(kind, at, end, rate, node=node, group=group, twin=twin)


# --------------------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class MemberPlan:
    group: int
    index: int  # 0 is the facilitator
    home: str
    churns: bool
    zone: float = 0.0  # UTC offset, hours (diurnal activity)
    mobile: bool = False  # on a mobile link, and comes and goes


@dataclass
class Plan:
    """Everything drawn from the seed. Written as ``plan.json`` by every run."""

    seed: int
    scenario: str
    members: list[MemberPlan] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    adversaries: list[Adversary] = field(default_factory=list)
    faults_end: float = 0.0  # when the last fault is over (partitions healed, crashed nodes back)
    byzantine: list[str] = field(default_factory=list)  # nodes run by an adversary
    group_sizes: list[int] = field(default_factory=list)  # members of each group, facilitator included
    session_starts: list[float] = field(default_factory=list)  # each group's first session (if sessions)

    def to_json(self) -> dict[str, Any]:
        return {
            "group_sizes": self.group_sizes,
            "session_starts_s": self.session_starts,
            "seed": self.seed,
            "scenario": self.scenario,
            "faults_end_s": self.faults_end,
            "byzantine_nodes": self.byzantine,
            "faults": [_clean(asdict(f)) for f in self.faults],
            "adversaries": [_clean(asdict(a)) for a in self.adversaries],
            "members": [[m.group, m.index, m.home, m.churns, m.zone, m.mobile] for m in self.members],
        }


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    return {k: ([list(s) for s in v] if k == "sides" else v) for k, v in d.items()}


def plan(scenario: Scenario, seed: int) -> Plan:
    """Draw every random choice of a run from ``seed`` (and nothing else)."""
    rng = random.Random(f"plan/{seed}")  # noqa: S311 - reproducible choices, not secrets
    names = scenario.node_names
    out = Plan(seed, scenario.name)
    out.group_sizes = _group_sizes(scenario, seed)
    if sum(out.group_sizes) > MAX_MEMBERS:
        raise _bad(f"the drawn group sizes add up to {sum(out.group_sizes)} members, over the limit of {MAX_MEMBERS}")
    # each workload draws from a generator of its own: with their defaults, the draws above are
    # those of a scenario without them
    places = random.Random(f"plan/{seed}/communities")  # noqa: S311
    zones = random.Random(f"plan/{seed}/zones")  # noqa: S311
    mobiles = random.Random(f"plan/{seed}/mobile")  # noqa: S311
    weights = zipf_weights(len(names), scenario.zipf_s) if scenario.communities == "zipf" else None
    for g, size in enumerate(out.group_sizes):
        home_index = g % len(names) if weights is None else _weighted(places, weights)
        facilitator_home = names[home_index]
        group_zone = zones.choice(scenario.timezones)
        for i in range(size):
            home = facilitator_home
            if i and len(names) > 1 and rng.random() < scenario.remote_fraction:
                if weights is None:  # any other node, evenly (one draw, as rng.choice of the others)
                    k = rng.randrange(len(names) - 1)
                    home = names[k if k < home_index else k + 1]
                else:
                    while home == facilitator_home:
                        home = names[_weighted(places, weights)]
            churns = i > 0 and rng.random() < scenario.churn_fraction
            zone = group_zone
            if i and len(scenario.timezones) > 1 and zones.random() >= scenario.group_local:
                zone = zones.choice(scenario.timezones)
            mobile = i > 0 and scenario.mobile_fraction > 0 and mobiles.random() < scenario.mobile_fraction
            out.members.append(MemberPlan(g, i, home, churns, zone, mobile))
    if scenario.sessions_every:
        starts = random.Random(f"plan/{seed}/sessions")  # noqa: S311
        out.session_starts = [
            scenario.sessions_start
            if scenario.sessions_start is not None
            else round(starts.uniform(0, scenario.sessions_every), 3)
            for _ in out.group_sizes
        ]
    faults: list[Fault] = []
    for written in scenario.faults:
        f = written
        if f.kind == "partition" and not f.sides:
            cut = max(1, min(len(names) - 1, round(len(names) * f.loss)))
            side = sorted(rng.sample(names, cut), key=names.index)
            f = Fault("partition", f.at, f.end, sides=(tuple(side),))
        elif f.kind == "crash" and f.node is None:
            f = Fault("crash", f.at, f.end, node=rng.choice(names))
        elif f.kind == "remove":
            size = out.group_sizes[f.group]
            f = Fault("remove", f.at, None, group=f.group, member=rng.randrange(1, max(2, size)))
        faults.append(f)
    w0, w1 = scenario.random_window
    for _ in range(scenario.random_partitions):
        at = rng.uniform(w0, w1)
        end = min(w1, at + rng.uniform(0, scenario.random_max_fault))
        cut = rng.randint(1, len(names) - 1)
        side = sorted(rng.sample(names, cut), key=names.index)
        faults.append(Fault("partition", round(at, 3), round(end, 3), sides=(tuple(side),)))
    for _ in range(scenario.random_crashes):
        at = rng.uniform(w0, w1)
        end = min(w1, at + rng.uniform(0, scenario.random_max_fault))
        faults.append(Fault("crash", round(at, 3), round(end, 3), node=rng.choice(names)))
    faults.sort(key=lambda f: (f.at, f.kind))
    out.faults = faults
    out.adversaries = list(scenario.adversaries)
    out.byzantine = sorted({a.node for a in scenario.adversaries if a.node is not None}, key=names.index)
    ends = [f.end if f.end is not None else f.at for f in faults if f.kind != "remove"]
    out.faults_end = max([*ends, *(a.end for a in scenario.adversaries)], default=0.0)
    return out


def _group_sizes(scenario: Scenario, seed: int) -> list[int]:
    if scenario.group_sizes == "fixed":
        return [scenario.members] * scenario.groups
    rng = random.Random(f"plan/{seed}/sizes")  # noqa: S311
    spread = scenario.size_sigma if scenario.group_sizes == "lognormal" else scenario.size_alpha
    return [
        group_size(rng, scenario.group_sizes, scenario.members, spread, scenario.max_members)
        for _ in range(scenario.groups)
    ]


def _weighted(rng: random.Random, cumulative: list[float]) -> int:
    """An index drawn with the given cumulative weights."""
    return bisect.bisect_right(cumulative, rng.random() * cumulative[-1])


def describe(scenario: Scenario) -> dict[str, Any]:
    """The scenario's resolved options (defaults filled in), for ``plan.json`` and the run's banner."""
    out: dict[str, Any] = {}
    for f in fields(scenario):
        value = getattr(scenario, f.name)
        if isinstance(value, LinkSpec):
            value = asdict(value)
        elif f.name in ("faults", "adversaries"):
            continue
        elif isinstance(value, tuple):
            value = list(value)
        out[f.name] = value
    return out
