"""Who shares the group's keys with a newcomer, and when (spec 13.1): the shared cases (the browser
client checks the same file), the delays, and the turn computed from a group state."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from holdspace.clients.keyshare import (
    MAX_HISTORY_PAIRS,
    MAX_RANK,
    STEP,
    history_limit,
    history_to_share,
    in_history_window,
    my_turn,
    pending_join,
    sharing_delay,
    sharing_order,
)
from holdspace.protocol.e2ee import MAX_HISTORY_EPOCHS
from holdspace.protocol.group import Epoch, GroupState, Member
from holdspace.protocol.payloads import DAY_MS

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


HISTORY = json.loads((Path(__file__).parents[2] / "clients/web/test/fixtures/history_window.json").read_text())


def test_the_shared_history_cases() -> None:
    assert HISTORY["day_ms"] == DAY_MS and HISTORY["max_epochs"] == MAX_HISTORY_EPOCHS
    assert len(HISTORY["cases"]) >= 5
    for case in HISTORY["cases"]:
        epochs = [
            Epoch(bytes.fromhex(i), n + 1, FAY, frozenset(), False, t) for n, (i, t, _) in enumerate(case["epochs"])
        ]
        held = {bytes.fromhex(i) for i, _, h in case["epochs"] if h}
        shared = history_to_share(case["hv"], case["joined_ms"], epochs, held)
        assert [e.hex() for e in shared] == case["share"], case["name"]
    for hv, joined, started, expected in HISTORY["windows"]:
        assert in_history_window(hv, joined, started) is expected
    assert HISTORY["max_pairs"] == MAX_HISTORY_PAIRS
    for newcomers, limit in HISTORY["limits"]:
        assert history_limit(newcomers) == limit
    epochs = [Epoch(i.to_bytes(32, "big"), i + 1, FAY, frozenset(), False, i) for i in range(10)]
    assert len(history_to_share("shared", 0, epochs, _Counting(), 3)) == 3  # a rekey for many newcomers


class _Counting:
    def __init__(self) -> None:
        self.asked = 0

    def __contains__(self, _: object) -> bool:
        self.asked += 1
        return True


@given(st.integers(0, 1200), st.sampled_from(["shared", 365]))
def test_history_is_bounded_newest_first_whatever_the_groups_age(count: int, hv: str | int) -> None:
    epochs = [Epoch(i.to_bytes(32, "big"), i + 1, FAY, frozenset(), False, 1000 + i) for i in range(count)]
    held = _Counting()
    shared = history_to_share(hv, 2000, epochs, held)
    assert len(shared) == held.asked == min(count, MAX_HISTORY_EPOCHS)
    assert shared == [e.entry_id for e in reversed(epochs)][:MAX_HISTORY_EPOCHS]
    assert history_to_share("joined", 2000, epochs, held) == []
