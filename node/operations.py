"""An operator's safety net: backup, restore and status of a node directory (``holdspace node ...``).

* **Backup** writes a consistent, compacted copy while the node runs: LMDB serves the copy from one
  read snapshot (the node keeps writing meanwhile), and only live pages are copied, so ciphertext
  deleted by redaction, erasure or expiry is not in the backup even where the live file still holds
  it in free pages. The sealed node key and the configuration are copied as they are (the key stays
  sealed with the operator's passphrase). A manifest records what the copy holds, so a restore can
  be checked against it.
* **Restore** copies a backup into an empty directory and verifies it: the store opens, passes its
  integrity check, and holds exactly the entries and log heads the manifest lists.
* **Status** reads the store (groups, entries, size) and the running node's ``status.json`` (clients
  and peers connected, written by ``node run`` every few seconds; its age says whether it is live).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from node.config import CONFIG, KEY, read_config
from node.store import Store, StoreError
from protocol import crypto
from protocol.errors import HoldspaceError
from protocol.federation import heads_digest

MANIFEST = "backup.json"
STATUS = "status.json"
STORE = "store"
BACKUP_FORMAT = 1
STATUS_EVERY = 5.0  # seconds between status.json updates by a running node


class OperationError(HoldspaceError):
    """A backup, restore or status that cannot be done (``node.*`` codes)."""

    family = "node"


def _store_failed(err: StoreError) -> OperationError:
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
    if not (directory / KEY).exists():
        raise OperationError("node.not_a_node", f"{directory} holds no node (no {KEY})")
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
                "made_at": int(time.time()),
                **_summary(copy),
                "digest": _entry_digest(copy),
                "bytes": (out / STORE / "data.mdb").stat().st_size,
            }
    except StoreError as err:
        raise _store_failed(err) from err
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def restore(source: Path, directory: Path) -> dict[str, Any]:
    """Restore the backup in ``source`` into ``directory`` (new or empty), verified; return the manifest."""
    manifest_path = source / MANIFEST
    if not manifest_path.exists() or not (source / STORE / "data.mdb").exists():
        raise OperationError("node.not_a_backup", f"{source} is not a backup made by 'holdspace node backup'")
    manifest = json.loads(manifest_path.read_text())
    if manifest.get("format") != BACKUP_FORMAT:
        raise OperationError("node.not_a_backup", f"backup format {manifest.get('format')!r} is not supported")
    if directory.exists() and any(directory.iterdir()):
        raise OperationError("node.restore_target_not_empty", f"{directory} is not empty: restore into a new one")
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    for name in (KEY, CONFIG):
        shutil.copy2(source / name, directory / name)
    (directory / STORE).mkdir(mode=0o700)
    shutil.copy2(source / STORE / "data.mdb", directory / STORE / "data.mdb")
    with open(directory / STORE / "data.mdb", "rb") as copied:
        os.fsync(copied.fileno())
    try:
        with Store.open(directory / STORE) as store:
            problems = store.check_integrity()
            found = {**_summary(store), "digest": _entry_digest(store)}
    except StoreError as err:
        raise _store_failed(err) from err
    expected = {k: manifest[k] for k in ("entries", "groups", "digest")}
    if problems or found != expected:
        raise OperationError(
            "node.restore_mismatch", f"the restored store differs from the backup's manifest: {problems or 'entries'}"
        )
    return manifest


@dataclass(slots=True)
class LiveStatus:
    """What ``node run`` writes to ``status.json``."""

    pid: int
    address: str
    started_at: float
    clients: int
    peers_connected: list[str]
    updated_at: float

    def write(self, directory: Path) -> None:
        tmp = directory / (STATUS + ".tmp")
        tmp.write_text(json.dumps(asdict(self)))
        os.replace(tmp, directory / STATUS)


def status(directory: Path) -> dict[str, Any]:
    """The node's configuration, its store's contents and size, and (if running) its live figures."""
    if not (directory / KEY).exists():
        raise OperationError("node.not_a_node", f"{directory} holds no node (no {KEY})")
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
            out["store_bytes"] = (directory / STORE / "data.mdb").stat().st_size
            out["store_used_bytes"] = (info["last_pgno"] + 1) * info["page_size"]
    except StoreError as err:
        raise _store_failed(err) from err
    live_path = directory / STATUS
    out["running"] = False
    if live_path.exists():
        live = json.loads(live_path.read_text())
        age = time.time() - float(live.get("updated_at", 0))
        alive = age < 3 * STATUS_EVERY and _pid_alive(int(live.get("pid", 0)))
        out["running"] = alive
        if alive:
            out["address"] = live.get("address")
            out["clients"] = live.get("clients")
            out["peers_connected"] = live.get("peers_connected")
            out["uptime_s"] = int(time.time() - float(live.get("started_at", time.time())))
    return out


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
