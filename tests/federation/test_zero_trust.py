"""Zero trust between federated nodes (spec 16.5), over real QUIC on loopback.

A node trusts no peer, not even a listed host of the group: whatever a peer offers or serves gets the
checks a client's entry gets, a typed refusal when it fails them, and nothing of it is stored. After
``PENALTY_STRIKES`` refusals the peer is cut off and refused while honest clients and peers carry on.
A blocked node is never talked to; an equivocation is proven on every host; a node that is not a
host of a group gets nothing of it; a connection without a node certificate is closed.

The malicious nodes here are raw federation endpoints holding their own node key: a client made with
``connect_quic(..., client_key=...)``, or a server made with ``serve_quic``, speaking the frames of
``protocol.federation`` by hand.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import nacl.signing
import pytest
import trio

from holdspace.clients.client import connect
from holdspace.node.federation import CLOSE_PENALISED, CLOSE_REFUSED, RETRY_MIN
from holdspace.node.limits import NodeLimits, default_transport_limits
from holdspace.node.peering import PENALTY_STRIKES
from holdspace.node.server import now_ms
from holdspace.node.transport.base import EndOfStream, TransportClosed, TransportError
from holdspace.node.transport.quic import QuicConnectionHandle, QuicMessageStream, connect_quic, serve_quic
from holdspace.protocol import author, codec, kinds, signing
from holdspace.protocol.address import NodeAddress
from holdspace.protocol.entry import Entry, create_entry, decode_entry
from holdspace.protocol.errors import CODES, HoldspaceError
from holdspace.protocol.federation import (
    ALPN_FEDERATION,
    decode_fed_request,
    digest_plan,
    encode_digests,
    encode_entries_event,
    encode_fork_event,
    encode_offer,
    encode_sync,
    sync_plan,
)
from holdspace.protocol.frames import MAX_FRAME, encode_ok, encode_request
from holdspace.protocol.group import GroupState, compute_state
from holdspace.protocol.identity import Pseudonym
from holdspace.protocol.log import verify_fork_proof
from holdspace.protocol.payloads import MEMBER, MessageEnvelope
from tests.federation.conftest import Running, converged, entry_ids, federated_node, free_udp_port

ENVELOPE = MessageEnvelope(b"\x01" * 32, 0, b"\x02" * 24, b"\x03" * 40, commitment=bytes(32)).encode()
TWIN_ENVELOPE = MessageEnvelope(b"\x01" * 32, 0, b"\x02" * 24, b"\x04" * 40, commitment=bytes(32)).encode()
HOUR_MS = 3_600_000


def seed(n: int) -> bytes:
    return bytes([n]) * 32


def node_key(n: int) -> nacl.signing.SigningKey:
    return nacl.signing.SigningKey(seed(n))


def nowhere(key: nacl.signing.SigningKey) -> NodeAddress:
    """An address for a node key where nothing listens (a host that never serves)."""
    return NodeAddress(bytes(key.verify_key), "127.0.0.1", free_udp_port())


# -- a group's creator, writing its log by hand ----------------------------------------------------


class Founder:
    """A group's creator: its log (genesis, host entries, messages) built without client state."""

    def __init__(self, home: NodeAddress) -> None:
        self.genesis, self.writer = author.create_group(os.urandom(32), now_ms(), home=str(home))
        self.log: list[Entry] = [self.genesis]

    @property
    def group(self) -> bytes:
        return self.genesis.entry_id

    @property
    def me(self) -> Pseudonym:
        return self.writer.me

    def state(self) -> GroupState:
        controls = [e for e in self.log if e.kind != kinds.GENESIS and kinds.is_control(e.kind)]
        return compute_state(self.genesis, controls)

    def add_host(self, address: NodeAddress) -> Entry:
        entry = author.host(self.writer, self.state(), str(address), now_ms())
        self.log.append(entry)
        return entry

    def message(self, body: bytes = ENVELOPE) -> Entry:
        entry = self.writer.append(kinds.MESSAGE, body, now_ms())
        self.log.append(entry)
        return entry

    def unsent(self, *, seq: int | None = None, prev: bytes | None = None, timestamp_ms: int | None = None) -> Entry:
        """A message signed by the founder that does not advance its log (a probe, never published)."""
        return create_entry(
            self.me,
            group=self.group,
            seq=self.writer.seq + 1 if seq is None else seq,
            prev=self.writer.prev if prev is None else prev,
            timestamp_ms=now_ms() if timestamp_ms is None else timestamp_ms,
            kind=kinds.MESSAGE,
            payload=ENVELOPE,
        )


async def publish(target: Running | NodeAddress, who: Pseudonym, entries: Iterable[Entry]) -> None:
    """Publish through the client protocol (the node's own checks apply)."""
    address = target.address if isinstance(target, Running) else target
    async with connect(address) as s:
        await s.authenticate(who)
        for entry in entries:
            await s.publish(entry)


def impersonation(entry: Entry, forger: Pseudonym) -> bytes:
    """``entry``'s header re-signed by ``forger`` while still naming the real author."""
    fields = codec.decode(entry.raw)
    assert isinstance(fields, dict)
    return codec.encode(signing.sign_fields(signing.DOMAIN_ENTRY, fields, forger.seed))


def header_id(header: bytes) -> bytes:
    """The entry id a header names (its signature unchecked)."""
    return decode_entry(header, None, now_ms=None, verify=False).entry_id


def stranger_message(group: bytes) -> Entry:
    return create_entry(
        Pseudonym.generate(), group=group, seq=1, prev=None, timestamp_ms=now_ms(), kind=kinds.MESSAGE, payload=ENVELOPE
    )


def snapshot(running: Running, group: bytes) -> tuple[int, dict[bytes, tuple[int, bytes]]]:
    """What a node holds of a group: its entry count and log heads."""
    return running.node.store.count(group), running.node.store.heads(group)


# -- a malicious node as a raw federation client -----------------------------------------------------


def fed_connect(
    target: Running, key: nacl.signing.SigningKey | None
) -> AbstractAsyncContextManager[QuicConnectionHandle]:
    """A federation connection to ``target``, presenting ``key`` as node certificate (None: none)."""
    return connect_quic(
        "127.0.0.1",
        target.address.port,
        expected_key=target.node.public_key,
        alpn=ALPN_FEDERATION,
        limits=default_transport_limits(),
        client_key=key,
    )


async def receive_map(stream: QuicMessageStream) -> dict[str, codec.CborValue]:
    """The next frame on ``stream``, as the map it must be."""
    with trio.fail_after(10):
        value = codec.decode(await stream.receive(), max_size=MAX_FRAME)
    assert isinstance(value, dict), value
    return value


async def exchange(conn: QuicConnectionHandle, frame: bytes) -> dict[str, codec.CborValue]:
    """One request on a fresh stream; the answer as the wire map (``{"ok": ...}`` or ``{"err": ...}``)."""
    stream = await conn.open_stream()
    await stream.send(frame)
    await stream.finish()
    return await receive_map(stream)


def error_code(answer: dict[str, codec.CborValue]) -> str:
    """The typed code of an ``{"err": {"code", "msg"}}`` answer (anything else fails the test)."""
    assert answer.keys() == {"err"}, f"expected an error answer, got {answer!r:.200}"
    err = answer["err"]
    assert isinstance(err, dict) and isinstance(err.get("msg"), str)
    code = err.get("code")
    assert isinstance(code, str) and code in CODES, code
    return code


def ok(answer: dict[str, codec.CborValue]) -> dict[str, codec.CborValue]:
    assert answer.keys() == {"ok"}, f"expected an ok answer, got {answer!r:.200}"
    value = answer["ok"]
    assert isinstance(value, dict)
    return value


async def closed_by_node(conn: QuicConnectionHandle, probe: bytes) -> TransportError:
    """The node closed ``conn``: a further request is never answered."""
    with trio.fail_after(10), pytest.raises(TransportError) as caught:
        await exchange(conn, probe)
    return caught.value


async def refused_connection(target: Running, key: nacl.signing.SigningKey | None, probe: bytes) -> TransportError:
    """A new federation connection with ``key`` is closed before any request is answered."""
    with trio.fail_after(10), pytest.raises(TransportError) as caught:
        async with fed_connect(target, key) as conn:
            await exchange(conn, probe)
    return caught.value


def closed_with(err: TransportError, code: int, reason: str) -> None:
    assert isinstance(err, TransportClosed), repr(err)
    assert (err.error_code, err.reason) == (code, reason), repr(err)


# -- a malicious node as a federation server --------------------------------------------------------


class HostileServer:
    """Serves sync streams of made-up ``entries`` events, and records what the puller says back."""

    def __init__(self, key: nacl.signing.SigningKey, events: list[bytes]) -> None:
        self.key = key
        self.events = events
        self.connections = 0
        self.rejected: list[tuple[bytes, str]] = []
        self.dropped = trio.Event()
        self.drop_error: TransportError | None = None

    async def serve(self, *, task_status: trio.TaskStatus[tuple[str, int]] = trio.TASK_STATUS_IGNORED) -> None:
        await serve_quic(
            "127.0.0.1",
            0,
            node_key=self.key,
            alpns=[ALPN_FEDERATION],
            handler=self.handle,
            limits=default_transport_limits(),
            task_status=task_status,
        )

    async def handle(self, conn: QuicConnectionHandle) -> None:
        self.connections += 1
        async with trio.open_nursery() as nursery:
            while True:
                try:
                    stream = await conn.accept_stream()
                except TransportError:
                    break
                nursery.start_soon(self.serve_stream, stream)

    async def serve_stream(self, stream: QuicMessageStream) -> None:
        request = decode_fed_request(await stream.receive())
        if request.op == "digests":
            groups: list[codec.CborValue] = [g for g, _digest in digest_plan(request)]
            await stream.send(encode_ok({"differ": groups, "same": [], "refused": []}))
            await stream.finish()
            return
        assert request.op == "sync"
        await stream.send(encode_ok({"groups": [[g, None] for g, _after, _have in sync_plan(request)]}))
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self.push, stream)
            try:
                while True:
                    value = codec.decode(await stream.receive(), max_size=4096)
                    assert isinstance(value, dict) and value.get("ev") == "rejected", value
                    ref, code = value["id"], value["code"]
                    assert isinstance(ref, bytes) and isinstance(code, str)
                    self.rejected.append((ref, code))
            except TransportError as err:
                self.drop_error = err
                self.dropped.set()
            nursery.cancel_scope.cancel()

    async def push(self, stream: QuicMessageStream) -> None:
        try:
            for frame in self.events:
                await stream.send(frame)
        except TransportError:
            return
        await trio.sleep_forever()


# -- 1. a listed host offering garbage -------------------------------------------------------------


async def test_listed_host_offering_invalid_entries_and_frames_is_refused_then_cut_off(tmp_path: Path) -> None:
    mallory_key = node_key(66)
    async with (
        federated_node(tmp_path / "a", seed(1)) as a,
        federated_node(tmp_path / "b", seed(2)) as b,
    ):
        founder = Founder(a.address)
        founder.add_host(b.address)
        founder.add_host(nowhere(mallory_key))  # mallory's node is a listed host of the group
        founder.message()
        gid = founder.group
        for node in (a, b):
            await publish(node, founder.me, founder.log)
        assert bytes(mallory_key.verify_key) in a.node.core.group_hosts(gid)
        await converged([a, b], gid)

        other = Founder(a.address)  # a group A hosts and mallory's node does not
        stranger = Pseudonym.generate()
        forged = founder.unsent()
        nonmember = stranger_message(gid)
        invite, _secret = author.invite(
            author.LogWriter(stranger, gid), founder.state(), now_ms(), role=MEMBER, expires_ms=now_ms() + HOUR_MS
        )
        foreign = create_entry(
            founder.me,
            group=other.group,
            seq=1,
            prev=None,
            timestamp_ms=now_ms(),
            kind=kinds.MESSAGE,
            payload=ENVELOPE,
        )
        gap = founder.unsent(seq=founder.writer.seq + 2, prev=os.urandom(32))
        unchained = founder.unsent(prev=os.urandom(32))
        new_group, _ = author.create_group(os.urandom(32), now_ms(), home=str(a.address))
        _, secret = author.invite(
            author.LogWriter(Pseudonym.generate(), gid), founder.state(), now_ms(), role=MEMBER, expires_ms=HOUR_MS
        )
        join = secret.join(author.LogWriter(Pseudonym.generate(), gid), now_ms())
        attacks: list[tuple[bytes, str]] = [
            (b"\xff\x00garbage", "proto.malformed_frame"),
            (codec.encode({"op": "launch"}), "proto.unknown_op"),
            (encode_request("offer", e=forged.raw), "proto.malformed_frame"),
            (
                encode_request("digests", groups=[[b"\x09" * 32, bytes(32)], [b"\x01" * 32, bytes(32)]]),
                "proto.malformed_frame",
            ),
            (encode_request("sync", groups=[]), "proto.malformed_frame"),
            # offer relays a client's join: any other kind is refused before anything is checked
            (encode_offer(impersonation(forged, stranger), forged.payload), "proto.malformed_frame"),
            (encode_offer(nonmember.raw, nonmember.payload), "proto.malformed_frame"),
            (encode_offer(invite.raw, invite.payload), "proto.malformed_frame"),
            (encode_offer(foreign.raw, foreign.payload), "proto.malformed_frame"),
            (encode_offer(new_group.raw, new_group.payload), "proto.malformed_frame"),
            (encode_offer(forged.raw, ENVELOPE + b"!"), "proto.malformed_frame"),
            (encode_offer(impersonation(join, stranger), join.payload), "entry.bad_signature"),
            (encode_offer(join.raw, join.payload + b"!"), "entry.payload_mismatch"),
        ]
        attempted = [forged, nonmember, invite, foreign, gap, unchained, new_group]
        attempted_ids = [e.entry_id for e in attempted] + [header_id(impersonation(forged, stranger))]
        before_a, before_b = snapshot(a, gid), snapshot(b, gid)
        groups_a = a.node.store.groups()
        probe = encode_digests({gid: bytes(32)})

        async with fed_connect(a, mallory_key) as spare, fed_connect(a, mallory_key) as conn:
            assert ok(await exchange(spare, probe))["differ"] == [gid]
            codes = []
            for frame, _expected in attacks:
                codes.append(error_code(await exchange(conn, frame)))
            assert codes == [expected for _frame, expected in attacks]
            while len(codes) < PENALTY_STRIKES - 1:  # more forgeries, up to one short of the threshold
                codes.append(error_code(await exchange(conn, encode_offer(impersonation(forged, stranger), None))))
            assert ok(await exchange(conn, probe))["differ"] == [gid]  # still served so far
            last = await exchange(conn, encode_offer(nonmember.raw, nonmember.payload))  # the 16th strike
            assert error_code(last) == "proto.malformed_frame"
            closed_with(await closed_by_node(conn, probe), CLOSE_PENALISED, "fed.penalised")
            closed_with(await closed_by_node(spare, probe), CLOSE_PENALISED, "fed.penalised")  # every connection

        # nothing of what it sent is stored, on A or anywhere
        assert snapshot(a, gid) == before_a and snapshot(b, gid) == before_b
        assert a.node.store.groups() == groups_a  # the offered genesis made no new group
        for eid in attempted_ids:
            assert not a.node.store.has(eid) and not b.node.store.has(eid)
        assert not a.node.fork_proofs(gid)

        # its node key is refused from now on, even with a valid entry
        now = trio.current_time()
        assert a.federation.book.refusal(bytes(mallory_key.verify_key), now) == "fed.penalised"
        valid = founder.message()
        err = await refused_connection(a, mallory_key, encode_offer(valid.raw, valid.payload))
        closed_with(err, CLOSE_PENALISED, "fed.penalised")
        assert not a.node.store.has(valid.entry_id)

        # another node key is served (the penalty is the peer's, not everybody's)
        async with fed_connect(a, node_key(77)) as conn:
            assert ok(await exchange(conn, probe))["refused"] == [[gid, "fed.not_host"]]

        # honest clients and the honest peer carry on
        await publish(a, founder.me, [valid])
        await converged([a, b], gid)
        await publish(b, founder.me, [founder.message()])
        await converged([a, b], gid)
        assert entry_ids(a, gid) == entry_ids(b, gid)
        async with connect(b.address) as s:
            await s.authenticate(founder.me)
            received = await s.fetch_all(gid)
        assert valid.entry_id in {r.entry.entry_id for r in received}


# -- 2. a listed host serving garbage ---------------------------------------------------------------


async def test_honest_node_pulling_from_a_hostile_host_stores_nothing_rejects_and_drops_it(tmp_path: Path) -> None:
    mallory_key = node_key(66)
    mallory_id = bytes(mallory_key.verify_key)
    mallory = HostileServer(mallory_key, [])
    async with federated_node(tmp_path / "h", seed(1)) as h, trio.open_nursery() as nursery:
        host, port = await nursery.start(mallory.serve)
        founder = Founder(h.address)
        founder.add_host(NodeAddress(mallory_id, host, port))  # mallory's node is a listed host
        other = Founder(h.address)  # another group on H, of which mallory's node is no host
        other.message()
        await publish(h, other.me, other.log)

        relayed = founder.unsent()  # valid and new to H: a host relaying it does its job
        forged = founder.unsent(seq=relayed.seq + 1, prev=relayed.entry_id)
        nonmember = stranger_message(founder.group)
        foreign = other.unsent()  # valid, but of the other group
        tampered = founder.unsent(seq=relayed.seq + 1, prev=relayed.entry_id, timestamp_ms=now_ms() - 1)
        forged_raw = impersonation(forged, Pseudonym.generate())
        bad: list[codec.CborValue] = [
            [1, forged_raw, forged.payload],
            [2, nonmember.raw, nonmember.payload],
            [3, foreign.raw, foreign.payload],
            [4, tampered.raw, ENVELOPE + b"!"],
        ]
        first = encode_entries_event(founder.group, [[0, relayed.raw, relayed.payload], *bad], 4)
        unpulled = encode_entries_event(other.group, [[5, foreign.raw, foreign.payload]], 5)
        bogus_proof = encode_fork_event(founder.group, codec.encode({"v": 1, "a": relayed.raw, "b": relayed.raw}))
        repeats = (encode_entries_event(founder.group, bad, 5 + 4 * i) for i in range(1, 8))
        mallory.events = [first, unpulled, bogus_proof, *repeats]
        probe = encode_digests({founder.group: bytes(32)})
        before_other = snapshot(h, other.group)

        async with fed_connect(h, mallory_key) as inbound:  # mallory's node also holds a connection to H
            assert ok(await exchange(inbound, probe))["refused"] == [[founder.group, "fed.not_host"]]
            await publish(h, founder.me, founder.log)  # H now hosts the group, links to mallory's node
            with trio.fail_after(15):
                await mallory.dropped.wait()
            # at the threshold every connection with mallory's node is closed, both directions
            assert mallory.drop_error is not None
            closed_with(mallory.drop_error, CLOSE_PENALISED, "fed.penalised")
            closed_with(await closed_by_node(inbound, probe), CLOSE_PENALISED, "fed.penalised")

        # the valid relayed entry is stored, none of the invalid ones
        assert h.node.store.has(relayed.entry_id)
        for eid in (header_id(forged_raw), forged.entry_id, nonmember.entry_id, foreign.entry_id, tampered.entry_id):
            assert not h.node.store.has(eid)
        assert h.node.store.count(founder.group) == len(founder.log) + 1
        assert set(h.node.store.heads(founder.group)) == {founder.me.public_key}
        assert snapshot(h, other.group) == before_other
        assert not h.node.fork_proofs(founder.group)
        # each refusal was named back on the sync stream, up to the threshold
        assert len(mallory.rejected) == PENALTY_STRIKES
        assert {
            (header_id(forged_raw), "entry.bad_signature"),
            (nonmember.entry_id, "group.not_member"),
            (foreign.entry_id, "fed.wrong_group"),
            (tampered.entry_id, "entry.payload_mismatch"),
            (bytes(32), "proto.malformed_frame"),  # an event of a group that was not pulled
            (bytes(32), "log.bad_fork_proof"),
        } == set(mallory.rejected)
        # H stays away, and refuses mallory's node
        assert h.federation.book.refusal(mallory_id, trio.current_time()) == "fed.penalised"
        assert mallory_id not in h.federation.connected
        await trio.sleep(RETRY_MIN * 3)
        assert mallory.connections == 1
        closed_with(await refused_connection(h, mallory_key, probe), CLOSE_PENALISED, "fed.penalised")
        # H keeps serving its clients
        founder.writer.seq, founder.writer.prev = relayed.seq, relayed.entry_id
        await publish(h, founder.me, [founder.message()])
        assert h.node.store.count(founder.group) == len(founder.log) + 1
        nursery.cancel_scope.cancel()


# -- 3. a blocked peer -----------------------------------------------------------------------------


async def test_blocked_peer_is_refused_and_never_linked_while_the_group_converges_through_others(
    tmp_path: Path,
) -> None:
    c_key = node_key(3)
    c_id = bytes(c_key.verify_key)
    async with (
        federated_node(tmp_path / "a", seed(1), blocked=frozenset({c_id})) as a,
        federated_node(tmp_path / "b", seed(2)) as b,
        federated_node(tmp_path / "c", seed(3)) as c,
    ):
        founder = Founder(a.address)
        founder.add_host(b.address)
        founder.add_host(c.address)
        gid = founder.group
        for node in (a, b, c):
            await publish(node, founder.me, founder.log)
        assert set(a.node.core.group_hosts(gid)) == {a.node.public_key, b.node.public_key, c_id}
        # new entries on A and on C only meet through B
        await publish(a, founder.me, [founder.message()])
        await publish(c, founder.me, [founder.message()])
        await converged([a, b, c], gid)
        assert entry_ids(a, gid) == entry_ids(b, gid) == entry_ids(c, gid)
        assert len(entry_ids(a, gid)) == len(founder.log)
        # A never links to C, and refuses C's connections; C and B link as usual
        assert set(a.federation.links) == {b.node.public_key}
        assert a.federation.connected == {b.node.public_key}
        assert b.federation.connected == {a.node.public_key, c_id}
        probe = encode_digests({gid: bytes(32)})
        closed_with(await refused_connection(a, c_key, probe), CLOSE_REFUSED, "fed.blocked")
        async with fed_connect(a, node_key(2)) as conn:  # B's key, on the same node, is served
            assert ok(await exchange(conn, probe))["differ"] == [gid]


# -- 4. equivocation -------------------------------------------------------------------------------


async def publish_or_fork(node: Running, who: Pseudonym, entry: Entry) -> str:
    """Publish ``entry``; "ok", or the code of a refusal (log.fork if the twin got there first)."""
    try:
        await publish(node, who, [entry])
    except HoldspaceError as err:
        return err.code
    return "ok"


async def fork_proofs_everywhere(nodes: list[Running], group: bytes, within: float = 20.0) -> None:
    """Wait until every node holds a fork proof for ``group`` (a new proof wakes the group's event)."""
    with trio.fail_after(within):
        for running in nodes:
            while True:
                event = running.node.group_event(group)  # taken before the check: no lost wake-up
                if running.node.fork_proofs(group):
                    break
                await event.wait()


async def test_equivocation_on_two_nodes_is_proven_on_every_host_and_shown_to_clients(tmp_path: Path) -> None:
    async with (
        federated_node(tmp_path / "a", seed(1)) as a,
        federated_node(tmp_path / "b", seed(2)) as b,
        federated_node(tmp_path / "c", seed(3)) as c,
    ):
        founder = Founder(a.address)
        founder.add_host(b.address)
        founder.add_host(c.address)
        founder.message()
        gid = founder.group
        for node in (a, b, c):
            await publish(node, founder.me, founder.log)
        await converged([a, b, c], gid)
        # one position of the founder's log, signed twice: one entry to A, the other to B
        seq, prev = founder.writer.seq, founder.writer.prev
        one = founder.writer.append(kinds.MESSAGE, ENVELOPE, now_ms())
        founder.writer.seq, founder.writer.prev = seq, prev
        other = founder.writer.append(kinds.MESSAGE, TWIN_ENVELOPE, now_ms())
        assert (one.seq, one.prev) == (other.seq, other.prev) and one.entry_id != other.entry_id
        outcomes: list[str] = []

        async def send(node: Running, entry: Entry) -> None:
            outcomes.append(await publish_or_fork(node, founder.me, entry))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(send, a, one)
            nursery.start_soon(send, b, other)
        assert "ok" in outcomes and set(outcomes) <= {"ok", "log.fork"}

        await fork_proofs_everywhere([a, b, c], gid)
        expected = [(founder.me.public_key, gid, one.seq, {one.entry_id, other.entry_id})]
        for node in (a, b, c):
            proofs = [verify_fork_proof(raw) for raw in node.node.fork_proofs(gid)]
            assert [(p.author, p.group, p.first.seq, {p.first.entry_id, p.second.entry_id}) for p in proofs] == expected
            # neither twin is stored twice over: each node holds at most one entry at that position
            stored = {e for e in (one.entry_id, other.entry_id) if node.node.store.has(e)}
            assert len(stored) == 1
            async with connect(node.address) as s:
                await s.authenticate(founder.me)
                state = await s.state(gid)
            forks = state["forks"]
            assert isinstance(forks, list) and len(forks) == 1 and isinstance(forks[0], bytes)
            assert verify_fork_proof(forks[0]).author == founder.me.public_key


# -- 5. who may pull ------------------------------------------------------------------------------


async def events_for(stream: QuicMessageStream, seconds: float) -> list[dict[str, codec.CborValue]]:
    """Every event the node sends on a sync stream within ``seconds``."""
    events: list[dict[str, codec.CborValue]] = []
    with trio.move_on_after(seconds):
        while True:
            value = await receive_map(stream)
            assert isinstance(value.get("ev"), str), value
            events.append(value)
    return events


async def test_only_listed_hosts_may_pull_a_group_and_a_connection_needs_a_node_certificate(tmp_path: Path) -> None:
    mallory_key = node_key(66)
    async with federated_node(tmp_path / "a", seed(1)) as a:
        listed = Founder(a.address)
        listed.add_host(nowhere(mallory_key))  # mallory's node is a host of this group ...
        listed.message()
        unlisted = Founder(a.address)  # ... and not of this one
        unlisted.message()
        await publish(a, listed.me, listed.log)
        await publish(a, unlisted.me, unlisted.log)
        g1, g2 = sorted([listed.group, unlisted.group])
        digests = encode_digests({g1: bytes(32), g2: bytes(32)})
        pull = encode_sync({g1: (0, None), g2: (0, None)})

        async with fed_connect(a, mallory_key) as conn:
            answer = ok(await exchange(conn, digests))
            assert answer["differ"] == [listed.group]
            assert answer["refused"] == [[unlisted.group, "fed.not_host"]] and answer["same"] == []
            stream = await conn.open_stream()
            await stream.send(pull)
            groups = ok(await receive_map(stream))["groups"]
            refusals: dict[bytes, str | None] = {listed.group: None, unlisted.group: "fed.not_host"}
            assert groups == [[g, refusals[g]] for g in (g1, g2)]
            events = await events_for(stream, 1.0)
            got = [e for e in events if e["ev"] == "entries"]
            assert got and all(e["g"] == listed.group for e in got)
            received: set[bytes] = set()
            for event in got:
                items = event["entries"]
                assert isinstance(items, list)
                for item in items:
                    assert isinstance(item, list) and isinstance(item[1], bytes)
                    received.add(header_id(item[1]))
            assert received == {e.entry_id for e in listed.log}
            stream.reset(0)

        async with fed_connect(a, node_key(77)) as conn:  # a node that hosts neither group
            for _ in range(PENALTY_STRIKES + 4):  # being refused is not a strike: a new host asks again
                answer = ok(await exchange(conn, digests))
                assert answer["refused"] == [[g1, "fed.not_host"], [g2, "fed.not_host"]]
                assert answer["differ"] == [] and answer["same"] == []

        # a federation connection without a node certificate is closed before any answer
        closed_with(await refused_connection(a, None, digests), CLOSE_REFUSED, "fed.unauthenticated")


async def test_sync_of_groups_the_peer_does_not_host_is_refused_and_the_node_carries_on(tmp_path: Path) -> None:
    async with federated_node(tmp_path / "a", seed(1)) as a:
        founder = Founder(a.address)
        founder.message()
        await publish(a, founder.me, founder.log)
        probe = encode_digests({founder.group: bytes(32)})
        async with fed_connect(a, node_key(77)) as conn:  # a node that is no host of the group
            stream = await conn.open_stream()
            await stream.send(encode_sync({founder.group: (0, None)}))
            groups = ok(await receive_map(stream))["groups"]
            assert groups == [[founder.group, "fed.not_host"]]
            with pytest.raises(EndOfStream):  # nothing to serve: the node ends the stream
                await stream.receive()
            assert ok(await exchange(conn, probe))["refused"] == [[founder.group, "fed.not_host"]]
        await publish(a, founder.me, [founder.message()])
        assert a.node.store.count(founder.group) == len(founder.log)


# -- refusals that must be typed strikes, and forks that must not be -----------------------------------


async def test_offer_of_a_header_that_does_not_decode_is_a_typed_refusal_and_a_strike(tmp_path: Path) -> None:
    mallory_key = node_key(66)
    async with federated_node(tmp_path / "a", seed(1)) as a:
        founder = Founder(a.address)
        founder.add_host(nowhere(mallory_key))
        await publish(a, founder.me, founder.log)
        probe = encode_digests({founder.group: bytes(32)})
        async with fed_connect(a, mallory_key) as conn:
            for i in range(PENALTY_STRIKES):
                code = error_code(await exchange(conn, encode_offer(b"\xa1" + bytes([i]) * 40, None)))
                assert code != "proto.busy" and code.split(".")[0] in {"cbor", "entry", "proto"}, code
            closed_with(await closed_by_node(conn, probe), CLOSE_PENALISED, "fed.penalised")


async def test_offering_an_equivocating_authors_entries_is_not_a_strike(tmp_path: Path) -> None:
    relay_key = node_key(2)
    async with federated_node(tmp_path / "a", seed(1)) as a:
        founder = Founder(a.address)
        founder.add_host(nowhere(relay_key))
        invite, secret = author.invite(
            founder.writer, founder.state(), now_ms(), role=MEMBER, expires_ms=now_ms() + HOUR_MS, max_uses=100
        )
        founder.log.append(invite)
        await publish(a, founder.me, founder.log)
        probe = encode_digests({founder.group: bytes(32)})
        joiner = Pseudonym.generate()  # a client who signs a different join at seq 1 for each relay
        twins = [secret.join(author.LogWriter(joiner, founder.group), now_ms() + i) for i in range(PENALTY_STRIKES + 2)]
        async with fed_connect(a, relay_key) as conn:
            assert ok(await exchange(conn, encode_offer(twins[0].raw, twins[0].payload)))["id"] == twins[0].entry_id
            for twin in twins[1:]:
                assert error_code(await exchange(conn, encode_offer(twin.raw, twin.payload))) == "log.fork"
            assert a.node.fork_proofs(founder.group)
            assert ok(await exchange(conn, probe))["differ"] == [founder.group]  # still served
        assert a.federation.book.refusal(bytes(relay_key.verify_key), trio.current_time()) is None


async def test_a_peer_sending_requests_too_fast_is_rate_limited(tmp_path: Path) -> None:
    limits = NodeLimits(request_rate=1.0, request_burst=3.0)
    async with federated_node(tmp_path / "a", seed(1), limits=limits) as a:
        founder = Founder(a.address)
        await publish(a, founder.me, founder.log)
        probe = encode_digests({founder.group: bytes(32)})
        async with fed_connect(a, node_key(88)) as conn:
            answers = [await exchange(conn, probe) for _ in range(5)]
        codes = [error_code(answer) if "err" in answer else "ok" for answer in answers]
        assert codes[:3] == ["ok", "ok", "ok"] and codes[3:] == ["proto.rate_limited"] * 2
