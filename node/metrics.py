"""The optional metrics endpoint: a node's figures in the Prometheus text format, on a loopback port.

Off by default; ``holdspace node run DIR --metrics PORT`` serves ``http://127.0.0.1:PORT/metrics``
with ``prometheus-client`` (its small HTTP server runs in a daemon thread; scrapes read the node's
counters, which the trio thread updates, and the store through its own read transactions). It never
listens beyond loopback: figures about groups and traffic are for the operator, who can tunnel them.

Exposed (all without group ids, pseudonyms or any content):

* ``holdspace_entries_stored_total`` — entries durably stored (clients' and peers').
* ``holdspace_refused_total{code, source}`` — requests and entries refused, by error code and by
  ``client`` or ``peer``.
* ``holdspace_client_connections``, ``holdspace_peers_connected``, ``holdspace_groups``,
  ``holdspace_entries``, ``holdspace_store_bytes`` — gauges read at scrape time.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from protocol.entry import Entry
from protocol.errors import HoldspaceError

if TYPE_CHECKING:
    from node.federation import Federation
    from node.server import Node


class MetricsError(HoldspaceError):
    family = "node"


class NodeMetrics:
    """A :class:`~node.hosting.NodeObserver` that counts, plus a collector of gauges."""

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


class _Gauges(Collector):
    def __init__(self, metrics: NodeMetrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[GaugeMetricFamily]:
        node = self.metrics.node
        federation = self.metrics.federation
        yield GaugeMetricFamily("holdspace_client_connections", "Client connections open.", value=node.clients)
        peers = len(federation.connected) if federation is not None else 0
        yield GaugeMetricFamily("holdspace_peers_connected", "Federation peers with a live link.", value=peers)
        if node.store.closed:
            return
        info = node.store.info()
        yield GaugeMetricFamily("holdspace_groups", "Groups this node hosts.", value=len(node.store.groups()))
        yield GaugeMetricFamily("holdspace_entries", "Entries in the store.", value=info["entries"])
        yield GaugeMetricFamily(
            "holdspace_store_bytes",
            "Bytes of the store's pages in use.",
            value=(info["last_pgno"] + 1) * info["page_size"],
        )


def serve_metrics(node: Node, federation: Federation | None, port: int, host: str = "127.0.0.1") -> NodeMetrics:
    """Start the endpoint (loopback only) and hook its counters into ``node``; returns the metrics."""
    if not ipaddress.ip_address(host).is_loopback:
        raise MetricsError("node.metrics_not_loopback", f"the metrics endpoint listens on loopback only, not {host}")
    registry = CollectorRegistry()
    metrics = NodeMetrics(node, federation, registry)
    node.observer = metrics
    metrics._server, _thread = start_http_server(port, addr=host, registry=registry)
    return metrics
