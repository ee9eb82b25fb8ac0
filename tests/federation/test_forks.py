"""One member's fork splits nobody (spec 12.5 forked positions, 16.5, 16.6): three nodes over real QUIC.

A member signs two different entries at one log position and sends one to host A, the other to host
B, at the same moment. Honest members on every node then keep talking and acting. Every honest
author's entries must end on every host, the hosts' group states must agree, and no host may
penalise another for relaying what the equivocator caused.
"""

from __future__ import annotations

from pathlib import Path

import trio

from holdspace.clients.client import connect
from holdspace.clients.participant import GroupRecord, Participant
from holdspace.node.core import from_record
from holdspace.node.peering import PeerBook
from holdspace.protocol import kinds
from holdspace.protocol.address import InviteToken
from holdspace.protocol.entry import Entry
from holdspace.protocol.errors import HoldspaceError
from holdspace.protocol.log import verify_fork_proof
from holdspace.protocol.payloads import Erase
from tests.federation.conftest import Running, _any, converged, federated_node

HONEST_MESSAGES = 20


def seed(n: int) -> bytes:
    return bytes([n]) * 32


def honest_heads(running: Running, group: bytes, liar: bytes) -> dict[bytes, tuple[int, bytes]]:
    return {a: h for a, h in running.node.store.heads(group).items() if a != liar}


async def honest_converged(nodes: list[Running], group: bytes, liar: bytes, within: float = 40.0) -> None:
    """Wait until every node holds the same heads for every author but ``liar`` (whose log may differ)."""
    with trio.move_on_after(within):
        while True:
            events = [r.node.group_event(group) for r in nodes]  # taken before the check: no lost wake-up
            if len({tuple(sorted(honest_heads(r, group, liar).items())) for r in nodes}) == 1:
                return
            await _any(events)
    heads = [{a.hex()[:8]: s for a, (s, _i) in honest_heads(r, group, liar).items()} for r in nodes]
    raise AssertionError(f"honest logs did not converge in {within} s: heads per node {heads}")


async def proven_everywhere(nodes: list[Running], group: bytes, within: float = 20.0) -> None:
    with trio.fail_after(within):
        for r in nodes:
            while True:
                event = r.node.group_event(group)  # a new proof wakes the group's event
                if r.node.fork_proofs(group):
                    break
                await event.wait()


def nobody_penalised(nodes: list[Running]) -> None:
    for r in nodes:
        book: PeerBook = r.federation.book
        assert not book.penalised_until, f"{r.address} penalised a peer"
        assert not any(book.strikes.values()), f"{r.address} counted strikes: {book.strikes}"


async def publish_raw(running: Running, liar: Participant, record: GroupRecord, entry: Entry) -> str:
    async with connect(running.address) as s:
        await s.authenticate(liar.pseudonym(record))
        try:
            await s.publish(entry)
        except HoldspaceError as err:
            return err.code
    return "ok"


async def community(tmp_path: Path, a: Running, b: Running, c: Running):  # type: ignore[no-untyped-def]
    """fay (facilitator, on A), ana (on B), bo (on C) and xav (on A, the equivocator), all joined."""
    fay = Participant.create(tmp_path / "fay", "pass fay", a.address)
    ana = Participant.create(tmp_path / "ana", "pass ana", b.address)
    bo = Participant.create(tmp_path / "bo", "pass bo", c.address)
    xav = Participant.create(tmp_path / "xav", "pass xav", a.address)
    async with connect(a.address) as s_fay, connect(b.address) as s_ana, connect(c.address) as s_bo:
        group = await fay.create_group(s_fay, "Tuesday circle")
        records = {"fay": group}
        records["ana"] = await ana.join(s_ana, InviteToken.parse(await fay.invite(s_fay, group)))
        records["bo"] = await bo.join(s_bo, InviteToken.parse(await fay.invite(s_fay, group)))
        async with connect(a.address) as s_xav:
            records["xav"] = await xav.join(s_xav, InviteToken.parse(await fay.invite(s_fay, group)))
            await converged([a, b, c], group.group_id)
            await fay.send(s_fay, group, "Welcome, all three of you.")
            await converged([a, b, c], group.group_id)
            await xav.send(s_xav, records["xav"], "something I will want erased")
            await xav.sync(s_xav, records["xav"])
    await converged([a, b, c], group.group_id)
    return {"fay": fay, "ana": ana, "bo": bo, "xav": xav}, records


async def keep_talking(
    people: dict[str, Participant], records: dict[str, GroupRecord], a: Running, b: Running, c: Running
) -> None:
    """The honest members act on their own nodes: the facilitator invites and talks (its entries name
    whatever twin its node holds), the others talk and act too."""
    fay, ana, bo = people["fay"], people["ana"], people["bo"]
    async with connect(a.address) as s_fay, connect(b.address) as s_ana, connect(c.address) as s_bo:
        await fay.invite(s_fay, records["fay"])
        for i in range(HONEST_MESSAGES):
            if i == HONEST_MESSAGES // 2:  # the facilitator removes the equivocator: a new epoch follows
                liar = people["xav"].pseudonym(records["xav"]).public_key
                await fay.remove_member(s_fay, records["fay"], liar)
            await fay.send(s_fay, records["fay"], f"fay {i}")
        await ana.send(s_ana, records["ana"], "ana is here")
        await bo.send(s_bo, records["bo"], "bo is here")
        await ana.erase_my_messages(s_ana, records["ana"])  # a control entry by an honest member on B
        await bo.send(s_bo, records["bo"], "bo again")


async def race(
    a: Running, b: Running, liar: Participant, record: GroupRecord, one: Entry, two: Entry, *after_one: Entry
) -> None:
    """``one`` (and what continues it) to A, ``two`` to B, at the same moment."""
    outcomes: list[str] = []

    async def send(node: Running, entry: Entry) -> None:
        outcomes.append(await publish_raw(node, liar, record, entry))

    async def send_many(node: Running, entries: list[Entry]) -> None:
        async with connect(node.address) as s:
            await s.authenticate(liar.pseudonym(record))
            results = await s.publish_many(entries)
        outcomes.append("ok" if isinstance(results[0], int) else str(results[0]))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(send_many, a, [one, *after_one])
        nursery.start_soon(send, b, two)
    assert "ok" in outcomes and set(outcomes) <= {"ok", "log.fork"}, outcomes


async def check_outcome(
    nodes: list[Running], people: dict[str, Participant], records: dict[str, GroupRecord], gid: bytes
) -> None:
    liar = people["xav"].pseudonym(records["xav"]).public_key
    await proven_everywhere(nodes, gid)
    await honest_converged(nodes, gid, liar)
    fay = people["fay"].pseudonym(records["fay"]).public_key
    heads = {r.node.store.heads(gid)[fay][0] for r in nodes}
    assert len(heads) == 1 and heads.pop() >= HONEST_MESSAGES  # the facilitator's whole log, everywhere
    for r in nodes:
        assert verify_fork_proof(r.node.fork_proofs(gid)[0]).author == liar
    fingerprints = {r.node.core.state(gid).fingerprint() for r in nodes}
    assert len(fingerprints) == 1, "the hosts' group states differ"
    members = {frozenset(r.node.core.state(gid).members) for r in nodes}
    assert len(members) == 1 and len(members.pop()) == 3  # fay, ana, bo (xav removed; the new invite unused)
    nobody_penalised(nodes)
    await everyone_reads(nodes, people, records)


async def everyone_reads(nodes: list[Running], people: dict[str, Participant], records: dict[str, GroupRecord]) -> None:
    """Every honest member, on its own node, reads what the facilitator said after the fork."""
    for name, running in (("fay", nodes[0]), ("ana", nodes[1]), ("bo", nodes[2])):
        async with connect(running.address) as s:
            await people[name].sync(s, records[name])
        texts = {m.text for m in people[name].record(records[name].group_id).messages}
        assert f"fay {HONEST_MESSAGES - 1}" in texts, (name, sorted(t for t in texts if t))


async def test_twin_control_entries_split_nobody(tmp_path: Path) -> None:
    async with (
        federated_node(tmp_path / "a", seed(1)) as a,
        federated_node(tmp_path / "b", seed(2)) as b,
        federated_node(tmp_path / "c", seed(3)) as c,
    ):
        people, records = await community(tmp_path, a, b, c)
        gid = records["fay"].group_id
        xav, rec = people["xav"], records["xav"]
        deps = a.node.core.state(gid).heads
        one = xav.writer(rec).append(kinds.ERASE, Erase(deps, rec.seq).encode(), xav.clock())
        two = xav.writer(rec).append(kinds.ERASE, Erase(deps, rec.seq - 1).encode(), xav.clock() + 1)
        assert one.seq == two.seq and one.entry_id != two.entry_id
        await race(a, b, xav, rec, one, two)
        await keep_talking(people, records, a, b, c)
        await check_outcome([a, b, c], people, records, gid)


async def test_twin_messages_split_nobody(tmp_path: Path) -> None:
    async with (
        federated_node(tmp_path / "a", seed(1)) as a,
        federated_node(tmp_path / "b", seed(2)) as b,
        federated_node(tmp_path / "c", seed(3)) as c,
    ):
        people, records = await community(tmp_path, a, b, c)
        gid = records["fay"].group_id
        xav, rec = people["xav"], records["xav"]
        stored = [r for _c, r in a.node.store.iter_group(gid, 0, 10**6) if r.kind == kinds.MESSAGE]
        payload = from_record(stored[-1]).payload  # hosts only parse an envelope: a stored one will do
        assert payload is not None
        writer = xav.writer(rec)
        one = writer.append(kinds.MESSAGE, payload, xav.clock())
        two = xav.writer(rec).append(kinds.MESSAGE, payload, xav.clock() + 1)
        assert one.seq == two.seq and one.entry_id != two.entry_id
        # xav goes on along twin one with a control entry, which A's facilitator will then name in d:
        # B and C can never hold it (it continues the branch they do not have)
        going_on = writer.append(kinds.ERASE, Erase(a.node.core.state(gid).heads, 1).encode(), xav.clock() + 2)
        await race(a, b, xav, rec, one, two, going_on)
        await keep_talking(people, records, a, b, c)
        await check_outcome([a, b, c], people, records, gid)
