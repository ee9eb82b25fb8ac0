"""The node's limits, in one place (spec 14.5 documents each; tests hit each one)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from node.rates import TokenBucket
from node.transport.base import TransportLimits
from protocol.frames import MAX_FRAME


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
    request_timeout: float = 30.0
    """Seconds for a client to send a whole request on a stream; then the stream is reset (code 2)
    and what it held is freed, so a live client cannot park unfinished requests forever."""
    transport: TransportLimits = field(default_factory=default_transport_limits)


__all__ = ["NodeLimits", "TokenBucket", "default_transport_limits"]
