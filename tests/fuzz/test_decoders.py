"""Fuzzing every decoder a remote party can reach (``fuzz/targets.py``), under hypothesis.

For each target: random bytes, and mutants of valid samples (bit flips, truncations, splices, and
structure-aware changes that keep the CBOR canonical so later checks are reached). The property:
the decoder returns a result or raises a ``HoldspaceError`` with a registered code of its
documented family — never another exception — and a valid result keeps the promised properties
(canonical re-encoding, stable normal forms). Budgets are small so the whole module runs in CI in
well under 30 s; ``python fuzz/fuzz_decoders.py`` runs the same targets for as long as you like.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz.mutate import mutate
from fuzz.targets import PRIMARY, TARGETS, Target, check, pack, unpack, valid_seeds
from holdspace.protocol import kinds

ALL = list(TARGETS.values())
IDS = [t.name for t in ALL]
FIRST = [t for t in ALL if t.name in PRIMARY]
FIRST_IDS = [t.name for t in FIRST]
OTHERS = [t for t in ALL if t.name not in PRIMARY]
OTHER_IDS = [t.name for t in OTHERS]
FAST = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.parametrize("target", ALL, ids=IDS)
def test_seeds_behave_and_enough_are_valid(target: Target) -> None:
    for data in target.seeds():
        check(target, data)
    assert valid_seeds(target), f"{target.name}: no valid seed, structure-aware fuzzing would start blind"


def test_payload_seeds_cover_every_control_kind_and_both_envelopes() -> None:
    covered = {unpack(s, 3)[0][0] for s in valid_seeds(TARGETS["payload"])}
    assert covered >= kinds.CONTROL_KINDS, sorted(kinds.CONTROL_KINDS - covered)
    assert valid_seeds(TARGETS["envelope"]) and valid_seeds(TARGETS["direct"])


def test_packing_round_trips_and_is_total() -> None:
    parts = [b"", b"abc", bytes(300)]
    assert unpack(pack(*parts), 3) == parts
    assert unpack(b"\xff\xff", 3) == [b"", b"", b""]  # a damaged prefix yields short parts


def _mutant(target: Target, index: int, rng: random.Random) -> bytes:
    seeds = target.seeds()
    data = seeds[index % len(seeds)]
    for _ in range(rng.randrange(1, 4)):
        data = mutate(data, rng, target, seeds)
    return data


# Frame and entry decoders (PRIMARY) get twice the budget of the others.


@pytest.mark.parametrize("target", FIRST, ids=FIRST_IDS)
@settings(FAST, max_examples=400)
@given(data=st.binary(max_size=1500))
def test_random_bytes_to_frame_and_entry_decoders(target: Target, data: bytes) -> None:
    check(target, data)


@pytest.mark.parametrize("target", OTHERS, ids=OTHER_IDS)
@settings(FAST, max_examples=200)
@given(data=st.binary(max_size=1500))
def test_random_bytes(target: Target, data: bytes) -> None:
    check(target, data)


@pytest.mark.parametrize("target", FIRST, ids=FIRST_IDS)
@settings(FAST, max_examples=800)
@given(index=st.integers(min_value=0, max_value=10**6), rng=st.randoms(use_true_random=False))
def test_mutated_samples_to_frame_and_entry_decoders(target: Target, index: int, rng: random.Random) -> None:
    check(target, _mutant(target, index, rng))


@pytest.mark.parametrize("target", OTHERS, ids=OTHER_IDS)
@settings(FAST, max_examples=400)
@given(index=st.integers(min_value=0, max_value=10**6), rng=st.randoms(use_true_random=False))
def test_mutated_samples(target: Target, index: int, rng: random.Random) -> None:
    check(target, _mutant(target, index, rng))


@settings(FAST, max_examples=300)
@given(text=st.text(max_size=80), port=st.integers(-1, 70000))
def test_node_address_from_text(text: str, port: int) -> None:
    """Arbitrary Unicode (not only what UTF-8 bytes decode to) in every part of an address."""
    address = TARGETS["address"]
    for candidate in (text, f"holdspace://{text}", f"holdspace://hsn1{text}@{text}:{port}"):
        check(address, candidate.encode("utf-8", "surrogatepass"))
