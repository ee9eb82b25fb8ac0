"""The words the app's views put on screens: whole units for durations ("24 hours", never "24.0
hours"), numbers that agree with their nouns ("1 person", never "1 moderator(s)"), and members named
by four words, never "Member 12345" (spec 17.14)."""

from __future__ import annotations

import pytest

from holdspace.clients.app.views import counted, duration_words, member_label
from holdspace.protocol.identity import Pseudonym
from holdspace.protocol.labels import label


@pytest.mark.parametrize(
    ("ms", "words"),
    [
        (24 * 3_600_000, "1 day"),
        (36 * 3_600_000, "36 hours"),
        (3_600_000, "1 hour"),
        (90 * 60_000, "90 minutes"),
        (7 * 86_400_000, "7 days"),
        (1_500, "1 second"),
    ],
)
def test_durations_are_said_in_whole_units(ms: int, words: str) -> None:
    assert duration_words(ms) == words


def test_counts_agree_with_their_nouns() -> None:
    assert counted(1, "person", "people") == "1 person" and counted(3, "person", "people") == "3 people"
    assert counted(1, "moderator") == "1 moderator" and counted(2, "moderator") == "2 moderators"


def test_members_are_named_by_four_words() -> None:
    key = Pseudonym.derive(bytes(32), b"group:x").public_key
    assert member_label(key) == label(key) and len(member_label(key).split()) == 4
    assert member_label(key, key) == "You"
