"""Small builders shared by tests: deterministic pseudonyms and entry chains."""

from holdspace.protocol import kinds
from holdspace.protocol.entry import Entry, create_entry
from holdspace.protocol.identity import Pseudonym

GROUP = bytes.fromhex("11" * 32)
T0 = 1_764_000_000_000


def pseudonym(label: str) -> Pseudonym:
    return Pseudonym.derive(bytes(32), label.encode())


def chain(author: Pseudonym, n: int, *, group: bytes = GROUP, kind: int = kinds.MESSAGE) -> list[Entry]:
    entries: list[Entry] = []
    prev = None
    for seq in range(1, n + 1):
        e = create_entry(
            author,
            group=group,
            seq=seq,
            prev=prev,
            timestamp_ms=T0 + seq,
            kind=kind,
            payload=b"body %d" % seq,
        )
        entries.append(e)
        prev = e.entry_id
    return entries
