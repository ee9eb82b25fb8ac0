"""systemd's readiness protocol (``sd_notify``), written out: no dependency for a few lines.

A service of ``Type=notify`` is started with ``$NOTIFY_SOCKET``, the address of a unix datagram
socket; the service sends it newline-separated ``KEY=VALUE`` assignments: ``READY=1`` once it
serves, ``RELOADING=1`` (with ``MONOTONIC_USEC``) and ``READY=1`` around a reload, ``STOPPING=1``
when it stops, ``STATUS=...`` a line ``systemctl status`` shows, and ``WATCHDOG=1`` every half of
``$WATCHDOG_USEC`` when the unit sets ``WatchdogSec=``. An address starting with ``@`` names a
socket in the abstract namespace. Without ``$NOTIFY_SOCKET`` (not under systemd), nothing is sent.

Invariant: :func:`notify` never raises; a failure to notify must not stop the node (systemd then
times the start out itself, and says so).
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping

NOTIFY_SOCKET = "NOTIFY_SOCKET"
WATCHDOG_USEC = "WATCHDOG_USEC"
WATCHDOG_PID = "WATCHDOG_PID"


def _address(value: str) -> str:
    return "\0" + value[1:] if value.startswith("@") else value


def notify(*assignments: str, environ: Mapping[str, str] = os.environ) -> bool:
    """Send ``assignments`` (``"READY=1"``, ``"STATUS=..."``) as one datagram; True if one was sent."""
    target = environ.get(NOTIFY_SOCKET)
    if not target or not assignments:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto("\n".join(assignments).encode(), _address(target))
    except (OSError, UnicodeEncodeError):
        return False
    return True


def reloading(environ: Mapping[str, str] = os.environ) -> bool:
    """``RELOADING=1`` with the monotonic time in microseconds (as ``Type=notify-reload`` requires)."""
    now_usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    return notify("RELOADING=1", f"MONOTONIC_USEC={now_usec}", environ=environ)


def watchdog_interval(environ: Mapping[str, str] = os.environ) -> float | None:
    """Seconds between ``WATCHDOG=1`` pings (half the unit's ``WatchdogSec=``), or None when no
    watchdog is asked of this process."""
    raw = environ.get(WATCHDOG_USEC, "")
    pid = environ.get(WATCHDOG_PID, "")
    if not raw.isdigit() or int(raw) == 0 or (pid and pid != str(os.getpid())):
        return None
    return int(raw) / 2e6
