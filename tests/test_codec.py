"""Tests for protocol.codec: canonical CBOR with a strict decoder."""

from __future__ import annotations

import enum
import json
import re
import tracemalloc
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cbor2
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from holdspace.protocol import codec
from holdspace.protocol.errors import CODES, CodecError

VECTORS = json.loads((Path(__file__).parent / "vectors" / "rfc8949-cbor-appendix-a.json").read_text())

# Appendix A items that are well-formed CBOR but outside the protocol's data model, with the code each
# must be rejected with. Every other roundtrip:true non-float vector is inside the model.
OUT_OF_MODEL = {
    "c249010000000000000000": "cbor.tag_not_allowed",  # bignum 18446744073709551616
    "c349010000000000000000": "cbor.tag_not_allowed",  # bignum -18446744073709551617
    "f7": "cbor.simple_not_allowed",  # undefined
    "f0": "cbor.simple_not_allowed",  # simple(16)
    "f8ff": "cbor.simple_not_allowed",  # simple(255)
    "c074323031332d30332d32315432303a30343a30305a": "cbor.tag_not_allowed",
    "c11a514b67b0": "cbor.tag_not_allowed",
    "c1fb41d452d9ec200000": "cbor.tag_not_allowed",  # tag before its float content
    "d74401020304": "cbor.tag_not_allowed",
    "d818456449455446": "cbor.tag_not_allowed",
    "d82076687474703a2f2f7777772e6578616d706c652e636f6d": "cbor.tag_not_allowed",
    "a201020304": "cbor.bad_key_type",  # {1: 2, 3: 4}
}


def same(a: object, b: object) -> bool:
    """Equality that also distinguishes bool from int (``True == 1`` in Python) and tuple from list."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        assert isinstance(b, list)
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        assert isinstance(b, dict)
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


def as_decoded(value: object) -> object:
    """What decode returns for an encodable value: tuples become lists."""
    if isinstance(value, list | tuple):
        return [as_decoded(v) for v in value]
    if isinstance(value, dict):
        return {k: as_decoded(v) for k, v in value.items()}
    return value


def depth_of(value: object) -> int:
    if isinstance(value, list | tuple):
        return 1 + max((depth_of(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    return 0


def code_of(data: bytes, **kwargs: Any) -> str:
    with pytest.raises(CodecError) as info:
        codec.decode(data, **kwargs)
    return info.value.code


def head(major: int, arg: int, width: int | None = None) -> bytes:
    """A CBOR head; ``width`` (0, 1, 2, 4, 8 argument bytes) forces a possibly non-shortest form."""
    if width is None:
        width = next(w for w, limit in ((0, 24), (1, 1 << 8), (2, 1 << 16), (4, 1 << 32), (8, 1 << 64)) if arg < limit)
    if width == 0:
        return bytes([major << 5 | arg])
    return bytes([major << 5 | {1: 24, 2: 25, 4: 26, 8: 27}[width]]) + arg.to_bytes(width, "big")


def heads(data: bytes) -> Iterator[tuple[int, int, int, int]]:
    """(offset, head length, major type, argument) of every head in a valid encoding, in order.

    Independent of the codec: a minimal walker for well-formed definite-length items."""
    pos = 0

    def item() -> Iterator[tuple[int, int, int, int]]:
        nonlocal pos
        start = pos
        major, ai = data[pos] >> 5, data[pos] & 0x1F
        width = {24: 1, 25: 2, 26: 4, 27: 8}.get(ai, 0)
        arg = int.from_bytes(data[pos + 1 : pos + 1 + width], "big") if width else ai
        pos += 1 + width
        yield start, 1 + width, major, arg
        if major in (2, 3):
            pos += arg
        elif major == 4:
            for _ in range(arg):
                yield from item()
        elif major == 5:
            for _ in range(2 * arg):
                yield from item()

    yield from item()
    assert pos == len(data)


# --------------------------------------------------------------------------------------------------
# RFC 8949 Appendix A
# --------------------------------------------------------------------------------------------------


def test_vector_file_is_complete() -> None:
    assert len(VECTORS["vectors"]) == VECTORS["count_non_float"] == 59
    assert len(VECTORS["float_vectors"]) == VECTORS["count_float"] == 22
    hexes = {v["hex"] for v in VECTORS["vectors"]}
    assert set(OUT_OF_MODEL) <= hexes


IN_MODEL = [v for v in VECTORS["vectors"] if v["roundtrip"] and v["hex"] not in OUT_OF_MODEL]


@pytest.mark.parametrize("vector", IN_MODEL, ids=[v["diagnostic"][:40] for v in IN_MODEL])
def test_appendix_a_in_model_round_trips(vector: dict[str, Any]) -> None:
    data = bytes.fromhex(vector["hex"])
    value = codec.decode(data)
    assert same(value, cbor2.loads(data))  # same value as an independent decoder
    assert codec.encode(value) == data


def test_appendix_a_in_model_count() -> None:
    # 48 roundtrip vectors minus the 12 outside the model.
    assert len(IN_MODEL) == 36


@pytest.mark.parametrize(("hex_", "code"), sorted(OUT_OF_MODEL.items()))
def test_appendix_a_out_of_model_rejected(hex_: str, code: str) -> None:
    assert code_of(bytes.fromhex(hex_)) == code


NOT_ROUNDTRIP = [v for v in VECTORS["vectors"] if not v["roundtrip"]]


@pytest.mark.parametrize("vector", NOT_ROUNDTRIP, ids=[v["diagnostic"][:40] for v in NOT_ROUNDTRIP])
def test_appendix_a_indefinite_rejected(vector: dict[str, Any]) -> None:
    assert vector["kind"] == "indefinite"
    assert code_of(bytes.fromhex(vector["hex"])) == "cbor.indefinite_length"


@pytest.mark.parametrize("vector", VECTORS["float_vectors"], ids=[v["hex"] for v in VECTORS["float_vectors"]])
def test_appendix_a_floats_rejected(vector: dict[str, Any]) -> None:
    assert code_of(bytes.fromhex(vector["hex"])) == "cbor.float_not_allowed"


# --------------------------------------------------------------------------------------------------
# hand-made rejections, one or more per code
# --------------------------------------------------------------------------------------------------

U64 = "ffffffffffffffff"
HUGE = "7fffffffffffffff"  # 2**63 - 1

REJECTIONS: list[tuple[str, str, dict[str, int]]] = [
    # truncated
    ("", "cbor.truncated", {}),
    ("18", "cbor.truncated", {}),
    ("1901", "cbor.truncated", {}),
    ("1a000100", "cbor.truncated", {}),
    ("1b00000001000000", "cbor.truncated", {}),
    ("6261", "cbor.truncated", {}),
    ("440102", "cbor.truncated", {}),
    ("8201", "cbor.truncated", {}),
    ("a16161", "cbor.truncated", {}),
    ("a1", "cbor.truncated", {}),
    ("a2616100", "cbor.truncated", {}),  # 2 entries need >= 4 bytes, 3 remain
    ("8300c0", "cbor.truncated", {}),  # count checked against the remaining bytes before any element
    ("a26161c0", "cbor.truncated", {}),
    ("5b" + HUGE, "cbor.truncated", {}),  # length claim, nothing allocated
    ("7b" + HUGE + "00", "cbor.truncated", {}),
    ("9b" + HUGE + "00", "cbor.truncated", {}),
    ("bb" + HUGE + "6161", "cbor.truncated", {}),
    ("5b" + U64 + "00", "cbor.truncated", {}),
    # trailing bytes
    ("0000", "cbor.trailing_bytes", {}),
    ("80f6", "cbor.trailing_bytes", {}),
    ("00ff", "cbor.trailing_bytes", {}),  # what follows the item is not examined
    # non-canonical arguments
    ("1817", "cbor.non_canonical", {}),
    ("1900ff", "cbor.non_canonical", {}),
    ("1a0000ffff", "cbor.non_canonical", {}),
    ("1b00000000ffffffff", "cbor.non_canonical", {}),
    ("3800", "cbor.non_canonical", {}),
    ("5800", "cbor.non_canonical", {}),
    ("78016161", "cbor.non_canonical", {}),
    ("980100", "cbor.non_canonical", {}),
    ("b801616100", "cbor.non_canonical", {}),
    ("5a00000000", "cbor.non_canonical", {}),
    # non-canonical map order
    ("a2616201616102", "cbor.non_canonical", {}),  # "b" before "a"
    ("a262616101616202", "cbor.non_canonical", {}),  # "aa" before "b": shorter key sorts first
    ("a3616100616200616100", "cbor.non_canonical", {}),  # "a","b","a": out of order before duplicate
    # duplicate keys
    ("a2616101616102", "cbor.duplicate_key", {}),
    ("a260006061", "cbor.duplicate_key", {}),  # empty key twice; the truncated value is never read
    # indefinite lengths
    ("5fff", "cbor.indefinite_length", {}),
    ("7fff", "cbor.indefinite_length", {}),
    ("9fff", "cbor.indefinite_length", {}),
    ("bfff", "cbor.indefinite_length", {}),
    ("5f", "cbor.indefinite_length", {}),
    # floats, any width, decided on the initial byte
    ("f90000", "cbor.float_not_allowed", {}),
    ("fa47c35000", "cbor.float_not_allowed", {}),
    ("fb3ff199999999999a", "cbor.float_not_allowed", {}),
    ("f9", "cbor.float_not_allowed", {}),
    ("81f97c00", "cbor.float_not_allowed", {}),
    # tags, decided on the initial byte
    ("c000", "cbor.tag_not_allowed", {}),
    ("c6", "cbor.tag_not_allowed", {}),
    ("d8ff00", "cbor.tag_not_allowed", {}),
    ("dbffffffffffffffff00", "cbor.tag_not_allowed", {}),
    ("d9d9f700", "cbor.tag_not_allowed", {}),  # self-described CBOR
    # simple values
    ("e0", "cbor.simple_not_allowed", {}),
    ("f3", "cbor.simple_not_allowed", {}),
    ("f7", "cbor.simple_not_allowed", {}),
    ("f8", "cbor.simple_not_allowed", {}),
    ("f818", "cbor.simple_not_allowed", {}),  # not well-formed in RFC 8949 either
    ("f820", "cbor.simple_not_allowed", {}),
    ("f8ff", "cbor.simple_not_allowed", {}),
    # map keys
    ("a10102", "cbor.bad_key_type", {}),
    ("a1416100", "cbor.bad_key_type", {}),
    ("a18000", "cbor.bad_key_type", {}),
    ("a1a000", "cbor.bad_key_type", {}),
    ("a1f600", "cbor.bad_key_type", {}),
    ("a1f500", "cbor.bad_key_type", {}),
    ("a1c06161", "cbor.bad_key_type", {}),  # key's major type is checked before anything else
    ("a1ff00", "cbor.bad_key_type", {}),
    ("a2616100a000", "cbor.bad_key_type", {}),
    # UTF-8
    ("61ff", "cbor.invalid_utf8", {}),
    ("62c328", "cbor.invalid_utf8", {}),
    ("62c080", "cbor.invalid_utf8", {}),  # overlong
    ("63eda080", "cbor.invalid_utf8", {}),  # surrogate U+D800
    ("64f4908080", "cbor.invalid_utf8", {}),  # above U+10FFFF
    ("61e2", "cbor.invalid_utf8", {}),  # sequence cut by the string's end
    ("a161ff00", "cbor.invalid_utf8", {}),  # in a key
    ("7818" + "61" * 23 + "ff", "cbor.invalid_utf8", {}),  # long key path
    # depth
    ("81" * 17 + "00", "cbor.too_deep", {}),
    ("a16161" * 17 + "00", "cbor.too_deep", {}),
    ("80", "cbor.too_deep", {"max_depth": 0}),
    ("8180", "cbor.too_deep", {"max_depth": 1}),
    ("9b" + HUGE, "cbor.too_deep", {"max_depth": 0}),  # depth is checked before the count
    # size
    ("0000", "cbor.too_large", {"max_size": 1}),  # checked before anything else
    ("ff" * 11, "cbor.too_large", {"max_size": 10}),
    # reserved additional information and the break code
    ("1c", "cbor.reserved", {}),
    ("1d", "cbor.reserved", {}),
    ("1e", "cbor.reserved", {}),
    ("1f", "cbor.reserved", {}),  # no indefinite-length integer exists
    ("3c", "cbor.reserved", {}),
    ("3f", "cbor.reserved", {}),
    ("5c", "cbor.reserved", {}),
    ("7d", "cbor.reserved", {}),
    ("9e", "cbor.reserved", {}),
    ("bc", "cbor.reserved", {}),
    ("dc", "cbor.reserved", {}),  # reserved before tag
    ("df", "cbor.reserved", {}),
    ("fc", "cbor.reserved", {}),
    ("fe", "cbor.reserved", {}),
    ("ff", "cbor.reserved", {}),  # a break code is never inside an indefinite-length item here
    ("81ff", "cbor.reserved", {}),
    ("a17c00", "cbor.reserved", {}),  # text-typed key with reserved additional information
    ("a17e00", "cbor.reserved", {}),
    ("a17f6161ff00", "cbor.indefinite_length", {}),
]


@pytest.mark.parametrize(("hex_", "code", "kwargs"), REJECTIONS, ids=[f"{c}:{h[:24]}" for h, c, _ in REJECTIONS])
def test_rejection(hex_: str, code: str, kwargs: dict[str, int]) -> None:
    assert code_of(bytes.fromhex(hex_), **kwargs) == code


def test_every_decoder_code_is_exercised() -> None:
    decoder_codes = {c for c in CODES if c.startswith("cbor.")} - {"cbor.unsupported_type"}
    assert {code for _, code, _ in REJECTIONS} == decoder_codes


# --------------------------------------------------------------------------------------------------
# accepted edge values, bool vs int
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "hex_"),
    [
        (False, "f4"),
        (True, "f5"),
        (None, "f6"),
        (0, "00"),
        (1, "01"),
        (23, "17"),
        (24, "1818"),
        (-1, "20"),
        (-24, "37"),
        (-25, "3818"),
        (255, "18ff"),
        (256, "190100"),
        (65535, "19ffff"),
        (65536, "1a00010000"),
        (2**32 - 1, "1affffffff"),
        (2**32, "1b0000000100000000"),
        (2**64 - 1, "1bffffffffffffffff"),
        (-(2**64), "3bffffffffffffffff"),
        (b"", "40"),
        ("", "60"),
        ([], "80"),
        ({}, "a0"),
        ([True, 1], "82f501"),
        ({"b": 1, "a": 2, "aa": 3, "": 4}, "a4600461610261620162616103"),
        ("x" * 24, "7818" + "78" * 24),
        ({"\u00fc": 0, "z": 1, "zz": 2}, "a3617a01627a7a0262c3bc00"),  # 0x7a < 0xc3
    ],
)
def test_exact_encodings(value: codec.CborInput, hex_: str) -> None:
    data = bytes.fromhex(hex_)
    assert codec.encode(value) == data
    assert same(codec.decode(data), value)


def test_bool_is_not_int() -> None:
    assert codec.encode(True) == b"\xf5"
    assert codec.encode(False) == b"\xf4"
    assert codec.decode(b"\xf5") is True
    assert codec.decode(b"\xf4") is False
    one = codec.decode(b"\x01")
    assert type(one) is int
    assert type(codec.decode(b"\x00")) is int
    assert codec.encode([1, True, 0, False]) == bytes.fromhex("8401f500f4")


def test_decode_accepts_buffer_types() -> None:
    assert codec.decode(bytearray(b"\x82\x01\x02")) == [1, 2]
    assert codec.decode(memoryview(b"\x41\x00")) == b"\x00"
    with pytest.raises(TypeError):
        codec.decode("00")  # type: ignore[arg-type]


def test_decode_max_depth_argument_is_checked() -> None:
    with pytest.raises(ValueError, match="max_depth"):
        codec.decode(b"\x00", max_depth=-1)
    with pytest.raises(ValueError, match="max_depth"):
        codec.decode(b"\x00", max_depth=codec.DEPTH_CEILING + 1)


def test_max_size_boundary() -> None:
    data = codec.encode(b"x" * 100)
    assert codec.decode(data, max_size=len(data)) == b"x" * 100
    assert code_of(data, max_size=len(data) - 1) == "cbor.too_large"


# --------------------------------------------------------------------------------------------------
# encoder rejections
# --------------------------------------------------------------------------------------------------


class _Colour(enum.IntEnum):
    RED = 1


@pytest.mark.parametrize(
    "value",
    [
        1.0,
        0.0,
        float("nan"),
        [1, 2.5],
        {"a": 1.5},
        {1: 2},
        {b"k": 1},
        {None: 1},
        {True: 1},
        {("a",): 1},
        2**64,
        -(2**64) - 1,
        [2**64],
        {1, 2},
        frozenset(),
        object(),
        bytearray(b"x"),
        memoryview(b"x"),
        _Colour.RED,
        OrderedDict(a=1),
        complex(1, 2),
        cbor2.CBORTag(1, 0),
        cbor2.undefined,
        cbor2.CBORSimpleValue(16),
    ],
    ids=lambda value: re.sub(r" at 0x[0-9a-f]+", "", repr(value)),  # the same ids in every process (xdist)
)
def test_encode_unsupported(value: Any) -> None:
    with pytest.raises(CodecError) as info:
        codec.encode(value)
    assert info.value.code == "cbor.unsupported_type"


@pytest.mark.parametrize("value", ["\ud800", ["ok", "\udfff"], {"\ud800": 1}, {"a": "x\udc80"}])
def test_encode_lone_surrogate(value: codec.CborInput) -> None:
    with pytest.raises(CodecError) as info:
        codec.encode(value)
    assert info.value.code == "cbor.invalid_utf8"


def nested_list(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth - 1):
        value = [value]
    return value


def test_encode_depth_limit() -> None:
    assert codec.encode(nested_list(codec.MAX_DEPTH)) == b"\x81" * (codec.MAX_DEPTH - 1) + b"\x80"
    for value in (nested_list(codec.MAX_DEPTH + 1), nested_list(10_000)):
        with pytest.raises(CodecError) as info:
            codec.encode(value)
        assert info.value.code == "cbor.too_deep"


def test_encode_cycle_is_too_deep() -> None:
    cyclic: list[Any] = []
    cyclic.append(cyclic)
    with pytest.raises(CodecError) as info:
        codec.encode(cyclic)
    assert info.value.code == "cbor.too_deep"


def test_encode_tuple_is_array() -> None:
    assert codec.encode((1, (2, b"x"), {"a": ()})) == codec.encode([1, [2, b"x"], {"a": []}])


# --------------------------------------------------------------------------------------------------
# limits: depth and length claims
# --------------------------------------------------------------------------------------------------


def test_depth_boundary() -> None:
    ok = b"\x81" * (codec.MAX_DEPTH - 1) + b"\x80"  # MAX_DEPTH nested arrays
    assert codec.decode(ok) == nested_list(codec.MAX_DEPTH)
    assert code_of(b"\x81" + ok) == "cbor.too_deep"
    assert codec.decode(b"\x81\x80", max_depth=2) == [[]]
    assert codec.decode(b"\x00", max_depth=0) == 0  # scalars have depth 0
    deep_maps = b"\xa1\x61a" * (codec.MAX_DEPTH - 1) + b"\xa0"
    assert codec.encode(codec.decode(deep_maps)) == deep_maps


@pytest.mark.parametrize("unit", [b"\x81", b"\xa1\x61a", b"\x82\x00", b"\xa2\x61a\x00\x61b"])
def test_ten_thousand_levels_is_too_deep(unit: bytes) -> None:
    assert code_of(unit * 10_000 + b"\x00") == "cbor.too_deep"
    assert code_of(unit * 10_000) == "cbor.too_deep"


def test_deep_nesting_with_large_max_depth() -> None:
    depth = codec.DEPTH_CEILING
    data = b"\x81" * (depth - 1) + b"\x80"
    assert depth_of(codec.decode(data, max_depth=depth)) == depth
    assert code_of(b"\x81" + data, max_depth=depth) == "cbor.too_deep"
    assert code_of(b"\x81" * 10_000, max_depth=depth) == "cbor.too_deep"


@pytest.mark.parametrize("major", [2, 3, 4, 5])
@pytest.mark.parametrize("claim", [2**63, 2**64 - 1, 2**32])
def test_length_claim_fails_fast(major: int, claim: int) -> None:
    data = head(major, claim) + b"\x61a"  # 9-byte header + a few bytes
    tracemalloc.start()
    try:
        assert code_of(data) == "cbor.truncated"
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024


# --------------------------------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64 - 1)
    | st.integers(min_value=-300, max_value=300)
    | st.binary(max_size=40)
    | st.text(max_size=30)
)
keys = st.text(max_size=6) | st.sampled_from(["", "a", "b", "aa", "\u00fc", "\U0001f600", "x" * 24])
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(keys, children, max_size=6)
        | st.lists(children, max_size=3).map(tuple)
    ),
    max_leaves=25,
)
in_model = values.filter(lambda v: depth_of(v) <= codec.MAX_DEPTH)


@given(values)
@settings(max_examples=400)
def test_round_trip(value: Any) -> None:
    if depth_of(value) > codec.MAX_DEPTH:
        with pytest.raises(CodecError) as info:
            codec.encode(value)
        assert info.value.code == "cbor.too_deep"
        return
    data = codec.encode(value)
    assert codec.encode(value) == data  # deterministic
    assert data == cbor2.dumps(value, canonical=True)  # independent canonical encoder agrees
    decoded = codec.decode(data)
    assert same(decoded, as_decoded(value))
    assert codec.encode(decoded) == data


@given(in_model)
@settings(max_examples=100)
def test_stored_bytes_decode_to_the_same_value(value: Any) -> None:
    # codec.decode_stored (cbor2's C decoder, for bytes decode accepted before: a node's own store)
    # gives exactly decode's value, type for type, on every encoding decode accepts.
    data = codec.encode(value)
    assert same(codec.decode_stored(data), codec.decode(data))


@given(st.binary(max_size=64))
@settings(max_examples=200)
def test_stored_bytes_that_cbor2_refuses_get_the_strict_decoders_error(data: bytes) -> None:
    # a damaged store: whatever cbor2 refuses is decoded by decode, which names the fault
    try:
        cbor2.loads(data)
    except Exception:  # any refusal
        with pytest.raises(CodecError):
            codec.decode_stored(data)


@given(st.dictionaries(keys, scalars, min_size=2, max_size=8), st.randoms(use_true_random=False))
@settings(max_examples=200)
def test_encode_ignores_insertion_order(mapping: dict[str, Any], rnd: Any) -> None:
    items = list(mapping.items())
    rnd.shuffle(items)
    assert codec.encode(dict(items)) == codec.encode(mapping)


def check_only_codec_error(data: bytes) -> None:
    """decode either raises CodecError, or accepts and then the input is the encoding of the result."""
    try:
        value = codec.decode(data)
    except CodecError as exc:
        assert exc.code in CODES
        return
    assert codec.encode(value) == data
    assert same(value, cbor2.loads(data))


@given(st.binary(max_size=64))
@settings(max_examples=2000)
def test_arbitrary_bytes_only_codec_error(data: bytes) -> None:
    check_only_codec_error(data)


@given(
    st.lists(
        st.sampled_from(b"\x00\x17\x18\x19\x1b\x20\x40\x41\x58\x60\x61\x80\x81\x98\xa0\xa1\xb8\xf4\xf6\xff"),
        max_size=40,
    )
)
@settings(max_examples=1000)
def test_structured_bytes_only_codec_error(bytes_: list[int]) -> None:
    # Bytes biased towards CBOR heads reach deeper into the decoder than uniform noise does.
    check_only_codec_error(bytes(bytes_))


@given(in_model, st.data())
@settings(max_examples=500, suppress_health_check=[HealthCheck.filter_too_much])
def test_mutations_only_codec_error(value: Any, draw: st.DataObject) -> None:
    data = codec.encode(value)
    kind = draw.draw(st.sampled_from(["flip", "insert", "delete", "replace"]))
    i = draw.draw(st.integers(0, len(data) - 1))
    if kind == "flip":
        bit = draw.draw(st.integers(0, 7))
        mutated = data[:i] + bytes([data[i] ^ (1 << bit)]) + data[i + 1 :]
    elif kind == "insert":
        mutated = data[:i] + draw.draw(st.binary(min_size=1, max_size=9)) + data[i:]
    elif kind == "delete":
        mutated = data[:i] + data[i + 1 :]
    else:
        mutated = data[:i] + bytes([draw.draw(st.integers(0, 255))]) + data[i + 1 :]
    check_only_codec_error(mutated)


@given(in_model, st.data())
@settings(max_examples=200, suppress_health_check=[HealthCheck.filter_too_much])
def test_truncation_and_extension(value: Any, draw: st.DataObject) -> None:
    data = codec.encode(value)
    cut = draw.draw(st.integers(0, len(data) - 1))
    assert code_of(data[:cut]) == "cbor.truncated"
    extra = draw.draw(st.binary(min_size=1, max_size=8))
    assert code_of(data + extra) == "cbor.trailing_bytes"


@given(in_model, st.data())
@settings(max_examples=250, suppress_health_check=[HealthCheck.filter_too_much])
def test_non_shortest_head_rejected(value: Any, draw: st.DataObject) -> None:
    data = codec.encode(value)
    widenable = [h for h in heads(data) if h[2] <= 5 and h[1] < 9]
    assume(widenable)  # False, True and None have no argument
    offset, length, major, arg = draw.draw(st.sampled_from(widenable))
    shortest = {1: 0, 2: 1, 3: 2, 5: 4, 9: 8}[length]
    width = draw.draw(st.sampled_from([w for w in (1, 2, 4, 8) if w > shortest]))
    mutated = data[:offset] + head(major, arg, width) + data[offset + length :]
    assert code_of(mutated) == "cbor.non_canonical"


@given(
    st.dictionaries(keys, scalars, min_size=2, max_size=6),
    st.data(),
)
@settings(max_examples=150)
def test_map_out_of_order_rejected(mapping: dict[str, Any], draw: st.DataObject) -> None:
    entries = sorted((codec.encode(k), codec.encode(v)) for k, v in mapping.items())
    i = draw.draw(st.integers(0, len(entries) - 2))
    j = draw.draw(st.integers(i + 1, len(entries) - 1))
    entries[i], entries[j] = entries[j], entries[i]
    data = head(5, len(entries)) + b"".join(k + v for k, v in entries)
    assert code_of(data) == "cbor.non_canonical"
    # the same map with one entry repeated right after itself
    entries.sort()
    dup = [*entries[: i + 1], entries[i], *entries[i + 1 :]]
    data = head(5, len(dup)) + b"".join(k + v for k, v in dup)
    assert code_of(data) == "cbor.duplicate_key"


@given(in_model)
@settings(max_examples=200, suppress_health_check=[HealthCheck.filter_too_much])
def test_wrapped_in_tag_rejected(value: Any) -> None:
    assert code_of(b"\xc0" + codec.encode(value)) == "cbor.tag_not_allowed"
