"""The adversarial catalogue: every attack on a node, in one place, over real QUIC against a real node.

Each test of this module runs one attack against a node on 127.0.0.1 (LMDB store, QUIC, the node's
own connection handler) and asserts the exact code the node answers with -- or the transport's code,
where the attack never reaches the protocol -- that nothing the attack sent was stored, and that an
honest pair of members on the same node (fay, who created the group, and ana) keeps publishing and
reading while the attack goes on and after it (:meth:`Honest.served`). Where another module already
covers an attack or a variant well, the table points to that test instead of repeating it.

| attack                                        | code (exact)                              | test |
| --------------------------------------------- | ----------------------------------------- | ---- |
| forged entry signature (a bit flipped)        | ``entry.bad_signature``                   | C1   |
| entry re-signed by another key as fay's       | ``entry.bad_signature``                   | A1   |
| someone else's entry sent on my connection    | ``proto.unauthenticated``                 | C1   |
| forged invite proof in a join                 | ``group.bad_invite_proof``                | C1   |
| forged identity document in a join            | ``group.malformed_payload``               | C1   |
| forged auth signature                         | ``proto.bad_auth``                        | A2   |
| forged entries from a peer node               | ``entry.bad_signature``, a strike         | F1   |
| replay of an old valid entry                  | ok with cursor 0 (duplicate), stored once | C2   |
| replay of a member's entry by another member  | ``proto.unauthenticated``                 | C2   |
| fork: two entries at one log position         | ``log.fork``, a verifiable fork proof     | C3   |
| fork across two nodes                         | the fork proof on every host              | F2   |
| non-member posts (a message, a control entry) | ``group.not_member``                      | C4   |
| non-member reads                              | ``proto.forbidden``                       | C4   |
| removed member posts                          | ``group.not_member`` (reads husks only)   | C5   |
| banned member rejoins                         | ``group.banned``                          | S1   |
| oversize frame (length prefix > MAX_FRAME)    | stream reset ``MESSAGE_TOO_LARGE`` 0x10000 | C6  |
| payload over its kind's limit                 | ``entry.oversize``                        | C6   |
| header over 1024 bytes, payload over 1 MiB    | ``proto.malformed_frame``                 | C6   |
| stalled streams (partial frames, never ended) | one held (the session), others reset      | C7   |
| stalled streams, then silence                 | ``transport.idle_timeout`` (node side)    | C7   |
| requests begun on streams besides the session | stream reset, code 3 at once; one frame held | C10 |
| one host opening connection after connection  | ``CONNECTION_REFUSED`` past its share      | C11  |
| more streams than the node granted            | ``STREAM_LIMIT_ERROR`` 0x04               | C7   |
| stalled subscriber (never reads)              | backpressure, bounded memory              | A3   |
| handshake flood from 100 source ports         | stateless Retry beyond ``retry_threshold`` | C8  |
| connection flood (completed handshakes)       | ``CONNECTION_REFUSED`` 0x02               | C8   |
| half-open cap, invalid token, garbage         | ``CONNECTION_REFUSED``, ``INVALID_TOKEN`` | Q1   |
| request flood on one connection               | ``proto.rate_limited``                    | A4   |
| junk publishes charged to a member's budget   | ``proto.unauthenticated``                 | N1   |
| single-use invite redeemed twice              | ``group.invite_exhausted``                | C9   |
| used invite re-signed to displace its member  | ``group.invite_exhausted``                | N2   |
| malformed frames                              | ``proto.malformed_frame``, ``unknown_op`` | A5   |
| malformed input to every remote decoder       | a typed code of the decoder's family      | Z1   |

Tests (C: this module; the others under ``tests/``):

- C1 ``test_forged_signatures_are_refused_and_nothing_is_stored``
- C2 ``test_replayed_entries_are_acknowledged_as_duplicates_and_stored_once``
- C3 ``test_fork_is_refused_proven_and_reported``
- C4 ``test_non_member_posts_are_refused``
- C5 ``test_removed_member_posts_are_refused_and_it_reads_only_husks``
- C6 ``test_oversize_frames_and_entries_are_refused``
- C7 ``test_stalled_streams_are_capped_and_a_silent_peer_is_dropped``
- C10 ``test_requests_begun_on_other_streams_are_reset_and_one_frame_is_held``
- C11 ``test_one_address_cannot_take_every_connection_slot``
- C8 ``test_connection_floods_from_many_ports_hit_the_admission_limits``
- C9 ``test_single_use_invite_cannot_be_redeemed_twice``
- A1 ``node/test_adversarial.py::test_forged_unauthenticated_and_non_member_entries``
- A2 ``node/test_adversarial.py::test_bad_auth``
- A3 ``node/test_adversarial.py::test_stalled_subscriber_gets_backpressure_not_buffering``
- A4 ``node/test_adversarial.py::test_rate_limit``
- A5 ``node/test_adversarial.py::test_bad_frames_get_codes_and_others_continue``
- F1 ``federation/test_zero_trust.py::test_listed_host_offering_invalid_entries_and_frames_is_refused_then_cut_off``
- F2 ``federation/test_zero_trust.py::test_equivocation_on_two_nodes_is_proven_on_every_host_and_shown_to_clients``
- S1 ``node/test_support.py::test_ban_refuses_rejoining_and_a_removed_member_reads_no_more_words``
- Q1 ``transport/test_quic.py``: ``test_half_open_cap_refuses``, ``test_invalid_token_is_refused``,
  ``test_garbage_does_not_hurt``
- N1 ``attacks/test_node_quic.py::test_unauthenticated_junk_does_not_drain_a_members_publish_budget``
- N2 ``attacks/test_node_quic.py::test_banned_member_with_its_used_token_cannot_read_new_messages``
- Z1 ``fuzz/test_decoders.py`` (and ``python fuzz/fuzz_decoders.py`` for long runs)

``proto.too_large``: the node's transport refuses a message longer than ``MAX_FRAME`` (spec 14.5,
15.3) by resetting that one stream with ``MESSAGE_TOO_LARGE`` before the frame reaches the request
decoder, so over QUIC the reset is what an attacker observes; ``proto.too_large`` is what
``protocol.frames.decode_request`` answers for such a frame in-process (fuzzed in ``tests/fuzz``).

What the limits do *not* stop is written in spec section 18: a live peer keeps one unfinished frame
on its session stream (up to one frame buffered) for as long as it keeps the connection alive (C10),
and many hosts together can still fill ``max_connections`` (C8; one host alone cannot, C11).
"""

from __future__ import annotations

import os
import socket
import ssl
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

import nacl.pwhash
import nacl.signing
import pytest
import trio
from aioquic.buffer import Buffer
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.connection import QuicConnection
from aioquic.quic.events import ConnectionTerminated, HandshakeCompleted, QuicEvent, StreamReset
from aioquic.quic.packet import QuicErrorCode, QuicPacketType, pull_quic_header

import holdspace.clients.participant as participant_module
from holdspace.clients.client import NodeSession, connect
from holdspace.clients.participant import GroupRecord, Participant, now_ms
from holdspace.node.core import from_record
from holdspace.node.limits import NodeLimits, default_transport_limits
from holdspace.node.server import RESET_EXTRA_STREAM, Node, open_node
from holdspace.node.transport.base import (
    STREAM_MESSAGE_TOO_LARGE,
    ConnectionRefused,
    IdleTimeout,
    MessageTooLarge,
    ServerStats,
    TooManyStreams,
)
from holdspace.node.transport.quic import QuicConnectionHandle, serve_quic
from holdspace.protocol import codec, crypto, kinds, signing
from holdspace.protocol.address import InviteToken, NodeAddress
from holdspace.protocol.author import InviteSecret, LogWriter, invite
from holdspace.protocol.entry import Entry, create_entry
from holdspace.protocol.errors import HoldspaceError
from holdspace.protocol.federation import ALPN_FEDERATION
from holdspace.protocol.frames import ALPN_CLIENT, MAX_FRAME, encode_request
from holdspace.protocol.identity import Pseudonym, group_context
from holdspace.protocol.keyfile import derive_sealing_key
from holdspace.protocol.log import verify_fork_proof
from holdspace.protocol.payloads import MEMBER, MessageEnvelope
from tests.node.test_adversarial import raw_request

SEED = b"\x07" * 32
ENVELOPE = MessageEnvelope(b"\x01" * 32, 0, b"\x02" * 24, b"\x03" * 40, commitment=bytes(32)).encode()
OTHER_ENVELOPE = MessageEnvelope(b"\x01" * 32, 0, b"\x02" * 24, b"\x04" * 40, commitment=bytes(32)).encode()


@pytest.fixture(autouse=True)
def quick_key_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """Members seal their key files with the cheapest Argon2id: keys at rest are not under attack here."""
    cheap = partial(
        derive_sealing_key, opslimit=nacl.pwhash.argon2id.OPSLIMIT_MIN, memlimit=nacl.pwhash.argon2id.MEMLIMIT_MIN
    )
    monkeypatch.setattr(participant_module, "derive_sealing_key", cheap)


# -- a real node whose transport we can observe -----------------------------------------------------


@dataclass
class Observed:
    node: Node
    address: NodeAddress
    stats: ServerStats  # the QUIC server's counters (admission, refusals, resets)
    conns: list[QuicConnectionHandle] = field(default_factory=list)  # the node's side of each connection


@asynccontextmanager
async def observed_node(data_dir: Path, limits: NodeLimits | None = None) -> AsyncIterator[Observed]:
    """``tests.node.conftest.running_node``, with the transport's counters and connections visible:
    the same ``Node`` and handler, served by ``serve_quic`` given a ``ServerStats``."""
    key = nacl.signing.SigningKey(SEED)
    async with open_node(data_dir, key, limits) as node, trio.open_nursery() as nursery:
        stats = ServerStats()
        conns: list[QuicConnectionHandle] = []

        async def handler(conn: QuicConnectionHandle) -> None:
            conns.append(conn)
            await node.handle_connection(conn)

        host, port = await nursery.start(
            partial(
                serve_quic,
                "127.0.0.1",
                0,
                node_key=key,
                alpns=[ALPN_CLIENT, ALPN_FEDERATION],
                handler=handler,
                limits=node.limits.transport,
                stats=stats,
            )
        )
        yield Observed(node, NodeAddress(node.public_key, host, port), stats, conns)
        nursery.cancel_scope.cancel()


# -- the honest members ---------------------------------------------------------------------------------


@dataclass
class Honest:
    fay: Participant
    ana: Participant
    s_fay: NodeSession
    s_ana: NodeSession
    group: GroupRecord  # fay's record
    g_ana: GroupRecord  # ana's record
    said: int = 0

    async def served(self, note: str) -> None:
        """fay and ana each publish a message and read the other's: the node still serves them."""
        self.said += 1
        mine, yours = f"fay {self.said}: {note}", f"ana {self.said}: {note}"
        with trio.fail_after(15):
            await self.fay.send(self.s_fay, self.group, mine)
            await self.ana.send(self.s_ana, self.g_ana, yours)
            await self.fay.sync(self.s_fay, self.group)
            await self.ana.sync(self.s_ana, self.g_ana)
        assert mine in {m.text for m in self.g_ana.messages}, f"ana did not read fay's message ({note})"
        assert yours in {m.text for m in self.group.messages}, f"fay did not read ana's message ({note})"


@asynccontextmanager
async def honest_pair(tmp_path: Path, address: NodeAddress) -> AsyncIterator[Honest]:
    async with AsyncExitStack() as stack:
        fay = Participant.create(tmp_path / "fay", "pass fay", address)
        ana = Participant.create(tmp_path / "ana", "pass ana", address)
        s_fay = await stack.enter_async_context(connect(address))
        s_ana = await stack.enter_async_context(connect(address))
        group = await fay.create_group(s_fay, "circle")
        g_ana = await ana.join(s_ana, InviteToken.parse(await fay.invite(s_fay, group, uses=5)))
        honest = Honest(fay, ana, s_fay, s_ana, group, g_ana)
        await honest.served("before the attack")
        yield honest


def person(tmp_path: Path, address: NodeAddress, name: str) -> Participant:
    return Participant.create(tmp_path / name, "pass " + name, address)


async def publish_code(session: NodeSession, entry: Entry | bytes, payload: bytes | None = None) -> str:
    """Publish raw bytes (or an entry) and return the node's answer: "ok" or the error code."""
    if isinstance(entry, Entry):
        entry, payload = entry.raw, entry.payload
    return await raw_request(session, encode_request("publish", e=entry, b=payload))


def message_after(writer: LogWriter) -> Entry:
    """The author's next entry: a message (its envelope is well formed; no one can open it)."""
    return writer.append(kinds.MESSAGE, ENVELOPE, now_ms())


def stored_ids(node: Node, group: bytes) -> list[bytes]:
    return [record.entry_id for _cursor, record in node.store.iter_group(group, 0, 10**9)]


# -- the attacks ----------------------------------------------------------------------------------------


async def test_forged_signatures_are_refused_and_nothing_is_stored(tmp_path: Path) -> None:
    async with observed_node(tmp_path / "node") as obs, honest_pair(tmp_path, obs.address) as honest:
        gid = honest.group.group_id
        mal = person(tmp_path, obs.address, "mal")
        async with connect(obs.address) as s_mal:
            g_mal = await mal.join(s_mal, InviteToken.parse(await honest.fay.invite(honest.s_fay, honest.group)))
            mal_head = obs.node.store.head(gid, mal.pseudonym(g_mal).public_key)
            forged: list[bytes] = []  # every header the attack sends

            # 1. mal's own next entry with one bit of its signature flipped
            entry = message_after(mal.writer(g_mal))
            fields = codec.decode(entry.raw)
            assert isinstance(fields, dict) and isinstance(fields["sig"], bytes)
            fields["sig"] = bytes([fields["sig"][0] ^ 1]) + fields["sig"][1:]
            forged.append(codec.encode(fields))
            assert await publish_code(s_mal, forged[-1], entry.payload) == "entry.bad_signature"
            await honest.served("during the forgeries")

            # 2. an entry claiming fay as its author, signed by mal, on mal's connection
            fields = codec.decode(entry.raw)
            assert isinstance(fields, dict)
            fields["a"] = honest.fay.pseudonym(honest.group).public_key
            forged.append(codec.encode(signing.sign_fields(signing.DOMAIN_ENTRY, fields, mal.pseudonym(g_mal).seed)))
            assert await publish_code(s_mal, forged[-1], entry.payload) == "proto.unauthenticated"

            # 3. a stranger's join with a forged invite proof (no invite secret: a random signature)
            token = InviteToken.parse(await honest.fay.invite(honest.s_fay, honest.group))
            stranger = Pseudonym.generate()
            await s_mal.authenticate(stranger)
            join = InviteSecret(gid, token.invite_id, os.urandom(32)).join(LogWriter(stranger, gid), now_ms())
            forged.append(join.raw)
            assert await publish_code(s_mal, join) == "group.bad_invite_proof"

            # 4. a join carrying an identity document whose signature does not verify
            real = InviteSecret(gid, token.invite_id, token.seed).join(LogWriter(stranger, gid), now_ms())
            payload = codec.decode(real.payload or b"")
            assert isinstance(payload, dict) and isinstance(payload["doc"], bytes)
            doc = codec.decode(payload["doc"])
            assert isinstance(doc, dict) and isinstance(doc["sig"], bytes)
            doc["sig"] = bytes(64)
            payload["doc"] = codec.encode(doc)
            body = codec.encode(payload)
            forged_doc = create_entry(
                stranger, group=gid, seq=1, prev=None, timestamp_ms=now_ms(), kind=kinds.JOIN, payload=body
            )
            forged.append(forged_doc.raw)
            assert await publish_code(s_mal, forged_doc) == "group.malformed_payload"

            assert not any(obs.node.store.has(crypto.blake2b_256(raw)) for raw in forged), "a forgery was stored"
            assert obs.node.store.head(gid, mal.pseudonym(g_mal).public_key) == mal_head
            assert obs.node.store.head(gid, stranger.public_key) is None
            await honest.served("after the forgeries")


async def test_replayed_entries_are_acknowledged_as_duplicates_and_stored_once(tmp_path: Path) -> None:
    async with observed_node(tmp_path / "node") as obs, honest_pair(tmp_path, obs.address) as honest:
        gid = honest.group.group_id
        fay_key = honest.fay.pseudonym(honest.group).public_key
        old = obs.node.store.get_at(gid, fay_key, honest.group.seq)  # fay's latest entry, already stored
        assert old is not None
        entry = from_record(old)
        await honest.served("more history after the entry that will be replayed")
        before = stored_ids(obs.node, gid)

        # the author's own connection, and a brand-new one, send the old entry again
        assert await honest.s_fay.publish(entry) == 0  # acknowledged, cursor 0: a duplicate
        async with connect(obs.address) as s_again:
            await s_again.authenticate(honest.fay.pseudonym(honest.group))
            for _ in range(5):
                assert await s_again.publish(entry) == 0
            # another member cannot even offer it: the author is not authenticated on its connection
            async with connect(obs.address) as s_ana2:
                await s_ana2.authenticate(honest.ana.pseudonym(honest.g_ana))
                assert await publish_code(s_ana2, entry) == "proto.unauthenticated"
            assert stored_ids(obs.node, gid) == before  # nothing new, nothing twice
            await honest.served("during the replays")
            assert await s_again.publish(entry) == 0  # still a duplicate, however much came after it
        await honest.served("after the replays")
        ids = stored_ids(obs.node, gid)
        assert ids.count(entry.entry_id) == 1 and len(ids) == len(set(ids))
        assert obs.node.store.check_integrity() == []


async def test_fork_is_refused_proven_and_reported(tmp_path: Path) -> None:
    async with observed_node(tmp_path / "node") as obs, honest_pair(tmp_path, obs.address) as honest:
        gid = honest.group.group_id
        mal = person(tmp_path, obs.address, "mal")
        async with connect(obs.address) as s_mal:
            g_mal = await mal.join(s_mal, InviteToken.parse(await honest.fay.invite(honest.s_fay, honest.group)))
            writer = mal.writer(g_mal)
            first = message_after(writer)
            writer.seq, writer.prev = first.seq - 1, first.prev  # back to the same position
            twin = writer.append(kinds.MESSAGE, OTHER_ENVELOPE, now_ms())  # same seq, other words
            assert first.seq == twin.seq and first.entry_id != twin.entry_id
            assert await s_mal.publish(first) > 0
            assert await publish_code(s_mal, twin) == "log.fork"
            await honest.served("after the fork")

        assert twin.entry_id not in stored_ids(obs.node, gid) and first.entry_id in stored_ids(obs.node, gid)
        raw = obs.node.store.get_meta(b"fork:" + gid + first.author)
        assert raw is not None
        proof = verify_fork_proof(raw)  # anyone can check it, with nothing but the two headers
        assert (proof.author, proof.first.seq) == (first.author, first.seq)
        assert {proof.first.entry_id, proof.second.entry_id} == {first.entry_id, twin.entry_id}
        state = await honest.s_fay.state(gid)
        assert state.get("forks") == [raw]  # reported to clients (14.2 rule 8)
        assert await honest.fay.equivocators(honest.s_fay, honest.group) == [first.author]


async def test_non_member_posts_are_refused(tmp_path: Path) -> None:
    async with observed_node(tmp_path / "node") as obs, honest_pair(tmp_path, obs.address) as honest:
        gid = honest.group.group_id
        stranger = Pseudonym.generate()
        state = await honest.fay.sync(honest.s_fay, honest.group)
        async with connect(obs.address) as s_mal:
            await s_mal.authenticate(stranger)
            writer = LogWriter(stranger, gid)
            message = message_after(writer)
            writer.seq, writer.prev = 0, None
            control, _ = invite(writer, state, now_ms(), role=MEMBER, expires_ms=now_ms() + 3_600_000)
            for entry in (message, control):
                assert await publish_code(s_mal, entry) == "group.not_member"
                await honest.served(f"while a stranger posts a {kinds.kind_name(entry.kind)}")
            read = encode_request("fetch", g=gid, after=0, limit=10)
            assert await raw_request(s_mal, read) == "proto.forbidden"
        assert obs.node.store.head(gid, stranger.public_key) is None
        await honest.served("after the stranger")


async def test_removed_member_posts_are_refused_and_it_reads_only_husks(tmp_path: Path) -> None:
    async with observed_node(tmp_path / "node") as obs, honest_pair(tmp_path, obs.address) as honest:
        gid = honest.group.group_id
        bob = person(tmp_path, obs.address, "bob")
        async with connect(obs.address) as s_bob:
            g_bob = await bob.join(s_bob, InviteToken.parse(await honest.fay.invite(honest.s_fay, honest.group)))
            await bob.send(s_bob, g_bob, "bob, before his removal")
            bob_key = bob.pseudonym(g_bob).public_key
            await honest.fay.remove_member(honest.s_fay, honest.group, bob_key)
            head = obs.node.store.head(gid, bob_key)

            late = message_after(bob.writer(g_bob))
            assert await publish_code(s_bob, late) == "group.not_member"
            await honest.served("after bob's removal")
            assert obs.node.store.head(gid, bob_key) == head, "a removed member's post was stored"

            # a former member still reads the control log (it learns of its removal), and messages
            # only as husks: headers, no ciphertext (14.2 rule 4), those sent after its removal included
            items = await s_bob.fetch_all(gid)
            removal = max(r.cursor for r in items if r.entry.kind == kinds.REMOVE)
            messages = [r for r in items if r.entry.kind in kinds.MESSAGE_KINDS]
            assert any(r.cursor > removal for r in messages)
            assert all(r.entry.payload is None for r in messages), "a removed member got ciphertext"
            assert all(r.entry.payload is not None for r in items if kinds.is_control(r.entry.kind))
        await honest.served("after bob left")


async def test_oversize_frames_and_entries_are_refused(tmp_path: Path) -> None:
    async with observed_node(tmp_path / "node") as obs, honest_pair(tmp_path, obs.address) as honest:
        gid = honest.group.group_id
        async with connect(obs.address) as s_mal:
            # a length prefix over MAX_FRAME: the node resets that stream, the connection stays
            stream = await s_mal.conn.open_stream()
            conn = stream._conn  # type: ignore[attr-defined]
            conn.quic.send_stream_data(stream.stream_id, (MAX_FRAME + 1).to_bytes(4, "big") + b"\x00" * 64)
            conn.wake()
            with trio.fail_after(10), pytest.raises(MessageTooLarge) as info:
                await stream.receive()
            assert info.value.error_code == STREAM_MESSAGE_TOO_LARGE
            assert obs.stats.oversize_resets == 1
            await honest.served("after an oversize frame")
            assert await raw_request(s_mal, encode_request("hello", v=2)) == "ok"  # same connection, still served

            mal = person(tmp_path, obs.address, "mal")
            g_mal = await mal.join(s_mal, InviteToken.parse(await honest.fay.invite(honest.s_fay, honest.group)))
            writer = mal.writer(g_mal)
            # a message whose declared payload exceeds the 65536 bytes of its kind
            big = bytes(kinds.MAX_MESSAGE_PAYLOAD + 1)
            entry = create_entry(
                writer.me,
                group=gid,
                seq=writer.seq + 1,
                prev=writer.prev,
                timestamp_ms=now_ms(),
                kind=kinds.MESSAGE,
                payload=b"",
            )
            fields = codec.decode(entry.raw)
            assert isinstance(fields, dict)
            fields.update(n=len(big), h=crypto.blake2b_256(big))
            oversize = codec.encode(signing.sign_fields(signing.DOMAIN_ENTRY, fields, writer.me.seed))
            assert await publish_code(s_mal, oversize, big) == "entry.oversize"
            # a header over 1024 bytes, a payload over the 1 MiB control limit: refused by the frame schema
            assert await publish_code(s_mal, bytes(1025), b"") == "proto.malformed_frame"
            control = bytes(kinds.MAX_CONTROL_PAYLOAD + 1)
            assert await publish_code(s_mal, entry.raw, control) == "proto.malformed_frame"
            assert obs.node.store.head(gid, writer.me.public_key) == (writer.seq, writer.prev)
            await honest.served("after oversize entries")


class RawQuic:
    """A QUIC client driven by hand: aioquic's sans-I/O connection over one UDP socket. It sends and
    acknowledges only while :meth:`pump` runs, so it can stall streams and then fall silent, and it
    can ignore the node's stream credit -- as an attacker's stack would."""

    def __init__(self, sock: trio.socket.SocketType, address: tuple[str, int]) -> None:
        self.sock, self.address = sock, address
        config = QuicConfiguration(
            is_client=True, alpn_protocols=[ALPN_CLIENT], verify_mode=ssl.CERT_NONE, idle_timeout=600.0
        )
        self.quic = QuicConnection(configuration=config)
        self.events: list[QuicEvent] = []

    async def pump(self, seconds: float) -> None:
        end = trio.current_time() + seconds
        while True:
            for data, addr in self.quic.datagrams_to_send(now=trio.current_time()):
                await self.sock.sendto(data, addr)
            now = trio.current_time()
            if now >= end:
                return
            timer = self.quic.get_timer()
            wait = end - now if timer is None else max(0.0, min(end, timer) - now)
            with trio.move_on_after(wait):
                data, addr = await self.sock.recvfrom(65536)
                self.quic.receive_datagram(data, addr, now=trio.current_time())
            if timer is not None and trio.current_time() >= timer:
                self.quic.handle_timer(now=trio.current_time())
            while (event := self.quic.next_event()) is not None:
                self.events.append(event)

    async def handshake(self) -> None:
        self.quic.connect(self.address, now=trio.current_time())
        with trio.fail_after(10):
            while not any(isinstance(e, HandshakeCompleted) for e in self.events):
                await self.pump(0.02)

    def stall(self, stream_id: int, announced: int = 4096, sent: int = 10) -> None:
        """Start a request and never finish it: a length prefix announcing ``announced`` bytes, then
        only ``sent`` of them (as many as the node's flow control lets through)."""
        self.quic.send_stream_data(stream_id, announced.to_bytes(4, "big") + b"\xa1" * sent, end_stream=False)

    def terminated(self) -> ConnectionTerminated | None:
        return next((e for e in self.events if isinstance(e, ConnectionTerminated)), None)


@asynccontextmanager
async def raw_client(
    address: NodeAddress, local: str = "127.0.0.1", *, handshake: bool = True
) -> AsyncIterator[RawQuic]:
    with trio.socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        await sock.bind((local, 0))
        client = RawQuic(sock, (address.host, address.port))
        if handshake:
            await client.handshake()
        yield client


async def test_requests_begun_on_other_streams_are_reset_and_one_frame_is_held(tmp_path: Path) -> None:
    async with (
        observed_node(tmp_path / "node") as obs,
        honest_pair(tmp_path, obs.address) as honest,
        raw_client(obs.address) as stalling,
    ):
        for i in range(8):
            stalling.stall(4 * i, announced=4096, sent=100)
        await stalling.pump(1.0)  # the client stays alive (it acknowledges), but never finishes them
        node_side = obs.conns[-1]
        # the first stream is the session stream; every other one is reset at once (spec 14.1)
        resets = [e for e in stalling.events if isinstance(e, StreamReset)]
        assert sorted(e.stream_id for e in resets) == [4 * i for i in range(1, 8)]
        assert all(e.error_code == RESET_EXTRA_STREAM for e in resets)
        assert node_side.stats.buffered_bytes <= 4 + 100  # only the session stream's unfinished frame is held
        await honest.served("after the other streams were reset")


async def test_one_address_cannot_take_every_connection_slot(tmp_path: Path) -> None:
    transport = replace(default_transport_limits(), max_connections_per_address=4)
    async with (
        observed_node(tmp_path / "node", NodeLimits(transport=transport)) as obs,
        honest_pair(tmp_path, obs.address) as honest,  # from 127.0.0.1
        AsyncExitStack() as flood,
    ):
        for _ in range(4):  # the attacker's host, 127.0.0.2, fills its share
            await flood.enter_async_context(raw_client(obs.address, "127.0.0.2"))
        async with raw_client(obs.address, "127.0.0.2", handshake=False) as fifth:
            fifth.quic.connect(fifth.address, now=trio.current_time())
            with trio.fail_after(5):
                while fifth.terminated() is None:
                    await fifth.pump(0.05)
            ended = fifth.terminated()
            assert ended is not None and ended.error_code == QuicErrorCode.CONNECTION_REFUSED
        assert obs.stats.refused_per_address == 1
        await honest.served("while one address holds its whole share")


async def test_stalled_streams_are_capped_and_a_silent_peer_is_dropped(tmp_path: Path) -> None:
    transport = replace(default_transport_limits(), idle_timeout=2.0)
    limits = NodeLimits(transport=transport)
    async with observed_node(tmp_path / "node", limits) as obs, honest_pair(tmp_path, obs.address) as honest:
        streams = transport.max_streams
        async with raw_client(obs.address) as stalling, trio.open_nursery() as nursery:
            for i in range(streams + 4):  # 4 more than granted: its own stack holds them back
                stalling.stall(4 * i, announced=MAX_FRAME, sent=48 * 1024)  # each over its 32 KiB window
            await stalling.pump(1.5)
            node_side = obs.conns[-1]
            resets = [e for e in stalling.events if isinstance(e, StreamReset)]
            assert resets and all(e.error_code == RESET_EXTRA_STREAM for e in resets)  # all but the session
            held = node_side.stats.buffered_bytes  # what the node keeps for the stalled frames: one frame
            assert 0 < held <= 48 * 1024 + 4
            nursery.start_soon(stalling.pump, 1.0)  # still alive (it acknowledges) while honest members talk
            await honest.served("while a frame is stalled")
        # the stalling client now falls silent: the node's idle timeout ends the connection
        with trio.fail_after(transport.idle_timeout * 4):
            await node_side.terminated.wait()
        assert isinstance(node_side.closed_exc, IdleTimeout), node_side.closed_exc
        assert node_side.closed_exc.code == "transport.idle_timeout"
        await honest.served("after the silent peer was dropped")

        # a client that ignores its stream credit is cut off at once
        async with raw_client(obs.address) as greedy:
            greedy.quic._remote_max_streams_bidi = 10 * streams  # what a hostile stack may do
            for i in range(streams + 1):
                greedy.stall(4 * i)
            with trio.fail_after(5):
                while greedy.terminated() is None:
                    await greedy.pump(0.05)
            ended = greedy.terminated()
            assert ended is not None and ended.error_code == QuicErrorCode.STREAM_LIMIT_ERROR
        greedy_side = obs.conns[-1]
        with trio.fail_after(5):
            await greedy_side.terminated.wait()
        assert isinstance(greedy_side.closed_exc, TooManyStreams)
        assert greedy_side.closed_exc.code == "transport.too_many_streams"
        await honest.served("after the greedy peer was cut off")


def client_initial(address: tuple[str, int]) -> bytes:
    """A genuine client Initial (1200 bytes) of a handshake that will never continue."""
    quic = QuicConnection(
        configuration=QuicConfiguration(is_client=True, alpn_protocols=[ALPN_CLIENT], verify_mode=ssl.CERT_NONE)
    )
    quic.connect(address, now=0.0)
    (data, _), *_ = quic.datagrams_to_send(now=0.0)
    return data


async def test_connection_floods_from_many_ports_hit_the_admission_limits(tmp_path: Path) -> None:
    transport = replace(
        default_transport_limits(), retry_threshold=4, max_half_open=16, max_connections=24, handshake_timeout=3.0
    )
    limits = NodeLimits(transport=transport)
    async with observed_node(tmp_path / "node", limits) as obs, honest_pair(tmp_path, obs.address) as honest:
        target = (obs.address.host, obs.address.port)
        # 1. 100 UDP sockets (100 source ports), each starting a handshake it never finishes
        flood = 100
        kinds_seen: list[QuicPacketType] = []
        sockets = []
        try:
            for _ in range(flood):
                sock = trio.socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                sockets.append(sock)
                await sock.bind(("127.0.0.1", 0))
                await sock.sendto(client_initial(target), target)
            with trio.move_on_after(1.0):
                for sock in sockets:
                    data, _ = await sock.recvfrom(65536)
                    kinds_seen.append(pull_quic_header(Buffer(data=data), host_cid_length=8).packet_type)
        finally:
            for sock in sockets:
                sock.close()
        assert len(kinds_seen) == flood and set(kinds_seen) <= {QuicPacketType.INITIAL, QuicPacketType.RETRY}
        assert obs.stats.peak_half_open <= transport.retry_threshold  # beyond it, no state is kept ...
        assert kinds_seen.count(QuicPacketType.RETRY) >= flood - transport.retry_threshold  # ... only a Retry
        await honest.served("during a handshake flood")
        async with connect(obs.address) as newcomer:  # a new honest client passes the Retry and is served
            assert await raw_request(newcomer, encode_request("hello", v=2)) == "ok"

        # 2. completed connections from as many ports as it takes: the connection cap holds
        async with AsyncExitStack() as flood_conns:
            opened, refused = 0, None
            while refused is None and opened <= transport.max_connections:
                try:
                    await flood_conns.enter_async_context(connect(obs.address))
                except ConnectionRefused as exc:
                    refused = exc
                else:
                    opened += 1
            assert refused is not None, "the node accepted more connections than max_connections"
            assert refused.error_code == QuicErrorCode.CONNECTION_REFUSED
            assert refused.code == "transport.refused"
            assert obs.stats.connections <= transport.max_connections
            assert opened <= transport.max_connections - 2  # fay's and ana's connections count too
            await honest.served("while the node is full")  # connected members are served throughout
        with trio.fail_after(10):  # once the flood's connections close, newcomers get in again
            while True:
                try:
                    async with connect(obs.address) as newcomer:
                        assert await raw_request(newcomer, encode_request("hello", v=2)) == "ok"
                    break
                except ConnectionRefused:
                    await trio.sleep(0.1)
        await honest.served("after the flood")


async def test_single_use_invite_cannot_be_redeemed_twice(tmp_path: Path) -> None:
    async with observed_node(tmp_path / "node") as obs, honest_pair(tmp_path, obs.address) as honest:
        gid = honest.group.group_id
        token = InviteToken.parse(await honest.fay.invite(honest.s_fay, honest.group, uses=1))
        bob, eve = person(tmp_path, obs.address, "bob"), person(tmp_path, obs.address, "eve")
        async with connect(obs.address) as s_bob, connect(obs.address) as s_eve:
            g_bob = await bob.join(s_bob, token)
            stored = obs.node.store.get_at(gid, bob.pseudonym(g_bob).public_key, 1)
            assert stored is not None
            eve_key = Pseudonym.derive(eve.master, group_context(gid)).public_key
            with pytest.raises(HoldspaceError) as second:
                await eve.join(s_eve, token)
            assert second.value.code == "group.invite_exhausted"
            await honest.served("after a second redemption")
            # the same join sent again is a duplicate, not a second use
            assert await s_bob.publish(from_record(stored)) == 0
            # a third person, with a hand-made join of the same token: refused too
            third = Pseudonym.generate()
            await s_eve.authenticate(third)
            again = InviteSecret(gid, token.invite_id, token.seed).join(LogWriter(third, gid), now_ms())
            assert await publish_code(s_eve, again) == "group.invite_exhausted"
            await honest.served("after a third redemption")
            for key in (eve_key, third.public_key):  # stored nowhere: their log positions stay free
                assert obs.node.store.head(gid, key) is None
            state = await honest.fay.sync(honest.s_fay, honest.group)
            assert bob.pseudonym(g_bob).public_key in state.members
            assert eve_key not in state.members and third.public_key not in state.members
