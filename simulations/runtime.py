"""One simulation run: real nodes and real clients on a simulated network, in virtual time.

What runs is the product's own code: every node is :func:`node.server.open_node` with its LMDB
store, its :class:`~node.federation.Federation` and the in-memory transport; every member is a
:class:`~clients.participant.Participant` speaking the client protocol through
:class:`~clients.client.NodeSession`. The simulator adds only the network (``network.py``), the
workload, the faults, the adversaries, and a history of what happened.

Reproducibility, by construction:

* time is virtual (:class:`~.clock.WireClock`: it jumps to the next deadline or network arrival
  whenever every task is blocked): nothing waits on the real clock, and the wall clock of nodes
  and clients is ``EPOCH_MS`` plus the virtual time;
* trio's scheduler runs in its deterministic mode (each batch of runnable tasks sorted by creation
  order, then shuffled by a generator seeded from the run's seed);
* no threads: stores commit inline (:class:`~node.store_writer.InlineStoreWriter`);
* every random choice comes from a generator seeded from the run's seed and a name (a member, a
  network path, an adversary), including the clients' key material and nonces;
* the code iterates dicts (insertion order) or sorted collections, never sets of objects.

A run therefore produces the same history, metrics and plots for the same scenario and seed.
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

import nacl.signing
import trio
import trio._core._run as trio_run  # the scheduler's own deterministic switch (see run_in_trio)

from holdspace.clients.client import NodeSession, open_session
from holdspace.clients.participant import GroupRecord, Outgoing, Participant
from holdspace.node.core import pack_record
from holdspace.node.federation import Federation, memory_connector
from holdspace.node.limits import NodeLimits
from holdspace.node.peering import PeerBook
from holdspace.node.server import Node, open_node
from holdspace.node.store import StoredEntry
from holdspace.node.transport.base import Connection, TransportError
from holdspace.node.transport.memory import MemoryNetwork
from holdspace.protocol import kinds
from holdspace.protocol.address import InviteToken, NodeAddress
from holdspace.protocol.author import LogWriter
from holdspace.protocol.entry import Entry, decode_entry
from holdspace.protocol.errors import HoldspaceError
from holdspace.protocol.federation import ALPN_FEDERATION, encode_offer
from holdspace.protocol.frames import ALPN_CLIENT, decode_response
from holdspace.protocol.identity import Pseudonym
from holdspace.protocol.log import verify_fork_proof
from holdspace.protocol.payloads import Erase, MessageEnvelope
from holdspace.simulations import heap
from holdspace.simulations.clock import WireClock
from holdspace.simulations.history import History
from holdspace.simulations.network import LinkSpec, SimWire
from holdspace.simulations.phases import Phases
from holdspace.simulations.scenario import Adversary, Fault, MemberPlan, Plan, Scenario
from holdspace.simulations.workload import Activity, Diurnal, Sessions, attendance

EPOCH_MS: Final = 1_800_000_000_000  # the virtual wall clock at time 0 (2027-01-15)
PORT: Final = 4433
SETUP_TIMEOUT: Final = 600.0  # virtual seconds for all groups to form
RECONNECT_MIN, RECONNECT_MAX = 1.0, 30.0
#: answers meaning the member is not (any more) in the group: it stops
NOT_MEMBER: Final = frozenset(
    {"client.not_member", "group.not_member", "proto.forbidden", "group.removed"}
)  # a client's reconnect backoff, seconds
SETUP_RETRIES: Final = 20


class SimParticipant(Participant):
    """A participant whose state lives in memory (no key file, no passphrase), with the run's clock
    and a seeded random source. Every group operation is the client library's own."""

    def __init__(self, master: bytes, node: NodeAddress, clock: Callable[[], int], rng: random.Random) -> None:
        super().__init__(Path("/nonexistent"), "", master, node)
        self.clock = clock  # type: ignore[method-assign]
        self.random = rng.randbytes  # type: ignore[method-assign]
        self.signed: set[bytes] = set()

    def save(self) -> None:
        return None

    async def _publish_once(
        self,
        session: NodeSession,
        record: GroupRecord,
        entry: Entry,
        *,
        words: tuple[bytes, bytes] | None = None,
        handing_over: Outgoing | None = None,
    ) -> int:
        self.signed.add(entry.entry_id)  # what this client signed (the no-forgery checker reads it)
        return await super()._publish_once(session, record, entry, words=words, handing_over=handing_over)


@dataclass
class SimNode:
    name: str
    key: nacl.signing.SigningKey
    directory: Path
    byzantine: bool = False
    node: Node | None = None
    scope: trio.CancelScope | None = None
    stopped: trio.Event = field(default_factory=trio.Event)
    up: bool = False
    lock: trio.Lock = field(default_factory=trio.Lock)  # crash and restart one at a time

    @property
    def address(self) -> NodeAddress:
        return NodeAddress(bytes(self.key.verify_key), self.name, PORT)


@dataclass
class SimMember:
    plan: MemberPlan
    name: str
    participant: SimParticipant
    rng: random.Random
    record: GroupRecord | None = None
    session: NodeSession | None = None
    online: bool = True
    removed: bool = False
    lock: trio.Lock = field(default_factory=trio.Lock)
    changed: trio.Event = field(default_factory=trio.Event)  # online/offline toggled
    connected: trio.Event = field(default_factory=trio.Event)
    joined: trio.Event = field(default_factory=trio.Event)  # record is set: subscribe to the group

    @property
    def key(self) -> bytes:
        assert self.record is not None
        return self.participant.pseudonym(self.record).public_key

    def toggle(self, online: bool) -> None:
        self.online = online
        self.changed.set()
        self.changed = trio.Event()


class Observer:
    """A node's reports, written to the history."""

    def __init__(self, sim: Simulation, node: str) -> None:
        self.sim = sim
        self.node = node

    def stored(self, group: bytes, entry: Entry) -> None:
        self.sim.on_stored(self.node, group, entry)

    def refused(self, code: str, source: str) -> None:
        self.sim.history.add("refused", node=self.node, code=code, source=source)


class Simulation:
    """Everything of one run. ``await sim.main()`` inside ``trio.run`` with a MockClock."""

    def __init__(
        self,
        scenario: Scenario,
        plan: Plan,
        directory: Path,
        progress: Callable[[float], None] | None = None,
        history: Path | None = None,
        phases: Phases | None = None,
    ) -> None:
        """``history``: the file the events stream to (default: ``directory/history.jsonl``);
        ``phases``: where the run notes how far it got (see ``phases.py``; default: nowhere)."""
        self.phases = phases or Phases(None)
        self.scenario = scenario
        self.plan = plan
        self.seed = plan.seed
        self.directory = directory
        self.progress = progress
        self.history = History(history or directory / "history.jsonl")
        self.loss_override: float | None = None
        self.wire = SimWire(self.seed, self._link_for)
        self.network = MemoryNetwork(self.wire)
        names = scenario.node_names
        self.nodes: dict[str, SimNode] = {}
        for name in names:
            seed = random.Random(f"{self.seed}/node-key/{name}").randbytes(32)  # noqa: S311 - simulated keys
            self.nodes[name] = SimNode(name, nacl.signing.SigningKey(seed), directory / name, name in plan.byzantine)
        self.members: list[SimMember] = []
        self.by_group: list[list[SimMember]] = [[] for _ in range(scenario.groups)]
        self.mobile: set[str] = set()  # names of the members on mobile links
        for mp in plan.members:
            name = f"g{mp.group}m{mp.index}"
            rng = random.Random(f"{self.seed}/member/{name}")  # noqa: S311 - simulated keys and nonces
            participant = SimParticipant(rng.randbytes(32), self.nodes[mp.home].address, self.clock_ms, rng)
            member = SimMember(mp, name, participant, rng)
            self.members.append(member)
            self.by_group[mp.group].append(member)
            if mp.mobile:
                self.mobile.add(name)
        self.phases.note("participants", len(self.members), len(self.members))
        self.groups: list[bytes | None] = [None] * scenario.groups
        # the nodes that may host each group: its members' home nodes (joins add exactly those)
        self.candidates: dict[bytes, list[SimNode]] = {}
        self._homes: list[dict[str, None]] = [{} for _ in range(scenario.groups)]
        for mp in plan.members:
            self._homes[mp.group][mp.home] = None
        self.t0 = 0.0  # virtual time at which traffic (and fault times) start
        self.entry_authors: dict[bytes, str] = {}  # pseudonym -> member name
        self.adversary_keys: set[bytes] = set()  # pseudonyms held by adversaries
        self.removed: list[tuple[SimMember, float]] = []
        self.sent_excluding: dict[bytes, list[bytes]] = {}  # message id -> removed keys its sender knew removed
        self.final: dict[bytes, dict[str, list[tuple[int, StoredEntry]]]] = {}
        self.proofs: dict[bytes, dict[str, set[bytes]]] = {}
        self.equivocators: dict[bytes, set[bytes]] = {}
        self.penalties: set[tuple[str, str]] = set()  # (honest node, honest peer it penalised)
        self._views: dict[tuple[str, bytes], tuple[Node, int, tuple[object, ...]]] = {}  # see _view

    # -- clocks and links ------------------------------------------------------------------------

    def clock_ms(self) -> int:
        return EPOCH_MS + int(trio.current_time() * 1000)

    def now(self) -> float:
        """Seconds since traffic started (negative during setup)."""
        return trio.current_time() - self.t0

    def _link_for(self, src: Hashable, dst: Hashable) -> LinkSpec:
        if src in self.nodes and dst in self.nodes:
            link = self.scenario.federation_link
            return link if self.loss_override is None else replace(link, loss=self.loss_override)
        if src in self.mobile or dst in self.mobile:
            return self.scenario.mobile_link
        return self.scenario.client_link

    # -- nodes -----------------------------------------------------------------------------------

    async def run_node(self, sn: SimNode, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        sn.stopped = trio.Event()
        limits = NodeLimits()
        try:
            with trio.CancelScope() as scope:
                sn.scope = scope
                async with (
                    open_node(sn.directory, sn.key, limits, clock=self.clock_ms, simulated=True) as node,
                    trio.open_nursery() as nursery,
                ):
                    node.observer = Observer(self, sn.name)
                    connect = memory_connector(self.network, sn.key, source=sn.name)
                    federation = Federation(node, PeerBook(node.public_key), connect)
                    await nursery.start(
                        self.network.serve,
                        (sn.name, PORT),
                        sn.key,
                        [ALPN_CLIENT, ALPN_FEDERATION],
                        node.handle_connection,
                    )
                    nursery.start_soon(federation.run)
                    sn.node, sn.up = node, True
                    self.history.add("node_up", node=sn.name)
                    task_status.started()
                    await trio.sleep_forever()
        except Exception as exc:
            if not sn.byzantine:
                raise  # an honest node's failure is a bug the run must report
            self.history.add("byzantine_node_failed", node=sn.name, error=type(exc).__name__)
        finally:
            sn.node, sn.up = None, False
            sn.stopped.set()

    async def crash(self, sn: SimNode) -> None:
        async with sn.lock:
            if not sn.up or sn.scope is None:
                return
            self.wire.crash(sn.name)
            sn.scope.cancel()
            await sn.stopped.wait()
            self.history.add("node_down", node=sn.name)

    async def restart(self, sn: SimNode, nursery: trio.Nursery) -> None:
        """Start a crashed node again (overlapping crash faults: it stays up once restarted)."""
        async with sn.lock:
            if sn.up:
                return
            self.wire.restart(sn.name)
            await nursery.start(self.run_node, sn)

    def on_stored(self, node: str, group: bytes, entry: Entry) -> None:
        self.history.add("stored", node=node, group=group.hex()[:16], id=entry.entry_id.hex()[:16], kind=entry.kind)

    # -- members ---------------------------------------------------------------------------------

    @asynccontextmanager
    async def session(self, member: SimMember, address: NodeAddress | None = None) -> AsyncIterator[NodeSession]:
        address = address or member.participant.node
        assert address is not None
        async with (
            self.network.connect(
                (address.host, address.port), address.node_key, ALPN_CLIENT, source=member.name
            ) as conn,
            open_session(conn, address.node_key) as session,
        ):
            yield session

    async def member_connection(self, member: SimMember, ready: trio.Event) -> None:
        """Keep ``member`` connected to its home node while online (reconnecting with backoff), and
        subscribed to its group once it has one."""
        backoff = RECONNECT_MIN
        connected_at = -math.inf
        while not member.removed:
            if not member.online:
                await member.changed.wait()
                continue
            changed = member.changed
            failure: BaseException | None = None
            try:
                async with self.session(member) as session, trio.open_nursery() as nursery:
                    member.session = session
                    member.connected.set()
                    connected_at = trio.current_time()
                    ready.set()
                    nursery.start_soon(self._watch_online, member, changed, nursery.cancel_scope)
                    nursery.start_soon(self.subscription, member, session)
            except* (TransportError, HoldspaceError) as group:  # a Cancelled beside them goes on
                failure = group
            finally:
                member.session = None
                member.connected = trio.Event()
            if failure is not None:
                self.history.add("disconnected", member=member.name, code=_code(failure))
                ready.set()
                if _code(failure) in NOT_MEMBER:
                    member.removed = True
            if trio.current_time() - connected_at > RECONNECT_MAX:
                backoff = RECONNECT_MIN  # that connection was good for a while: start the backoff again
            if member.online and not member.removed:
                await trio.sleep(backoff * (0.5 + member.rng.random()))
                backoff = min(RECONNECT_MAX, backoff * 2)

    async def _watch_online(self, member: SimMember, changed: trio.Event, scope: trio.CancelScope) -> None:
        while member.online and not member.removed:
            await changed.wait()
            changed = member.changed
        scope.cancel()

    async def subscription(self, member: SimMember, session: NodeSession) -> None:
        await member.joined.wait()
        record = member.record
        assert record is not None
        async with member.lock:
            await member.participant.sync(session, record)  # sends a pending entry first
        async with contextlib.aclosing(session.subscribe(record.group_id, record.cursor)) as batches:
            record.following = True  # the subscription keeps the record current: sends need no fetch
            try:
                await self._follow(member, record, batches)
            finally:
                record.following = False
        raise TransportError("subscription ended")

    async def _follow(self, member: SimMember, record: GroupRecord, batches: Any) -> None:
        async for batch in batches:
            _, new = member.participant.absorb(record, [r for r in batch if r.cursor > record.cursor])
            for message in new:
                if message.author != member.key:
                    self.history.add(
                        "delivered",
                        member=member.name,
                        id=_message_id(member.plan.group, message.author, message.seq),
                        ok=message.problem is None,  # opened (a pin quoted to newcomers has no text)
                        **({} if message.problem is None else {"problem": message.problem}),
                    )

    async def operate(self, member: SimMember, what: str, fn: Callable[[NodeSession], Any]) -> Any:
        """Run a participant operation on the live session, under the member's lock; wait for a
        connection if there is none. Errors are raised to the caller."""
        while True:
            session = member.session
            if session is None:
                await member.connected.wait()
                continue
            async with member.lock:
                return await fn(session)

    # -- setup -----------------------------------------------------------------------------------

    async def form_group(self, g: int, members: list[SimMember]) -> None:
        facilitator, others = members[0], members[1:]
        fp = facilitator.participant

        async def create(session: NodeSession) -> GroupRecord:
            record = next(iter(fp.groups.values()), None)
            if record is None or (record.seq == 0 and record.pending is None):
                fp.groups.clear()  # nothing of an earlier attempt was stored: start again
                return await fp.create_group(session, f"group {g}")
            await fp.ensure_clean_epoch(session, record)  # sends a pending genesis first
            return record

        record = await self._retry(facilitator, "create_group", create)
        self._joined(facilitator, record)
        self.groups[g] = record.group_id
        self.candidates[record.group_id] = [self.nodes[n] for n in self._homes[g]]
        async with trio.open_nursery() as nursery:
            for member in others:
                token = await self._retry(facilitator, "invite", lambda s: fp.invite(s, record))
                nursery.start_soon(self._join, member, token)
        await self._retry(facilitator, "rekey", lambda s: fp.ensure_clean_epoch(s, record))
        self.phases.count("groups", len(self.groups))

    async def _join(self, member: SimMember, token: str) -> None:
        p = member.participant
        parsed = InviteToken.parse(token)

        async def join(session: NodeSession) -> GroupRecord:
            record = p.groups.get(parsed.group_id)
            if record is None or (record.seq == 0 and record.pending is None):
                p.groups.pop(parsed.group_id, None)
                return await p.join(session, parsed)
            await p.sync(session, record)  # sends the pending join first
            return record

        self._joined(member, await self._retry(member, "join", join))

    def _joined(self, member: SimMember, record: GroupRecord) -> None:
        member.record = record
        self.entry_authors[member.key] = member.name
        member.joined.set()
        self.phases.count("admitted", len(self.members))

    async def _retry(self, member: SimMember, what: str, fn: Callable[[NodeSession], Any]) -> Any:
        for attempt in range(SETUP_RETRIES):
            try:
                return await self.operate(member, what, fn)
            except Exception as exc:
                if not _expected(exc):
                    raise
                self.history.add("setup_retry", member=member.name, op=what, code=_code(exc))
                await trio.sleep(min(RECONNECT_MAX, 2**attempt) * (0.5 + member.rng.random()))
        raise RuntimeError(f"{member.name} could not {what} after {SETUP_RETRIES} attempts")

    # -- traffic ---------------------------------------------------------------------------------

    def activity(self, member: SimMember, until: float) -> Activity:
        """When ``member`` posts (see workload.py): its group's sessions, its time zone."""
        s = self.scenario
        sessions = Sessions()
        if s.sessions_every:
            sessions = Sessions(
                every=s.sessions_every,
                length=s.sessions_length,
                start=self.plan.session_starts[member.plan.group],
                rate=s.sessions_rate,
                checkin=s.checkin,
                checkin_window=s.checkin_window,
                attendance=s.attendance,
            )
        hour = ((EPOCH_MS / 1000 + self.t0) / 3600) % 24
        diurnal = Diurnal(s.diurnal_amplitude, s.peak_hour, member.plan.zone, hour)
        return Activity(
            s.messages_per_member_hour, sessions, diurnal, attendance(self.seed, member.name, sessions, until)
        )

    async def chat(self, member: SimMember, until: float) -> None:
        activity = self.activity(member, until)
        low, high = self.scenario.message_bytes
        while True:
            at = activity.next_arrival(member.rng, self.now(), until)
            if at is None:
                return
            await trio.sleep(at - self.now())
            if member.removed or not member.online or member.record is None:
                continue
            await self.post(member, _text(member.rng, member.rng.randint(low, high)))

    async def checkins(self, member: SimMember, until: float) -> None:
        """One check-in message at the start of every session ``member`` attends (and is online for),
        at a time drawn in the session's first ``checkin_window``."""
        activity = self.activity(member, until)
        sessions = activity.sessions
        rng = random.Random(f"{self.seed}/checkin/{member.name}")  # noqa: S311 - simulated behaviour
        for k, start in enumerate(sessions.starts(until)):
            at = start + rng.uniform(0, sessions.checkin_window)
            if not activity.attending(k) or at >= until:
                continue
            await self.at(at)
            if member.removed or not member.online or member.record is None:
                continue
            await self.post(member, _text(rng, rng.randint(20, 120)), checkin=True)

    async def post(self, member: SimMember, text: str, *, checkin: bool = False) -> None:
        """Publish one message of ``member``'s and record it (``sent``, or ``send_failed``)."""
        record = member.record
        assert record is not None
        started = trio.current_time()
        try:
            async with member.lock:
                session = member.session
                if session is None:
                    raise TransportError("offline")
                message = await member.participant.send(session, record, text)
            assert record.state is not None
            mid = _message_id(member.plan.group, message.author, message.seq)
            excluded = [m.key for m, _ in self.removed if m.record is not None and m.key not in record.state.members]
            extra = {"checkin": True} if checkin else {}
            self.history.add("sent", member=member.name, id=mid, bytes=len(text), started=round(started, 6), **extra)
            if excluded:
                self.sent_excluding[record.prev or b""] = excluded
        except Exception as exc:
            if not _expected(exc):
                raise
            self.history.add("send_failed", member=member.name, code=_code(exc))
            if _code(exc) in NOT_MEMBER:
                member.removed = True
                member.toggle(False)

    async def churn(self, member: SimMember, until: float) -> None:
        """``member`` goes offline and comes back (exponential durations: the churn's, or for a
        mobile member the mobile ones), until ``until``; it ends online."""
        s = self.scenario
        online, offline = (s.mobile_online, s.mobile_offline) if member.plan.mobile else (s.mean_online, s.mean_offline)
        while self.now() < until:
            await trio.sleep(member.rng.expovariate(1 / online))
            if self.now() >= until:
                break
            member.toggle(False)
            self.history.add("offline", member=member.name)
            await trio.sleep(member.rng.expovariate(1 / offline))
            member.toggle(True)
            self.history.add("online", member=member.name)
        member.toggle(True)

    # -- faults ----------------------------------------------------------------------------------

    async def at(self, t: float) -> None:
        await trio.sleep_until(self.t0 + t)

    async def fault(self, f: Fault, nursery: trio.Nursery) -> None:
        await self.at(f.at)
        if f.kind == "partition":
            sides = [list(s) for s in f.sides]
            named = {n for side in sides for n in side}
            sides.append([n for n in self.nodes if n not in named])  # the rest: one more side
            cut = self.wire.partition(sides)  # type: ignore[arg-type]
            self.history.add("partition", sides=sides)
            await self.at(f.end or f.at)
            self.wire.heal(cut)
            self.history.add("heal")
        elif f.kind == "crash":
            assert f.node is not None
            sn = self.nodes[f.node]
            await self.crash(sn)
            if f.end is not None:
                await self.at(f.end)
                await self.restart(sn, nursery)
        elif f.kind == "loss":
            self.loss_override = f.loss
            self.wire.relink()
            self.history.add("loss", loss=f.loss)
            await self.at(f.end or f.at)
            self.loss_override = None
            self.wire.relink()
            self.history.add("loss_end")
        elif f.kind == "remove":
            await self.remove(f)

    async def remove(self, f: Fault) -> None:
        group = self.by_group[f.group]
        if len(group) < 2:
            return  # a facilitator alone: nobody to remove
        facilitator = group[0]
        target = group[f.member or 1]
        record = facilitator.record
        if record is None or target.record is None or target.removed:
            return
        key = target.key
        try:
            await self.operate(facilitator, "remove", lambda s: facilitator.participant.remove_member(s, record, key))
        except Exception as exc:
            if not _expected(exc):
                raise
            self.history.add("remove_failed", member=target.name, code=_code(exc))
            return
        self.removed.append((target, self.now()))
        self.history.add("removed", member=target.name, key=key.hex()[:16])

    # -- adversaries -----------------------------------------------------------------------------

    async def adversary(self, a: Adversary) -> None:
        await self.at(a.at)
        rng = random.Random(f"{self.seed}/adversary/{a.kind}/{a.node}/{a.group}")  # noqa: S311 - simulated attack
        while self.now() < a.end:
            try:
                if a.kind == "forger":
                    await self._forge(a, rng)
                elif a.kind == "flooder":
                    await self._flood(a, rng)
                else:
                    await self._equivocate(a, rng)
            except* (TransportError, HoldspaceError, trio.TooSlowError):
                pass  # refused or cut off: the attack goes on
            await trio.sleep(rng.expovariate(a.rate / 60.0))

    def _victim_peer(self, sn: SimNode, rng: random.Random) -> SimNode | None:
        peers = [n for n in self.nodes.values() if n is not sn and n.up]
        return rng.choice(peers) if peers else None

    async def _forge(self, a: Adversary, rng: random.Random) -> None:
        """Put forged entries in the Byzantine node's own store (its honest serving code then offers
        them to every puller), and offer forged joins to a peer directly."""
        sn = self.nodes[a.node or ""]
        node = sn.node
        if node is None:
            return
        groups = [g for g in self.groups if g is not None and node.core.hosts(g)]
        if not groups:
            return
        group = rng.choice(groups)
        heads = node.store.heads(group)
        authors = sorted(a for a in heads if a in self.entry_authors)
        attacker = Pseudonym.derive(rng.randbytes(32), b"forger")
        self.adversary_keys.add(attacker.public_key)
        choice = rng.randrange(3)
        if choice == 0 and authors:  # an honest member's next entry, signed by the attacker
            victim = rng.choice(authors)
            seq, prev = heads[victim]
            forged = LogWriter(attacker, group, seq, prev).append(kinds.MESSAGE, rng.randbytes(200), self.clock_ms())
            raw = forged.raw.replace(attacker.public_key, victim)
            entry = decode_entry(raw, forged.payload, now_ms=None, verify=False)
            what = "forged_signature"
        else:  # a non-member's entry, properly signed
            entry = LogWriter(attacker, group).append(kinds.MESSAGE, rng.randbytes(200), self.clock_ms())
            what = "non_member_entry"
        record = StoredEntry(group, entry.author, entry.seq, entry.entry_id, entry.kind, pack_record(entry))
        with contextlib.suppress(Exception):
            node.store.append_batch([record])
            node._wake(group)
        self.history.add("attack", node=sn.name, what=what)
        peer = self._victim_peer(sn, rng)
        if peer is None:
            return
        async with self._fed(sn, peer) as conn:  # a forged "join" offered directly
            stream = await conn.open_stream()
            await stream.send(encode_offer(entry.raw, entry.payload))
            await stream.finish()
            with trio.fail_after(30):
                with contextlib.suppress(HoldspaceError):
                    decode_response(await stream.receive())
        self.history.add("attack", node=sn.name, what="offer_forged")

    async def _flood(self, a: Adversary, rng: random.Random) -> None:
        sn = self.nodes[a.node or ""]
        peer = self._victim_peer(sn, rng)
        if sn.node is None or peer is None:
            return
        async with self._fed(sn, peer) as conn:
            for _ in range(8):
                stream = await conn.open_stream()
                await stream.send(rng.randbytes(rng.randint(1, 512)))
                await stream.finish()
                with trio.fail_after(30):
                    with contextlib.suppress(HoldspaceError):
                        decode_response(await stream.receive())
        self.history.add("attack", node=sn.name, what="flood")

    @asynccontextmanager
    async def _fed(self, sn: SimNode, peer: SimNode) -> AsyncIterator[Connection]:
        address = peer.address
        async with self.network.connect(
            (address.host, address.port), address.node_key, ALPN_FEDERATION, client_key=sn.key, source=sn.name
        ) as conn:
            yield conn

    async def _equivocate(self, a: Adversary, rng: random.Random) -> None:
        """A member of group ``a.group`` signs two entries at one position (two messages, or with
        ``twin = "control"`` two erase entries) and publishes one to its home node and the other to
        another host of the group."""
        group = [m for m in self.by_group[a.group] if m.plan.index > 0 and m.record is not None]
        gid = self.groups[a.group]
        if not group or gid is None:
            return
        member = group[-1]
        record = member.record
        assert record is not None
        home = self.nodes[member.plan.home]
        others = [n for n in self.nodes.values() if n is not home and n.up and n.node and n.node.core.hosts(gid)]
        if not others or home.node is None:
            return
        self.adversary_keys.add(member.key)
        self.entry_authors.pop(member.key, None)  # its entries are no longer an honest member's
        other = rng.choice(others)
        async with member.lock:
            epoch = record.state.current_epoch if record.state is not None else None
            if epoch is None or record.pending is not None or record.state is None:
                return
            if a.twin == "control":  # two erasures of what it wrote, naming the heads it knows
                payloads = [Erase(record.state.deps(), max(record.seq, 1)).encode() for _ in range(2)]
                kind = kinds.ERASE
            else:
                envelopes = [
                    MessageEnvelope(
                        epoch.entry_id, record.seq + 1, rng.randbytes(24), rng.randbytes(n), commitment=bytes(32)
                    )
                    for n in (64, 80)
                ]
                payloads, kind = [e.encode() for e in envelopes], kinds.MESSAGE
            first, second = (
                member.participant.writer(record).append(kind, payload, self.clock_ms() + i)
                for i, payload in enumerate(payloads)
            )
            me = member.participant.pseudonym(record)
            accepted: list[bool] = []
            async with trio.open_nursery() as nursery:
                for target, entry in ((home, first), (other, second)):
                    nursery.start_soon(self._publish_to, member, me, target, entry, accepted)
            record.seq, record.prev = first.seq, first.entry_id
        if len(accepted) == 2:  # both branches reached a node: every honest host must end up proving it
            self.equivocators.setdefault(gid, set()).add(me.public_key)
        self.history.add(
            "attack", member=member.name, key=me.public_key.hex()[:16], what="equivocation", accepted=len(accepted)
        )

    async def _publish_to(
        self, member: SimMember, me: Pseudonym, target: SimNode, entry: Entry, accepted: list[bool]
    ) -> None:
        try:
            with trio.fail_after(60):
                async with self.session(member, target.address) as session:
                    await session.authenticate(me)
                    await session.publish(entry)
                    accepted.append(True)
        except Exception as exc:
            if not _expected(exc) and not isinstance(exc, trio.TooSlowError):
                raise
            code = _code(exc)
            if code == "log.fork":  # the node already held the other branch: it keeps the proof
                accepted.append(True)
            self.history.add("attack_refused", member=member.name, node=target.name, code=code)

    # -- observation -----------------------------------------------------------------------------

    def honest_hosts(self, group: bytes) -> list[SimNode]:
        return [
            sn
            for sn in self.candidates.get(group, ())
            if sn.up and not sn.byzantine and sn.node and sn.node.core.hosts(group)
        ]

    def behind(self) -> list[int]:
        """Groups whose live honest hosts do not (yet) hold the same log heads, fork proofs and group
        state."""
        out = []
        for g, gid in enumerate(self.groups):
            if gid is None:
                continue
            views = set()
            for sn in self.honest_hosts(gid):
                assert sn.node is not None
                views.add(self._view(sn.name, sn.node, gid))
            if len(views) > 1:
                out.append(g)
        return out

    def _view(self, name: str, node: Node, gid: bytes) -> tuple[object, ...]:
        """What ``node`` holds of group ``gid``: its log heads (but a proven equivocator's), the fork
        proofs, its group state's fingerprint. Remembered per host and group until the node's
        generation of the group changes (any entry stored, payload deleted, fork proof or other
        branch recorded) or the node restarts: a group nothing happened to since the last sample is
        not read again."""
        generation = node.generation(gid)
        known = self._views.get((name, gid))
        if known is not None and known[0] is node and known[1] == generation:
            return known[2]
        # a proven equivocator's log may end differently on each host (each keeps the branch it saw
        # first): hosts agree on the proof, and on every other author's log
        proven = frozenset(verify_fork_proof(raw).author for raw in node.fork_proofs(gid))
        heads = node.store.heads(gid).items()
        kept = tuple(sorted((a, s, i) for a, (s, i) in heads if a not in proven))
        view = (kept, proven, node.core.state(gid).fingerprint())
        self._views[(name, gid)] = (node, generation, view)
        return view

    def note_penalties(self) -> None:
        """Remember every honest node that an honest node is penalising now (none ever should be)."""
        honest = {bytes(sn.key.verify_key): sn.name for sn in self.nodes.values() if not sn.byzantine}
        for sn in self.nodes.values():
            if sn.byzantine or not sn.up or sn.node is None or not isinstance(sn.node.federation, Federation):
                continue
            for key in sn.node.federation.book.penalised_until:
                if key in honest:
                    self.penalties.add((sn.name, honest[key]))

    async def sample(self, until: float) -> None:
        minutes = 0
        while self.now() <= until:
            if self.now() >= (minutes + 1) * 60:
                minutes = int(self.now() // 60)
                self.phases.note("traffic", minutes, int(until // 60))
            self.note_penalties()
            behind = self.behind()
            self.history.add("sample", groups=len(self.groups), converged=len(self.groups) - len(behind), behind=behind)
            if self.progress is not None:
                self.progress(self.now())
            await trio.sleep(self.scenario.sample_interval)

    # -- the run ---------------------------------------------------------------------------------

    async def main(self) -> None:
        s = self.scenario
        self.setup_wall_s = time.perf_counter()
        async with trio.open_nursery() as root:
            await root.start(self.wire.run)
            for sn in self.nodes.values():
                await root.start(self.run_node, sn)
                self.phases.count("nodes", len(self.nodes))
            async with trio.open_nursery() as clients:
                readies = []
                for member in self.members:
                    ready = trio.Event()
                    readies.append(ready)
                    clients.start_soon(self.member_connection, member, ready)
                for ready in readies:
                    await ready.wait()
                    self.phases.count("connected", len(readies))
                heap.settle()  # nodes up, members connected
                self.history.add("setup_start")
                with trio.fail_after(SETUP_TIMEOUT):
                    async with trio.open_nursery() as setup:
                        for g in range(s.groups):
                            setup.start_soon(self.form_group, g, self.by_group[g])
                self.t0 = trio.current_time()
                self.history.t0 = self.t0
                self.setup_wall_s = time.perf_counter() - self.setup_wall_s  # reported apart, never used
                heap.settle()  # groups formed
                self.history.add("traffic_start")
                end = s.duration
                horizon = max(end, self.plan.faults_end) + s.settle
                async with trio.open_nursery() as work:
                    work.start_soon(self.sample, horizon)
                    for member in self.members:
                        work.start_soon(self.chat, member, end)
                        if s.sessions_every and s.checkin:
                            work.start_soon(self.checkins, member, end)
                        if member.plan.churns or member.plan.mobile:
                            work.start_soon(self.churn, member, min(end, self.plan.faults_end or end))
                    for f in self.plan.faults:
                        work.start_soon(self.fault, f, root)
                    for a in self.plan.adversaries:
                        work.start_soon(self.adversary, a)
                    await self.at(horizon)
                    work.cancel_scope.cancel()
                self.history.add("end")
                self.phases.note("end", 1, 1)
                self.final = self.final_state()
                self.phases.note("final_state", len(self.final), len(self.groups))
                clients.cancel_scope.cancel()
            root.cancel_scope.cancel()

    def final_state(self) -> dict[bytes, dict[str, list[tuple[int, StoredEntry]]]]:
        """Every honest host's entries of every group at the end (and its fork proofs), for the
        checkers (see checkers.py)."""
        out: dict[bytes, dict[str, list[tuple[int, StoredEntry]]]] = {}
        self.note_penalties()
        for gid in self.groups:
            if gid is None:
                continue
            per_node: dict[str, list[tuple[int, StoredEntry]]] = {}
            proofs: dict[str, set[bytes]] = {}
            for sn in self.honest_hosts(gid):
                assert sn.node is not None
                entries: list[tuple[int, StoredEntry]] = []
                while page := sn.node.store.iter_group(gid, entries[-1][0] if entries else 0):
                    entries.extend(page)
                per_node[sn.name] = entries
                proofs[sn.name] = {verify_fork_proof(raw).author for raw in sn.node.fork_proofs(gid)}
            out[gid] = per_node
            self.proofs[gid] = proofs
        return out


def _message_id(group: int, author: bytes, seq: int) -> str:
    return f"{group}:{author.hex()[:16]}:{seq}"


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for sub in exc.exceptions for leaf in _leaves(sub)]
    return [exc]


def _expected(exc: BaseException) -> bool:
    """A failure the network or a node may cause (a typed transport or protocol error), as opposed
    to a bug, which must stop the run."""
    return all(isinstance(leaf, TransportError | HoldspaceError) for leaf in _leaves(exc))


def _code(exc: BaseException) -> str:
    leaf = _leaves(exc)[0]
    code = getattr(leaf, "code", None)
    return code if isinstance(code, str) else type(leaf).__name__


_WORDS: Final = (
    "today was hard",
    "thank you all",
    "I hear you",
    "me too",
    "it helped to talk",
    "one day at a time",
    "sending care",
    "I slept better",
    "still here",
)


def _text(rng: random.Random, size: int) -> str:
    words: list[str] = []
    length = 0
    while length < size:
        w = rng.choice(_WORDS)
        words.append(w)
        length += len(w) + 1
    return " ".join(words)[:size]


def run_in_trio(sim: Simulation) -> None:
    """Run ``sim`` in virtual time (a :class:`WireClock`), the scheduler in deterministic mode seeded
    from the run."""

    saved = trio_run._ALLOW_DETERMINISTIC_SCHEDULING
    state = trio_run._r.getstate()
    quiet = logging.NullHandler()  # nodes' warnings (a penalised peer...) are in the history instead
    logging.getLogger("holdspace").addHandler(quiet)
    trio_run._ALLOW_DETERMINISTIC_SCHEDULING = True  # type: ignore[misc]
    trio_run._r.seed(f"scheduler/{sim.seed}")
    try:
        with heap.collector():
            trio.run(sim.main, clock=WireClock())
    finally:
        trio_run._ALLOW_DETERMINISTIC_SCHEDULING = saved  # type: ignore[misc]
        trio_run._r.setstate(state)
        logging.getLogger("holdspace").removeHandler(quiet)


def new_directory() -> Path:
    return Path(tempfile.mkdtemp(prefix="holdspace-sim-"))


def remove_directory(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


__all__ = ["EPOCH_MS", "SimParticipant", "Simulation", "run_in_trio"]
