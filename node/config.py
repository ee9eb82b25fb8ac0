"""A node's directory: ``node.toml`` (its configuration), ``node.key`` (sealed key), ``store/``.

The node key is sealed with the operator's passphrase (``protocol.keyfile``), so a copied disk or
backup does not hand out the node's identity.

``node.toml`` has a strict schema (:class:`NodeToml`, checked by msgspec): an unknown key, a value of
the wrong type or out of range, or a TOML syntax error is a :class:`ConfigError` naming the key (or the
line), never a traceback and never a value silently taken modulo something. Edits made by commands
(``peer add``, ``peer block``, ...) go through tomlkit, so the operator's comments and layout survive.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
import nacl.signing
import tomlkit
import tomlkit.exceptions
from tomlkit.items import Array

from holdspace.node.admission import Policy
from holdspace.node.limits import LIMIT_NAMES, NodeLimits, limits_from
from holdspace.protocol import textid
from holdspace.protocol.address import AddressError, NodeAddress
from holdspace.protocol.errors import HoldspaceError
from holdspace.protocol.keyfile import open_secret, seal_secret

CONFIG = "node.toml"
KEY = "node.key"
WILDCARDS = frozenset({"0.0.0.0", "::", ""})  # noqa: S104 - names of the wildcard addresses, not a bind


class ConfigError(HoldspaceError):
    """``node.toml`` cannot be read, is not TOML, or breaks the schema (``config.*`` codes)."""

    family = "config"


Port = Annotated[int, msgspec.Meta(ge=0, le=65535)]
DialPort = Annotated[int, msgspec.Meta(ge=1, le=65535)]
Host = Annotated[str, msgspec.Meta(min_length=1, max_length=253)]
Count = Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
Rate = Annotated[float, msgspec.Meta(gt=0, le=1_000_000)]
Burst = Annotated[float, msgspec.Meta(ge=1, le=1_000_000)]  # below 1, not even one request would pass
Seconds = Annotated[float, msgspec.Meta(gt=0, le=86_400)]
Bytes = Annotated[int, msgspec.Meta(ge=1024, le=1 << 60)] | Annotated[str, msgspec.Meta(max_length=32)]
GroupCount = Annotated[int, msgspec.Meta(ge=0, le=10_000_000)]
Contact = Annotated[str, msgspec.Meta(min_length=3, max_length=300, pattern=r"^[A-Za-z][A-Za-z0-9+.-]*:[!-~]+$")]
BUDGET_NAMES = ("max_group_bytes", "max_node_bytes")
SIZE_UNITS = {"": 1, "b": 1, "kb": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2, "gb": 1000**3, "gib": 1024**3}
SIZE_UNITS |= {"tb": 1000**4, "tib": 1024**4}


def parse_size(text: str) -> int | None:
    """A size in bytes from ``512MiB``, ``10 GB``, ``2048`` (units kB..TB, KiB..TiB); None if it is not one."""
    raw = text.strip().lower().replace(" ", "").replace("_", "")
    number = raw.rstrip("abgikmt")
    unit = raw[len(number) :]
    if unit not in SIZE_UNITS or not number.replace(".", "", 1).isdigit():
        return None
    return int(float(number) * SIZE_UNITS[unit])


class LimitsTable(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """``[limits]``: each key is optional; an absent key keeps the default of ``node.limits``."""

    max_connections: Count | None = None
    max_connections_per_address: Count | None = None
    max_half_open: Count | None = None
    idle_timeout: Seconds | None = None
    handshake_timeout: Seconds | None = None
    publish_rate: Rate | None = None
    publish_burst: Burst | None = None
    request_rate: Rate | None = None
    request_burst: Burst | None = None
    max_pseudonyms_per_connection: Count | None = None
    max_subscriptions_per_connection: Count | None = None
    subscription_batch: Count | None = None
    max_group_bytes: Bytes | None = None  # storage budgets (node.admission): bytes, or a size like "2GiB"
    max_node_bytes: Bytes | None = None

    def given(self) -> dict[str, float]:
        """The keys the operator set, by name (the storage budgets apart: :meth:`budgets`)."""
        return {name: value for name in LIMIT_NAMES if (value := getattr(self, name)) is not None}


class MetricsTable(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """``[metrics]``: the Prometheus endpoint, off unless ``address`` is set (or ``node run --metrics``).
    An address beyond loopback is refused unless ``allow_non_loopback`` says the operator means it."""

    address: Host | None = None
    allow_non_loopback: bool = False


class AdmissionTable(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """``[admission]``: who may make this node host a group (``node.admission``)."""

    create: Literal["open", "token", "closed"] = "open"
    federate: Literal["any", "peers", "none"] = "any"
    max_groups: GroupCount | None = None
    refused: tuple[str, ...] = ()  # group ids (hsg1...) this node neither stores nor serves


class OperatorTable(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """``[operator]``: what the node tells about who runs it."""

    contact: Contact | None = None  # where to report abuse: mailto:..., https://...


class WebTable(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """``[web]``: the browser's way in (spec 15.8): HTTPS pages and a WebSocket on TCP ``port``, and
    WebTransport on UDP ``port``, under the operator's certificate. Off unless ``enabled``."""

    enabled: bool = False
    port: Port = 443
    cert: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)] | None = None
    key: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)] | None = None


class NodeToml(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """The schema of ``node.toml``. ``listen_*`` is where the node binds; ``public_*`` is what it tells
    others to dial (defaults: the listen host and the bound port)."""

    listen_host: Host
    listen_port: Port
    public_host: Host | None = None
    public_port: DialPort | None = None
    peers: tuple[str, ...] = ()
    blocked: tuple[str, ...] = ()
    limits: LimitsTable = LimitsTable()
    metrics: MetricsTable = MetricsTable()
    admission: AdmissionTable = AdmissionTable()
    operator: OperatorTable = OperatorTable()
    web: WebTable = WebTable()


@dataclass(frozen=True, slots=True)
class WebConfig:
    """The enabled ``[web]`` table: the port (TCP for HTTPS and WebSocket, UDP for WebTransport) and
    the certificate chain and key, PEM files (a relative path is relative to the node's directory)."""

    port: int
    cert: str
    key: str

    def files(self, directory: Path) -> tuple[Path, Path]:
        """The certificate and key paths, relative ones taken from ``directory``."""
        return directory / self.cert, directory / self.key


@dataclass(frozen=True, slots=True)
class NodeConfig:
    host: str
    port: int
    peers: tuple[NodeAddress, ...] = ()  # operator-added federation peers
    blocked: frozenset[bytes] = frozenset()  # node keys refused in both directions
    public_host: str | None = None
    public_port: int | None = None
    limits: dict[str, float] = field(default_factory=dict)  # the [limits] keys the operator set
    metrics_address: tuple[str, int] | None = None  # [metrics] address: (IP, port)
    metrics_non_loopback: bool = False  # [metrics] allow_non_loopback
    admission: AdmissionTable = field(default_factory=AdmissionTable)
    refused: frozenset[bytes] = frozenset()  # [admission] refused, as group ids
    budgets: dict[str, int] = field(default_factory=dict)  # [limits] max_group_bytes, max_node_bytes, in bytes
    contact: str | None = None
    web: WebConfig | None = None  # None: [web] is not enabled

    def node_limits(self) -> NodeLimits:
        return limits_from(self.limits)

    def policy(self) -> Policy:
        """What the node core applies: ``[admission]``, the storage budgets, the contact."""
        return Policy(
            create=self.admission.create,
            federate=self.admission.federate,
            max_groups=self.admission.max_groups,
            refused=self.refused,
            max_group_bytes=self.budgets.get("max_group_bytes"),
            max_node_bytes=self.budgets.get("max_node_bytes"),
            contact=self.contact,
        )

    def public_address(self, node_key: bytes, bound_port: int) -> NodeAddress:
        """The address others dial: the public host and port if set, else the listen host and the
        port actually bound."""
        host = self.public_host or self.host
        return NodeAddress(node_key, host, self.public_port or bound_port)

    def public_web_host(self) -> str:
        """The host of the node's web address (``https://host:port/``): the public host, else the
        listen host. One configuration names both addresses."""
        return self.public_host or self.host

    @property
    def dialable(self) -> bool:
        """False when the node listens on a wildcard address and no ``public_host`` says where to reach it."""
        return self.public_host is not None or self.host not in WILDCARDS


def parse_host_port(text: str, option: str = "--listen") -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise AddressError("address.malformed", f"{option} takes HOST:PORT, e.g. 0.0.0.0:4433")
    return host, int(port)


def metrics_host_port(text: str, non_loopback: bool, option: str = "metrics.address") -> tuple[str, int]:
    """``IP:PORT`` of a metrics endpoint. ``address.malformed`` unless the host is an IP address and
    the port 1-65535; ``node.metrics_not_loopback`` for an address beyond loopback unless
    ``non_loopback`` (the operator's opt-in)."""
    host, port = parse_host_port(text, option)
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise AddressError("address.malformed", f"{option} takes IP:PORT (an IP address), not {host!r}") from None
    if port == 0:
        raise AddressError("address.malformed", f"{option} needs a port (1-65535)")
    if not ip.is_loopback and not non_loopback:
        raise MetricsError(
            "node.metrics_not_loopback",
            f"{host} is not a loopback address: metrics tell about this node's traffic; to serve them beyond "
            "this machine, opt in (metrics.allow_non_loopback = true, or --metrics-non-loopback)",
        )
    return host, port


class MetricsError(HoldspaceError):
    """A metrics address beyond loopback without the operator's opt-in."""

    family = "node"


def parse_listen(listen: str) -> tuple[str, int]:
    return parse_host_port(listen, "--listen")


TEMPLATE = """\
# Holdspace node configuration. 'holdspace node config check DIR' checks this file;
# a running node re-reads it on SIGHUP (peers, blocked and most limits apply at once).

# Where the node binds (UDP).
listen_host = {host}
listen_port = {port}

# What others dial, when it differs from the listen address (a wildcard listen address,
# NAT or a port forward). Defaults: listen_host, and the port actually bound.
{public}

# Federation peers (node addresses) and blocked nodes (hsn1... ids): 'holdspace node peer ...' edits these.
peers = []
blocked = []

[metrics]
# Prometheus metrics on http://ADDRESS/metrics (off while unset; 'node run --metrics PORT' also serves them).
# address = "127.0.0.1:9464"
# A non-loopback address (a container's) is refused unless this says you mean it:
# allow_non_loopback = false
[web]
# The browser client (spec 15.8): pages over HTTPS, a WebSocket and WebTransport on this port
# (TCP and UDP), at https://<public_host>:<port>/. Needs a certificate for public_host (PEM files,
# relative to this directory) and 'npm run build' in clients/web.
enabled = false
# port = 443
# cert = "web-cert.pem"
# key = "web-key.pem"

[limits]
# Uncomment to change a default (spec 18.4). A small node might lower max_connections.
# max_connections = 2048
# max_connections_per_address = 256
# publish_rate = 1000.0
# request_rate = 2000.0
# Storage budgets (bytes, or "500MiB", "20GB"): a full group or node refuses new messages,
# joins, invites and groups; what moderates and deletes is still stored. Unlimited by default.
# max_group_bytes = "1GiB"
# max_node_bytes = "20GiB"

[admission]
# Who may start a group here: "open" (anyone), "token" (with a token from
# 'holdspace node token new'), "closed" (nobody). Joining a group hosted elsewhere counts too.
create = "open"
# Which nodes may make this node host a group they ask for: "any" linked node, "peers" (only
# those added with 'holdspace node peer add'), "none".
federate = "any"
# max_groups = 1000
# Groups this node neither stores nor serves ('holdspace node groups refuse' edits this).
refused = []

[operator]
# Where people report abuse; told to every client in hello. e.g. "mailto:abuse@example.org"
# contact = "mailto:abuse@example.org"
"""


def init_node(directory: Path, listen: str, passphrase: str, public: str | None = None) -> NodeAddress:
    host, port = parse_listen(listen)
    public_line = '# public_host = "node.example.org"\n# public_port = 4433'
    public_host, public_port = None, None
    if public is not None:
        public_host, public_port = parse_host_port(public, "--public")
        if public_port == 0:
            raise AddressError("address.malformed", "--public needs a port others can dial (not 0)")
        public_line = f"public_host = {tomlkit.string(public_host).as_string()}\npublic_port = {public_port}"
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
    text = TEMPLATE.format(host=tomlkit.string(host).as_string(), port=port, public=public_line)
    (directory / CONFIG).write_text(text)
    return NodeAddress(bytes(nacl.signing.SigningKey(seed).verify_key), public_host or host, public_port or port)


def load_node(directory: Path, passphrase: str) -> tuple[NodeConfig, nacl.signing.SigningKey]:
    config = read_config(directory)  # a bad configuration is reported before the passphrase is tried
    seed = open_secret(passphrase, (directory / KEY).read_bytes())
    return config, nacl.signing.SigningKey(seed)


def _read_text(directory: Path) -> str:
    try:
        return (directory / CONFIG).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("config.missing", f"{directory / CONFIG} does not exist") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError("config.unreadable", f"{directory / CONFIG}: {err}") from None


def _where(message: str) -> tuple[str, str]:
    """msgspec's ``"<problem> - at `$.limits.max_connections`"`` as (key, problem)."""
    problem, _, path = message.rpartition(" - at ")
    if not problem:
        return "", message
    return path.strip("`").removeprefix("$").lstrip("."), problem


def _lookup(raw: dict[str, Any], key: str) -> Any:
    """The value at a dotted ``key`` (``limits.max_connections``, ``peers[0]``), or None."""
    value: Any = raw
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", key):
        if part.startswith("[") and isinstance(value, list) and int(part[1:-1]) < len(value):
            value = value[int(part[1:-1])]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return None
    return value


def check_config(text: str, path: str = CONFIG) -> NodeConfig:
    """Parse and validate ``node.toml``'s text. Checked, in order (each a ``ConfigError``):

    * the text is TOML (``config.syntax``, with the line and column);
    * every key is one the schema knows, at the level it belongs to (``config.unknown_key``);
    * ``listen_host`` and ``listen_port`` are present, and every value has its type and range:
      ports 0-65535 (``public_port`` 1-65535), hosts 1-253 characters, ``[limits]`` counts
      1-1,000,000, rates in (0, 1,000,000], bursts in [1, 1,000,000], seconds in (0, 86,400]
      (``config.invalid``);
    * each of ``peers`` is a node address and each of ``blocked`` a node id or address
      (``config.invalid``, naming the entry);
    * ``metrics.address`` is ``IP:PORT`` with a port 1-65535, and is a loopback address unless
      ``metrics.allow_non_loopback`` is true (``config.invalid``).
    * ``[admission]``: ``create`` is open, token or closed, ``federate`` any, peers or none,
      ``max_groups`` 0-10,000,000, each of ``refused`` a group id (``hsg1...`` or 64 hex digits);
      ``[limits] max_group_bytes`` and ``max_node_bytes`` are sizes of at least 1 KiB (bytes, or text
      such as ``"10GiB"``); ``[operator] contact`` is a URI (``mailto:...``, ``https://...``) of at
      most 300 characters (``config.invalid``).
    * with ``[web] enabled``: ``web.cert`` and ``web.key`` are set, and the node has a host browsers
      can reach (``public_host``, or a listen host that is not a wildcard) (``config.invalid``).
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError("config.syntax", f"{path}: {err}") from None
    try:
        schema = msgspec.convert(raw, NodeToml, strict=True)
    except msgspec.ValidationError as err:
        key, problem = _where(str(err))
        unknown = re.fullmatch(r"Object contains unknown field `(.+)`", problem)
        if unknown:
            name = f"{key}.{unknown[1]}" if key else unknown[1]
            raise ConfigError("config.unknown_key", f"{path}: unknown key {name!r}") from None
        if not key and (missing := re.fullmatch(r"Object missing required field `(.+)`", problem)):
            raise ConfigError("config.invalid", f"{path}: {missing[1]} is required") from None
        problem = problem[:1].lower() + problem[1:]
        found = _lookup(raw, key)
        if found is not None and "got" not in problem:
            problem += f", got {found!r}"
        raise ConfigError("config.invalid", f"{path}: {key or 'the file'}: {problem}") from None
    peers = []
    for i, text_address in enumerate(schema.peers):
        try:
            peers.append(NodeAddress.parse(text_address))
        except HoldspaceError as err:
            raise ConfigError("config.invalid", f"{path}: peers[{i}]: {err.message}") from None
    blocked = set()
    for i, text_id in enumerate(schema.blocked):
        try:
            blocked.add(parse_node_id(text_id))
        except HoldspaceError as err:
            raise ConfigError("config.invalid", f"{path}: blocked[{i}]: {err.message}") from None
    given = schema.limits.given()
    try:
        limits_from(given)
    except ValueError as err:
        raise ConfigError("config.invalid", f"{path}: limits: {err}") from None
    metrics = schema.metrics
    metrics_address = None
    if metrics.address is not None:
        try:
            metrics_address = metrics_host_port(metrics.address, metrics.allow_non_loopback)
        except HoldspaceError as err:
            raise ConfigError("config.invalid", f"{path}: metrics.address: {err.message}") from None
    budgets: dict[str, int] = {}
    for name in BUDGET_NAMES:
        value = getattr(schema.limits, name)
        size = parse_size(value) if isinstance(value, str) else value
        if value is not None and (size is None or not 1024 <= size <= 1 << 60):
            raise ConfigError(
                "config.invalid",
                f"{path}: limits.{name}: a size of at least 1 KiB (bytes, or e.g. '10GiB'), got {value!r}",
            )
        if size is not None:
            budgets[name] = size
    refused = set()
    for i, text_id in enumerate(schema.admission.refused):
        try:
            refused.add(parse_group_id(text_id))
        except HoldspaceError as err:
            raise ConfigError("config.invalid", f"{path}: admission.refused[{i}]: {err.message}") from None
    web = None
    if schema.web.enabled:
        for name in ("cert", "key"):
            if getattr(schema.web, name) is None:
                raise ConfigError("config.invalid", f"{path}: web.{name} is required when web.enabled is true")
        if schema.public_host is None and schema.listen_host in WILDCARDS:
            raise ConfigError(
                "config.invalid",
                f"{path}: web.enabled needs public_host: browsers reach the node at that host",
            )
        assert schema.web.cert is not None and schema.web.key is not None
        web = WebConfig(schema.web.port, schema.web.cert, schema.web.key)
    return NodeConfig(
        schema.listen_host,
        schema.listen_port,
        tuple(peers),
        frozenset(blocked),
        schema.public_host,
        schema.public_port,
        given,
        metrics_address,
        metrics.allow_non_loopback,
        schema.admission,
        frozenset(refused),
        budgets,
        schema.operator.contact,
        web,
    )


def read_config(directory: Path) -> NodeConfig:
    """``node.toml`` of the node in ``directory``, checked (see :func:`check_config`)."""
    return check_config(_read_text(directory), str(directory / CONFIG))


def parse_node_id(text: str) -> bytes:
    """A node key from a node address or a bare ``hsn1…`` node id."""
    text = text.strip()
    if text.startswith("holdspace://"):
        return NodeAddress.parse(text).node_key
    return textid.decode_id(textid.NODE_PREFIX, text)


def node_id(key: bytes) -> str:
    return textid.encode_id(textid.NODE_PREFIX, key)


def parse_group_id(text: str) -> bytes:
    """A group id from its text (``hsg1...``) or 64 hex digits."""
    text = text.strip()
    if len(text) == 64 and all(c in "0123456789abcdefABCDEF" for c in text):
        return bytes.fromhex(text)
    return textid.decode_id(textid.GROUP_PREFIX, text)


def group_text_id(group: bytes) -> str:
    return textid.encode_id(textid.GROUP_PREFIX, group)


def _array(doc: Any, name: str) -> Array:
    item = doc.get(name)
    if not isinstance(item, Array):
        item = tomlkit.array()
        doc[name] = item
    return item


def _drop(array: Array, keep: Any) -> int:
    """Remove the items of ``array`` for which ``keep(item)`` is false; the others keep their comments."""
    dropped = 0
    for i in reversed(range(len(array))):
        if not keep(str(array[i])):
            del array[i]
            dropped += 1
    return dropped


def update_peers(
    directory: Path,
    *,
    add: str | None = None,
    block: str | None = None,
    remove: str | None = None,
    unblock: str | None = None,
) -> tuple[NodeConfig, bool]:
    """Edit ``peers`` and ``blocked`` in ``node.toml``, keeping every comment and the rest of the file;
    return the new configuration and whether anything changed. The file is checked before and after
    the edit and replaced atomically; a running node applies it on SIGHUP.

    ``add`` (an address) adds or replaces the peer with that key and unblocks it; ``block`` (an id or
    address) blocks a node and drops it from the peers; ``remove`` drops a peer; ``unblock`` lifts a block.
    """
    path = directory / CONFIG
    text = _read_text(directory)
    check_config(text, str(path))
    try:
        doc = tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as err:  # pragma: no cover - tomllib accepted it
        raise ConfigError("config.syntax", f"{path}: {err}") from None
    peers, blocked = _array(doc, "peers"), _array(doc, "blocked")
    changed = 0

    def key_of_peer(item: str) -> bytes | None:
        try:
            return NodeAddress.parse(item).node_key
        except HoldspaceError:
            return None

    def key_of_block(item: str) -> bytes | None:
        try:
            return parse_node_id(item)
        except HoldspaceError:
            return None

    if add is not None:
        address = NodeAddress.parse(add)
        if [str(item) for item in peers if key_of_peer(str(item)) == address.node_key] != [str(address)]:
            _drop(peers, lambda item: key_of_peer(item) != address.node_key)
            peers.append(str(address))
            changed += 1
        changed += _drop(blocked, lambda item: key_of_block(item) != address.node_key)
    for target, array, key_of in ((block, peers, key_of_peer), (remove, peers, key_of_peer)):
        if target is not None:
            key = parse_node_id(target)
            changed += _drop(array, lambda item, key=key, key_of=key_of: key_of(item) != key)
    if block is not None:
        key = parse_node_id(block)
        if all(key_of_block(str(item)) != key for item in blocked):
            blocked.append(node_id(key))
            changed += 1
    if unblock is not None:
        key = parse_node_id(unblock)
        changed += _drop(blocked, lambda item: key_of_block(item) != key)
    return _write_edited(directory, doc, changed=bool(changed)), bool(changed)


def _write_edited(directory: Path, doc: tomlkit.TOMLDocument, *, changed: bool) -> NodeConfig:
    """Check the edited ``node.toml`` and, if anything ``changed``, replace the file atomically with it;
    return its configuration. A file that fails its check is never written."""
    path = directory / CONFIG
    new_text = tomlkit.dumps(doc)
    if not new_text.endswith("\n"):
        new_text += "\n"
    config = check_config(new_text, str(path))
    if changed:
        tmp = directory / (CONFIG + ".tmp")
        tmp.write_text(new_text, encoding="utf-8")
        os.replace(tmp, path)
    return config


def update_refused(
    directory: Path, *, refuse: bytes | None = None, allow: bytes | None = None
) -> tuple[NodeConfig, bool]:
    """Add ``refuse`` to, or take ``allow`` from, ``[admission] refused`` in ``node.toml``, keeping every
    comment; return the new configuration and whether anything changed (a running node applies it on
    SIGHUP). The file is checked before and after, and replaced atomically."""
    path = directory / CONFIG
    text = _read_text(directory)
    check_config(text, str(path))
    doc = tomlkit.parse(text)
    table = doc.get("admission")
    if table is None:
        table = tomlkit.table()
        doc["admission"] = table
    refused = table.get("refused")
    if not isinstance(refused, Array):
        refused = tomlkit.array()
        table["refused"] = refused

    def key_of(item: str) -> bytes | None:
        try:
            return parse_group_id(item)
        except HoldspaceError:
            return None

    changed = 0
    if refuse is not None and all(key_of(str(item)) != refuse for item in refused):
        refused.append(group_text_id(refuse))
        changed += 1
    if allow is not None:
        changed += _drop(refused, lambda item: key_of(item) != allow)
    return _write_edited(directory, doc, changed=bool(changed)), bool(changed)
