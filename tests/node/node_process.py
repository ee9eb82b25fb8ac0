"""Run a node in its own process (for crash tests): ``python -m tests.node.node_process DIR``.

Prints ``READY <port>`` once listening. The node key is fixed (tests pin it).
"""

import os
import sys
from dataclasses import replace
from pathlib import Path

import nacl.signing
import trio

from holdspace.node.limits import NodeLimits
from holdspace.node.server import open_node

SEED = b"\x21" * 32


def limits() -> NodeLimits:
    """Default limits; HOLDSPACE_TEST_PER_ADDRESS raises the per-address connection cap (a load test
    connects everyone from 127.0.0.1)."""
    per_address = os.environ.get("HOLDSPACE_TEST_PER_ADDRESS")
    base = NodeLimits()
    if per_address:
        base.transport = replace(base.transport, max_connections_per_address=int(per_address))
    return base


async def main(data_dir: Path) -> None:
    async with open_node(data_dir, nacl.signing.SigningKey(SEED), limits()) as node, trio.open_nursery() as nursery:
        _, port = await nursery.start(node.serve_quic, "127.0.0.1", 0)
        print(f"READY {port}", flush=True)


if __name__ == "__main__":
    trio.run(main, Path(sys.argv[1]))
