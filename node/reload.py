"""What a running node takes from an edited ``node.toml`` on SIGHUP, without a restart.

Taken at once: ``peers`` and ``blocked`` (links follow; a newly blocked node's connections are closed
by the caller), the live limits (:data:`node.limits.LIVE_LIMITS`), and the admission policy
(``[admission]``, the storage budgets of ``[limits]``, ``[operator] contact``: ``node.admission``; a
newly refused group is served to nobody from then on). Waiting for a restart, and
reported as such: ``listen_*``, ``public_*``, the ``[web]`` table (a certificate renewed on disk
included: it is read when the web endpoint starts) and the transport limits
(:data:`node.limits.TRANSPORT_LIMITS`). A file that fails its check changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from holdspace.node.admission import Policy
from holdspace.node.config import NodeConfig
from holdspace.node.limits import NodeLimits, apply_live
from holdspace.node.peering import PeerBook
from holdspace.node.rates import PublishRates

RESTART_KEYS = ("listen_host", "listen_port", "public_host", "public_port")


@dataclass(frozen=True, slots=True)
class Reloaded:
    config: NodeConfig
    newly_blocked: frozenset[bytes]
    """Node keys blocked by this reload: their open connections are to be closed."""
    need_restart: tuple[str, ...]
    """Keys whose new values wait for a restart."""
    newly_refused: frozenset[bytes] = frozenset()
    """Groups refused by this reload: their readers are to be told at once."""


class PolicyHolder(Protocol):
    """Where the node keeps its admission policy (``node.core.NodeCore``)."""

    policy: Policy


def apply_config(
    new: NodeConfig,
    old: NodeConfig,
    limits: NodeLimits,
    rates: PublishRates,
    book: PeerBook,
    core: PolicyHolder | None = None,
) -> Reloaded:
    """Apply ``new`` to the running node's ``limits``, publish ``rates``, peer ``book`` and ``core``'s
    admission policy (all in place).

    Invariant: afterwards ``book.added`` and ``book.blocked`` are exactly ``new``'s peers and blocked
    nodes (penalties and strikes are kept), every live limit has ``new``'s value, and ``core.policy``
    is ``new.policy()``."""
    newly_refused: frozenset[bytes] = frozenset()
    if core is not None:
        newly_refused = frozenset(new.refused - core.policy.refused)
        core.policy = new.policy()
    newly_blocked = frozenset(new.blocked - book.blocked)
    book.added.clear()
    book.added.update({p.node_key: p for p in new.peers})
    book.blocked.clear()
    book.blocked.update(new.blocked)
    fresh = new.node_limits()
    waiting = apply_live(limits, fresh)
    rates.retune(limits.publish_rate, limits.publish_burst)
    moved = [k for k in RESTART_KEYS if getattr(new, _FIELD[k]) != getattr(old, _FIELD[k])]
    if new.web != old.web:
        moved.append("web")
    return Reloaded(new, newly_blocked, (*moved, *(f"limits.{name}" for name in waiting)), newly_refused)


_FIELD = {"listen_host": "host", "listen_port": "port", "public_host": "public_host", "public_port": "public_port"}
