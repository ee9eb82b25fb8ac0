"""Bad input over real QUIC: each gets its code, and honest clients keep being served."""

from contextlib import aclosing
from pathlib import Path

import pytest
import trio

from holdspace.clients.participant import Participant
from holdspace.node.limits import NodeLimits, default_transport_limits
from holdspace.node.session import RESET_EXTRA_STREAM
from holdspace.node.transport.base import EndOfStream, StreamReset, TransportClosed, TransportError
from holdspace.node.transport.quic import connect_quic
from holdspace.protocol import codec, kinds, signing
from holdspace.protocol.address import InviteToken
from holdspace.protocol.entry import create_entry
from holdspace.protocol.errors import HoldspaceError
from holdspace.protocol.frames import (
    ALPN_CLIENT,
    CLOSE_BAD_FRAME,
    MAX_FRAME,
    auth_message,
    decode_reply,
    encode_client_request,
    encode_request,
)
from holdspace.protocol.identity import Pseudonym
from holdspace.protocol.payloads import MessageEnvelope
from tests.node.conftest import running_node, session


async def raw_request(s, data: bytes) -> str:
    """Send the request ``data`` (an id-less map, whatever its fields) with the session's next id;
    the node's answer: "ok" or the error code."""
    value = codec.decode(data, max_size=2 * MAX_FRAME)
    op = value.pop("op")
    try:
        await s.request(op, **value)
    except HoldspaceError as err:
        return err.code
    return "ok"


async def setup_group(tmp_path: Path, address):
    fay = Participant.create(tmp_path / "fay", "p", address)
    ana = Participant.create(tmp_path / "ana", "p", address)
    return fay, ana


async def test_bad_frames_get_codes_and_others_continue(tmp_path: Path, node) -> None:
    _, address = node
    fay, _ = await setup_group(tmp_path, address)
    async with session(address) as honest, session(address) as attacker:
        group = await fay.create_group(honest, "g")
        assert await raw_request(attacker, codec.encode({"op": "launch"})) == "proto.unknown_op"
        assert await raw_request(attacker, codec.encode({"op": "fetch", "g": b"x"})) == "proto.malformed_frame"
        assert await raw_request(attacker, encode_request("fetch", g=group.group_id, after=0, limit=10)) == (
            "proto.unauthenticated"
        )
        # an oversize frame is refused by the transport; the connection survives
        stream = await attacker.conn.open_stream()
        with pytest.raises(TransportError):
            await stream.send(b"\x00" * (MAX_FRAME + 10_000))
        assert await raw_request(attacker, encode_request("hello", v=2)) == "ok"
        assert await raw_request(attacker, encode_request("hello", v=1)) == "proto.bad_version"
        await fay.send(honest, group, "still here")


async def raw_session(address):
    """A client connection without the client library: (connection context, its session stream)."""
    return connect_quic(
        address.host, address.port, expected_key=address.node_key, alpn=ALPN_CLIENT, limits=default_transport_limits()
    )


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (b"\xff\x00garbage", "proto.malformed_frame"),
        (codec.encode([1, 2]), "proto.malformed_frame"),
        (codec.encode({"op": "state", "g": bytes(32)}), "proto.malformed_frame"),  # no id
        (codec.encode({"op": "hello", "v": 1}), "proto.bad_version"),  # what a version-1 client sends first
    ],
)
async def test_a_frame_without_a_readable_id_ends_the_session(tmp_path: Path, node, frame: bytes, code: str) -> None:
    _, address = node
    fay, _ = await setup_group(tmp_path, address)
    async with session(address) as honest:
        group = await fay.create_group(honest, "g")
        async with await raw_session(address) as conn:
            stream = await conn.open_stream()
            await stream.send(frame)
            with trio.fail_after(10):
                reply = decode_reply(await stream.receive())  # the id-less error, then the close
                assert (reply.rid, reply.kind, reply.body["code"]) == (None, "err", code)
                with pytest.raises(TransportClosed) as closed:
                    await stream.receive()
            assert closed.value.error_code == CLOSE_BAD_FRAME
        await fay.send(honest, group, "others are served")


async def test_pipelined_requests_are_answered_by_id_and_other_streams_are_reset(tmp_path: Path, node) -> None:
    _, address = node
    async with await raw_session(address) as conn:
        stream = await conn.open_stream()
        # three requests at once, before reading anything; ids need not be in order
        for rid, frame in ((7, {"v": 2}), (3, {"v": 1}), (2**64 - 1, {"v": 2})):
            await stream.send(encode_client_request(rid, "hello", **frame))
        await stream.send(encode_client_request(9, "cancel", sub=123))
        replies = {}
        with trio.fail_after(10):
            for _ in range(4):
                reply = decode_reply(await stream.receive())
                replies[reply.rid] = reply
        assert replies[7].kind == "ok" and replies[7].body["v"] == 2
        assert replies[3].kind == "err" and replies[3].body["code"] == "proto.bad_version"
        assert replies[2**64 - 1].kind == "ok" and replies[9].body == {}
        challenge = replies[7].body["challenge"]
        me = Pseudonym.generate()
        sig = me.sign(auth_message(challenge, address.node_key, me.public_key))
        await stream.send(encode_client_request(7, "auth", k=me.public_key, sig=sig))  # 7 is free again
        with trio.fail_after(10):
            assert decode_reply(await stream.receive()).body == {}
        # a second stream is not the session: reset with code 3, the session goes on
        extra = await conn.open_stream()
        await extra.send(encode_client_request(1, "hello", v=2))
        with trio.fail_after(10), pytest.raises(StreamReset) as reset:
            await extra.receive()
        assert reset.value.error_code == RESET_EXTRA_STREAM
        await stream.send(encode_client_request(8, "hello", v=2))
        with trio.fail_after(10):
            assert decode_reply(await stream.receive()).rid == 8
        # the client finishes its side: the node answers what is in flight, then finishes too
        await stream.send(encode_client_request(10, "hello", v=2))
        await stream.finish()
        with trio.fail_after(10):
            assert decode_reply(await stream.receive()).rid == 10
            with pytest.raises(EndOfStream):
                await stream.receive()


async def test_forged_unauthenticated_and_non_member_entries(tmp_path: Path, node) -> None:
    _, address = node
    fay, _ = await setup_group(tmp_path, address)
    mallory = Pseudonym.generate()
    async with session(address) as honest, session(address) as attacker:
        group = await fay.create_group(honest, "g")
        envelope = MessageEnvelope(b"\x01" * 32, 0, b"\x02" * 24, b"\x03" * 40, commitment=bytes(32)).encode()
        entry = create_entry(
            mallory, group=group.group_id, seq=1, prev=None, timestamp_ms=1, kind=kinds.MESSAGE, payload=envelope
        )
        # not authenticated as the author
        assert await raw_request(attacker, encode_request("publish", e=entry.raw, b=entry.payload)) == (
            "proto.unauthenticated"
        )
        await attacker.authenticate(mallory)
        # authenticated, but never joined
        assert await raw_request(attacker, encode_request("publish", e=entry.raw, b=entry.payload)) == (
            "group.not_member"
        )
        # a forged entry claiming to be from fay's pseudonym
        fields = codec.decode(entry.raw)
        fields["a"] = fay.pseudonym(group).public_key
        forged = codec.encode(signing.sign_fields(signing.DOMAIN_ENTRY, {**fields}, mallory.seed))
        await attacker.authenticate(fay.pseudonym(group))  # even holding fay's key is not enough to forge
        assert await raw_request(attacker, encode_request("publish", e=forged, b=entry.payload)) == (
            "entry.bad_signature"
        )
        garbage = b"\xa1" + b"\x00" * 1023
        assert await raw_request(attacker, encode_request("publish", e=garbage, b=b"")) == "cbor.bad_key_type"
        header_too_big = codec.encode({"v": 1, "pad": b"\x00" * 1100})
        assert await raw_request(attacker, encode_request("publish", e=header_too_big, b=b"")) == (
            "proto.malformed_frame"
        )
        await fay.send(honest, group, "unaffected")
        state = await fay.sync(honest, group)
        assert mallory.public_key not in state.intervals


async def test_non_member_cannot_read(tmp_path: Path, node) -> None:
    _, address = node
    fay, _ = await setup_group(tmp_path, address)
    mallory = Pseudonym.generate()
    async with session(address) as honest, session(address) as attacker:
        group = await fay.create_group(honest, "g")
        await attacker.authenticate(mallory)
        assert await raw_request(attacker, encode_request("fetch", g=group.group_id, after=0, limit=5)) == (
            "proto.forbidden"
        )
        assert await raw_request(attacker, encode_request("fetch", g=b"\x09" * 32, after=0, limit=5)) == (
            "proto.unknown_group"
        )


async def test_bad_auth(tmp_path: Path, node) -> None:
    _, address = node
    async with session(address) as s:
        me = Pseudonym.generate()
        assert await raw_request(s, encode_request("auth", k=me.public_key, sig=b"\x00" * 64)) == "proto.bad_auth"


async def test_fork_is_detected_and_duplicate_is_idempotent(tmp_path: Path, node) -> None:
    running, address = node
    fay, _ = await setup_group(tmp_path, address)
    async with session(address) as s:
        group = await fay.create_group(s, "g")
        writer = fay.writer(group)
        env = MessageEnvelope(b"\x01" * 32, 0, b"\x02" * 24, b"\x03" * 40, commitment=bytes(32)).encode()
        first = writer.append(kinds.MESSAGE, env, 1)
        writer.seq, writer.prev = first.seq - 1, first.prev
        twin = writer.append(kinds.MESSAGE, env + b"", 2)
        await s.publish(first)
        await s.publish(first)  # the same entry again: acknowledged, stored once
        assert await raw_request(s, encode_request("publish", e=twin.raw, b=twin.payload)) == "log.fork"
        proof = running.store.get_meta(b"fork:" + group.group_id + first.author)
        assert proof is not None


async def test_rate_limit(tmp_path: Path) -> None:
    limits = NodeLimits(request_rate=5, request_burst=5)
    async with running_node(tmp_path / "n", limits) as (_, address), session(address) as s:
        codes = [await raw_request(s, encode_request("hello", v=2)) for _ in range(12)]
        assert "proto.rate_limited" in codes
        assert codes[0] == "ok"


async def test_live_subscription_delivers(tmp_path: Path, node) -> None:
    _, address = node
    fay, ana = await setup_group(tmp_path, address)
    async with session(address) as s_fay, session(address) as s_ana:
        group = await fay.create_group(s_fay, "g")
        g_ana = await ana.join(s_ana, InviteToken.parse(await fay.invite(s_fay, group)))
        got: list[int] = []

        async def listen() -> None:
            async with aclosing(s_ana.subscribe(g_ana.group_id, 0)) as batches:
                async for batch in batches:
                    got.extend(r.entry.kind for r in batch)
                    if got.count(kinds.MESSAGE) >= 2:
                        return

        with trio.fail_after(20):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(listen)
                await fay.send(s_fay, group, "one")
                await fay.send(s_fay, group, "two")
        assert got.count(kinds.MESSAGE) == 2


async def test_stalled_subscriber_gets_backpressure_not_buffering(tmp_path: Path) -> None:
    """A subscriber that never reads holds back only its own stream; node memory stays bounded."""
    limits = NodeLimits()
    async with running_node(tmp_path / "n", limits) as (_, address):
        fay, ana = await setup_group(tmp_path, address)
        async with session(address) as s_fay, session(address) as s_ana:
            group = await fay.create_group(s_fay, "g")
            g_ana = await ana.join(s_ana, InviteToken.parse(await fay.invite(s_fay, group)))
            me = ana.pseudonym(g_ana)
            async with await raw_session(address) as conn:  # ana's other connection, whose session stalls
                stalled = await conn.open_stream()
                await stalled.send(encode_client_request(0, "hello", v=2))
                challenge = decode_reply(await stalled.receive()).body["challenge"]
                sig = me.sign(auth_message(challenge, address.node_key, me.public_key))
                await stalled.send(encode_client_request(1, "auth", k=me.public_key, sig=sig))
                assert decode_reply(await stalled.receive()).body == {}
                await stalled.send(encode_client_request(2, "subscribe", g=g_ana.group_id, after=0))
                await publish_while_stalled(s_fay, fay, group, conn, limits)


async def publish_while_stalled(s_fay, fay, group, stalled_conn, limits) -> None:
    """fay publishes ~2.5 MB while a subscriber never reads: fay is not slowed, the subscriber's
    connection holds at most its flow-control window."""
    writer = fay.writer(group)
    env = MessageEnvelope(b"\x01" * 32, 0, b"\x02" * 24, b"\x03" * 4000, commitment=bytes(32)).encode()
    with trio.fail_after(60):
        for _ in range(600):  # ~2.5 MB of entries, far over the per-stream send bound
            await s_fay.publish(writer.append(kinds.MESSAGE, env, 1))
    # the publisher was never slowed by the stalled reader, and the reader's connection
    # holds at most its flow-control window of unread data
    assert stalled_conn.stats.peak_buffered_bytes <= limits.transport.max_buffered_bytes
    group.seq, group.prev = writer.seq, writer.prev  # those entries went around fay's client
    await trio.sleep(0.5)
    await fay.send(s_fay, group, "still served")
    assert stalled_conn.stats.peak_buffered_bytes > 0
