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
_V2_BODY_HDR: Final = _V1_BODY_HDR  # unchanged from format 1
_V2_MESSAGE: Final = 0x10  # kinds below it are control entries
# --- format 3 ---------------------------------------------------------------------------------------
_V3_CONTROL_VAL: Final = struct.Struct(">QB")  # controls: gseq, join proof verdict (0: not known)

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


def _v2_to_v3(txn: lmdb.Transaction[Any], dbs: dict[bytes, Any]) -> None:
    """Format 3 adds ``controls``: the ``arrival`` rows (group, cursor) of the control entries alone,
    each naming its body (``gseq``) and a join's proof verdict, so that a node reads a group's control
    log without walking its messages. A format 2 store recorded no verdicts: every row gets 0 (not
    known; a join's proof is verified when the group's state is computed, as format 2 did). One pass
    over the arrival index, reading each body's kind in place."""
    bodies = txn.cursor(db=dbs[b"bodies"])
    kind_at = _V2_BODY_HDR.size - 4 - 32  # the kind: a u32 before the entry id
    rows: list[tuple[bytes, int]] = []
    for key, gkey in txn.cursor(db=dbs[b"arrival"]):
        if bodies.set_key(gkey) and struct.unpack_from(">I", bodies.value(), kind_at)[0] < _V2_MESSAGE:
            rows.append((bytes(key), _V2_U64.unpack(gkey)[0]))
    for row, gseq in rows:  # written after the walk: no cursor moves under writes
        txn.put(row, _V3_CONTROL_VAL.pack(gseq, 0), db=dbs[b"controls"])


#: version N -> the migration that turns format N into format N + 1.
MIGRATIONS: Final[dict[int, Migration]] = {1: _v1_to_v2, 2: _v2_to_v3}


def migrate(txn: lmdb.Transaction[Any], dbs: dict[bytes, Any], found: int, target: int) -> None:
    """Run every migration from format ``found`` up to ``target`` in ``txn`` (the caller then writes
    ``target`` as the format and commits). ``found`` must be in :data:`MIGRATIONS` and below ``target``."""
    for version in range(found, target):
        MIGRATIONS[version](txn, dbs)
