"""A participant's history on the device: an LMDB environment (``<home>/history/``) of records each
sealed on its own.

The secrets (master secret, epoch keys, the signed entry being sent) stay in the small key file
(``clients.participant``); everything that grows with use lives here, one record per item:

====================  =====================================  =========================================
database              key                                    value (sealed)
====================  =====================================  =========================================
``msg``               group tag (16) + position (8)          a message's place: cursor, author, seq,
                                                             time, problem, id, kind, expiry, deleted,
                                                             and the id of its words record (or null)
``words``             words id (8), increasing               [message key, kind, plaintext, message
                                                             key used, source]: what pruning removes
``ctl``               group tag (16) + ``g`` / position (8)  a control entry [header, payload]
``out``               position (8)                           an outbox item
``seen``              blinded (author, seq) of a group (20)  empty: the entry was read once
``dl``                group tag + deadline (8) + position    empty: when a message's words must go
``xtra``              group tag + position                   empty: the message is not a text (a pin,
                                                             reaction, check-in...): what the group's
                                                             views scan, without the texts
``meta``              name                                   counters (not secret, not sealed)
====================  =====================================  =========================================

Invariants:

* every value is ``nonce (24) || XChaCha20-Poly1305(cbor, key=seal key, ad=db name || 0 || record key)``
  so a record opens only under its own key in its own database: records cannot be swapped or moved;
* the seal key and the blinding key are derived from one random history key kept in the key file;
  group ids and pseudonyms never appear in the clear (group tags and ``seen`` keys are keyed hashes);
* a record that does not open (altered, truncated, not CBOR of the expected shape) costs that record
  only: it is skipped and counted (:attr:`HistoryStore.damaged`, code ``history.damaged``);
* ``meta[b"bytes"]`` is the sum of ``len(key) + len(value)`` of every record, kept in the same write
  transaction as the records it counts; :meth:`HistoryStore.enforce` prunes words oldest first
  (never a pin, a quoted pin or a session's details) until it is within the budget, leaving each
  message's place with ``deleted = "pruned"`` and counting it per group (``meta[b"pruned" + tag]``).

Commits are not synced one by one: :meth:`HistoryStore.sync` flushes them to disk (the participant
does at every save, before it writes the key file). LMDB keeps the file consistent after a process
crash; a system crash may lose the commits since the last sync, which the next read fetches again.
One environment is opened once per process (LMDB refuses a second open): :func:`open_history` hands
out the same store to every participant of one home.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import struct
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lmdb

from holdspace.protocol import codec, crypto
from holdspace.protocol.errors import CodecError, CryptoError, HoldspaceError

HISTORY_DIR = "history"
HISTORY_KEY = 32
TAG = 16
DEFAULT_BUDGET = 512 * 1024 * 1024
MIN_BUDGET = 1024 * 1024
#: the map is a virtual reservation (the file grows as it is written): room for a budget many times over
MAP_SIZE = 64 * 1024 * 1024 * 1024
MAX_BUDGET = MAP_SIZE // 2
_DBS = (b"msg", b"words", b"xtra", b"ctl", b"out", b"seen", b"dl", b"meta")
_UNSEALED = frozenset({b"seen", b"dl", b"xtra"})  # keys only: the value is empty
_CHUNK = 256
_POS = struct.Struct(">Q")
_OPEN: weakref.WeakValueDictionary[str, HistoryStore] = weakref.WeakValueDictionary()


class HistoryError(HoldspaceError):
    family = "history"


def _pos(n: int) -> bytes:
    return _POS.pack(n)


@dataclass(slots=True)
class Damage:
    """Records that did not open since the store was opened, by database."""

    counts: dict[str, int] = field(default_factory=dict)

    def note(self, db: bytes) -> None:
        name = db.decode()
        self.counts[name] = self.counts.get(name, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class HistoryStore:
    """The sealed-record history of one home. Create with :func:`open_history`."""

    def __init__(self, env: lmdb.Environment, dbs: dict[bytes, Any], path: Path) -> None:
        self.env = env
        self.dbs = dbs
        self.path = path
        self.damaged = Damage()
        self._seal_key = b""
        self._blind_key = b""

    def unlock(self, history_key: bytes) -> None:
        """Derive the record keys from the history key (kept in the key file)."""
        if len(history_key) != HISTORY_KEY:
            raise HistoryError("history.bad_key", "the history key must be 32 bytes")
        self._seal_key = hashlib.blake2b(history_key, digest_size=32, person=b"holdspace-seal").digest()
        self._blind_key = hashlib.blake2b(history_key, digest_size=32, person=b"holdspace-blind").digest()

    def close(self) -> None:
        _OPEN.pop(str(self.path), None)
        self.env.close()

    # -- sealing -----------------------------------------------------------------------------

    def tag(self, *parts: bytes) -> bytes:
        """A keyed hash naming something (a group, an entry read) without revealing it on disk."""
        h = hashlib.blake2b(key=self._blind_key, digest_size=TAG if len(parts) == 1 else 20)
        for p in parts:
            h.update(len(p).to_bytes(2, "big") + p)
        return h.digest()

    def seal(self, db: bytes, key: bytes, value: codec.CborValue) -> bytes:
        nonce = os.urandom(crypto.AEAD_NONCE)
        return nonce + crypto.aead_encrypt(self._seal_key, nonce, codec.encode(value), db + b"\x00" + key)

    def open(self, db: bytes, key: bytes, sealed: bytes) -> codec.CborValue:
        """The record's value, or ``history.damaged`` (counted) if it does not open."""
        try:
            if len(sealed) < crypto.AEAD_NONCE + 16:
                raise HistoryError("history.damaged", "truncated record")
            plain = crypto.aead_decrypt(
                self._seal_key, sealed[: crypto.AEAD_NONCE], sealed[crypto.AEAD_NONCE :], db + b"\x00" + key
            )
            return codec.decode(plain, max_size=len(plain) + 1)
        except (CryptoError, CodecError, HistoryError) as exc:
            self.damaged.note(db)
            raise HistoryError(
                "history.damaged", f"a {db.decode()} record of this device's history does not open"
            ) from exc

    # -- writing -----------------------------------------------------------------------------

    def write(self, puts: list[tuple[bytes, bytes, codec.CborValue]], deletes: list[tuple[bytes, bytes]] = ()) -> None:  # type: ignore[assignment]
        """One transaction: put sealed values (db, key, value) and delete (db, key), keeping the byte
        count exact (a replaced or deleted record's size is taken off)."""
        try:
            self._write(puts, deletes)
        except lmdb.Error as exc:
            raise HistoryError("history.io", f"the device history could not be written: {exc}") from exc

    def _write(self, puts: list[tuple[bytes, bytes, codec.CborValue]], deletes: list[tuple[bytes, bytes]]) -> None:
        with self.env.begin(write=True) as txn:
            delta = 0
            for db, key in deletes:
                old = txn.get(key, db=self.dbs[db])
                if old is not None:
                    delta -= len(key) + len(old)
                    txn.delete(key, db=self.dbs[db])
            for db, key, value in puts:
                sealed = self.seal(db, key, value) if db not in _UNSEALED else b""
                old = txn.get(key, db=self.dbs[db])
                delta += len(key) + len(sealed) - (len(key) + len(old) if old is not None else 0)
                txn.put(key, sealed, db=self.dbs[db])
            if delta:
                self._add(txn, b"bytes", delta)

    def _add(self, txn: lmdb.Transaction, name: bytes, delta: int) -> int:
        raw = txn.get(name, db=self.dbs[b"meta"])
        value = max(0, (_POS.unpack(raw)[0] if raw is not None and len(raw) == 8 else 0) + delta)
        txn.put(name, _pos(value), db=self.dbs[b"meta"])
        return value

    def counter(self, name: bytes) -> int:
        with self.env.begin() as txn:
            raw = txn.get(name, db=self.dbs[b"meta"])
        return _POS.unpack(raw)[0] if raw is not None and len(raw) == 8 else 0

    def reserve_words(self, n: int) -> int:
        """The first of ``n`` new words ids (ids increase: words are pruned in that order)."""
        with self.env.begin(write=True) as txn:
            return self._add(txn, b"words_next", n) - n + 1

    def sync(self) -> None:
        self.env.sync(True)

    # -- reading -----------------------------------------------------------------------------

    def get(self, db: bytes, key: bytes) -> codec.CborValue:
        """The value under ``key``; None if absent; ``history.damaged`` if it does not open."""
        with self.env.begin() as txn:
            raw = txn.get(key, db=self.dbs[db])
        return None if raw is None else self.open(db, key, bytes(raw))

    def get_raw(self, db: bytes, keys: list[bytes]) -> list[bytes | None]:
        """The sealed values under ``keys`` (None where absent), in one read transaction."""
        if not keys:
            return []
        with self.env.begin() as txn:
            return [None if (v := txn.get(k, db=self.dbs[db])) is None else bytes(v) for k in keys]

    def has(self, db: bytes, key: bytes) -> bool:
        with self.env.begin() as txn:
            return txn.get(key, db=self.dbs[db]) is not None

    def scan(self, db: bytes, prefix: bytes, start: bytes = b"") -> Iterator[tuple[bytes, bytes]]:
        """Raw (key, sealed) records under ``prefix`` from ``prefix + start``, in key order, read in
        short transactions (a paused iteration holds no reader)."""
        at = prefix + start
        while True:
            with self.env.begin() as txn:
                cur = txn.cursor(db=self.dbs[db])
                if not cur.set_range(at):
                    return
                chunk: list[tuple[bytes, bytes]] = []
                for k, v in cur:
                    if not k.startswith(prefix):
                        break
                    chunk.append((bytes(k), bytes(v)))
                    if len(chunk) >= _CHUNK:
                        break
            if not chunk:
                return
            yield from chunk
            if len(chunk) < _CHUNK:
                return
            at = chunk[-1][0] + b"\x00"

    def count(self, db: bytes, prefix: bytes) -> int:
        """Records under ``prefix`` whose key is ``prefix + position``: one past the last position."""
        with self.env.begin() as txn:
            cur = txn.cursor(db=self.dbs[db])
            end = prefix + b"\xff" * 8
            if cur.set_range(end):
                if not cur.prev():
                    return 0
            elif not cur.last():
                return 0
            key = bytes(cur.key())
        if not key.startswith(prefix) or len(key) != len(prefix) + 8:
            return 0
        return int(_POS.unpack(key[len(prefix) :])[0]) + 1

    def file_bytes(self) -> int:
        data = self.path / "data.mdb"
        return data.stat().st_size if data.exists() else 0

    # -- the storage budget ------------------------------------------------------------------

    def enforce(self, budget: int, keep: Any) -> int:
        """Prune words, oldest first, until the records fit in ``budget`` bytes; ``keep(kind,
        plaintext)`` says which words must stay. Returns how many messages lost their words."""
        pruned = 0
        start = b""
        while self.counter(b"bytes") > budget:
            victims: list[tuple[bytes, codec.CborValue]] = []
            for wkey, sealed in self.scan(b"words", b"", start):
                start = wkey + b"\x00"
                try:
                    value = self.open(b"words", wkey, sealed)
                    assert isinstance(value, list) and len(value) == 5
                    mkey, kind, plaintext = value[0], value[1], value[2]
                    assert isinstance(mkey, bytes) and isinstance(kind, int)
                except (HistoryError, AssertionError):
                    victims.append((wkey, None))  # a damaged words record is the first to go
                    break
                if not keep(kind, plaintext):
                    victims.append((wkey, mkey))
                    break
            if not victims:
                break  # nothing left that may be pruned
            wkey, mkey = victims[0]
            puts: list[tuple[bytes, bytes, codec.CborValue]] = []
            if isinstance(mkey, bytes):
                try:
                    meta = self.get(b"msg", mkey)
                except HistoryError:
                    meta = None
                if isinstance(meta, list) and len(meta) in (10, 11):  # 11: with a direct message's recipients
                    meta[8], meta[9] = "pruned", None
                    puts.append((b"msg", mkey, meta))
                with self.env.begin(write=True) as txn:
                    self._add(txn, b"pruned" + mkey[:TAG], 1)
            self.write(puts, [(b"words", wkey)])
            pruned += 1
        return pruned


def open_history(home: Path) -> HistoryStore:
    """The history environment of ``home`` (created if missing), shared within this process."""
    path = (home / HISTORY_DIR).resolve()
    found = _OPEN.get(str(path))
    if found is not None:
        return found
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        env = lmdb.open(
            str(path),
            map_size=MAP_SIZE,
            subdir=True,
            max_dbs=len(_DBS),
            sync=False,  # synced at each save, before the key file (see the module docstring)
            metasync=False,
            writemap=False,
            meminit=True,
            lock=True,
            mode=0o600,
        )
        with env.begin(write=True) as txn:
            dbs = {name: env.open_db(name, txn=txn) for name in _DBS}
    except lmdb.Error as exc:
        raise HistoryError("history.io", f"cannot open the history in {path}: {exc}") from exc
    store = HistoryStore(env, dbs, path)
    _OPEN[str(path)] = store
    return store


def discard_history(home: Path) -> None:
    """Remove ``home``'s history (closing it if this process has it open): before a migration."""
    path = (home / HISTORY_DIR).resolve()
    found = _OPEN.get(str(path))
    if found is not None:
        found.close()
    shutil.rmtree(path, ignore_errors=True)
