"""Attacks through a real node over QUIC on loopback, with the real client: each must fail."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from holdspace.clients.participant import GroupRecord, Participant, now_ms
from holdspace.node.limits import NodeLimits
from holdspace.node.transport.base import TransportError
from holdspace.protocol import codec, crypto, e2ee, kinds
from holdspace.protocol.address import InviteToken
from holdspace.protocol.author import InviteSecret, LogWriter, remove
from holdspace.protocol.errors import HoldspaceError
from holdspace.protocol.frames import encode_request
from holdspace.protocol.identity import Pseudonym, group_context
from holdspace.protocol.payloads import Rekey
from tests.node.conftest import running_node, session
from tests.node.test_adversarial import raw_request


def people(tmp_path: Path, address, *names: str) -> list[Participant]:
    return [Participant.create(tmp_path / n, "pass " + n, address) for n in names]


async def test_long_message_is_stored(tmp_path: Path, node) -> None:
    """Plaintexts of 16384..65279 bytes pad to the 65280 bucket (spec 13.4): the envelope fits the
    65536-byte message limit, but the stored record [header, payload] exceeds the store's 64 KiB
    MAX_RAW_SIZE, so every such message is refused (proto.busy), forever."""
    _, address = node
    (fay,) = people(tmp_path, address, "fay")
    async with session(address) as s:
        group = await fay.create_group(s, "g")
        try:
            await fay.send(s, group, "x" * 20_000)
        except HoldspaceError as err:
            pytest.fail(f"a 20000-byte message was refused: {err.code}")


async def test_unauthenticated_junk_does_not_drain_a_members_publish_budget(tmp_path: Path) -> None:
    """The publish token bucket is charged for the author named in the *unverified* header, before
    the signature or the connection's authentication is checked."""
    limits = NodeLimits(publish_rate=0.01, publish_burst=10)
    async with running_node(tmp_path / "n", limits) as (_, address):
        (fay,) = people(tmp_path, address, "fay")
        async with session(address) as honest, session(address) as attacker:
            group = await fay.create_group(honest, "g")
            victim = fay.pseudonym(group).public_key
            junk = codec.encode({"a": victim})
            codes = {await raw_request(attacker, encode_request("publish", e=junk, b=None)) for _ in range(12)}
            assert codes == {"proto.unauthenticated"}  # refused before its budget is charged
            try:
                await fay.send(honest, group, "hello")
            except HoldspaceError as err:
                pytest.fail(f"an unauthenticated stranger exhausted fay's publish budget: {err.code}")


def _grind_join(token: InviteToken, ts: int, *, before: bytes | None = None, after: bytes | None = None):
    """A join with the used token under a fresh pseudonym whose join id sorts before/after a given id.
    Returns (master, pseudonym, join entry)."""
    while True:
        master = os.urandom(32)
        me = Pseudonym.derive(master, group_context(token.group_id))
        join = InviteSecret(token.group_id, token.invite_id, token.seed).join(LogWriter(me, token.group_id), ts)
        if (before is None or join.entry_id < before) and (after is None or join.entry_id > after):
            return master, me, join


async def test_used_up_invite_token_does_not_grant_read_access_to_a_fresh_pseudonym(tmp_path: Path, node) -> None:
    """A single-use token, once redeemed (and its holder banned), still lets anyone store a join
    under a fresh pseudonym (ignored: invite_exhausted, but stored), and a stored join is all that
    fetch/subscribe require. The banned person reads the group's log forever under a new pseudonym."""
    _, address = node
    fay, ana = people(tmp_path, address, "fay", "ana")
    async with session(address) as s_fay, session(address) as s_ana, session(address) as s_mal:
        group = await fay.create_group(s_fay, "g")
        token = InviteToken.parse(await fay.invite(s_fay, group, uses=1))
        g_ana = await ana.join(s_ana, token)
        assert g_ana.prev is not None
        await fay.remove_member(s_fay, group, ana.pseudonym(g_ana).public_key, ban=True)
        await fay.send(s_fay, group, "after the ban")
        _, fresh, join = _grind_join(token, now_ms(), after=g_ana.prev)  # loses the race for the use
        await s_mal.authenticate(fresh)
        assert await raw_request(s_mal, encode_request("publish", e=join.raw, b=join.payload)) == (
            "group.invite_exhausted"
        )
        code = await raw_request(s_mal, encode_request("fetch", g=token.group_id, after=0, limit=512))
        assert code == "proto.forbidden", f"fetch by a never-admitted pseudonym answered {code}"


async def test_banned_member_with_its_used_token_cannot_read_new_messages(tmp_path: Path, node) -> None:
    """The banned person re-signs a join with its own used token under a pseudonym ground so that the
    join's id sorts before its original join. The linearisation gives the single use to the new join:
    the original join, the removal and the ban are all voided, the newcomer is a member, and the
    next honest rekey seals the new epoch key to it. End-to-end encryption is bypassed."""
    _, address = node
    fay, ana, mal = people(tmp_path, address, "fay", "ana", "mal")
    async with session(address) as s_fay, session(address) as s_ana, session(address) as s_mal:
        group = await fay.create_group(s_fay, "g")
        token = InviteToken.parse(await fay.invite(s_fay, group, uses=1))
        g_ana = await ana.join(s_ana, token)
        assert g_ana.prev is not None
        await fay.remove_member(s_fay, group, ana.pseudonym(g_ana).public_key, ban=True)
        master, me, join = _grind_join(token, now_ms(), before=g_ana.prev)
        mal.master = master
        record = GroupRecord(token.group_id, group_context(token.group_id), "g")
        record.keys = e2ee.GroupKeys(token.group_id, me)
        mal.groups[token.group_id] = record
        await s_mal.authenticate(me)
        with pytest.raises(HoldspaceError) as err:  # the node refuses the displacing join outright
            await mal._publish(s_mal, record, join)
        assert err.value.code == "group.invite_exhausted"
        await fay.send(s_fay, group, "said after the ban")
        with pytest.raises(HoldspaceError):  # and the never-admitted pseudonym cannot read the group
            await mal.sync(s_mal, record)
        texts = {m.text for m in record.messages}
        assert "said after the ban" not in texts, "a banned person read a message sent after its ban"


async def test_a_join_refused_by_the_rules_does_not_lock_the_person_out_for_good(tmp_path: Path, node) -> None:
    """bob redeems a token someone else already used: the node *stores* his join and answers
    group.invite_exhausted. The client takes the error as "not stored" and forgets its log position;
    bob's pseudonym in a group is fixed (derived from the group id), so every later join he signs
    is a second seq 1: log.fork, for ever, and a fork proof against him."""
    _, address = node
    fay, ana, bob = people(tmp_path, address, "fay", "ana", "bob")
    async with session(address) as s_fay, session(address) as s_ana, session(address) as s_bob:
        group = await fay.create_group(s_fay, "g")
        shared = InviteToken.parse(await fay.invite(s_fay, group, uses=1))
        await ana.join(s_ana, shared)
        with pytest.raises(HoldspaceError):
            await bob.join(s_bob, shared)
        fresh = InviteToken.parse(await fay.invite(s_fay, group, uses=1))
        try:
            await bob.join(s_bob, fresh)
        except HoldspaceError as err:
            pytest.fail(f"bob can never join with a valid new invite: {err.code}")


async def test_lost_publish_response_does_not_fork_the_clients_own_log(tmp_path: Path, node) -> None:
    """The node stored the entry, the answer was lost (connection drop, or the client crashed before
    saving its key file). The client re-signs a different entry at the same seq: log.fork for ever."""
    _, address = node
    (fay,) = people(tmp_path, address, "fay")
    async with session(address) as s:
        group = await fay.create_group(s, "g")
        real_publish = s.publish
        lost = {"armed": True}

        async def publish_then_lose_answer(entry):  # type: ignore[no-untyped-def]
            cursor = await real_publish(entry)
            if lost["armed"]:
                lost["armed"] = False
                raise TransportError("connection lost before the answer arrived")
            return cursor

        s.publish = publish_then_lose_answer  # type: ignore[method-assign]
        with pytest.raises(TransportError):
            await fay.send(s, group, "one")
        try:
            await fay.send(s, group, "two")
        except HoldspaceError as err:
            pytest.fail(f"fay can no longer post in her own group: {err.code}")


async def test_a_bad_sealed_box_from_one_member_does_not_stop_another_from_syncing(tmp_path: Path, node) -> None:
    """A member's rekey may seal garbage to a victim (the node cannot check sealed boxes). The
    victim's Participant.sync calls open_rekey outside any error handling: CryptoError, on every
    sync from then on. The victim can no longer read or send."""
    _, address = node
    fay, ana = people(tmp_path, address, "fay", "ana")
    async with session(address) as s_fay, session(address) as s_ana:
        group = await fay.create_group(s_fay, "g")
        g_ana = await ana.join(s_ana, InviteToken.parse(await fay.invite(s_fay, group)))
        state = await ana.sync(s_ana, g_ana)
        me = ana.pseudonym(g_ana)
        key = e2ee.new_epoch_key()
        sealed = sorted(
            [
                (me.public_key, crypto.seal(state.members[me.public_key].x25519, key)),
                (fay.pseudonym(group).public_key, os.urandom(80)),
            ]
        )
        rekey = Rekey(state.heads, tuple(sealed), None, ())
        entry = ana.writer(g_ana).append(kinds.REKEY, rekey.encode(), 1)
        await ana._publish(s_ana, g_ana, entry)
        try:
            await fay.sync(s_fay, group)
        except HoldspaceError as err:
            pytest.fail(f"fay's client cannot sync any more: {err.code}")


async def test_two_moderators_removing_the_same_member_do_not_brick_the_slower_one(tmp_path: Path, node) -> None:
    """Concurrent removals of one member: the second is stored and ignored (group.bad_target). The
    client again treats the answer as 'not stored' and forks its own log at the next operation."""
    _, address = node
    fay, gus, ana = people(tmp_path, address, "fay", "gus", "ana")
    async with session(address) as s_fay, session(address) as s_gus, session(address) as s_ana:
        group = await fay.create_group(s_fay, "g")
        g_gus = await gus.join(s_gus, InviteToken.parse(await fay.invite(s_fay, group, role="facilitator")))
        g_ana = await ana.join(s_ana, InviteToken.parse(await fay.invite(s_fay, group)))
        target = ana.pseudonym(g_ana).public_key
        await gus.sync(s_gus, g_gus)
        state_gus = await gus.sync(s_gus, g_gus)
        concurrent = remove(gus.writer(g_gus), state_gus, target, 1, 1)  # gus decides on his view ...
        await fay.remove_member(s_fay, group, target)  # ... fay is faster
        with pytest.raises(HoldspaceError):
            await gus._publish(s_gus, g_gus, concurrent)  # group.bad_target, yet stored
        try:
            await gus.send(s_gus, g_gus, "sorry, crossed wires")
        except HoldspaceError as err:
            pytest.fail(f"gus can no longer act in the group: {err.code}")
