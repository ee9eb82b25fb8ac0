"""The Nostr side of ``benchmarks/nostr_compare.py``: publishers and a live subscriber against a relay.

Runs in the benchmark's own virtual environment (``benchmarks/.venv-nostr``: ``coincurve`` for the
BIP-340 Schnorr signatures of NIP-01, ``websockets`` for the client connections), not in Holdspace's.

Protocol with the parent, one line each on stdout / stdin:

1. Pre-signs ``--publishers`` x ``--per-publisher`` kind-1 events (one key per publisher, content a
   ``--content-bytes`` long base64 string, like an encrypted payload), opens one WebSocket per
   publisher and one for the subscriber, whose ``["REQ", sub, {"kinds": [1], "authors": [...]}]``
   has been answered with EOSE (it checks each event's id and signature, as a NIP-01 client should
   and as Holdspace's client does with entries); then prints ``READY <events> <mean event bytes on the wire>``.
2. Waits for a line on stdin (the parent reads the relay's CPU time meanwhile), then publishers send
   ``["EVENT", ev]`` and wait for ``["OK", id, true, ...]`` one at a time, for ``--seconds``.
3. Prints ``DONE`` when the last publisher stops (the parent reads the relay's CPU time again), waits
   until the subscriber has every accepted event (at most ``--drain`` seconds), and prints the
   figures as one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import json
import os
import statistics
import sys
import time

from coincurve import PrivateKey, PublicKeyXOnly
from websockets.asyncio.client import ClientConnection, connect


def signed_event(key: PrivateKey, pubkey: str, created_at: int, content: str) -> dict:
    """A NIP-01 event: id = sha256 of the canonical serialisation, sig = BIP-340 Schnorr over the id."""
    tags: list[list[str]] = []
    serial = json.dumps([0, pubkey, created_at, 1, tags, content], separators=(",", ":"), ensure_ascii=False)
    event_id = hashlib.sha256(serial.encode()).digest()
    sig = key.sign_schnorr(event_id, os.urandom(32))
    return {
        "id": event_id.hex(),
        "pubkey": pubkey,
        "created_at": created_at,
        "kind": 1,
        "tags": tags,
        "content": content,
        "sig": sig.hex(),
    }


def verified(ev: dict) -> bool:
    """The id is the hash of the event's serialisation and the signature is the author's over it."""
    serial = json.dumps(
        [0, ev["pubkey"], ev["created_at"], ev["kind"], ev["tags"], ev["content"]],
        separators=(",", ":"),
        ensure_ascii=False,
    )
    event_id = hashlib.sha256(serial.encode()).digest()
    if event_id.hex() != ev["id"]:
        return False
    return bool(PublicKeyXOnly(bytes.fromhex(ev["pubkey"])).verify(bytes.fromhex(ev["sig"]), event_id))


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def run(args: argparse.Namespace) -> dict:
    created_at = int(time.time())
    keys = [PrivateKey() for _ in range(args.publishers)]
    pubkeys = [PublicKeyXOnly.from_secret(k.secret).format().hex() for k in keys]
    raw_len = args.content_bytes * 3 // 4
    start = time.perf_counter()
    # (event id, the ["EVENT", ev] text frame), serialised once, before anything is timed
    batches: list[list[tuple[str, str]]] = []
    for key, pubkey in zip(keys, pubkeys, strict=True):
        batch = []
        for _ in range(args.per_publisher):
            content = base64.b64encode(os.urandom(raw_len)).decode()
            ev = signed_event(key, pubkey, created_at, content)
            batch.append((ev["id"], json.dumps(["EVENT", ev], separators=(",", ":"))))
        batches.append(batch)
    frames = [frame for batch in batches for _, frame in batch]
    mean_bytes = sum(len(f) for f in frames) / len(frames)
    print(f"signed {len(frames)} events in {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)

    # permessage-deflate off: base64 of random bytes hardly compresses, and Holdspace compresses nothing
    conns: list[ClientConnection] = [
        await connect(args.url, compression=None, max_size=None, open_timeout=30) for _ in range(args.publishers)
    ]
    sub = await connect(args.url, compression=None, max_size=None, open_timeout=30)
    await sub.send(json.dumps(["REQ", "live", {"kinds": [1], "authors": pubkeys}]))
    while json.loads(await sub.recv())[0] != "EOSE":
        pass

    sent_at: dict[str, float] = {}
    latencies: list[float] = []
    accepted = 0
    refused: list[str] = []
    bad: list[str] = []
    all_in = asyncio.Event()
    publishing = True

    async def subscriber() -> None:
        async for raw in sub:
            now = time.perf_counter()
            msg = json.loads(raw)
            if msg[0] == "EVENT":
                ev = msg[2]
                if not verified(ev):  # a NIP-01 client checks what a relay hands it, as Holdspace's does
                    bad.append(ev["id"])
                    continue
                t = sent_at.get(ev["id"])
                if t is not None:
                    latencies.append(now - t)
                    if not publishing and len(latencies) >= accepted:
                        all_in.set()

    async def publisher(ws: ClientConnection, batch: list[tuple[str, str]], deadline: float) -> None:
        nonlocal accepted
        window = args.window  # events sent before their OKs are awaited (NIP-01 allows pipelining)
        for start in range(0, len(batch), window):
            if time.perf_counter() > deadline:
                return
            chunk = batch[start : start + window]
            for event_id, frame in chunk:
                sent_at[event_id] = time.perf_counter()
                await ws.send(frame)
            for _ in chunk:
                reply = json.loads(await ws.recv())
                if reply[0] == "OK" and reply[2] is True:
                    accepted += 1
                else:
                    refused.append(str(reply)[:200])
        print("warning: a publisher ran out of pre-signed events", file=sys.stderr, flush=True)

    say(f"READY {len(frames)} {mean_bytes:.0f}")
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    sub_task = asyncio.create_task(subscriber())
    own0, t0 = time.process_time(), time.perf_counter()
    deadline = t0 + args.seconds
    await asyncio.gather(*(publisher(ws, b, deadline) for ws, b in zip(conns, batches, strict=True)))
    elapsed = time.perf_counter() - t0
    own = time.process_time() - own0
    say("DONE")
    publishing = False
    if len(latencies) < accepted:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_in.wait(), args.drain)
    sub_task.cancel()
    for ws in [*conns, sub]:
        await ws.close()
    latencies.sort()
    return {
        "accepted": accepted,
        "refused": len(refused),
        "refusals": refused[:5],
        "elapsed_s": elapsed,
        "msgs_per_s": accepted / elapsed,
        "client_cpu_share": own / elapsed,
        "deliveries": len(latencies),
        "bad_signatures": len(bad),
        "p50_ms": 1000 * statistics.median(latencies) if latencies else None,
        "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))] if latencies else None,
        "message_bytes": mean_bytes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--publishers", type=int, default=10)
    parser.add_argument("--per-publisher", type=int, default=2000)
    parser.add_argument("--content-bytes", type=int, default=1024)
    parser.add_argument("--drain", type=float, default=5.0)
    parser.add_argument("--window", type=int, default=1, help="events in flight per publisher")
    args = parser.parse_args()
    try:
        import uvloop  # noqa: PLC0415 - optional; installed with the relay, which runs on it too

        result = uvloop.run(run(args))
    except ImportError:
        result = asyncio.run(run(args))
    say(json.dumps(result))


if __name__ == "__main__":
    main()
