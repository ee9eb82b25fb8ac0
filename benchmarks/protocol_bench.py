"""Protocol core figures: entry overhead, primitive rates, removal cost, encryption overhead.

Run: .venv/bin/python benchmarks/protocol_bench.py [--json]   (--json: also every figure as one JSON line)
Rates are per second on one core; each is also given as a ratio to a baseline measured in the same
run (BLAKE2b-256 of 1 KiB), since absolute numbers vary with the machine.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable

from holdspace.protocol import author, codec, crypto, e2ee, kinds
from holdspace.protocol import entry as entry_module
from holdspace.protocol.entry import create_entry, decode_entry
from holdspace.protocol.group import DecodeCache, compute_state
from holdspace.protocol.identity import Pseudonym, group_context
from holdspace.protocol.payloads import MEMBER, decode_envelope

T0 = 1_764_000_000_000
FIGURES: dict[str, float] = {}  # every printed figure, by name, for --json (benchmarks/run_all.py)


def rate(fn: Callable[[], object], seconds: float = 0.5) -> float:
    n, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(50):
            fn()
        n += 50
    return n / elapsed


def primitives() -> None:
    me = Pseudonym.derive(bytes(32), b"bench")
    payload = os.urandom(1024)
    entry = create_entry(
        me, group=bytes(32), seq=2, prev=bytes(32), timestamp_ms=T0, kind=kinds.MESSAGE, payload=payload
    )
    empty = create_entry(me, group=bytes(32), seq=2, prev=bytes(32), timestamp_ms=T0, kind=kinds.MESSAGE, payload=b"")
    fields = codec.decode(entry.raw)
    kib = os.urandom(1024)
    signature = crypto.ed25519_sign(me.seed, kib[:256])
    baseline = rate(lambda: crypto.blake2b_256(kib))
    print(f"entry header, empty payload, seq > 1: {len(empty.raw)} bytes")
    print(f"baseline BLAKE2b-256 of 1 KiB: {baseline:,.0f}/s")
    FIGURES["entry_header_bytes"] = len(empty.raw)
    FIGURES["baseline_per_s"] = baseline
    rows = {
        "sign entry (create_entry, 1 KiB payload)": lambda: create_entry(
            me, group=bytes(32), seq=2, prev=bytes(32), timestamp_ms=T0, kind=kinds.MESSAGE, payload=payload
        ),
        "verify entry (decode_entry header + payload)": lambda: (
            entry_module._verified.clear(),  # a first sight: the memo of verified headers is empty
            decode_entry(entry.raw, payload, now_ms=T0),
        ),
        "decode a verified entry again (decode_entry, remembered header)": lambda: decode_entry(
            entry.raw, payload, now_ms=T0
        ),
        "encode header (codec.encode)": lambda: codec.encode(fields),
        "decode header (codec.decode)": lambda: codec.decode(entry.raw),
        "Ed25519 sign 256 B": lambda: crypto.ed25519_sign(me.seed, kib[:256]),
        "Ed25519 verify 256 B": lambda: crypto.ed25519_verify(me.public_key, kib[:256], signature),
    }
    for name, fn in rows.items():
        r = rate(fn)
        print(f"{name}: {r:,.0f}/s  (ratio to baseline {r / baseline:.3f})")
        FIGURES[f"rate: {name}"] = r


def group_of(n: int) -> tuple[author.LogWriter, list[author.LogWriter], object, list]:
    """A group with ``n`` members (the founder included), built without per-step state recomputation."""
    genesis, founder = author.create_group(bytes(32), T0)
    entries = []
    writers = []
    secret = None
    state = compute_state(genesis, [])
    invite_entry, secret = author.invite(founder, state, T0 + 1, role=MEMBER, expires_ms=T0 + 10**9, max_uses=n)
    entries.append(invite_entry)
    for i in range(n - 1):
        me = Pseudonym.derive(i.to_bytes(32, "big"), group_context(genesis.entry_id))
        w = author.LogWriter(me, genesis.entry_id)
        entries.append(secret.join(w, T0 + 2))
        writers.append(w)
    return founder, writers, genesis, entries


def removal_cost(n: int) -> None:
    founder, writers, genesis, entries = group_of(n)
    cache = DecodeCache()
    start = time.perf_counter()
    state = compute_state(genesis, entries, cache)
    t_state = time.perf_counter() - start
    assert len(state.members) == n
    victim = writers[0]
    start = time.perf_counter()
    remove = author.remove(founder, state, victim.me.public_key, victim.seq, T0 + 3)
    state2 = compute_state(genesis, [*entries, remove], cache)
    rekey_payload = e2ee.make_rekey(state2, state2.heads, founder.me, e2ee.new_epoch_key())
    rekey = founder.append(kinds.REKEY, rekey_payload.encode(), T0 + 4)
    t_author = time.perf_counter() - start
    total = len(remove.raw) + len(remove.payload or b"") + len(rekey.raw) + len(rekey.payload or b"")
    start = time.perf_counter()
    compute_state(genesis, [*entries, remove, rekey], cache)
    t_recompute = time.perf_counter() - start
    remove_bytes = len(remove.raw) + len(remove.payload or b"")
    rekey_bytes = len(rekey.raw) + len(rekey.payload or b"")
    FIGURES.update(
        {
            f"removal {n}: bytes": total,
            f"removal {n}: remove_bytes": remove_bytes,
            f"removal {n}: rekey_bytes": rekey_bytes,
            f"removal {n}: remover_ms": t_author * 1000,
            f"removal {n}: recompute_ms": t_recompute * 1000,
            f"removal {n}: cold_ms": t_state * 1000,
        }
    )
    print(
        f"removal in a {n}-member group: {total:,} bytes (remove {remove_bytes:,} + rekey {rekey_bytes:,});"
        f" remover {t_author * 1000:.1f} ms"
        f" (incl. one state computation); a node's state recomputation with its cache"
        f" {t_recompute * 1000:.1f} ms (first, cold computation {t_state * 1000:.1f} ms)"
    )


def message_overhead() -> None:
    genesis, founder = author.create_group(bytes(32), T0)
    state = compute_state(genesis, [])
    payload = e2ee.make_rekey(state, state.heads, founder.me, key := e2ee.new_epoch_key())
    rekey = founder.append(kinds.REKEY, payload.encode(), T0)
    state = compute_state(genesis, [rekey])
    keys = e2ee.GroupKeys(genesis.entry_id, founder.me)
    keys.accept_epoch(state.epochs[0], key)
    for size in (0, 20, 63, 200, 1000, 4000):
        env = keys.encrypt(rekey.entry_id, 10, b"x" * size)
        encoded = env.encode()
        assert decode_envelope(encoded) == env
        print(f"message of {size:>5} bytes -> payload {len(encoded):>6} bytes (overhead {len(encoded) - size})")
        FIGURES[f"payload bytes: {size}"] = len(encoded)
    start = time.perf_counter()
    for _ in range(2000):
        keys.encrypt(rekey.entry_id, 10, b"x" * 1000)
    FIGURES["encrypt_1kb_per_s"] = 2000 / (time.perf_counter() - start)
    print(f"encrypt 1 KB message (ratchet step + pad + AEAD): {FIGURES['encrypt_1kb_per_s']:,.0f}/s")
    key_commitment_cost(keys, rekey.entry_id)


def key_commitment_cost(keys: e2ee.GroupKeys, epoch_id: bytes) -> None:
    """What checking the key commitment adds to opening a 1 KB message: the same opening with and
    without the check, measured in the same run (a ratio, not a time)."""
    envelope, mk = keys.encrypt_keyed(epoch_id, 11, b"x" * 1000)
    rounds = 2000

    def bare_open() -> None:  # open_message as it was before the check
        ad = e2ee.associated_data(keys.group_id, keys.me.public_key, 11, epoch_id, envelope.index)
        e2ee.unpad(crypto.aead_decrypt(mk, envelope.nonce, envelope.ciphertext, ad))

    def checked_open() -> None:
        e2ee.open_message(mk, keys.group_id, keys.me.public_key, 11, envelope)

    def timed(fn: Callable[[], None]) -> float:
        start = time.perf_counter()
        for _ in range(rounds):
            fn()
        return time.perf_counter() - start

    bare, checked = float("inf"), float("inf")
    for _ in range(5):  # interleaved, best of five: the machine is shared
        bare, checked = min(bare, timed(bare_open)), min(checked, timed(checked_open))
    FIGURES["open_1kb_with_commitment_over_without"] = checked / bare
    print(
        f"open 1 KB message with the key commitment check: {checked / bare:.2f}x the time without"
        f" ({bare / rounds * 1e6:.1f} us without); payload +35 bytes"
    )


if __name__ == "__main__":
    primitives()
    message_overhead()
    for n in (50, 1000):
        removal_cost(n)
    if "--json" in sys.argv[1:]:
        print(json.dumps(FIGURES))
