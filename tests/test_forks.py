"""The forked-position rule (spec 12.5): hosts holding different twins of a proven fork compute one state."""

from __future__ import annotations

import copy

from hypothesis import given, settings
from hypothesis import strategies as st

from holdspace.protocol import author, kinds
from holdspace.protocol.entry import Entry
from holdspace.protocol.forks import FORKED, forks_of, plan
from holdspace.protocol.group import compute_state
from holdspace.protocol.log import make_fork_proof
from holdspace.protocol.payloads import FACILITATOR, Erase
from tests.group_world import FAR, World


def fork(w: World, who: str) -> tuple[Entry, Entry]:
    """``who`` signs two different erase entries at its next log position (the twins)."""
    writer = w.people[who].writer
    twin_writer = copy.copy(writer)
    deps = w.view(who).heads
    one = writer.append(kinds.ERASE, Erase(deps, 1).encode(), w.tick())
    two = twin_writer.append(kinds.ERASE, Erase(deps, 1).encode(), w.tick())
    assert one.seq == two.seq and one.entry_id != two.entry_id
    return one, two


def forked_world() -> tuple[World, Entry, Entry, Entry]:
    """Founder and member X; X forks; the founder, holding twin one, invites (``d`` names it)."""
    w = World()
    w.add("x")
    one, two = fork(w, "x")
    w.entries[one.entry_id] = one
    w.people["founder"].seen.add(one.entry_id)
    invite, _secret = author.invite(
        w.people["founder"].writer, w.view("founder"), w.tick(), role=FACILITATOR, expires_ms=FAR, target=None
    )
    assert one.entry_id in invite_deps(invite)
    w.entries[invite.entry_id] = invite
    return w, one, two, invite


def invite_deps(entry: Entry) -> tuple[bytes, ...]:
    from holdspace.protocol.payloads import decode_payload

    return decode_payload(entry.kind, entry.payload or b"", entry.author).deps  # type: ignore[union-attr]


def host_views(w: World, one: Entry, two: Entry) -> tuple[list[Entry], list[Entry]]:
    """What host A (twin one) and host B (twin two) hold."""
    common = [e for e in w.controls() if e.entry_id != one.entry_id]
    return [*common, one], [*common, two]


def test_twin_holders_agree_once_the_fork_is_proven() -> None:
    w, one, two, invite = forked_world()
    held_a, held_b = host_views(w, one, two)
    forks = forks_of([make_fork_proof(one, two)])
    a = compute_state(w.genesis, held_a, forks=forks)
    b = compute_state(w.genesis, held_b, forks=forks)
    assert a.outcomes[invite.entry_id] is None and b.outcomes[invite.entry_id] is None  # the honest entry stands
    assert a.outcomes[one.entry_id] == FORKED and b.outcomes[two.entry_id] == FORKED
    assert a.fingerprint() == b.fingerprint()
    assert a.order == b.order and a.heads == b.heads == (invite.entry_id,)
    assert a.erased == b.erased == {}  # neither twin's erasure applies
    assert a.forked == {one.author: one.seq}


def test_without_the_rule_the_twin_holders_differ() -> None:
    """The failure the rule removes: B leaves out the honest invite (its dependency is never held)."""
    w, one, two, invite = forked_world()
    held_a, held_b = host_views(w, one, two)
    a = compute_state(w.genesis, held_a)
    b = compute_state(w.genesis, held_b)
    assert invite.entry_id in a.outcomes and invite.entry_id not in b.outcomes
    assert a.fingerprint() != b.fingerprint()


def test_the_rest_of_the_forked_log_is_void_and_naming_it_blocks_nobody() -> None:
    w, one, two, _invite = forked_world()
    x = w.people["x"]
    after_one = x.writer.append(kinds.ERASE, Erase((one.entry_id,), 1).encode(), w.tick())  # continues twin one
    w.entries[after_one.entry_id] = after_one
    w.people["founder"].seen.add(after_one.entry_id)
    settings_entry = author.settings(w.people["founder"].writer, w.view("founder"), "joined", b"m", w.tick())
    assert after_one.entry_id in invite_deps(settings_entry)
    w.entries[settings_entry.entry_id] = settings_entry
    held_a, held_b = host_views(w, one, two)
    held_b = [e for e in held_b if e.entry_id != after_one.entry_id]  # B could not place it
    a = compute_state(w.genesis, held_a, forks=forks_of([make_fork_proof(one, two)]))
    b = compute_state(w.genesis, held_b, forks=forks_of([make_fork_proof(one, two)], [after_one]))
    assert a.outcomes[after_one.entry_id] == FORKED
    assert a.outcomes[settings_entry.entry_id] is None and b.outcomes[settings_entry.entry_id] is None
    assert a.meta == b.meta == b"m"
    assert a.fingerprint() == b.fingerprint()


def test_plan_rewrites_a_reference_to_the_last_entry_before_the_fork() -> None:
    w, one, two, invite = forked_world()
    held = {e.entry_id: e for e in [w.genesis, *w.controls()]}
    deps = {eid: list(invite_deps(e)) if e.kind != kinds.GENESIS else [] for eid, e in held.items()}
    p = plan(held, deps, forks_of([make_fork_proof(one, two)]))
    x_join = next(e for e in held.values() if e.author == one.author and e.seq == one.seq - 1)
    assert p.void == {one.entry_id}
    assert p.deps[invite.entry_id] == [x_join.entry_id]


@settings(max_examples=25, deadline=None)
@given(st.permutations(range(6)), st.booleans())
def test_any_order_either_twin_same_state(order: list[int], which: bool) -> None:
    """Determinism: arrival order and the twin held never change the state, the forks being known."""
    w, one, two, _invite = forked_world()
    held_a, held_b = host_views(w, one, two)
    held = held_a if which else held_b
    shuffled = [held[i % len(held)] for i in order if i < len(held)]
    shuffled += [e for e in held if e not in shuffled]
    forks = forks_of([make_fork_proof(one, two)])
    assert (
        compute_state(w.genesis, shuffled, forks=forks).fingerprint()
        == compute_state(w.genesis, held_a, forks=forks).fingerprint()
    )
