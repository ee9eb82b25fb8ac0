"""The simulated network: a :class:`node.transport.memory.Wire` under virtual time.

A path is one direction between two hosts. Each path has its own random stream, seeded from the
run's seed and the two host names, so what one path draws never depends on traffic elsewhere.
A message of ``n`` bytes sent on a path at time ``t``:

* occupies the path for ``(n + overhead) * 8 / bandwidth`` seconds after whatever is queued before
  it (``busy_until``), as a bottleneck link does;
* then takes one sampled one-way latency;
* is split into packets of ``PACKET_SIZE`` bytes, each lost with probability ``loss``; every loss
  costs one retransmission timeout (``RTO_FACTOR`` times the mean latency, at least ``MIN_RTO``),
  repeated while the retransmission is lost too (QUIC is reliable: loss shows as delay);
* with probability ``reorder`` is held back ``reorder_ms`` more, so messages of other streams
  overtake it (the transport keeps each stream in order, as QUIC does).

Partitions cut paths between sides: what arrives on a cut path is held, and delivered at the heal,
in order, unless the connection's idle timeout closed it meanwhile. A crashed host loses whatever
is in flight to or from it (and what is held for it) for good; its peers notice only through their
idle timeouts, as with a real ``kill -9``.

Invariants: arrivals happen in ``(time, sequence)`` order, where the sequence number is the order of
``carry`` calls, so a run is reproducible given the same calls; nothing is delivered to or from a
host whose incarnation changed since the send.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Final

import trio

from holdspace.node.transport.base import HandshakeTimeout
from holdspace.simulations.clock import WireClock

PACKET_SIZE: Final = 1200  # bytes of payload per simulated packet (a QUIC datagram)
PACKET_OVERHEAD: Final = 40  # bytes of headers per packet (UDP/IP + QUIC short header + AEAD tag)
RTO_FACTOR: Final = 3.0
MIN_RTO: Final = 0.2  # seconds
MAX_RETRANSMISSIONS: Final = 20  # per packet; beyond that the loss rate is not a network any more


@dataclass(frozen=True, slots=True)
class LinkSpec:
    """One kind of link. Latency is one-way, in milliseconds.

    ``distribution``: ``constant`` (``latency_ms``), ``uniform`` (``latency_ms`` +- ``jitter_ms``),
    ``normal`` (mean ``latency_ms``, deviation ``jitter_ms``, cut at 10 % of the mean) or
    ``lognormal`` (median ``latency_ms``, ``jitter_ms`` is the deviation of the underlying normal
    in milliseconds relative to the median: sigma = jitter/latency).
    """

    latency_ms: float = 20.0
    jitter_ms: float = 5.0
    distribution: str = "normal"
    bandwidth_mbps: float = 100.0
    loss: float = 0.0
    reorder: float = 0.0
    reorder_ms: float = 0.0

    def validate(self) -> str | None:
        """A sentence saying what is wrong, or None."""
        if self.distribution not in DISTRIBUTIONS:
            return f"distribution must be one of {', '.join(DISTRIBUTIONS)}"
        if not (0 < self.latency_ms <= 60_000):
            return "latency_ms must be in (0, 60000]"
        if not (0 <= self.jitter_ms <= 60_000):
            return "jitter_ms must be in [0, 60000]"
        if not (0.001 <= self.bandwidth_mbps <= 100_000):
            return "bandwidth_mbps must be in [0.001, 100000]"
        if not (0 <= self.loss <= 0.5):
            return "loss must be in [0, 0.5]"
        if not (0 <= self.reorder <= 1):
            return "reorder must be in [0, 1]"
        if not (0 <= self.reorder_ms <= 60_000):
            return "reorder_ms must be in [0, 60000]"
        return None

    def sample_latency(self, rng: random.Random) -> float:
        """One one-way latency, in seconds."""
        mean, jitter = self.latency_ms, self.jitter_ms
        if self.distribution == "constant" or jitter == 0:
            ms = mean
        elif self.distribution == "uniform":
            ms = rng.uniform(mean - jitter, mean + jitter)
        elif self.distribution == "normal":
            ms = rng.gauss(mean, jitter)
        else:  # lognormal
            ms = mean * math.exp(rng.gauss(0.0, jitter / mean))
        return max(ms, 0.1 * mean) / 1000.0

    @property
    def rto(self) -> float:
        return max(MIN_RTO, RTO_FACTOR * self.latency_ms / 1000.0)


DISTRIBUTIONS: Final = ("constant", "uniform", "normal", "lognormal")


class _Path:
    __slots__ = ("busy_until", "rng", "spec")

    def __init__(self, spec: LinkSpec, rng: random.Random) -> None:
        self.spec = spec
        self.rng = rng
        self.busy_until = 0.0


@dataclass(slots=True)
class _InFlight:
    src: Hashable
    dst: Hashable
    incarnations: tuple[int, int]
    nbytes: int
    action: Callable[[], None]


@dataclass(slots=True)
class HostTraffic:
    """Bytes a host put on the wire and received (packet overhead included), and messages."""

    bytes_sent: int = 0
    bytes_received: int = 0
    messages_sent: int = 0
    messages_received: int = 0
    messages_lost: int = 0  # dropped because a host crashed while they were in flight


class SimWire:
    """The network of one simulation run. Start :meth:`run` in a nursery before any traffic, under
    a :class:`~.clock.WireClock`.

    ``link_for(src, dst)`` chooses the :class:`LinkSpec` of a path (called once per path).
    ``side`` of a host is its partition side; hosts without one (clients) reach everyone.
    """

    def __init__(self, seed: int, link_for: Callable[[Hashable, Hashable], LinkSpec]) -> None:
        self._seed = seed
        self._link_for = link_for
        self._paths: dict[tuple[Hashable, Hashable], _Path] = {}
        self._heap: list[tuple[float, int, _InFlight]] = []
        self._sequence = itertools.count()
        self._changed = trio.Event()  # reachability changed (for handshakes waiting on it)
        self._nursery: trio.Nursery | None = None
        self._incarnation: dict[Hashable, int] = {}
        self._down: set[Hashable] = set()
        self._cuts: dict[int, tuple[dict[Hashable, int], float]] = {}  # cut -> (host -> side, since)
        self._cut_numbers = itertools.count(1)
        self._held: list[_InFlight] = []
        self._down_since: dict[Hashable, float] = {}
        self._watchers: dict[object, None] = {}  # links with keep-alive, nudged on every change
        self.traffic: dict[Hashable, HostTraffic] = {}

    # -- faults ----------------------------------------------------------------------------------

    def partition(self, sides: list[list[Hashable]]) -> int:
        """Cut the network into ``sides`` (hosts not named, e.g. clients, reach every side); returns
        the cut's number for :meth:`heal`. Cuts overlap: two hosts talk only if no cut separates them."""
        cut = next(self._cut_numbers)
        self._cuts[cut] = ({host: i for i, side in enumerate(sides) for host in side}, trio.current_time())
        self._fire_changed()
        return cut

    def heal(self, cut: int | None = None) -> None:
        """Remove one cut (``None``: every cut); what was held and can now pass arrives now, in the
        order it was sent."""
        if cut is None:
            self._cuts.clear()
        else:
            self._cuts.pop(cut, None)
        held, self._held = self._held, []
        now = trio.current_time()
        for item in held:
            if self.reachable(item.src, item.dst):
                heapq.heappush(self._heap, (now, next(self._sequence), item))
            else:
                self._held.append(item)
        self._fire_changed()

    def relink(self) -> None:
        """Ask ``link_for`` again for every path (a fault changed the links); queues are kept."""
        for (src, dst), path in self._paths.items():
            path.spec = self._link_for(src, dst)

    def crash(self, host: Hashable) -> None:
        """``host`` stops: what is in flight to or from it is lost."""
        self._incarnation[host] = self._incarnation.get(host, 0) + 1
        self._down.add(host)
        self._down_since[host] = trio.current_time()
        self._fire_changed()

    def restart(self, host: Hashable) -> None:
        self._down.discard(host)
        self._down_since.pop(host, None)
        self._fire_changed()

    def reachable(self, src: Hashable, dst: Hashable) -> bool:
        if src in self._down or dst in self._down:
            return False
        return not any(self._separates(sides, src, dst) for sides, _since in self._cuts.values())

    @staticmethod
    def _separates(sides: dict[Hashable, int], a: Hashable, b: Hashable) -> bool:
        side_a, side_b = sides.get(a), sides.get(b)
        return side_a is not None and side_b is not None and side_a != side_b

    def _fire_changed(self) -> None:
        self._changed.set()
        self._changed = trio.Event()
        for link in list(self._watchers):
            link.nudge()  # type: ignore[attr-defined]

    def broken_since(self, a: Hashable, b: Hashable) -> float | None:
        """Since when ``a`` and ``b`` cannot reach each other, or None (keep-alive timers use it)."""
        if self.reachable(a, b):
            return None
        since = [self._down_since[h] for h in (a, b) if h in self._down_since]
        since += [t for sides, t in self._cuts.values() if self._separates(sides, a, b)]
        return min(since)

    def watch(self, link: object) -> None:
        self._watchers[link] = None

    def unwatch(self, link: object) -> None:
        self._watchers.pop(link, None)

    # -- the Wire interface ----------------------------------------------------------------------

    def _path(self, src: Hashable, dst: Hashable) -> _Path:
        path = self._paths.get((src, dst))
        if path is None:
            rng = random.Random(f"{self._seed}/{src}/{dst}")  # noqa: S311 - network noise, not secrets
            path = self._paths[(src, dst)] = _Path(self._link_for(src, dst), rng)
        return path

    def _traffic(self, host: Hashable) -> HostTraffic:
        t = self.traffic.get(host)
        if t is None:
            t = self.traffic[host] = HostTraffic()
        return t

    def carry(self, src: Hashable, dst: Hashable, nbytes: int, after: float, action: Callable[[], None]) -> float:
        path = self._path(src, dst)
        spec, rng = path.spec, path.rng
        now = trio.current_time()
        packets = max(1, math.ceil(nbytes / PACKET_SIZE))
        wire_bytes = nbytes + packets * PACKET_OVERHEAD
        path.busy_until = max(now, path.busy_until) + wire_bytes * 8 / (spec.bandwidth_mbps * 1e6)
        delay = spec.sample_latency(rng)
        if spec.loss:
            worst = 0
            for _ in range(packets):
                tries = 0
                while tries < MAX_RETRANSMISSIONS and rng.random() < spec.loss:
                    tries += 1
                worst = max(worst, tries)
            delay += worst * spec.rto
        if spec.reorder and rng.random() < spec.reorder:
            delay += spec.reorder_ms / 1000.0
        arrival = max(path.busy_until + delay, after)
        sent = self._traffic(src)
        sent.bytes_sent += wire_bytes
        sent.messages_sent += 1
        item = _InFlight(src, dst, (self._incarnation.get(src, 0), self._incarnation.get(dst, 0)), wire_bytes, action)
        heapq.heappush(self._heap, (arrival, next(self._sequence), item))
        return arrival

    async def handshake(self, src: Hashable, dst: Hashable, give_up_after: float) -> None:
        with trio.move_on_after(give_up_after):
            while not self.reachable(src, dst):
                await self._changed.wait()
            path = self._path(src, dst)
            back = self._path(dst, src)
            await trio.sleep(path.spec.sample_latency(path.rng) + back.spec.sample_latency(back.rng))
            return
        raise HandshakeTimeout(f"no answer from {dst!r} within {give_up_after:g} s")

    def spawn(self, fn: Callable[[], Awaitable[None]]) -> None:
        assert self._nursery is not None, "SimWire.run must be started first"
        self._nursery.start_soon(fn)

    # -- delivery --------------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Carry messages until cancelled: under a :class:`~.clock.WireClock`, which delivers each
        arrival when virtual time reaches it (see clock.py); this task holds the wire's nursery."""
        clock = trio.lowlevel.current_clock()
        if not isinstance(clock, WireClock):
            raise RuntimeError("a SimWire runs under a WireClock (trio.run(..., clock=WireClock()))")
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            clock.wire = self
            task_status.started()
            try:
                await trio.sleep_forever()
            finally:
                clock.wire = None

    def next_arrival(self) -> float:
        return self._heap[0][0] if self._heap else math.inf

    def deliver_due(self, now: float) -> None:
        heap = self._heap
        while heap and heap[0][0] <= now:
            self._arrive(heapq.heappop(heap)[2])

    def _arrive(self, item: _InFlight) -> None:
        if (self._incarnation.get(item.src, 0), self._incarnation.get(item.dst, 0)) != item.incarnations:
            self._traffic(item.src).messages_lost += 1
            return
        if not self.reachable(item.src, item.dst):
            if item.src in self._down or item.dst in self._down:
                self._traffic(item.src).messages_lost += 1
            else:
                self._held.append(item)
            return
        got = self._traffic(item.dst)
        got.bytes_received += item.nbytes
        got.messages_received += 1
        item.action()
