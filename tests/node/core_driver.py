"""The node core driven as the node's runtime drives it (check, reserve, write, commit), over the
in-memory reader with an explicit ``now``: shared by tests and ``benchmarks/control_bench.py``."""

from __future__ import annotations

from holdspace.node.core import Decision, NodeCore
from holdspace.node.memory_store import MemoryReader
from holdspace.protocol.entry import Entry
from holdspace.protocol.errors import HoldspaceError
from tests.group_world import World


def commit(core: NodeCore, reader: MemoryReader, decision: Decision) -> None:
    core.reserve(decision)
    reader.append([decision.record])
    core.committed(decision)


def store_all(core: NodeCore, reader: MemoryReader, entries: list[Entry], now_ms: int) -> None:
    """Entries relayed by a peer, each checked, reserved, written and committed."""
    for entry in entries:
        commit(core, reader, core.check_entry(entry.raw, entry.payload, now_ms=now_ms, authors=None))


def from_client(core: NodeCore, reader: MemoryReader, entry: Entry, now_ms: int) -> str | None:
    """A client's publish: stored only if it takes effect; returns the refusal code, or None."""
    try:
        decision = core.check_entry(entry.raw, entry.payload, now_ms=now_ms, authors=frozenset({entry.author}))
    except HoldspaceError as err:
        return err.code
    if decision.outcome is not None:
        return decision.outcome
    commit(core, reader, decision)
    return None


def hosted(w: World) -> tuple[NodeCore, MemoryReader]:
    """A node core holding every entry of ``w``, its group's state computed."""
    reader = MemoryReader()
    core = NodeCore(reader)
    store_all(core, reader, list(w.entries.values()), w.clock)
    core.state(w.group_id)
    return core, reader
