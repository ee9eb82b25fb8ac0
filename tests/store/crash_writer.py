"""Subprocess for the kill -9 test: append through StoreWriter forever, print each acknowledged id.

Usage: python crash_writer.py STORE_DIR SEED [TASKS]

Each task owns one author log (fixed authors, so successive runs on the same directory continue
the same logs from their stored heads) and appends seq after seq; the moment ``append`` returns,
the entry id is written to stdout as one hex line and flushed. Sizes vary from a few bytes to
64 KiB, some entries are re-sent duplicates, and the store starts with a tiny map so that map
growth happens while the parent kills the process at a random moment.
"""

from __future__ import annotations

import hashlib
import os
import random
import struct
import sys

import trio

from holdspace.node.store import MAX_RAW_SIZE, Store, StoredEntry
from holdspace.node.store_writer import StoreWriter

GROUPS = [hashlib.blake2b(b"crash-group-%d" % i, digest_size=32).digest() for i in range(3)]


def author_key(n: int) -> bytes:
    return hashlib.blake2b(b"crash-author-%d" % n, digest_size=32).digest()


def make(group: bytes, author: bytes, seq: int, rng: random.Random) -> StoredEntry:
    size = rng.choice([100, 300, 1000, 3000, 9000]) if rng.random() > 0.01 else MAX_RAW_SIZE
    raw = group + author + struct.pack(">Q", seq) + rng.randbytes(size - 72)
    return StoredEntry(group, author, seq, hashlib.blake2b(raw, digest_size=32).digest(), 1, raw)


async def main(path: str, seed: int, tasks: int) -> None:
    store = Store.open(path, map_size=1 << 20)
    out = sys.stdout.buffer
    async with StoreWriter(store, max_pending=256) as writer:

        async def author_task(n: int) -> None:
            rng = random.Random(seed * 1000 + n)
            group, author = GROUPS[n % len(GROUPS)], author_key(n)
            seq = store.heads(group).get(author, (0, b""))[0]
            last: StoredEntry | None = None
            while True:
                if last is not None and rng.random() < 0.05:
                    entry = last  # a duplicate: acknowledged with None
                else:
                    seq += 1
                    entry = make(group, author, seq, rng)
                await writer.append(entry)
                out.write(entry.entry_id.hex().encode() + b"\n")
                out.flush()
                last = entry

        out.write(b"READY\n")
        out.flush()
        async with trio.open_nursery() as nursery:
            for n in range(tasks):
                nursery.start_soon(author_task, n)


if __name__ == "__main__":
    os.umask(0o077)
    trio.run(main, sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 40)
