"""What one peer can make a host store for a group, when it takes no effect, is bounded (spec 12.6
step 4, ``group.storage_bound``): a co-host holding a used invite token can sign joins under fresh
pseudonyms, and messages of those pseudonyms (husks), without end; honest hosts never reach the bounds.
"""

from __future__ import annotations

from holdspace.node.core import MAX_JOINS_PER_USE, MAX_PAST_MEMBERSHIP, NodeCore
from holdspace.node.memory_store import MemoryReader
from holdspace.protocol import author, kinds
from holdspace.protocol.entry import Entry
from holdspace.protocol.errors import GroupError
from holdspace.protocol.identity import Pseudonym, group_context
from holdspace.protocol.payloads import MEMBER
from tests.group_world import FAR, World
from tests.node.core_driver import commit, hosted


def _relay(core: NodeCore, reader: MemoryReader, entry: Entry, now: int, *, husk: bool = False) -> str | None:
    """A peer's offer: None if stored, else the refusal's code."""
    try:
        decision = core.check_entry(entry.raw, None if husk else entry.payload, now_ms=now, authors=None)
    except GroupError as err:
        return err.code
    commit(core, reader, decision)
    return None


def _used_token(w: World) -> author.InviteSecret:
    entry, token = author.invite(
        w.people["founder"].writer, w.view("founder"), w.tick(), role=MEMBER, expires_ms=FAR, max_uses=1
    )
    w.publish("founder", entry)
    w.redeem("ana", token)
    return token


def test_joins_through_a_used_token_are_stored_up_to_the_bound() -> None:
    w = World()
    token = _used_token(w)
    core, reader = hosted(w)
    codes = []
    for i in range(MAX_JOINS_PER_USE + 3):
        me = Pseudonym.derive(i.to_bytes(32, "big"), group_context(w.group_id))
        codes.append(_relay(core, reader, token.join(author.LogWriter(me, w.group_id), w.tick()), w.clock))
    # ana's join is one of them: the bound counts every join held through the invite
    assert codes[: MAX_JOINS_PER_USE - 1] == [None] * (MAX_JOINS_PER_USE - 1)
    assert codes[MAX_JOINS_PER_USE - 1 :] == ["group.storage_bound"] * 4
    state = core.state(w.group_id)
    assert len(state.members) == 2  # the founder and ana: the stored joins were all exhausted


def test_entries_of_a_pseudonym_that_never_became_a_member_are_stored_up_to_the_bound() -> None:
    w = World()
    token = _used_token(w)
    core, reader = hosted(w)
    me = Pseudonym.derive(b"x" * 32, group_context(w.group_id))
    writer = author.LogWriter(me, w.group_id)
    assert _relay(core, reader, token.join(writer, w.tick()), w.clock) is None  # exhausted, stored
    codes = [
        _relay(core, reader, writer.append(kinds.MESSAGE, b"\x00" * 100, w.tick()), w.clock, husk=True)
        for _ in range(MAX_PAST_MEMBERSHIP + 1)
    ]
    assert codes == [None] * MAX_PAST_MEMBERSHIP + ["group.storage_bound"]


def test_husks_after_a_removal_are_stored_up_to_the_bound_and_a_member_is_never_bounded() -> None:
    w = World()
    w.add("bo")
    core, reader = hosted(w)
    bo = w.people["bo"]
    within = [
        _relay(core, reader, bo.writer.append(kinds.MESSAGE, b"\x00" * 100, w.tick()), w.clock, husk=True)
        for _ in range(MAX_PAST_MEMBERSHIP + 5)
    ]
    assert within == [None] * (MAX_PAST_MEMBERSHIP + 5)  # a member's entries: no bound but the rates
    removal = author.remove(w.people["founder"].writer, w.view("founder"), bo.key, bo.writer.seq, w.tick())
    assert _relay(core, reader, w.publish("founder", removal), w.clock) is None
    after = [
        _relay(core, reader, bo.writer.append(kinds.MESSAGE, b"\x00" * 100, w.tick()), w.clock, husk=True)
        for _ in range(MAX_PAST_MEMBERSHIP + 1)
    ]
    assert after == [None] * MAX_PAST_MEMBERSHIP + ["group.storage_bound"]
