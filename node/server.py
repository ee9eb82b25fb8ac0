"""The node runtime: trio tasks around :class:`node.core.NodeCore`, a store and a transport.

One task per connection, reading its session stream (spec 14.1), and one per request in flight or
subscription; answers are written on the session stream in the order they complete. Decisions are the
core's (what to store) and the client session's (``node.session``: what each request does); this
module only moves bytes and time, performs the session's effects, awaits durable commits and wakes
subscribers. An entry is acknowledged after ``StoreWriter.append`` returns, that is after its
transaction is on disk. Federation reaches the node through ``node.hosting.HostingNode`` only.
"""

from __future__ import annotations

import gc
import heapq
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Sequence
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

import nacl.signing
import trio
import trio.lowlevel

from holdspace.node.admission import USES_PREFIX, Policy, encode_uses
from holdspace.node.core import FORK_PREFIX, OTHER_PREFIX, Decision, NodeCore, from_record, pack_record
from holdspace.node.framing import items_within_frame
from holdspace.node.hosting import Federator, NodeObserver
from holdspace.node.limits import NodeLimits
from holdspace.node.rates import MAX_BUCKETS, PublishRates
from holdspace.node.session import (
    RESET_EXTRA_STREAM,
    Adopt,
    Answer,
    CancelSubscription,
    ClientSession,
    Close,
    Fetch,
    Listen,
    Publish,
    PublishMany,
    PutBackup,
    Refuse,
    Relay,
    Subscribe,
    header_group,
)
from holdspace.node.signals import TurnRelay, turn_credentials
from holdspace.node.store import Store, StoreError
from holdspace.node.store_writer import InlineStoreWriter, StoreWriter
from holdspace.node.transport.base import Connection, EndOfStream, MessageStream, TransportError
from holdspace.node.transport.quic import serve_quic
from holdspace.node.verify_threads import SignatureThreads
from holdspace.node.write_behind import WriteBehind
from holdspace.protocol import codec, kinds
from holdspace.protocol.entry import Entry, decode_entry
from holdspace.protocol.errors import HoldspaceError
from holdspace.protocol.federation import ALPN_FEDERATION
from holdspace.protocol.frames import (
    ALPN_CLIENT,
    CHALLENGE_SIZE,
    CLOSE_BAD_FRAME,
    ProtocolError,
    encode_answer,
    encode_refusal,
    entries_event_tail,
    splice_entries_event,
)
from holdspace.protocol.group import compute
from holdspace.protocol.log import ForkError, ForkProof

log = logging.getLogger("holdspace.node")

MAX_UNPLACED = 64  # headers a peer sent that could not be placed, kept per group in memory (see below)
READY_ROUNDS = 3  # computations afresh of one group's state before a check goes ahead (Node.ready_group)
CLOSE_REFUSED = 1  # connection close code: this node refuses the peer (the reason says why)
RESET_INTERNAL = 1  # stream reset code: the node could not answer (e.g. the peer went away)
#: a simulated store's initial map; it doubles on demand (with its writable map, the first write
#: costs kernel time in proportion to the map: 16 MB cost some 5 ms a node)
SIMULATED_MAP_SIZE = 1 << 20
#: The request kinds timed (``Node.request_timer``): each deferred effect's, plus "inline" (hello,
#: auth, state, identity: answered at once), "refused" (answered with an error at once) and "cancel".
REQUEST_KINDS: dict[type, str] = {
    Publish: "publish",
    PublishMany: "publish_many",
    Adopt: "adopt",
    Fetch: "fetch",
    PutBackup: "backup_put",
}
#: subscription pages kept encoded (``Node._entries_event``): groups, and pages of one group's current
#: generation (its subscribers' distinct cursors); at most 4,096 pages in all, none of an older generation
EVENT_CACHE_GROUPS = 512
EVENT_CACHE_PAGES = 8
SIGNAL_QUEUE = 64  # signals waiting to be written to one connection; beyond, a signal is dropped
RETENTION_IDLE = 3600.0  # s: the retention task wakes at least this often
RETENTION_PAGE = 1000  # entries per step of the start-up retention pass
DELETE_BATCH = 1000  # payload deletions per durable transaction


def now_ms() -> int:
    return int(time.time() * 1000)


class Node:
    """A running node's shared state. Create with :func:`open_node`."""

    def __init__(
        self,
        store: Store,
        writer: StoreWriter | InlineStoreWriter,
        node_key: nacl.signing.SigningKey,
        limits: NodeLimits,
        clock: Callable[[], int] = now_ms,
        policy: Policy | None = None,
    ):
        self.store = store
        self.now_ms = clock  # wall clock in ms since the epoch (virtual in the simulator)
        self.writer = writer
        self.node_key = node_key
        self.public_key = bytes(node_key.verify_key)
        self.limits = limits
        self.core = NodeCore(store, policy)
        self._group_events: dict[bytes, trio.Event] = {}
        # Subscribers at the same cursor share one encoded event: (group, after) -> (generation, frame, next)
        self._generation: dict[bytes, int] = {}
        self._proofs_stored: dict[bytes, int] = {}  # group -> fork proofs stored since start (groups with one)
        # per group, the last headers refused with log.prev_mismatch or log.seq_gap: once a fork proof
        # arrives, those at or after the forked position count as the other branch (spec 12.5)
        self._unplaced: dict[bytes, dict[bytes, None]] = {}
        # group -> (its generation, (after, full) -> (event tail, last cursor)): this generation's only
        self._event_cache: dict[bytes, tuple[int, dict[tuple[int, bool], tuple[bytes, int]]]] = {}
        self.rates = PublishRates(limits.publish_rate, limits.publish_burst)  # per pseudonym, all connections
        self._commits: dict[bytes, trio.Event] = {}  # entry id -> set once its write is over
        self._computing: dict[bytes, trio.Lock] = {}  # group -> held while its state is computed afresh
        self._compute_limiter = trio.CapacityLimiter(1)  # one worker thread for full computations
        self._threads = not isinstance(writer, InlineStoreWriter)  # the simulator runs everything inline
        #: a batch's signatures verified in a worker thread (None: inline, the simulator)
        self.signatures: SignatureThreads | None = SignatureThreads() if self._threads else None
        self._failed: set[bytes] = set()  # entry ids whose write failed (kept while successors wait)
        self.topology = trio.Event()  # set (and replaced) when a group's hosts may have changed
        self.federation: Federator | None = None  # set by node.federation.Federation
        self.observer: NodeObserver | None = None
        self._deadlines: list[tuple[int, bytes, bytes, int]] = []  # heap of (when, group, author, seq)
        self._deadlines_changed = trio.Event()
        self.retention_ready = trio.Event()  # set once the start-up retention pass is over
        self.clients = 0  # client connections open now (status and metrics)
        #: The web endpoint's origin (``https://host:port``) while it serves, told in hello (spec 14.2,
        #: 14.3: clients make invite links with it); set by ``node.web.serve.serve_web``.
        self.web_origin: str | None = None
        #: Called with (request kind, seconds from its frame's arrival to its answer written); the
        #: metrics endpoint sets it. Kinds: :data:`REQUEST_KINDS`.
        self.request_timer: Callable[[str, float], None] | None = None
        #: The operator's TURN relay (spec 17.11): ``listen`` hands out short-lived credentials for it.
        self.turn: TurnRelay | None = None
        #: Per client connection, the queue its signals are written from (spec 17.11).
        self._signal_queues: dict[Hashable, trio.MemorySendChannel[bytes]] = {}
        self.signals_dropped = 0  # signals lost because their listener's queue was full

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
        await self.serve_client(conn)

    async def serve_client(self, conn: Connection) -> None:
        """Serve a client connection (spec 14.1) until it ends, whatever carries it: the node's own
        QUIC binding, WebTransport or a WebSocket (spec 15.8): one :class:`ClientSession` per
        connection, driven by the same runtime."""
        session = ClientSession(self, os.urandom(CHALLENGE_SIZE), trio.current_time())
        self.clients += 1
        try:
            await self._serve_session(conn, session)
        finally:
            session.closed()
            self.clients -= 1

    @property
    def federates(self) -> bool:
        """Whether a federation is attached (a client's ``adopt`` of a group hosted elsewhere)."""
        return self.federation is not None

    async def _serve_session(self, conn: Connection, session: ClientSession) -> None:
        """Spec 14.1: the first stream the client opens is the session stream; any later one is reset
        (``RESET_EXTRA_STREAM``). Frames are read in order and handed to the session; an effect
        answered at once is written before the next frame is read, the others run as tasks that
        write their answers when done. When the client finishes its side, the requests in flight are
        answered, the subscriptions end, and the node finishes the stream."""
        try:
            stream = await conn.accept_stream()
        except TransportError:
            return
        out = _SessionOut(stream)
        running: dict[int, _Running] = {}  # open subscriptions by id
        signals_in, signals_out = trio.open_memory_channel[bytes](SIGNAL_QUEUE)
        self._signal_queues[session] = signals_in
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_reset_other_streams, conn)
            nursery.start_soon(_write_signals, signals_out, out)
            async with trio.open_nursery() as requests:
                while True:
                    try:
                        data = await stream.receive()
                    except EndOfStream:
                        for sub in running.values():
                            sub.scope.cancel()
                        break
                    except TransportError:
                        requests.cancel_scope.cancel()
                        break
                    arrived = trio.current_time()
                    effect = session.receive(data, arrived)
                    if isinstance(effect, Answer):
                        ok = await out.send(effect.frame)
                        self._took("inline", arrived)
                    elif isinstance(effect, Refuse):
                        self._count(effect.code)
                        ok = await out.send(effect.frame)
                        self._took("refused", arrived)
                    elif isinstance(effect, Close):
                        self._count(effect.code)
                        await out.send(effect.frame)
                        await conn.aclose(CLOSE_BAD_FRAME, effect.code)
                        requests.cancel_scope.cancel()
                        break
                    elif isinstance(effect, CancelSubscription):
                        ok = True
                        cancel = self._cancel(out, running[effect.target], effect.rid)
                        requests.start_soon(self._timed, "cancel", arrived, cancel)
                    elif isinstance(effect, Subscribe):
                        ok = True
                        sub = running[effect.rid] = _Running(trio.CancelScope(), trio.Event())
                        requests.start_soon(self._subscription, session, effect, out, sub, running)
                    elif isinstance(effect, Listen):
                        ok = True
                        sub = running[effect.rid] = _Running(trio.CancelScope(), trio.Event())
                        requests.start_soon(self._listen, session, effect, out, sub, running)
                    elif isinstance(effect, Relay):
                        self._relay(effect)
                        ok = await out.send(effect.frame)
                        self._took("signal", arrived)
                    else:
                        ok = True
                        kind = REQUEST_KINDS[type(effect)]
                        requests.start_soon(self._timed, kind, arrived, self._request(session, effect, out))
                    if not ok:
                        requests.cancel_scope.cancel()
                        break
            del self._signal_queues[session]
            with trio.move_on_after(self.limits.transport.close_timeout):
                await out.finish()
            nursery.cancel_scope.cancel()

    def _took(self, kind: str, arrived: float) -> None:
        if self.request_timer is not None:
            self.request_timer(kind, trio.current_time() - arrived)

    async def _timed(self, kind: str, arrived: float, answering: Awaitable[None]) -> None:
        """Await ``answering`` (it writes a request's final answer), then report how long it took."""
        await answering
        self._took(kind, arrived)

    def _count(self, code: str) -> None:
        log.debug("refused a client request: %s", code)
        if self.observer is not None:
            self.observer.refused(code, "client")

    async def _request(
        self, session: ClientSession, effect: Publish | PublishMany | Adopt | Fetch | PutBackup, out: _SessionOut
    ) -> None:
        """Carry out a deferred effect and write its final answer (I/O, durable writes, waiting)."""
        rid = effect.rid
        try:
            frame = await self._perform(effect)
        except HoldspaceError as err:
            self._count(err.code)
            frame = encode_refusal(rid, err.code, err.message)
        except StoreError as err:
            log.error("store failure: %s", err.code)
            frame = encode_refusal(rid, "proto.busy", "the node could not store the entry; retry later")
        except TransportError:  # a connection to another node (adopt) failed
            frame = encode_refusal(rid, "fed.unreachable", "the group's hosts could not be reached")
        finally:
            session.done(rid)
        await out.send(frame)

    async def _perform(self, effect: Publish | PublishMany | Adopt | Fetch | PutBackup) -> bytes:
        """The final answer of a deferred effect."""
        if isinstance(effect, PutBackup):  # spec 14.8: answered once the backup is durable
            try:
                await self.writer.put_backup(effect.backup_id, effect.data)
            finally:
                self.core.backup_ended(effect.reserved)
            return encode_answer(effect.rid, {})
        if isinstance(effect, Publish):
            result = await self.store_published(effect.header, effect.payload, effect.authors, effect.token)
            return encode_answer(effect.rid, result)
        if isinstance(effect, PublishMany):
            return encode_answer(effect.rid, await self.publish_many(list(effect.items), effect.authors))
        if isinstance(effect, Adopt):
            return encode_answer(effect.rid, await self._adopt(effect))
        page = await self.writer.read(self.store.iter_group, effect.group, effect.after, effect.limit)
        return effect.answer(page)  # spliced from the stored bytes

    async def _adopt(self, effect: Adopt) -> dict[str, codec.CborValue]:
        """A client's join of a group hosted elsewhere: admitted first (the operator's create policy,
        its token, ``max_groups``: ``NodeCore.admit_adopt``), then fetched through federation. The
        token's use is made durable once the join is stored here, and given back otherwise."""
        assert self.federation is not None  # the session asks only of a node that federates
        group = header_group(effect.header)
        spend = self.core.admit_adopt(group, effect.token, self.now_ms())
        stored = False
        try:
            result = await self.federation.adopt(effect.header, effect.payload, list(effect.hosts))
            stored = True
        finally:
            self.core.adopt_ended(group, spend, stored=stored)
        if spend is not None:
            await self._record_uses(spend)
        return result

    async def _record_uses(self, spend: bytes) -> None:
        """Make the uses of an operator's token counted so far durable (a stop before this loses at
        most the uses of the creations under way: the token allows that many more)."""
        await self.writer.put_meta(USES_PREFIX + spend, encode_uses(self.core.token_uses[spend]))

    async def _cancel(self, out: _SessionOut, sub: _Running, rid: int) -> None:
        """End a subscription (it writes its final answer), then answer the ``cancel`` request."""
        sub.scope.cancel()
        await sub.ended.wait()
        await out.send(encode_answer(rid, {}))

    def _entries_event(self, group: bytes, after: int, full: bool) -> tuple[bytes | None, int]:
        """The encoded tail of the event of the entries after ``after`` (None if there are none; see
        ``entries_event_tail``) and its last cursor.

        Read inline: a page of at most ``subscription_batch`` entries is a sub-millisecond LMDB read, far
        cheaper than a thread hop. Subscribers at the same cursor share one encoding until the group's
        next commit (its generation) changes what the page would hold; each splices its own id in."""
        generation = self._generation.get(group, 0)
        held = self._event_cache.get(group)
        if held is None or held[0] != generation:  # a commit since: the pages of before are dropped
            if held is None and len(self._event_cache) >= EVENT_CACHE_GROUPS:
                self._event_cache.clear()
            held = self._event_cache[group] = (generation, {})
        pages = held[1]
        cached = pages.get((after, full))
        if cached is not None:
            return cached
        page = self.store.iter_group(group, after, self.limits.subscription_batch)
        if not page:
            return None, after
        items, following = items_within_frame(page, after, full, self.limits.transport.max_message_size)
        frame = entries_event_tail(items, following)
        if len(pages) < EVENT_CACHE_PAGES:
            pages[(after, full)] = (frame, following)
        return frame, following

    # -- publishing --------------------------------------------------------------------------

    async def ready_decoded(
        self, header: bytes, payload: bytes | None, authors: frozenset[bytes] | None
    ) -> Entry | None:
        """:meth:`ready_group` for an entry whose group is not known yet: it is decoded (and verified)
        once, here, and returned for ``check_entry(decoded=...)``; None if it does not decode (the
        check then gives the error)."""
        try:
            entry = self.core.decode(header, payload, now_ms=self.now_ms(), from_client=authors is not None)
        except HoldspaceError:
            return None
        await self.ready_group(entry.log_group)
        return entry

    async def _verified(self, items: Sequence[tuple[bytes, bytes | None]], now_ms: int | None) -> list[Entry | None]:
        """A batch's entries decoded, their signatures verified in a worker thread
        (``node.verify_threads``); None where the check is to decode the item itself (a small batch,
        the simulator, or an item that fails a rule: the check then raises its error, in the order
        of spec 6.2). ``now_ms``: a client's batch (its entries' clock is checked), None: a peer's."""
        if self.signatures is None:
            return [None] * len(items)
        return await self.signatures.entries(items, now_ms)

    async def ready_group(self, group: bytes) -> None:
        """Bring the group's state up to date before an entry of it is checked. Entries that land at
        the end of L are applied at once; when the state must be computed afresh (an entry relayed
        by a peer that did not see every head, say: spec 12.8), that runs in a worker thread, one
        group at a time and one thread for all (the event loop keeps the other core), while the
        group's reads are served from its last state. Entries added meanwhile are applied after, so
        one computation covers a burst; at most ``READY_ROUNDS`` rounds, then the check decides."""
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
        """Validate, store durably, wake subscribers. ``authors`` None: relayed by a peer node;
        otherwise the entry's author must be one of ``authors`` and is charged its publish rate.

        A client's entry is stored only if it takes effect; otherwise it is refused with its code and
        nothing is stored, so the client may use that log position again. (A peer's entry is stored
        whenever it is admissible, spec 12.6, so that hosts converge.)"""
        if authors is not None:
            self.rates.charge(header, authors, trio.current_time())
        return await self.store_published(header, payload, authors)

    async def store_published(
        self,
        header: bytes,
        payload: bytes | None,
        authors: frozenset[bytes] | None,
        token: bytes | None = None,
    ) -> dict[str, codec.CborValue]:
        """:meth:`publish` once the author's publish rate is charged (a client session charges it);
        ``token``: the operator's token a client gave with a genesis."""
        decoded = await self.ready_decoded(header, payload, authors)
        try:
            decision = self.core.check_entry(
                header, payload, now_ms=self.now_ms(), authors=authors, token=token, decoded=decoded
            )
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
        answer comes once every stored entry is durable. Every entry's author is authenticated and
        charged its publish rate before this is called (the client session does both)."""
        outcomes: list[Decision | str] = []
        batch: list[Decision] = []
        verified = await self._verified(items, self.now_ms())
        for (header, payload), pre in zip(items, verified, strict=True):
            if pre is None:
                decoded = await self.ready_decoded(header, payload, authors)
            else:
                decoded = pre
                await self.ready_group(pre.log_group)
            try:
                decision = self.core.check_entry(
                    header, payload, now_ms=self.now_ms(), authors=authors, decoded=decoded
                )
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
        if decision.spend is not None:
            await self._record_uses(decision.spend)
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
        behind: WriteBehind | None = None,
    ) -> list[Decision | HoldspaceError | None]:
        """Validate and store entries relayed by a peer node, in the given order, and return once all
        are durable. One result per item: its decision (stored, or a duplicate), its error (refused),
        or None for a fork (proof recorded). Each entry gets the checks of a client publish, on the
        peer path (spec 16.5); with ``group``, an entry of another group is refused
        (``fed.wrong_group``). ``accepted`` is called for each entry to store, before its write
        starts (so before anyone can be woken by its commit).

        The entries to store are written in ONE transaction, in the order they were checked: the
        store's arrival order is then a valid order for validation, which is what this node's own
        peers rely on when they pull from it (spec 16.3).

        With ``behind``, it returns once the entries are checked (and reserved: later checks see
        them): the write runs behind, after the writes started there before it (``WriteBehind``), so
        a puller checks its next batch while this one commits; ``behind.settled()`` says when they
        are durable."""
        results: list[Decision | HoldspaceError | None] = []
        batch: list[Decision] = []
        elsewhere: list[bytes] = []  # duplicates whose write another task has under way
        verified = await self._verified(items, None)
        for (header, payload), pre in zip(items, verified, strict=True):
            decoded = pre
            if group is not None:
                await self.ready_group(group)
            elif pre is not None:
                await self.ready_group(pre.log_group)
            else:
                decoded = await self.ready_decoded(header, payload, None)
            try:
                decision = self.core.check_entry(
                    header, payload, now_ms=self.now_ms(), authors=None, group=group, decoded=decoded
                )
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
        if behind is not None:
            await behind.start(partial(self._write_ingested, batch, elsewhere))
        else:
            await self._write_ingested(batch, elsewhere, None)
        return results

    async def _write_ingested(
        self, batch: list[Decision], elsewhere: list[bytes], check: Callable[[], None] | None
    ) -> None:
        """:meth:`ingest`'s write: ``batch`` in one transaction (``check`` just before it), then the
        duplicates whose write another task has under way."""
        with trio.CancelScope(shield=True):  # reserved entries are written through, caller or not
            await self._write_batch(batch, check)
        for entry_id in elsewhere:
            pending = self._commits.get(entry_id)
            if pending is not None:
                await pending.wait()
            if entry_id in self._failed:
                raise ProtocolError("proto.busy", "an entry this batch needs could not be stored")

    async def _write_batch(self, batch: list[Decision], check: Callable[[], None] | None = None) -> None:
        """Reserved decisions, written in one ordered transaction (none if ``check`` raises: they are
        given back)."""
        if not batch:
            return

        async def write() -> list[int | None]:
            if check is not None:
                check()
            return await self.writer.append_batch([d.record for d in batch])

        await self._write_reserved(batch, write)

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
        self._proofs_stored[proof.group] = self._proofs_stored.get(proof.group, 0) + 1
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

    async def put_meta(self, key: bytes, value: bytes) -> None:
        """Durably store a small value under ``key`` (federation keeps its peers' cursors here)."""
        await self.writer.put_meta(key, value)

    def proofs_stored(self, group: bytes) -> int:
        """How many fork proofs of ``group`` this node stored since it started: while it stays the
        same, :meth:`fork_proofs` (a store read) returns the same list."""
        return self._proofs_stored.get(group, 0)

    def fork_proofs(self, group: bytes) -> list[bytes]:
        """The fork proofs this node holds for ``group`` (at most one per author)."""
        return [value for _key, value in self.store.meta_items(FORK_PREFIX + group, limit=100_000)]

    def refresh(self, group: bytes) -> None:
        """Wake the group's subscriptions and peers' streams, so they ask again whether to serve it
        (the operator refused the group, say)."""
        self._wake(group)

    def _wake(self, group: bytes) -> None:
        self._generation[group] = self._generation.get(group, 0) + 1
        event = self._group_events.pop(group, None)
        if event is not None:
            event.set()

    # -- live-call signals (spec 17.11) -------------------------------------------------------

    def _relay(self, relay: Relay) -> None:
        """Queue each of a signal's frames for its listening connection, at once (a full queue loses
        that signal: a call's signalling retries, and a slow reader cannot hold up its sender)."""
        for connection, frame in relay.deliveries:
            queue = self._signal_queues.get(connection)
            if queue is None:
                continue
            try:
                queue.send_nowait(frame)
            except (trio.WouldBlock, trio.ClosedResourceError, trio.BrokenResourceError):
                self.signals_dropped += 1

    async def _listen(
        self, session: ClientSession, listen: Listen, out: _SessionOut, sub: _Running, running: dict[int, _Running]
    ) -> None:
        """Run a listen the session opened: its first event (with TURN credentials if the operator runs
        a relay), then nothing until cancelled; the signals come through the connection's queue."""
        turn = None if self.turn is None else turn_credentials(self.turn, self.now_ms() // 1000)
        final: bytes | None = None
        try:
            with sub.scope:
                if not await out.send(listen.opened(turn)):
                    return
                await trio.sleep_forever()
            final = listen.ended()
        finally:
            if final is not None:
                with trio.CancelScope(shield=True), trio.move_on_after(self.limits.transport.close_timeout):
                    await out.send(final)
            session.unsubscribed(listen.rid)
            del running[listen.rid]
            sub.ended.set()

    # -- subscriptions -----------------------------------------------------------------------

    async def _subscription(
        self,
        session: ClientSession,
        subscription: Subscribe,
        out: _SessionOut,
        sub: _Running,
        running: dict[int, _Running],
    ) -> None:
        """Run a subscription the session opened: its entries, then every commit's, as events carrying
        its id. Read rights are asked again for every event: a member removed meanwhile reads less, or
        nothing (the subscription then ends with that refusal). Cancelled (``cancel``, or the client
        finished its side), it ends with ``{"id", "ok": {"next": cursor}}``."""
        rid, group, cursor = subscription.rid, subscription.group, subscription.after
        final: bytes | None = None
        try:
            with sub.scope:
                if not await out.send(subscription.opened()):
                    return
                while True:
                    event = self._group_events.setdefault(group, trio.Event())
                    rights = session.read_rights(rid, group)
                    if isinstance(rights, Refuse):
                        self._count(rights.code)
                        final = rights.frame
                        return
                    tail, following = self._entries_event(group, cursor, rights)
                    if tail is not None:
                        cursor = following
                        if not await out.send(splice_entries_event(rid, tail)):
                            return
                        continue
                    await event.wait()  # a quiet connection is kept open by the transport's keep-alive
            final = subscription.ended(cursor)
        finally:
            if final is not None:  # the id stays in flight until its final frame is written
                with trio.CancelScope(shield=True), trio.move_on_after(self.limits.transport.close_timeout):
                    await out.send(final)
            session.unsubscribed(rid)
            del running[rid]
            sub.ended.set()


async def _write_signals(queue: trio.MemoryReceiveChannel[bytes], out: _SessionOut) -> None:
    """Write the signals relayed to this connection, in order, until it ends."""
    async for frame in queue:
        if not await out.send(frame):
            return


class _Running:
    """An open subscription of a session: its task's cancel scope, and an event set once it ended
    (its final frame written)."""

    def __init__(self, scope: trio.CancelScope, ended: trio.Event) -> None:
        self.scope = scope
        self.ended = ended


class _SessionOut:
    """The sending side of a session stream: one writer at a time, whole frames, in the order the
    writers queue (``trio.Lock`` is fair). After a transport failure every send returns False."""

    def __init__(self, stream: MessageStream) -> None:
        self.stream = stream
        self.lock = trio.Lock()
        self.broken = False

    async def send(self, frame: bytes) -> bool:
        """Write ``frame``; False if the stream can no longer carry it."""
        async with self.lock:
            if self.broken:
                return False
            try:
                await self.stream.send(frame)
            except TransportError:
                self.broken = True
                return False
            return True

    async def finish(self) -> None:
        async with self.lock:
            if not self.broken:
                try:
                    await self.stream.finish()
                except TransportError:
                    self.broken = True


async def _reset_other_streams(conn: Connection) -> None:
    """Reset every stream the client opens after its session stream (spec 14.1)."""
    while True:
        try:
            stream = await conn.accept_stream()
        except TransportError:
            return
        stream.reset(RESET_EXTRA_STREAM)


class RefusedError(HoldspaceError):
    """An entry refused by the group's rules (a group.* code), answered to its publisher."""


def load_groups(core: NodeCore) -> int:
    """``core.load_all()`` with the cyclic garbage collector paused, then restored as it was: loading
    every group creates many long-lived objects and no garbage cycles, and each full collection it
    would trigger traverses all that was loaded so far (a quarter of the load's CPU at 10,000
    groups, for nothing collected). Only while a node starts: nothing else runs in the process."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return core.load_all()
    finally:
        if enabled:
            gc.enable()


@asynccontextmanager
async def open_node(
    data_dir: Path,
    node_key: nacl.signing.SigningKey,
    limits: NodeLimits | None = None,
    *,
    clock: Callable[[], int] = now_ms,
    simulated: bool = False,
    policy: Policy | None = None,
) -> AsyncIterator[Node]:
    """Open the store in ``data_dir/store`` and run a node around it until the block exits.

    ``simulated``: no threads and no fdatasync (the simulator: virtual time, reproducible order;
    see :class:`~node.store_writer.InlineStoreWriter`); the node's logic is the same.
    """
    if simulated:
        store = Store.open(data_dir / "store", map_size=SIMULATED_MAP_SIZE, durable=False, exclusive=True)
    else:
        store = Store.open(data_dir / "store")
    try:
        async with InlineStoreWriter(store) if simulated else StoreWriter(store) as writer:
            node = Node(store, writer, node_key, limits or NodeLimits(), clock, policy)
            # every group's state, computed before serving and off the event loop (nothing else runs yet)
            if simulated:
                node.core.load_all()
            else:
                await trio.to_thread.run_sync(load_groups, node.core)
            async with trio.open_nursery() as nursery:
                await nursery.start(node.run_retention)
                yield node
                nursery.cancel_scope.cancel()
    finally:
        store.close()


__all__ = [
    "CLOSE_REFUSED",
    "RESET_INTERNAL",
    "CLOSE_BAD_FRAME",
    "RESET_EXTRA_STREAM",
    "Node",
    "NodeObserver",
    "RefusedError",
    "now_ms",
    "open_node",
]
