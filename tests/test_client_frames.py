"""Client frames built by splicing stored bytes equal the canonical encoding of what they carry."""

from hypothesis import given
from hypothesis import strategies as st

from protocol import codec, frames

cursors = st.integers(0, 2**64 - 1)
stored = st.tuples(st.binary(max_size=1100), st.none() | st.binary(max_size=3000))


@given(cursors, stored)
def test_an_entry_item_is_the_stored_entry_after_its_cursor(cursor: int, entry: tuple[bytes, bytes | None]) -> None:
    header, payload = entry
    assert frames.entry_item(cursor, codec.encode([header, payload])) == codec.encode([cursor, header, payload])


@given(st.lists(st.tuples(cursors, stored), max_size=40), cursors, st.booleans())
def test_spliced_events_and_fetch_results_are_canonical(
    items: list[tuple[int, tuple[bytes, bytes | None]]], next_cursor: int, more: bool
) -> None:
    encoded = [frames.entry_item(c, codec.encode([h, p])) for c, (h, p) in items]
    plain = [[c, h, p] for c, (h, p) in items]
    event = frames.encode_entries_event(encoded, next_cursor)
    assert event == frames.encode_event("entries", entries=plain, next=next_cursor)  # type: ignore[arg-type]
    assert frames.decode_response(event) == {"ev": "entries", "entries": plain, "next": next_cursor}
    fetched = frames.encode_fetch_ok(encoded, next_cursor, more)
    assert fetched == frames.encode_ok({"entries": plain, "next": next_cursor, "more": more})  # type: ignore[dict-item]
