"""kill -9 the node while clients publish: every acknowledged entry is there after restart."""

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import nacl.signing
import pytest
import trio

from holdspace.clients.client import connect
from holdspace.node.store import Store
from holdspace.protocol import kinds
from holdspace.protocol.address import NodeAddress
from holdspace.protocol.author import create_group
from holdspace.protocol.payloads import MessageEnvelope
from tests.node.node_process import SEED

ROOT = Path(__file__).resolve().parents[2]
CI_RUNS, LONG_RUNS = 8, 500  # kill -9 runs: in every test run, and with --runslow


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``run`` takes HOLDSPACE_CRASH_RUNS values if set, else 8 (500 with --runslow)."""
    if "run" in metafunc.fixturenames:
        default = LONG_RUNS if metafunc.config.getoption("--runslow") else CI_RUNS
        metafunc.parametrize("run", range(int(os.environ.get("HOLDSPACE_CRASH_RUNS", default))))


async def start_node(data_dir: Path) -> tuple[trio.Process, int]:
    proc = await trio.lowlevel.open_process(
        [sys.executable, "-m", "tests.node.node_process", str(data_dir)], cwd=ROOT, stdout=subprocess.PIPE
    )
    assert proc.stdout is not None
    line = b""
    with trio.fail_after(20):
        while not line.endswith(b"\n"):
            line += await proc.stdout.receive_some(1)
    assert line.startswith(b"READY ")
    return proc, int(line.split()[1])


async def publisher(address: NodeAddress, index: int, acked: list[bytes], stop: trio.Event) -> None:
    try:
        async with connect(address) as session:
            genesis, writer = create_group(index.to_bytes(32, "big"), 1_700_000_000_000)
            await session.authenticate(writer.me)
            await session.publish(genesis)
            acked.append(genesis.entry_id)
            envelope = MessageEnvelope(b"\x01" * 32, 0, b"\x02" * 24, b"\x03" * 1000, commitment=bytes(32)).encode()
            while not stop.is_set():
                entry = writer.append(kinds.MESSAGE, envelope, 1_700_000_000_000)
                await session.publish(entry)
                acked.append(entry.entry_id)  # acknowledged: the node answered after its commit
    except Exception:
        return


async def test_acknowledged_entries_survive_kill_9(tmp_path: Path, run: int) -> None:
    data_dir = tmp_path / "node"
    acked: list[bytes] = []
    proc, port = await start_node(data_dir)
    address = NodeAddress(bytes(nacl.signing.SigningKey(SEED).verify_key), "127.0.0.1", port)
    stop = trio.Event()
    try:
        async with trio.open_nursery() as nursery:
            for i in range(6):
                nursery.start_soon(publisher, address, run * 100 + i, acked, stop)
            with trio.fail_after(60):  # a loaded machine is slow to start: kill only once entries are acked
                while len(acked) <= 6:  # noqa: ASYNC110 (six publishers append; polling is simplest)
                    await trio.sleep(0.01)
            await trio.sleep(random.uniform(0.0, 1.2))
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
            stop.set()
            nursery.cancel_scope.cancel()  # requests in flight to a dead node would wait for the idle timeout
    finally:
        if proc.returncode is None:
            proc.kill()
    assert len(acked) > 6, "too few entries were acknowledged before the kill"
    print(f"run {run}: {len(acked)} acknowledged entries before kill -9")
    with Store.open(data_dir / "store") as store:
        missing = [eid for eid in acked if not store.has(eid)]
        assert missing == [], f"{len(missing)} of {len(acked)} acknowledged entries lost"
        assert store.check_integrity() == []
    # and the node starts again on the same directory
    proc, _ = await start_node(data_dir)
    proc.kill()
    await proc.wait()
