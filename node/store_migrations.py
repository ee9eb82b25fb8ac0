"""Store format migrations: each turns format N into format N + 1 (see ``node/STORE.md`` section 8).

Invariants:

* :func:`migrate` runs inside the write transaction that opens the store and rewrites the
  ``sys/format`` record in it: a store is in one format or the next, never between. A crash or a
  failure midway leaves the old format intact, and the next start runs the migration again.
* Each migration describes the format it reads with its own frozen encodings, never the current
  ones: ``node.store`` may change again, the formats it once wrote do not.
* A migration only adds or rewrites derived data; the entries' bytes, ids, log positions and
  cursors are never touched.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any, Final

import lmdb

# --- format 1 (2026-11 to 2026-12), frozen ---------------------------------------------------------
_V1_BODY_HDR: Final = struct.Struct(">B32s32sQI32s")  # flags, group, author, seq, kind, id; then raw
_V1_GROUP_VAL: Final = struct.Struct(">QQ")  # last cursor, entry count
# --- format 2 ---------------------------------------------------------------------------------------
_V2_GROUP_VAL: Final = struct.Struct(">QQQ")  # last cursor, entry count, bytes of the group's records
_V2_U64: Final = struct.Struct(">Q")  # sys/bytes: the bytes of every group's records

Migration = Callable[["lmdb.Transaction[Any]", dict[bytes, Any]], None]


def _v1_to_v2(txn: lmdb.Transaction[Any], dbs: dict[bytes, Any]) -> None:
    """Format 2 adds to each ``groups`` value the bytes its records hold (the sum of their ``raw``
    lengths, tombstones counted at their own size), and ``sys/bytes``, the sum over every group, so
    a group's size and the node's are read, not scanned."""
    sizes: dict[bytes, int] = {}
    for _gseq, body in txn.cursor(db=dbs[b"bodies"]):
        group = bytes(body[1:33])
        sizes[group] = sizes.get(group, 0) + len(body) - _V1_BODY_HDR.size
    for group, value in list(txn.cursor(db=dbs[b"groups"])):
        last, count = _V1_GROUP_VAL.unpack(value)
        txn.put(bytes(group), _V2_GROUP_VAL.pack(last, count, sizes.get(bytes(group), 0)), db=dbs[b"groups"])
    txn.put(b"bytes", _V2_U64.pack(sum(sizes.values())), db=dbs[b"sys"])


#: version N -> the migration that turns format N into format N + 1.
MIGRATIONS: Final[dict[int, Migration]] = {1: _v1_to_v2}


def migrate(txn: lmdb.Transaction[Any], dbs: dict[bytes, Any], found: int, target: int) -> None:
    """Run every migration from format ``found`` up to ``target`` in ``txn`` (the caller then writes
    ``target`` as the format and commits). ``found`` must be in :data:`MIGRATIONS` and below ``target``."""
    for version in range(found, target):
        MIGRATIONS[version](txn, dbs)
