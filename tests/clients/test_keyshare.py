"""Who shares the group's keys with a newcomer, and when (spec 13.1): the shared cases (the browser
client checks the same file), the delays, and the turn computed from a group state."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from holdspace.clients.keyshare import MAX_RANK, STEP, my_turn, pending_join, sharing_delay, sharing_order
from holdspace.protocol.group import Epoch, GroupState, Member

FIXTURE = json.loads((Path(__file__).parents[2] / "clients/web/test/fixtures/keyshare.json").read_text())


def test_the_shared_cases() -> None:
    assert FIXTURE["step"] == STEP and FIXTURE["max_rank"] == MAX_RANK
    assert len(FIXTURE["cases"]) >= 5
    for case in FIXTURE["cases"]:
        members = [(bytes.fromhex(k), role) for k, role in case["members"]]
        assert [k.hex() for k in sharing_order(bytes.fromhex(case["join"]), members)] == case["order"], case["name"]
    for rank, step, delay in FIXTURE["delays"]:
        assert sharing_delay(rank, step) == delay


keys = st.binary(min_size=32, max_size=32)


@given(
    st.lists(st.tuples(keys, st.sampled_from(["member", "moderator", "facilitator"])), unique_by=lambda m: m[0]), keys
)
def test_the_order_is_a_permutation_facilitators_first_and_independent_of_listing(
    members: list[tuple[bytes, str]], join: bytes
) -> None:
    order = sharing_order(join, members)
    assert sorted(order) == sorted(k for k, _ in members)
    assert order == sharing_order(join, list(reversed(members)))  # every member computes the same
    roles = dict(members)
    facilitators = [roles[k] == "facilitator" for k in order]
    assert facilitators == sorted(facilitators, reverse=True)


def test_delays_grow_by_the_step_and_stop_at_the_cap() -> None:
    assert [sharing_delay(r) for r in (0, 1, 2)] == [0.0, STEP, 2 * STEP]
    assert sharing_delay(MAX_RANK) == sharing_delay(10 * MAX_RANK) == MAX_RANK * STEP


def _state(members: dict[bytes, str], joins: dict[bytes, bytes], recipients: set[bytes] | None) -> GroupState:
    group = b"\x01" * 32
    state = GroupState(group, b"f" * 32, "joined")
    for key, role in members.items():
        admitted = (joins[key], b"f" * 32) if key in joins else None
        state.members[key] = Member(key, role, b"\x00" * 32, 1, admitted)
    if recipients is not None:
        state.epochs.append(Epoch(b"\x02" * 32, 1, b"f" * 32, frozenset(recipients)))
    return state


FAY, ANA, BEN, NIA, NED = (bytes([c]) * 32 for c in b"fabnm")


def test_the_turn_from_a_group_state() -> None:
    members = {FAY: "facilitator", ANA: "member", BEN: "member", NIA: "member", NED: "member"}
    joins = {ANA: b"\x10" * 32, BEN: b"\x11" * 32, NIA: b"\x30" * 32, NED: b"\x20" * 32}
    state = _state(members, joins, {FAY, ANA, BEN})
    assert pending_join(state) == b"\x20" * 32  # two newcomers: the smaller join id
    order = sharing_order(b"\x20" * 32, [(FAY, "facilitator"), (ANA, "member"), (BEN, "member")])
    assert order[0] == FAY
    for rank, key in enumerate(order):
        assert my_turn(state, key) == (b"\x20" * 32, rank * STEP)
    assert my_turn(state, NIA) is None and my_turn(state, NED) is None  # a newcomer holds no key to share
    assert my_turn(state, b"\x99" * 32) is None  # not a member

    clean = _state({FAY: "facilitator", ANA: "member"}, joins, {FAY, ANA})
    assert pending_join(clean) is None and my_turn(clean, ANA) is None
    departed = _state({FAY: "facilitator", ANA: "member"}, joins, {FAY, ANA, BEN})  # unclean by a departure only
    assert pending_join(departed) is None and my_turn(departed, ANA) is None
    no_epoch = _state({FAY: "facilitator", ANA: "member"}, joins, None)  # the creator's genesis counts as its join
    assert pending_join(no_epoch) == min(b"\x01" * 32, joins[ANA])
    assert my_turn(no_epoch, FAY) == (pending_join(no_epoch), 0.0)
