"""Edits as every client shows them (spec 17.15): only the author's, only within 15 minutes, the
greatest (timestamp, id) wins, and nothing of a deleted message."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from holdspace.clients.corrections import latest_edit, may_edit, quoted
from holdspace.clients.records import Message
from holdspace.protocol import kinds
from holdspace.protocol.content import EDIT_WINDOW_MS, Edit, Text, encode_content

ANA, BO = b"\x0a" * 32, b"\x0b" * 32
T = 1_764_000_000_000
ORIGINAL_ID = b"\x01" * 32


def message(author: bytes, t: int, content: Text | Edit, entry_id: bytes) -> Message:
    m = Message(0, author, 1, t, None, None, entry_id, kinds.MESSAGE)
    m.plaintext = encode_content(content)
    if isinstance(content, Text):
        m.text = content.body
    return m


ORIGINAL = message(ANA, T, Text("terible"), ORIGINAL_ID)


def edit(author: bytes, dt: int, body: str, n: int) -> Message:
    return message(author, T + dt, Edit(ORIGINAL_ID, body), bytes([n]) * 32)


def test_only_the_authors_edits_within_the_window_count() -> None:
    assert latest_edit(ORIGINAL, []) is None
    assert latest_edit(ORIGINAL, [edit(BO, 10, "forged", 2)]) is None
    assert latest_edit(ORIGINAL, [edit(ANA, EDIT_WINDOW_MS + 1, "late", 3)]) is None
    assert latest_edit(ORIGINAL, [edit(ANA, -1, "before", 4)]) is None
    found = latest_edit(ORIGINAL, [edit(ANA, EDIT_WINDOW_MS, "terrible", 5), edit(BO, EDIT_WINDOW_MS, "x", 6)])
    assert found is not None and found.body == "terrible"


@given(
    st.lists(
        st.tuples(st.integers(0, EDIT_WINDOW_MS), st.integers(2, 250)), min_size=1, max_size=8, unique_by=lambda x: x[1]
    )
)
def test_the_latest_edit_wins_whatever_the_order_read(items: list[tuple[int, int]]) -> None:
    edits = [edit(ANA, dt, f"v{n}", n) for dt, n in items]
    winner = max(edits, key=lambda m: (m.timestamp_ms, m.entry_id))
    for order in (edits, edits[::-1]):
        found = latest_edit(ORIGINAL, order)
        assert found is not None and found.body == f"v{winner.entry_id[0]}"


def test_a_deleted_message_shows_no_edit_and_may_not_be_edited() -> None:
    gone = message(ANA, T, Text("terible"), ORIGINAL_ID)
    gone.forget("redacted")
    assert latest_edit(gone, [edit(ANA, 10, "terrible", 2)]) is None
    assert may_edit(ORIGINAL, ANA, T + EDIT_WINDOW_MS) and not may_edit(ORIGINAL, ANA, T + EDIT_WINDOW_MS + 1)
    assert not may_edit(ORIGINAL, BO, T) and not may_edit(gone, ANA, T)


def test_a_quote_is_one_line_and_bounded() -> None:
    assert quoted("a\nb  c") == "a b c"
    assert len(quoted("x" * 500)) == 160 and quoted("x" * 500).endswith("…")
