"""A removal's cut must name an entry of its target that the remover could have seen (spec 12.6 step 1).

The cut is the last of the target's entries the remover accepts. Set beyond what the target wrote, it
would leave the "removed" member's later messages authorised. The node core is driven directly with an
in-memory reader and an explicit ``now``.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from holdspace.node.core import lost_seqs
from holdspace.protocol import author
from holdspace.protocol.errors import GroupError
from holdspace.protocol.group import inside_intervals
from holdspace.protocol.payloads import MODERATOR
from tests.group_world import World
from tests.node.core_driver import commit, from_client, hosted


def _world() -> World:
    w = World()
    w.add("mo", MODERATOR)
    w.add("bo")
    w.rekey("founder")
    w.deliver_keys()
    w.say("bo", "one")
    w.say("bo", "two")
    return w


def _removal(w: World, cut: int):  # type: ignore[no-untyped-def]
    mo, bo = w.people["mo"], w.people["bo"]
    return author.remove(mo.writer, w.view("mo"), bo.key, cut, w.tick())


def test_a_client_removal_with_a_cut_beyond_the_target_log_is_refused() -> None:
    w = _world()
    core, _reader = hosted(w)
    bo = w.people["bo"]
    assert from_client(core, _reader, _removal(w, bo.writer.seq + 1000), w.clock) == "group.bad_cut"
    assert bo.key in core.state(w.group_id).members  # nothing stored, nothing changed


def test_a_client_removal_at_the_target_head_is_applied_and_later_messages_are_husks() -> None:
    w = _world()
    core, reader = hosted(w)
    bo = w.people["bo"]
    assert from_client(core, reader, _removal(w, bo.writer.seq), w.clock) is None
    late = w.say("bo", "after my removal")
    decision = core.check_entry(late.raw, late.payload, now_ms=w.clock, authors=None)
    assert decision.husk and decision.outcome == "group.not_member"


def test_a_relayed_removal_waits_until_the_target_log_reaches_its_cut() -> None:
    """From a peer the removal is held like a missing dependency, not stored: it stands only once the
    entry its cut names is here, and the target's entries after the cut are then husks."""
    w = _world()
    core, reader = hosted(w)
    bo = w.people["bo"]
    removal = _removal(w, bo.writer.seq + 1)
    with pytest.raises(GroupError) as refused:
        core.check_entry(removal.raw, removal.payload, now_ms=w.clock, authors=None)
    assert refused.value.code == "group.missing_dependency"

    last = w.say("bo", "written before the removal reached me")
    commit(core, reader, core.check_entry(last.raw, last.payload, now_ms=w.clock, authors=None))
    commit(core, reader, core.check_entry(removal.raw, removal.payload, now_ms=w.clock, authors=None))
    assert bo.key not in core.state(w.group_id).members
    assert core.state(w.group_id).authorised_at(bo.key, last.seq)
    later = w.say("bo", "and this after it")
    decision = core.check_entry(later.raw, later.payload, now_ms=w.clock, authors=None)
    assert decision.husk and decision.outcome == "group.not_member"


@given(
    st.lists(st.tuples(st.integers(0, 40), st.one_of(st.none(), st.integers(0, 40))), max_size=4),
    st.lists(st.tuples(st.integers(0, 40), st.one_of(st.none(), st.integers(0, 40))), max_size=4),
    st.integers(0, 50),
)
def test_lost_seqs_are_exactly_those_authorised_before_and_not_after(
    was: list[tuple[int, int | None]], now: list[tuple[int, int | None]], head: int
) -> None:
    """What a commit de-authorises, found without walking the author's log."""
    expected = [s for s in range(1, head + 1) if inside_intervals(was, s) and not inside_intervals(now, s)]
    assert lost_seqs(was, now, head) == expected
