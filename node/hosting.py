"""The narrow interfaces between the node runtime and federation, so neither imports the other.

:class:`HostingNode` lists exactly what federation (``node.federation``) uses of a running node;
``node.server.Node`` implements it. :class:`Federator` lists what the node asks of federation (serve
a peer's connection, fetch a group for a client's ``adopt``); ``node.federation.Federation``
implements it and attaches itself to the node.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import trio

from holdspace.node.core import Decision
from holdspace.node.limits import NodeLimits
from holdspace.node.records import StoredEntry
from holdspace.node.transport.base import Connection
from holdspace.node.write_behind import WriteBehind
from holdspace.protocol import codec
from holdspace.protocol.address import NodeAddress
from holdspace.protocol.entry import Entry
from holdspace.protocol.errors import HoldspaceError
from holdspace.protocol.log import ForkProof


class NodeObserver(Protocol):
    """What a node reports as it runs, for the simulator's history (a real node has none)."""

    def stored(self, group: bytes, entry: Entry) -> None:
        """``entry`` is durably committed (a client's publish or a peer's)."""

    def refused(self, code: str, source: str) -> None:
        """A request or entry was refused with ``code``; ``source`` is ``client`` or ``peer``."""


class LogReader(Protocol):
    """The store reads federation makes (``node.store.Store`` implements them)."""

    def heads(self, group: bytes) -> dict[bytes, tuple[int, bytes]]: ...
    def last_cursor(self, group: bytes) -> int: ...
    def get_at(self, group: bytes, author: bytes, seq: int) -> StoredEntry | None: ...
    def iter_group(self, group: bytes, after_cursor: int = 0, limit: int = ...) -> list[tuple[int, StoredEntry]]: ...
    def has(self, entry_id: bytes) -> bool: ...
    def get_meta(self, key: bytes) -> bytes | None: ...
    def meta_items(self, prefix: bytes, limit: int = ...) -> list[tuple[bytes, bytes]]: ...


class HostedGroups(Protocol):
    """Which groups the node hosts and with whom (``node.core.NodeCore`` implements it)."""

    def hosts(self, group_id: bytes) -> bool: ...
    def all_hosts(self) -> dict[bytes, dict[bytes, str]]: ...
    def serves(self, group_id: bytes, peer: bytes) -> bool: ...
    def serve_refusal(self, group_id: bytes, peer: bytes) -> str | None: ...
    def admit_invitation(self, group: bytes, *, added_peer: bool) -> None:
        """Raise an ``AdmissionError`` unless the operator lets ``peer`` make this node host ``group``."""

    def invitation_ended(self, group: bytes) -> None: ...


class Federator(Protocol):
    """What the node asks of federation."""

    async def serve(self, conn: Connection) -> None:
        """Serve a peer node's connection (ALPN ``holdspace-fed/1``) until it ends."""

    async def adopt(self, header: bytes, payload: bytes | None, hosts: list[NodeAddress]) -> dict[str, codec.CborValue]:
        """A client's join of a group hosted elsewhere: offer it to ``hosts``, then pull the group
        until the join is stored here; the ``publish`` answer (spec 14.2 rule 7)."""


class HostingNode(Protocol):
    """What federation uses of the node: its identity and limits, reads of its store and group
    states, ingestion of relayed entries, fork proofs, wake-ups, and a place to keep cursors."""

    federation: Federator | None  # federation attaches itself here

    @property
    def public_key(self) -> bytes: ...
    @property
    def limits(self) -> NodeLimits: ...
    @property
    def store(self) -> LogReader: ...
    @property
    def core(self) -> HostedGroups: ...
    @property
    def observer(self) -> NodeObserver | None: ...
    @property
    def topology(self) -> trio.Event:
        """Set (and replaced) when a group's hosts may have changed."""

    @property
    def now_ms(self) -> Callable[[], int]:
        """The node's wall clock, in ms since the epoch."""

    def topology_changed(self) -> None: ...
    def group_event(self, group: bytes) -> trio.Event: ...
    def generation(self, group: bytes) -> int: ...
    def fork_proofs(self, group: bytes) -> list[bytes]: ...
    def proofs_stored(self, group: bytes) -> int:
        """Fork proofs of ``group`` stored since the node started: :meth:`fork_proofs` is read again
        only when it moves."""

    async def put_meta(self, key: bytes, value: bytes) -> None:
        """Durably store a small value under ``key`` (peer cursors)."""

    async def ingest(
        self,
        items: list[tuple[bytes, bytes | None]],
        group: bytes | None = None,
        accepted: Callable[[Decision], None] | None = None,
        behind: WriteBehind | None = None,
    ) -> list[Decision | HoldspaceError | None]: ...

    async def record_fork_proof(self, proof: ForkProof) -> bool: ...
    async def publish(
        self, header: bytes, payload: bytes | None, authors: frozenset[bytes] | None
    ) -> dict[str, codec.CborValue]: ...
