"""Support-group features through a real node over QUIC: what hosts delete, who reads what, and what
clients verify (sessions, check-ins, reports, credentials, crisis resources, bans)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import nacl.signing
import pytest
import trio

from holdspace.clients.client import NodeSession
from holdspace.clients.participant import Participant
from holdspace.clients.support import badges, checkin_summary, crisis_resources, moderation_log, reports
from holdspace.clients.support import sessions as upcoming_sessions
from holdspace.node.core import from_record
from holdspace.node.server import Node, open_node
from holdspace.protocol import author, kinds
from holdspace.protocol.address import InviteToken, NodeAddress
from holdspace.protocol.author import InviteSecret
from holdspace.protocol.content import (
    CheckIn,
    CredentialPost,
    Disclosure,
    Pin,
    Quote,
    Report,
    RevocationPost,
    Rsvp,
    Turn,
)
from holdspace.protocol.credential import issue, revoke
from holdspace.protocol.entry import GENESIS_GROUP
from holdspace.protocol.errors import HoldspaceError
from holdspace.protocol.identity import verify_identity_document
from holdspace.protocol.payloads import FACILITATOR, MODERATOR, Genesis, MessageEnvelope, Redact
from tests.node.conftest import running_node, session


def people(tmp_path: Path, address, *names: str) -> list[Participant]:  # type: ignore[no-untyped-def]
    return [Participant.create(tmp_path / n, "pass " + n, address) for n in names]


@asynccontextmanager
async def sessions(tmp_path: Path) -> AsyncIterator[tuple[Node, NodeAddress, NodeSession, NodeSession, NodeSession]]:
    """A node and three client connections to it."""
    async with (
        running_node(tmp_path / "n") as (node, address),
        session(address) as s_fay,
        session(address) as s_ana,
        session(address) as s_bo,
    ):
        yield node, address, s_fay, s_ana, s_bo


async def eventually(done: Callable[[], bool], within: float = 15.0) -> None:
    """Poll ``done`` (deletions on time raise no event a test could wait on)."""
    with trio.fail_after(within):
        while True:
            if done():
                return
            await trio.sleep(0.02)


def payloads(node: Node, group: bytes) -> dict[bytes, bytes | None]:
    """Every stored entry's payload, by id (None: a husk, its words deleted)."""
    return {r.entry_id: from_record(r).payload for _, r in node.store.iter_group(group, 0, 10**6)}


async def circle(tmp_path: Path, address, s_fay, s_ana, s_bo):  # type: ignore[no-untyped-def]
    fay, ana, bo = people(tmp_path, address, "fay", "ana", "bo")
    group = await fay.create_group(s_fay, "circle")
    g_ana = await ana.join(s_ana, InviteToken.parse(await fay.invite(s_fay, group)))
    g_bo = await bo.join(s_bo, InviteToken.parse(await fay.invite(s_fay, group, role=MODERATOR)))
    await fay.send(s_fay, group, "welcome")
    for p, s, g in ((ana, s_ana, g_ana), (bo, s_bo, g_bo)):
        await p.sync(s, g)
    return (fay, group), (ana, g_ana), (bo, g_bo)


async def test_redaction_by_author_and_moderator_leaves_only_tombstones(tmp_path: Path) -> None:
    async with sessions(tmp_path) as (node, address, s_fay, s_ana, s_bo):
        (fay, group), (ana, g_ana), (bo, g_bo) = await circle(tmp_path, address, s_fay, s_ana, s_bo)
        regret = await ana.send(s_ana, g_ana, "something I regret saying")
        harmful = await ana.send(s_ana, g_ana, "something harmful")
        await bo.sync(s_bo, g_bo)
        assert payloads(node, group.group_id)[regret.entry_id] is not None
        await ana.redact(s_ana, g_ana, [regret.entry_id])
        assert payloads(node, group.group_id)[regret.entry_id] is None  # header kept, words gone
        welcome = next(m for m in ana.record(g_ana.group_id).messages if m.text == "welcome")
        with pytest.raises(HoldspaceError) as err:  # a plain member cannot redact someone else's words
            await ana.redact(s_ana, g_ana, [welcome.entry_id])
        assert err.value.code == "group.forbidden"
        await bo.redact(s_bo, g_bo, [harmful.entry_id])  # a moderator can
        stored = payloads(node, group.group_id)
        assert stored[harmful.entry_id] is None
        await fay.sync(s_fay, group)
        deleted = {m.entry_id: m.deleted for m in fay.record(group.group_id).messages}
        assert deleted.get(harmful.entry_id) in (None, "redacted")  # never shown, or shown then forgotten
        assert all(m.text != "something harmful" for m in fay.record(group.group_id).messages)
        log = moderation_log(fay.record(group.group_id))
        assert [(line.action, line.target) for line in log] == [("redact 1", ana.pseudonym(g_ana).public_key)]


async def test_erasure_deletes_every_message_of_the_author_and_survives_restart(tmp_path: Path) -> None:
    key = nacl.signing.SigningKey(b"\x07" * 32)
    async with sessions(tmp_path) as (node, address, s_fay, s_ana, s_bo):
        (_, group), (ana, g_ana), (bo, g_bo) = await circle(tmp_path, address, s_fay, s_ana, s_bo)
        said = [await ana.send(s_ana, g_ana, f"my story, part {i}") for i in range(3)]
        kept = await bo.send(s_bo, g_bo, "not mine to erase")
        await ana.erase_my_messages(s_ana, g_ana)
        stored = payloads(node, group.group_id)
        assert all(stored[m.entry_id] is None for m in said)
        assert stored[kept.entry_id] is not None
        mine = [m for m in ana.record(g_ana.group_id).messages if m.author == ana.pseudonym(g_ana).public_key]
        assert len(mine) == 3 and all(m.text is None and m.deleted == "erased" for m in mine)
    # nothing comes back after a restart, and a compacted copy holds none of the ciphertext
    async with open_node(tmp_path / "n", key) as node:
        stored = payloads(node, group.group_id)
        assert all(stored[m.entry_id] is None for m in said)
        node.store.compact_copy(tmp_path / "copy")
        copy = (tmp_path / "copy" / "data.mdb").read_bytes()
        assert stored[kept.entry_id] is not None and stored[kept.entry_id][-40:] in copy  # type: ignore[index]


async def test_a_deletion_interrupted_by_a_stop_is_finished_on_start(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    key = nacl.signing.SigningKey(b"\x07" * 32)
    async with sessions(tmp_path) as (node, address, s_fay, s_ana, s_bo):
        (_, group), (ana, g_ana), _ = await circle(tmp_path, address, s_fay, s_ana, s_bo)
        said = await ana.send(s_ana, g_ana, "to be redacted")

        async def crash_before_deleting(self: Node, group: bytes, positions: object, now_ms: object = None) -> None:
            return None

        monkeypatch.setattr(Node, "_forget_payloads", crash_before_deleting)
        await ana.redact(s_ana, g_ana, [said.entry_id])
        assert payloads(node, group.group_id)[said.entry_id] is not None  # the redaction is stored, not done
        monkeypatch.undo()
    async with open_node(tmp_path / "n", key) as node:
        await eventually(lambda: payloads(node, group.group_id)[said.entry_id] is None)


async def test_expiring_messages_and_session_retention_are_deleted_on_time(tmp_path: Path) -> None:
    async with sessions(tmp_path) as (node, address, s_fay, s_ana, s_bo):
        (fay, group), (ana, g_ana), _ = await circle(tmp_path, address, s_fay, s_ana, s_bo)
        brief = await ana.send(s_ana, g_ana, "gone in a second", ttl_ms=2000)
        assert payloads(node, group.group_id)[brief.entry_id] is not None
        lasting = await ana.send(s_ana, g_ana, "stays")
        sid = await fay.schedule(
            s_fay, group, title="Evening circle", about=None, start_ms=lasting.timestamp_ms + 1,
            duration_ms=5000, tz="Europe/London", retention_ms=0,
        )  # fmt: skip
        in_session = await ana.send(s_ana, g_ana, "said in the session")
        assert in_session.timestamp_ms < lasting.timestamp_ms + 1 + 5000  # inside the occurrence
        await eventually(lambda: all(payloads(node, group.group_id)[m.entry_id] is None for m in (brief, in_session)))
        assert payloads(node, group.group_id)[lasting.entry_id] is not None
        # "stays" was said before the session began: it is kept
        state = fay.record(group.group_id).state
        assert state is not None and sid in state.sessions
        await ana.sync(s_ana, g_ana)
        ana.prune(ana.record(g_ana.group_id))
        texts = {m.text for m in ana.record(g_ana.group_id).messages}
        assert "gone in a second" not in texts


async def test_sessions_rsvp_talking_piece_and_private_check_ins(tmp_path: Path) -> None:
    async with sessions(tmp_path) as (_, address, s_fay, s_ana, s_bo):
        (fay, group), (ana, g_ana), (bo, g_bo) = await circle(tmp_path, address, s_fay, s_ana, s_bo)
        start = fay.clock() - 60_000
        sid = await fay.schedule(
            s_fay, group, title="Thursday circle", about="bring tea", start_ms=start, duration_ms=3_600_000,
            tz="Europe/London", recurrence=("weekly", 4),
        )  # fmt: skip
        await ana.sync(s_ana, g_ana)
        (view, *_rest) = upcoming_sessions(ana.record(g_ana.group_id), ana.clock())
        assert view.title == "Thursday circle" and view.occurrence.index == 0 and len(_rest) == 3
        await ana.post(s_ana, g_ana, Rsvp(sid, 0, "yes"))
        await ana.post(s_ana, g_ana, CheckIn(2, "tired", (sid, 0)), to=ana.facilitators(g_ana))
        await bo.post(s_bo, g_bo, CheckIn(4, "hopeful", (sid, 0)))
        await fay.post(s_fay, group, Turn(sid, 0, ana.pseudonym(g_ana).public_key))
        await bo.post(s_bo, g_bo, Turn(sid, 0, bo.pseudonym(g_bo).public_key))  # not a facilitator: ignored
        for p, s, g in ((fay, s_fay, group), (ana, s_ana, g_ana), (bo, s_bo, g_bo)):
            await p.sync(s, g)
        (seen,) = [v for v in upcoming_sessions(bo.record(g_bo.group_id), bo.clock()) if v.occurrence.index == 0]
        assert seen.talking_piece == ana.pseudonym(g_ana).public_key
        assert seen.rsvps == {ana.pseudonym(g_ana).public_key: "yes"}
        facilitator_view = checkin_summary(fay.record(group.group_id), sid, 0)
        assert facilitator_view.count == 2 and facilitator_view.words == ["hopeful", "tired"]
        member_view = checkin_summary(bo.record(g_bo.group_id), sid, 0)
        assert member_view.count == 1 and member_view.words == ["hopeful"]  # ana's was for facilitators


async def test_reports_reach_moderators_only_and_verify(tmp_path: Path) -> None:
    async with sessions(tmp_path) as (node, address, s_fay, s_ana, s_bo):
        (fay, group), (ana, g_ana), (bo, g_bo) = await circle(tmp_path, address, s_fay, s_ana, s_bo)
        cy, = people(tmp_path, address, "cy")  # fmt: skip
        async with session(address) as s_cy:
            g_cy = await cy.join(s_cy, InviteToken.parse(await fay.invite(s_fay, group)))
            nasty = await bo.send(s_bo, g_bo, "a cruel remark")
            await cy.sync(s_cy, g_cy)
            seen = next(m for m in cy.record(g_cy.group_id).messages if m.entry_id == nasty.entry_id)
            received, _, _ = await s_cy.fetch(group.group_id, seen.cursor - 1, 1)
            entry = received[0].entry
            assert seen.key is not None
            to = cy.moderators(g_cy)
            await cy.post(s_cy, g_cy, Report(Disclosure(entry.raw, entry.payload or b"", seen.key), "unkind"), to=to)
            await fay.sync(s_fay, group)
            (found,) = reports(fay.record(group.group_id))
            assert found.verified and found.words == "a cruel remark" and found.reason == "unkind"
            assert found.reported_author == bo.pseudonym(g_bo).public_key
            await ana.sync(s_ana, g_ana)
            assert reports(ana.record(g_ana.group_id)) == []  # not the group
            # the node holds the report only as ciphertext sealed to the moderators
            stored = payloads(node, group.group_id)
            assert all(b"cruel" not in (p or b"") for p in stored.values())
            assert all(b"unkind" not in (p or b"") for p in stored.values())


async def test_ban_refuses_rejoining_and_a_removed_member_reads_no_more_words(tmp_path: Path) -> None:
    async with sessions(tmp_path) as (_, address, s_fay, s_ana, s_bo):
        (fay, group), (ana, g_ana), _ = await circle(tmp_path, address, s_fay, s_ana, s_bo)
        await fay.remove_member(s_fay, group, ana.pseudonym(g_ana).public_key, ban=True)
        await fay.send(s_fay, group, "after the ban")
        received = await s_ana.fetch_all(group.group_id)
        messages = [r.entry for r in received if r.entry.kind in kinds.MESSAGE_KINDS]
        assert messages and all(e.payload is None for e in messages)  # headers only, even ciphertext withheld
        state = await ana.sync(s_ana, g_ana)
        assert ana.pseudonym(g_ana).public_key in state.banned
        token = InviteToken.parse(await fay.invite(s_fay, group))
        rejoin = InviteSecret(token.group_id, token.invite_id, token.seed).join(ana.writer(g_ana), ana.clock())
        with pytest.raises(HoldspaceError) as err:  # a fresh invite does not let the banned pseudonym back
            await s_ana.publish(rejoin)
        assert err.value.code == "group.banned"


async def test_credentials_badges_and_crisis_resources_reach_newcomers(tmp_path: Path) -> None:
    async with sessions(tmp_path) as (node, address, s_fay, s_ana, s_bo):
        (fay, group), (ana, g_ana), (bo, g_bo) = await circle(tmp_path, address, s_fay, s_ana, s_bo)
        node_seed = bytes(node.node_key)
        await fay.trust_issuer(s_fay, group, node.public_key, add=True)
        now = fay.clock()
        att = issue(node_seed, subject=bo.pseudonym(g_bo).public_key, role="licensed counsellor",
                    not_before_ms=now - 1, expires_ms=now + 86_400_000, serial=b"\x01" * 16)  # fmt: skip
        await bo.post(s_bo, g_bo, CredentialPost(att.raw))
        impostor = issue(b"\x09" * 32, subject=ana.pseudonym(g_ana).public_key, role="doctor",
                         not_before_ms=now - 1, expires_ms=now + 86_400_000, serial=b"\x02" * 16)  # fmt: skip
        await ana.post(s_ana, g_ana, CredentialPost(impostor.raw))
        await fay.sync(s_fay, group)
        shown = badges(fay.record(group.group_id), fay.clock())
        assert shown[bo.pseudonym(g_bo).public_key].verified
        assert shown[ana.pseudonym(g_ana).public_key].code == "credential.untrusted_issuer"
        await fay.post(s_fay, group, RevocationPost(revoke(node_seed, att.credential_id, now).raw))
        await fay.sync(s_fay, group)
        assert badges(fay.record(group.group_id), fay.clock())[bo.pseudonym(g_bo).public_key].code == (
            "credential.revoked"
        )

        await fay.post(s_fay, group, Pin("Call the Samaritans on 116 123, any time."))
        await ana.post(s_ana, g_ana, Pin("a member's pin does not count"))
        await ana.sync(s_ana, g_ana)
        assert crisis_resources(ana.record(g_ana.group_id)) == ("Call the Samaritans on 116 123, any time.", True)
        # a newcomer cannot open the pin (sealed before they joined) until a member carries it forward
        dee, = people(tmp_path, address, "dee")  # fmt: skip
        async with session(address) as s_dee:
            g_dee = await dee.join(s_dee, InviteToken.parse(await fay.invite(s_fay, group)))
            await dee.sync(s_dee, g_dee)
            assert crisis_resources(dee.record(g_dee.group_id))[1] is False  # the built-in default
            await ana.send(s_ana, g_ana, "welcome, Dee")  # ana's client rekeys for Dee and quotes the pin
            await dee.sync(s_dee, g_dee)
            assert crisis_resources(dee.record(g_dee.group_id)) == (
                "Call the Samaritans on 116 123, any time.",
                True,
            )


async def test_fresh_pseudonyms_per_group_unless_reuse_is_asked(tmp_path: Path) -> None:
    async with running_node(tmp_path / "n") as (_, address):
        fay, ana = people(tmp_path, address, "fay", "ana")
        async with session(address) as s_fay, session(address) as s_ana:
            one = await fay.create_group(s_fay, "one")
            two = await fay.create_group(s_fay, "two")
            three = await fay.create_group(s_fay, "three")
            a1 = await ana.join(s_ana, InviteToken.parse(await fay.invite(s_fay, one)))
            a2 = await ana.join(s_ana, InviteToken.parse(await fay.invite(s_fay, two)))
            a3 = await ana.join(s_ana, InviteToken.parse(await fay.invite(s_fay, three)), reuse=a1)
            keys = [ana.pseudonym(g).public_key for g in (a1, a2, a3)]
            assert keys[0] != keys[1] and keys[0] == keys[2]
            assert fay.pseudonym(one).public_key != fay.pseudonym(two).public_key
            await ana.send(s_ana, a3, "same me, by choice")
            reloaded = Participant.load(tmp_path / "ana", "pass ana")
            assert reloaded.pseudonym(reloaded.record(a3.group_id)).public_key == keys[0]
            assert fay.record(one.group_id).state.role_of(fay.pseudonym(one).public_key) == FACILITATOR  # type: ignore[union-attr]


async def test_a_lifted_retention_keeps_what_was_said(tmp_path: Path) -> None:
    async with sessions(tmp_path) as (node, address, s_fay, s_ana, s_bo):
        (fay, group), (ana, g_ana), _ = await circle(tmp_path, address, s_fay, s_ana, s_bo)
        start = fay.clock()
        details = {"title": "Circle", "about": None, "duration_ms": 1500, "tz": "UTC"}
        sid = await fay.schedule(s_fay, group, start_ms=start, retention_ms=0, **details)  # type: ignore[arg-type]
        said = await ana.send(s_ana, g_ana, "said in the session")
        assert start <= said.timestamp_ms < start + 1500  # inside the occurrence: a deletion was scheduled
        await fay.schedule(s_fay, group, start_ms=start, retention_ms=None, replaces=sid, **details)  # type: ignore[arg-type]
        await trio.sleep(2.5)  # past the first version's deadline, which the node had scheduled
        assert payloads(node, group.group_id)[said.entry_id] is not None


async def test_a_redaction_naming_an_id_of_another_group_deletes_nothing_here(tmp_path: Path) -> None:
    """Entry ids are global: one pseudonym's message at seq 2 in group H must not be mistaken for its
    message at seq 2 in group G, where the redaction was made."""
    envelope = MessageEnvelope(b"\x01" * 32, 0, b"\x02" * 24, b"\x03" * 100, commitment=bytes(32)).encode()
    now = int(time.time() * 1000)
    async with running_node(tmp_path / "n") as (node, address), session(address) as s:
        g_genesis, in_g = author.create_group(b"\x01" * 32, now)
        me = in_g.me
        document = verify_identity_document(me.identity_document(now))
        in_h = author.LogWriter(me, GENESIS_GROUP)
        h_genesis = in_h.append(kinds.GENESIS, Genesis(b"\x09" * 16, document, "joined").encode(), now)
        in_h.group_id = h_genesis.entry_id
        await s.authenticate(me)
        await s.publish(g_genesis)
        await s.publish(h_genesis)
        in_group_g = in_g.append(kinds.MESSAGE, envelope, now)
        in_group_h = in_h.append(kinds.MESSAGE, envelope, now)
        await s.publish(in_group_g)
        await s.publish(in_group_h)
        redaction = Redact((g_genesis.entry_id,), me.public_key, (in_group_h.entry_id,))
        await s.publish(in_g.append(kinds.REDACT, redaction.encode(), now))
        assert payloads(node, g_genesis.entry_id)[in_group_g.entry_id] is not None
        assert payloads(node, h_genesis.entry_id)[in_group_h.entry_id] is not None


async def test_a_rejoin_through_an_expired_invite_is_refused(tmp_path: Path) -> None:
    async with sessions(tmp_path) as (_, address, s_fay, s_ana, s_bo):
        (fay, group), (ana, g_ana), _ = await circle(tmp_path, address, s_fay, s_ana, s_bo)
        await ana.leave_group(s_ana, g_ana)
        made = fay.clock()
        token = InviteToken.parse(await fay.invite(s_fay, group, expires_ms=made + 1000))
        await trio.sleep(1.5)  # the invite expires
        dated = made + 500  # after the invite was made and before its expiry: the join's own claim
        backdated = InviteSecret(token.group_id, token.invite_id, token.seed).join(ana.writer(g_ana), dated)
        with pytest.raises(HoldspaceError) as err:  # dated before the expiry, but the node's clock decides
            await s_ana.publish(backdated)
        assert err.value.code == "group.invite_expired"


async def test_a_members_quote_cannot_roll_the_crisis_resources_back(tmp_path: Path) -> None:
    """The current pin is the one a facilitator signed latest: a member quoting a superseded pin (with a
    later timestamp of its own) shows it again at most, and never makes it current; nor does a quote
    bring back a pin the group redacted."""
    async with sessions(tmp_path) as (_, address, s_fay, s_ana, s_bo):
        (fay, group), (ana, g_ana), (bo, g_bo) = await circle(tmp_path, address, s_fay, s_ana, s_bo)
        old, new = "Call 111 (superseded).", "Call the Samaritans on 116 123, any time."
        await fay.post(s_fay, group, Pin(old))
        await fay.post(s_fay, group, Pin(new))
        await ana.sync(s_ana, g_ana)
        pinned = [m for m in ana.record(g_ana.group_id).messages if isinstance(m.content, Pin)]
        first, second = sorted(pinned, key=lambda m: m.timestamp_ms)
        assert first.source is not None and first.key is not None
        assert second.source is not None and second.key is not None
        kept = Disclosure(second.source[0], second.source[1], second.key)  # a member may keep a copy
        await ana.post(s_ana, g_ana, Quote(Disclosure(first.source[0], first.source[1], first.key)))
        for p, s, g in ((fay, s_fay, group), (ana, s_ana, g_ana), (bo, s_bo, g_bo)):
            await p.sync(s, g)
            assert crisis_resources(p.record(g.group_id)) == (new, True)
        # the group redacts the current pin: a member's quote of it does not bring it back
        await fay.redact(s_fay, group, [second.entry_id])
        await ana.sync(s_ana, g_ana)
        await ana.post(s_ana, g_ana, Quote(kept))
        for p, s, g in ((fay, s_fay, group), (ana, s_ana, g_ana), (bo, s_bo, g_bo)):
            await p.sync(s, g)
            assert crisis_resources(p.record(g.group_id)) == (old, True)
