"""The node's WebTransport endpoint without a browser (spec 15.8.1), from a minimal HTTP/3 client: one
session per connection at /wt and nothing else, the session's first stream carrying the client
protocol, later streams reset, datagrams dropped, an oversized message refused, and the session's end
ending the connection."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import trio
from aioquic.buffer import encode_uint_var
from aioquic.quic import events

from holdspace.node.limits import NodeLimits, default_transport_limits
from holdspace.node.session import RESET_EXTRA_STREAM
from holdspace.node.transport.base import STREAM_MESSAGE_TOO_LARGE, encode_header
from holdspace.node.transport.webtransport import H3_STREAM_WINDOW, h3_code_from_wt, wt_code_from_h3
from holdspace.node.web.byte_frames import MessageSplitter
from holdspace.protocol.frames import MAX_FRAME, PROTOCOL_VERSION, decode_reply, encode_client_request
from tests.web.h3_client import H3Client, h3_client
from tests.web.web_node import web_node


def hello(rid: int) -> bytes:
    frame = encode_client_request(rid, "hello", v=PROTOCOL_VERSION)
    return encode_header(len(frame)) + frame


async def answers(client: H3Client, stream_id: int, count: int) -> list[int]:
    """The request ids of the first ``count`` frames the node sent on ``stream_id``."""
    with trio.fail_after(10):
        while True:
            frames = MessageSplitter(MAX_FRAME).push(client.received(stream_id))
            if len(frames) >= count:
                return [decode_reply(f).rid for f in frames[:count]]  # type: ignore[misc]
            await client.changed.wait()


def reset_of(stream_id: int):
    return lambda e: isinstance(e, events.StreamReset) and e.stream_id == stream_id


def test_webtransport_error_codes_map_both_ways() -> None:
    for code in (0, 1, 3, 0x1D, 0x1E, 0x1F, 0x10000, 0x10001, 2**32 - 1):
        assert wt_code_from_h3(h3_code_from_wt(code)) == code
    assert wt_code_from_h3(0x100) is None  # H3_NO_ERROR carries no application code


async def test_one_session_per_connection_at_the_fixed_path(tmp_path: Path, dist: Path) -> None:
    async with web_node(tmp_path, dist) as web, h3_client(web.port) as client:
        with trio.fail_after(10):
            assert await client.status(await client.request("CONNECT", "/elsewhere")) == 404
            assert await client.status(await client.request("GET", "/", protocol=None)) == 404
            session = await client.request("CONNECT", "/wt")
            assert await client.status(session) == 200
            assert await client.status(await client.request("CONNECT", "/wt")) == 429


async def test_the_session_stream_carries_the_client_protocol_and_nothing_else_does(tmp_path: Path, dist: Path) -> None:
    async with web_node(tmp_path, dist) as web, h3_client(web.port) as client:
        session = await client.request("CONNECT", "/wt")
        with trio.fail_after(10):
            assert await client.status(session) == 200
        stream = await client.open_stream(session, hello(1)[:5])
        client.quic.send_stream_data(stream, hello(1)[5:] + hello(2))
        await client.flush()
        assert await answers(client, stream, 2) == [1, 2]
        assert web.node.clients == 1

        assert client.h3 is not None
        client.h3.send_datagram(session, b"datagrams are dropped")
        extra = await client.open_stream(session, hello(9))
        with trio.fail_after(10):
            reset = await client.wait_for(events.StreamReset, reset_of(extra))
        assert isinstance(reset, events.StreamReset)
        assert wt_code_from_h3(reset.error_code) == RESET_EXTRA_STREAM
        client.quic.send_stream_data(stream, hello(3))
        await client.flush()
        assert await answers(client, stream, 3) == [1, 2, 3]  # the session goes on
        # A frame far above the stream window gets credit up to its end, and is answered (refused:
        # nobody authenticated), past the bytes HTTP/3 took at the stream's start.
        big = encode_client_request(4, "publish", e=b"header", b=b"y" * 600_000)
        client.quic.send_stream_data(stream, encode_header(len(big)) + big)
        await client.flush()
        assert await answers(client, stream, 4) == [1, 2, 3, 4]

        client.quic.send_stream_data(stream, encode_header(MAX_FRAME + 1) + b"x" * 100)
        await client.flush()
        with trio.fail_after(10):
            reset = await client.wait_for(events.StreamReset, reset_of(stream))
            assert isinstance(reset, events.StreamReset)
            assert wt_code_from_h3(reset.error_code) == STREAM_MESSAGE_TOO_LARGE
            await client.wait_for(events.ConnectionTerminated)  # the session ended: so did the connection
            while web.node.clients:  # noqa: ASYNC110 - the node's counter has no event
                await trio.sleep(0.01)


async def test_closing_the_session_ends_the_connection(tmp_path: Path, dist: Path) -> None:
    async with web_node(tmp_path, dist) as web, h3_client(web.port) as client:
        session = await client.request("CONNECT", "/wt")
        with trio.fail_after(10):
            assert await client.status(session) == 200
        stream = await client.open_stream(session, hello(1))
        assert await answers(client, stream, 1) == [1]
        assert client.h3 is not None
        client.h3.send_data(session, b"", end_stream=True)
        await client.flush()
        with trio.fail_after(10):
            await client.wait_for(events.ConnectionTerminated)
            while web.node.clients:  # noqa: ASYNC110 - the node's counter has no event
                await trio.sleep(0.01)


async def test_a_connection_without_a_session_is_closed(tmp_path: Path, dist: Path) -> None:
    limits = NodeLimits(transport=replace(default_transport_limits(), handshake_timeout=0.5))
    async with web_node(tmp_path, dist, limits) as web, h3_client(web.port) as client:
        with trio.fail_after(10):
            await client.wait_for(events.ConnectionTerminated)


async def test_http3_holds_at_most_a_window_of_an_unfinished_frame(tmp_path: Path, dist: Path) -> None:
    """A request stream announcing a 10 MB HEADERS frame gets credit for 64 KiB of it, not more: the
    node never buffers what its HTTP/3 parser has not consumed beyond a window."""
    async with web_node(tmp_path, dist) as web, h3_client(web.port) as client:
        stream_id = client.quic.get_next_available_stream_id()
        client.quic.send_stream_data(stream_id, encode_uint_var(0x01) + encode_uint_var(10_000_000) + b"z" * 300_000)
        await client.flush()
        quic_stream = client.quic._streams[stream_id]
        with trio.fail_after(10):
            while quic_stream.max_stream_data_remote < H3_STREAM_WINDOW:  # noqa: ASYNC110 - aioquic state
                await trio.sleep(0.01)
        await trio.sleep(0.5)  # room for more credit, if the node were to grant it
        # the window, plus the frame's type and length, which the parser has consumed
        assert H3_STREAM_WINDOW <= quic_stream.max_stream_data_remote <= H3_STREAM_WINDOW + 16
        async with h3_client(web.port) as other:  # and the node serves others meanwhile
            with trio.fail_after(10):
                assert await other.status(await other.request("CONNECT", "/wt")) == 200
