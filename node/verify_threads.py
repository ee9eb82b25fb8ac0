"""A batch's entry signatures verified in a worker thread, beside the event loop (issue 17, "both cores").

A batch (a ``publish_many``, a peer's sync event) is decoded in the event loop's thread without its
signatures (:func:`predecode`); the signatures go to one worker thread in one hop
(:func:`verify_signatures`: PyNaCl's cffi call releases the GIL while libsodium verifies); the
entries come back in the batch's order (:func:`verified_entries`) and are then checked and applied
in that order, as before. Verify in parallel, apply in order.

What the worker does holds the GIL as little as it can: the bytes a signature covers are sliced
from the header (:func:`signed_bytes`, no re-encoding), so the thread's Python work per signature is
one call.

Invariants:

* for each item, :func:`verified_entries` gives either exactly what
  ``decode_entry(header, payload, now_ms=now_ms)`` would return, or None: None wherever that call
  would raise (the header does not decode, its signature fails, its payload does not match) or the
  header's shape is not the usual one; the caller then decodes the item itself, which raises the
  first failing rule's error in the order of spec 6.2, exactly as without this module;
* the order of the result is the order of the items; nothing here stores or applies anything.

What moved, and why (measured on the shared 2-core machine, load average 9 to 35 throughout, so
every figure is noisy; ``benchmarks/verify_threads_bench.py``, ``node_bench.py --runs 3``,
``federation_bench.py --catch-up-only``):

* the GIL is released: 2,000 signatures split over 2 threads took 0.73x the wall time of one
  thread at the same CPU (1.00x);
* a hop costs: one ``trio.to_thread.run_sync`` of a no-op took about 180 us of CPU (both threads),
  nearly two signatures' worth (about 110 us each here); so a batch of one (a single ``publish``)
  stays inline, and only batches of at least ``MIN_BATCH`` = 16 go to the thread (the hop is then at
  most about a tenth of the batch's verification; a ``publish_many`` of 32, a sync event of up to
  256 entries);
* the same tree with and without it, back to back, twice each: ``publish_many`` of 32, node CPU
  per entry 0.706 and 0.715 ms with it, 0.665 and 0.756 ms without (the same, within the noise),
  accepted 499 and 197 entries/s with it, 234 and 150 without; catch-up of 10,000 entries, B's CPU
  per entry (every thread) 0.415 and 0.430 ms with it, 0.447 and 0.446 ms without, 393 and 303
  entries/s with it, 367 and 440 without. The verifier thread used 0.02 to 0.06 of a core.
  Kept: it costs no CPU per entry that the noise shows, and gives the node a second runnable thread
  for the part of each entry that needs no GIL. The earlier worker *process* (reverted) cost a
  fifth more CPU per entry because each entry was decoded twice and crossed a pipe; here nothing
  is decoded twice and nothing is copied but the signed bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import trio

from holdspace.protocol import crypto, signing
from holdspace.protocol.entry import Entry, decode_entry
from holdspace.protocol.errors import HoldspaceError

__all__ = ["MIN_BATCH", "SignatureThreads", "predecode", "signed_bytes", "verified_entries", "verify_signatures"]

MIN_BATCH: Final = 16  # entries in a batch below which signatures are verified inline (a hop costs more)
_SIG_TAIL: Final = b"\x63sig\x58\x40"  # "sig" (text of 3), then a byte string of 64: the map's last field
_MAP10: Final = 0xAA  # a CBOR map of 10 pairs (an entry header); without its sig: 9 pairs (0xA9)
_DOMAIN: Final = signing.DOMAIN_ENTRY.encode("ascii") + b"\x00"

Signature = tuple[bytes, bytes, bytes]  # (public key, signed bytes, signature)


def signed_bytes(entry: Entry) -> bytes | None:
    """The bytes ``entry``'s signature covers (``signing.signed_message``), sliced from its raw header:
    the deterministic encoding sorts ``"sig"`` last, so the header without it is the same map with
    one pair fewer and its last 70 bytes cut. None if the header is not of that shape."""
    raw = entry.raw
    if len(raw) < 71 or raw[0] != _MAP10 or raw[-70:-64] != _SIG_TAIL or raw[-64:] != entry.signature:
        return None
    return _DOMAIN + b"\xa9" + raw[1:-70]


def verify_signatures(signatures: Sequence[Signature]) -> list[bool]:
    """Each signature checked (``crypto.ed25519_verify``); pure, run in a worker thread."""
    return [crypto.ed25519_verify(key, message, sig) for key, message, sig in signatures]


def predecode(items: Sequence[tuple[bytes, bytes | None]], now_ms: int | None) -> list[tuple[Entry, bytes] | None]:
    """Each header decoded with every rule of spec 6.2 but the signature and the payload, with the
    bytes its signature covers; None where it does not decode or its shape is not the usual one."""
    out: list[tuple[Entry, bytes] | None] = []
    for header, _payload in items:
        try:
            entry = decode_entry(header, None, now_ms=now_ms, verify=False)
        except HoldspaceError:
            out.append(None)
            continue
        message = signed_bytes(entry)
        out.append(None if message is None else (entry, message))
    return out


def verified_entries(
    items: Sequence[tuple[bytes, bytes | None]],
    decoded: Sequence[tuple[Entry, bytes] | None],
    good: Sequence[bool],
) -> list[Entry | None]:
    """The batch's entries in order: a decoded header whose signature is good gets its payload (if the
    payload matches); anything else is None. ``good`` has one flag per decoded (non-None) header."""
    flags = iter(good)
    out: list[Entry | None] = []
    for (_header, payload), pre in zip(items, decoded, strict=True):
        if pre is None or not next(flags):
            out.append(None)
            continue
        entry = pre[0]
        if payload is not None:
            try:
                entry = entry.with_payload(payload)
            except HoldspaceError:
                out.append(None)
                continue
        out.append(entry)
    return out


class SignatureThreads:
    """Verifies the signatures of batches of at least ``min_batch`` entries in worker threads, at most
    ``threads`` batches at a time (trio's thread cache keeps the threads between batches)."""

    def __init__(self, threads: int = 1, min_batch: int = MIN_BATCH) -> None:
        self.limiter = trio.CapacityLimiter(threads)
        self.min_batch = min_batch
        self.batches = 0  # batches verified in a thread (tests, benchmarks)

    async def entries(self, items: Sequence[tuple[bytes, bytes | None]], now_ms: int | None) -> list[Entry | None]:
        """:func:`verified_entries` for ``items``, their signatures verified in a worker thread; all
        None (the caller decodes each) for a batch smaller than ``min_batch``. A cancellation waits
        for the thread's end (``trio.to_thread.run_sync`` does not abandon it)."""
        if len(items) < self.min_batch:
            return [None] * len(items)
        decoded = predecode(items, now_ms)
        signatures = [(pre[0].author, pre[1], pre[0].signature) for pre in decoded if pre is not None]
        good: list[bool] = []
        if signatures:
            good = await trio.to_thread.run_sync(verify_signatures, signatures, limiter=self.limiter)
            self.batches += 1
        return verified_entries(items, decoded, good)
