"""The node runtime: trio tasks around :class:`node.core.NodeCore`, a store and a transport.

One task per connection and one per stream (a request, or a subscription). Decisions are the
core's; this module only moves bytes, awaits durable commits and wakes subscribers. An entry is
acknowledged after ``StoreWriter.append`` returns, that is after its transaction is on disk.
"""

from __future__ import annotations

import heapq
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import nacl.signing
import trio
import trio.lowlevel

from node.core import FORK_PREFIX, OTHER_PREFIX, Decision, NodeCore, from_record, pack_record
from node.limits import NodeLimits, TokenBucket
from node.store import Store, StoredEntry, StoreError
from node.store_writer import InlineStoreWriter, StoreWriter
from node.transport.base import Connection, MessageStream, TransportError
from node.transport.quic import serve_quic
from protocol import codec, crypto, kinds
from protocol.address import NodeAddress
from protocol.entry import Entry, decode_entry
from protocol.errors import HoldspaceError
from protocol.federation import ALPN_FEDERATION
from protocol.frames import (
    ALPN_CLIENT,
    CHALLENGE_SIZE,
    PROTOCOL_VERSION,
    ProtocolError,
    Request,
    auth_message,
    decode_request,
    encode_entries_event,
    encode_error,
    encode_fetch_ok,
    encode_ok,
    entry_item,
)
from protocol.group import compute
from protocol.log import ForkError, ForkProof

if TYPE_CHECKING:
    from node.federation import Federation

log = logging.getLogger("holdspace.node")

MAX_BUCKETS = 100_000  # publish rate buckets kept (least recently used evicted)
MAX_UNPLACED = 64  # headers a peer sent that could not be placed, kept per group in memory (see below)
READY_ROUNDS = 3  # computations afresh of one group's state before a check goes ahead (Node.ready)
FRAME_SLACK = 4096  # room in a frame for the response map around its entries
CLOSE_REFUSED = 1  # connection close code: this node refuses the peer (the reason says why)
RESET_INTERNAL = 1  # stream reset code: the node could not answer (e.g. the peer went away)
RESET_REQUEST_TIMEOUT = 2  # stream reset code: the request was not complete within request_timeout
SIMULATED_MAP_SIZE = 16 << 20  # initial map of a simulated node's store (it doubles on demand)
RETENTION_IDLE = 3600.0  # s: the retention task wakes at least this often
RETENTION_PAGE = 1000  # entries per step of the start-up retention pass
DELETE_BATCH = 1000  # payload deletions per durable transaction


def now_ms() -> int:
    return int(time.time() * 1000)


class NodeObserver(Protocol):
    """What a node reports as it runs, for the simulator's history (a real node has none)."""

    def stored(self, group: bytes, entry: Entry) -> None:
        """``entry`` is durably committed (a client's publish or a peer's)."""

    def refused(self, code: str, source: str) -> None:
        """A request or entry was refused with ``code``; ``source`` is ``client`` or ``peer``."""


class Session:
    """One client connection: its challenge, its authenticated pseudonyms, its rate limits."""

    def __init__(self, conn: Connection, limits: NodeLimits) -> None:
        self.conn = conn
        self.challenge = os.urandom(CHALLENGE_SIZE)
        self.authors: set[bytes] = set()
        self.subscriptions = 0
        now = trio.current_time()
        self.requests = TokenBucket(limits.request_rate, limits.request_burst, now)


class Node:
    """A running node's shared state. Create with :func:`open_node`."""

    def __init__(
        self,
        store: Store,
        writer: StoreWriter | InlineStoreWriter,
        node_key: nacl.signing.SigningKey,
        limits: NodeLimits,
        clock: Callable[[], int] = now_ms,
    ):
        self.store = store
        self.now_ms = clock  # wall clock in ms since the epoch (virtual in the simulator)
        self.writer = writer
        self.node_key = node_key
        self.public_key = bytes(node_key.verify_key)
        self.limits = limits
        self.core = NodeCore(store)
        self._group_events: dict[bytes, trio.Event] = {}
        # Subscribers at the same cursor share one encoded event: (group, after) -> (generation, frame, next)
        self._generation: dict[bytes, int] = {}
        # per group, the last headers refused with log.prev_mismatch or log.seq_gap: once a fork proof
        # arrives, those at or after the forked position count as the other branch (spec 12.5)
        self._unplaced: dict[bytes, dict[bytes, None]] = {}
        self._event_cache: dict[tuple[bytes, int, bool], tuple[int, bytes, int]] = {}
        self._publish_buckets: dict[bytes, TokenBucket] = {}  # insertion order = least recently used first
        self._commits: dict[bytes, trio.Event] = {}  # entry id -> set once its write is over
        self._computing: dict[bytes, trio.Lock] = {}  # group -> held while its state is computed afresh
        self._compute_limiter = trio.CapacityLimiter(1)  # one worker thread for full computations
        self._threads = not isinstance(writer, InlineStoreWriter)  # the simulator runs everything inline
        self._failed: set[bytes] = set()  # entry ids whose write failed (kept while successors wait)
        self.topology = trio.Event()  # set (and replaced) when a group's hosts may have changed
        self.federation: Federation | None = None  # set by node.federation.Federation
        self.observer: NodeObserver | None = None
        self._deadlines: list[tuple[int, bytes, bytes, int]] = []  # heap of (when, group, author, seq)
        self._deadlines_changed = trio.Event()
        self.retention_ready = trio.Event()  # set once the start-up retention pass is over
        self.clients = 0  # client connections open now (status and metrics)

    # -- serving -----------------------------------------------------------------------------

    async def serve_quic(
        self,
        host: str,
        port: int,
        *,
        task_status: trio.TaskStatus[tuple[str, int]] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        await serve_quic(
            host,
            port,
            node_key=self.node_key,
            alpns=[ALPN_CLIENT, ALPN_FEDERATION],
            handler=self.handle_connection,
            limits=self.limits.transport,
            task_status=task_status,
        )

    async def handle_connection(self, conn: Connection) -> None:
        if conn.alpn == ALPN_FEDERATION:
            if self.federation is None:
                await conn.aclose(CLOSE_REFUSED, "this node does not federate")
                return
            await self.federation.serve(conn)
            return
        session = Session(conn, self.limits)
        self.clients += 1
        try:
            await serve_streams(conn, lambda stream: self._handle_stream(session, stream))
        finally:
            self.clients -= 1

    async def _handle_stream(self, session: Session, stream: MessageStream) -> None:
        try:
            with trio.move_on_after(self.limits.request_timeout) as waiting:
                data = await stream.receive()
            if waiting.cancelled_caught:  # a request begun and never finished: free what it holds
                stream.reset(RESET_REQUEST_TIMEOUT)
                if self.observer is not None:
                    self.observer.refused("proto.request_timeout", "client")
                return
            if not session.requests.take(trio.current_time()):
                raise ProtocolError("proto.rate_limited", "too many requests on this connection")
            request = decode_request(data)
            if request.op == "subscribe":
                await self._subscribe(session, request, stream)
                return
            result = await self._dispatch(session, request)
            await stream.send(result if isinstance(result, bytes) else encode_ok(result))
            await stream.finish()
        except HoldspaceError as err:
            if self.observer is not None:
                self.observer.refused(err.code, "client")
            await send_error(stream, err.code, err.message)
        except StoreError as err:
            log.error("store failure: %s", err.code)
            await send_error(stream, "proto.busy", "the node could not store the entry; retry later")
        except TransportError:
            stream.reset(RESET_INTERNAL)  # never leave a request unanswered: the client sees a reset

    async def _dispatch(self, session: Session, request: Request) -> dict[str, codec.CborValue] | bytes:
        """The result of one request: a map to send as ``ok``, or a response already encoded."""
        if request.op == "hello":
            if request.int_of("v") != PROTOCOL_VERSION:
                raise ProtocolError("proto.bad_version", f"this node speaks protocol version {PROTOCOL_VERSION}")
            return {
                "v": PROTOCOL_VERSION,
                "node": self.public_key,
                "challenge": session.challenge,
                "limits": {
                    "publish_rate": int(self.limits.publish_rate),
                    "max_frame": self.limits.transport.max_message_size,
                },
            }
        if request.op == "auth":
            key, sig = request.bytes_of("k"), request.bytes_of("sig")
            if not crypto.ed25519_verify(key, auth_message(session.challenge, self.public_key, key), sig):
                raise ProtocolError("proto.bad_auth")
            if key not in session.authors and len(session.authors) >= self.limits.max_pseudonyms_per_connection:
                raise ProtocolError("proto.busy", "too many pseudonyms on one connection")
            session.authors.add(key)
            return {}
        if request.op == "publish":
            return await self.publish(request.bytes_of("e"), request.fields["b"], frozenset(session.authors))  # type: ignore[arg-type]
        if request.op == "publish_many":
            entries = request.fields["entries"]
            assert isinstance(entries, list)
            items = [(item[0], item[1]) for item in entries if isinstance(item, list)]
            return await self.publish_many(items, frozenset(session.authors))  # type: ignore[arg-type]
        if request.op == "fetch":
            group = request.bytes_of("g")
            full = self._check_read(session, group)
            limit = request.int_of("limit")
            page = await self.writer.read(self.store.iter_group, group, request.int_of("after"), limit)
            entries, last = self._items_within_frame(page, request.int_of("after"), full)
            more = len(entries) < len(page) or len(page) == limit
            return encode_fetch_ok(entries, last, more)  # spliced from the stored bytes
        if request.op == "state":
            group = request.bytes_of("g")
            self._check_read(session, group)
            state = self.core.view(group)
            banned: list[codec.CborValue] = [*sorted(state.banned)]
            return {
                "members": [[k, m.role] for k, m in sorted(state.members.items())],
                "banned": banned,
                "heads": list(state.heads),
                "epochs": [e.entry_id for e in state.epochs],
                "hosts": [state.hosts[k] for k in sorted(state.hosts)],
                "forks": [*self.fork_proofs(group)],
                "branch": self._branch_headers(group),
            }
        if request.op == "adopt":
            header, body = request.bytes_of("e"), request.fields["b"]
            if not self._publish_bucket(header, frozenset(session.authors)).take(trio.current_time()):
                raise ProtocolError("proto.rate_limited", "this pseudonym publishes too fast")
            hosts = request.fields["hosts"]
            assert isinstance(hosts, list)
            addresses = [NodeAddress.parse(h) for h in hosts if isinstance(h, str)]
            if self.core.hosts(_header_group(header)):
                return await self.publish(header, body if isinstance(body, bytes) else None, frozenset(session.authors))
            if self.federation is None:
                raise ProtocolError("proto.unknown_group", "this node does not federate, so it cannot join that group")
            return await self.federation.adopt(header, body if isinstance(body, bytes) else None, addresses)
        if request.op == "identity":
            group = request.bytes_of("g")
            self._check_read(session, group)
            document = self.core.identity_document(group, request.bytes_of("k"))
            if document is None:
                raise ProtocolError("proto.not_found", "no identity document for that pseudonym in this group")
            return {"doc": document}
        raise ProtocolError("proto.unknown_op")  # pragma: no cover - decode_request checked it

    def _entries_event(self, group: bytes, after: int, full: bool) -> tuple[bytes | None, int]:
        """The encoded event of the entries after ``after`` (None if there are none) and its last cursor.

        Read inline: a page of at most ``subscription_batch`` entries is a sub-millisecond LMDB read, far
        cheaper than a thread hop. Subscribers at the same cursor share one encoding until the group's
        next commit (its generation) changes what the page would hold."""
        generation = self._generation.get(group, 0)
        cached = self._event_cache.get((group, after, full))
        if cached is not None and cached[0] == generation:
            return cached[1], cached[2]
        page = self.store.iter_group(group, after, self.limits.subscription_batch)
        if not page:
            return None, after
        items, following = self._items_within_frame(page, after, full)
        frame = encode_entries_event(items, following)
        if len(self._event_cache) > 4096:
            self._event_cache.clear()
        self._event_cache[(group, after, full)] = (generation, frame, following)
        return frame, following

    @staticmethod
    def _event_item(cursor: int, record: StoredEntry, full: bool) -> bytes:
        """The encoded entry-item, spliced from the stored bytes (no decoding)."""
        if not full and record.kind in kinds.MESSAGE_KINDS:
            value = codec.decode(record.raw, max_size=len(record.raw))
            assert isinstance(value, list)
            return codec.encode([cursor, value[0], None])  # a former member gets headers only (spec 14.2)
        return entry_item(cursor, record.raw)

    def _items_within_frame(
        self, page: list[tuple[int, StoredEntry]], after: int, full: bool = True
    ) -> tuple[list[bytes], int]:
        """As many entries of ``page`` as fit one frame (at least one), encoded, and the last cursor taken."""
        budget = self.limits.transport.max_message_size - FRAME_SLACK
        items: list[bytes] = []
        last = after
        for cursor, record in page:
            budget -= len(record.raw) + 16
            if items and budget < 0:
                break
            items.append(self._event_item(cursor, record, full))
            last = cursor
        return items, last

    def _check_read(self, session: Session, group: bytes) -> bool:
        """Whether the session reads the group in full (True: a current member) or as a former
        member, who is served every header but no message payload (False); raises otherwise."""
        if not session.authors:
            raise ProtocolError("proto.unauthenticated", "authenticate a pseudonym first")
        if not self.core.hosts(group):
            raise ProtocolError("proto.unknown_group")
        if self.core.may_read(group, session.authors):
            return True
        state = self.core.view(group)
        if not any(state.ever_member(k) for k in session.authors):
            raise ProtocolError("proto.forbidden", "none of your pseudonyms has joined this group")
        return False

    # -- publishing --------------------------------------------------------------------------

    async def ready(self, header: bytes, group: bytes | None = None) -> None:
        """Bring the state of the entry's group up to date before the entry is checked. Entries that
        land at the end of L are applied at once; when the state must be computed afresh (an entry
        relayed by a peer that did not see every head, say: spec 12.8), that runs in a worker thread,
        one group at a time and one thread for all (the event loop keeps the other core), while the
        group's reads are served from its last state. Entries added meanwhile are applied after, so
        one computation covers a burst; at most ``READY_ROUNDS`` rounds, then the check decides."""
        if group is None:
            try:
                group = decode_entry(header, None, now_ms=None, verify=False).log_group
            except HoldspaceError:
                return  # the check gives the error
        await self.ready_group(group)

    async def ready_group(self, group: bytes) -> None:
        """:meth:`ready` for a group."""
        ctx = self.core.groups.get(group)
        if ctx is None or ctx.advance() or not self._threads:
            return
        async with self._computing.setdefault(group, trio.Lock()):
            for _ in range(READY_ROUNDS):
                if ctx.advance():
                    return
                generation, held = ctx.snapshot()
                comp = await trio.to_thread.run_sync(
                    compute, ctx.genesis, held, ctx.cache, ctx.forks or None, limiter=self._compute_limiter
                )
                ctx.install(generation, held, comp)

    async def publish(
        self, header: bytes, payload: bytes | None, authors: frozenset[bytes] | None
    ) -> dict[str, codec.CborValue]:
        """Validate, store durably, wake subscribers. ``authors`` None: relayed by a peer node.

        A client's entry is stored only if it takes effect; otherwise it is refused with its code and
        nothing is stored, so the client may use that log position again. (A peer's entry is stored
        whenever it is admissible, spec 12.6, so that hosts converge.)"""
        if authors is not None:
            bucket = self._publish_bucket(header, authors)
            if not bucket.take(trio.current_time()):
                raise ProtocolError("proto.rate_limited", "this pseudonym publishes too fast")
        await self.ready(header)
        try:
            decision = self.core.check_entry(header, payload, now_ms=self.now_ms(), authors=authors)
        except ForkError as fork:
            await self._record_fork(fork)
            raise
        if decision.outcome is not None and authors is not None:
            raise RefusedError(decision.outcome)
        if decision.duplicate:
            pending = self._commits.get(decision.entry.entry_id)
            if pending is not None:  # the same entry is still being written: acknowledge once durable
                await pending.wait()
                if decision.entry.entry_id in self._failed:
                    raise ProtocolError("proto.busy", "the node could not store the entry; retry later")
        with trio.CancelScope(shield=True):  # a durable write is followed through, caller or not
            cursor = await self._store(decision)
        result: dict[str, codec.CborValue] = {"id": decision.entry.entry_id, "c": cursor}
        if decision.outcome is not None:
            raise RefusedError(decision.outcome)
        return result

    async def publish_many(
        self, items: list[tuple[bytes, bytes]], authors: frozenset[bytes]
    ) -> dict[str, codec.CborValue]:
        """Several client entries in one request (spec 14.2 ``publish_many``): each is checked as a
        ``publish`` is, in order (each sees the ones before it), and those taking effect are written in
        ONE durable transaction. One result per entry, ``[cursor, null]`` or ``[null, code]``; the
        answer comes once every stored entry is durable. Rate limits count every entry."""
        for header, _ in items:  # every author must be authenticated here, and has its budget spent
            bucket = self._publish_bucket(header, authors)
            if not bucket.take(trio.current_time()):
                raise ProtocolError("proto.rate_limited", "this pseudonym publishes too fast")
        outcomes: list[Decision | str] = []
        batch: list[Decision] = []
        for header, payload in items:
            await self.ready(header)
            try:
                decision = self.core.check_entry(header, payload, now_ms=self.now_ms(), authors=authors)
            except ForkError as fork:
                await self._record_fork(fork)
                outcomes.append(fork.code)
                continue
            except HoldspaceError as err:
                outcomes.append(err.code)
                continue
            if decision.outcome is not None:
                outcomes.append(decision.outcome)
                continue
            outcomes.append(decision)
            if decision.duplicate:
                continue
            self._reserve(decision)
            batch.append(decision)
        cursors: dict[bytes, int | None] = {}
        if batch:
            with trio.CancelScope(shield=True):  # reserved entries are written through, caller or not
                written = await self._write_reserved(batch, lambda: self.writer.append_batch([d.record for d in batch]))
            cursors = {d.entry.entry_id: c for d, c in zip(batch, written, strict=True)}
        results: list[codec.CborValue] = []
        for outcome in outcomes:
            if isinstance(outcome, str):
                results.append([None, outcome])
                continue
            pending = self._commits.get(outcome.entry.entry_id)
            if outcome.duplicate and pending is not None:  # the same entry is being written elsewhere
                await pending.wait()
            if outcome.entry.entry_id in self._failed:
                results.append([None, "proto.busy"])
            else:
                results.append([cursors.get(outcome.entry.entry_id) or 0, None])
        return {"results": results}

    def _publish_bucket(self, header: bytes, authors: frozenset[bytes]) -> TokenBucket:
        """The rate bucket of the entry's author, which must be authenticated on this connection (so
        nobody else can spend a pseudonym's budget)."""
        author = _publish_author(header, authors)
        bucket = self._publish_buckets.pop(author, None)
        if bucket is None:
            bucket = TokenBucket(self.limits.publish_rate, self.limits.publish_burst, trio.current_time())
            if len(self._publish_buckets) >= MAX_BUCKETS:
                del self._publish_buckets[next(iter(self._publish_buckets))]  # least recently used
        self._publish_buckets[author] = bucket
        return bucket

    async def _store(self, decision: Decision) -> int:
        if decision.duplicate:
            return 0
        self._reserve(decision)
        return await self._write(decision)

    def _reserve(self, decision: Decision) -> None:
        """Count the entry in (later checks see it) before its write starts; no checkpoint here."""
        self.core.reserve(decision)
        self._commits[decision.entry.entry_id] = trio.Event()

    async def _write(self, decision: Decision) -> int:
        async def append() -> list[int | None]:
            return [await self.writer.append(decision.record)]

        (cursor,) = await self._write_reserved([decision], append)
        return cursor or 0

    async def _write_reserved(
        self, batch: list[Decision], write: Callable[[], Awaitable[list[int | None]]]
    ) -> list[int | None]:
        """Write reserved decisions with ``write``, once every log predecessor that another task is
        still writing is durable (never seq s+1 before seq s). A failure un-reserves the whole batch;
        success runs each entry's follow-up, in order."""
        ids = {d.entry.entry_id for d in batch}
        try:
            for decision in batch:
                prev = decision.entry.prev
                predecessor = self._commits.get(prev) if prev and prev not in ids else None
                if predecessor is not None:
                    await predecessor.wait()
                    if prev in self._failed:
                        raise ProtocolError("proto.busy", "an earlier entry of this log could not be stored")
            cursors = await write()
        except BaseException:
            for decision in reversed(batch):
                self._failed.add(decision.entry.entry_id)
                self.core.aborted(decision)
            raise
        finally:
            for decision in batch:
                self._commits.pop(decision.entry.entry_id).set()
        for group in dict.fromkeys(d.group_id for d in batch):  # the commits' follow-ups read the state
            await self.ready_group(group)
        for decision in batch:
            self._failed.discard(decision.entry.entry_id)
            await self._after_commit(decision)
        return cursors

    async def _after_commit(self, decision: Decision) -> None:
        """What a durable commit leaves to do: payloads a control entry de-authorised, wake-ups."""
        entry = decision.entry
        followup = self.core.committed(decision)
        if followup.forget_payloads:
            await self._forget_payloads(followup.group_id, followup.forget_payloads)
        for when, author, seq in followup.deadlines:
            self.delete_at(when, followup.group_id, author, seq)
        if entry.kind in (kinds.GENESIS, kinds.JOIN, kinds.HOST):
            self.topology_changed()
        self._wake(decision.group_id)
        if self.observer is not None:
            self.observer.stored(decision.group_id, entry)

    async def ingest(
        self,
        items: list[tuple[bytes, bytes | None]],
        group: bytes | None = None,
        accepted: Callable[[Decision], None] | None = None,
    ) -> list[Decision | HoldspaceError | None]:
        """Validate and store entries relayed by a peer node, in the given order, and return once all
        are durable. One result per item: its decision (stored, or a duplicate), its error (refused),
        or None for a fork (proof recorded). Each entry gets the checks of a client publish, on the
        peer path (spec 16.5); with ``group``, an entry of another group is refused
        (``fed.wrong_group``). ``accepted`` is called for each entry to store, before its write
        starts (so before anyone can be woken by its commit).

        The entries to store are written in ONE transaction, in the order they were checked: the
        store's arrival order is then a valid order for validation, which is what this node's own
        peers rely on when they pull from it (spec 16.3)."""
        results: list[Decision | HoldspaceError | None] = []
        batch: list[Decision] = []
        elsewhere: list[bytes] = []  # duplicates whose write another task has under way
        for header, payload in items:
            await self.ready(header, group)
            try:
                decision = self.core.check_entry(header, payload, now_ms=self.now_ms(), authors=None, group=group)
            except ForkError as fork:
                await self._record_fork(fork)
                results.append(None)
                continue
            except HoldspaceError as err:
                if err.code in ("log.prev_mismatch", "log.seq_gap"):
                    await self.note_other_branch(header)
                    self._remember_unplaced(header)
                results.append(err)
                continue
            results.append(decision)
            if accepted is not None:
                accepted(decision)
            if decision.duplicate:
                if decision.entry.entry_id in self._commits:
                    elsewhere.append(decision.entry.entry_id)
                continue
            self._reserve(decision)
            batch.append(decision)
        with trio.CancelScope(shield=True):  # reserved entries are written through, caller or not
            await self._write_batch(batch)
        for entry_id in elsewhere:
            pending = self._commits.get(entry_id)
            if pending is not None:
                await pending.wait()
            if entry_id in self._failed:
                raise ProtocolError("proto.busy", "an entry this batch needs could not be stored")
        return results

    async def _write_batch(self, batch: list[Decision]) -> None:
        """Reserved decisions, written in one ordered transaction."""
        if batch:
            await self._write_reserved(batch, lambda: self.writer.append_batch([d.record for d in batch]))

    def group_event(self, group: bytes) -> trio.Event:
        """Set at the group's next commit (or new fork proof); take it *before* reading the store."""
        return self._group_events.setdefault(group, trio.Event())

    def topology_changed(self) -> None:
        """A group's host list may have changed: federation recomputes whom to sync with."""
        self.topology.set()
        self.topology = trio.Event()

    async def _forget_payload(self, group: bytes, author: bytes, seq: int) -> None:
        """Delete a message's payload, keeping its signed header (spec 12.6 step 5, 17.5): a control
        entry de-authorised it, redacted or erased it, or its time is up."""
        await self._forget_payloads(group, [(author, seq)])

    async def _forget_payloads(
        self, group: bytes, positions: list[tuple[bytes, int]], now_ms: int | None = None
    ) -> None:
        """:meth:`_forget_payload` for many entries, in durable transactions of up to DELETE_BATCH.
        With ``now_ms``, each is checked again first (:meth:`NodeCore.must_delete`)."""
        items: list[tuple[bytes, bytes]] = []
        for author, seq in positions:
            record = self.store.get_at(group, author, seq)
            if record is None or kinds.is_control(record.kind):
                continue
            entry = from_record(record)
            if entry.payload is None:
                continue
            if now_ms is not None and not self.core.must_delete(group, entry, now_ms, self.core.deadline(group, entry)):
                continue
            items.append((record.entry_id, pack_record(entry.without_payload())))
        for start in range(0, len(items), DELETE_BATCH):
            self._generation[group] = self._generation.get(group, 0) + 1  # drop cached pages holding them
            await self.writer.delete_bodies(items[start : start + DELETE_BATCH])

    # -- deletion on time (expiring messages, session retention) -----------------------------

    def delete_at(self, when_ms: int, group: bytes, author: bytes, seq: int) -> None:
        """Schedule a payload's deletion at wall time ``when_ms``."""
        if not self._deadlines or when_ms < self._deadlines[0][0]:
            self._deadlines_changed.set()
        heapq.heappush(self._deadlines, (when_ms, group, author, seq))

    async def run_retention(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Delete payloads when they are due. First, one pass over every stored message, paced, to
        schedule deadlines and to finish deletions a stop may have interrupted (a redaction or erasure
        committed just before a crash); then, sleep until the next deadline."""
        task_status.started()
        await self._retention_pass()
        self.retention_ready.set()
        while True:
            now = self.now_ms()
            due: dict[bytes, list[tuple[bytes, int]]] = {}
            while self._deadlines and self._deadlines[0][0] <= now:
                _, group, author, seq = heapq.heappop(self._deadlines)
                due.setdefault(group, []).append((author, seq))
            for group, positions in due.items():
                # checked again: a session update may have lengthened or lifted the retention since
                await self._forget_payloads(group, positions, now)
            wait = (self._deadlines[0][0] - now) / 1000 if self._deadlines else RETENTION_IDLE
            with trio.move_on_after(min(wait, RETENTION_IDLE)):
                await self._deadlines_changed.wait()
            self._deadlines_changed = trio.Event()

    async def _retention_pass(self) -> None:
        for group in self.store.groups():
            after = 0
            while page := self.store.iter_group(group, after, RETENTION_PAGE):
                now, due = self.now_ms(), []
                for cursor, record in page:
                    after = cursor
                    if record.kind not in kinds.MESSAGE_KINDS:
                        continue
                    entry = from_record(record)
                    if entry.payload is None:
                        continue
                    deadline = self.core.deadline(group, entry)
                    if self.core.must_delete(group, entry, now, deadline):
                        due.append((entry.author, entry.seq))
                    elif deadline is not None:
                        self.delete_at(deadline, group, entry.author, entry.seq)
                await self._forget_payloads(group, due)
                await trio.lowlevel.checkpoint()

    async def _record_fork(self, fork: ForkError) -> None:
        await self.record_fork_proof(fork.proof)

    async def record_fork_proof(self, proof: ForkProof) -> bool:
        """Store a verified fork proof (one per author and group: the one at the smallest seq); True
        if it was new. The group's state applies it (spec 12.5); subscribers and peers of the group
        are woken so the proof travels on (spec 7.3, 16.5)."""
        key = FORK_PREFIX + proof.group + proof.author
        if not self.core.fork_proven(proof):
            return False
        await self.writer.put_meta(key, proof.encode())
        for header in list(self._unplaced.get(proof.group, ())):  # refused before the proof was known
            await self.note_other_branch(header)
        log.warning("equivocation detected in a group log (proof stored)")
        self._wake(proof.group)
        return True

    async def note_other_branch(self, header: bytes) -> None:
        """Remember (durably) a header of a proven equivocator at or after its forked position that
        cannot be placed here, so control entries naming it are not held back (spec 12.5)."""
        other = self.core.other_branch(header)
        if other is not None:
            await self.writer.put_meta(OTHER_PREFIX + other.log_group + other.entry_id, header)
            self._wake(other.log_group)

    def _branch_headers(self, group: bytes) -> list[codec.CborValue]:
        """Headers of proven equivocators' entries at or after their forked position that this node
        could not place (spec 12.5), as many as fit in half a frame: a client needs them to read a
        ``d`` that names one."""
        room = self.limits.transport.max_message_size // 2
        out: list[codec.CborValue] = []
        for header in self.core.other_headers(group):
            room -= len(header) + 4
            if room < 0:
                break
            out.append(header)
        return out

    def _remember_unplaced(self, header: bytes) -> None:
        try:
            group = decode_entry(header, None, now_ms=None, verify=False).log_group
        except HoldspaceError:
            return
        kept = self._unplaced.setdefault(group, {})
        kept[header] = None
        if len(kept) > MAX_UNPLACED:
            del kept[next(iter(kept))]
        if len(self._unplaced) > MAX_BUCKETS:
            del self._unplaced[next(iter(self._unplaced))]

    def generation(self, group: bytes) -> int:
        """A number that changes whenever the group's entries, deletions or fork proofs change."""
        return self._generation.get(group, 0)

    def fork_proofs(self, group: bytes) -> list[bytes]:
        """The fork proofs this node holds for ``group`` (at most one per author)."""
        return [value for _key, value in self.store.meta_items(FORK_PREFIX + group, limit=100_000)]

    def _wake(self, group: bytes) -> None:
        self._generation[group] = self._generation.get(group, 0) + 1
        event = self._group_events.pop(group, None)
        if event is not None:
            event.set()

    # -- subscriptions -----------------------------------------------------------------------

    async def _subscribe(self, session: Session, request: Request, stream: MessageStream) -> None:
        group = request.bytes_of("g")
        self._check_read(session, group)  # re-checked for every event: a member removed meanwhile reads less
        if session.subscriptions >= self.limits.max_subscriptions_per_connection:
            raise ProtocolError("proto.busy", "too many subscriptions on this connection")
        session.subscriptions += 1
        try:
            cursor = request.int_of("after")
            await stream.send(encode_ok({"next": cursor}))
            while True:
                event = self._group_events.setdefault(group, trio.Event())
                frame, following = self._entries_event(group, cursor, self._check_read(session, group))
                if frame is not None:
                    cursor = following
                    await stream.send(frame)
                    continue
                await event.wait()  # a quiet connection is kept open by the transport's keep-alive
        finally:
            session.subscriptions -= 1


async def send_error(stream: MessageStream, code: str, message: str) -> None:
    """Answer a request with ``{"err": {code, msg}}`` and finish; a peer already gone is no error."""
    try:
        await stream.send(encode_error(code, message))
        await stream.finish()
    except TransportError:
        pass


async def serve_streams(conn: Connection, handle: Callable[[MessageStream], Awaitable[None]]) -> None:
    """One task per stream the peer opens, until the connection ends (then the tasks are cancelled)."""
    async with trio.open_nursery() as nursery:
        while True:
            try:
                stream = await conn.accept_stream()
            except TransportError:
                break
            nursery.start_soon(handle, stream)
        nursery.cancel_scope.cancel()


def _publish_author(header: bytes, authors: frozenset[bytes]) -> bytes:
    """The header's author, which must be one of ``authors`` (authenticated on the connection)."""
    fields = codec.decode(header, max_size=len(header))  # a damaged header is refused with its cbor.* code
    author = fields.get("a") if isinstance(fields, dict) else None
    if not isinstance(author, bytes) or author not in authors:
        raise ProtocolError("proto.unauthenticated", "authenticate the entry's author on this connection first")
    return author


def _header_group(header: bytes) -> bytes:
    """The group of an entry header (verified later by whoever stores it)."""
    entry = decode_entry(header, None, now_ms=None, verify=False)
    return entry.log_group


class RefusedError(HoldspaceError):
    """An entry refused by the group's rules (a group.* code), answered to its publisher."""


@asynccontextmanager
async def open_node(
    data_dir: Path,
    node_key: nacl.signing.SigningKey,
    limits: NodeLimits | None = None,
    *,
    clock: Callable[[], int] = now_ms,
    simulated: bool = False,
) -> AsyncIterator[Node]:
    """Open the store in ``data_dir/store`` and run a node around it until the block exits.

    ``simulated``: no threads and no fdatasync (the simulator: virtual time, reproducible order;
    see :class:`~node.store_writer.InlineStoreWriter`); the node's logic is the same.
    """
    if simulated:
        store = Store.open(data_dir / "store", map_size=SIMULATED_MAP_SIZE, durable=False)
    else:
        store = Store.open(data_dir / "store")
    try:
        async with InlineStoreWriter(store) if simulated else StoreWriter(store) as writer:
            node = Node(store, writer, node_key, limits or NodeLimits(), clock)
            # every group's state, computed before serving and off the event loop (nothing else runs yet)
            if simulated:
                node.core.load_all()
            else:
                await trio.to_thread.run_sync(node.core.load_all)
            async with trio.open_nursery() as nursery:
                await nursery.start(node.run_retention)
                yield node
                nursery.cancel_scope.cancel()
    finally:
        store.close()
