"""The entry kind registry: every kind a node accepts, by number.

Invariant: numbers are never reused or renumbered; an entry whose kind is not in :data:`KINDS`
is rejected with ``entry.unknown_kind`` by every node, so a kind can only be added by a new
protocol revision that all hosts of a group run.
"""

from __future__ import annotations

MESSAGE = 0x10

#: number -> name, as written in the spec's kind table.
KINDS: dict[int, str] = {
    MESSAGE: "message",
}


def kind_name(kind: int) -> str:
    return KINDS.get(kind, f"unknown({kind})")
