"""A node's directory: ``node.toml`` (where to listen), ``node.key`` (sealed key), ``store/``.

The node key is sealed with the operator's passphrase (``protocol.keyfile``), so a copied disk or
backup does not hand out the node's identity.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

import nacl.signing

from protocol import textid
from protocol.address import AddressError, NodeAddress
from protocol.keyfile import open_secret, seal_secret

CONFIG = "node.toml"
KEY = "node.key"


@dataclass(frozen=True, slots=True)
class NodeConfig:
    host: str
    port: int
    peers: tuple[NodeAddress, ...] = ()  # operator-added federation peers
    blocked: frozenset[bytes] = frozenset()  # node keys refused in both directions


def parse_listen(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise AddressError("address.malformed", "--listen takes HOST:PORT, e.g. 0.0.0.0:4433")
    return host, int(port)


def init_node(directory: Path, listen: str, passphrase: str) -> NodeAddress:
    host, port = parse_listen(listen)
    if (directory / KEY).exists():
        raise FileExistsError(f"{directory / KEY} already exists: this directory holds a node")
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    seed = os.urandom(32)
    fd = os.open(directory / KEY, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, seal_secret(passphrase, seed))
        os.fsync(fd)
    finally:
        os.close(fd)
    (directory / CONFIG).write_text(f'# Holdspace node configuration\nlisten_host = "{host}"\nlisten_port = {port}\n')
    return NodeAddress(bytes(nacl.signing.SigningKey(seed).verify_key), host, port)


def load_node(directory: Path, passphrase: str) -> tuple[NodeConfig, nacl.signing.SigningKey]:
    seed = open_secret(passphrase, (directory / KEY).read_bytes())
    return read_config(directory), nacl.signing.SigningKey(seed)


def read_config(directory: Path) -> NodeConfig:
    """``node.toml``: ``listen_host``, ``listen_port``, and the operator's ``peers`` (node addresses)
    and ``blocked`` (node ids ``hsn1…`` or addresses) lists."""
    with (directory / CONFIG).open("rb") as f:
        raw = tomllib.load(f)
    host, port = raw.get("listen_host"), raw.get("listen_port")
    if not isinstance(host, str) or not isinstance(port, int):
        raise AddressError("address.malformed", f"{directory / CONFIG} needs listen_host and listen_port")
    peers, blocked = raw.get("peers", []), raw.get("blocked", [])
    if not isinstance(peers, list) or not isinstance(blocked, list):
        raise AddressError("address.malformed", f"{directory / CONFIG}: peers and blocked must be lists")
    return NodeConfig(
        host,
        port,
        tuple(NodeAddress.parse(str(p)) for p in peers),
        frozenset(parse_node_id(str(b)) for b in blocked),
    )


def parse_node_id(text: str) -> bytes:
    """A node key from a node address or a bare ``hsn1…`` node id."""
    text = text.strip()
    if text.startswith("holdspace://"):
        return NodeAddress.parse(text).node_key
    return textid.decode_id(textid.NODE_PREFIX, text)


def update_peers(directory: Path, *, add: str | None = None, block: str | None = None) -> NodeConfig:
    """Add a peer address or block a node in ``node.toml`` (rewritten atomically); the running node
    reads it at its next start. Blocking a node also drops it from the added peers."""
    config = read_config(directory)
    peers = list(config.peers)
    blocked = set(config.blocked)
    if add is not None:
        address = NodeAddress.parse(add)
        peers = [p for p in peers if p.node_key != address.node_key] + [address]
        blocked.discard(address.node_key)
    if block is not None:
        key = parse_node_id(block)
        blocked.add(key)
        peers = [p for p in peers if p.node_key != key]
    lines = [
        "# Holdspace node configuration",
        f'listen_host = "{config.host}"',
        f"listen_port = {config.port}",
        "peers = [" + ", ".join(f'"{p}"' for p in peers) + "]",
        "blocked = [" + ", ".join(f'"{textid.encode_id(textid.NODE_PREFIX, k)}"' for k in sorted(blocked)) + "]",
    ]
    tmp = directory / (CONFIG + ".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, directory / CONFIG)
    return read_config(directory)
