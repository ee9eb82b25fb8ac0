"""A muted member's group messages on a node (spec 12.6): refused from its client, a husk from a peer,
deleted when the mute arrives after them; its direct messages and, after the time, its messages pass."""

from __future__ import annotations

from holdspace.protocol import author, e2ee, kinds
from holdspace.protocol.entry import Entry
from holdspace.protocol.payloads import MODERATOR
from tests.group_world import FAR, World
from tests.node.core_driver import commit, from_client, hosted

MINUTES_10 = 600_000


def _world() -> World:
    w = World()
    w.add("ana")
    w.add("bo", MODERATOR)
    w.rekey("founder")
    w.deliver_keys()
    return w


def _mute(w: World, by: str, target: str, until_ms: int) -> Entry:
    victim = w.people[target]
    entry = author.mute(w.people[by].writer, w.view(by), victim.key, victim.writer.seq, until_ms, w.tick())
    return w.publish(by, entry)


def _direct(w: World, who: str, to: str) -> Entry:
    person, state = w.people[who], w.state()
    envelope, _ = e2ee.seal_direct(
        w.group_id, person.key, person.writer.seq + 1, {w.people[to].key: state.members[w.people[to].key].x25519}, b"hi"
    )
    return w.publish(who, person.writer.append(kinds.DIRECT, envelope.encode(), w.tick()))


def test_a_muted_members_messages_are_refused_until_the_time_then_accepted() -> None:
    w = _world()
    core, reader = hosted(w)
    assert from_client(core, reader, w.say("ana", "before"), w.clock) is None
    until = w.clock + MINUTES_10
    assert from_client(core, reader, _mute(w, "bo", "ana", until), w.clock) is None

    relayed = w.say("ana", "relayed by a peer while muted")
    decision = core.check_entry(relayed.raw, relayed.payload, now_ms=w.clock, authors=None)
    assert decision.outcome == "group.muted" and decision.husk
    commit(core, reader, decision)
    assert from_client(core, reader, _direct(w, "ana", "founder"), w.clock) is None  # the private line stays open

    w.clock = until - 1  # the next entry is dated `until`: the mute is over
    assert from_client(core, reader, w.say("ana", "after the time"), w.clock) is None
    back_dated = _mute(w, "founder", "ana", w.clock + MINUTES_10)
    assert from_client(core, reader, back_dated, w.clock) is None
    refused = w.say("ana", "muted again")
    assert from_client(core, reader, refused, w.clock) == "group.muted"


def test_a_mute_deletes_what_its_target_wrote_after_the_cut_and_nothing_before() -> None:
    w = _world()
    core, reader = hosted(w)
    kept = w.say("ana", "before the cut")
    assert from_client(core, reader, kept, w.clock) is None
    bo_view = w.view("bo")
    cut = w.people["ana"].writer.seq
    concurrent = w.say("ana", "written while bo was muting her")
    assert from_client(core, reader, concurrent, w.clock) is None
    mute = author.mute(w.people["bo"].writer, bo_view, w.people["ana"].key, cut, w.clock + MINUTES_10, w.tick())
    decision = core.check_entry(mute.raw, mute.payload, now_ms=w.clock, authors=None)  # relayed by a peer
    core.reserve(decision)
    reader.append([decision.record])
    followup = core.committed(decision)
    assert followup.forget_payloads == [(concurrent.author, concurrent.seq)]
    assert core.must_delete(w.group_id, concurrent, w.clock, None)
    assert not core.must_delete(w.group_id, kept, w.clock, None)


def test_a_member_cannot_mute_and_a_moderator_cannot_mute_a_facilitator() -> None:
    w = _world()
    w.add("cy")
    core, reader = hosted(w)
    by_member = author.mute(w.people["cy"].writer, w.view("cy"), w.people["ana"].key, 0, FAR, w.tick())
    of_facilitator = author.mute(w.people["bo"].writer, w.view("bo"), w.people["founder"].key, 0, FAR, w.tick())
    assert from_client(core, reader, by_member, w.clock) == "group.forbidden"
    assert from_client(core, reader, of_facilitator, w.clock) == "group.forbidden"
