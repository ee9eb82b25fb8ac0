"""An in-memory implementation of the node core's read interface (:class:`node.core.EntryReader`).

The node core decides from bytes, ``now`` and a reader; this one keeps records in dictionaries, so
the core can be driven directly in tests (explicit ``now``, no disk, no event loop), the way the LMDB
store (``node.store.Store``) serves it in a running node. It answers exactly what the LMDB store
answers for the same appends: heads per (group, author), arrival cursors per group from 1, pages in
arrival order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from holdspace.node.records import StoredEntry
from holdspace.protocol import kinds

DEFAULT_PAGE = 1000


class MemoryReader:
    """Records in memory. ``append`` is the test's (or a simulator's) write path; the core never
    writes. Invariants: one record per (group, author, seq) and per entry id; cursors strictly
    increase within a group in arrival order."""

    def __init__(self) -> None:
        self._by_id: dict[bytes, StoredEntry] = {}
        self._slots: dict[tuple[bytes, bytes, int], StoredEntry] = {}
        self._heads: dict[bytes, dict[bytes, tuple[int, bytes]]] = {}
        self._arrivals: dict[bytes, list[StoredEntry]] = {}
        self.meta: dict[bytes, bytes] = {}  # what the store's meta table holds (fork proofs, cursors...)
        self._bytes: dict[bytes, int] = {}  # group -> bytes of its records (the store's byte counters)
        self._total = 0  # the sum of _bytes, kept as records are added: usage() costs the same for any size
        self.backups: dict[bytes, bytes] = {}  # backup id -> sealed identity backup (spec 14.8)
        self._backup_bytes = 0  # the sum of the backups' sizes

    def append(self, records: Iterable[StoredEntry]) -> list[int]:
        """Store ``records`` in order; returns their cursors. A record already held (same id) is
        kept once and answered with its cursor."""
        cursors: list[int] = []
        for record in records:
            held = self._by_id.get(record.entry_id)
            arrivals = self._arrivals.setdefault(record.group, [])
            if held is not None:
                cursors.append(arrivals.index(held) + 1)
                continue
            if (record.group, record.author, record.seq) in self._slots:
                raise ValueError("a different entry is already stored at that log position")
            self._by_id[record.entry_id] = record
            self._slots[record.group, record.author, record.seq] = record
            heads = self._heads.setdefault(record.group, {})
            if record.author not in heads or heads[record.author][0] < record.seq:
                heads[record.author] = (record.seq, record.entry_id)
            arrivals.append(record)
            cursors.append(len(arrivals))
            self._bytes[record.group] = self._bytes.get(record.group, 0) + len(record.raw)
            self._total += len(record.raw)
        return cursors

    def usage(self, group: bytes) -> tuple[int, int]:
        """(bytes of ``group``'s records, bytes of every record and backup), as ``Store.usage``."""
        return self._bytes.get(group, 0), self._total + self._backup_bytes

    def put_backup(self, backup_id: bytes, data: bytes) -> int:
        """Hold ``data`` as backup ``backup_id``, replacing the one held; returns the size replaced."""
        replaced = len(self.backups.get(backup_id, b""))
        self.backups[backup_id] = data
        self._backup_bytes += len(data) - replaced
        return replaced

    def get_backup(self, backup_id: bytes) -> bytes | None:
        return self.backups.get(backup_id)

    def backup_size(self, backup_id: bytes) -> int:
        return len(self.backups.get(backup_id, b""))

    def get_meta(self, key: bytes) -> bytes | None:
        return self.meta.get(key)

    def head(self, group: bytes, author: bytes) -> tuple[int, bytes] | None:
        return self._heads.get(group, {}).get(author)

    def heads(self, group: bytes) -> dict[bytes, tuple[int, bytes]]:
        return dict(self._heads.get(group, {}))

    def count(self, group: bytes) -> int:
        return len(self._arrivals.get(group, ()))

    def get_at(self, group: bytes, author: bytes, seq: int) -> StoredEntry | None:
        return self._slots.get((group, author, seq))

    def has(self, entry_id: bytes) -> bool:
        return entry_id in self._by_id

    def get(self, entry_id: bytes) -> StoredEntry | None:
        return self._by_id.get(entry_id)

    def iter_group(
        self, group: bytes, after_cursor: int = 0, limit: int = DEFAULT_PAGE
    ) -> list[tuple[int, StoredEntry]]:
        arrivals = self._arrivals.get(group, [])
        start = max(after_cursor, 0)
        return [(start + i + 1, r) for i, r in enumerate(arrivals[start : start + max(limit, 0)])]

    def controls(self, group: bytes) -> list[StoredEntry]:
        """Every control entry of ``group``, in arrival order (``Store.controls``)."""
        return [r for r in self._arrivals.get(group, []) if kinds.is_control(r.kind)]

    def controls_of(self, groups: Sequence[bytes]) -> list[list[StoredEntry]]:
        """:meth:`controls` of each group (``Store.controls_of``)."""
        return [self.controls(group) for group in groups]

    def groups(self) -> list[bytes]:
        return sorted(g for g, a in self._arrivals.items() if a)

    def meta_items(self, prefix: bytes, limit: int = DEFAULT_PAGE) -> list[tuple[bytes, bytes]]:
        """The meta entries whose key starts with ``prefix``, in key order, at most ``limit``."""
        return sorted((k, v) for k, v in self.meta.items() if k.startswith(prefix))[: max(limit, 0)]
