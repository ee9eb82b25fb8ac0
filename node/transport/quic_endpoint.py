"""QUIC UDP endpoints: one non-blocking socket shared by one (client) or many (server) connections,
drained in batches by a receive task; and the QUIC configuration both sides use."""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import trio
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.packet import (
    QuicProtocolVersion,
)

from .base import (
    ByteCounts,
    TransportLimits,
)
from .quic_driver import Address, QuicConnectionHandle

__all__ = ["CID_LENGTH", "QUIC_VERSION", "UdpEndpoint", "quic_configuration", "resolve", "tune"]

log = logging.getLogger(__name__)

QUIC_VERSION = QuicProtocolVersion.VERSION_1
CID_LENGTH = 8
RECV_BATCH = 256
SOCKET_BUFFER = 4 * 1024 * 1024


class UdpEndpoint:
    """A UDP socket shared by one (client) or many (server) connections.

    ``counts`` (None: not counted here) counts every datagram the socket sent or returned; a
    sender may name its own counts (``also``), updated for the datagrams it sends."""

    def __init__(self, sock: socket.socket, counts: ByteCounts | None = None) -> None:
        self.sock = sock
        self.counts = counts
        self._write_lock = trio.Lock()

    def _sent(self, nbytes: int, also: ByteCounts | None) -> None:
        if self.counts is not None:
            self.counts.count_sent(nbytes)
        if also is not None:
            also.count_sent(nbytes)

    def send_now(self, data: bytes, addr: Address, also: ByteCounts | None = None) -> None:
        """Best effort, never blocks (stateless replies, shutdown)."""
        try:
            self.sock.sendto(data, addr)
        except OSError:  # a full buffer or unreachable peer is equivalent to loss
            return
        self._sent(len(data), also)

    async def send_datagrams(self, datagrams: Iterable[tuple[bytes, Any]], also: ByteCounts | None = None) -> None:
        sock = self.sock
        for data, addr in datagrams:
            while True:
                try:
                    sock.sendto(data, addr)
                except BlockingIOError:
                    async with self._write_lock:
                        await trio.lowlevel.wait_writable(sock)
                    continue
                except OSError:
                    pass  # treated as loss; QUIC recovers
                else:
                    self._sent(len(data), also)
                break

    async def recv_loop(self) -> None:
        sock = self.sock
        while True:
            await trio.lowlevel.wait_readable(sock)
            now = trio.current_time()
            for _ in range(RECV_BATCH):
                try:
                    data, addr = sock.recvfrom(65536)
                except BlockingIOError:
                    break
                except OSError:
                    continue
                if self.counts is not None:
                    self.counts.count_received(len(data))
                self.route(data, (addr[0], addr[1]), now)
            self.after_batch()

    def route(self, data: bytes, addr: Address, now: float) -> None:
        raise NotImplementedError

    def after_batch(self) -> None:
        pass

    # hooks used by connections (server overrides)
    def register_cid(self, cid: bytes, conn: QuicConnectionHandle) -> None:
        pass

    def unregister_cid(self, cid: bytes) -> None:
        pass

    def connection_established(self, conn: QuicConnectionHandle) -> None:
        pass

    def connection_gone(self, conn: QuicConnectionHandle) -> None:
        pass


def tune(sock: socket.socket) -> None:
    sock.setblocking(False)
    for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
        with contextlib.suppress(OSError):  # best effort; the kernel caps it
            sock.setsockopt(socket.SOL_SOCKET, option, SOCKET_BUFFER)


async def resolve(host: str, port: int) -> tuple[socket.AddressFamily, Address]:
    infos = await trio.socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    if not infos:
        raise OSError(f"cannot resolve {host!r}")
    family, _, _, _, sockaddr = infos[0]
    return family, (str(sockaddr[0]), int(sockaddr[1]))


def quic_configuration(limits: TransportLimits, *, is_client: bool, alpns: list[str]) -> QuicConfiguration:
    return QuicConfiguration(
        is_client=is_client,
        alpn_protocols=alpns,
        idle_timeout=limits.idle_timeout,
        max_data=limits.max_buffered_bytes,
        max_stream_data=limits.stream_receive_window,
        connection_id_length=CID_LENGTH,
        supported_versions=[QUIC_VERSION],
        verify_mode=ssl.CERT_NONE,
    )
