"""The node's limits, in one place (spec 14.5 documents each; tests hit each one)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from holdspace.node.rates import TokenBucket
from holdspace.node.transport.base import TransportLimits
from holdspace.protocol.frames import MAX_FRAME


def default_transport_limits() -> TransportLimits:
    """The transport's defaults, with messages large enough for a maximal publish frame."""
    base = TransportLimits()
    window_budget = 2 * base.max_streams * base.stream_receive_window
    return replace(
        base,
        max_message_size=MAX_FRAME,
        max_buffered_bytes=max(base.max_buffered_bytes, window_budget + MAX_FRAME + 64),
    )


@dataclass
class NodeLimits:
    publish_rate: float = 1000.0
    """Entries per second per pseudonym (token bucket refill)."""
    publish_burst: float = 2000.0
    request_rate: float = 2000.0
    """Requests per second per connection."""
    request_burst: float = 4000.0
    max_pseudonyms_per_connection: int = 64
    max_subscriptions_per_connection: int = 16
    subscription_batch: int = 256
    """Entries per pushed event; a slow reader holds the subscription back (no buffering)."""
    transport: TransportLimits = field(default_factory=default_transport_limits)


TRANSPORT_LIMITS = (
    "max_connections",
    "max_connections_per_address",
    "max_half_open",
    "idle_timeout",
    "handshake_timeout",
)
"""``[limits]`` keys of the QUIC transport: read when the node starts listening, so a change needs a restart."""
LIVE_LIMITS = (
    "publish_rate",
    "publish_burst",
    "request_rate",
    "request_burst",
    "max_pseudonyms_per_connection",
    "max_subscriptions_per_connection",
    "subscription_batch",
)
"""``[limits]`` keys a running node takes on SIGHUP (connections opened before keep their request
budget and per-connection caps; publish rates apply to every pseudonym at once)."""
LIMIT_NAMES = TRANSPORT_LIMITS + LIVE_LIMITS
_INTEGERS = frozenset(
    {
        "max_connections",
        "max_connections_per_address",
        "max_half_open",
        "max_pseudonyms_per_connection",
        "max_subscriptions_per_connection",
        "subscription_batch",
    }
)


def limits_from(given: Mapping[str, float]) -> NodeLimits:
    """The defaults with the operator's ``[limits]`` keys (names of :data:`LIMIT_NAMES`) applied.
    Raises ``ValueError`` if the transport refuses the combination (e.g. ``max_half_open`` above
    what it can hold) or a name is unknown."""
    unknown = set(given) - set(LIMIT_NAMES)
    if unknown:
        raise ValueError(f"unknown limits: {', '.join(sorted(unknown))}")
    cast: dict[str, Any] = {k: int(v) if k in _INTEGERS else float(v) for k, v in given.items()}
    transport = replace(default_transport_limits(), **{k: v for k, v in cast.items() if k in TRANSPORT_LIMITS})
    return replace(NodeLimits(), transport=transport, **{k: v for k, v in cast.items() if k in LIVE_LIMITS})


def apply_live(limits: NodeLimits, new: NodeLimits) -> list[str]:
    """Copy the live limits of ``new`` into the running node's ``limits`` (in place); return the
    names of the transport limits that differ and so wait for a restart."""
    for name in LIVE_LIMITS:
        setattr(limits, name, getattr(new, name))
    return [name for name in TRANSPORT_LIMITS if getattr(limits.transport, name) != getattr(new.transport, name)]


__all__ = [
    "LIMIT_NAMES",
    "LIVE_LIMITS",
    "TRANSPORT_LIMITS",
    "NodeLimits",
    "TokenBucket",
    "apply_live",
    "default_transport_limits",
    "limits_from",
]
