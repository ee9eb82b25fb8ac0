import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from holdspace.protocol import codec, crypto, entry, kinds, signing
from holdspace.protocol.entry import MAX_CLOCK_SKEW_MS, MAX_HEADER_SIZE, create_entry, decode_entry
from holdspace.protocol.errors import CodecError, EntryError, HoldspaceError
from tests.helpers import GROUP, T0, chain, pseudonym

ALICE = pseudonym("alice")


def fields_of(e: entry.Entry) -> dict:
    f = codec.decode(e.raw)
    assert isinstance(f, dict)
    return f


def resign(fields: dict, who=ALICE) -> bytes:
    return codec.encode(signing.sign_fields(signing.DOMAIN_ENTRY, fields, who.seed))


def code(raw: bytes, payload: bytes | None = None, now_ms: int | None = T0) -> str:
    with pytest.raises(HoldspaceError) as err:
        decode_entry(raw, payload, now_ms=now_ms)
    return err.value.code


def test_round_trip_and_id() -> None:
    e = chain(ALICE, 2)[1]
    again = decode_entry(e.raw, e.payload, now_ms=T0)
    assert again == e
    assert e.entry_id == entry.entry_id(e.raw) and len(e.entry_id) == 32
    assert e.author == ALICE.public_key and e.seq == 2 and e.kind == kinds.MESSAGE
    assert e.payload == b"body 2" and e.payload_size == 6 and e.payload_hash == crypto.blake2b_256(b"body 2")


def test_header_verifies_without_payload_and_payload_attaches_later() -> None:
    e = chain(ALICE, 2)[1]
    husk = decode_entry(e.raw, None, now_ms=T0)
    assert husk.payload is None and husk.entry_id == e.entry_id
    assert husk.with_payload(b"body 2") == e
    assert e.without_payload() == husk
    with pytest.raises(EntryError) as err:
        husk.with_payload(b"body 3")
    assert err.value.code == "entry.payload_mismatch"


def test_empty_payload_header_size() -> None:
    e = create_entry(ALICE, group=GROUP, seq=2, prev=b"\x00" * 32, timestamp_ms=T0, kind=kinds.MESSAGE, payload=b"")
    assert len(e.raw) == 238


def test_rejections_each_get_their_code() -> None:
    e = chain(ALICE, 2)[1]
    base = fields_of(e)
    assert code(resign(dict(base, v=2))) == "entry.bad_version"
    assert code(resign(dict(base, k=9999))) == "entry.unknown_kind"
    assert code(resign(dict(base, t=T0 + MAX_CLOCK_SKEW_MS + 1))) == "entry.future_timestamp"
    at_limit = resign(dict(base, t=T0 + MAX_CLOCK_SKEW_MS))
    assert decode_entry(at_limit, None, now_ms=T0).timestamp_ms == T0 + MAX_CLOCK_SKEW_MS
    assert code(codec.encode(dict(base, s=3))) == "entry.bad_signature"  # moved after signing
    other = pseudonym("mallory")
    assert code(resign(base, other)) == "entry.bad_signature"  # signed by someone else
    assert code(e.raw, b"body X") == "entry.payload_mismatch"  # words swapped
    assert code(e.raw, b"body 2 ") == "entry.payload_mismatch"
    assert code(resign(dict(base, s=0))) == "entry.malformed"
    assert code(resign(dict(base, s=1))) == "entry.malformed"  # seq 1 with a prev
    assert code(resign(dict(base, p=None))) == "entry.malformed"  # seq 2 without prev
    assert code(resign(dict(base, g=b"short"))) == "entry.malformed"
    assert code(resign(dict(base, h=b"short"))) == "entry.malformed"
    assert code(resign(dict(base, n=-1))) == "entry.malformed"
    assert code(resign(dict(base, s=True))) == "entry.malformed"
    assert code(resign(dict(base, extra=1))) == "entry.malformed"
    assert code(codec.encode({k: v for k, v in base.items() if k != "sig"})) == "entry.malformed"
    assert code(codec.encode([1, 2, 3])) == "entry.malformed"
    assert code(b"\xa1") == "cbor.truncated"
    assert code(resign(dict(base, n=kinds.MAX_MESSAGE_PAYLOAD + 1))) == "entry.oversize"
    assert code(resign(dict(base, g=b"\x00" * 2000))) == "entry.oversize"
    assert len(resign(dict(base, g=b"\x00" * 2000))) > MAX_HEADER_SIZE


def test_future_timestamp_check_is_skipped_without_clock() -> None:
    base = fields_of(chain(ALICE, 1)[0])
    raw = resign(dict(base, t=T0 + 10 * MAX_CLOCK_SKEW_MS))
    assert decode_entry(raw, None, now_ms=None).timestamp_ms == T0 + 10 * MAX_CLOCK_SKEW_MS


def test_bad_version_wins_over_unknown_fields() -> None:
    """A future version may have other fields: the version is checked first."""
    raw = codec.encode({"v": 2, "new": "field"})
    assert code(raw) == "entry.bad_version"


def test_non_canonical_encoding_is_rejected_even_if_signed_fields_match() -> None:
    e = chain(ALICE, 1)[0]
    raw = e.raw.replace(b"\x61v\x01", b"\x61v\x18\x01", 1)  # the same 1 in two bytes
    assert raw != e.raw
    assert code(raw) == "cbor.non_canonical"


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_single_bit_flip_is_rejected(data: st.DataObject) -> None:
    e = chain(ALICE, 2)[1]
    assert e.payload is not None
    blob = e.raw + e.payload
    bit = data.draw(st.integers(0, len(blob) * 8 - 1))
    flipped = bytearray(blob)
    flipped[bit // 8] ^= 1 << (bit % 8)
    raw, payload = bytes(flipped[: len(e.raw)]), bytes(flipped[len(e.raw) :])
    with pytest.raises((CodecError, EntryError)):
        decode_entry(raw, payload, now_ms=None)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.none() | st.binary(max_size=20))
def test_arbitrary_bytes_raise_only_typed_errors(raw: bytes, payload: bytes | None) -> None:
    with pytest.raises(HoldspaceError):
        decode_entry(raw, payload, now_ms=T0)


@settings(max_examples=100, deadline=None)
@given(seq=st.integers(1, 2**63 - 1), ts=st.integers(0, T0), payload=st.binary(max_size=2000))
def test_create_decode_round_trip(seq: int, ts: int, payload: bytes) -> None:
    prev = None if seq == 1 else b"\x07" * 32
    e = create_entry(ALICE, group=GROUP, seq=seq, prev=prev, timestamp_ms=ts, kind=kinds.MESSAGE, payload=payload)
    assert decode_entry(e.raw, payload, now_ms=T0) == e
    assert entry.decode_stored_entry(e.raw, payload) == e  # read back from a store: the same entry
    assert entry.decode_stored_entry(e.raw, None) == decode_entry(e.raw, None, now_ms=None)
