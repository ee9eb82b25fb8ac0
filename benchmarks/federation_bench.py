"""Federation over real QUIC on loopback: propagation, catch-up, and what a sync with nothing missing
costs, each against a baseline measured in the same run.

Nodes run in their own processes (this script with ``--serve-node``), except node B of the catch-up,
sync and live-push figures, which runs in this process so that the UDP bytes of its sockets can be
counted: the QUIC transport counts the UDP payload of each datagram a socket receives or sends (that
is the QUIC packets; IP and UDP headers, 28 bytes a datagram, are left out). B's listening socket is
read from the ``ServerStats`` of its ``serve_quic``, each connection B opens (its own socket) from
that connection's ``ConnectionStats``, and the handshakes from the ``handshake_bytes_*`` of every
connection of B; a quiet period is noticed by polling those counters (every 10 ms).

Figures:

1. Propagation. A group hosted on A, B and C, where A and C block each other (``PeerBook.blocked``),
   so an entry published on A reaches C only through B. A member publishes end-to-end encrypted
   messages on A, one at a time with a small gap; members subscribed on A, B and C note when each
   arrives. Latency p50/p99 from the publish acknowledgement on A to the subscriber on C; baseline:
   the subscriber on A itself (publish sent -> seen, both), and the ratio.
2. Catch-up. B hosts the group and has synced its first part; while B is offline A accepts M
   entries (A is filled through ``Node.ingest`` in its own store, then serves again). B starts:
   entries/s until its heads equal A's, against B's own rate of ``Node.ingest`` of the same entries
   with no network (same run, batches of 256 as a sync event carries); and the UDP bytes B's
   sockets received during the catch-up over the bytes of the missing entries (header + payload).
3. Nothing missing. Two nodes in sync sharing G groups of various sizes; B restarts: UDP bytes, both
   directions, until both pulls (B's from A, A's from B) are connected and quiet for a second.
   Baseline: no shared group (operator-added peers), so only the two handshakes and the
   connections' bookkeeping; there A restarts too, just before B, since a link with nothing to pull
   reads nothing and so never notices that its connection closed. The difference should grow with
   G, not with authors or entries.
4. Live push. Two nodes in sync; a member publishes on A; bytes on the wire each way per entry:
   A -> B carries the entries; B -> A shows whether B sends back what it just received from A.

Run: .venv/bin/python benchmarks/federation_bench.py [--quick] [--messages N] [--entries M]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import nacl.signing
import trio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from holdspace.clients.client import NodeSession, connect  # noqa: E402
from holdspace.node.core import Decision  # noqa: E402
from holdspace.node.federation import Connector, Federation, quic_connector  # noqa: E402
from holdspace.node.peering import PeerBook  # noqa: E402
from holdspace.node.server import Node, open_node  # noqa: E402
from holdspace.node.transport import ByteCounts, Connection, ServerStats, serve_quic  # noqa: E402
from holdspace.protocol import e2ee, kinds  # noqa: E402
from holdspace.protocol.address import NodeAddress  # noqa: E402
from holdspace.protocol.author import LogWriter, create_group, invite  # noqa: E402
from holdspace.protocol.entry import Entry  # noqa: E402
from holdspace.protocol.federation import ALPN_FEDERATION, heads_digest  # noqa: E402
from holdspace.protocol.frames import ALPN_CLIENT  # noqa: E402
from holdspace.protocol.group import compute_state  # noqa: E402
from holdspace.protocol.identity import Pseudonym, group_context  # noqa: E402

T0 = int(time.time() * 1000)
SEEDS = {"A": b"\x0a" * 32, "B": b"\x0b" * 32, "C": b"\x0c" * 32}
QUIET = 1.0  # seconds without a datagram that count as "idle"

Address = tuple[str, int]


def node_key(name: str) -> bytes:
    return bytes(nacl.signing.SigningKey(SEEDS[name]).verify_key)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU time of a process (this one by default), all its threads."""
    if pid is None:
        return time.process_time()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))]


def entry_bytes(entries: Sequence[Entry]) -> int:
    return sum(len(e.raw) + len(e.payload or b"") for e in entries)


def reproducible(seed: int) -> random.Random:
    """Message sizes and filler: reproducible, not secret (keys and nonces come from os.urandom)."""
    return random.Random(seed)  # noqa: S311


async def until(predicate: Callable[[], bool], within: float, interval: float = 0.005) -> bool:
    """Poll ``predicate`` (cheap store or counter reads) until it holds (True) or ``within`` s pass."""
    with trio.move_on_after(within):
        while True:
            if predicate():
                return True
            await trio.sleep(interval)
    return False


# --- bytes on the wire ------------------------------------------------------------------------------


@dataclass
class Flow:
    rx: int = 0
    tx: int = 0
    rx_datagrams: int = 0
    tx_datagrams: int = 0

    def add(self, other: Flow) -> None:
        self.rx += other.rx
        self.tx += other.tx
        self.rx_datagrams += other.rx_datagrams
        self.tx_datagrams += other.tx_datagrams

    @property
    def both(self) -> int:
        return self.rx + self.tx


@dataclass
class Link:
    """A connection of a node in this process whose handshake completed."""

    role: str  # "client": the node opened it (its pull); "server": a peer did (the peer's pull)
    conn: Connection
    at: float  # perf_counter when established


class Meter:
    """UDP bytes of the nodes in this process, from the transport's own counters: per node (label),
    its listening endpoint (role "server") and every connection it opened (role "client"), each
    counted from the last ``reset``."""

    def __init__(self) -> None:
        self.sources: dict[str, list[tuple[str, ByteCounts]]] = {}
        self.baseline: dict[int, Flow] = {}  # id(counts) -> its values at the last reset
        self.links: dict[str, list[Link]] = {}
        self.seen: dict[str, tuple[int, float]] = {}  # label -> (counters' sum, when it last changed)

    def add(self, label: str, role: str, counts: ByteCounts) -> None:
        self.sources.setdefault(label, []).append((role, counts))

    def serve(self, label: str, node: Node, port: int) -> Callable[..., Any]:
        """``serve_quic`` for ``node`` (as ``Node.serve_quic``), its listening socket counted."""
        stats = ServerStats()
        self.add(label, "server", stats)
        meter = self

        async def handler(conn: Connection) -> None:
            meter.links.setdefault(label, []).append(Link("server", conn, time.perf_counter()))
            await node.handle_connection(conn)

        return partial(
            serve_quic,
            "127.0.0.1",
            port,
            node_key=node.node_key,
            alpns=[ALPN_CLIENT, ALPN_FEDERATION],
            handler=handler,
            limits=node.limits.transport,
            stats=stats,
        )

    def connector(self, label: str, inner: Connector) -> Connector:
        """``inner``, each connection it opens counted under ``label``."""

        @asynccontextmanager
        async def connect(address: NodeAddress) -> AsyncIterator[Connection]:
            async with inner(address) as conn:
                self.add(label, "client", conn.stats)
                self.links.setdefault(label, []).append(Link("client", conn, time.perf_counter()))
                yield conn

        return connect

    @staticmethod
    def _read(counts: ByteCounts) -> Flow:
        return Flow(counts.bytes_received, counts.bytes_sent, counts.datagrams_received, counts.datagrams_sent)

    def reset(self, label: str) -> None:
        for _, counts in self.sources.get(label, []):
            self.baseline[id(counts)] = self._read(counts)
        self.links.pop(label, None)
        self.seen.pop(label, None)

    def total(self, label: str, role: str | None = None) -> Flow:
        out = Flow()
        for source_role, counts in self.sources.get(label, []):
            if role in (None, source_role):
                now, base = self._read(counts), self.baseline.get(id(counts), Flow())
                out.add(
                    Flow(
                        now.rx - base.rx,
                        now.tx - base.tx,
                        now.rx_datagrams - base.rx_datagrams,
                        now.tx_datagrams - base.tx_datagrams,
                    )
                )
        return out

    def last_change(self, label: str) -> float:
        """When ``label``'s counters last moved, as far as the calls to this method noticed."""
        flow = self.total(label)
        level = flow.both + flow.rx_datagrams + flow.tx_datagrams
        seen = self.seen.get(label)
        if seen is None or seen[0] != level:
            seen = self.seen[label] = (level, time.perf_counter())
        return seen[1]

    def handshake_bytes(self, label: str) -> int:
        return sum(
            link.conn.stats.handshake_bytes_sent + link.conn.stats.handshake_bytes_received
            for link in self.links.get(label, [])
        )

    def linked(self, label: str, peer: bytes) -> set[str]:
        """Roles of ``label``'s connections with a completed handshake with ``peer``."""
        return {link.role for link in self.links.get(label, []) if link.conn.peer_key == peer}

    def first_handshake(self, label: str) -> float | None:
        times = [link.at for link in self.links.get(label, [])]
        return min(times) if times else None


METER = Meter()


# --- workload ---------------------------------------------------------------------------------------


class Group:
    """A group whose genesis names ``creator_home`` as its first host, members joined with the given
    home nodes (each becomes a host), one epoch key for everyone, and encrypted messages on demand."""

    def __init__(self, creator_home: str, homes: Sequence[str | None], rng: random.Random) -> None:
        self.rng = rng
        self.genesis, founder = create_group(os.urandom(32), T0, home=creator_home)
        self.gid = self.genesis.entry_id
        state = compute_state(self.genesis, [])
        inv, secret = invite(founder, state, T0, role="member", expires_ms=T0 + 10**9, max_uses=len(homes) + 1)
        self.setup: list[Entry] = [self.genesis, inv]
        self.members: list[LogWriter] = [founder]
        for home in homes:
            writer = LogWriter(Pseudonym.derive(os.urandom(32), group_context(self.gid)), self.gid)
            self.setup.append(secret.join(writer, T0, home=home))
            self.members.append(writer)
        state = compute_state(self.genesis, self.setup[1:])
        epoch_key = e2ee.new_epoch_key()
        rekey = e2ee.make_rekey(state, state.heads, founder.me, epoch_key)
        self.setup.append(founder.append(kinds.REKEY, rekey.encode(), T0))
        epoch = compute_state(self.genesis, self.setup[1:]).epochs[-1]
        self.epoch_id = epoch.entry_id
        self.keys: list[e2ee.GroupKeys] = []
        for writer in self.members:
            keys = e2ee.GroupKeys(self.gid, writer.me)
            keys.accept_epoch(epoch, epoch_key)
            self.keys.append(keys)

    def text(self) -> bytes:
        """Three messages in four short (a 256-byte pad bucket), one longer (1024)."""
        size = self.rng.randint(20, 240) if self.rng.random() < 0.75 else self.rng.randint(300, 1000)
        return self.rng.randbytes(size)

    def message(self, member: int) -> Entry:
        writer, keys = self.members[member], self.keys[member]
        envelope = keys.encrypt(self.epoch_id, writer.seq + 1, self.text())
        return writer.append(kinds.MESSAGE, envelope.encode(), int(time.time() * 1000))

    def messages(self, n: int) -> list[Entry]:
        """``n`` messages, the members writing in turn."""
        return [self.message(i % len(self.members)) for i in range(n)]

    def heads_digest(self) -> bytes:
        return heads_digest({w.me.public_key: (w.seq, w.prev) for w in self.members if w.prev is not None})


def address(name: str, port: int) -> NodeAddress:
    return NodeAddress(node_key(name), "127.0.0.1", port)


# --- nodes ------------------------------------------------------------------------------------------


async def ingest_all(node: Node, entries: Sequence[Entry], batch: int) -> None:
    for start in range(0, len(entries), batch):
        chunk = entries[start : start + batch]
        results = await node.ingest([(e.raw, e.payload) for e in chunk])
        refused = [r for r in results if not isinstance(r, Decision) or r.outcome is not None]
        if refused:
            raise RuntimeError(f"{len(refused)} entries refused, first: {refused[0]!r}")


async def fill(data_dir: Path, name: str, entries: Sequence[Entry], batch: int = 1000) -> float:
    """Store ``entries`` in a node's store through ``Node.ingest`` (no network); seconds it took."""
    async with open_node(data_dir, nacl.signing.SigningKey(SEEDS[name])) as node:
        start = time.perf_counter()
        await ingest_all(node, entries, batch)
        return time.perf_counter() - start


@dataclass
class NodeSpec:
    name: str
    data_dir: Path
    port: int
    blocked: tuple[str, ...] = ()
    added: tuple[NodeAddress, ...] = ()

    def book(self) -> PeerBook:
        return PeerBook(node_key(self.name), {a.node_key: a for a in self.added}, {node_key(n) for n in self.blocked})


async def serve_node(spec: NodeSpec) -> None:
    """The body of a ``--serve-node`` process: a federated node until SIGINT."""
    key = nacl.signing.SigningKey(SEEDS[spec.name])
    async with open_node(spec.data_dir, key) as node, trio.open_nursery() as nursery:
        federation = Federation(node, spec.book(), quic_connector(key, node.limits.transport))
        await nursery.start(node.serve_quic, "127.0.0.1", spec.port)
        nursery.start_soon(federation.run)
        print("READY", flush=True)


class NodeProcess:
    """A federated node in its own process."""

    def __init__(self, spec: NodeSpec) -> None:
        self.spec = spec
        self.proc: subprocess.Popen[str] | None = None

    def _start(self) -> None:
        s = self.spec
        arg = json.dumps(
            {
                "name": s.name,
                "dir": str(s.data_dir),
                "port": s.port,
                "blocked": s.blocked,
                "added": [*map(str, s.added)],
            }
        )
        self.proc = subprocess.Popen(  # noqa: S603 - this very script, by its own path
            [sys.executable, __file__, "--serve-node", arg], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != "READY":
            raise RuntimeError(f"node {s.name} did not start")

    def _stop(self) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    async def start(self) -> None:
        await trio.to_thread.run_sync(self._start)

    def cpu(self) -> float:
        assert self.proc is not None
        return cpu_seconds(self.proc.pid)

    async def stop(self) -> None:
        await trio.to_thread.run_sync(self._stop)


class LocalNode:
    """A federated node in this process; its sockets are counted under its name."""

    def __init__(self, spec: NodeSpec) -> None:
        self.spec = spec
        self.scope = trio.CancelScope()
        self.stopped = trio.Event()
        self.node: Node | None = None
        self.federation: Federation | None = None

    async def start(self, nursery: trio.Nursery) -> Node:
        self.scope, self.stopped = trio.CancelScope(), trio.Event()
        node: Node = await nursery.start(self._run)
        return node

    async def _run(self, task_status: trio.TaskStatus[Node] = trio.TASK_STATUS_IGNORED) -> None:
        key = nacl.signing.SigningKey(SEEDS[self.spec.name])
        try:
            with self.scope:
                async with open_node(self.spec.data_dir, key) as node, trio.open_nursery() as nursery:
                    name = self.spec.name
                    connector = METER.connector(name, quic_connector(key, node.limits.transport))
                    self.federation = Federation(node, self.spec.book(), connector)
                    await nursery.start(METER.serve(name, node, self.spec.port))
                    nursery.start_soon(self.federation.run)
                    self.node = node
                    task_status.started(node)
        finally:
            self.node = None
            self.stopped.set()

    async def stop(self) -> None:
        self.scope.cancel()
        await self.stopped.wait()


async def wait_heads(node: Node, group: bytes, digest: bytes, within: float) -> float:
    """Wait until ``node`` holds exactly these heads for ``group``; returns the perf_counter then."""
    if await until(lambda: heads_digest(node.store.heads(group)) == digest, within, 0.01):
        return time.perf_counter()
    raise RuntimeError(f"no convergence within {within} s ({node.store.count(group)} entries held)")


async def wait_linked_and_quiet(label: str, peer: bytes, within: float = 60.0) -> float:
    """Wait until ``label`` has both connections with ``peer`` (its pull: client socket; the
    peer's pull: server socket) and no datagram moved for ``QUIET`` s; returns the perf_counter of
    the last datagram."""
    deadline = time.perf_counter() + within
    if await until(lambda: METER.linked(label, peer) == {"client", "server"}, within, 0.02) and await until(
        lambda: time.perf_counter() - METER.last_change(label) >= QUIET, deadline - time.perf_counter(), 0.01
    ):
        return METER.last_change(label)
    raise RuntimeError(f"{label}: links with the peer not up and quiet within {within} s")


# --- 1. propagation ---------------------------------------------------------------------------------


async def propagation(tmp: Path, messages: int, gap: float) -> dict[str, Any]:
    ports = {n: free_udp_port() for n in "ABC"}
    homes = {n: str(address(n, ports[n])) for n in "ABC"}
    group = Group(homes["A"], [homes["A"], homes["B"], homes["C"]], reproducible(1))
    # members: 0 founder (publishes on A); 1, 2, 3 subscribe on A, B, C
    specs = {
        "A": NodeSpec("A", tmp / "prop-a", ports["A"], blocked=("C",)),
        "B": NodeSpec("B", tmp / "prop-b", ports["B"]),
        "C": NodeSpec("C", tmp / "prop-c", ports["C"], blocked=("A",)),
    }
    for spec in specs.values():
        await fill(spec.data_dir, spec.name, group.setup)
    procs = [NodeProcess(spec) for spec in specs.values()]
    sent: dict[bytes, tuple[float, float]] = {}  # entry id -> (publish sent, acknowledged)
    seen: dict[str, dict[bytes, float]] = {n: {} for n in "ABC"}
    try:
        for proc in procs:
            await proc.start()

        async def subscriber(name: str, member: int, ready: trio.Event) -> None:
            async with connect(address(name, ports[name])) as s:
                await s.authenticate(group.members[member].me)
                after = (await s.fetch(group.gid, 0, 512))[1]
                ready.set()
                async with aclosing(s.subscribe(group.gid, after)) as batches:
                    async for batch in batches:
                        now = time.perf_counter()
                        for r in batch:
                            seen[name].setdefault(r.entry.entry_id, now)

        async def publish(s: NodeSession, entry: Entry) -> None:
            t_sent = time.perf_counter()
            await s.publish(entry)
            sent[entry.entry_id] = (t_sent, time.perf_counter())

        async def seen_everywhere(ids: list[bytes], within: float) -> bool:
            return await until(lambda: all(i in seen[n] for i in ids for n in "ABC"), within)

        async with trio.open_nursery() as nursery, connect(address("A", ports["A"])) as pub:
            await pub.authenticate(group.members[0].me)
            for name, member in (("A", 1), ("B", 2), ("C", 3)):
                ready = trio.Event()
                nursery.start_soon(subscriber, name, member, ready)
                await ready.wait()
            # warm-up: until an entry has crossed A -> B -> C (links up, first sync streams open)
            for _ in range(60):
                entry = group.message(0)
                await publish(pub, entry)
                if await seen_everywhere([entry.entry_id], 1.0):
                    break
            else:
                raise RuntimeError("no entry reached C through B within 60 s")
            sent.clear()
            measured = []
            for _ in range(messages):
                entry = group.message(0)
                await publish(pub, entry)
                measured.append(entry.entry_id)
                await trio.sleep(gap)
            if not await seen_everywhere(measured, 30.0):
                missing = {n: sum(i not in seen[n] for i in measured) for n in "ABC"}
                raise RuntimeError(f"entries not delivered within 30 s: {missing}")
            nursery.cancel_scope.cancel()
    finally:
        for proc in procs:
            await proc.stop()

    out: dict[str, Any] = {"messages": messages, "gap_ms": gap * 1000}
    for name in "ABC":
        from_sent = [1000 * (seen[name][i] - sent[i][0]) for i in measured]
        from_ack = [1000 * (seen[name][i] - sent[i][1]) for i in measured]
        out[name] = {
            "sent_p50": statistics.median(from_sent),
            "sent_p99": percentile(from_sent, 0.99),
            "ack_p50": statistics.median(from_ack),
            "ack_p99": percentile(from_ack, 0.99),
        }
    acks = [1000 * (sent[i][1] - sent[i][0]) for i in measured]
    out["publish_ack_p50"], out["publish_ack_p99"] = statistics.median(acks), percentile(acks, 0.99)
    return out


# --- 2. catch-up ------------------------------------------------------------------------------------


def rss_mb() -> float:
    """This process's anonymous resident memory now (Linux), in MB: heap and stacks, without the
    store's memory-mapped file pages (which the kernel can drop and reload at will)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def catch_up(tmp: Path, entries: int, initial: int, authors: int) -> dict[str, Any]:
    ports = {n: free_udp_port() for n in "AB"}
    spec_a = NodeSpec("A", tmp / "catch-a", ports["A"])
    spec_b = NodeSpec("B", tmp / "catch-b", ports["B"])
    print(f"  building {initial:,} + {entries:,} encrypted messages by {authors} authors...", flush=True)
    start = time.perf_counter()
    homes: list[str | None] = [str(address("B", ports["B"])), *[None] * (authors - 2)]
    group = Group(str(address("A", ports["A"])), homes, reproducible(2))
    first = group.messages(initial)
    first_heads = group.heads_digest()
    missing = group.messages(entries)
    final_heads = group.heads_digest()
    missing_bytes = entry_bytes(missing)
    print(f"  built in {time.perf_counter() - start:.1f} s", flush=True)

    await fill(spec_a.data_dir, "A", [*group.setup, *first])
    await fill(spec_b.data_dir, "B", group.setup)
    a, b = NodeProcess(spec_a), LocalNode(spec_b)
    out: dict[str, Any] = {"entries": entries, "initial": initial, "authors": len(group.members)}
    try:
        async with trio.open_nursery() as nursery:
            await a.start()
            node = await b.start(nursery)
            await wait_heads(node, group.gid, first_heads, 120.0)  # B hosts the group and synced its start
            await b.stop()
            await a.stop()
            print(f"  B synced the first {initial:,}; B offline; A accepts {entries:,}...", flush=True)
            out["a_fill_s"] = await fill(spec_a.data_dir, "A", missing)
            await a.start()
            METER.reset("B")
            rss_before, rss_peak = rss_mb(), [0.0]
            sampler = trio.CancelScope()

            async def sample() -> None:
                with sampler:
                    while True:
                        rss_peak[0] = max(rss_peak[0], rss_mb())
                        await trio.sleep(0.25)

            nursery.start_soon(sample)
            t0, cpu_a0, cpu_b0 = time.perf_counter(), a.cpu(), cpu_seconds()
            node = await b.start(nursery)
            t1 = await wait_heads(node, group.gid, final_heads, 1800.0)
            cpu_a, cpu_b = a.cpu() - cpu_a0, cpu_seconds() - cpu_b0
            sampler.cancel()
            out["rss_before_mb"], out["rss_peak_mb"] = rss_before, rss_peak[0]
            handshake_at = METER.first_handshake("B")
            b_pull, a_pull = METER.total("B", "client"), METER.total("B", "server")
            await b.stop()
    finally:
        await a.stop()
    out["catch_up_s"] = t1 - t0
    out["connected_ms"] = 1000 * (handshake_at - t0) if handshake_at else None
    out["rate"] = entries / (t1 - t0)
    out["cpu_a"], out["cpu_b"] = cpu_a, cpu_b
    out["missing_bytes"] = missing_bytes
    out["rx_bytes"] = b_pull.rx + a_pull.rx
    out["tx_bytes"] = b_pull.tx + a_pull.tx
    out["b_pull"] = vars(b_pull)  # B's connection to A: entries A sends, B's acks
    out["a_pull"] = vars(a_pull)  # A's connection to B (A pulls what B has)

    print("  baseline: B's Node.ingest of the same entries, no network...", flush=True)
    base_dir = tmp / "catch-base"
    await fill(base_dir, "B", [*group.setup, *first])
    out["base_s"] = await fill(base_dir, "B", missing, batch=256)
    out["base_rate"] = entries / out["base_s"]
    return out


# --- 3. nothing missing, 4. live push ---------------------------------------------------------------


@dataclass
class SyncCase:
    label: str
    groups: int
    authors: Sequence[int] = (2,)  # authors per group, cycled over the groups (at least 2)
    per_author: int = 10  # messages per author


@dataclass
class Pair:
    a: NodeProcess
    b: LocalNode
    a_address: NodeAddress
    groups: list[Group]
    entries: int
    nursery: trio.Nursery


@asynccontextmanager
async def node_pair(tmp: Path, name: str, case: SyncCase, rng: random.Random) -> AsyncIterator[Pair]:
    """A (own process) and B (this process), in sync on ``case``'s groups, both running and linked."""
    ports = {n: free_udp_port() for n in "AB"}
    home_a, home_b = address("A", ports["A"]), address("B", ports["B"])
    groups: list[Group] = []
    entries: list[Entry] = []
    for i in range(case.groups):
        n = case.authors[i % len(case.authors)]
        group = Group(str(home_a), [str(home_b), *[None] * (n - 2)], rng)
        groups.append(group)
        entries += group.setup
        entries += group.messages(case.per_author * n)
    no_group = case.groups == 0  # then only operator-added peers make the nodes link
    spec_a = NodeSpec("A", tmp / f"{name}-a", ports["A"], added=(home_b,) if no_group else ())
    spec_b = NodeSpec("B", tmp / f"{name}-b", ports["B"], added=(home_a,) if no_group else ())
    await fill(spec_a.data_dir, "A", entries)
    await fill(spec_b.data_dir, "B", entries)
    a, b = NodeProcess(spec_a), LocalNode(spec_b)
    await a.start()
    try:
        async with trio.open_nursery() as nursery:
            await b.start(nursery)
            await wait_linked_and_quiet("B", node_key("A"))
            yield Pair(a, b, home_a, groups, len(entries), nursery)
            await b.stop()
    finally:
        await a.stop()


async def nothing_missing(tmp: Path, cases: list[SyncCase]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for n, case in enumerate(cases):
        print(f"  {case.label}...", flush=True)
        async with node_pair(tmp, f"sync{n}", case, reproducible(3 + n)) as pair:
            await pair.b.stop()
            if case.groups == 0:
                # A link with no shared group reads nothing, so it never notices that its connection
                # closed and would not reconnect to the restarted B: restart A too, before B.
                await pair.a.stop()
                await pair.a.start()
            METER.reset("B")
            start = time.perf_counter()
            await pair.b.start(pair.nursery)
            last = await wait_linked_and_quiet("B", node_key("A"))
            total, handshake = METER.total("B"), METER.handshake_bytes("B")
            rows.append(
                {
                    "case": case.label,
                    "groups": case.groups,
                    "authors": sum(len(g.members) for g in pair.groups),
                    "entries": pair.entries,
                    "bytes": total.both,
                    "datagrams": total.rx_datagrams + total.tx_datagrams,
                    "handshake_bytes": handshake,
                    "after_handshake": total.both - handshake,
                    "b_pull_bytes": METER.total("B", "client").both,
                    "a_pull_bytes": METER.total("B", "server").both,
                    "settled_ms": 1000 * (last - start),
                }
            )
    for row in rows:
        row["sync_bytes"] = row["after_handshake"] - rows[0]["after_handshake"]
    return rows


async def live_push(tmp: Path, messages: int, gap: float) -> dict[str, Any]:
    case = SyncCase("live push", 1, (10,), 5)
    async with node_pair(tmp, "live", case, reproducible(9)) as pair, connect(pair.a_address) as s:
        group, node = pair.groups[0], pair.b.node
        assert node is not None
        await s.authenticate(group.members[0].me)
        METER.reset("B")
        published = []
        for _ in range(messages):
            entry = group.message(0)
            await s.publish(entry)
            published.append(entry)
            await trio.sleep(gap)
        await wait_heads(node, group.gid, group.heads_digest(), 60.0)
        await until(lambda: time.perf_counter() - METER.last_change("B") >= QUIET, 30.0, 0.01)
        pull_b, pull_a = METER.total("B", "client"), METER.total("B", "server")
    size = entry_bytes(published)
    return {
        "messages": messages,
        "entry_bytes": size,
        "a_to_b": pull_b.rx,  # entries A pushes on B's pull
        "a_to_b_acks": pull_b.tx,
        "b_to_a": pull_a.tx,  # entries B pushes on A's pull
        "b_to_a_acks": pull_a.rx,
    }


# --- report -----------------------------------------------------------------------------------------


def report(prop: dict[str, Any], cu: dict[str, Any], sync: list[dict[str, Any]], live: dict[str, Any]) -> None:
    summary: list[tuple[str, str, str, str]] = []
    print()
    print(
        f"1. propagation A -> B -> C (A and C block each other): {prop['messages']} messages, "
        f"{prop['gap_ms']:g} ms apart"
    )
    print(
        f"   publish acknowledged on A after p50 {prop['publish_ack_p50']:.2f} ms, p99 {prop['publish_ack_p99']:.2f} ms"
    )
    print(f"   {'subscriber on':22s} {'publish sent -> seen':>24s} {'ack on A -> seen':>24s}   (p50 / p99, ms)")
    for name, what in (("A", "A (baseline, 0 hops)"), ("B", "B (1 hop)"), ("C", "C (2 hops, via B)")):
        r = prop[name]
        print(f"   {what:22s} {r['sent_p50']:11.2f} / {r['sent_p99']:8.2f}  {r['ack_p50']:11.2f} / {r['ack_p99']:8.2f}")
    a, c = prop["A"], prop["C"]
    print(
        f"   ratio C / A (publish sent -> seen): p50 {c['sent_p50'] / a['sent_p50']:.1f} x, "
        f"p99 {c['sent_p99'] / a['sent_p99']:.1f} x"
    )
    summary.append(
        (
            "propagation ack on A -> seen on C, p50 / p99",
            f"{c['ack_p50']:.1f} / {c['ack_p99']:.1f} ms",
            "",
            "",
        )
    )
    summary.append(
        (
            "propagation sent -> seen on C vs on A, p50",
            f"{c['sent_p50']:.1f} ms",
            f"{a['sent_p50']:.1f} ms",
            f"{c['sent_p50'] / a['sent_p50']:.1f} x",
        )
    )
    summary.append(
        (
            "propagation sent -> seen on C vs on A, p99",
            f"{c['sent_p99']:.1f} ms",
            f"{a['sent_p99']:.1f} ms",
            f"{c['sent_p99'] / a['sent_p99']:.1f} x",
        )
    )

    print()
    wire = cu["rx_bytes"] / cu["missing_bytes"]
    print(
        f"2. catch-up: {cu['entries']:,} entries by {cu['authors']} authors missed by B "
        f"({cu['missing_bytes'] / cu['entries']:.0f} B per entry on average), after {cu['initial']:,} synced"
    )
    print(f"   A accepted them through Node.ingest at {cu['entries'] / cu['a_fill_s']:,.0f} entries/s (B offline)")
    connected = f"{cu['connected_ms']:.0f} ms" if cu["connected_ms"] is not None else "?"
    print(
        f"   B caught up in {cu['catch_up_s']:.2f} s (first handshake after {connected}): "
        f"{cu['rate']:,.0f} entries/s; baseline Node.ingest on B, no network: {cu['base_rate']:,.0f} entries/s "
        f"-> {cu['rate'] / cu['base_rate']:.2f} x"
    )
    span = cu["catch_up_s"]
    print(
        f"   CPU during the catch-up: node A {cu['cpu_a']:.1f} s ({cu['cpu_a'] / span:.0%} of a core), "
        f"B's process {cu['cpu_b']:.1f} s ({cu['cpu_b'] / span:.0%})"
    )
    print(
        f"   anonymous memory of B's process (which also holds the benchmark's built entries): "
        f"{cu['rss_before_mb']:.0f} MB before the catch-up, peak {cu['rss_peak_mb']:.0f} MB during it"
    )
    bp, ap = cu["b_pull"], cu["a_pull"]
    print(
        f"   UDP bytes received by B: {cu['rx_bytes']:,} for {cu['missing_bytes']:,} bytes of entries: {wire:.3f} "
        f"(target <= 1.10); B sent {cu['tx_bytes']:,}"
    )
    print(
        f"     on B's pull from A: received {bp['rx']:,} in {bp['rx_datagrams']:,} datagrams, sent {bp['tx']:,} "
        f"in {bp['tx_datagrams']:,}; on A's pull from B: received {ap['rx']:,}, sent {ap['tx']:,}"
    )
    summary.append(
        (
            "catch-up rate vs Node.ingest",
            f"{cu['rate']:,.0f} /s",
            f"{cu['base_rate']:,.0f} /s",
            f"{cu['rate'] / cu['base_rate']:.2f} x",
        )
    )
    summary.append(
        ("catch-up bytes received / entry bytes", f"{cu['rx_bytes']:,}", f"{cu['missing_bytes']:,}", f"{wire:.3f}")
    )

    print()
    print("3. nothing missing: B restarts; UDP bytes both ways until both pulls are linked and quiet")
    print(
        f"   {'case':32s} {'groups':>6s} {'authors':>7s} {'entries':>7s} {'bytes':>8s} {'handshk':>8s} "
        f"{'after':>8s} {'sync':>7s} {'/group':>7s} {'settled':>8s}"
    )
    for row in sync:
        per_group = f"{row['sync_bytes'] / row['groups']:.0f}" if row["groups"] else "-"
        print(
            f"   {row['case']:32s} {row['groups']:6d} {row['authors']:7d} {row['entries']:7d} {row['bytes']:8,d} "
            f"{row['handshake_bytes']:8,d} {row['after_handshake']:8,d} {row['sync_bytes']:7,d} {per_group:>7s} "
            f"{row['settled_ms']:6.0f}ms"
        )
    print("   (handshk: both handshakes up to completion; after: the rest; sync: after minus the baseline's after)")
    for row in sync[1:]:
        summary.append(
            (
                f"restart sync bytes, {row['case']}",
                f"{row['bytes']:,}",
                f"{sync[0]['bytes']:,}",
                f"{row['sync_bytes']:+,}",
            )
        )

    print()
    n = live["messages"]
    print(f"4. live push: {n} messages published on A ({live['entry_bytes'] / n:.0f} B per entry), B in sync")
    print(
        f"   A -> B on B's pull: {live['a_to_b'] / n:.0f} B per entry ({live['a_to_b'] / live['entry_bytes']:.2f} x "
        f"the entry bytes), B's acks {live['a_to_b_acks'] / n:.0f} B per entry"
    )
    print(
        f"   B -> A on A's pull: {live['b_to_a'] / n:.0f} B per entry ({live['b_to_a'] / live['entry_bytes']:.2f} x), "
        f"A's acks {live['b_to_a_acks'] / n:.0f} B per entry"
    )
    summary.append(
        (
            "live push bytes per entry A -> B",
            f"{live['a_to_b'] / n:.0f}",
            f"{live['entry_bytes'] / n:.0f}",
            f"{live['a_to_b'] / live['entry_bytes']:.2f}",
        )
    )
    summary.append(
        (
            "live push bytes per entry B -> A (sent back)",
            f"{live['b_to_a'] / n:.0f}",
            f"{live['entry_bytes'] / n:.0f}",
            f"{live['b_to_a'] / live['entry_bytes']:.2f}",
        )
    )

    print()
    print(f"{'figure':48s} {'value':>16s} {'baseline':>16s} {'ratio':>9s}")
    for figure, value, baseline, ratio in summary:
        print(f"{figure:48s} {value:>16s} {baseline:>16s} {ratio:>9s}")


# --- main -------------------------------------------------------------------------------------------


def sync_cases(quick: bool) -> list[SyncCase]:
    if quick:
        return [
            SyncCase("no shared group (baseline)", 0),
            SyncCase("1 group, 5 authors", 1, (5,), 5),
            SyncCase("1 group, 50 authors", 1, (50,), 5),
            SyncCase("10 groups, 2-10 authors", 10, (2, 5, 10), 3),
        ]
    return [
        SyncCase("no shared group (baseline)", 0),
        SyncCase("1 group, 10 authors", 1, (10,), 10),
        SyncCase("1 group, 200 authors", 1, (200,), 10),
        SyncCase("10 groups, 2-50 authors", 10, (2, 5, 10, 20, 50), 5),
        SyncCase("100 groups, 2-20 authors", 100, (2, 3, 5, 10, 20), 3),
    ]


async def main(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="holdspace-federation-bench-", dir=args.dir) as tmp_name:
        tmp = Path(tmp_name)
        print(f"1. propagation: {args.messages} messages...", flush=True)
        prop = await propagation(tmp, args.messages, args.gap_ms / 1000)
        print(f"2. catch-up: {args.entries:,} entries...", flush=True)
        cu = await catch_up(tmp, args.entries, args.initial, args.authors)
        print("3. nothing missing...", flush=True)
        sync = await nothing_missing(tmp, sync_cases(args.quick))
        print("4. live push...", flush=True)
        live = await live_push(tmp, args.live, args.gap_ms / 1000)
    report(prop, cu, sync, live)
    print(f"\n(total {time.perf_counter() - started:.0f} s)")
    if args.json:
        print(json.dumps({"propagation": prop, "catch_up": cu, "nothing_missing": sync, "live_push": live}, indent=1))


def serve_node_main(arg: str) -> None:
    raw = json.loads(arg)
    spec = NodeSpec(
        raw["name"],
        Path(raw["dir"]),
        raw["port"],
        blocked=tuple(raw["blocked"]),
        added=tuple(NodeAddress.parse(a) for a in raw["added"]),
    )
    try:
        trio.run(serve_node, spec)
    except* KeyboardInterrupt:  # SIGINT from the benchmark: the node closed its store on the way out
        pass


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small numbers: a smoke run of well under a minute")
    parser.add_argument("--messages", type=int, default=None, help="propagation: measured messages (200)")
    parser.add_argument("--gap-ms", type=float, default=20.0, help="pause between two published messages")
    parser.add_argument("--entries", type=int, default=None, help="catch-up: entries B misses (100,000)")
    parser.add_argument("--initial", type=int, default=None, help="catch-up: entries B synced before (1,000)")
    parser.add_argument("--authors", type=int, default=20, help="catch-up: authors of the group")
    parser.add_argument("--live", type=int, default=None, help="live push: messages published (200)")
    parser.add_argument("--dir", type=Path, default=None, help="where to create the stores (a temp dir)")
    parser.add_argument("--json", action="store_true", help="also print every figure as JSON")
    parser.add_argument("--serve-node", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_node:
        serve_node_main(args.serve_node)
        sys.exit(0)
    defaults = {"messages": (200, 40), "entries": (100_000, 3_000), "initial": (1_000, 300), "live": (200, 50)}
    for name, (full, quick) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    trio.run(main, args)
