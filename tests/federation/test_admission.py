"""Which groups a node hosts for other nodes (spec 16.4, 14.6): a peer asking for a group this node does
not hold is answered with the operator's refusal (federate none or peers, max_groups, a refused group)
and nothing is fetched; a refused group held here is served to no peer."""

from __future__ import annotations

from pathlib import Path

import trio

from holdspace.node.admission import Policy
from holdspace.protocol.federation import encode_digests, encode_sync

from .conftest import converged, federated_node
from .test_zero_trust import Founder, exchange, fed_connect, node_key, nowhere, ok, publish, receive_map, seed


async def test_invitations_to_host_follow_the_operators_admission(tmp_path: Path) -> None:
    asker = node_key(1)
    async with federated_node(tmp_path / "b", seed(2), peers=(nowhere(asker),), policy=Policy(federate="none")) as b:
        group = bytes(range(32))  # a group b does not hold; asker says b hosts it
        probe = encode_digests({group: bytes(32)})
        with trio.fail_after(10):
            while bytes(asker.verify_key) not in b.federation.addresses:  # b links to its added peer
                b.node.topology_changed()  # the run loop sets the addresses it links to at each change
                await trio.sleep(0.05)
        async with fed_connect(b, asker) as conn:
            for policy, code in [
                (Policy(federate="none"), "admission.peer_refused"),
                (Policy(federate="peers", max_groups=0), "admission.max_groups"),
                (Policy(refused=frozenset({group})), "admission.group_refused"),
            ]:
                b.node.core.policy = policy
                assert ok(await exchange(conn, probe))["refused"] == [[group, code]]
                assert group not in b.federation.adopting  # nothing is fetched
            b.node.core.policy = Policy(federate="peers")  # an added peer may ask
            assert ok(await exchange(conn, probe))["refused"] == [[group, "fed.not_host"]]
            assert group in b.federation.adopting  # fetched from the asker, which serves it if it lists b


async def test_a_refused_group_is_served_to_no_peer(tmp_path: Path) -> None:
    mallory = node_key(66)
    async with federated_node(tmp_path / "a", seed(1)) as a:
        founder = Founder(a.address)
        founder.add_host(nowhere(mallory))
        founder.message()
        await publish(a, founder.me, founder.log)
        a.node.core.policy = Policy(refused=frozenset({founder.group}))
        async with fed_connect(a, mallory) as conn:
            answer = ok(await exchange(conn, encode_digests({founder.group: bytes(32)})))
            assert answer["refused"] == [[founder.group, "admission.group_refused"]]
            stream = await conn.open_stream()
            await stream.send(encode_sync({founder.group: (0, None)}))
            assert ok(await receive_map(stream))["groups"] == [[founder.group, "admission.group_refused"]]
        assert founder.group not in a.node.core.all_hosts()  # not pulled from its other hosts either


async def test_a_full_cohost_holds_a_peers_entries_and_stores_them_once_it_has_room(tmp_path: Path) -> None:
    async with federated_node(tmp_path / "a", seed(1)) as a, federated_node(tmp_path / "b", seed(2)) as b:
        founder = Founder(a.address)
        founder.add_host(b.address)
        for node in (a, b):
            await publish(node, founder.me, founder.log)
        await converged([a, b], founder.group)
        held = b.node.store.count(founder.group)
        b.node.core.policy = Policy(max_group_bytes=b.node.store.usage(founder.group)[0] + 10)
        await publish(a, founder.me, [founder.message() for _ in range(3)])  # acknowledged by a
        await trio.sleep(1.0)
        assert b.node.store.count(founder.group) == held  # full: b stores none of them, drops nothing
        assert b.federation.book.refusal(a.node.public_key, trio.current_time()) is None  # no fault of a's
        b.node.core.policy = Policy()  # the operator makes room
        await publish(a, founder.me, [founder.message()])
        await converged([a, b], founder.group)  # the held entries, then the new one
        assert b.node.store.count(founder.group) == a.node.store.count(founder.group) == held + 4
