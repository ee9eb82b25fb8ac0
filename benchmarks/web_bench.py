"""The browser bindings against the node's own QUIC binding: one node, one process, loopback.

Run: .venv/bin/python benchmarks/web_bench.py [--json] [--requests 2000] [--pipelined 5000]

For each way in — QUIC (``holdspace/1``, the baseline), WebSocket over TLS, WebTransport over HTTP/3 —
a client sends ``hello`` frames on its session stream (spec 14.1) and reads the answers: one at a time
(round-trip latency, p50 and p99) and 64 in flight (requests per second). Each figure is also given as
a ratio to the QUIC baseline measured in the same run. The clients run in the node's process, so
every figure includes both ends' CPU on one core: the ratios are what compares.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from holdspace.node.limits import NodeLimits, default_transport_limits
from holdspace.node.transport.base import encode_header
from holdspace.node.transport.quic import connect_quic
from holdspace.node.web.byte_frames import MessageSplitter
from holdspace.protocol.frames import ALPN_CLIENT, MAX_FRAME, PROTOCOL_VERSION, encode_client_request
from tests.web.h3_client import h3_client
from tests.web.web_node import page_for, web_node, websocket

WINDOW = 64
Send = Callable[[bytes], Awaitable[None]]
Receive = Callable[[], Awaitable[bytes]]


def hello(rid: int) -> bytes:
    return encode_client_request(rid, "hello", v=PROTOCOL_VERSION)


async def measure(send: Send, receive: Receive, sequential: int, pipelined: int) -> dict[str, float]:
    """Round trips one at a time, then ``pipelined`` requests with ``WINDOW`` in flight."""
    rtts = []
    for rid in range(sequential):
        start = time.perf_counter()
        await send(hello(rid))
        await receive()
        rtts.append((time.perf_counter() - start) * 1e6)
    start = time.perf_counter()
    sent = received = 0
    while received < pipelined:
        while sent < pipelined and sent - received < WINDOW:
            await send(hello(sent % WINDOW + sequential))
            sent += 1
        await receive()
        received += 1
    elapsed = time.perf_counter() - start
    rtts.sort()
    return {
        "rtt_p50_us": round(statistics.median(rtts), 1),
        "rtt_p99_us": round(rtts[int(len(rtts) * 0.99) - 1], 1),
        "requests_per_s": round(pipelined / elapsed),
    }


@asynccontextmanager
async def quic_way(web) -> AsyncIterator[tuple[Send, Receive]]:
    address = web.address
    async with connect_quic(
        address.host, address.port, expected_key=address.node_key, alpn=ALPN_CLIENT, limits=default_transport_limits()
    ) as conn:
        stream = await conn.open_stream()
        yield stream.send, stream.receive


@asynccontextmanager
async def websocket_way(web) -> AsyncIterator[tuple[Send, Receive]]:
    async with websocket(web) as conn:
        stream = await conn.open_stream()
        yield stream.send, stream.receive


@asynccontextmanager
async def webtransport_way(web) -> AsyncIterator[tuple[Send, Receive]]:
    from aioquic.h3.events import HeadersReceived, WebTransportStreamDataReceived  # noqa: PLC0415

    async with h3_client(web.port) as client:
        splitter = MessageSplitter(MAX_FRAME)
        inbox: list[bytes] = []
        arrived = trio.Event()
        ready = trio.Event()

        def on_event(event: object) -> None:
            nonlocal arrived
            if isinstance(event, HeadersReceived):
                ready.set()
            elif isinstance(event, WebTransportStreamDataReceived):
                inbox.extend(splitter.push(event.data))
                arrived.set()
                arrived = trio.Event()

        client.on_event = on_event
        session = await client.request("CONNECT", "/wt")
        await ready.wait()
        stream = await client.open_stream(session, b"")

        async def send(frame: bytes) -> None:
            client.quic.send_stream_data(stream, encode_header(len(frame)) + frame)
            await client.flush()

        async def receive() -> bytes:
            while not inbox:
                await arrived.wait()
            return inbox.pop(0)

        yield send, receive


WAYS = {"quic": quic_way, "websocket": websocket_way, "webtransport": webtransport_way}


async def run(sequential: int, pipelined: int) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    limits = NodeLimits(request_rate=1e9, request_burst=1e9)
    with tempfile.TemporaryDirectory() as tmp:
        dist = page_for(Path(tmp) / "dist")
        async with web_node(Path(tmp), dist, limits) as web:
            for name, way in WAYS.items():
                async with way(web) as (send, receive):
                    results[name] = await measure(send, receive, sequential, pipelined)
    base = results["quic"]
    for figures in results.values():
        figures["rtt_p50_ratio"] = round(figures["rtt_p50_us"] / base["rtt_p50_us"], 2)
        figures["throughput_ratio"] = round(figures["requests_per_s"] / base["requests_per_s"], 2)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--requests", type=int, default=2000, help="round trips one at a time")
    parser.add_argument("--pipelined", type=int, default=5000, help="requests with 64 in flight")
    args = parser.parse_args()
    results = trio.run(functools.partial(run, args.requests, args.pipelined))
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'way in':14} {'rtt p50 µs':>11} {'p99 µs':>9} {'req/s':>8} {'rtt x QUIC':>10} {'req/s x QUIC':>12}")
    for name, r in results.items():
        print(
            f"{name:14} {r['rtt_p50_us']:11.1f} {r['rtt_p99_us']:9.1f} {r['requests_per_s']:8.0f}"
            f" {r['rtt_p50_ratio']:10.2f} {r['throughput_ratio']:12.2f}"
        )


if __name__ == "__main__":
    main()
