"""The client library on one session stream (spec 14.1): answers matched to requests by id whatever
their order, several awaits in flight at once, subscriptions delivered to their iterators and
cancelled when closed."""

from __future__ import annotations

from contextlib import aclosing
from pathlib import Path

import nacl.signing
import pytest
import trio

from holdspace.clients.client import open_session
from holdspace.clients.participant import Participant
from holdspace.node.limits import NodeLimits
from holdspace.node.transport.base import MessageStream, TransportError
from holdspace.node.transport.memory import MemoryConnection, MemoryNetwork
from holdspace.protocol import kinds
from holdspace.protocol.address import InviteToken
from holdspace.protocol.frames import (
    ALPN_CLIENT,
    PROTOCOL_VERSION,
    RemoteError,
    decode_client_request,
    encode_answer,
    encode_client_event,
    encode_refusal,
)
from tests.node.conftest import running_node, session

NODE = nacl.signing.SigningKey(b"\x42" * 32)
NODE_KEY = bytes(NODE.verify_key)


async def scripted_node(conn: MemoryConnection) -> None:
    """A node that answers ``hello`` at once and holds every ``state`` until three are in flight,
    then answers them in the reverse order, echoing each group id; ``identity`` is refused, and a
    ``subscribe`` gets two events and no end."""
    stream: MessageStream = await conn.accept_stream()
    held = []
    try:
        while True:
            request = decode_client_request(await stream.receive())
            if request.op == "hello":
                ok = {"v": PROTOCOL_VERSION, "node": NODE_KEY, "challenge": bytes(32), "limits": {}}
                await stream.send(encode_answer(request.rid, ok))
            elif request.op == "identity":
                await stream.send(encode_refusal(request.rid, "proto.not_found", "nothing"))
            elif request.op == "subscribe":
                await stream.send(encode_client_event(request.rid, "subscribed", next=0))
                await stream.send(encode_client_event(request.rid, "something-new", next=0))  # ignored
                await stream.send(encode_client_event(request.rid, "entries", entries=[], next=0))
            elif request.op == "state":
                held.append(request)
                if len(held) == 3:
                    for r in reversed(held):
                        await stream.send(encode_answer(r.rid, {"g": r.fields["g"]}))
                    held.clear()
    except TransportError:
        return


async def test_answers_out_of_order_reach_the_requests_awaiting_them() -> None:
    network = MemoryNetwork()
    async with trio.open_nursery() as nursery:
        await nursery.start(network.serve, ("node", 1), NODE, [ALPN_CLIENT], scripted_node)
        async with network.connect(("node", 1), NODE_KEY, ALPN_CLIENT) as conn, open_session(conn, NODE_KEY) as s:
            got: dict[bytes, object] = {}

            async def ask(group: bytes) -> None:
                got[group] = (await s.state(group))["g"]

            groups = [bytes([i]) * 32 for i in range(1, 4)]
            with trio.fail_after(5):
                async with trio.open_nursery() as asking:  # three awaits in flight at once
                    for g in groups:
                        asking.start_soon(ask, g)
            assert got == {g: g for g in groups}  # each got its own answer, though they came reversed
            with pytest.raises(RemoteError) as refused:  # a refusal is raised to its own request only
                await s.identity(groups[0], groups[1])
            assert refused.value.code == "proto.not_found"
            async with aclosing(s.subscribe(groups[0])) as batches:
                with trio.fail_after(5):
                    assert await batches.__anext__() == []  # the unknown event was skipped
            assert (await s.request("hello", v=PROTOCOL_VERSION))["node"] == NODE_KEY  # the session goes on
        nursery.cancel_scope.cancel()


async def test_a_cancelled_subscription_frees_its_slot_and_the_session_goes_on(tmp_path: Path) -> None:
    limits = NodeLimits(max_subscriptions_per_connection=1)
    async with running_node(tmp_path / "n", limits) as (_, address):
        fay = Participant.create(tmp_path / "fay", "p", address)
        ana = Participant.create(tmp_path / "ana", "p", address)
        async with session(address) as s_fay, session(address) as s_ana:
            group = await fay.create_group(s_fay, "g")
            g_ana = await ana.join(s_ana, InviteToken.parse(await fay.invite(s_fay, group)))
            await fay.send(s_fay, group, "before")
            for _ in range(3):  # one slot: each subscription must have ended on the node before the next
                with trio.fail_after(10):
                    async with aclosing(s_ana.subscribe(g_ana.group_id, 0)) as batches:
                        batch = await batches.__anext__()
                        assert batch and batch[0].cursor == 1
                await s_ana.fetch(g_ana.group_id)  # the cancel's answer and the final frame were taken in stride

            # a live subscription and requests interleaved on the one stream, from several tasks
            seen: list[int] = []
            sent = 5

            async def listen() -> None:
                async with aclosing(s_ana.subscribe(g_ana.group_id, 0)) as live:
                    async for got in live:
                        seen.extend(r.entry.kind for r in got)
                        if seen.count(kinds.MESSAGE) >= 1 + sent:
                            return

            async def read_meanwhile() -> None:
                for _ in range(10):
                    await s_ana.state(g_ana.group_id)

            with trio.fail_after(20):
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(listen)
                    nursery.start_soon(read_meanwhile)
                    for i in range(sent):
                        await fay.send(s_fay, group, f"live {i}")
            assert seen.count(kinds.MESSAGE) == 1 + sent
