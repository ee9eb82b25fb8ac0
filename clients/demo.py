"""``holdspace demo``: a support group's evening across two communities' nodes, told for a newcomer.

Everything is real: two federated nodes with their LMDB stores in a temporary directory, QUIC on
127.0.0.1 (clients to nodes, and nodes to each other), three participants with passphrase-sealed keys,
end-to-end encryption. It cleans up after itself.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import nacl.signing
import trio

from clients.client import connect
from clients.participant import Participant, now_ms
from node.core import from_record
from node.federation import Federation, quic_connector
from node.peering import PeerBook
from node.server import Node, open_node
from protocol import kinds
from protocol.address import InviteToken, NodeAddress
from protocol.errors import HoldspaceError
from protocol.federation import heads_digest
from protocol.identity import fingerprint
from protocol.payloads import MessageEnvelope

Say = Callable[[str], None]


def run_demo(say: Say = print) -> None:
    with tempfile.TemporaryDirectory(prefix="holdspace-demo-") as tmp:
        trio.run(_demo, Path(tmp), say)
    say("\nThe nodes, their stores and everyone's keys were in a temporary directory, now deleted.")


def _short(key: bytes) -> str:
    return fingerprint(key)[:11]


async def _federated(tmp: Path, nursery: trio.Nursery, name: str) -> tuple[Node, NodeAddress]:
    key = nacl.signing.SigningKey(os.urandom(32))
    node = await nursery.start(_run_node, tmp / name, key)
    host, port = await nursery.start(node.serve_quic, "127.0.0.1", 0)
    return node, NodeAddress(node.public_key, host, port)


async def _run_node(
    directory: Path, key: nacl.signing.SigningKey, *, task_status: trio.TaskStatus[Node] = trio.TASK_STATUS_IGNORED
) -> None:
    async with open_node(directory, key) as node:
        federation = Federation(node, PeerBook(node.public_key), quic_connector(key, node.limits.transport))
        task_status.started(node)
        await federation.run()


async def _in_step(nodes: list[Node], group: bytes) -> None:
    """Wait (at most 20 s) until both nodes hold the same log heads for the group."""
    with trio.move_on_after(20):
        while True:
            events = [n.group_event(group) for n in nodes]
            if len({heads_digest(n.store.heads(group)) for n in nodes}) == 1:
                return
            with trio.move_on_after(0.2):
                await events[0].wait()
                await events[1].wait()


async def _demo(tmp: Path, say: Say) -> None:
    say("Holdspace: a support group's words stay with its members, not with a server.\n")
    async with trio.open_nursery() as nursery:
        river, river_address = await _federated(tmp, nursery, "riverside")
        hill, hill_address = await _federated(tmp, nursery, "hillview")
        say("1. Two communities each run a node. Riverside's and Hillview's listen on QUIC at")
        say(f"   {river_address}")
        say(f"   {hill_address}")
        say("   Clients pin their node's key (the hsn1… part): no certificate authority involved.\n")

        fay = Participant.create(tmp / "Fay", "demo passphrase of Fay", river_address)
        ana = Participant.create(tmp / "Ana", "demo passphrase of Ana", river_address)
        bo = Participant.create(tmp / "Bo", "demo passphrase of Bo", hill_address)
        say("   Fay and Ana belong to Riverside; Bo's home node is Hillview's.\n")
        async with connect(river_address) as s_fay, connect(river_address) as s_ana, connect(hill_address) as s_bo:
            say("2. Fay, a facilitator, creates the group 'Thursday grief circle'.")
            g_fay = await fay.create_group(s_fay, "Thursday grief circle")
            fay_key = _short(fay.pseudonym(g_fay).public_key)
            say(f"   Fay appears in it as pseudonym {fay_key}… (a key made for this group only).\n")

            say("3. Fay invites Ana and Bo. Each gets a private invite token and joins with a fresh pseudonym.")
            g_ana = await ana.join(s_ana, InviteToken.parse(await fay.invite(s_fay, g_fay)), "circle")
            g_bo = await bo.join(s_bo, InviteToken.parse(await fay.invite(s_fay, g_fay)), "circle")
            ana_key, bo_key = _short(ana.pseudonym(g_ana).public_key), _short(bo.pseudonym(g_bo).public_key)
            say(f"   Ana is {ana_key}…, Bo is {bo_key}….")
            hosts = river.core.group_hosts(g_fay.group_id)
            say(f"   Bo joined through Hillview, so the group's signed log now lists {len(hosts)} host nodes;")
            say("   Riverside and Hillview replicate it to each other, each checking every entry itself.\n")

            say("4. They talk. Every message is encrypted on the sender's device and signed.")
            gid = g_fay.group_id
            await _in_step([river, hill], gid)
            await fay.send(s_fay, g_fay, "Welcome, both of you. Share only what you want to.")
            await _in_step([river, hill], gid)
            await ana.send(s_ana, g_ana, "Thank you. My dad died in March and this week was hard.")
            await _in_step([river, hill], gid)
            await bo.send(s_bo, g_bo, "I'm so sorry, Ana. I lost my mother last year.")
            await _in_step([river, hill], gid)
            await ana.sync(s_ana, g_ana)
            for m in ana.record(g_ana.group_id).messages:
                who = {fay.pseudonym(g_fay).public_key: "Fay", ana.pseudonym(g_ana).public_key: "Ana"}.get(
                    m.author, "Bo"
                )
                say(f"   {who}: {m.text}")
            say("   (Bo wrote on Hillview; Ana read it on Riverside.)")
            total, messages = _what_the_node_holds(river, gid)
            hill_total, _ = _what_the_node_holds(hill, gid)
            say(f"   Each node stores the same {total} entries (Hillview: {hill_total}): {total - messages} signed")
            say(f"   control entries (membership, sealed keys) and {messages} messages, held only as ciphertext.")
            say("   Both check every signature and every membership rule, but cannot read a word.\n")

            say("5. Bo is removed (say, at his own request). Fay's client moves the group to new keys")
            say("   that are sealed to Fay and Ana only.")
            await fay.remove_member(s_fay, g_fay, bo.pseudonym(g_bo).public_key)
            await fay.send(s_fay, g_fay, "Ana, shall we meet again next Thursday?")
            await _in_step([river, hill], gid)
            await ana.sync(s_ana, g_ana)
            say(f"   Ana reads: {ana.record(g_ana.group_id).messages[-1].text}")
            state = await bo.sync(s_bo, g_bo)
            still = bo.pseudonym(g_bo).public_key in state.members
            bo_messages = bo.record(g_bo.group_id).messages
            readable = [m for m in bo_messages if m.text is not None]
            say(f"   Bo's client fetched the same entries. Still a member: {still}.")
            say(f"   Bo can read the {len(readable)} messages from before his removal; the new one:")
            say(f"   {bo_messages[-1].problem or 'readable (this would be a bug)'}: he never received its key.")
            envelope = MessageEnvelope(state.epochs[0].entry_id, 99, os.urandom(24), os.urandom(64)).encode()
            late = bo.writer(g_bo).append(kinds.MESSAGE, envelope, now_ms())
            try:
                await s_bo.publish(late)
            except HoldspaceError as err:
                say(f"   Bo's device tries to post anyway; his own node refuses it: {err.code}.\n")

            say("6. Tampering is caught by everyone: the node refuses a message whose words were swapped")
            entry = bo.writer(g_bo).append(kinds.MESSAGE, b"forged", 0)
            try:
                await s_bo.request("publish", e=entry.raw, b=b"other words")
            except HoldspaceError as err:
                say(f"   after signing: {err.code}.")
        nursery.cancel_scope.cancel()


def _what_the_node_holds(node: Node, group: bytes) -> tuple[int, int]:
    page = node.store.iter_group(group, 0, 10_000)
    messages = sum(1 for _, r in page if from_record(r).kind == kinds.MESSAGE)
    return len(page), messages
