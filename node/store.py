"""Durable entry store on LMDB (synchronous; no trio in this module).

One LMDB environment per node holds every stored entry and its indexes. The node core has already
parsed, verified and hashed each entry: this module only files opaque, already-encrypted bytes
(``raw``) under the keys the core hands over. It never sees plaintext.

Threading model
    * Writes (``append_batch``, ``put_meta``, ``delete_body``...) are serialised by a lock and meant
      to come from one writer thread (see ``node.store_writer``). Each is ONE LMDB write
      transaction, begun and committed inside the call: an LMDB write transaction is bound to its
      thread.
    * Reads may run from any thread, concurrently with the writer (LMDB is MVCC). Each read call
      opens and closes its own read transaction; nothing returned refers to LMDB memory.
    * Point reads (``get``, ``get_at``, ``id_at``, ``has``, ``count``, ``last_cursor``,
      ``get_meta``, a group's ``heads``) cost a few microseconds and may be called inline from the
      event loop. Scans (``iter_group`` beyond a few hundred entries, ``groups``,
      ``check_integrity``, ``compact_copy``) belong in a worker thread.

On-disk format (pinned; see spec/_drafts/store.md)
    * LMDB engine 0.9.x, selected explicitly with ``lib_version=0``. The lmdb wheel bundles 0.9.x
      and 1.0.x, whose files are mutually unreadable, and an environment variable
      (``LMDB_DEFAULT_LIB_VERSION``) can change the binding's default. 0.9.x is the format of the
      ``liblmdb``/``lmdb-utils`` packages of the common distributions (``mdb_stat``, ``mdb_dump``,
      ``mdb_copy``), so an operator can inspect, dump and back up a store with stock tools; the 1.0
      format brings nothing this store needs, and commit costs were the same for both engines.
    * A ``sys`` database records the store format version; an unknown version is refused
      (``store.bad_version``) instead of being misread.

Durability
    ``sync=True`` and ``metasync=True`` (LMDB's defaults, never relaxed for a node) and no ``writemap``:
    every commit fdatasync()s the data pages, then writes the meta page through an O_DSYNC
    descriptor. When a write method returns, its transaction is on stable storage; a process killed
    at any instant (``kill -9``) reopens on the last committed transaction, and no commit is ever
    half-visible. The simulator alone opens stores with ``durable=False``: its crashes stop a
    node's tasks, not the process, so the operating system still holds every commit and the
    reopened store is the one a real node would reopen after ``kill -9``; it also opens them
    ``exclusive`` (no lock file, a writable map: one file descriptor per store, see :meth:`Store.open`).

Map size
    The map is a sparse virtual reservation (64 GiB by default costs nothing on disk). When a
    transaction does not fit, the store aborts it, doubles the map and runs the transaction again,
    so callers never see ``MapFullError``. Remapping requires that no transaction of this process
    is open: a small gate (shared for transactions, exclusive for the remap) guarantees it. The
    same gate is taken exclusively to abort a write transaction (a rolled-back batch): with
    py-lmdb 3.0.0, such an abort did not return while other threads kept running read
    transactions back to back (see ``_abort_write``). Rollbacks and remaps therefore wait for
    running reads and briefly hold new ones back.
"""

from __future__ import annotations

import contextlib
import os
import struct
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final, TypeVar

import lmdb

from holdspace.node.records import StoredEntry
from holdspace.node.store_migrations import MIGRATIONS
from holdspace.node.store_migrations import migrate as migrate_store
from holdspace.protocol import kinds

__all__ = [
    "FORMAT_VERSION",
    "MAX_RAW_SIZE",
    "STORE_CODES",
    "Store",
    "StoreError",
    "StoredEntry",
    "fsync_dir",
    "validate_entry",
]

#: Store format version written in ``sys/format``. Bump it on any change of key or value encoding,
#: with a migration from the previous one in ``node.store_migrations``.
FORMAT_VERSION: Final = 3
#: Format versions this code reads and writes.
KNOWN_FORMAT_VERSIONS: Final = frozenset({FORMAT_VERSION})
#: Older format versions it migrates from (:meth:`Store.open` with ``migrate=True``).
MIGRATABLE_FORMAT_VERSIONS: Final = frozenset(MIGRATIONS)
#: The LMDB engine (``lib_version``) every store is opened with: 0 = LMDB 0.9.x.
LMDB_LIB_VERSION: Final = 0
ENGINE_TAG: Final = b"lmdb-0.9"

MAX_RAW_SIZE: Final = 1024 * 1024 + 8 * 1024  # a 1 MiB control payload, its header and framing
ID_SIZE: Final = 32
DEFAULT_MAP_SIZE: Final = 64 << 30
DEFAULT_MAX_MAP_SIZE: Final = 16 << 40
DEFAULT_MAX_READERS: Final = 512
DEFAULT_ITER_LIMIT: Final = 1000
MAX_META_KEY: Final = 511  # LMDB 0.9's maximum key size
_U64_MAX: Final = (1 << 64) - 1
_U32_MAX: Final = (1 << 32) - 1

#: code -> one-sentence meaning.
STORE_CODES: dict[str, str] = {
    "store.bad_version": "the store was written in a format version this node does not know",
    "store.needs_migration": "the store is in an older format version that must be migrated before use",
    "store.bad_format": "the directory does not hold a Holdspace store in the pinned LMDB format",
    "store.bad_record": "a record handed to the store has a field of the wrong type, size or range",
    "store.slot_conflict": "another entry id already occupies this (group, author, seq) slot",
    "store.id_conflict": "this entry id is already stored under a different (group, author, seq)",
    "store.closed": "the store or its writer is closed",
    "store.full": "the map cannot grow beyond the configured maximum size",
    "store.io": "the storage engine failed (disk error, disk full, corruption)",
}


class StoreError(Exception):
    """A typed store failure: ``code`` is a key of :data:`STORE_CODES`.

    ``index`` is the position of the offending record in the batch given to
    :meth:`Store.append_batch` when one record is to blame (``store.bad_record``,
    ``store.slot_conflict``, ``store.id_conflict``); the whole batch was then rolled back.
    """

    def __init__(self, code: str, message: str | None = None, *, index: int | None = None) -> None:
        if code not in STORE_CODES:
            raise ValueError(f"unregistered store error code {code!r}")
        self.code = code
        self.message = message or STORE_CODES[code]
        self.index = index
        super().__init__(f"{code}: {self.message}")


# --- key and value encodings (integers big-endian: byte order == numeric order) ------------------
#
#   db        key                                  value
#   bodies    gseq u64                             flags u8 | group 32 | author 32 | seq u64 | kind u32
#                                                  | id 32 | raw
#   ids       id 32                                gseq u64
#   arrival   group 32 | cursor u64                gseq u64
#   slots     group 32 | author 32 | seq u64       gseq u64 | id 32
#   heads     group 32 | author 32                 seq u64 | id 32
#   groups    group 32                             last cursor u64 | entry count u64 | bytes u64
#   controls  group 32 | cursor u64                gseq u64 | proof u8 (format 3)
#   meta      caller's key (1..511 bytes)          caller's value
#   sys       b"format" / b"engine" / b"bytes"     u32 format version / b"lmdb-0.9" / u64 node bytes
#
# ``gseq`` is a store-wide append position (1, 2, 3...; never reused: bodies are never removed,
# only replaced by tombstones). Bodies are keyed by it rather than by id so that every body insert
# is an LMDB append (MDB_APPEND): pages are filled completely, where random hash keys leave them
# half empty. ``cursor`` is the per-group arrival number handed to callers (1, 2, 3... in each
# group; never reused, contiguous because aborted transactions roll the counter back too).
# ``controls`` holds the ``arrival`` rows of control entries (kind below ``kinds.MESSAGE``) only, so
# that a group's control log is read without walking its messages; ``proof`` is a join's invite proof
# verdict when it was accepted (``_PROOF_*``).

_U64 = struct.Struct(">Q")
_BODY_HDR = struct.Struct(">B32s32sQI32s")
_SLOT_VAL = struct.Struct(">Q32s")
_HEAD_VAL = struct.Struct(">Q32s")
_GROUP_VAL = struct.Struct(">QQQ")  # last cursor, count, bytes of the group's records (their raw)
_U32 = struct.Struct(">I")
_FLAG_BODY_DELETED: Final = 0x01
_CONTROL_VAL = struct.Struct(">QB")  # gseq, proof verdict
_PROOF_UNKNOWN: Final = 0  # not a join, or its verdict was not recorded (a store migrated from format 2)
_PROOF_HOLDS: Final = 1
_PROOF_FAILS: Final = 2
_PROOF_CODE: Final = {None: _PROOF_UNKNOWN, True: _PROOF_HOLDS, False: _PROOF_FAILS}
_PROOF_OF: Final = {_PROOF_UNKNOWN: None, _PROOF_HOLDS: True, _PROOF_FAILS: False}

_DB_NAMES: Final = (b"sys", b"meta", b"bodies", b"ids", b"arrival", b"slots", b"heads", b"groups", b"controls")
#: databases a format added: a store of an older format lacks them until its migration fills them
_ADDED_IN: Final = {b"controls": 3}
_SYS_FORMAT: Final = b"format"
_SYS_ENGINE: Final = b"engine"
#: The node's byte total: the sum of every ``groups`` record's bytes, kept in the same transactions.
_SYS_BYTES: Final = b"bytes"
_SYS_BACKUP_BYTES: Final = b"backup_bytes"  # bytes of the identity backups held (spec 14.8)
BACKUP_PREFIX: Final = b"backup:"  # meta: backup:<backup id> -> the sealed backup (spec 14.8)

_Txn = lmdb.Transaction  # read and write transactions are opened with buffers=True (memoryviews)
_T = TypeVar("_T")


def _slot_key(group: bytes, author: bytes, seq: int) -> bytes:
    return group + author + _U64.pack(seq)


def _decode_body(value: bytes | memoryview) -> tuple[StoredEntry, int]:
    """-> (entry, flags)."""
    flags, group, author, seq, kind, entry_id = _BODY_HDR.unpack_from(value)
    return StoredEntry(group, author, seq, entry_id, kind, bytes(value[_BODY_HDR.size :])), flags


def _u64(value: bytes | memoryview | None) -> int:
    """A stored u64 counter; 0 when absent or malformed."""
    return _U64.unpack(value)[0] if value is not None and len(value) == _U64.size else 0


def _maybe_bytes(value: bytes | memoryview | None) -> bytes | None:
    return None if value is None else bytes(value)


def _check_id(name: str, value: object, index: int | None = None) -> None:
    if not isinstance(value, bytes) or len(value) != ID_SIZE:
        raise StoreError("store.bad_record", f"{name} must be {ID_SIZE} bytes", index=index)


def validate_entry(entry: object, index: int = 0) -> None:
    """Raise ``store.bad_record`` (with ``index``) unless ``entry`` is a well-formed StoredEntry."""
    if not isinstance(entry, StoredEntry):
        raise StoreError("store.bad_record", "not a StoredEntry", index=index)
    _check_id("group", entry.group, index)
    _check_id("author", entry.author, index)
    _check_id("entry_id", entry.entry_id, index)
    if type(entry.seq) is not int or not 1 <= entry.seq <= _U64_MAX:
        raise StoreError("store.bad_record", "seq must be an integer in 1..2**64-1", index=index)
    if type(entry.kind) is not int or not 0 <= entry.kind <= _U32_MAX:
        raise StoreError("store.bad_record", "kind must be an integer in 0..2**32-1", index=index)
    if not isinstance(entry.raw, bytes) or len(entry.raw) > MAX_RAW_SIZE:
        raise StoreError("store.bad_record", f"raw must be bytes of at most {MAX_RAW_SIZE}", index=index)
    if entry.proof is not None and (type(entry.proof) is not bool or entry.kind != kinds.JOIN):
        raise StoreError("store.bad_record", "proof must be None, or a boolean for a join", index=index)


def _check_meta_key(key: object) -> None:
    if not isinstance(key, bytes) or not 1 <= len(key) <= MAX_META_KEY:
        raise StoreError("store.bad_record", f"meta key must be 1..{MAX_META_KEY} bytes")


class _MapGate:
    """Shared for transactions, exclusive for remapping (``set_mapsize``) and closing.

    LMDB requires that no transaction of the process be open while the map is replaced (py-lmdb
    would otherwise invalidate and abort them under the feet of other threads). A pending exclusive
    request blocks new shared entries, so a remap cannot be starved by a stream of readers.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._users = 0
        self._exclusive = False
        self.closed = False

    def enter(self) -> None:
        with self._cond:
            while self._exclusive:
                self._cond.wait()
            if self.closed:
                raise StoreError("store.closed")
            self._users += 1

    def leave(self) -> None:
        with self._cond:
            self._users -= 1
            if self._users == 0 and self._exclusive:
                self._cond.notify_all()

    def acquire_exclusive(self) -> None:
        with self._cond:
            while self._exclusive:
                self._cond.wait()
            self._exclusive = True
            while self._users:
                self._cond.wait()

    def release_exclusive(self) -> None:
        with self._cond:
            self._exclusive = False
            self._cond.notify_all()


def fsync_dir(path: Path) -> None:
    """Make the entries of directory ``path`` (new, renamed or removed files) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Store:
    """The node's entry store. Create with :meth:`Store.open`; thread-safe as described above."""

    def __init__(self, env: lmdb.Environment, dbs: dict[bytes, Any], path: Path, max_map_size: int) -> None:
        self._env = env
        self._bodies = dbs[b"bodies"]
        self._ids = dbs[b"ids"]
        self._arrival = dbs[b"arrival"]
        self._slots = dbs[b"slots"]
        self._heads = dbs[b"heads"]
        self._groups = dbs[b"groups"]
        self._controls = dbs[b"controls"]
        self._meta = dbs[b"meta"]
        self._sys = dbs[b"sys"]
        self._all_dbs = list(dbs.values())
        self._gate = _MapGate()
        self._write_lock = threading.Lock()
        self._max_map_size = max_map_size
        self.path = path
        #: Number of times the map was grown since open.
        self.map_growths = 0
        #: Number of write transactions committed since open.
        self.commits = 0
        #: The format version the store was migrated from when it was opened, if it was.
        self.migrated_from: int | None = None

    # --- opening and closing -------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        map_size: int = DEFAULT_MAP_SIZE,
        max_map_size: int = DEFAULT_MAX_MAP_SIZE,
        max_readers: int = DEFAULT_MAX_READERS,
        durable: bool = True,
        migrate: bool = False,
        exclusive: bool = False,
    ) -> Store:
        """Open (creating if missing) the store in directory ``path``.

        ``map_size`` is the initial virtual reservation; a store already larger than that is opened
        at its own size, and the map doubles on demand up to ``max_map_size``. ``max_readers``
        bounds the concurrent read transactions of all processes (LMDB's default is 126; it is
        fixed by the first process that opens the environment). ``durable=False`` skips the
        fdatasync of each commit (simulations only, see Durability). A store in an older format is
        migrated when ``migrate`` is true (in the opening transaction: all or nothing, see
        ``node.store_migrations``) and refused with ``store.needs_migration`` otherwise, so that no
        tool migrates a store under a running node of the previous version. ``exclusive=True``
        (simulations only, with ``durable=False``): this process alone opens the store, from one
        thread, and no read transaction is ever open across a commit (every read runs inside one
        synchronous call); the store then keeps no lock file and writes through its map, so it holds
        one file descriptor instead of three (a simulation of 10,000 nodes fits a limit of 20,000).
        A store opened with ``durable=False`` makes no directory entry durable either (no fsync at
        all). Raises
        :class:`StoreError` ``store.bad_format``, ``store.bad_version`` (unknown or newer),
        ``store.needs_migration`` or ``store.io``.
        """
        if exclusive and durable:
            raise ValueError("an exclusive store is a simulation's: it must be opened with durable=False")
        root = Path(path)
        created_dir = not root.exists()
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        new_file = not (root / "data.mdb").exists()
        try:
            env = lmdb.open(
                str(root),
                map_size=map_size,
                subdir=True,
                readonly=False,
                metasync=durable,
                sync=durable,
                map_async=False,
                # A writable map would let a stray write in the process corrupt the file (a node's
                # store never has one); an exclusive (simulated) store has one: no O_DSYNC descriptor.
                writemap=exclusive,
                # Zero-fill never-written parts of new pages, so that no stale heap bytes reach the file.
                meminit=True,
                # Readahead kept on: with a cold page cache it measured 2x faster for point reads and
                # 15x for group scans than MDB_NORDAHEAD (which only lowered the reported RSS).
                readahead=True,
                max_readers=max_readers,
                max_dbs=len(_DB_NAMES),
                max_spare_txns=1,
                lock=not exclusive,  # exclusive: one thread, no transaction across a commit (above)
                lib_version=LMDB_LIB_VERSION,
                mode=0o600,
            )
        except lmdb.InvalidError as exc:
            raise StoreError("store.bad_format", _describe_foreign(root)) from exc
        except lmdb.Error as exc:
            raise StoreError("store.io", f"cannot open LMDB environment: {exc}") from exc
        try:
            # Free the reader slots of processes that died holding one (kill -9).
            env.reader_check()
            dbs, migrated_from = cls._open_dbs(env, migrate)
        except lmdb.Error as exc:
            env.close()
            raise StoreError("store.io", f"cannot open store databases: {exc}") from exc
        except BaseException:
            env.close()
            raise
        if new_file and durable:
            # Make the new files' directory entries durable too (power loss right after creation).
            fsync_dir(root)
            if created_dir:
                fsync_dir(root.parent)
        store = cls(env, dbs, root, max_map_size)
        store.migrated_from = migrated_from
        return store

    @staticmethod
    def _open_dbs(env: lmdb.Environment, migrate: bool) -> tuple[dict[bytes, Any], int | None]:
        """Open (or create) the databases in one write transaction; check the format version, and
        migrate an older one if ``migrate``. Returns the databases and the version migrated from."""
        migrated_from = None
        txn = env.begin(write=True)
        try:
            names = {bytes(k) for k in txn.cursor().iternext(values=False)}
            if not names:
                dbs = {name: env.open_db(name, txn=txn, create=True) for name in _DB_NAMES}
                txn.put(_SYS_FORMAT, _U32.pack(FORMAT_VERSION), db=dbs[b"sys"])
                txn.put(_SYS_ENGINE, ENGINE_TAG, db=dbs[b"sys"])
                txn.put(_SYS_BYTES, _U64.pack(0), db=dbs[b"sys"])
            else:
                if b"sys" not in names:
                    raise StoreError("store.bad_format", "an LMDB environment without a Holdspace 'sys' db")
                sys_db = env.open_db(b"sys", txn=txn, create=False)
                raw_version = txn.get(_SYS_FORMAT, db=sys_db)
                if raw_version is None or len(raw_version) != _U32.size:
                    raise StoreError("store.bad_format", "missing or malformed format record")
                (version,) = _U32.unpack(raw_version)
                if version not in KNOWN_FORMAT_VERSIONS | MIGRATABLE_FORMAT_VERSIONS:
                    newer = "newer than" if version > FORMAT_VERSION else "unknown to"
                    raise StoreError(
                        "store.bad_version",
                        f"store format version {version} is {newer} this version of Holdspace (it reads "
                        f"format {FORMAT_VERSION} and migrates {sorted(MIGRATABLE_FORMAT_VERSIONS)})",
                    )
                if version != FORMAT_VERSION and not migrate:
                    raise StoreError(
                        "store.needs_migration",
                        f"store format version {version} must be migrated to format {FORMAT_VERSION} first",
                    )
                added = {n for n in _DB_NAMES if _ADDED_IN.get(n, 0) > version}  # the migration fills them
                missing = [n.decode() for n in _DB_NAMES if n not in names and n not in added]
                if missing:
                    raise StoreError("store.bad_format", f"missing databases: {missing}")
                dbs = {name: env.open_db(name, txn=txn, create=name in added) for name in _DB_NAMES}
                if version != FORMAT_VERSION:
                    migrate_store(txn, dbs, version, FORMAT_VERSION)
                    txn.put(_SYS_FORMAT, _U32.pack(FORMAT_VERSION), db=dbs[b"sys"])
                    migrated_from = version
            txn.commit()
        except BaseException:
            txn.abort()
            raise
        return dbs, migrated_from

    def close(self) -> None:
        """Close the environment after running transactions end; later calls raise ``store.closed``."""
        gate = self._gate
        gate.acquire_exclusive()
        try:
            if not gate.closed:
                gate.closed = True
                self._env.close()
        finally:
            gate.release_exclusive()

    @property
    def closed(self) -> bool:
        return self._gate.closed

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transaction plumbing --------------------------------------------------------------------

    def _read(self, fn: Callable[[_Txn[memoryview]], _T]) -> _T:
        while True:
            self._gate.enter()
            try:
                txn = self._env.begin(buffers=True)
                try:
                    return fn(txn)
                finally:
                    txn.abort()
            except lmdb.MapResizedError:
                pass  # another process grew the map: adopt its size (below), then retry
            except lmdb.Error as exc:
                raise StoreError("store.io", str(exc)) from exc
            finally:
                self._gate.leave()
            self._adopt_map_size()

    def _write(self, fn: Callable[[_Txn[memoryview]], _T]) -> _T:
        """Run ``fn`` in one write transaction and commit it durably; grow the map and rerun on full.

        ``fn`` must have no effect outside the transaction: it may run more than once.
        """
        with self._write_lock:
            while True:
                self._gate.enter()
                try:
                    txn = self._env.begin(write=True, buffers=True)
                except lmdb.MapResizedError:
                    self._gate.leave()
                    self._adopt_map_size()  # another process grew the map
                    continue
                except lmdb.Error as exc:
                    self._gate.leave()
                    raise StoreError("store.io", str(exc)) from exc
                except BaseException:
                    self._gate.leave()
                    raise
                try:
                    result = fn(txn)
                    txn.commit()
                except BaseException as exc:
                    self._gate.leave()
                    full = isinstance(exc, lmdb.MapFullError)
                    self._abort_write(txn, grow=full)
                    if full:
                        continue
                    if isinstance(exc, lmdb.Error):
                        raise StoreError("store.io", str(exc)) from exc
                    raise
                self._gate.leave()
                self.commits += 1
                return result

    def _abort_write(self, txn: _Txn[memoryview], *, grow: bool) -> None:
        """Abort a write transaction with no other transaction running, then grow the map if asked.

        Observed with py-lmdb 3.0.0: ``abort()`` of a write transaction that has written stays
        blocked inside the binding (waiting on an internal condition) for as long as other threads
        keep running read transactions back to back; four reader threads kept it there
        indefinitely, one did not. Taking the gate exclusively first lets the readers drain.
        """
        self._gate.acquire_exclusive()
        try:
            with contextlib.suppress(lmdb.Error):  # a failed commit has already ended the txn
                txn.abort()
            if grow:
                if self._gate.closed:
                    raise StoreError("store.closed")
                current = self._env.info()["map_size"]
                if current >= self._max_map_size:
                    raise StoreError("store.full", f"the map is at its maximum of {self._max_map_size} bytes")
                self._env.set_mapsize(min(current * 2, self._max_map_size))
                self.map_growths += 1
        finally:
            self._gate.release_exclusive()

    def _adopt_map_size(self) -> None:
        self._gate.acquire_exclusive()
        try:
            if self._gate.closed:
                raise StoreError("store.closed")
            self._env.set_mapsize(0)
        finally:
            self._gate.release_exclusive()

    # --- writes ----------------------------------------------------------------------------------

    def append_batch(self, entries: Sequence[StoredEntry]) -> list[int | None]:
        """Store ``entries`` in ONE transaction, durably committed on return; return their cursors.

        The result holds each entry's arrival cursor in its group, or ``None`` for an entry whose
        id is already stored (before, or earlier in this batch): duplicates are not errors.
        If a record is malformed, or would take a (group, author, seq) slot that holds another id,
        or reuses a stored id at another position, nothing of the batch is written and
        :class:`StoreError` names the record by ``.index``. Log continuity (seq gaps, prev links) is
        the caller's business and is not checked here.
        """
        for i, entry in enumerate(entries):
            validate_entry(entry, i)
        if not entries:
            return []
        return self._write(lambda txn: self._append_in(txn, entries))

    def _append_in(self, txn: _Txn[memoryview], entries: Sequence[StoredEntry]) -> list[int | None]:
        ids_db, slots_db, bodies_db, arrival_db = self._ids, self._slots, self._bodies, self._arrival
        controls_db = self._controls
        last = txn.cursor(db=bodies_db)
        gseq = _U64.unpack(last.key())[0] if last.last() else 0
        groups: dict[bytes, list[int]] = {}  # group -> [last cursor, count, bytes]
        heads: dict[bytes, tuple[int, bytes]] = {}  # group+author -> (seq, id)
        dirty_heads: set[bytes] = set()
        results: list[int | None] = []
        added = 0  # bytes stored by this batch
        for i, e in enumerate(entries):
            gkey = _U64.pack(gseq + 1)
            if not txn.put(e.entry_id, gkey, overwrite=False, db=ids_db):
                self._check_same_position(txn, e, i)
                results.append(None)
                continue
            if not txn.put(_slot_key(e.group, e.author, e.seq), gkey + e.entry_id, overwrite=False, db=slots_db):
                raise StoreError(
                    "store.slot_conflict",
                    f"seq {e.seq} of author {e.author.hex()} in group {e.group.hex()} holds another entry",
                    index=i,
                )
            gseq += 1
            body = _BODY_HDR.pack(0, e.group, e.author, e.seq, e.kind, e.entry_id)
            txn.put(gkey, body + e.raw, append=True, db=bodies_db)
            added += len(e.raw)
            state = groups.get(e.group)
            if state is None:
                packed = txn.get(e.group, db=self._groups)
                state = list(_GROUP_VAL.unpack(packed)) if packed is not None else [0, 0, 0]
                groups[e.group] = state
            state[0] += 1
            state[1] += 1
            state[2] += len(e.raw)
            row = e.group + _U64.pack(state[0])
            txn.put(row, gkey, db=arrival_db)
            if e.kind < kinds.MESSAGE:  # a control entry: its row in the group's control index too
                txn.put(row, _CONTROL_VAL.pack(gseq, _PROOF_CODE[e.proof]), db=controls_db)
            head_key = e.group + e.author
            head = heads.get(head_key)
            if head is None:
                packed = txn.get(head_key, db=self._heads)
                head = _HEAD_VAL.unpack(packed) if packed is not None else (0, b"")
                heads[head_key] = head
            if e.seq > head[0]:
                heads[head_key] = (e.seq, e.entry_id)
                dirty_heads.add(head_key)
            results.append(state[0])
        for group, state in groups.items():
            txn.put(group, _GROUP_VAL.pack(*state), db=self._groups)
        for head_key in dirty_heads:
            txn.put(head_key, _HEAD_VAL.pack(*heads[head_key]), db=self._heads)
        self._add_node_bytes(txn, added)
        return results

    def _add_node_bytes(self, txn: _Txn[memoryview], change: int) -> None:
        """Add ``change`` (may be negative) to the node's byte total, in ``txn``: the caller changed
        the groups records' bytes by as much in the same transaction."""
        if change:  # never below 0, even if damaged (``check_integrity`` reports a drift)
            total = max(_u64(txn.get(_SYS_BYTES, db=self._sys)) + change, 0)
            txn.put(_SYS_BYTES, _U64.pack(total), db=self._sys)

    def _check_same_position(self, txn: _Txn[memoryview], e: StoredEntry, index: int) -> None:
        """``e.entry_id`` is already stored: it must be stored at the same (group, author, seq)."""
        body = self._body_by_id(txn, e.entry_id)
        assert body is not None
        _, group, author, seq, _, _ = _BODY_HDR.unpack_from(body)
        if (group, author, seq) != (e.group, e.author, e.seq):
            raise StoreError(
                "store.id_conflict",
                f"id {e.entry_id.hex()} is stored at another (group, author, seq)",
                index=index,
            )

    def delete_body(self, entry_id: bytes, tombstone: bytes) -> bool:
        """Replace an entry's stored bytes by ``tombstone``, durably; indexes stay. False if unknown.

        The ciphertext leaves the live tree at once, but LMDB pages are copy-on-write: the old bytes
        stay in a free page of ``data.mdb`` until LMDB reuses that page. Make backups with
        :meth:`compact_copy`, which copies live pages only.
        """
        return self.delete_bodies([(entry_id, tombstone)]) == 1

    def delete_bodies(self, items: Sequence[tuple[bytes, bytes]]) -> int:
        """:meth:`delete_body` for many ``(entry_id, tombstone)`` pairs in one durable transaction;
        returns how many were found. All or nothing."""
        for entry_id, tombstone in items:
            _check_id("entry_id", entry_id)
            if not isinstance(tombstone, bytes) or len(tombstone) > MAX_RAW_SIZE:
                raise StoreError("store.bad_record", f"tombstone must be bytes of at most {MAX_RAW_SIZE}")

        def op(txn: _Txn[memoryview]) -> int:
            found = 0
            shrunk: dict[bytes, int] = {}  # group -> bytes its records lost
            for entry_id, tombstone in items:
                found_at = txn.get(entry_id, db=self._ids)
                if found_at is None:
                    continue
                gkey = bytes(found_at)
                body = txn.get(gkey, db=self._bodies)
                if body is None:  # pragma: no cover - corruption
                    raise StoreError("store.io", f"id index names a missing body for {entry_id.hex()}")
                flags, *rest = _BODY_HDR.unpack_from(body)
                group = rest[0]
                shrunk[group] = shrunk.get(group, 0) + len(body) - _BODY_HDR.size - len(tombstone)
                txn.put(gkey, _BODY_HDR.pack(flags | _FLAG_BODY_DELETED, *rest) + tombstone, db=self._bodies)
                found += 1
            for group, lost in shrunk.items():
                packed = txn.get(group, db=self._groups)
                if packed is None:  # pragma: no cover - corruption
                    raise StoreError("store.io", f"a body names group {group.hex()}, which the groups index lacks")
                last, count, size = _GROUP_VAL.unpack(packed)
                txn.put(group, _GROUP_VAL.pack(last, count, size - lost), db=self._groups)
            self._add_node_bytes(txn, -sum(shrunk.values()))
            return found

        return self._write(op)

    def put_meta(self, key: bytes, value: bytes) -> None:
        """Durably set a small metadata blob (node settings, cached group state keyed by group id)."""
        _check_meta_key(key)
        if not isinstance(value, bytes):
            raise StoreError("store.bad_record", "meta value must be bytes")
        self._write(lambda txn: txn.put(key, value, db=self._meta))

    def delete_meta(self, key: bytes) -> bool:
        """Durably remove a metadata key; False if it was absent."""
        _check_meta_key(key)
        return self._write(lambda txn: txn.delete(key, db=self._meta))

    def put_backup(self, backup_id: bytes, data: bytes) -> int:
        """Durably store ``data`` as the identity backup ``backup_id`` (spec 14.8), replacing the one
        held in the same transaction (atomically: a reader sees the old or the new, never neither).
        The backup bytes counter changes by the difference, in that transaction. Returns the size of
        the backup replaced (0 if none)."""
        _check_id("backup_id", backup_id)
        if not isinstance(data, bytes) or len(data) > MAX_RAW_SIZE:
            raise StoreError("store.bad_record", f"a backup must be bytes of at most {MAX_RAW_SIZE}")
        key = BACKUP_PREFIX + backup_id

        def op(txn: _Txn[memoryview]) -> int:
            old = txn.get(key, db=self._meta)
            replaced = 0 if old is None else len(old)
            txn.put(key, data, db=self._meta)
            total = max(_u64(txn.get(_SYS_BACKUP_BYTES, db=self._sys)) + len(data) - replaced, 0)
            txn.put(_SYS_BACKUP_BYTES, _U64.pack(total), db=self._sys)
            return replaced

        return self._write(op)

    def get_backup(self, backup_id: bytes) -> bytes | None:
        """The identity backup ``backup_id``, or None."""
        return self.get_meta(BACKUP_PREFIX + backup_id)

    def backup_size(self, backup_id: bytes) -> int:
        """The size of the backup held under ``backup_id`` (0 if none)."""
        held = self.get_backup(backup_id)
        return 0 if held is None else len(held)

    # --- reads -----------------------------------------------------------------------------------

    def _body_by_id(self, txn: _Txn[memoryview], entry_id: bytes) -> memoryview | None:
        gkey = txn.get(entry_id, db=self._ids)
        if gkey is None:
            return None
        body = txn.get(gkey, db=self._bodies)
        if body is None:  # pragma: no cover - corruption
            raise StoreError("store.io", f"id index names a missing body for {bytes(entry_id).hex()}")
        return body

    def get(self, entry_id: bytes) -> StoredEntry | None:
        def op(txn: _Txn[memoryview]) -> StoredEntry | None:
            body = self._body_by_id(txn, entry_id)
            return None if body is None else _decode_body(body)[0]

        return self._read(op)

    def has(self, entry_id: bytes) -> bool:
        return self._read(lambda txn: txn.get(entry_id, db=self._ids) is not None)

    def body_deleted(self, entry_id: bytes) -> bool:
        """True if the entry is stored and its body was replaced by a tombstone."""

        def op(txn: _Txn[memoryview]) -> bool:
            body = self._body_by_id(txn, entry_id)
            return body is not None and bool(body[0] & _FLAG_BODY_DELETED)

        return self._read(op)

    def get_at(self, group: bytes, author: bytes, seq: int) -> StoredEntry | None:
        """The entry at position ``seq`` of ``author``'s log in ``group``, if stored."""
        if not 1 <= seq <= _U64_MAX:
            return None

        def op(txn: _Txn[memoryview]) -> StoredEntry | None:
            slot = txn.get(_slot_key(group, author, seq), db=self._slots)
            if slot is None:
                return None
            body = txn.get(slot[:8], db=self._bodies)
            if body is None:  # pragma: no cover - corruption
                raise StoreError("store.io", "slot index names a missing body")
            return _decode_body(body)[0]

        return self._read(op)

    def id_at(self, group: bytes, author: bytes, seq: int) -> bytes | None:
        """The id stored at that log position, without reading the body (for fork checks)."""
        if not 1 <= seq <= _U64_MAX:
            return None
        slot = self._read(lambda txn: _maybe_bytes(txn.get(_slot_key(group, author, seq), db=self._slots)))
        return None if slot is None else slot[8:]

    def head(self, group: bytes, author: bytes) -> tuple[int, bytes] | None:
        """(highest stored seq, its entry id) of one author's log in ``group``, or None."""

        def op(txn: _Txn[memoryview]) -> tuple[int, bytes] | None:
            value = txn.get(group + author, db=self._heads)
            if value is None:
                return None
            seq, entry_id = _HEAD_VAL.unpack(value)
            return seq, bytes(entry_id)

        return self._read(op)

    def heads(self, group: bytes) -> dict[bytes, tuple[int, bytes]]:
        """author -> (highest stored seq, its entry id), for every author with entries in ``group``."""

        def op(txn: _Txn[memoryview]) -> dict[bytes, tuple[int, bytes]]:
            out: dict[bytes, tuple[int, bytes]] = {}
            cur = txn.cursor(db=self._heads)
            if not cur.set_range(group):
                return out
            for key, value in cur:
                if key[:ID_SIZE] != group:
                    break
                seq, entry_id = _HEAD_VAL.unpack(value)
                out[bytes(key[ID_SIZE:])] = (seq, entry_id)
            return out

        return self._read(op)

    def count(self, group: bytes) -> int:
        """Number of entries stored in ``group``."""
        value = self._read(lambda txn: _maybe_bytes(txn.get(group, db=self._groups)))
        return 0 if value is None else int(_GROUP_VAL.unpack(value)[1])

    def last_cursor(self, group: bytes) -> int:
        """The highest arrival cursor given out in ``group`` (0 if none)."""
        value = self._read(lambda txn: _maybe_bytes(txn.get(group, db=self._groups)))
        return 0 if value is None else int(_GROUP_VAL.unpack(value)[0])

    def groups(self) -> list[bytes]:
        """Every group with at least one stored entry, in byte order."""
        return self._read(lambda txn: [bytes(k) for k in txn.cursor(db=self._groups).iternext(values=False)])

    def _arrivals(self, txn: _Txn[memoryview], group: bytes, after_cursor: int) -> Iterator[tuple[int, memoryview]]:
        """(cursor, body in place) of each entry of ``group`` after ``after_cursor``, in arrival order,
        inside ``txn`` (a body is valid until the cursor moves on)."""
        cur = txn.cursor(db=self._arrival)
        if not cur.set_range(group + _U64.pack(max(after_cursor, 0) + 1)):
            return
        bodies = txn.cursor(db=self._bodies)
        for key, gkey in cur:
            if key[:ID_SIZE] != group:
                return
            if not bodies.set_key(gkey):  # pragma: no cover - corruption
                raise StoreError("store.io", "arrival index names a missing body")
            yield _U64.unpack_from(key, ID_SIZE)[0], bodies.value()

    def iter_group(
        self, group: bytes, after_cursor: int = 0, limit: int = DEFAULT_ITER_LIMIT
    ) -> list[tuple[int, StoredEntry]]:
        """Up to ``limit`` (cursor, entry) of ``group`` with cursor > ``after_cursor``, in arrival order.

        Page through a group by passing the last cursor received as the next ``after_cursor``.
        """
        if limit <= 0 or after_cursor >= _U64_MAX:
            return []

        def op(txn: _Txn[memoryview]) -> list[tuple[int, StoredEntry]]:
            out: list[tuple[int, StoredEntry]] = []
            for cursor, body in self._arrivals(txn, group, after_cursor):
                out.append((cursor, _decode_body(body)[0]))
                if len(out) >= limit:
                    break
            return out

        return self._read(op)

    def controls(self, group: bytes) -> list[StoredEntry]:
        """Every control entry of ``group`` (kind below ``kinds.MESSAGE``), in arrival order, each with
        its join proof verdict (``StoredEntry.proof``), read in one snapshot from the group's control
        index: what a node needs of a group to compute its state at start-up, at a cost that grows
        with the control entries only, not with the messages (never read)."""

        return self._read(lambda txn: self._controls_in(txn, group))

    def controls_of(self, groups: Sequence[bytes]) -> list[list[StoredEntry]]:
        """:meth:`controls` of each of ``groups``, all read in one snapshot (what start-up reads, a
        page of groups at a time: one read transaction for many groups)."""
        return self._read(lambda txn: [self._controls_in(txn, group) for group in groups])

    def _controls_in(self, txn: _Txn[memoryview], group: bytes) -> list[StoredEntry]:
        out: list[StoredEntry] = []
        cur = txn.cursor(db=self._controls)
        if cur.set_range(group):
            bodies = txn.cursor(db=self._bodies)
            for key, value in cur:
                if key[:ID_SIZE] != group:
                    break
                gseq, proof = _CONTROL_VAL.unpack(value)
                if not bodies.set_key(_U64.pack(gseq)):  # pragma: no cover - corruption
                    raise StoreError("store.io", "control index names a missing body")
                body = bodies.value()
                _, b_group, author, seq, kind, entry_id = _BODY_HDR.unpack_from(body)
                raw = bytes(body[_BODY_HDR.size :])
                out.append(StoredEntry(b_group, author, seq, entry_id, kind, raw, _PROOF_OF.get(proof)))
        return out

    def get_meta(self, key: bytes) -> bytes | None:
        return self._read(lambda txn: _maybe_bytes(txn.get(key, db=self._meta)))

    def usage(self, group: bytes) -> tuple[int, int]:
        """(bytes stored in ``group``, bytes stored in the node): the ``raw`` bytes of every entry, as
        kept now (a deleted entry counts its tombstone), and for the node also the identity backups it
        holds (spec 14.8). The group's record and the node's totals, read in one snapshot: O(1)."""

        def op(txn: _Txn[memoryview]) -> tuple[int, int]:
            packed = txn.get(group, db=self._groups)
            size = 0 if packed is None else int(_GROUP_VAL.unpack(packed)[2])
            node = _u64(txn.get(_SYS_BYTES, db=self._sys)) + _u64(txn.get(_SYS_BACKUP_BYTES, db=self._sys))
            return size, node

        return self._read(op)

    def meta_items(self, prefix: bytes, limit: int = DEFAULT_ITER_LIMIT) -> list[tuple[bytes, bytes]]:
        """Up to ``limit`` metadata (key, value) pairs whose key starts with ``prefix``, in key order."""

        def op(txn: _Txn[memoryview]) -> list[tuple[bytes, bytes]]:
            out: list[tuple[bytes, bytes]] = []
            cur = txn.cursor(db=self._meta)
            if not cur.set_range(prefix):
                return out
            for key, value in cur:
                if bytes(key[: len(prefix)]) != prefix or len(out) >= limit:
                    break
                out.append((bytes(key), bytes(value)))
            return out

        return self._read(op)

    # --- maintenance -----------------------------------------------------------------------------

    def drop_group(self, group: bytes, meta_prefixes: Sequence[bytes] = ()) -> int:
        """Delete every entry of ``group``, its indexes and its record (its bytes leave the node's
        total), and the meta keys that start with one of ``meta_prefixes`` and hold the group id after
        it, in ONE durable transaction; return how many entries were deleted. The freed pages stay in
        ``data.mdb`` until reused (:meth:`compact_copy` leaves them out). Meant for a node that is not
        running: a running node keeps what it read of the group in memory."""
        _check_id("group", group)

        def op(txn: _Txn[memoryview]) -> int:
            deleted = 0
            arrival = txn.cursor(db=self._arrival)
            rows: list[bytes] = []
            if arrival.set_range(group):
                for row_key, gkey in arrival:
                    if bytes(row_key[:ID_SIZE]) != group:
                        break
                    rows.append(bytes(row_key))
                    body = txn.get(gkey, db=self._bodies)
                    if body is not None:
                        _, _, author, seq, _, entry_id = _BODY_HDR.unpack_from(body)
                        txn.delete(bytes(entry_id), db=self._ids)
                        txn.delete(_slot_key(group, bytes(author), seq), db=self._slots)
                        txn.delete(bytes(gkey), db=self._bodies)
                        deleted += 1
            for row in rows:
                txn.delete(row, db=self._arrival)
                txn.delete(row, db=self._controls)
            heads = txn.cursor(db=self._heads)
            head_keys: list[bytes] = []
            if heads.set_range(group):
                for head_key in heads.iternext(values=False):
                    if bytes(head_key[:ID_SIZE]) != group:
                        break
                    head_keys.append(bytes(head_key))
            for head in head_keys:
                txn.delete(head, db=self._heads)
            packed = txn.get(group, db=self._groups)
            if packed is not None:
                self._add_node_bytes(txn, -int(_GROUP_VAL.unpack(packed)[2]))
                txn.delete(group, db=self._groups)
            doomed: list[bytes] = []
            meta = txn.cursor(db=self._meta)
            for prefix in meta_prefixes:
                if meta.set_range(prefix):
                    for meta_key in meta.iternext(values=False):
                        name = bytes(meta_key)
                        if not name.startswith(prefix):
                            break
                        if group in name[len(prefix) :]:
                            doomed.append(name)
            for name in doomed:
                txn.delete(name, db=self._meta)
            return deleted

        return self._write(op)

    def compact_copy(self, dest_path: str | os.PathLike[str]) -> None:
        """Write a compacted, consistent copy of the store into ``dest_path`` (created; must be empty).

        Only pages reachable from the current snapshot are copied; free pages, which may still hold
        bytes of deleted bodies, are left behind. Writers may continue meanwhile (a map growth
        waits for the copy to finish). Use it for backups.
        """
        dest = Path(dest_path)
        dest.mkdir(mode=0o700, parents=True, exist_ok=True)
        if any(dest.iterdir()):
            raise StoreError("store.io", f"copy destination {dest} is not empty")
        self._gate.enter()
        try:
            self._env.copy(str(dest), compact=True)
        except lmdb.Error as exc:
            raise StoreError("store.io", str(exc)) from exc
        finally:
            self._gate.leave()
        with open(dest / "data.mdb", "rb") as copied:
            os.fsync(copied.fileno())
        fsync_dir(dest)

    def info(self) -> dict[str, int]:
        """Figures for operators and tests: map size, pages used, page size, entries, readers.

        ``last_pgno + 1`` pages are in use in the file; ``live_pages`` of them hold the current data
        (every tree's pages and the two meta pages); the rest are free pages, which later writes
        reuse (and which may still hold deleted bytes, see ``compact_copy``)."""
        self._gate.enter()
        try:
            info = self._env.info()
            stat = self._env.stat()
            with self._env.begin() as txn:
                entries = txn.stat(self._ids)["entries"]
                live = _META_PAGES + _pages(stat) + sum(_pages(txn.stat(db)) for db in self._all_dbs)
        finally:
            self._gate.leave()
        return {
            "map_size": info["map_size"],
            "last_pgno": info["last_pgno"],
            "live_pages": live,
            "page_size": stat["psize"],
            "entries": entries,
            "num_readers": info["num_readers"],
            "max_readers": info["max_readers"],
            "map_growths": self.map_growths,
        }

    def check_integrity(self) -> list[str]:
        """Cross-check every index against the bodies; return the problems found (empty if sound).

        Checks: every body is reachable from its id, its log slot and its arrival cursor; index
        sizes agree; each author's head is its highest stored seq; each group's cursors are exactly
        1..last and its count and byte size match its records; the node's byte total is the sum of
        its records' bytes; the control index holds exactly the arrival rows of control entries,
        naming the same bodies, with a proof verdict that is known only for joins. Reads the whole store in one
        snapshot: keep it off the event loop.
        """

        def op(txn: _Txn[memoryview]) -> list[str]:
            problems: list[str] = []
            cursors: dict[bytes, list[int]] = {}
            max_seq: dict[bytes, tuple[int, bytes]] = {}
            by_gseq: dict[int, bytes] = {}  # gseq -> group, for the arrival check
            kind_of: dict[int, int] = {}  # gseq -> kind, for the control index check
            controls: dict[bytes, int] = {}  # the control index expected: arrival row -> gseq
            sizes_of: dict[bytes, int] = {}  # group -> bytes of its records
            n_bodies = 0
            for gkey, value in txn.cursor(db=self._bodies):
                n_bodies += 1
                _, group, author, seq, kind, entry_id = _BODY_HDR.unpack_from(value)
                kind_of[_U64.unpack(gkey)[0]] = kind
                if txn.get(entry_id, db=self._ids) != gkey:
                    problems.append(f"entry {entry_id.hex()}: id index does not point to its body")
                if txn.get(_slot_key(group, author, seq), db=self._slots) != bytes(gkey) + entry_id:
                    problems.append(f"entry {entry_id.hex()}: slot index does not point to its body")
                by_gseq[_U64.unpack(gkey)[0]] = group
                sizes_of[group] = sizes_of.get(group, 0) + len(value) - _BODY_HDR.size
                head_key = group + author
                if seq > max_seq.get(head_key, (0, b""))[0]:
                    max_seq[head_key] = (seq, entry_id)
            seen_gseq: set[int] = set()
            for key, gkey in txn.cursor(db=self._arrival):
                group, cursor = bytes(key[:ID_SIZE]), _U64.unpack_from(key, ID_SIZE)[0]
                gseq = _U64.unpack(gkey)[0]
                if by_gseq.get(gseq) != group or gseq in seen_gseq:
                    problems.append(f"arrival {group.hex()}/{cursor} names a wrong or shared body")
                seen_gseq.add(gseq)
                cursors.setdefault(group, []).append(cursor)
                if kind_of.get(gseq, kinds.MESSAGE) < kinds.MESSAGE:
                    controls[bytes(key)] = gseq
            for key, value in txn.cursor(db=self._controls):
                row = bytes(key)
                gseq, proof = _CONTROL_VAL.unpack(value) if len(value) == _CONTROL_VAL.size else (0, 255)
                where = f"control index row {row.hex()}"
                if controls.pop(row, None) != gseq:
                    problems.append(f"{where} names no control entry's body, or another one")
                elif proof not in _PROOF_OF or (proof != _PROOF_UNKNOWN and kind_of[gseq] != kinds.JOIN):
                    problems.append(f"{where} holds a proof verdict {proof} that is not one for its entry")
            if controls:
                problems.append(f"the control index lacks {len(controls)} control entries")
            sizes = {name: txn.stat(db)["entries"] for name, db in (("ids", self._ids), ("slots", self._slots))}
            sizes["bodies"] = n_bodies
            sizes["arrival"] = len(seen_gseq)
            if len(set(sizes.values())) != 1:
                problems.append(f"index sizes differ: {sizes}")
            heads = {bytes(k): _HEAD_VAL.unpack(v) for k, v in txn.cursor(db=self._heads)}
            if heads != max_seq:
                problems.append(f"heads differ from the highest stored seqs ({len(heads)} vs {len(max_seq)})")
            stored_groups = {bytes(k): _GROUP_VAL.unpack(v) for k, v in txn.cursor(db=self._groups)}
            if set(stored_groups) != set(cursors):
                problems.append("groups index does not match the groups of the arrival index")
            for group, seen in cursors.items():
                last, count, size = stored_groups.get(group, (0, 0, 0))
                if size != sizes_of.get(group, 0):
                    problems.append(f"group {group.hex()}: size {size} but its records hold {sizes_of.get(group, 0)}")
                if count != len(seen):
                    problems.append(f"group {group.hex()}: count {count} but {len(seen)} entries")
                if seen != list(range(1, len(seen) + 1)) or last != len(seen):
                    problems.append(f"group {group.hex()}: cursors are not exactly 1..{last}")
            total = _u64(txn.get(_SYS_BYTES, db=self._sys))
            if total != sum(sizes_of.values()):
                problems.append(f"the node's byte total is {total} but its records hold {sum(sizes_of.values())}")
            cursor = txn.cursor(db=self._meta)
            held = 0
            if cursor.set_range(BACKUP_PREFIX):
                for key, value in cursor:
                    if not bytes(key).startswith(BACKUP_PREFIX):
                        break
                    held += len(value)
            counted = _u64(txn.get(_SYS_BACKUP_BYTES, db=self._sys))
            if counted != held:
                problems.append(f"the backup byte total is {counted} but the backups hold {held}")
            return problems

        return self._read(op)


_META_PAGES: Final = 2


def _pages(stat: Any) -> int:
    """Pages of one B+tree, from an LMDB ``stat``."""
    return int(stat["branch_pages"]) + int(stat["leaf_pages"]) + int(stat["overflow_pages"])


def _describe_foreign(root: Path) -> str:
    """Say why LMDB 0.9 rejected ``root/data.mdb``: another engine's format, or not LMDB at all."""
    try:
        # Engine auto-detected; readonly and lock=False: the probe writes nothing, not even locks.
        probe = lmdb.open(str(root), readonly=True, lock=False, max_dbs=len(_DB_NAMES))
    except lmdb.Error:
        return f"{root / 'data.mdb'} is not an LMDB 0.9 file"
    try:
        found = ".".join(map(str, probe.lib_version()))
    finally:
        probe.close()
    return (
        f"{root / 'data.mdb'} has the on-disk format of LMDB {found}; this node pins LMDB 0.9.x "
        f"(convert with mdb_dump from LMDB {found} and mdb_load from LMDB 0.9)"
    )
