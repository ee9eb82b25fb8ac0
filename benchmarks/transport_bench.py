"""Transport throughput: 1 KiB messages, one way, QUIC over loopback vs the in-memory transport.

    .venv/bin/python benchmarks/transport_bench.py [--messages 20000] [--streams 1 8] [--json]

QUIC: the node runs in a separate process (so its CPU time is its own); the client sends N
messages spread over S streams, finishes them, and the node answers with its message count and
the CPU seconds it spent between the first message and the last end of stream.
Memory: both ends share one process, so the CPU figure there is client + node together.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import nacl.signing
import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from holdspace.node.transport import (
    EndOfStream,
    MemoryNetwork,
    TransportError,
    connect_quic,
    serve_quic,
)

ALPN = "holdspace-bench/1"
SIZE = 1024


def make_handler(done: trio.Event | None = None) -> Any:
    """Count messages on every stream; on the control stream, report count and CPU time."""

    async def handler(conn: Any) -> None:
        count = 0
        open_streams = 0
        cpu_start: float | None = None
        finished = trio.Event()
        control = await conn.accept_stream()
        expected = int((await control.receive()).decode())

        async def drain(stream: Any) -> None:
            nonlocal count, open_streams, cpu_start
            open_streams += 1
            try:
                while True:
                    await stream.receive()
                    if cpu_start is None:
                        cpu_start = time.process_time()
                    count += 1
            except EndOfStream:
                await stream.finish()
            open_streams -= 1
            if open_streams == 0 and count >= expected:
                finished.set()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(_accept_all, conn, drain, nursery)
            await finished.wait()
            cpu = time.process_time() - (time.process_time() if cpu_start is None else cpu_start)
            await control.send(json.dumps({"count": count, "cpu": cpu}).encode())
            await control.finish()
            nursery.cancel_scope.cancel()
        if done is not None:
            done.set()

    return handler


async def _accept_all(conn: Any, drain: Any, nursery: trio.Nursery) -> None:
    try:
        while True:
            nursery.start_soon(drain, await conn.accept_stream())
    except TransportError:
        return


async def run_client(conn: Any, messages: int, streams: int) -> dict[str, float]:
    control = await conn.open_stream()
    await control.send(str(messages).encode())
    payload = bytes(SIZE)
    per_stream = [messages // streams + (1 if i < messages % streams else 0) for i in range(streams)]
    cpu0 = time.process_time()
    t0 = time.perf_counter()

    async def sender(count: int) -> None:
        stream = await conn.open_stream()
        for _ in range(count):
            await stream.send(payload)
        await stream.finish()
        with contextlib.suppress(EndOfStream):
            await stream.receive()

    async with trio.open_nursery() as nursery:
        for count in per_stream:
            nursery.start_soon(sender, count)
    report = json.loads(await control.receive())
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    assert report["count"] == messages, report
    return {"elapsed": elapsed, "client_cpu": cpu, "server_cpu": report["cpu"]}


# ----------------------------------------------------------------------------- QUIC


async def quic_server_main(key_hex: str) -> None:
    key = nacl.signing.SigningKey(bytes.fromhex(key_hex))

    async def handler(conn: Any) -> None:
        await make_handler()(conn)

    async with trio.open_nursery() as nursery:
        address = await nursery.start(
            lambda task_status: serve_quic(
                "127.0.0.1", 0, node_key=key, alpns=[ALPN], handler=handler, task_status=task_status
            )
        )
        print(json.dumps(list(address)), flush=True)


async def bench_quic(messages: int, streams: int) -> dict[str, float]:
    key = nacl.signing.SigningKey.generate()
    server = await trio.lowlevel.open_process(
        [sys.executable, __file__, "--serve", bytes(key).hex()], stdout=subprocess.PIPE
    )
    try:
        assert server.stdout is not None
        line = b""
        while not line.endswith(b"\n"):
            chunk = await server.stdout.receive_some()
            if not chunk:
                raise RuntimeError("benchmark node exited")
            line += chunk
        host, port = json.loads(line)
        async with connect_quic(host, port, expected_key=bytes(key.verify_key), alpn=ALPN) as conn:
            result = await run_client(conn, messages, streams)
    finally:
        server.terminate()
        await server.wait()
    return result


async def bench_memory(messages: int, streams: int) -> dict[str, float]:
    network = MemoryNetwork()
    key = nacl.signing.SigningKey.generate()
    async with trio.open_nursery() as nursery:
        await nursery.start(network.serve, "bench", key, [ALPN], make_handler())
        cpu0 = time.process_time()
        async with network.connect("bench", bytes(key.verify_key), ALPN) as conn:
            result = await run_client(conn, messages, streams)
        result["client_cpu"] = time.process_time() - cpu0  # both ends: one process
        nursery.cancel_scope.cancel()
    return result


async def main(messages: int, stream_counts: list[int], json_line: bool = False) -> None:
    rows: list[dict[str, Any]] = []  # for --json: one JSON line with every figure at the end
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"1 KiB messages, one way, {messages} per run")
    print(f"Python {sys.version.split()[0]}, trio {trio.__version__}")
    print(f"load average {load} on {os.cpu_count()} CPUs (figures drop under contention)")
    header = f"{'transport':<10} {'streams':>7} {'msgs/s':>10} {'node CPU/msg':>13} {'client CPU/msg':>15}"
    print(header)
    print("-" * len(header))
    for streams in stream_counts:
        quic = await bench_quic(messages, streams)
        memory = await bench_memory(messages, streams)
        quic_rate = messages / quic["elapsed"]
        memory_rate = messages / memory["elapsed"]
        print(
            f"{'quic':<10} {streams:>7} {quic_rate:>10,.0f} {quic['server_cpu'] / messages * 1e6:>10.1f} µs"
            f" {quic['client_cpu'] / messages * 1e6:>12.1f} µs"
        )
        print(
            f"{'memory':<10} {streams:>7} {memory_rate:>10,.0f} {'(shared)':>13}"
            f" {memory['client_cpu'] / messages * 1e6:>12.1f} µs  (both ends)"
        )
        print(f"{'ratio':<10} {streams:>7} memory/quic msgs/s = {memory_rate / quic_rate:.1f}x")
        rows.append({"streams": streams, "messages": messages, "quic": quic, "memory": memory})
    if json_line:
        print(json.dumps({"size": SIZE, "load_average": os.getloadavg(), "runs": rows}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--streams", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="also print every figure as one JSON line")
    args = parser.parse_args()
    if args.serve:
        trio.run(quic_server_main, args.serve)
    else:
        trio.run(main, args.messages, args.streams, args.json)
