"""The optional metrics endpoint: a node's figures in the Prometheus text format.

Off by default. ``holdspace node run DIR --metrics PORT`` serves ``http://127.0.0.1:PORT/metrics``;
``--metrics-address IP:PORT`` or ``[metrics] address`` in ``node.toml`` choose another address. An
address beyond loopback (a container's, scraped from another) is refused unless the operator opts in
(``--metrics-non-loopback`` or ``[metrics] allow_non_loopback = true``): the figures say how busy the
node is and which nodes it federates with. ``prometheus-client`` serves them from its small HTTP
server in a daemon thread; scrapes read the node's counters, which the trio thread updates, and the
store through its own read transactions.

Exposed (all without group ids, pseudonyms or any content; peers are named by their public node id):

* ``holdspace_build_info{version, python, aioquic, lmdb, store_format}`` and the standard
  ``process_*`` (CPU, memory, open files, start time) and ``python_info`` figures.
* ``holdspace_request_seconds{kind}`` — a histogram of client requests, from the arrival of the
  request's frame to its answer written, measured by the runtime (``node.server``) around the
  session's dispatch. Kinds: ``publish``, ``publish_many``, ``fetch``, ``adopt``, ``cancel``,
  ``inline`` (hello, auth, state, identity) and ``refused`` (refused at once).
* ``holdspace_entries_stored_total`` — entries durably stored (clients' and peers').
* ``holdspace_refused_total{code, source}`` — requests and entries refused, by error code and by
  ``client`` or ``peer``.
* ``holdspace_client_connections``, ``holdspace_peers_connected`` (outgoing links),
  ``holdspace_peers_incoming`` (peers with a connection to this node), ``holdspace_groups``,
  ``holdspace_entries``, ``holdspace_store_bytes`` (pages in use), ``holdspace_store_live_bytes``
  (pages holding current data; the rest of the pages in use are free) — gauges read at scrape time.
* ``holdspace_federation_lag_entries{peer}`` — per peer pulling from this node, the entries of the
  groups it pulls that this node holds and has not sent it yet.
"""

from __future__ import annotations

import ipaddress
import platform
from collections.abc import Iterator
from importlib import metadata
from typing import TYPE_CHECKING, Any, NamedTuple

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from holdspace.node.config import MetricsError, NodeConfig, metrics_host_port, node_id
from holdspace.node.store import FORMAT_VERSION
from holdspace.protocol.entry import Entry

if TYPE_CHECKING:
    from holdspace.node.federation import Federation
    from holdspace.node.server import Node

__all__ = ["LATENCY_BUCKETS", "MetricsBind", "MetricsError", "NodeMetrics", "metrics_bind", "serve_metrics"]

#: Seconds: from half a millisecond (a read answered from memory) to the adopt timeout.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class MetricsBind(NamedTuple):
    host: str
    port: int
    non_loopback: bool  # the operator's opt-in to an address beyond loopback


def metrics_bind(config: NodeConfig, port: int | None, address: str | None, non_loopback: bool) -> MetricsBind | None:
    """Where ``node run`` serves metrics: ``--metrics-address``, else ``--metrics PORT`` on loopback,
    else ``[metrics] address``, else nowhere. Either opt-in (the option or the table's) allows an
    address beyond loopback; without one, such an address is ``node.metrics_not_loopback``."""
    allowed = non_loopback or config.metrics_non_loopback
    if address is not None:
        host, bound = metrics_host_port(address, allowed, "--metrics-address")
        return MetricsBind(host, bound, allowed)
    if port is not None:
        return MetricsBind("127.0.0.1", port, allowed)
    if config.metrics_address is not None:
        return MetricsBind(*config.metrics_address, allowed)
    return None


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


class NodeMetrics:
    """The node's counters and latency histogram (the runtime reports into them), plus a collector of
    gauges read at scrape time."""

    def __init__(self, node: Node, federation: Federation | None, registry: CollectorRegistry) -> None:
        self.node = node
        self.federation = federation
        self.stored_total = Counter(
            "holdspace_entries_stored", "Entries durably stored (from clients and peers).", registry=registry
        )
        self.refused_total = Counter(
            "holdspace_refused",
            "Requests and entries refused, by error code and source.",
            ["code", "source"],
            registry=registry,
        )
        self.request_seconds = Histogram(
            "holdspace_request_seconds",
            "Client requests, from their frame's arrival to their answer written, by kind.",
            ["kind"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self._by_kind: dict[str, Histogram] = {}
        Info("holdspace_build", "The running Holdspace and what it is built on.", registry=registry).info(
            {
                "version": _version("holdspace"),
                "python": platform.python_version(),
                "aioquic": _version("aioquic"),
                "lmdb": _version("lmdb"),
                "store_format": str(FORMAT_VERSION),
            }
        )
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        registry.register(_Gauges(self))
        self._server: Any = None

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def stored(self, group: bytes, entry: Entry) -> None:
        self.stored_total.inc()

    def refused(self, code: str, source: str) -> None:
        self.refused_total.labels(code=code, source=source).inc()

    def request(self, kind: str, seconds: float) -> None:
        """One request's latency. Each kind's child histogram is looked up once (``labels()`` takes a
        lock and builds a key: it cost 2.5 times the observation itself, measured)."""
        child = self._by_kind.get(kind)
        if child is None:
            child = self._by_kind[kind] = self.request_seconds.labels(kind=kind)
        child.observe(seconds)


class _Gauges(Collector):
    def __init__(self, metrics: NodeMetrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[GaugeMetricFamily]:
        node = self.metrics.node
        federation = self.metrics.federation
        yield GaugeMetricFamily("holdspace_client_connections", "Client connections open.", value=node.clients)
        outgoing = len(federation.connected) if federation is not None else 0
        incoming = len(federation.incoming) if federation is not None else 0
        yield GaugeMetricFamily("holdspace_peers_connected", "Peers this node has a live link to.", value=outgoing)
        yield GaugeMetricFamily("holdspace_peers_incoming", "Peers with a connection to this node.", value=incoming)
        if node.store.closed:
            return
        info = node.store.info()
        yield GaugeMetricFamily("holdspace_groups", "Groups this node hosts.", value=len(node.store.groups()))
        yield GaugeMetricFamily("holdspace_entries", "Entries in the store.", value=info["entries"])
        yield GaugeMetricFamily(
            "holdspace_store_bytes",
            "Bytes of the store's pages in use (live data and free pages).",
            value=(info["last_pgno"] + 1) * info["page_size"],
        )
        yield GaugeMetricFamily(
            "holdspace_store_live_bytes",
            "Bytes of the store's pages holding current data.",
            value=info["live_pages"] * info["page_size"],
        )
        if federation is not None:
            yield self._lag(federation)

    def _lag(self, federation: Federation) -> GaugeMetricFamily:
        lag = GaugeMetricFamily(
            "holdspace_federation_lag_entries",
            "Per peer pulling from this node: entries of the groups it pulls not sent to it yet.",
            labels=["peer"],
        )
        store = self.metrics.node.store
        for peer, groups in list(federation.sent.items()):  # copies: the trio thread changes them
            behind = sum(max(store.last_cursor(group) - cursor, 0) for group, cursor in list(groups.items()))
            lag.add_metric([node_id(peer)], behind)
        return lag


def serve_metrics(
    node: Node, federation: Federation | None, port: int, host: str = "127.0.0.1", *, non_loopback: bool = False
) -> NodeMetrics:
    """Start the endpoint on ``host:port`` and hook its counters into ``node``; returns the metrics.
    ``node.metrics_not_loopback`` for a ``host`` beyond loopback unless ``non_loopback``."""
    if not ipaddress.ip_address(host).is_loopback and not non_loopback:
        raise MetricsError(
            "node.metrics_not_loopback",
            f"{host} is not a loopback address: serving metrics beyond this machine needs an explicit opt-in",
        )
    registry = CollectorRegistry()
    metrics = NodeMetrics(node, federation, registry)
    node.observer = metrics
    node.request_timer = metrics.request
    metrics._server, _thread = start_http_server(port, addr=host, registry=registry)
    return metrics
