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

from protocol.address import AddressError, NodeAddress
from protocol.keyfile import open_secret, seal_secret

CONFIG = "node.toml"
KEY = "node.key"


@dataclass(frozen=True, slots=True)
class NodeConfig:
    host: str
    port: int


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
    with (directory / CONFIG).open("rb") as f:
        raw = tomllib.load(f)
    host, port = raw.get("listen_host"), raw.get("listen_port")
    if not isinstance(host, str) or not isinstance(port, int):
        raise AddressError("address.malformed", f"{directory / CONFIG} needs listen_host and listen_port")
    seed = open_secret(passphrase, (directory / KEY).read_bytes())
    return NodeConfig(host, port), nacl.signing.SigningKey(seed)
