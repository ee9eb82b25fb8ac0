"""Federation: this node replicates the groups it hosts with their other hosts (spec section 16).

Trio tasks around the node; the decisions are elsewhere and pure: whom to link to and what to refuse
(``node.peering``), whether an entry is stored (``NodeCore.check_entry`` on the peer path: the very
checks a client publish gets), which groups a peer may pull (``NodeCore.serves``).

Data flows by *pull*: each node keeps one outgoing connection per peer and pulls, over one ``sync``
stream, every group the two share; the peer answers on its incoming side and keeps pushing new
entries as they commit. So between two nodes there are two connections, one per direction of data,
and each side's backpressure is its own reading: the sender awaits the stream, nothing piles up.

Resumption: after each batch is durably stored, the puller records the peer's cursor for that group
(store meta ``fedcur:<peer><group>``); a new connection continues from it, and the ``have`` list (its
log heads) keeps the peer from resending what arrived from elsewhere meanwhile.
"""

from __future__ import annotations

import contextlib
import logging
import math
import struct
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager

import nacl.signing
import trio

from holdspace.node.core import FORK_PREFIX, unpack_record
from holdspace.node.framing import FRAME_SLACK
from holdspace.node.hosting import HostingNode
from holdspace.node.limits import TokenBucket
from holdspace.node.peering import PeerBook, shared_groups
from holdspace.node.store import StoreError
from holdspace.node.streams import send_error, serve_streams
from holdspace.node.transport.base import Connection, MessageStream, TransportError, TransportLimits
from holdspace.node.transport.memory import MemoryNetwork
from holdspace.node.transport.quic import connect_quic
from holdspace.node.write_behind import WriteBehind
from holdspace.protocol import codec
from holdspace.protocol.address import NodeAddress
from holdspace.protocol.entry import Entry, decode_entry
from holdspace.protocol.errors import AdmissionError, HoldspaceError
from holdspace.protocol.federation import (
    ALPN_FEDERATION,
    MAX_SYNC_GROUPS,
    FederationError,
    SyncEvent,
    SyncPlan,
    decode_fed_request,
    decode_sync_event,
    digest_plan,
    encode_digests,
    encode_entries_event,
    encode_fork_event,
    encode_offer,
    encode_rejected_event,
    encode_sync,
    have_list,
    heads_digest,
    sync_plan,
)
from holdspace.protocol.frames import ProtocolError, RemoteError, Request, decode_response, encode_ok
from holdspace.protocol.group import group_id_of
from holdspace.protocol.kinds import JOIN
from holdspace.protocol.log import verify_fork_proof
from holdspace.protocol.payloads import Join, decode_payload

log = logging.getLogger("holdspace.federation")

Connector = Callable[[NodeAddress], AbstractAsyncContextManager[Connection]]
"""Opens a federation connection to a peer (QUIC in a node, the in-memory network in tests)."""

CURSOR_PREFIX = b"fedcur:"
MAX_ADOPTING = 1000  # groups being fetched before they are hosted here (joins, invitations to host)
CURSOR_WRITE_INTERVAL = 1.0  # seconds between durable writes of a peer's cursor, per group
ORIGIN_MEMORY = 65_536  # entry ids remembered per peer as received from it (not echoed back)
MAX_WITNESSES = 64  # fork witnesses sent at the start of a sync, per group
MAX_SYNC_STREAMS = 16  # sync streams on one connection before it is renewed (all groups on one stream)
EMPTY_EVENT_STRIDE = 1024  # a page filtered out entirely is announced only every so many cursors
CLOSE_REFUSED = 1  # connection close code: unauthenticated or blocked (the reason is the fed.* code)
CLOSE_PENALISED = 2  # connection close code: too many invalid entries or frames
RETRY_MIN, RETRY_MAX = 0.5, 30.0  # reconnect backoff bounds, seconds
ADOPT_TIMEOUT = 30.0  # seconds a client's join waits for the group to arrive from its hosts
#: refusals that mean "not yet" (12.6): the entry is held and tried again, never a strike by itself
WAITING = frozenset({"group.missing_dependency", "group.storage_bound", "quota.group_full", "quota.node_full"})
MAX_HELD = 256  # entries waiting for a dependency, per group on one sync stream (one peer); then strikes
MAX_HELD_PER_PEER = 4096  # the same, over all the groups of one sync stream
READ_AHEAD = 1  # decoded sync events waiting while one is ingested (each at most a frame), per sync stream
_CURSOR = struct.Struct(">Q")
Held = list[tuple[int, bytes, bytes | None]]  # (the peer's cursor, header, payload), in arrival order


class PeerPenalisedError(FederationError):
    """Raised inside a link or a served connection to drop a peer that collected too many strikes."""


class Federation:
    def __init__(self, node: HostingNode, book: PeerBook, connect: Connector) -> None:
        self.node = node
        self.book = book
        self.connect = connect
        self.adopting: dict[bytes, dict[bytes, NodeAddress]] = {}  # group -> hosts named by a joining client
        self.links: dict[bytes, trio.CancelScope] = {}
        self.connected: set[bytes] = set()  # peers with a live outgoing link (for status and tests)
        self.incoming: dict[bytes, int] = {}  # peer -> its connections to us now (metrics)
        self.sent: dict[bytes, dict[bytes, int]] = {}  # peer -> group -> cursor served up to (lag, metrics)
        # peer -> its live connections, both ways (dicts, not sets: closed in a reproducible order)
        self._connections: dict[bytes, dict[Connection, None]] = {}
        self.invitations: set[bytes] = set()  # adopting because a peer asked for them (spec 16.4)
        self.addresses: dict[bytes, NodeAddress] = {}  # every peer linked to, as of the last topology change
        self._origin: dict[bytes, dict[bytes, None]] = {}
        self._hosts_cache: tuple[trio.Event, dict[bytes, dict[bytes, str]]] | None = (
            None  # peer -> entry ids it sent us (insertion-ordered)
        )
        node.federation = self

    # -- topology ------------------------------------------------------------------------------

    def hosts_by_group(self) -> dict[bytes, dict[bytes, str]]:
        """Every held or joining group's hosts. Computed once per topology change: the run loop and
        every link ask after each change, and only a change (a join, a host entry, an adopt) alters it."""
        topology = self.node.topology
        if self._hosts_cache is not None and self._hosts_cache[0] is topology:
            return self._hosts_cache[1]
        hosts = self._hosts_from_store()
        self._hosts_cache = (topology, hosts)
        return hosts

    def _hosts_from_store(self) -> dict[bytes, dict[bytes, str]]:
        hosts = self.node.core.all_hosts()
        for group, addresses in self.adopting.items():
            if group not in hosts:
                hosts[group] = {key: str(a) for key, a in addresses.items()}
        return hosts

    async def run(self) -> None:
        """Keep a link to every wanted peer until cancelled; links follow topology changes."""
        async with trio.open_nursery() as nursery:
            while True:
                changed = self.node.topology
                for group in [g for g in self.adopting if self.node.core.hosts(g)]:
                    del self.adopting[group]  # hosted now: its own host list says whom to sync with
                    self.invitations.discard(group)
                wanted = self.book.wanted(self.hosts_by_group())
                self.addresses = wanted
                for key, address in wanted.items():
                    if key not in self.links:
                        scope = trio.CancelScope()
                        self.links[key] = scope
                        nursery.start_soon(self._link, key, address, scope)
                for key in set(self.links) - set(wanted):
                    self.links.pop(key).cancel()
                    self._origin.pop(key, None)
                await changed.wait()

    # -- pulling (outgoing) ----------------------------------------------------------------------

    async def _link(self, key: bytes, address: NodeAddress, scope: trio.CancelScope) -> None:
        backoff = RETRY_MIN
        with scope:
            while True:
                now = trio.current_time()
                if self.book.refusal(key, now) is not None:
                    await trio.sleep(max(self.book.penalty_left(key, now), RETRY_MAX))
                    continue
                try:
                    async with self.connect(address) as conn:
                        self.connected.add(key)
                        log.info("linked to peer %s", key.hex()[:16])
                        backoff = RETRY_MIN
                        with self._tracked(key, conn):
                            await self._pull(conn, key)
                except* PeerPenalisedError:
                    log.warning("peer %s penalised: too many invalid entries", key.hex()[:16])
                except* (TransportError, HoldspaceError, StoreError, OSError, trio.TooSlowError) as group:
                    codes = {getattr(e, "code", type(e).__name__) for e in group.exceptions}
                    log.info("link to peer %s failed: %s", key.hex()[:16], ", ".join(sorted(codes)))
                except* Exception:  # a bug must cost this link a reconnect, never the node
                    log.exception("link to peer %s failed unexpectedly", key.hex()[:16])
                finally:
                    self.connected.discard(key)
                await trio.sleep(backoff)
                backoff = min(backoff * 2, RETRY_MAX)

    async def _pull(self, conn: Connection, key: bytes) -> None:
        """Pull every group shared with ``key`` on ``conn``, adding sync streams as groups appear.
        A group the peer refuses (it may not have it yet, e.g. it is still fetching it) is asked
        again with a growing delay."""
        synced: set[bytes] = set()
        delay = RETRY_MIN
        streams = 0
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_watch_outgoing, conn)
            while True:
                changed = self.node.topology
                todo = [g for g in shared_groups(self.hosts_by_group(), key) if g not in synced]
                if todo and streams >= MAX_SYNC_STREAMS:  # stream credit is finite: renew the connection,
                    nursery.cancel_scope.cancel()  # whose first sync carries every shared group
                    return
                refused: set[bytes] = set()
                for start in range(0, len(todo), MAX_SYNC_GROUPS):
                    chunk = todo[start : start + MAX_SYNC_GROUPS]
                    stream, accepted = await self._open_sync(conn, key, chunk)
                    synced.update(accepted)
                    refused.update(set(chunk) - accepted)
                    if stream is not None:
                        streams += 1
                        nursery.start_soon(self._receive_sync, stream, key, accepted)
                forgotten = refused & self.invitations  # asked for them, but not listed as their host
                for group in forgotten:
                    self.invitations.discard(group)
                    self.adopting.pop(group, None)
                    self.node.core.invitation_ended(group)
                if forgotten:
                    self.node.topology_changed()
                delay = min(delay * 2, RETRY_MAX) if refused else RETRY_MIN
                with trio.move_on_after(delay if refused else math.inf):
                    await changed.wait()

    async def _open_sync(
        self, conn: Connection, key: bytes, groups: list[bytes]
    ) -> tuple[MessageStream | None, set[bytes]]:
        store = self.node.store
        heads = {g: store.heads(g) for g in groups}
        answer = await _request(conn, encode_digests({g: heads_digest(heads[g]) for g in groups}))
        differ, same, refused = answer.get("differ"), answer.get("same"), answer.get("refused")
        if not isinstance(differ, list) or not isinstance(same, list) or not isinstance(refused, list):
            raise ProtocolError("proto.malformed_frame", "a digests answer holds differ, same and refused lists")
        ends = {i[0]: i[1] for i in same if isinstance(i, list) and len(i) == 2 and isinstance(i[1], int)}
        plan: dict[bytes, tuple[int | None, list[codec.CborValue] | None]] = {}
        for g in groups:
            if g in differ:  # what we miss: from the cursor we reached, minus what we hold
                plan[g] = (self._cursor(key, g), have_list(heads[g]))
            elif isinstance(end := ends.get(g), int):  # same heads: only what commits after its end
                plan[g] = (end, None)
        if not plan:
            return None, set()
        stream = await conn.open_stream()
        await stream.send(encode_sync(plan))
        answer = decode_response(await stream.receive())
        answers = answer.get("groups")
        if not isinstance(answers, list):
            raise ProtocolError("proto.malformed_frame", "a sync answer holds a groups list")
        accepted = {i[0] for i in answers if isinstance(i, list) and len(i) == 2 and i[1] is None}
        for item in refused:  # the peer's operator does not let it host a group (spec 14.6)
            if isinstance(item, list) and len(item) == 2 and str(item[1]).startswith("admission."):
                log.info("peer %s does not host a group we share: %s", key.hex()[:16], str(item[1])[:64])
        served = {g for g in plan if g in accepted}
        if not served:  # the peer finished the stream: end ours too, and ask again later
            await stream.finish()
            return None, set()
        return stream, served

    def _cursor(self, peer: bytes, group: bytes) -> int:
        raw = self.node.store.get_meta(CURSOR_PREFIX + peer + group)
        return _CURSOR.unpack(raw)[0] if raw else 0

    async def _receive_sync(self, stream: MessageStream, key: bytes, groups: set[bytes]) -> None:
        """Ingest what the peer sends. An entry waiting for a dependency (``group.missing_dependency``,
        or the next entries of its author's log) is held, up to ``MAX_HELD`` per group and
        ``MAX_HELD_PER_PEER`` per stream, and tried again after every later event of the stream;
        the durable cursor never passes a held entry, so a new connection sends it again (spec 12.6).

        The stream is read by a task of its own, up to ``READ_AHEAD`` decoded events ahead of the one
        being ingested: the peer's sending and this node's receiving overlap its checks and commits
        (a catch-up is then bound by this node's ingestion, not by round trips). Its failures (the
        stream ended, a malformed frame) end the ingestion as they did when it read the stream."""
        send, events = trio.open_memory_channel[SyncEvent](READ_AHEAD)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_read_events, stream, send)
            await self._ingest_events(events, stream, key, groups, WriteBehind(nursery))

    async def _ingest_events(
        self,
        events: trio.MemoryReceiveChannel[SyncEvent],
        stream: MessageStream,
        key: bytes,
        groups: set[bytes],
        behind: WriteBehind,
    ) -> None:
        """:meth:`_receive_sync`'s ingestion, one event at a time in arrival order; each event's
        write runs behind the checks of the next ones (``behind``), and every write is durable
        before a cursor is recorded."""
        node = self.node
        written: dict[bytes, float] = {}  # group -> when its cursor was last made durable
        held: dict[bytes, Held] = {}  # group -> entries waiting for a dependency
        tried: dict[bytes, int] = {}  # group -> its generation when its held entries were last tried
        async for event in events:
            for group, waiting in list(held.items()):  # whatever arrived since may be what they wait for
                if waiting and group != event.group and tried.get(group) != node.generation(group):
                    tried[group] = node.generation(group)
                    await self._ingest_held(key, stream, group, waiting, held, behind)
            if event.kind == "keepalive":
                continue
            assert event.group is not None
            if event.group not in groups:
                unrequested = ProtocolError("proto.malformed_frame", "an event of a group that was not pulled")
                await self._strike(key, stream, bytes(32), unrequested)
                continue
            waiting = held.setdefault(event.group, [])
            if event.kind == "fork":
                assert event.proof is not None
                try:
                    proof = verify_fork_proof(event.proof)
                    if proof.group != event.group:
                        raise ProtocolError("proto.malformed_frame", "a fork proof of another group")
                except HoldspaceError as err:
                    await self._strike(key, stream, bytes(32), err)
                    continue
                await node.record_fork_proof(proof)
                await self._ingest_held(key, stream, event.group, waiting, held, behind)
                continue
            await self._ingest_held(key, stream, event.group, waiting + list(event.entries), held, behind)
            now = trio.current_time()
            if now - written.get(event.group, -math.inf) >= CURSOR_WRITE_INTERVAL:
                # a lagging cursor only costs a rescan that ``have`` filters: written at most once a second
                written[event.group] = now
                waiting = held.get(event.group, [])
                cursor = min([event.next, *(c - 1 for c, _h, _p in waiting)])
                await behind.settled()  # what the cursor passes is durable first
                await node.put_meta(CURSOR_PREFIX + key + event.group, _CURSOR.pack(max(cursor, 0)))

    async def _ingest_held(
        self,
        key: bytes,
        stream: MessageStream,
        group: bytes,
        entries: Held,
        held: dict[bytes, Held],
        behind: WriteBehind | None = None,
    ) -> None:
        """Ingest ``entries`` in order; those waiting for a dependency become the group's held list
        (an entry that the next in its author's log follows is held with it); other refusals are
        strikes (unless excused, :meth:`_excused`). With ``behind``, the writes run behind, but
        entries held are tried again only once what got in is durable (and applied)."""
        still: Held = list(entries)
        total = sum(len(w) for g, w in held.items() if g != group)
        again = False
        while still:  # again while some entry got in: it may be what a later one waits for
            if again and behind is not None:
                await behind.settled()
            again = True
            entries, still = still, []
            items = [(header, payload) for _cursor, header, payload in entries]
            results = await self.node.ingest(
                items, group=group, accepted=lambda d: self._came_from(key, d.entry.entry_id), behind=behind
            )
            refused: list[tuple[tuple[int, bytes, bytes | None], HoldspaceError]] = []
            authors: set[bytes] = set()  # authors with an entry held: their next entries wait with it
            for item, result in zip(entries, results, strict=True):
                if not isinstance(result, HoldspaceError):
                    continue
                author = _author(item[1])
                waits = result.code in WAITING or (
                    result.code in ("log.seq_gap", "log.prev_mismatch") and author in authors
                )
                if waits and len(still) < MAX_HELD and total + len(still) < MAX_HELD_PER_PEER:
                    still.append(item)
                    if author is not None:
                        authors.add(author)
                else:
                    refused.append((item, result))
            for item, result in refused:
                await self._strike(key, stream, _ref(item[1]), result, item[1])
            if len(still) + len(refused) == len(entries):
                break  # nothing got in: wait for the next event
        held[group] = still

    def _came_from(self, peer: bytes, entry_id: bytes) -> None:
        """Remember that ``peer`` holds ``entry_id`` (it sent it), so it is not echoed back to it."""
        seen = self._origin.setdefault(peer, {})
        seen[entry_id] = None
        if len(seen) > ORIGIN_MEMORY:
            del seen[next(iter(seen))]

    async def _strike(
        self, key: bytes, stream: MessageStream, ref: bytes, err: HoldspaceError, header: bytes | None = None
    ) -> None:
        log.info("refused from peer %s: %s", key.hex()[:16], err.code)
        if self.node.observer is not None:
            self.node.observer.refused(err.code, "peer")
        with contextlib.suppress(TransportError):
            await stream.send(encode_rejected_event(ref, err.code))
        if not self._excused(err, header):
            await self._count_strike(key)

    def _excused(self, err: HoldspaceError, header: bytes | None) -> bool:
        """Refusals that are no fault of the relaying peer (spec 16.5): a fork; what a host does not
        store from peers past its bounds (``group.storage_bound``: the entry is valid, and may be
        stored later); the entries that continue the other branch of an author already proven to have
        forked; and, in a group with a proven fork, an entry whose dependency is still missing (it may
        name the other branch)."""
        if err.code in ("log.fork", "group.storage_bound") or err.code.startswith(("admission.", "quota.")):
            return True  # admission and budgets: this node's operator's choice, no fault of the peer
        if err.code not in ("log.prev_mismatch", "log.seq_gap", "group.missing_dependency") or header is None:
            return False
        try:
            entry = decode_entry(header, None, now_ms=None, verify=False)
        except HoldspaceError:
            return False
        if err.code == "group.missing_dependency":
            return bool(self.node.store.meta_items(FORK_PREFIX + entry.log_group, limit=1))
        return self.node.store.get_meta(FORK_PREFIX + entry.log_group + entry.author) is not None

    async def _count_strike(self, key: bytes) -> None:
        """One strike; at the threshold, close every connection with the peer (both directions). The
        peer stops counting as linked before the first close (its link's tasks end after)."""
        if not self.book.strike(key, trio.current_time()):
            return
        log.warning("peer %s penalised: too many invalid entries or frames", key.hex()[:16])
        self.connected.discard(key)
        for conn in list(self._connections.get(key, ())):
            with contextlib.suppress(TransportError):
                await conn.aclose(CLOSE_PENALISED, "fed.penalised")
        raise PeerPenalisedError("fed.penalised")

    async def drop(self, key: bytes, reason: str = "fed.blocked") -> None:
        """Close every open connection with ``key``, both directions (an operator's new block, on SIGHUP)."""
        for conn in list(self._connections.get(key, ())):
            with contextlib.suppress(TransportError):
                await conn.aclose(CLOSE_REFUSED, reason)

    @contextlib.contextmanager
    def _tracked(self, key: bytes, conn: Connection) -> Iterator[None]:
        self._connections.setdefault(key, {})[conn] = None
        try:
            yield
        finally:
            conns = self._connections.get(key, {})
            conns.pop(conn, None)
            if not conns:
                self._connections.pop(key, None)

    # -- joining a group hosted elsewhere --------------------------------------------------------

    async def adopt(self, header: bytes, payload: bytes | None, hosts: list[NodeAddress]) -> dict[str, codec.CborValue]:
        """A client's join of a group this node does not host yet: offer the join to the group's
        hosts (which validate it; it names this node as the joiner's home, so they then serve us the
        group), then pull the group until the join is stored here."""
        entry = decode_entry(header, payload, now_ms=self.node.now_ms())
        if entry.kind != JOIN or payload is None:
            raise ProtocolError("proto.malformed_frame", "adopt takes the join entry of a group hosted elsewhere")
        join = decode_payload(JOIN, payload, entry.author)
        assert isinstance(join, Join)
        if join.home is None or NodeAddress.parse(join.home).node_key != self.node.public_key:
            raise FederationError("fed.not_host", "the join must name this node as the joiner's home node")
        group = group_id_of(entry)
        if group not in self.adopting and len(self.adopting) >= MAX_ADOPTING:
            raise ProtocolError("proto.busy", "this node is fetching too many groups at once; retry later")
        try:
            return await self._adopt(entry, header, payload, hosts, group)
        finally:
            self.adopting.pop(group, None)  # held now, or given up on until the client sends the join again
            self.node.topology_changed()

    async def _adopt(
        self, entry: Entry, header: bytes, payload: bytes, hosts: list[NodeAddress], group: bytes
    ) -> dict[str, codec.CborValue]:
        offered = False
        last: HoldspaceError = FederationError("fed.unreachable")
        for address in hosts:
            if address.node_key == self.node.public_key or self.book.refusal(address.node_key, trio.current_time()):
                continue
            try:
                with trio.fail_after(ADOPT_TIMEOUT / 2):
                    async with self.connect(address) as conn:
                        answer = await _request(conn, encode_offer(header, payload))
            except RemoteError as err:
                if err.code.startswith(("group.", "entry.", "log.")):
                    raise  # the group's rules refuse this join, nothing stored: a definite answer
                last = err
                continue
            except (TransportError, trio.TooSlowError, OSError):
                continue
            if not isinstance(answer.get("id"), bytes):
                raise ProtocolError("proto.malformed_frame", "an offer answer holds the entry id")
            offered = True
            self.adopting.setdefault(group, {})[address.node_key] = address
            break  # one host that took the join is enough: it federates the join to the others
        if not offered:
            raise last
        self.node.topology_changed()
        with trio.move_on_after(ADOPT_TIMEOUT):
            while not self.node.store.has(entry.entry_id):
                event = self.node.group_event(group)
                if self.node.store.has(entry.entry_id):
                    break
                await event.wait()
        if not self.node.store.has(entry.entry_id):
            raise FederationError("fed.unreachable", "the group's hosts took the join but did not send the group")
        return {"id": entry.entry_id, "c": 0}

    # -- serving (incoming) ----------------------------------------------------------------------

    async def serve(self, conn: Connection) -> None:
        key = conn.peer_key
        if key is None:
            await conn.aclose(CLOSE_REFUSED, "fed.unauthenticated")
            return
        refusal = self.book.refusal(key, trio.current_time())
        if refusal is not None:
            log.info("refused a connection from peer %s: %s", key.hex()[:16], refusal)
            await conn.aclose(CLOSE_PENALISED if refusal == "fed.penalised" else CLOSE_REFUSED, refusal)
            return
        self.incoming[key] = self.incoming.get(key, 0) + 1
        try:
            with self._tracked(key, conn):
                limits = self.node.limits
                bucket = TokenBucket(limits.request_rate, limits.request_burst, trio.current_time())
                await serve_streams(conn, lambda stream: self._serve_stream(bucket, key, stream))
        except* PeerPenalisedError:
            with contextlib.suppress(TransportError):
                await conn.aclose(CLOSE_PENALISED, "fed.penalised")
        except* TransportError:
            pass
        finally:
            self.incoming[key] -= 1
            if not self.incoming[key]:
                del self.incoming[key]
                self.sent.pop(key, None)

    async def _serve_stream(self, bucket: TokenBucket, key: bytes, stream: MessageStream) -> None:
        request: Request | None = None
        try:
            data = await stream.receive()
            if not bucket.take(trio.current_time()):
                raise ProtocolError("proto.rate_limited", "too many requests on this connection")
            request = decode_fed_request(data)
            if request.op == "sync":
                await self._serve_sync(key, sync_plan(request), stream)
                return
            if request.op == "digests":
                result = self._digests(key, digest_plan(request))
            else:
                body = request.fields["b"]
                header = request.bytes_of("e")
                result = await self._offer(key, header, body if isinstance(body, bytes) else None)
            await stream.send(encode_ok(result))
            await stream.finish()
        except PeerPenalisedError:
            raise
        except HoldspaceError as err:
            if self.node.observer is not None:
                self.node.observer.refused(err.code, "peer")
            await send_error(stream, err.code, err.message)
            offered = request.bytes_of("e") if request is not None and request.op == "offer" else None
            if not self._excused(err, offered) and not _relayed_join(err, offered):
                await self._count_strike(key)
        except StoreError as err:
            log.error("store failure: %s", err.code)
            await send_error(stream, "proto.busy", "the node could not store the entry; retry later")
        except TransportError:
            stream.reset(1)

    def _digests(self, key: bytes, groups: list[tuple[bytes, bytes]]) -> dict[str, codec.CborValue]:
        """Per group: refused, differ, or same with our last cursor (read *before* the heads, so a
        commit in between makes the digests differ rather than be skipped)."""
        differ: list[codec.CborValue] = []
        same: list[codec.CborValue] = []
        refused: list[codec.CborValue] = []
        store = self.node.store
        for group, digest in groups:
            code = self.node.core.serve_refusal(group, key)
            if code is not None:
                refused.append([group, self._invited(group, key) or code])
                continue
            end = store.last_cursor(group)
            if heads_digest(store.heads(group)) != digest:
                differ.append(group)
            else:
                same.append([group, end])
        return {"differ": differ, "same": same, "refused": refused}

    def _invited(self, group: bytes, peer: bytes) -> str | None:
        """A known peer asks us for a group we do not have: a facilitator may have added this node
        as a host (spec 12.7). Pull it from that peer; the peer serves it only if the group lists
        us, so nothing is fetched otherwise. Only peers this node already links to count (an
        operator-added peer or a co-host of another group), and at most ``MAX_ADOPTING`` at once;
        and only if the operator's admission lets that peer (``NodeCore.admit_invitation``: its
        ``admission.*`` code is returned, and nothing is fetched)."""
        address = self.addresses.get(peer)
        if address is None or self.node.core.hosts(group) or group in self.adopting:
            return None
        if len(self.adopting) >= MAX_ADOPTING:
            return None
        try:
            self.node.core.admit_invitation(group, added_peer=peer in self.book.added)
        except AdmissionError as err:
            log.info("refused to host a group for peer %s: %s", peer.hex()[:16], err.code)
            return err.code
        self.adopting[group] = {peer: address}
        self.invitations.add(group)
        self.node.topology_changed()
        return None

    async def _offer(self, key: bytes, header: bytes, payload: bytes | None) -> dict[str, codec.CborValue]:
        """A join relayed for a client of the peer (its ``adopt``): the client rules apply (spec
        16.4): stored only if it takes effect, the invite's expiry by this node's clock, no
        displacing a member admitted here. So a refusal means nothing was stored anywhere."""
        entry = decode_entry(header, None, now_ms=None, verify=False)  # a header that does not parse: its code
        if entry.kind != JOIN:
            raise ProtocolError("proto.malformed_frame", "offer carries a join, relayed for a client")
        if not self.node.core.hosts(entry.log_group):
            raise ProtocolError("proto.unknown_group")
        return await self.node.publish(header, payload, frozenset({entry.author}))

    async def _serve_sync(self, key: bytes, plan: SyncPlan, stream: MessageStream) -> None:
        answers: list[codec.CborValue] = []
        served: SyncPlan = []
        for group, after, have in plan:
            code = self.node.core.serve_refusal(group, key)
            if code is not None:
                answers.append([group, code])
                continue
            answers.append([group, None])
            served.append((group, after, have))
        await stream.send(encode_ok({"groups": answers}))
        if not served:
            await stream.finish()
            return
        send, receive = trio.open_memory_channel[bytes](0)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._read_reports, key, stream, nursery.cancel_scope)
            for group, after, wanted in served:
                nursery.start_soon(self._produce, key, group, after, wanted, send.clone())
            send.close()
            async for frame in receive:  # until no group is left to serve; a quiet stream is kept
                await stream.send(frame)  # open by the transport's keep-alive
            nursery.cancel_scope.cancel()
        with contextlib.suppress(TransportError):
            await stream.finish()

    async def _read_reports(self, key: bytes, stream: MessageStream, scope: trio.CancelScope) -> None:
        """What the puller refused (logged by code); the stream ends when the puller goes away."""
        try:
            while True:
                value = codec.decode(await stream.receive(), max_size=4096)
                code = value.get("code") if isinstance(value, dict) else None
                log.info("peer %s refused an entry we sent: %s", key.hex()[:16], str(code)[:64])
        except (TransportError, HoldspaceError):
            scope.cancel()

    async def _produce(
        self,
        peer: bytes,
        group: bytes,
        after: int | None,
        have: dict[bytes, tuple[int, bytes]] | None,
        send: trio.MemorySendChannel[bytes],
    ) -> None:
        """Stream ``group`` from ``after`` (or from now), skipping what ``have`` holds and what the
        peer itself sent us; then live. A ``have`` position whose id differs from ours is sent first:
        the puller then holds both branches of a fork and records the proof. A page with nothing
        left to send is announced (its ``next``) only every ``EMPTY_EVENT_STRIDE`` cursors."""
        node, store = self.node, self.node.store
        cursor = store.last_cursor(group) if after is None else after
        announced = cursor
        echoes = self._origin.setdefault(peer, {})
        served = self.sent.setdefault(peer, {})
        served[group] = cursor
        async with send:
            if have:
                witnesses: list[codec.CborValue] = []
                room = node.limits.transport.max_message_size - FRAME_SLACK
                for author, (seq, eid) in have.items():
                    record = store.get_at(group, author, seq)
                    if record is not None and record.entry_id != eid and len(witnesses) < MAX_WITNESSES:
                        header, _payload = unpack_record(record.raw)
                        if len(header) + 64 > room:
                            break
                        room -= len(header) + 64
                        witnesses.append([cursor, header, None])  # the header proves the fork
                if witnesses:
                    await send.send(encode_entries_event(group, witnesses, cursor))
            sent_forks: set[bytes] = set()
            proofs_read = -1  # the node's count of stored proofs when they were last read
            budget = node.limits.transport.max_message_size - FRAME_SLACK
            while True:
                event = node.group_event(group)
                if not node.core.serves(group, peer):  # not listed (any more): nothing until it is again
                    served.pop(group, None)
                    await event.wait()
                    continue
                if node.proofs_stored(group) != proofs_read:  # read again only when one was added
                    proofs_read = node.proofs_stored(group)
                    for proof in node.fork_proofs(group):
                        if proof not in sent_forks:
                            sent_forks.add(proof)
                            await send.send(encode_fork_event(group, proof))
                page = store.iter_group(group, cursor, node.limits.subscription_batch)
                if not page:
                    await event.wait()
                    continue
                items: list[codec.CborValue] = []
                size = 0
                for position, record in page:
                    held = have is not None and record.seq <= have.get(record.author, (0, b""))[0]
                    if held or record.entry_id in echoes:
                        cursor = position
                        continue
                    size += len(record.raw) + 16
                    if items and size > budget:
                        break
                    items.append([position, *unpack_record(record.raw)])
                    cursor = position
                if items or cursor - announced >= EMPTY_EVENT_STRIDE:
                    announced = cursor
                    await send.send(encode_entries_event(group, items, cursor))
                served[group] = cursor


async def _read_events(stream: MessageStream, send: trio.MemorySendChannel[SyncEvent]) -> None:
    """Read and decode a sync stream's events into ``send`` (its buffer bounds the read-ahead)."""
    async with send:
        while True:
            await send.send(decode_sync_event(decode_response(await stream.receive())))


async def _watch_outgoing(conn: Connection) -> None:
    """Notice a closed outgoing connection even when no stream is open on it (the link then
    reconnects). The peer has nothing to open on it: any stream it opens is reset."""
    while True:
        stream = await conn.accept_stream()  # raises TransportError once the connection is gone
        stream.reset(1)


def quic_connector(node_key: nacl.signing.SigningKey, limits: TransportLimits) -> Connector:
    """Federation over QUIC: the peer's key is pinned from its address, ours is our certificate."""

    def connect(address: NodeAddress) -> AbstractAsyncContextManager[Connection]:
        return connect_quic(
            address.host,
            address.port,
            expected_key=address.node_key,
            alpn=ALPN_FEDERATION,
            limits=limits,
            client_key=node_key,
        )

    return connect


def memory_connector(network: MemoryNetwork, node_key: nacl.signing.SigningKey, source: str = "client") -> Connector:
    """Federation over the in-memory transport (tests, the simulator): addresses are (host, port);
    ``source`` is this node's host (for the simulated network)."""

    def connect(address: NodeAddress) -> AbstractAsyncContextManager[Connection]:
        return network.connect(
            (address.host, address.port), address.node_key, ALPN_FEDERATION, client_key=node_key, source=source
        )

    return connect


def _relayed_join(err: HoldspaceError, offered: bytes | None) -> bool:
    """An offered join that the group's rules refuse, or sent to a node that does not host the group,
    comes from a client's ``adopt`` (its invite, its list of hosts): not the relaying node's fault."""
    if offered is None or not (err.code.startswith("group.") or err.code == "proto.unknown_group"):
        return False
    try:
        return decode_entry(offered, None, now_ms=None, verify=False).kind == JOIN
    except HoldspaceError:
        return False


def _author(header: bytes) -> bytes | None:
    """An entry header's author, if it parses."""
    try:
        return decode_entry(header, None, now_ms=None, verify=False).author
    except HoldspaceError:
        return None


def _ref(header: bytes) -> bytes:
    """How a refused entry is named back to its sender: its id if it parses, else the header's digest."""
    try:
        return decode_entry(header, None, now_ms=None, verify=False).entry_id
    except HoldspaceError:
        return bytes(32)


async def _request(conn: Connection, frame: bytes) -> dict[str, codec.CborValue]:
    """One request on its own stream; the sending side is finished (so the stream's credit returns)."""
    stream = await conn.open_stream()
    await stream.send(frame)
    await stream.finish()
    return decode_response(await stream.receive())


__all__ = [
    "CURSOR_PREFIX",
    "Connector",
    "Federation",
    "PeerPenalisedError",
    "memory_connector",
    "quic_connector",
]
