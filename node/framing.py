"""Fitting stored entries into frames (spec 14.2, 14.5): pure, shared by the client session, the
subscription runtime and federation.

Invariant: a list built here never exceeds the frame size less ``FRAME_SLACK`` unless it holds a
single entry (an entry always fits a frame on its own: its record is at most a maximal publish)."""

from __future__ import annotations

from holdspace.node.records import StoredEntry
from holdspace.protocol import codec, kinds
from holdspace.protocol.frames import entry_item

FRAME_SLACK = 4096  # room in a frame for the response map around its entries
ITEM_OVERHEAD = 16  # bytes an entry-item adds around a stored record (array head, cursor)
BRANCH_ITEM_OVERHEAD = 4  # bytes a header adds to a list of headers


def event_item(cursor: int, record: StoredEntry, full: bool) -> bytes:
    """The encoded ``entry-item`` of ``record``, spliced from the stored bytes (no decoding). With
    ``full`` False (a former member, spec 14.2 rule 4), an entry of a message kind comes without its
    payload."""
    if not full and record.kind in kinds.MESSAGE_KINDS:
        value = codec.decode(record.raw, max_size=len(record.raw))
        assert isinstance(value, list)
        return codec.encode([cursor, value[0], None])
    return entry_item(cursor, record.raw)


def items_within_frame(
    page: list[tuple[int, StoredEntry]], after: int, full: bool, max_frame: int
) -> tuple[list[bytes], int]:
    """As many entries of ``page`` as fit one frame of ``max_frame`` bytes (at least one), encoded,
    and the last cursor taken (``after`` if the page is empty)."""
    budget = max_frame - FRAME_SLACK
    items: list[bytes] = []
    last = after
    for cursor, record in page:
        budget -= len(record.raw) + ITEM_OVERHEAD
        if items and budget < 0:
            break
        items.append(event_item(cursor, record, full))
        last = cursor
    return items, last


def headers_within(headers: list[bytes], room: int) -> list[codec.CborValue]:
    """The first ``headers`` that fit in ``room`` bytes (each counted with its list overhead)."""
    out: list[codec.CborValue] = []
    for header in headers:
        room -= len(header) + BRANCH_ITEM_OVERHEAD
        if room < 0:
            break
        out.append(header)
    return out
