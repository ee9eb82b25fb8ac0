"""QUIC client: ``connect_quic``, one connection on its own UDP socket."""

from __future__ import annotations

import logging
import socket
from types import TracebackType
from typing import Any

import nacl.signing
import trio

from .base import (
    CLOSE_INTERNAL_ERROR,
    TransportClosed,
    TransportLimits,
    clone_error,
)
from .certs import certificate_for
from .quic_driver import Address, QuicConnectionHandle
from .quic_endpoint import UdpEndpoint, quic_configuration, resolve, tune

__all__ = ["connect_quic"]

log = logging.getLogger(__name__)


class _ClientEndpoint(UdpEndpoint):
    def __init__(self, sock: socket.socket) -> None:
        super().__init__(sock)
        self.conn: QuicConnectionHandle | None = None

    def route(self, data: bytes, addr: Address, now: float) -> None:
        conn = self.conn
        if conn is not None:
            try:
                conn.datagram_received(data, addr, now)
            except Exception:
                log.exception("dropping the connection after an internal error")
                conn.abort(CLOSE_INTERNAL_ERROR, "internal error")
                conn.terminate(TransportClosed("internal error", error_code=CLOSE_INTERNAL_ERROR))


class _ClientContext:
    """``async with connect_quic(...) as conn``; the body's exceptions pass through unchanged."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        expected_key: bytes,
        alpn: str,
        limits: TransportLimits,
        client_key: nacl.signing.SigningKey | None,
    ) -> None:
        if len(expected_key) != 32:
            raise ValueError("expected_key must be a 32-byte Ed25519 public key")
        self._host = host
        self._port = port
        self._expected_key = bytes(expected_key)
        self._alpn = alpn
        self._limits = limits
        self._client_key = client_key
        self._sock: socket.socket | None = None
        self._nursery_manager: Any = None
        self._nursery: trio.Nursery | None = None
        self._conn: QuicConnectionHandle | None = None

    async def __aenter__(self) -> QuicConnectionHandle:
        family, remote = await resolve(self._host, self._port)
        sock = self._sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            tune(sock)
            sock.bind(("::", 0) if family == socket.AF_INET6 else ("0.0.0.0", 0))  # noqa: S104
            configuration = quic_configuration(self._limits, is_client=True, alpns=[self._alpn])
            if self._client_key is not None:
                configuration.certificate, configuration.private_key = certificate_for(self._client_key)
            endpoint = _ClientEndpoint(sock)
            conn = self._conn = QuicConnectionHandle(
                endpoint=endpoint,
                configuration=configuration,
                limits=self._limits,
                remote_address=remote,
                is_client=True,
                expected_key=self._expected_key,
            )
            endpoint.conn = conn
            self._nursery_manager = trio.open_nursery()
            self._nursery = await self._nursery_manager.__aenter__()
        except BaseException:
            sock.close()
            raise
        try:
            self._nursery.start_soon(endpoint.recv_loop)
            self._nursery.start_soon(conn.drive)
            conn.quic.connect(remote, now=trio.current_time())
            conn.wake()
            await conn.established.wait()
            if not conn.handshake_ok:
                assert conn.closed_exc is not None
                raise clone_error(conn.closed_exc)
        except BaseException:
            conn.abort(CLOSE_INTERNAL_ERROR, "connect aborted")
            await self._teardown()
            raise
        return conn

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        conn = self._conn
        assert conn is not None
        if exc is None:
            try:
                await conn.aclose()
            except BaseException:
                conn.abort()
                await self._teardown()
                raise
        else:
            conn.abort(CLOSE_INTERNAL_ERROR, "client error")
        await self._teardown()
        return False

    async def _teardown(self) -> None:
        assert self._nursery is not None and self._sock is not None
        self._nursery.cancel_scope.cancel()
        try:
            await self._nursery_manager.__aexit__(None, None, None)
        finally:
            self._sock.close()


def connect_quic(
    host: str,
    port: int,
    *,
    expected_key: bytes,
    alpn: str,
    limits: TransportLimits = TransportLimits(),  # noqa: B008 - frozen, immutable
    client_key: nacl.signing.SigningKey | None = None,
) -> _ClientContext:
    """Connect to a node whose Ed25519 key is ``expected_key``: ``async with connect_quic(...) as conn``.

    Raises ConnectFailed subclasses (PinMismatch, HandshakeTimeout, ConnectionRefused,
    NoApplicationProtocol, BadCertificate). With ``client_key`` the client presents a certificate
    for that key, which the node sees as ``conn.peer_key``. Leaving the block closes gracefully
    (or aborts if the block raised).
    """
    return _ClientContext(
        host=host, port=port, expected_key=expected_key, alpn=alpn, limits=limits, client_key=client_key
    )
