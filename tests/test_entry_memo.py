"""decode_entry remembers headers whose signature it verified: a second decode of the same bytes
verifies no signature, yet gives the same entry and the same errors as a full decode."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from holdspace.protocol import codec, crypto, entry
from holdspace.protocol.entry import MAX_CLOCK_SKEW_MS, decode_entry
from holdspace.protocol.errors import EntryError
from holdspace.protocol.memo import Memo
from tests.helpers import T0, chain, pseudonym

ALICE = pseudonym("alice")


@pytest.fixture(autouse=True)
def fresh_memo() -> None:
    entry._verified.clear()


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    calls: list[bytes] = []
    real = crypto.ed25519_verify

    def counting(public_key: bytes, message: bytes, signature: bytes) -> bool:
        calls.append(message)
        return real(public_key, message, signature)

    monkeypatch.setattr(crypto, "ed25519_verify", counting)
    return calls


def test_a_verified_header_is_not_verified_again(verifications: list[bytes]) -> None:
    e = chain(ALICE, 2)[1]
    first = decode_entry(e.raw, e.payload, now_ms=T0)
    second = decode_entry(bytes(e.raw), e.payload, now_ms=T0)  # equal bytes, another object
    husk = decode_entry(e.raw, None, now_ms=None)
    assert first == second == e and husk == e.without_payload()
    assert len(verifications) == 1


def test_a_remembered_header_still_checks_the_clock_and_the_payload(verifications: list[bytes]) -> None:
    e = chain(ALICE, 2)[1]
    decode_entry(e.raw, None, now_ms=None)
    with pytest.raises(EntryError) as err:
        decode_entry(e.raw, e.payload, now_ms=e.timestamp_ms - MAX_CLOCK_SKEW_MS - 1)
    assert err.value.code == "entry.future_timestamp"
    with pytest.raises(EntryError) as err:
        decode_entry(e.raw, b"other words", now_ms=T0)
    assert err.value.code == "entry.payload_mismatch"
    assert decode_entry(e.raw, e.payload, now_ms=e.timestamp_ms - MAX_CLOCK_SKEW_MS) == e
    assert len(verifications) == 1


def test_an_unverified_decode_is_not_remembered_as_verified() -> None:
    e = chain(ALICE, 2)[1]
    fields = codec.decode(e.raw)
    assert isinstance(fields, dict)
    forged = codec.encode(dict(fields, sig=bytes(64)))
    assert decode_entry(forged, None, now_ms=None, verify=False).author == ALICE.public_key
    with pytest.raises(EntryError) as err:
        decode_entry(forged, None, now_ms=None)
    assert err.value.code == "entry.bad_signature"
    with pytest.raises(EntryError):
        decode_entry(forged, None, now_ms=None)  # a failure is never remembered either


def test_the_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(entry, "_verified", Memo(3))
    entries = chain(ALICE, 5)
    for e in entries:
        decode_entry(e.raw, None, now_ms=None)
    assert len(entry._verified._items) == 3
    assert entry._verified.get(entries[0].raw) is None and entry._verified.get(entries[-1].raw) is not None


@settings(max_examples=60)
@given(
    data=st.data(),
    now=st.none() | st.integers(T0 - 2 * MAX_CLOCK_SKEW_MS, T0 + MAX_CLOCK_SKEW_MS),
    payload=st.none() | st.binary(max_size=12),
)
def test_remembered_and_fresh_decodes_agree(data: st.DataObject, now: int | None, payload: bytes | None) -> None:
    """Whatever was decoded before, decoding (header, payload, now) gives what a cold decode gives."""
    e = chain(ALICE, 3)[data.draw(st.integers(0, 2))]
    payload = data.draw(st.sampled_from([e.payload, payload]))
    if data.draw(st.booleans()):
        decode_entry(e.raw, None, now_ms=None)  # remembered first
    else:
        entry._verified.clear()

    def outcome() -> object:
        try:
            return decode_entry(e.raw, payload, now_ms=now)
        except EntryError as err:
            return err.code

    warm = outcome()
    entry._verified.clear()
    assert outcome() == warm
