"""QUIC server: demultiplexing datagrams to connections, and admission.

Admission (checked in this order for a datagram that would start a connection): the connection
cap, the per-address cap, the Retry token (invalid: refused), Retry once ``retry_threshold``
connections are half-open, the half-open cap. A connection holds its admission slots (total,
per address, half-open) until it is gone or, for half-open, established; a handshake that fails
gives them back at once."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import nacl.signing
import trio
from aioquic._buffer import Buffer
from aioquic.quic.configuration import SMALLEST_MAX_DATAGRAM_SIZE, QuicConfiguration
from aioquic.quic.packet import (
    QuicErrorCode,
    QuicPacketType,
    encode_quic_retry,
    encode_quic_version_negotiation,
    pull_quic_header,
)
from aioquic.quic.retry import QuicRetryTokenHandler

from ._aioquic import encode_initial_close
from .base import (
    CLOSE_INTERNAL_ERROR,
    CLOSE_NO_ERROR,
    CLOSE_SHUTTING_DOWN,
    ServerStats,
    TransportClosed,
    TransportLimits,
    only_transport_errors,
)
from .certs import certificate_for
from .quic_driver import Address, QuicConnectionHandle
from .quic_endpoint import CID_LENGTH, QUIC_VERSION, UdpEndpoint, quic_configuration, resolve, tune

__all__ = ["ConnectionFactory", "serve_quic", "serve_quic_configured"]

log = logging.getLogger(__name__)

Handler = Callable[[QuicConnectionHandle], Awaitable[None]]
ConnectionFactory = Callable[..., QuicConnectionHandle]
"""Makes a server connection; takes ``QuicConnectionHandle``'s keyword arguments."""


class _ServerEndpoint(UdpEndpoint):
    def __init__(
        self,
        sock: socket.socket,
        *,
        configuration: QuicConfiguration,
        handler: Handler,
        limits: TransportLimits,
        stats: ServerStats,
        factory: ConnectionFactory = QuicConnectionHandle,
    ) -> None:
        super().__init__(sock, stats)
        self.factory = factory
        self.configuration = configuration
        self.handler = handler
        self.limits = limits
        self.stats = stats
        self.by_cid: dict[bytes, QuicConnectionHandle] = {}
        self.connections: set[QuicConnectionHandle] = set()
        self.per_address: dict[str, int] = {}  # IP address -> connections from it (half-open included)
        self.half_open: set[QuicConnectionHandle] = set()
        self.retry = QuicRetryTokenHandler()
        self.nursery: trio.Nursery | None = None

    # ---------------------------------------------------------------- demultiplexing

    def route(self, data: bytes, addr: Address, now: float) -> None:
        if not data:
            return
        if not data[0] & 0x80:  # short header: route by our fixed-length connection ID
            conn = self.by_cid.get(data[1 : 1 + CID_LENGTH])
            if conn is None:
                self.stats.unroutable_dropped += 1
                return
            self._deliver(conn, data, addr, now)
            return
        try:
            header = pull_quic_header(Buffer(data=data), host_cid_length=CID_LENGTH)
        except ValueError:
            self.stats.unroutable_dropped += 1
            return
        conn = self.by_cid.get(header.destination_cid)
        if conn is not None:
            self._deliver(conn, data, addr, now)
            return
        # Anything below may start a connection: RFC 9000 section 14.1 forbids any reply, version
        # negotiation included, to a datagram smaller than 1200 bytes.
        if len(data) < SMALLEST_MAX_DATAGRAM_SIZE:
            self.stats.small_datagrams_dropped += 1
            return
        if header.packet_type == QuicPacketType.VERSION_NEGOTIATION:
            self.stats.unroutable_dropped += 1
            return  # never answer VN with VN (reflection loops)
        if header.version != QUIC_VERSION:
            self.stats.version_negotiations += 1
            self.send_now(
                encode_quic_version_negotiation(
                    source_cid=header.destination_cid,
                    destination_cid=header.source_cid,
                    supported_versions=[QUIC_VERSION],
                ),
                addr,
            )
            return
        if header.packet_type != QuicPacketType.INITIAL or len(header.destination_cid) < 8:
            self.stats.unroutable_dropped += 1
            return
        self._new_connection(header, data, addr, now)

    def _deliver(self, conn: QuicConnectionHandle, data: bytes, addr: Address, now: float) -> None:
        try:
            conn.datagram_received(data, addr, now)
        except Exception:
            log.exception("dropping a connection after an internal error")
            conn.abort(CLOSE_INTERNAL_ERROR, "internal error")
            conn.terminate(TransportClosed("internal error", error_code=CLOSE_INTERNAL_ERROR))

    def _refuse(self, header: Any, addr: Address, error_code: int) -> None:
        self.stats.connections_refused += 1
        self.send_now(
            encode_initial_close(
                version=header.version,
                source_cid=header.destination_cid,
                destination_cid=header.source_cid,
                error_code=error_code,
            ),
            addr,
        )

    def _new_connection(self, header: Any, data: bytes, addr: Address, now: float) -> None:
        limits = self.limits
        if len(self.connections) >= limits.max_connections:
            self._refuse(header, addr, QuicErrorCode.CONNECTION_REFUSED)
            return
        if self.per_address.get(addr[0], 0) >= limits.max_connections_per_address:
            self.stats.refused_per_address += 1
            self._refuse(header, addr, QuicErrorCode.CONNECTION_REFUSED)
            return
        original_dcid = header.destination_cid
        retry_scid: bytes | None = None
        if header.token:
            try:
                original_dcid = self.retry.validate_token(
                    address=addr, destination_cid=header.destination_cid, token=header.token, now=now
                )
            except ValueError:
                self.stats.invalid_tokens += 1
                self._refuse(header, addr, QuicErrorCode.INVALID_TOKEN)
                return
            retry_scid = header.destination_cid
        elif len(self.half_open) >= limits.retry_threshold:
            # Address validation: a Retry costs no state; the client proves it owns the address.
            source_cid = os.urandom(CID_LENGTH)
            self.stats.retries_sent += 1
            self.send_now(
                encode_quic_retry(
                    version=header.version,
                    source_cid=source_cid,
                    destination_cid=header.source_cid,
                    original_destination_cid=header.destination_cid,
                    retry_token=self.retry.create_token(
                        address=addr,
                        original_destination_connection_id=header.destination_cid,
                        retry_source_connection_id=source_cid,
                        now=now,
                    ),
                ),
                addr,
            )
            return
        if len(self.half_open) >= limits.max_half_open:
            self._refuse(header, addr, QuicErrorCode.CONNECTION_REFUSED)
            return
        assert self.nursery is not None
        conn = self.factory(
            endpoint=self,
            configuration=self.configuration,
            limits=limits,
            remote_address=addr,
            is_client=False,
            server_stats=self.stats,
            original_destination_connection_id=original_dcid,
            retry_source_connection_id=retry_scid,
        )
        for cid in (header.destination_cid, conn.quic.host_cid):
            conn.cids.add(cid)
            self.by_cid[cid] = conn
        self.connections.add(conn)
        self.half_open.add(conn)
        self.per_address[addr[0]] = self.per_address.get(addr[0], 0) + 1
        self._deliver(conn, data, addr, now)
        if not conn.quic.accepted_a_packet and not conn.terminated.is_set():
            # Nothing decrypted: keep no state for it and send nothing.
            self.stats.unroutable_dropped += 1
            conn.terminate(TransportClosed("first datagram did not decrypt"))
        if conn.terminated.is_set():
            return
        self.stats.connections = len(self.connections)
        self.stats.half_open = len(self.half_open)
        self.stats.peak_half_open = max(self.stats.peak_half_open, self.stats.half_open)
        self.nursery.start_soon(conn.drive)

    # ---------------------------------------------------------------- connection hooks

    def register_cid(self, cid: bytes, conn: QuicConnectionHandle) -> None:
        self.by_cid[cid] = conn

    def unregister_cid(self, cid: bytes) -> None:
        self.by_cid.pop(cid, None)

    def connection_established(self, conn: QuicConnectionHandle) -> None:
        self.half_open.discard(conn)
        self.stats.half_open = len(self.half_open)
        self.stats.connections_accepted += 1
        assert self.nursery is not None
        self.nursery.start_soon(self._run_handler, conn)

    def connection_gone(self, conn: QuicConnectionHandle) -> None:
        for cid in conn.cids:
            if self.by_cid.get(cid) is conn:
                del self.by_cid[cid]
        conn.cids.clear()
        if conn in self.connections:
            self.connections.discard(conn)
            host = conn.remote_address[0]
            left = self.per_address.get(host, 1) - 1
            if left > 0:
                self.per_address[host] = left
            else:
                self.per_address.pop(host, None)
        self.half_open.discard(conn)
        self.stats.connections = len(self.connections)
        self.stats.half_open = len(self.half_open)

    async def _run_handler(self, conn: QuicConnectionHandle) -> None:
        code = CLOSE_NO_ERROR
        try:
            await self.handler(conn)
        except Exception as exc:
            if not only_transport_errors(exc):
                log.exception("connection handler failed")
                code = CLOSE_INTERNAL_ERROR
        if conn.closed_exc is None:
            if code == CLOSE_NO_ERROR:
                await conn.aclose(code, "")
            else:  # a transport code (above the application range): closed directly, never raised
                conn.close_now(code, "internal error", TransportClosed("internal error", error_code=code))
                await conn.flush()

    def shutdown(self) -> None:
        for conn in list(self.connections):
            if not conn.terminated.is_set():
                if conn.closed_exc is None:
                    conn.close_now(
                        CLOSE_SHUTTING_DOWN,
                        "node shutting down",
                        TransportClosed("node shutting down", error_code=CLOSE_SHUTTING_DOWN),
                    )
                conn.flush_now()
                conn.terminate(TransportClosed("node shut down", error_code=CLOSE_SHUTTING_DOWN))


async def serve_quic(
    host: str,
    port: int,
    *,
    node_key: nacl.signing.SigningKey,
    alpns: list[str],
    handler: Callable[[QuicConnectionHandle], Awaitable[None]],
    limits: TransportLimits = TransportLimits(),  # noqa: B008 - frozen, immutable
    task_status: trio.TaskStatus[Address] = trio.TASK_STATUS_IGNORED,
    stats: ServerStats | None = None,
) -> None:
    """Serve QUIC on (host, port) until cancelled; ``handler(conn)`` runs per established
    connection and the connection is closed gracefully when it returns.

    The bound (host, port) is reported through ``task_status`` (port 0 picks a free port).
    ``stats`` (optional) is updated in place with server counters.
    """
    if not alpns:
        raise ValueError("at least one ALPN is required")
    cert, private_key = certificate_for(node_key)
    configuration = quic_configuration(limits, is_client=False, alpns=list(alpns))
    configuration.certificate = cert
    configuration.private_key = private_key
    await serve_quic_configured(
        host,
        port,
        configuration=configuration,
        handler=handler,
        limits=limits,
        task_status=task_status,
        stats=stats,
    )


async def serve_quic_configured(
    host: str,
    port: int,
    *,
    configuration: QuicConfiguration,
    handler: Callable[[QuicConnectionHandle], Awaitable[None]],
    limits: TransportLimits,
    factory: ConnectionFactory = QuicConnectionHandle,
    task_status: trio.TaskStatus[Address] = trio.TASK_STATUS_IGNORED,
    stats: ServerStats | None = None,
) -> None:
    """:func:`serve_quic` with a ready server configuration (certificate, ALPNs) and the class of
    its connections (``factory``): the same admission control for every QUIC endpoint of a node."""
    family, bind_address = await resolve(host, port)
    sock = socket.socket(family, socket.SOCK_DGRAM)
    endpoint = None
    try:
        tune(sock)
        sock.bind(bind_address)
        endpoint = _ServerEndpoint(
            sock,
            configuration=configuration,
            handler=handler,
            limits=limits,
            stats=stats if stats is not None else ServerStats(),
            factory=factory,
        )
        async with trio.open_nursery() as nursery:
            endpoint.nursery = nursery
            nursery.start_soon(endpoint.recv_loop)
            bound = sock.getsockname()
            task_status.started((str(bound[0]), int(bound[1])))
    finally:
        if endpoint is not None:
            endpoint.shutdown()
        sock.close()
