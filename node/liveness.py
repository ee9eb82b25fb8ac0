"""Whether a node runs on a directory, and whether it is ready: its lock and its ``status.json``.

* ``node run`` holds an exclusive ``flock`` on ``DIR/node.lock`` from before it opens the store until
  it ends (the kernel drops it when the process ends, ``kill -9`` included), so two nodes never
  run on one directory, and offline work (:func:`node_lock`: migration, compaction) is refused
  with ``node.running`` while a node holds it.
* Once it serves, ``node run`` writes ``status.json`` (:class:`LiveStatus`) every
  :data:`STATUS_EVERY` seconds from its event loop and removes it when it stops. A file written
  less than ``3 * STATUS_EVERY`` seconds ago by a process that exists is a live, ready node; a node
  of a version older than the lock is recognised by this file alone.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from holdspace.node.config import KEY
from holdspace.protocol.errors import HoldspaceError

STATUS = "status.json"
LOCK = "node.lock"
STATUS_EVERY = 5.0  # seconds between status.json updates by a running node
STALE_AFTER = 3 * STATUS_EVERY  # a status.json older than this is not a live node's


class OperationError(HoldspaceError):
    """An operation on a node directory that cannot be done (``node.*`` codes)."""

    family = "node"


def require_node(directory: Path) -> None:
    """``node.not_a_node`` unless ``directory`` holds a node key."""
    if not (directory / KEY).exists():
        raise OperationError("node.not_a_node", f"{directory} holds no node (no {KEY})")


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


def read_status(directory: Path) -> dict[str, Any] | None:
    """``status.json`` as ``node run`` wrote it, or None if absent or unreadable."""
    try:
        value = json.loads((directory / STATUS).read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) and isinstance(value.get("pid"), int) else None


def live_status(directory: Path) -> dict[str, Any] | None:
    """What a live node last wrote to ``status.json`` (see the module docstring), else None."""
    found = read_status(directory)
    if found is None:
        return None
    age = time.time() - float(found.get("updated_at", 0))
    return found if age < STALE_AFTER and pid_alive(found["pid"]) else None


def lock_held(directory: Path) -> bool:
    """Whether a process holds ``directory``'s node lock (a node runs, maybe still starting)."""
    try:
        fd = os.open(directory / LOCK, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


@contextmanager
def node_lock(directory: Path, doing: str) -> Iterator[None]:
    """Hold ``directory``'s node lock for the block. ``node.running`` if a node holds it, or if a live
    ``status.json`` says one runs; ``doing`` ends the refusal: "stop it before {doing}"."""
    fd = os.open(directory / LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OperationError("node.running", f"a node is running on {directory}: stop it before {doing}") from None
        live = live_status(directory)
        if live is not None and live["pid"] != os.getpid():
            raise OperationError(
                "node.running", f"a node (pid {live['pid']}) is running on {directory}: stop it before {doing}"
            )
        yield
    finally:
        os.close(fd)


def health(directory: Path) -> str:
    """One line saying the node in ``directory`` runs and is ready (it wrote ``status.json`` within
    ``STALE_AFTER`` seconds). Raises ``node.not_ready`` when its process exists but is starting (it
    holds the lock and has not written the file yet) or stalled (the file is too old), and
    ``node.down`` otherwise. Reads no store and no key: cheap enough for a container health check."""
    require_node(directory)
    found = read_status(directory)
    alive = found is not None and pid_alive(found["pid"])
    if found is None or not alive:
        if lock_held(directory):
            raise OperationError("node.not_ready", f"the node on {directory} is starting: not serving yet")
        if found is None:
            raise OperationError("node.down", f"no node is running on {directory}")
        raise OperationError("node.down", f"the node's process (pid {found['pid']}) is gone")
    age = time.time() - float(found.get("updated_at", 0))
    if age >= STALE_AFTER:
        raise OperationError(
            "node.not_ready", f"the node (pid {found['pid']}) last reported {age:.0f} s ago: stalled or stopping"
        )
    return f"ok: node running at {found.get('address')} (pid {found['pid']}), reported {age:.0f} s ago"


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
