"""Pure checks remembered once per process: ``decode_payload`` gives the same payload for the same
bytes without decoding them again, and ``ed25519_verify(remember=True)`` a valid signature without
the curve arithmetic; neither ever remembers a failure, and both answer exactly as a full check."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from holdspace.protocol import crypto, kinds, payloads
from holdspace.protocol.errors import HoldspaceError
from holdspace.protocol.memo import Memo
from holdspace.protocol.payloads import MEMBER, Invite, decode_payload
from tests.helpers import pseudonym

ALICE = pseudonym("alice")
INVITE = Invite((bytes(range(32)),), MEMBER, 1_900_000_000_000, 3, None, pseudonym("invite").public_key).encode()


@pytest.fixture(autouse=True)
def fresh_memos() -> None:
    payloads._decoded.clear()
    crypto._verified.clear()


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    calls: list[bytes] = []
    real = payloads._fields

    def counting(kind: int, payload: bytes, *args: object) -> object:
        calls.append(payload)
        return real(kind, payload, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(payloads, "_fields", counting)
    return calls


@pytest.fixture
def curve(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    calls: list[bytes] = []
    real = crypto.sodium.crypto_sign_open

    def counting(signed: bytes, public_key: bytes) -> bytes:
        calls.append(signed)
        return real(signed, public_key)

    monkeypatch.setattr(crypto.sodium, "crypto_sign_open", counting)
    return calls


def test_a_payload_decoded_once_is_not_decoded_again(decodes: list[bytes]) -> None:
    first = decode_payload(kinds.INVITE, INVITE, ALICE.public_key)
    again = decode_payload(kinds.INVITE, bytes(INVITE), ALICE.public_key)  # equal bytes, another object
    assert again is first and isinstance(first, Invite) and first.max_uses == 3
    assert len(decodes) == 1
    decode_payload(kinds.INVITE, INVITE, pseudonym("bob").public_key)  # another author: decoded afresh
    assert len(decodes) == 2


def test_a_malformed_payload_is_refused_in_full_every_time(decodes: list[bytes]) -> None:
    bad = INVITE[:-1]
    for _ in range(2):
        with pytest.raises(HoldspaceError) as err:
            decode_payload(kinds.INVITE, bad, ALICE.public_key)
        assert err.value.code == "group.malformed_payload"
    assert len(decodes) == 2


@settings(max_examples=200, deadline=None)
@given(st.integers(0, len(INVITE) - 1), st.integers(0, 255), st.sampled_from(sorted(kinds.CONTROL_KINDS)))
def test_remembered_or_not_the_answer_is_a_full_decode(at: int, byte: int, kind: int) -> None:
    mutated = INVITE[:at] + bytes([byte]) + INVITE[at + 1 :]
    for _ in range(2):  # the second answer may come from the memo
        try:
            expected: object = payloads._decode_payload(kind, mutated, ALICE.public_key, False)
        except HoldspaceError as exc:
            expected = exc.code
        try:
            got: object = decode_payload(kind, mutated, ALICE.public_key)
        except HoldspaceError as exc:
            got = exc.code
        assert got == expected


def test_a_remembered_signature_is_not_verified_again(curve: list[bytes]) -> None:
    message = b"join proof message"
    signature = crypto.ed25519_sign(ALICE.seed, message)
    assert crypto.ed25519_verify(ALICE.public_key, message, signature, remember=True)
    assert crypto.ed25519_verify(ALICE.public_key, bytes(message), bytes(signature), remember=True)
    assert len(curve) == 1
    assert crypto.ed25519_verify(ALICE.public_key, message, signature)  # without remember: checked in full
    assert len(curve) == 2


def test_an_invalid_signature_is_never_remembered(curve: list[bytes]) -> None:
    message = b"join proof message"
    forged = bytes(64)
    for _ in range(2):
        assert not crypto.ed25519_verify(ALICE.public_key, message, forged, remember=True)
    assert len(curve) == 2
    good = crypto.ed25519_sign(ALICE.seed, message)
    assert crypto.ed25519_verify(ALICE.public_key, message, good, remember=True)
    assert not crypto.ed25519_verify(ALICE.public_key, message + b"!", good, remember=True)
    assert not crypto.ed25519_verify(pseudonym("bob").public_key, message, good, remember=True)


def test_a_long_message_is_not_remembered(curve: list[bytes]) -> None:
    message = bytes(crypto.VERIFIED_MESSAGE_MAX + 1)
    signature = crypto.ed25519_sign(ALICE.seed, message)
    for _ in range(2):
        assert crypto.ed25519_verify(ALICE.public_key, message, signature, remember=True)
    assert len(curve) == 2


def test_the_memo_is_bounded_oldest_first() -> None:
    memo: Memo[int, str] = Memo(2)
    memo.put(1, "a")
    memo.put(2, "b")
    memo.put(1, "other")  # already held: kept as it was
    memo.put(3, "c")
    assert (memo.get(1), memo.get(2), memo.get(3), len(memo)) == (None, "b", "c", 2)
