"""Shared builders for the store tests."""

from __future__ import annotations

import hashlib
import random
import struct

from holdspace.node.store import StoredEntry


def ident(label: str) -> bytes:
    """A stable 32-byte id (group, author) derived from a label."""
    return hashlib.blake2b(label.encode(), digest_size=32).digest()


def make_entry(
    group: bytes,
    author: bytes,
    seq: int,
    *,
    size: int = 64,
    kind: int = 1,
    salt: bytes = b"",
    rng: random.Random | None = None,
) -> StoredEntry:
    """An entry whose id is the BLAKE2b-256 of its bytes, as the node core computes it."""
    head = group + author + struct.pack(">Q", seq) + salt
    filler = (rng or random).randbytes(max(size - len(head), 0))
    raw = (head + filler)[: max(size, len(head))]
    return StoredEntry(group, author, seq, hashlib.blake2b(raw, digest_size=32).digest(), kind, raw)
