"""Run a node in its own process (for crash tests): ``python -m tests.node.node_process DIR``.

Prints ``READY <port>`` once listening. The node key is fixed (tests pin it).
"""

import sys
from pathlib import Path

import nacl.signing
import trio

from node.server import open_node

SEED = b"\x21" * 32


async def main(data_dir: Path) -> None:
    async with open_node(data_dir, nacl.signing.SigningKey(SEED)) as node, trio.open_nursery() as nursery:
        _, port = await nursery.start(node.serve_quic, "127.0.0.1", 0)
        print(f"READY {port}", flush=True)


if __name__ == "__main__":
    trio.run(main, Path(sys.argv[1]))
