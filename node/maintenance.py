"""Care of a node's store: migrations, compaction and the integrity check.

Migration and compaction need the node stopped: they take the node lock (``node.liveness``) and are
refused with ``node.running`` while a node runs on the directory.

* **Migration** turns a store of an older format into today's, in one LMDB transaction
  (``node.store_migrations``); ``node run`` migrates at start, ``node migrate`` does it alone.
* **Compaction** copies the live pages of the store to ``store.compacting/`` (fsynced), checks the
  copy holds exactly what the store held, then renames its ``data.mdb`` over the store's: a crash
  at any point leaves either the old file or the new one, never a mix.
* **The integrity check** re-verifies every stored entry (its hash is its id, its signature and
  payload digest hold, it is filed where its header says), every control entry's payload (the
  identity document it carries, verified) and each join's recorded proof verdict (verified again),
  and cross-checks the store's indexes. It trusts nothing the node's start-up trusts.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Container
from pathlib import Path
from typing import Any

from holdspace.node.core import from_record
from holdspace.node.liveness import OperationError, node_lock, require_node
from holdspace.node.operations import STORE, _entry_digest, _summary, store_failed
from holdspace.node.records import StoredEntry
from holdspace.node.store import Store, StoreError, fsync_dir
from holdspace.protocol import codec, crypto
from holdspace.protocol.entry import decode_entry
from holdspace.protocol.errors import HoldspaceError
from holdspace.protocol.payloads import Invite, Join, decode_payload, join_proof_message

COMPACTING = STORE + ".compacting"
CHECK_PAGE = 1000  # records per read transaction of the integrity check


def migrate_store(directory: Path) -> int | None:
    """Migrate the store of ``directory`` to today's format (the caller holds the node lock); return
    the format it was in, or None when it was current already."""
    try:
        with Store.open(directory / STORE, migrate=True) as store:
            return store.migrated_from
    except StoreError as err:
        raise store_failed(err, directory) from err


def compact(directory: Path) -> dict[str, int]:
    """Compact the stopped node's store (see the module's docstring); return the data file's size
    before and after, in bytes. ``node.running`` while a node runs on it; ``node.compact_failed``
    (the store left as it was) if the copy does not hold what the store holds."""
    require_node(directory)
    store_dir, copy_dir = directory / STORE, directory / COMPACTING
    with node_lock(directory, "compacting its store"):
        shutil.rmtree(copy_dir, ignore_errors=True)  # left by an interrupted compaction: never used
        before = (store_dir / "data.mdb").stat().st_size
        try:
            with Store.open(store_dir) as store:
                held = {**_summary(store), "digest": _entry_digest(store)}
                store.compact_copy(copy_dir)  # fsyncs the copy and its directory
            with Store.open(copy_dir) as copy:
                problems = copy.check_integrity()
                copied = {**_summary(copy), "digest": _entry_digest(copy)}
        except StoreError as err:
            shutil.rmtree(copy_dir, ignore_errors=True)
            raise store_failed(err, directory) from err
        if problems or copied != held:
            shutil.rmtree(copy_dir, ignore_errors=True)
            raise OperationError("node.compact_failed", f"the compacted copy differs: {problems or 'entries'}")
        os.replace(copy_dir / "data.mdb", store_dir / "data.mdb")
        fsync_dir(store_dir)
        shutil.rmtree(copy_dir)
        return {"before": before, "after": (store_dir / "data.mdb").stat().st_size}


def record_problem(record: StoredEntry) -> str | None:
    """What is wrong with one stored record, or None. Checked, in order: the record is the CBOR
    ``[header, payload or null]`` the node writes; the header decodes and its signature verifies,
    and the payload (if kept) matches the header's digest and size (``decode_entry``, spec 6.2,
    without the clock check); the header's hash is the id it is stored under; its group, author,
    sequence number and kind are those it is filed under."""
    try:
        value = codec.decode(record.raw, max_size=len(record.raw))
    except HoldspaceError as err:
        return f"the record does not decode ({err.code})"
    if not (isinstance(value, list) and len(value) == 2):
        return "the record is not [header, payload]"
    header, payload = value
    if not isinstance(header, bytes) or (payload is not None and not isinstance(payload, bytes)):
        return "the record is not [header, payload]"
    try:
        entry = decode_entry(header, payload, now_ms=None, verify=True)
    except HoldspaceError as err:
        return f"{err.code}: {err.message}"
    if entry.entry_id != record.entry_id:
        return "the header's hash differs from the id it is stored under"
    if (entry.log_group, entry.author, entry.seq, entry.kind) != (record.group, record.author, record.seq, record.kind):
        return "the header names another group, author, position or kind than it is filed under"
    return None


def control_problems(records: list[StoredEntry], damaged: Container[bytes] = ()) -> list[str]:
    """What is wrong with a group's control entries (``Store.controls``, in arrival order) beyond
    :func:`record_problem`, each as ``"<entry id>: <problem>"``; records whose id is in ``damaged``
    (:func:`record_problem` found them wrong already) are passed over. Checked: each payload decodes, the
    identity document it carries verified (``decode_payload``, spec 4.4); a join whose proof verdict
    the store recorded (what start-up takes without verifying) has that verdict when its invite
    proof is verified now against its invite (held in the same group)."""
    problems: list[str] = []
    invites: dict[bytes, Invite] = {}
    for record in records:
        if record.entry_id in damaged:
            continue
        try:
            entry = from_record(record)
            payload = decode_payload(entry.kind, entry.payload or b"", entry.author)
        except (HoldspaceError, AssertionError) as err:
            problems.append(f"{record.entry_id.hex()}: the control payload is refused ({err})")
            continue
        if isinstance(payload, Invite):
            invites[entry.entry_id] = payload
        if not isinstance(payload, Join) or record.proof is None:
            continue
        invite = invites.get(payload.invite_id)
        message = join_proof_message(record.group, entry.author, payload.invite_id)
        verdict = invite is not None and crypto.ed25519_verify(invite.invite_key, message, payload.proof)
        if verdict != record.proof:
            problems.append(f"{record.entry_id.hex()}: the join's recorded proof verdict {record.proof} is wrong")
    return problems


def check(directory: Path) -> dict[str, Any]:
    """The integrity check of ``directory``'s store (the node may be running): every entry (see
    :func:`record_problem`), every group's control entries (:func:`control_problems`), then the
    indexes against the logs (``Store.check_integrity``). Returns
    ``{"entries", "groups", "problems"}``; each problem names the group, cursor and entry id."""
    require_node(directory)
    problems: list[str] = []
    try:
        with Store.open(directory / STORE) as store:
            groups = store.groups()
            entries = 0
            for group in groups:
                damaged: set[bytes] = set()
                after = 0
                while page := store.iter_group(group, after, CHECK_PAGE):
                    for cursor, record in page:
                        after = cursor
                        entries += 1
                        problem = record_problem(record)
                        if problem is not None:
                            where = f"group {group.hex()} cursor {cursor} entry {record.entry_id.hex()}"
                            problems.append(f"{where}: {problem}")
                            damaged.add(record.entry_id)
                found = control_problems(store.controls(group), damaged)
                problems += [f"group {group.hex()} control entry {p}" for p in found]
            problems += store.check_integrity()
    except StoreError as err:
        raise store_failed(err, directory) from err
    return {"entries": entries, "groups": len(groups), "problems": problems}
