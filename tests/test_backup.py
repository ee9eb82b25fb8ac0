"""Recovery words and the identity backup (spec 14.7): round trips, and every refusal with its code."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from holdspace.protocol import backup as bk
from holdspace.protocol import codec, crypto
from holdspace.protocol.errors import HoldspaceError

KEY = bytes(range(16))
MASTER = bytes(range(32, 64))


def sample() -> bk.Backup:
    return bk.Backup(
        MASTER,
        "holdspace://hsn1example@127.0.0.1:4433",
        (
            bk.Membership(b"\x01" * 32, b"ctx-1", "Tuesday circle", ("holdspace://a@h:1",), 3, b"\x02" * 32),
            bk.Membership(b"\x03" * 32, b"ctx-2", None),
        ),
    )


def code_of(fn: object) -> str:
    assert callable(fn)
    with pytest.raises(HoldspaceError) as info:
        fn()
    return info.value.code


def test_wordlist_is_bip39_english() -> None:
    assert len(bk.WORDLIST) == 2048 and bk.WORDLIST[0] == "abandon" and bk.WORDLIST[-1] == "zoo"


@given(st.binary(min_size=16, max_size=16))
def test_words_round_trip(key: bytes) -> None:
    words = bk.recovery_words(key)
    assert len(words) == 13
    assert bk.parse_words(" ".join(words)) == key
    assert bk.parse_words("\n  ".join(w.upper() for w in words)) == key
    assert bk.parse_words(" ".join(w[:4] for w in words)) == key


@given(st.binary(min_size=16, max_size=16), st.integers(0, 12), st.integers(1, 2047))
def test_a_mistyped_word_is_caught(key: bytes, position: int, shift: int) -> None:
    words = bk.recovery_words(key)
    words[position] = bk.WORDLIST[(bk.WORDLIST.index(words[position]) + shift) % 2048]
    try:
        got = bk.parse_words(" ".join(words))
    except HoldspaceError as exc:
        assert exc.code == "recovery.bad_checksum"
    else:  # 1 in 2^15 substitutions checks by chance: then it must at least be another key
        assert got != key


def test_word_refusals() -> None:
    words = bk.recovery_words(KEY)
    assert code_of(lambda: bk.parse_words(" ".join(words[:12]))) == "recovery.word_count"
    assert code_of(lambda: bk.parse_words(" ".join([*words[:12], "zebraa"]))) == "recovery.unknown_word"
    assert code_of(lambda: bk.parse_words(" ".join(["aba", *words[1:]]))) == "recovery.unknown_word"
    swapped = [words[1], words[0], *words[2:]]
    assert code_of(lambda: bk.parse_words(" ".join(swapped))) == "recovery.bad_checksum"


def test_backup_round_trip_and_holds_no_recovery_key() -> None:
    key = bk.backup_key(KEY)
    sealed = bk.seal_backup(key, sample(), os.urandom)
    assert bk.open_backup(key, sealed) == sample()
    assert KEY not in sealed and MASTER not in sealed and key not in sealed


def test_wrong_words_and_altered_file_are_bad_key() -> None:
    sealed = bk.seal_backup(bk.backup_key(KEY), sample(), os.urandom)
    other = bk.backup_key(bytes(16))
    assert code_of(lambda: bk.open_backup(other, sealed)) == "backup.bad_key"
    altered = bytearray(sealed)
    altered[-1] ^= 1
    assert code_of(lambda: bk.open_backup(bk.backup_key(KEY), bytes(altered))) == "backup.bad_key"


def test_malformed_and_oversize_backups() -> None:
    key = bk.backup_key(KEY)
    nonce = b"\x00" * 24

    def sealed_plain(value: codec.CborValue) -> bytes:
        box = crypto.aead_encrypt(key, nonce, codec.encode(value), bk.BACKUP_DOMAIN)
        return codec.encode({"v": 1, "aead": bk.AEAD_NAME, "nonce": nonce, "box": box})

    assert code_of(lambda: bk.open_backup(key, b"\xff")) == "backup.malformed"
    assert code_of(lambda: bk.open_backup(key, codec.encode({"v": 2}))) == "backup.malformed"
    wrong_aead = codec.encode({"v": 1, "aead": "aes", "nonce": nonce, "box": b""})
    assert code_of(lambda: bk.open_backup(key, wrong_aead)) == "backup.malformed"
    short_master = {"v": 1, "master": b"x", "node": None, "groups": []}
    assert code_of(lambda: bk.open_backup(key, sealed_plain(short_master))) == "backup.malformed"
    bad_group = {"v": 1, "master": MASTER, "node": None, "groups": [{"g": b"x"}]}
    assert code_of(lambda: bk.open_backup(key, sealed_plain(bad_group))) == "backup.malformed"
    assert code_of(lambda: bk.open_backup(key, b"\x00" * (bk.MAX_BACKUP + 1))) == "backup.too_large"
    many = tuple(bk.Membership(os.urandom(32), b"c" * 64, "n" * 1000) for _ in range(1000))
    assert code_of(lambda: bk.seal_backup(key, bk.Backup(MASTER, None, many), os.urandom)) == "backup.too_large"


memberships = st.builds(
    bk.Membership,
    st.binary(min_size=32, max_size=32),
    st.binary(min_size=1, max_size=64),
    st.none() | st.text(max_size=40),
    st.lists(st.text(max_size=30), max_size=3).map(tuple),
    st.integers(0, 2**63),
    st.none() | st.binary(min_size=32, max_size=32),
)
backups = st.builds(
    bk.Backup,
    st.binary(min_size=32, max_size=32),
    st.none() | st.text(max_size=60),
    st.lists(memberships, max_size=4).map(tuple),
)


@given(backups, st.binary(min_size=24, max_size=24))
def test_backup_codec_round_trips(backup: bk.Backup, nonce: bytes) -> None:
    assert bk.decode_backup(backup.encode()) == backup
    key = bk.backup_key(KEY)
    assert bk.open_backup(key, bk.seal_backup(key, backup, lambda n: nonce[:n])) == backup
