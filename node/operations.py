"""An operator's safety net: backup, restore and status of a node directory (``holdspace node ...``).

* **Backup** writes a consistent, compacted copy while the node runs: LMDB serves the copy from one
  read snapshot (the node keeps writing meanwhile), and only live pages are copied, so ciphertext
  deleted by redaction, erasure or expiry is not in the backup even where the live file still holds
  it in free pages. The sealed node key and the configuration are copied as they are (the key stays
  sealed with the operator's passphrase). A manifest records what the copy holds, so a restore can
  be checked against it.
* **Restore** copies a backup into a temporary directory beside the target and verifies it there:
  the store opens (migrated if the backup is of an older format), passes its integrity check, and
  holds exactly the entries and log heads the manifest lists. Only then is the directory renamed to
  the target. A failed restore leaves no node behind: the target stays absent or empty, so
  ``node run`` on it refuses to start.
* **Status** reads the store (groups, entries, live data and free pages) and the running node's
  ``status.json`` (clients and peers connected, written by ``node run`` every few seconds; its age
  says whether it is live). **Health** (``node status --check``) reads ``status.json`` alone.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from holdspace.node.config import CONFIG, KEY, read_config
from holdspace.node.liveness import STATUS, STATUS_EVERY, LiveStatus, OperationError, live_status, require_node
from holdspace.node.store import FORMAT_VERSION, Store, StoreError, fsync_dir
from holdspace.protocol import crypto
from holdspace.protocol.federation import heads_digest

__all__ = [
    "MANIFEST",
    "STATUS",
    "STATUS_EVERY",
    "STORE",
    "LiveStatus",
    "OperationError",
    "backup",
    "restore",
    "status",
    "require_node",
    "store_failed",
]

MANIFEST = "backup.json"
STORE = "store"
BACKUP_FORMAT = 1


def store_failed(err: StoreError, directory: Path | None = None) -> OperationError:
    """A store failure as one line: ``node.store_format`` (with what to do) when the store's format is
    not today's, else ``node.store_failed``."""
    if err.code == "store.needs_migration":
        where = directory or "DIR"
        return OperationError(
            "node.store_format",
            f"{err.message}: back the node up, then run 'holdspace node migrate {where}' (or start it: "
            "'node run' migrates)",
        )
    if err.code in ("store.bad_version", "store.bad_format"):
        return OperationError("node.store_format", err.message)
    return OperationError("node.store_failed", f"{err.code}: {err.message}")


def _summary(store: Store) -> dict[str, Any]:
    """Entries, and per group its entry count and the digest of its log heads."""
    groups: dict[str, Any] = {}
    for group in store.groups():
        groups[group.hex()] = {"entries": store.count(group), "heads": heads_digest(store.heads(group)).hex()}
    return {"entries": store.info()["entries"], "groups": groups}


def _entry_digest(store: Store) -> str:
    """A digest of every stored record (id and bytes, in group and arrival order)."""
    parts = []
    for group in store.groups():
        after = 0
        while page := store.iter_group(group, after, 1000):
            for cursor, record in page:
                after = cursor
                parts.append(crypto.blake2b_256(record.entry_id + record.raw))
    return crypto.blake2b_256(b"".join(parts)).hex()


def backup(directory: Path, out: Path) -> dict[str, Any]:
    """Copy the node in ``directory`` (running or not) into ``out`` (new or empty); return the manifest."""
    require_node(directory)
    if out.exists() and any(out.iterdir()):
        raise OperationError("node.backup_exists", f"{out} is not empty: choose a new directory")
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    for name in (KEY, CONFIG):
        shutil.copy2(directory / name, out / name)
    try:
        with Store.open(directory / STORE) as store:
            store.compact_copy(out / STORE)
        with Store.open(out / STORE) as copy:  # describe the copy itself: it is one snapshot
            manifest = {
                "format": BACKUP_FORMAT,
                "store_format": FORMAT_VERSION,
                "made_at": int(time.time()),
                **_summary(copy),
                "digest": _entry_digest(copy),
                "bytes": (out / STORE / "data.mdb").stat().st_size,
            }
    except StoreError as err:
        raise store_failed(err, directory) from err
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def restore(source: Path, directory: Path) -> dict[str, Any]:
    """Restore the backup in ``source`` into ``directory`` (new or empty), verified; return the manifest.

    Checked before anything is written beside ``directory``: ``source`` holds a manifest of a known
    format and a store (``node.not_a_backup``); ``directory`` is absent or empty
    (``node.restore_target_not_empty``). Then, in a temporary directory beside it: the store opens
    (an older format is migrated), passes ``Store.check_integrity``, and holds the entries, groups,
    log heads and record digest of the manifest (``node.restore_mismatch``). On any failure the
    temporary directory is removed and ``directory`` is left as it was."""
    manifest_path = source / MANIFEST
    if not manifest_path.exists() or not (source / STORE / "data.mdb").exists():
        raise OperationError("node.not_a_backup", f"{source} is not a backup made by 'holdspace node backup'")
    try:
        manifest = json.loads(manifest_path.read_text())
    except (ValueError, UnicodeDecodeError):
        raise OperationError("node.not_a_backup", f"{manifest_path} is not a backup manifest") from None
    if not isinstance(manifest, dict):
        raise OperationError("node.not_a_backup", f"{manifest_path} is not a backup manifest")
    if manifest.get("format") != BACKUP_FORMAT:
        raise OperationError("node.not_a_backup", f"backup format {manifest.get('format')!r} is not supported")
    if directory.exists() and any(directory.iterdir()):
        raise OperationError("node.restore_target_not_empty", f"{directory} is not empty: restore into a new one")
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.restoring-", dir=directory.parent))
    try:
        _restore_into(source, staging, manifest)
        os.rename(staging, directory)  # onto an absent or empty directory: atomic
        fsync_dir(directory.parent)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def _restore_into(source: Path, staging: Path, manifest: dict[str, Any]) -> None:
    """Copy the backup into ``staging`` (private, fsynced) and verify it against ``manifest``."""
    for name in (KEY, CONFIG):
        shutil.copy2(source / name, staging / name)
    (staging / STORE).mkdir(mode=0o700)
    shutil.copy2(source / STORE / "data.mdb", staging / STORE / "data.mdb")
    with open(staging / STORE / "data.mdb", "rb") as copied:
        os.fsync(copied.fileno())
    try:
        with Store.open(staging / STORE, migrate=True) as store:
            problems = store.check_integrity()
            found = {**_summary(store), "digest": _entry_digest(store)}
    except StoreError as err:
        raise store_failed(err) from err
    expected = {k: manifest.get(k) for k in ("entries", "groups", "digest")}
    if problems or found != expected:
        raise OperationError(
            "node.restore_mismatch", f"the restored store differs from the backup's manifest: {problems or 'entries'}"
        )


def status(directory: Path) -> dict[str, Any]:
    """The node's configuration, its store's contents and size, and (if running) its live figures.

    Sizes: ``store_bytes`` is the data file on disk; of its pages in use, ``store_live_bytes`` hold
    the current data and ``store_free_bytes`` are free (reused by later writes; ``node compact``
    gives them back to the disk)."""
    require_node(directory)
    config = read_config(directory)
    out: dict[str, Any] = {
        "listen": f"{config.host}:{config.port}",
        "peers_configured": [str(p) for p in config.peers],
        "peers_blocked": len(config.blocked),
    }
    try:
        with Store.open(directory / STORE) as store:
            info = store.info()
            groups = store.groups()
            out["groups"] = len(groups)
            out["entries"] = info["entries"]
            out["store_format"] = FORMAT_VERSION
            out["store_bytes"] = (directory / STORE / "data.mdb").stat().st_size
            out["store_used_bytes"] = (info["last_pgno"] + 1) * info["page_size"]
            out["store_live_bytes"] = info["live_pages"] * info["page_size"]
            out["store_free_bytes"] = out["store_used_bytes"] - out["store_live_bytes"]
    except StoreError as err:
        raise store_failed(err, directory) from err
    live = live_status(directory)
    out["running"] = live is not None
    if live is not None:
        out["address"] = live.get("address")
        out["clients"] = live.get("clients")
        out["peers_connected"] = live.get("peers_connected")
        out["uptime_s"] = int(time.time() - float(live.get("started_at", time.time())))
    return out
