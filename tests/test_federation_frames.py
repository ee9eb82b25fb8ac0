"""Federation frames (spec 16): the published vectors decode as stated; decoders refuse everything else
with a typed code; the heads digest is re-derived from the spec's definition alone."""

import hashlib
import json
from pathlib import Path

import cbor2
from hypothesis import given
from hypothesis import strategies as st

from holdspace.protocol import codec
from holdspace.protocol.errors import HoldspaceError
from holdspace.protocol.federation import (
    decode_fed_request,
    decode_sync_event,
    encode_sync,
    have_list,
    heads_digest,
    sync_plan,
)
from holdspace.protocol.frames import RemoteError, decode_response

VECTORS = json.loads((Path(__file__).resolve().parents[1] / "spec" / "vectors" / "federation.json").read_text())


def by_name(name: str) -> dict:
    return next(v for v in VECTORS if v["name"] == name)


def test_heads_digest_from_the_spec_alone() -> None:
    for name in ("heads digest of a group", "heads digest of an empty group"):
        vec = by_name(name)
        items = [[bytes.fromhex(a), s, bytes.fromhex(i)] for a, s, i in vec["heads"]]
        raw = b"holdspace/v1/heads\x00" + cbor2.dumps(items, canonical=True)
        assert hashlib.blake2b(raw, digest_size=32).hexdigest() == vec["digest"]
        heads = {bytes.fromhex(a): (s, bytes.fromhex(i)) for a, s, i in vec["heads"]}
        assert heads_digest(heads).hex() == vec["digest"]


def test_request_vectors_decode() -> None:
    for name in ("digests request", "sync request", "offer request"):
        request = decode_fed_request(bytes.fromhex(by_name(name)["frame"]))
        assert request.op == name.split()[0]
    plan = sync_plan(decode_fed_request(bytes.fromhex(by_name("sync request")["frame"])))
    assert sorted(after for _g, after, _h in plan) == [2, 7]
    assert sum(have is not None for _g, _a, have in plan) == 1


def test_event_vectors_decode() -> None:
    entries = decode_sync_event(decode_response(bytes.fromhex(by_name("entries event")["frame"])))
    cursors = [c for c, _h, _p in entries.entries]
    assert entries.kind == "entries" and cursors == [3] and entries.next == 3
    empty = decode_sync_event(
        decode_response(bytes.fromhex(by_name("entries event with nothing left to send")["frame"]))
    )
    assert empty.entries == [] and empty.next == 1031
    fork = decode_sync_event(decode_response(bytes.fromhex(by_name("fork event")["frame"])))
    assert fork.kind == "fork" and fork.proof
    assert decode_sync_event(decode_response(bytes.fromhex(by_name("keepalive event")["frame"]))).kind == "keepalive"


def test_error_answer_vector_raises_its_code() -> None:
    try:
        decode_response(bytes.fromhex(by_name("error answer")["frame"]))
    except RemoteError as err:
        assert err.code == "fed.not_host"
    else:
        raise AssertionError("an error answer must raise")


def test_invalid_vectors_are_refused_with_their_code() -> None:
    for vec in VECTORS:
        if "error" in vec:
            try:
                decode_fed_request(bytes.fromhex(vec["frame"]))
            except HoldspaceError as err:
                assert err.code == vec["error"]
            else:
                raise AssertionError(f"{vec['name']} must be refused")


@given(st.binary(max_size=512))
def test_request_decoder_never_fails_untyped(data: bytes) -> None:
    try:
        decode_fed_request(data)
    except HoldspaceError as err:
        assert err.code.startswith("proto.")


cbor_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**64) + 1, 2**64 - 1) | st.binary(max_size=40) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


@given(st.dictionaries(st.sampled_from(["ev", "g", "entries", "next", "proof"]), cbor_values))
def test_event_decoder_never_fails_untyped(value: dict) -> None:
    try:
        decode_sync_event(value)
    except HoldspaceError as err:
        assert err.code == "proto.malformed_frame"


keys = st.binary(min_size=32, max_size=32)
heads_maps = st.dictionaries(keys, st.tuples(st.integers(1, 2**40), keys), max_size=6)


@given(st.dictionaries(keys, st.tuples(st.none() | st.integers(0, 2**40), st.booleans(), heads_maps), min_size=1))
def test_sync_request_round_trips(groups: dict) -> None:
    raw = encode_sync(
        {g: (after, have_list(heads) if with_have else None) for g, (after, with_have, heads) in groups.items()}
    )
    plan = sync_plan(decode_fed_request(raw))
    assert [g for g, _a, _h in plan] == sorted(groups)
    for g, after, have in plan:
        want_after, with_have, heads = groups[g]
        assert after == want_after
        assert have == (heads if with_have else None)
    assert codec.decode(raw) is not None


def test_address_vectors() -> None:
    from holdspace.protocol.address import NodeAddress

    vectors = json.loads((Path(__file__).resolve().parents[1] / "spec" / "vectors" / "addresses.json").read_text())
    assert any("error" in v for v in vectors) and any(v.get("is_normal") for v in vectors)
    for vec in vectors:
        if "error" in vec:
            try:
                NodeAddress.parse(vec["text"])
            except HoldspaceError as err:
                assert err.code == vec["error"]
            else:
                raise AssertionError(vec["name"])
        else:
            assert str(NodeAddress.parse(vec["text"])) == vec["normal_form"]


def test_host_fields_in_payloads_refuse_what_is_not_a_normal_node_address() -> None:
    from holdspace.protocol import codec, kinds
    from holdspace.protocol.payloads import decode_payload

    good = "holdspace://hsn1enwdnkqh8asn4lagu3dqtyk4n9l9fhevgccqsg6fe24hvlql4nmsqtyqzj@community.example:4433"
    deps = [b"\x01" * 32]
    assert decode_payload(kinds.HOST, codec.encode({"d": deps, "h": good, "a": True}), b"\x00" * 32).address == good
    for fields in (
        {"d": deps, "h": good.replace("community", "Community"), "a": True},  # not the normal form
        {"d": deps, "h": good.replace(":4433", ":04433"), "a": True},
        {"d": deps, "h": "somewhere", "a": True},
        {"d": deps, "h": good, "a": 1},
        {"d": deps, "h": good},
        {"d": deps, "h": good + "x" * 300, "a": True},
    ):
        try:
            decode_payload(kinds.HOST, codec.encode(fields), b"\x00" * 32)
        except HoldspaceError as err:
            assert err.code == "group.malformed_payload"
        else:
            raise AssertionError(f"accepted {fields!r:.120}")
