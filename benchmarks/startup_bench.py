"""Node start-up with many groups and entries: seconds until it serves, and its anonymous memory.

Issue 17's target: 10,000 groups and 1,000,000 entries, start-up within 2 s and anonymous memory
under 200 MB.

The store is generated offline, straight into LMDB (``Store.append_batch``, 10,000 entries per
transaction), never through the network: each group is a genesis and ``entries - 1`` messages of
its founder, every entry signed for real (the genesis by ``protocol.author``; the messages' headers
encoded by concatenation, :class:`FastLog`, checked against the protocol's own encoder and verifier
on the first group), each message carrying a
``MessageEnvelope`` of about 1 KiB (900 bytes of ciphertext, one payload per group: the node keeps
payloads as bytes and never opens them). The generator's own time is reported too (not a target).

Then a node process (``tests.node.node_process``, the real ``open_node``: store open, every group's
state computed, then serving QUIC) is started on that store, and on an empty store as the same-run
baseline (the process's imports and QUIC set-up alone). Measured for each:

* seconds from the process's start to its ``READY`` line (the socket is bound and it serves);
* anonymous memory (``RssAnon`` of ``/proc/PID/status``) at that moment, and again ``--settle``
  seconds later (the start-up retention pass runs in the background then, reading every message).

The page cache holds the store (it was just written): a warm start. The figures are the median of
``--starts`` starts.

Run: .venv/bin/python benchmarks/startup_bench.py [--groups 10000] [--entries 100] [--store DIR] [--json]
(``--entries``: per group; ``--store DIR``: keep the generated store under DIR, one per size, and
reuse it next time)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import nacl.signing  # noqa: E402

from holdspace.node.core import pack_record, to_record  # noqa: E402
from holdspace.node.store import Store, StoredEntry  # noqa: E402
from holdspace.protocol import crypto, kinds, signing  # noqa: E402
from holdspace.protocol.author import create_group  # noqa: E402
from holdspace.protocol.entry import VERSION, decode_entry, entry_id  # noqa: E402
from holdspace.protocol.payloads import MessageEnvelope  # noqa: E402

T0 = int(time.time() * 1000) - 86_400_000
COMMIT = 10_000  # entries per generating transaction


def _uint(major: int, n: int) -> bytes:
    """The head of a CBOR item of major type ``major`` (0: unsigned, 2: bytes) and argument ``n``."""
    m = major << 5
    if n < 24:
        return bytes([m | n])
    for extra, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * size):
            return bytes([m | extra]) + n.to_bytes(size, "big")
    raise ValueError(n)


def _bytes(b: bytes) -> bytes:
    return _uint(2, len(b)) + b


class FastLog:
    """An author's log of messages, each header encoded by concatenation (the fields in the
    deterministic order: a, g, h, k, n, p, s, t, v, then sig) and signed for real; the first entries are
    checked against ``decode_entry`` with their signature and ``pack_record`` (see :func:`generate`)."""

    def __init__(self, key: nacl.signing.SigningKey, group: bytes, seq: int, prev: bytes) -> None:
        self.key, self.group, self.seq, self.prev = key, group, seq, prev
        self.author = bytes(key.verify_key)

    def append(self, payload: bytes, digest: bytes, timestamp_ms: int) -> tuple[bytes, bytes, bytes]:
        """-> (header, entry id, the stored record's bytes)."""
        self.seq += 1
        body = b"".join(
            [
                b"\x61a",
                _bytes(self.author),
                b"\x61g",
                _bytes(self.group),
                b"\x61h",
                _bytes(digest),
                b"\x61k",
                _uint(0, kinds.MESSAGE),
                b"\x61n",
                _uint(0, len(payload)),
                b"\x61p",
                _bytes(self.prev),
                b"\x61s",
                _uint(0, self.seq),
                b"\x61t",
                _uint(0, timestamp_ms),
                b"\x61v",
                _uint(0, VERSION),
            ]
        )
        signature = self.key.sign(_DOMAIN + b"\xa9" + body).signature
        header = b"\xaa" + body + b"\x63sig" + _bytes(signature)
        self.prev = entry_id(header)
        return header, self.prev, b"\x82" + _bytes(header) + _bytes(payload)


_DOMAIN = signing.DOMAIN_ENTRY.encode("ascii") + b"\x00"


def generate(path: Path, groups: int, per_group: int) -> float:
    """Fill a node store at ``path`` (its ``store`` directory): ``groups`` groups of ``per_group``
    entries; returns the seconds it took. The first group's entries are decoded and verified
    (``decode_entry``, signature included) and their records compared with ``pack_record``'s."""
    start = time.perf_counter()
    store = Store.open(path / "store")
    pending: list[StoredEntry] = []
    try:
        for g in range(groups):
            seed = g.to_bytes(8, "big") + bytes(24)
            genesis, founder = create_group(seed, T0)
            group = genesis.entry_id
            envelope = MessageEnvelope(group, 0, os.urandom(24), os.urandom(900), commitment=bytes(32))
            payload = envelope.encode()
            digest = crypto.blake2b_256(payload)
            pending.append(to_record(genesis, group, husk=False))
            log = FastLog(nacl.signing.SigningKey(founder.me.seed), group, founder.seq, genesis.entry_id)
            for i in range(per_group - 1):
                header, eid, record = log.append(payload, digest, T0 + i)
                if g == 0:
                    entry = decode_entry(header, payload, now_ms=None)
                    assert entry.entry_id == eid and pack_record(entry) == record, "FastLog differs"
                pending.append(StoredEntry(group, log.author, log.seq, eid, kinds.MESSAGE, record))
            if len(pending) >= COMMIT:
                store.append_batch(pending)
                pending = []
        if pending:
            store.append_batch(pending)
    finally:
        store.close()
    return time.perf_counter() - start


def rss_anon_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    return 0.0


def start_once(data: Path, settle: float) -> dict[str, float]:
    """Start a node on ``data``: seconds to READY, anonymous memory then and ``settle`` s later."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(  # noqa: S603 - our own node
        [sys.executable, "-m", "tests.node.node_process", str(data)], cwd=ROOT, stdout=subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        seconds = time.perf_counter() - t0
        if not line.startswith(b"READY"):
            raise RuntimeError(f"the node did not start: {line!r}")
        at_ready = rss_anon_mb(proc.pid)
        time.sleep(settle)
        settled = rss_anon_mb(proc.pid)
    finally:
        proc.kill()
        proc.wait()
    return {"seconds": seconds, "rss_anon_mb": at_ready, "rss_anon_settled_mb": settled}


def median_start(data: Path, starts: int, settle: float) -> dict[str, float]:
    runs = [start_once(data, settle) for _ in range(starts)]
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", type=int, default=10_000)
    parser.add_argument("--entries", type=int, default=100, help="entries per group (a genesis and messages)")
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--settle", type=float, default=3.0)
    parser.add_argument("--store", type=Path, default=None, help="keep the generated store here (reused)")
    parser.add_argument("--generate-only", action="store_true", help="only generate the store (with --store)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="holdspace-startup-"))
    try:
        data = (args.store or tmp) / f"{args.groups}x{args.entries}"  # one store per size
        generated_s = None
        marker = data / "generated"  # written once the store is complete
        if not marker.exists():
            shutil.rmtree(data, ignore_errors=True)
            data.mkdir(parents=True)
            print(f"generating {args.groups:,} groups x {args.entries} entries...", flush=True)
            generated_s = generate(data, args.groups, args.entries)
            marker.touch()
            print(f"generated in {generated_s:.0f} s", flush=True)
        if args.generate_only:
            return
        empty = tmp / "empty"
        empty.mkdir()
        base = median_start(empty, args.starts, args.settle)
        full = median_start(data, args.starts, args.settle)
        figures = {
            "groups": args.groups,
            "entries": args.groups * args.entries,
            "store_mb": sum(f.stat().st_size for f in (data / "store").iterdir()) / 2**20,
            "generated_s": generated_s,
            "settle_s": args.settle,
            "empty": base,
            "full": full,
            "load_average": os.getloadavg(),
        }
        print(
            f"start-up with {figures['entries']:,} entries in {args.groups:,} groups: {full['seconds']:.2f} s"
            f" (empty store {base['seconds']:.2f} s); anonymous memory {full['rss_anon_mb']:.0f} MB at READY,"
            f" {full['rss_anon_settled_mb']:.0f} MB {args.settle:g} s later (empty {base['rss_anon_mb']:.0f} MB)",
            flush=True,
        )
        if args.json:
            print(json.dumps(figures))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
