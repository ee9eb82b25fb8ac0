"""What the node stores per entry, independent of how it is stored (LMDB or memory).

Shared by the node core, which decides from records and never touches a disk, and by the stores that
keep them (``node.store`` on LMDB, ``node.memory_store`` in memory).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class StoredEntry:
    group: bytes  # 32
    author: bytes  # 32
    seq: int  # >= 1
    entry_id: bytes  # 32
    kind: int  # small uint
    raw: bytes  # the entry's exact bytes (<= 64 KiB), or its tombstone once the body is deleted
    #: For a join: whether its invite proof verified when the node accepted it (None: not known, or
    #: not a join). Kept in the store's control index (``node/STORE.md``), so that computing the
    #: group's state at start-up need not verify it again; not part of the entry (not compared).
    proof: bool | None = field(default=None, compare=False)
