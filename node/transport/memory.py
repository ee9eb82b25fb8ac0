"""In-memory transport with the same interface and semantics as the QUIC binding.

For tests and simulations: no sockets, no threads, only trio primitives, so it runs under
``trio.testing.MockClock``.  It keeps the observable semantics of the QUIC binding:

* message size limit, checked by the sender (nothing written) and by the receiver (the stream is
  reset with ``STREAM_MESSAGE_TOO_LARGE``, counted, the connection keeps working);
* bounded buffers: ``send`` waits while the receiving connection holds ``max_buffered_bytes``
  unread, or the stream holds more than its window plus the unacknowledged-send allowance;
* at most ``max_streams`` live streams per direction; a stream becomes visible to the peer on its
  first message, ``finish`` or ``reset`` (as in QUIC, where a stream exists once a frame names it);
* pinning (``PinMismatch``), ALPN (``NoApplicationProtocol``), connection cap, idle timeout and
  keep-alive (``TransportLimits.keepalive_interval``: a connection to a reachable peer never idles
  out; its PINGs are not modelled as messages), graceful close (queued messages stay readable), the
  same exceptions and codes.

Messages cross instantly unless the network has a :class:`Wire`: a model of the links between
hosts (latency, bandwidth, loss, partitions, crashed hosts; see ``simulations/network.py``). With a
wire, every message, stream end and connection close reaches the peer when the wire says, in order
per stream (a close after everything its connection sent); bytes in flight count against the
receiver's buffers; a connection attempt costs the wire's handshake; the idle timeout runs from the
last arrival, so a partition that outlasts it closes the connection on both sides.

Differences: buffering is accounted per whole message (QUIC counts bytes as they arrive), there
is no handshake (so no handshake timeout, half-open cap or Retry), and ``remote_address`` of a
server-side connection is synthetic.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Awaitable, Callable, Hashable
from types import TracebackType
from typing import Any, Protocol

import nacl.signing
import trio

from .base import (
    CLOSE_INTERNAL_ERROR,
    CLOSE_NO_ERROR,
    CLOSE_SHUTTING_DOWN,
    HEADER_SIZE,
    STREAM_MESSAGE_TOO_LARGE,
    ConnectionRefused,
    ConnectionStats,
    IdleTimeout,
    MessageTooLarge,
    NoApplicationProtocol,
    PinMismatch,
    ServerStats,
    StreamClosed,
    StreamReset,
    TransportClosed,
    TransportError,
    TransportLimits,
    check_application_code,
    clone_error,
    only_transport_errors,
)
from .streams import Signal, StreamEnds, StreamTable

__all__ = ["MemoryConnection", "MemoryMessageStream", "MemoryNetwork", "Wire"]

log = logging.getLogger(__name__)


class Wire(Protocol):
    """A model of the network between hosts, for :class:`MemoryNetwork` (simulations).

    Hosts are the first element of a listener's ``(host, port)`` address, and the ``source`` a
    client names when it connects.
    """

    def carry(self, src: Hashable, dst: Hashable, nbytes: int, after: float, action: Callable[[], None]) -> float:
        """Run ``action`` (synchronously, from the wire's own task) when ``nbytes`` sent now from
        ``src`` arrive at ``dst``, not before time ``after``; never, if either host crashes first.
        Returns the arrival time planned now (a partition may delay it further)."""
        ...

    async def handshake(self, src: Hashable, dst: Hashable, give_up_after: float) -> None:
        """Wait for a connection handshake; raise ``HandshakeTimeout`` after ``give_up_after`` seconds if
        ``dst`` cannot be reached."""
        ...

    def spawn(self, fn: Callable[[], Awaitable[None]]) -> None:
        """Run a background task that outlives any one host (connection idle timers)."""
        ...

    def broken_since(self, a: Hashable, b: Hashable) -> float | None:
        """Since when hosts ``a`` and ``b`` cannot reach each other (None: they can)."""
        ...

    def watch(self, link: _Link) -> None:
        """Call ``link.nudge()`` whenever reachability changes, until :meth:`unwatch`."""
        ...

    def unwatch(self, link: _Link) -> None: ...


def host_of(address: Hashable) -> Hashable:
    """The host part of an address: ``(host, port)`` -> ``host``."""
    return address[0] if isinstance(address, tuple) and len(address) == 2 else address


class MemoryMessageStream(StreamEnds):
    def __init__(self, conn: MemoryConnection, stream_id: int) -> None:
        super().__init__(stream_id)
        self._conn = conn
        self.peer: MemoryMessageStream | None = None
        self._announced = False
        self._queued_bytes = 0  # received and in flight (with a wire), header included
        self._inflight_bytes = 0  # of which still in flight
        self._last_arrival = 0.0  # the wire's arrival time of our last message (order per stream)

    # ---------------------------------------------------------------- StreamEnds: sending

    async def send(self, message: bytes) -> None:
        await trio.lowlevel.checkpoint_if_cancelled()
        self._check_size(message, self._conn.limits.max_message_size)
        await self._write_message(message)

    async def _send_unchecked(self, message: bytes) -> None:
        """Testing hook: send without the local size check (as a misbehaving peer would)."""
        await trio.lowlevel.checkpoint_if_cancelled()
        await self._write_message(message)

    # ---------------------------------------------------------------- StreamEnds: the wire

    def _connection_error(self) -> TransportError | None:
        return self._conn.closed_exc

    def _took(self, message: bytes) -> None:
        cost = HEADER_SIZE + len(message)
        self._queued_bytes -= cost
        conn = self._conn
        conn.stats.buffered_bytes -= cost
        conn.stats.messages_received += 1
        conn.link.touch()
        conn.space_changed.fire()

    async def _write_fin(self) -> None:
        conn = self._conn
        await self._announce()
        self._send_closed = True
        self._send_exc = StreamClosed("stream already finished")
        peer = self.peer
        assert peer is not None
        conn.transmit(self, 0, peer._end_of_stream)
        self._maybe_release()

    def _abort_wire(self, code: int) -> None:
        peer_conn = self._conn.peer
        if (
            not self._announced
            and self._conn.closed_exc is None
            and peer_conn is not None
            and peer_conn.alive_in < peer_conn.limits.max_streams
        ):
            self._announce_now()  # a reset makes the stream visible, as in QUIC
        peer = self.peer
        if peer is not None and self._conn.closed_exc is None:
            what = f"(code {code:#x})"
            if not self._send_closed:
                peer._discard_receive(StreamReset(f"stream reset by peer {what}", error_code=code))
            if not self._recv_done:
                peer._close_send(StreamReset(f"peer stopped reading {what}", error_code=code))

    def _drop_buffered(self) -> None:
        conn = self._conn
        if self._queued_bytes:
            conn.stats.buffered_bytes -= self._queued_bytes
            conn.space_changed.fire()
        self._queued_bytes = 0
        self._inflight_bytes = 0

    def _send_ended(self) -> None:
        peer_conn = self._conn.peer
        if peer_conn is not None:
            peer_conn.space_changed.fire()  # wake our blocked senders

    def _release(self) -> None:
        self._conn.release(self)

    # ---------------------------------------------------------------- sending and delivery

    async def _write_message(self, message: bytes) -> None:
        message = bytes(message)
        conn = self._conn
        cost = HEADER_SIZE + len(message)
        while True:
            self._check_send()
            peer_conn = conn.peer
            assert peer_conn is not None
            if not self._announced and peer_conn.alive_in >= peer_conn.limits.max_streams:
                await peer_conn.space_changed.wait()  # like waiting for MAX_STREAMS credit
                continue
            peer = self.peer
            if peer is not None and peer._recv_done:
                break  # the receiver drops it
            if len(message) > peer_conn.limits.max_message_size:
                break  # rejected on its length prefix, never buffered
            stream_cap = peer_conn.limits.stream_receive_window + conn.limits.max_unacked_send_bytes
            queued = 0 if peer is None else peer._queued_bytes
            room_stream = queued == 0 or queued + cost <= stream_cap  # in-flight bytes included
            room_conn = peer_conn.stats.buffered_bytes + cost <= peer_conn.limits.max_buffered_bytes
            if room_stream and room_conn:
                break
            await peer_conn.space_changed.wait()
        await self._announce()
        peer = self.peer
        assert peer is not None
        conn.stats.messages_sent += 1
        conn.count_sent(cost)
        if len(message) > peer._conn.limits.max_message_size or peer._recv_done:
            conn.transmit(self, len(message), lambda: peer._deliver(message, 0))
        else:
            peer._reserve(cost)
            conn.transmit(self, len(message), lambda: peer._deliver(message, cost))
        await trio.lowlevel.cancel_shielded_checkpoint()

    async def _announce(self) -> None:
        if self._announced:
            return
        conn = self._conn
        peer_conn = conn.peer
        assert peer_conn is not None
        while peer_conn.alive_in >= peer_conn.limits.max_streams and conn.closed_exc is None:
            await peer_conn.space_changed.wait()
        if conn.closed_exc is not None:
            raise clone_error(conn.closed_exc)
        self._announce_now()

    def _announce_now(self) -> None:
        conn = self._conn
        peer_conn = conn.peer
        assert peer_conn is not None
        self._announced = True
        peer = MemoryMessageStream(peer_conn, self.stream_id)
        peer._announced = True
        peer.peer = self
        self.peer = peer
        peer_conn.table.add_peer_stream(peer)

    def _reserve(self, cost: int) -> None:
        """Count a message sent to us as buffered from the moment it is sent (in flight included)."""
        self._queued_bytes += cost
        self._inflight_bytes += cost
        stats = self._conn.stats
        stats.buffered_bytes += cost
        stats.peak_buffered_bytes = max(stats.peak_buffered_bytes, stats.buffered_bytes)

    def _end_of_stream(self) -> None:
        if not self._recv_done:
            self._end_receive(None)

    def _deliver(self, message: bytes, reserved: int) -> None:
        """A message arrives; ``reserved`` is what :meth:`_reserve` counted for it (0: nothing)."""
        conn = self._conn
        conn.count_received(HEADER_SIZE + len(message))
        reserved = min(reserved, self._inflight_bytes)  # a discard already dropped the reservation
        self._inflight_bytes -= reserved
        if self._recv_done or conn.closed_exc is not None:
            if reserved:
                self._queued_bytes -= reserved
                conn.stats.buffered_bytes -= reserved
                conn.space_changed.fire()
            return
        if len(message) > conn.limits.max_message_size:
            conn.stats.oversize_resets += 1
            if conn.server_stats is not None:
                conn.server_stats.oversize_resets += 1
            exc = MessageTooLarge(
                f"peer announced a {len(message)}-byte message (limit {conn.limits.max_message_size}); stream reset",
                error_code=STREAM_MESSAGE_TOO_LARGE,
            )
            self._recv_done = True
            self._recv_exc = exc
            self._recv_changed.fire()
            self._close_send(exc)
            peer = self.peer
            if peer is not None:
                peer._close_send(clone_error(exc))  # STOP_SENDING
                peer._discard_receive(clone_error(exc))  # RESET_STREAM
            return
        cost = HEADER_SIZE + len(message)
        self._queue.append(message)
        if reserved < cost:
            self._reserve(cost - reserved)
            self._inflight_bytes -= cost - reserved
        self._recv_changed.fire()


class MemoryConnection:
    def __init__(
        self,
        *,
        limits: TransportLimits,
        link: _Link,
        is_client: bool,
        remote_address: tuple[str, int],
        alpn: str,
        peer_key: bytes | None,
        server_stats: ServerStats | None = None,
        host: Hashable = "client",
    ) -> None:
        self.host = host  # this end's host, for the wire
        self.limits = limits
        self.link = link
        self.is_client = is_client
        self.remote_address = remote_address
        self.alpn = alpn
        self.peer_key = peer_key
        self.stats = ConnectionStats()
        self.server_stats = server_stats
        self.peer: MemoryConnection | None = None
        self.table: StreamTable[MemoryMessageStream] = StreamTable(is_client=is_client, max_streams=limits.max_streams)
        self.space_changed = Signal()  # buffer space, or a stream slot, freed on this end
        self._next_stream_id = 0 if is_client else 1
        self.closed_exc: TransportError | None = None
        self.closed_at = math.inf
        self._last_arrival = 0.0  # the wire's latest arrival time of anything we sent

    def transmit(self, stream: MemoryMessageStream | None, nbytes: int, action: Callable[[], None]) -> None:
        """Send ``action`` to the peer: now, or through the wire after everything ``stream`` (or,
        for ``None``, this whole connection) sent before."""
        link = self.link
        wire = link.wire
        if wire is None:
            link.touch()
            action()
            return
        peer = self.peer
        assert peer is not None

        def arrive() -> None:
            link.touch()
            action()

        after = self._last_arrival if stream is None else stream._last_arrival
        arrival = wire.carry(self.host, peer.host, nbytes, after, arrive)
        if stream is not None:
            stream._last_arrival = arrival
        self._last_arrival = max(self._last_arrival, arrival)

    @property
    def streams(self) -> dict[int, MemoryMessageStream]:
        """Live streams by id (ours and the peer's)."""
        return self.table.streams

    @property
    def alive_in(self) -> int:
        """Streams the peer opened that are not released yet."""
        return self.table.alive_in

    async def open_stream(self) -> MemoryMessageStream:
        return await self.table.open(lambda: self.closed_exc, self._new_stream)

    def _new_stream(self) -> MemoryMessageStream:
        stream = MemoryMessageStream(self, self._next_stream_id)
        self._next_stream_id += 4
        return stream

    async def accept_stream(self) -> MemoryMessageStream:
        return await self.table.accept(lambda: self.closed_exc)

    async def aclose(self, code: int = 0, reason: str = "") -> None:
        check_application_code(code)
        await trio.lowlevel.checkpoint_if_cancelled()
        self.link.close(
            self,
            TransportClosed("connection closed locally", error_code=code, reason=reason),
            TransportClosed(
                f"connection closed by peer (application code {code:#x}) {reason}".rstrip(),
                error_code=code,
                reason=reason,
                by_peer=True,
            ),
        )

    def count_sent(self, nbytes: int) -> None:
        """Count message bytes in this connection's stats and its listener's (no datagrams)."""
        self.stats.bytes_sent += nbytes
        if self.server_stats is not None:
            self.server_stats.bytes_sent += nbytes

    def count_received(self, nbytes: int) -> None:
        """Count message bytes in this connection's stats and its listener's (no datagrams)."""
        self.stats.bytes_received += nbytes
        if self.server_stats is not None:
            self.server_stats.bytes_received += nbytes

    def release(self, stream: MemoryMessageStream) -> None:
        if self.table.release(stream) is not None:
            self.space_changed.fire()

    def mark_closed(self, exc: TransportError) -> None:
        if self.closed_exc is not None:
            return
        self.closed_exc = exc
        self.closed_at = trio.current_time()
        self.link.end_closed()
        self.space_changed.fire()
        self.table.connection_closed()


class _Link:
    """The shared state of a client/server connection pair."""

    def __init__(self, idle_timeout: float, wire: Wire | None = None, *, keepalive: bool = False) -> None:
        self.wire = wire
        self.idle_timeout = idle_timeout
        self.keepalive = keepalive  # an end sends PINGs: the link lives as long as its path does
        self.last_activity = trio.current_time()
        self.ends: tuple[MemoryConnection, MemoryConnection] | None = None
        self.closed = trio.Event()
        self.nudged = trio.Event()  # the link closed, or (with a wire) reachability changed

    def nudge(self) -> None:
        self.nudged.set()

    def touch(self) -> None:
        self.last_activity = trio.current_time()

    def end_closed(self) -> None:
        if self.ends is not None and all(end.closed_exc is not None for end in self.ends):
            self.closed.set()
        self.nudge()  # one end gone: the other's PINGs go unanswered from now on

    def close(self, initiator: MemoryConnection | None, local: TransportError, remote: TransportError) -> None:
        """Close both ends: at once, or (with a wire) the initiator now and the peer when the close
        reaches it. ``closed`` is set once both ends are closed: until then the idle timer runs, so
        an end whose peer vanished (a crashed host) still times out on its own, as in QUIC."""
        if self.closed.is_set() or self.ends is None:
            return
        if initiator is None or self.wire is None:
            for end in self.ends:
                end.mark_closed(local if (initiator is None or end is initiator) else remote)
            return
        if initiator.closed_exc is not None:
            return
        initiator.mark_closed(local)
        peer = initiator.peer
        assert peer is not None
        initiator.transmit(None, 0, lambda: peer.mark_closed(remote))  # after what it sent

    async def watch_idle(self) -> None:
        """Close both ends after ``idle_timeout`` without arrivals. With keep-alive, PINGs would
        have arrived for as long as the path worked, so the timer runs from when the wire says the
        path broke (a partition, a crashed host); with keep-alive and no wire, never."""
        wire = self.wire
        if wire is not None and self.keepalive:
            wire.watch(self)
        try:
            while not self.closed.is_set():
                start = self.last_activity
                gone = [e.closed_at for e in self.ends or () if e.closed_exc is not None]
                if self.keepalive and gone:  # PINGs to a closed end go unanswered
                    start = max(start, min(gone))
                elif self.keepalive:
                    broken = None if wire is None else wire.broken_since(*(e.host for e in self.ends or ()))
                    if broken is None:  # PINGs keep it alive: wait for a change
                        self.nudged = trio.Event()
                        await self.nudged.wait()
                        continue
                    start = max(start, broken)
                deadline = start + self.idle_timeout
                if trio.current_time() >= deadline:
                    self.close(None, IdleTimeout("idle timeout"), IdleTimeout("idle timeout"))
                    return
                self.nudged = trio.Event()
                with trio.move_on_at(deadline):
                    await self.nudged.wait()
        finally:
            if wire is not None and self.keepalive:
                wire.unwatch(self)


class _Listener:
    def __init__(
        self,
        *,
        address: Hashable,
        node_key: nacl.signing.SigningKey,
        alpns: list[str],
        handler: Callable[[MemoryConnection], Awaitable[None]],
        limits: TransportLimits,
        stats: ServerStats,
    ) -> None:
        self.address = address
        self.key = bytes(node_key.verify_key)
        self.alpns = list(alpns)
        self.handler = handler
        self.limits = limits
        self.stats = stats
        self.connections: dict[MemoryConnection, None] = {}  # a dict: iterated in a reproducible order
        self.nursery: trio.Nursery | None = None

    async def run_handler(self, conn: MemoryConnection) -> None:
        code = CLOSE_NO_ERROR
        try:
            try:
                await self.handler(conn)
            except Exception as exc:
                if not only_transport_errors(exc):
                    log.exception("connection handler failed")
                    code = CLOSE_INTERNAL_ERROR
            if conn.closed_exc is None:
                await conn.aclose(code, "" if code == CLOSE_NO_ERROR else "internal error")
        finally:
            self.connections.pop(conn, None)
            self.stats.connections = len(self.connections)

    def shutdown(self) -> None:
        for conn in list(self.connections):
            conn.link.close(
                conn,
                TransportClosed("node shut down", error_code=CLOSE_SHUTTING_DOWN),
                TransportClosed(
                    "connection closed by peer: node shutting down",
                    error_code=CLOSE_SHUTTING_DOWN,
                    by_peer=True,
                ),
            )
        self.connections.clear()


class _MemoryClientContext:
    def __init__(self, network: MemoryNetwork, **kwargs: Any) -> None:
        self._network = network
        self._kwargs = kwargs
        self._conn: MemoryConnection | None = None

    async def __aenter__(self) -> MemoryConnection:
        self._conn = await self._network._connect(**self._kwargs)
        return self._conn

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        conn = self._conn
        assert conn is not None
        if exc is None:
            await conn.aclose()
        elif conn.closed_exc is None:
            conn.link.close(
                conn,
                TransportClosed("connection aborted locally", error_code=CLOSE_INTERNAL_ERROR),
                TransportClosed(
                    "connection closed by peer (application code 0x10004) client error",
                    error_code=CLOSE_INTERNAL_ERROR,
                    by_peer=True,
                ),
            )
        return False


class MemoryNetwork:
    """A namespace of in-memory listeners; addresses are any hashable (usually (host, port)).

    With a ``wire``, messages cross the network as the wire models it (see :class:`Wire`)."""

    def __init__(self, wire: Wire | None = None) -> None:
        self.wire = wire
        self._listeners: dict[Hashable, _Listener] = {}
        self._client_ids = itertools.count(1)

    async def serve(
        self,
        address: Hashable,
        node_key: nacl.signing.SigningKey,
        alpns: list[str],
        handler: Callable[[MemoryConnection], Awaitable[None]],
        *,
        limits: TransportLimits = TransportLimits(),  # noqa: B008 - frozen, immutable
        stats: ServerStats | None = None,
        task_status: trio.TaskStatus[Hashable] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Listen on ``address`` until cancelled, running ``handler`` per connection."""
        if not alpns:
            raise ValueError("at least one ALPN is required")
        if address in self._listeners:
            raise OSError(f"address {address!r} is already in use")
        listener = _Listener(
            address=address,
            node_key=node_key,
            alpns=alpns,
            handler=handler,
            limits=limits,
            stats=stats if stats is not None else ServerStats(),
        )
        self._listeners[address] = listener
        try:
            async with trio.open_nursery() as nursery:
                listener.nursery = nursery
                task_status.started(address)
                try:
                    await trio.sleep_forever()
                finally:
                    listener.shutdown()
        finally:
            self._listeners.pop(address, None)

    def connect(
        self,
        address: Hashable,
        expected_key: bytes,
        alpn: str,
        *,
        limits: TransportLimits = TransportLimits(),  # noqa: B008 - frozen, immutable
        client_key: nacl.signing.SigningKey | None = None,
        source: Hashable = "client",
    ) -> _MemoryClientContext:
        """``async with network.connect(address, expected_key, alpn) as conn``; ``source`` is the
        connecting host, for the wire."""
        return _MemoryClientContext(
            self,
            address=address,
            expected_key=expected_key,
            alpn=alpn,
            limits=limits,
            client_key=client_key,
            source=source,
        )

    async def _connect(
        self,
        *,
        address: Hashable,
        expected_key: bytes,
        alpn: str,
        limits: TransportLimits,
        client_key: nacl.signing.SigningKey | None,
        source: Hashable,
    ) -> MemoryConnection:
        await trio.lowlevel.checkpoint()
        if len(expected_key) != 32:
            raise ValueError("expected_key must be a 32-byte Ed25519 public key")
        if self.wire is not None:
            await self.wire.handshake(source, host_of(address), limits.handshake_timeout)
        listener = self._listeners.get(address)
        if listener is None or listener.nursery is None:
            raise ConnectionRefused(f"nothing listens on {address!r}")
        if alpn not in listener.alpns:
            raise NoApplicationProtocol(f"no common ALPN ({alpn!r} not in {listener.alpns})")
        if listener.key != bytes(expected_key):
            raise PinMismatch(f"node key {listener.key.hex()} is not the pinned {bytes(expected_key).hex()}")
        if len(listener.connections) >= listener.limits.max_connections:
            listener.stats.connections_refused += 1
            raise ConnectionRefused("connection limit reached")
        keepalive = limits.keepalive_interval is not None or listener.limits.keepalive_interval is not None
        link = _Link(min(limits.idle_timeout, listener.limits.idle_timeout), self.wire, keepalive=keepalive)
        if isinstance(address, tuple) and len(address) == 2:
            remote = (str(address[0]), int(address[1]))
        else:
            remote = (str(address), 0)
        client = MemoryConnection(
            limits=limits,
            link=link,
            is_client=True,
            remote_address=remote,
            alpn=alpn,
            peer_key=listener.key,
            host=source,
        )
        server = MemoryConnection(
            limits=listener.limits,
            link=link,
            is_client=False,
            remote_address=("memory-client", next(self._client_ids)),
            alpn=alpn,
            peer_key=None if client_key is None else bytes(client_key.verify_key),
            server_stats=listener.stats,
            host=host_of(address),
        )
        client.peer, server.peer = server, client
        link.ends = (client, server)
        listener.connections[server] = None
        listener.stats.connections_accepted += 1
        listener.stats.connections = len(listener.connections)
        if self.wire is not None:
            self.wire.spawn(link.watch_idle)  # it must outlive the listener (a crashed host)
        else:
            listener.nursery.start_soon(link.watch_idle)
        listener.nursery.start_soon(listener.run_handler, server)
        return client
