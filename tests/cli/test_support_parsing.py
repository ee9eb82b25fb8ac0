"""What people type into the support-group commands: good forms parse, bad ones get a typed error."""

from __future__ import annotations

import pytest

from holdspace.clients.participant import ClientError, GroupRecord, Message
from holdspace.clients.support_cli import find_message, parse_duration, parse_hex, parse_issuer, parse_local_time
from holdspace.protocol.identity import Pseudonym, pseudonym_text_id


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("90m", 5_400_000),
        ("2h", 7_200_000),
        ("30s", 30_000),
        ("45", 2_700_000),
        ("1w", 604_800_000),
        (" 7d ", 604_800_000),
        ("0h", 0),
    ],
)
def test_durations(text: str, ms: int) -> None:
    assert parse_duration(text) == ms


@pytest.mark.parametrize("text", ["", "1.5h", "h", "-2h", "2 hours", "2y"])
def test_bad_durations_get_a_code(text: str) -> None:
    with pytest.raises(ClientError) as err:
        parse_duration(text)
    assert err.value.code == "client.bad_argument"


def test_local_times_follow_the_zone_and_bad_ones_get_a_code() -> None:
    assert parse_local_time("2026-07-01 19:00", "Europe/London") == parse_local_time("2026-07-01 18:00", "UTC")
    assert parse_local_time("2026-01-01 19:00", "Europe/London") == parse_local_time("2026-01-01 19:00", "UTC")
    for bad in ("tomorrow", "2026-13-01 19:00", "2026-07-01T19:00", "19:00"):
        with pytest.raises(ClientError) as err:
            parse_local_time(bad, "UTC")
        assert err.value.code == "client.bad_argument"


def test_issuers_and_hex() -> None:
    key = Pseudonym.generate().public_key
    assert parse_issuer(key.hex()) == key
    assert parse_issuer(pseudonym_text_id(key)) == key
    for bad in ("abcd", "zz" * 32):
        with pytest.raises(ClientError) as err:
            parse_issuer(bad)
        assert err.value.code == "client.bad_argument"
    with pytest.raises(ClientError):
        parse_hex("not hex")


def test_message_references_must_name_exactly_one_message() -> None:
    record = GroupRecord(b"\x01" * 32, b"ctx", "circle")
    for i, prefix in enumerate((b"\xab\xcd\xef\x01", b"\xab\xcd\xef\x02")):
        record.messages.append(Message(i + 1, b"\x02" * 32, i + 1, 0, "hi", entry_id=prefix + bytes(28)))
    assert find_message(record, "abcdef01").cursor == 1
    for bad in ("abcdef", "abc", "ffffff"):  # ambiguous, too short, no match
        with pytest.raises(ClientError) as err:
            find_message(record, bad)
        assert err.value.code == "client.unknown_message"
