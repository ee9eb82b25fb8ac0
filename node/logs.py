"""Logging for ``holdspace node run``: one handler on the root logger, text or JSON lines, UTC timestamps.

Everything the node logs goes through here, aioquic's own loggers (``quic``) included, so one
``--log-level`` and one ``--log-format`` govern every line.

Invariant (what callers may log): node ids, error codes, counts, addresses of nodes. Never content,
never a pseudonym, never the id of an entry or of a group (each can link a person across places).
At DEBUG, aioquic adds its own lines: QUIC connection ids (random, per connection) and packet events.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, TextIO

LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("text", "json")
QUIC_LOGGER = "quic"  # aioquic's logger (connections and the QUIC layer)
_MARK = "_holdspace_handler"


def _timestamp(created: float) -> str:
    """ISO 8601 in UTC with milliseconds, e.g. ``2026-12-06T02:45:00.123Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created)) + f".{int(created % 1 * 1000):03d}Z"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts``, ``level``, ``logger``, ``msg`` and, for an exception,
    ``exc`` (its traceback as text). Newlines inside a message are escaped by JSON, so a line is
    always one record."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``2026-12-06T02:45:00.123Z INFO holdspace.node: message``."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_timestamp(record.created)} {record.levelname} {record.name}: {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def setup_logging(level: str = "info", fmt: str = "text", stream: TextIO | None = None) -> logging.Handler:
    """Send every log record at ``level`` or above to ``stream`` (stderr by default) in ``fmt``.

    Replaces a handler installed by an earlier call (so calling it twice never doubles lines) and
    leaves other handlers alone. aioquic's ``quic`` logger writes through the same handler, but its
    INFO lines (several per connection: version and ALPN negotiated, closes) appear only at
    ``debug``; at the other levels it shows its warnings and errors.
    Raises ``ValueError`` for a level or format not in :data:`LEVELS` / :data:`FORMATS`."""
    if level not in LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LEVELS)}")
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}")
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(old)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    setattr(handler, _MARK, True)
    root.addHandler(handler)
    root.setLevel(level.upper())
    quic = logging.getLogger(QUIC_LOGGER)
    quic.setLevel(logging.NOTSET if level == "debug" else max(logging.WARNING, root.level))
    quic.propagate = True
    return handler
