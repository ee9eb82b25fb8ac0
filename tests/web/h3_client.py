"""A minimal HTTP/3 + WebTransport client for tests (aioquic's sans-I/O connections, driven from trio
over one UDP socket): enough to open sessions and streams and to see how the node answers."""

from __future__ import annotations

import math
import socket
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import trio
from aioquic.h3.connection import H3_ALPN, FrameType, H3Connection, H3Stream
from aioquic.h3.events import H3Event, HeadersReceived, WebTransportStreamDataReceived
from aioquic.quic import events
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.connection import QuicConnection


class H3Client:
    """One connection: ``h3`` and ``quic`` for the test to act on, every event kept in ``seen`` (or,
    with ``on_event`` set, handed to it instead)."""

    def __init__(self, port: int) -> None:
        configuration = QuicConfiguration(
            is_client=True,
            alpn_protocols=list(H3_ALPN),
            verify_mode=ssl.CERT_NONE,
            max_datagram_frame_size=65536,
            server_name="127.0.0.1",
        )
        self.address = ("127.0.0.1", port)
        self.quic = QuicConnection(configuration=configuration)
        self.h3: H3Connection | None = None
        self.seen: list[H3Event | events.QuicEvent] = []
        self.changed = trio.Event()
        self.terminated: events.ConnectionTerminated | None = None
        self.on_event: Callable[[H3Event | events.QuicEvent], None] | None = None  # called for each event
        self.sock = trio.socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        await self.sock.bind(("127.0.0.1", 0))
        self.quic.connect(self.address, now=trio.current_time())
        started = False
        while self.terminated is None:
            await self.flush()
            if self.h3 is not None and not started:
                started = True
                task_status.started()
            timer = self.quic.get_timer()
            with trio.move_on_at(timer if timer is not None else math.inf):
                data, _ = await self.sock.recvfrom(65536)
                self.quic.receive_datagram(data, self.address, now=trio.current_time())
            if timer is not None and trio.current_time() >= timer:
                self.quic.handle_timer(now=trio.current_time())
            self._events()

    def _events(self) -> None:
        while (event := self.quic.next_event()) is not None:
            if isinstance(event, events.HandshakeCompleted):
                self.h3 = H3Connection(self.quic, enable_webtransport=True)
            elif isinstance(event, events.ConnectionTerminated):
                self.terminated = event
            found: list[H3Event | events.QuicEvent] = [event]
            if self.h3 is not None:
                found.extend(self.h3.handle_event(event))
            if self.on_event is None:
                self.seen.extend(found)
            else:
                for each in found:
                    self.on_event(each)
        self.changed.set()
        self.changed = trio.Event()

    async def flush(self) -> None:
        for data, addr in self.quic.datagrams_to_send(now=trio.current_time()):
            await self.sock.sendto(data, addr)

    async def request(self, method: str, path: str, *, protocol: str | None = "webtransport") -> int:
        """Send a request on a new stream; return its id."""
        assert self.h3 is not None
        stream_id = self.quic.get_next_available_stream_id()
        headers = [(b":method", method.encode()), (b":scheme", b"https"), (b":authority", b"127.0.0.1")]
        headers.append((b":path", path.encode()))
        if protocol is not None:
            headers.append((b":protocol", protocol.encode()))
        self.h3.send_headers(stream_id, headers, end_stream=method != "CONNECT")
        await self.flush()
        return stream_id

    async def open_stream(self, session: int, data: bytes) -> int:
        """Open a bidirectional stream of WebTransport session ``session`` and send ``data`` on it."""
        assert self.h3 is not None
        stream_id = self.h3.create_webtransport_stream(session)
        known = H3Stream(stream_id)  # so that the node's bytes on it are read as the session's (aioquic
        known.frame_type = FrameType.WEBTRANSPORT_STREAM  # marks only the streams the peer opens)
        known.session_id = session
        self.h3._stream[stream_id] = known
        self.quic.send_stream_data(stream_id, data)
        await self.flush()
        return stream_id

    def received(self, stream_id: int) -> bytes:
        """Every byte the node sent on WebTransport stream ``stream_id`` so far."""
        return b"".join(
            e.data for e in self.seen if isinstance(e, WebTransportStreamDataReceived) and e.stream_id == stream_id
        )

    async def status(self, stream_id: int) -> int:
        """The status the node answered on request stream ``stream_id``."""
        while True:
            for event in self.seen:
                if isinstance(event, HeadersReceived) and event.stream_id == stream_id:
                    return int(dict(event.headers)[b":status"])
            await self.changed.wait()

    async def wait_for(self, kind: type, predicate: object = None) -> object:
        """The first event of ``kind`` (matching ``predicate``) seen so far or later."""
        while True:
            for event in self.seen:
                if isinstance(event, kind) and (predicate is None or predicate(event)):  # type: ignore[operator]
                    return event
            await self.changed.wait()


@asynccontextmanager
async def h3_client(port: int) -> AsyncIterator[H3Client]:
    client = H3Client(port)
    try:
        async with trio.open_nursery() as nursery:
            with trio.fail_after(10):
                await nursery.start(client.run)
            yield client
            nursery.cancel_scope.cancel()
    finally:
        client.sock.close()
