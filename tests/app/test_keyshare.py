"""Keys reach a newcomer without a facilitator online (spec 13.1, sharing keys with newcomers): an
ordinary member's app engine publishes the rekey at its turn for the join, without anyone typing,
and of two members online only one does. A real node over QUIC, real time, a short step."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import trio

from holdspace.clients import keyshare
from holdspace.clients.app.service import AppService
from holdspace.clients.participant import GroupRecord, Participant
from holdspace.protocol.address import InviteToken, NodeAddress
from holdspace.protocol.content import Text
from holdspace.protocol.group import GroupState
from tests.node.conftest import people, running_node, session

STEP = 1.5  # seconds between two members' turns here (3 s by default)


@asynccontextmanager
async def engines(homes: list[Path]) -> AsyncIterator[list[AppService]]:
    """An app engine per home, unlocked and online, stopped at the end."""
    services = [AppService(home, share_step=STEP) for home in homes]
    async with trio.open_nursery() as nursery:
        for service in services:
            nursery.start_soon(service.run)
        for home, service in zip(homes, services, strict=True):
            await service.unlock("pass " + home.name)
        with trio.fail_after(20):
            for service in services:
                while service.status().state != "online" or not service._following:
                    await service.wait_change(service.version)
        yield services
        nursery.cancel_scope.cancel()


async def until_clean(newcomer: Participant, s: object, record: GroupRecord) -> GroupState:
    """The newcomer looks (it never writes) until the current epoch is clean."""
    with trio.fail_after(20):
        while True:
            state = await newcomer.sync(s, record)  # type: ignore[arg-type]
            epoch = state.current_epoch
            if epoch is not None and state.epoch_is_clean(epoch):
                return state
            await trio.sleep(0.2)


async def a_group(
    tmp_path: Path, address: NodeAddress, members: list[str]
) -> tuple[Participant, str, dict[str, bytes]]:
    """Fay's group with ``members`` in it, all holding its keys, and an invite for one more; Fay
    then goes offline (no engine of hers runs). Returns the newcomer, the invite, and each
    member's key in the group."""
    fay, nia, *others = people(tmp_path, address, "fay", "nia", *members)
    keys: dict[str, bytes] = {}
    async with session(address) as s:
        group = await fay.create_group(s, "circle")
        for name, p in zip(members, others, strict=True):
            record = await p.join(s, InviteToken.parse(await fay.invite(s, group)))
            keys[name] = p.pseudonym(record).public_key
        await fay.send(s, group, "welcome")  # the epoch is clean: every member holds its key
        for p in others:
            await p.sync(s, p.groups[group.group_id])
            p.save()
        invite = await fay.invite(s, group)
    keys["fay"] = fay.pseudonym(group).public_key
    return nia, invite, keys


async def test_a_member_shares_the_keys_when_no_facilitator_is_online(tmp_path: Path) -> None:
    async with running_node(tmp_path / "node") as (_, address):
        nia, invite, keys = await a_group(tmp_path, address, ["ana"])
        async with engines([tmp_path / "ana"]) as (ana,), session(address) as s:
            me = ana.participant()
            record = next(iter(me.groups.values()))
            written = len(me.outbox)
            g_nia = await nia.join(s, InviteToken.parse(invite))
            state = await until_clean(nia, s, g_nia)
            epoch = state.current_epoch
            assert epoch is not None
            assert epoch.author == keys["ana"]  # Ana's engine shared the keys; nobody typed anything
            assert len(me.outbox) == written and not any(m.text for m in g_nia.messages)
            ana.queue(record, Text("hello Nia", None))  # what Ana's client sends next, Nia reads
            with trio.fail_after(20):
                while not any(m.text == "hello Nia" for m in g_nia.messages):
                    await trio.sleep(0.2)
                    await nia.sync(s, g_nia)


async def test_of_two_members_online_one_shares_the_keys(tmp_path: Path) -> None:
    async with running_node(tmp_path / "node") as (_, address):
        nia, invite, keys = await a_group(tmp_path, address, ["ana", "ben"])
        async with engines([tmp_path / "ana", tmp_path / "ben"]), session(address) as s:
            g_nia = await nia.join(s, InviteToken.parse(invite))
            join = (await nia.sync(s, g_nia)).members[nia.pseudonym(g_nia).public_key].admitted_by
            assert join is not None
            before = len((await nia.sync(s, g_nia)).epochs)
            state = await until_clean(nia, s, g_nia)
            order = keyshare.sharing_order(join[0], [(keys[n], "member") for n in ("ana", "ben")])
            assert state.epochs[-1].author == order[0]  # the first in turn
            await trio.sleep(2 * STEP)  # past the other's turn (one step after the first): it saw the rekey
            state = await nia.sync(s, g_nia)
            assert len(state.epochs) == before + 1
            assert state.epoch_is_clean(state.epochs[-1])
