"""``holdspace demo``: a support group's evening across two communities' nodes, told for a newcomer.

Everything is real: two federated nodes with their LMDB stores in a temporary directory, QUIC on
127.0.0.1 (clients to nodes, and nodes to each other), three participants with passphrase-sealed keys,
end-to-end encryption. It cleans up after itself.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import nacl.signing
import trio

from holdspace.clients import crisis
from holdspace.clients.client import NodeSession, connect
from holdspace.clients.participant import GroupRecord, Participant, now_ms
from holdspace.clients.support import checkin_summary, crisis_resources, sessions
from holdspace.node.core import from_record
from holdspace.node.federation import Federation, quic_connector
from holdspace.node.peering import PeerBook
from holdspace.node.server import Node, open_node
from holdspace.protocol import kinds
from holdspace.protocol.address import InviteToken, NodeAddress
from holdspace.protocol.content import CheckIn, Pin, Reaction, Rsvp, Text, Turn
from holdspace.protocol.errors import HoldspaceError
from holdspace.protocol.federation import heads_digest
from holdspace.protocol.identity import fingerprint
from holdspace.protocol.payloads import MessageEnvelope
from holdspace.protocol.schedule import zone

Say = Callable[[str], None]
Who = tuple[Participant, NodeSession, GroupRecord]


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

            await _support_evening(say, (river, hill), (fay, s_fay, g_fay), (ana, s_ana, g_ana), (bo, s_bo, g_bo))

            say("10. Bo is removed (say, at his own request). Fay's client moves the group to new keys")
            say("   that are sealed to Fay and Ana only.")
            await fay.remove_member(s_fay, g_fay, bo.pseudonym(g_bo).public_key)
            await fay.send(s_fay, g_fay, "Ana, shall we meet again next Thursday?")
            await _in_step([river, hill], gid)
            await ana.sync(s_ana, g_ana)
            say(f"   Ana reads: {ana.record(g_ana.group_id).messages[-1].text}")
            state = await bo.sync(s_bo, g_bo)
            still = bo.pseudonym(g_bo).public_key in state.members
            fetched = await s_bo.fetch_all(gid)
            words = sum(1 for r in fetched if r.entry.kind in kinds.MESSAGE_KINDS and r.entry.payload is not None)
            say(f"   Bo's client syncs: still a member: {still}. His node now hands him signed headers and")
            say(f"   no words ({words} message payloads); and the new message's key was never sealed to him.")
            envelope = MessageEnvelope(
                state.epochs[0].entry_id, 99, os.urandom(24), os.urandom(64), commitment=bytes(32)
            ).encode()
            late = bo.writer(g_bo).append(kinds.MESSAGE, envelope, now_ms())
            try:
                await s_bo.publish(late)
            except HoldspaceError as err:
                say(f"   Bo's device tries to post anyway; his own node refuses it: {err.code}.\n")

            say("11. Tampering is caught by everyone: the node refuses a message whose words were swapped")
            entry = bo.writer(g_bo).append(kinds.MESSAGE, b"forged", 0)
            try:
                await s_bo.request("publish", e=entry.raw, b=b"other words")
            except HoldspaceError as err:
                say(f"   after signing: {err.code}.")
        nursery.cancel_scope.cancel()


async def _support_evening(say: Say, nodes: tuple[Node, Node], fay: Who, ana: Who, bo: Who) -> None:
    """Steps 5 to 9: a session, check-ins, a content warning, a reaction and a redaction."""
    (p_fay, s_fay, g_fay), (p_ana, s_ana, g_ana), (p_bo, s_bo, g_bo) = fay, ana, bo
    gid = g_fay.group_id
    tz = "Europe/London"
    say("5. Fay schedules the weekly session, with a rule agreed in its signed settings: what is said")
    say("   during a session is erased by every host 24 hours after it ends.")
    sid = await p_fay.schedule(
        s_fay,
        g_fay,
        title="Thursday grief circle",
        about="Tea, and a space to talk.",
        start_ms=p_fay.clock() - 60_000,
        duration_ms=90 * 60_000,
        tz=tz,
        recurrence=("weekly", 8),
        retention_ms=24 * 3_600_000,
    )
    await _in_step(list(nodes), gid)
    await p_ana.sync(s_ana, g_ana)
    for view in sessions(p_ana.record(gid), p_ana.clock(), 2):
        when = datetime.fromtimestamp(view.occurrence.start_ms / 1000, zone(tz)).strftime("%a %d %b, %H:%M %Z")
        say(f"   Ana's client lists: {view.title}, {when} (occurrence {view.occurrence.index + 1} of 8)")
    await p_ana.post(s_ana, g_ana, Rsvp(sid, 0, "yes"))
    await p_fay.post(s_fay, g_fay, Turn(sid, 0, p_ana.pseudonym(g_ana).public_key))
    say("   Ana RSVPs; Fay passes Ana the talking piece: her client shows it is her turn to share.\n")

    say("6. Check-ins, the cues text loses: Ana shares 'mood 2, tired' with the facilitators only;")
    say("   Bo shares 'mood 4, grateful' with everyone.")
    await p_ana.post(s_ana, g_ana, CheckIn(2, "tired", (sid, 0)), to=p_ana.facilitators(g_ana))
    await p_bo.post(s_bo, g_bo, CheckIn(4, "grateful", (sid, 0)))
    await _in_step(list(nodes), gid)
    await p_fay.sync(s_fay, g_fay)
    await p_bo.sync(s_bo, g_bo)
    summary = checkin_summary(p_fay.record(gid), sid, 0)
    bo_view = checkin_summary(p_bo.record(gid), sid, 0)
    say(
        f"   Fay's summary: {summary.count} check-ins, average mood {summary.average:.1f}, words: "
        f"{', '.join(summary.words)}. Bo's client can read {bo_view.count}: Ana's was sealed to Fay.\n"
    )

    say("7. Bo writes behind a content warning; Ana sees the label first and chooses to open it.")
    warned = await p_bo.send(s_bo, g_bo, "The last weeks in the hospital were the worst.", warning="illness")
    await _in_step(list(nodes), gid)
    await p_ana.sync(s_ana, g_ana)
    seen = next(m for m in p_ana.record(gid).messages if m.entry_id == warned.entry_id)
    label = seen.content.warning if isinstance(seen.content, Text) else None
    say(f"   Ana's list shows: [content warning: {label}] (hidden). She opens it: {seen.text}")
    await p_ana.post(s_ana, g_ana, Reaction(warned.entry_id, "hug"))
    say("   She answers with a reaction: hug.\n")

    say("8. Ana regrets something she wrote and redacts it. Every host deletes the words and keeps only")
    say("   the signed header: a tombstone that shows something was said, never what.")
    regret = await p_ana.send(s_ana, g_ana, "Sometimes I am angry at him for leaving.")
    await _in_step(list(nodes), gid)
    await p_ana.redact(s_ana, g_ana, [regret.entry_id])
    await _in_step(list(nodes), gid)
    with trio.move_on_after(10):  # each host deletes once it has applied the redaction
        while True:
            if all(_payload(n, regret.entry_id) is None for n in nodes):
                break
            await trio.sleep(0.05)
    held = ["words" if _payload(n, regret.entry_id) else "tombstone only" for n in nodes]
    say(f"   Riverside holds: {held[0]}; Hillview holds: {held[1]} (the redaction crossed by federation).\n")

    say("9. Every client also keeps the group's crisis resources at hand, pinned by the facilitator, and")
    say("   checks on the device alone what its person is about to send; nothing of it leaves the device.")
    await p_fay.post(s_fay, g_fay, Pin("If you are in danger now, call 999. Samaritans: 116 123, any time."))
    await p_ana.sync(s_ana, g_ana)
    text = "Some nights I don't want to be here anymore."
    match = crisis.check(text)
    say(f"   Ana drafts: '{text}' -> the on-device check points to help ({match.rule if match else 'none'}):")
    say(f"   {crisis_resources(p_ana.record(gid))[0]}\n")


def _payload(node: Node, entry_id: bytes) -> bytes | None:
    record = node.store.get(entry_id)
    return from_record(record).payload if record is not None else None


def _what_the_node_holds(node: Node, group: bytes) -> tuple[int, int]:
    page = node.store.iter_group(group, 0, 10_000)
    messages = sum(1 for _, r in page if from_record(r).kind in kinds.MESSAGE_KINDS)
    return len(page), messages
