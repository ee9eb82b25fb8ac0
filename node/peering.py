"""Which nodes this node federates with, and which it refuses: decisions without I/O.

The peers of a node are the other hosts of the groups it hosts (each group's signed control log
lists them, spec 12.7), plus peers its operator added, minus peers its operator blocked. A peer that
sends invalid entries or frames collects *strikes*; at ``PENALTY_STRIKES`` it is disconnected and
refused for ``PENALTY_SECONDS``. Callers pass the clock, so the simulator drives this as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from holdspace.protocol.address import NodeAddress

PENALTY_STRIKES = 16
"""Invalid entries or frames from one peer before it is disconnected and refused for a while."""
PENALTY_SECONDS = 600.0
"""How long a penalised peer is refused (connections both ways)."""


@dataclass(slots=True)
class PeerBook:
    me: bytes
    added: dict[bytes, NodeAddress] = field(default_factory=dict)  # operator-added peers, by node key
    blocked: set[bytes] = field(default_factory=set)
    strikes: dict[bytes, list[float]] = field(default_factory=dict)  # key -> times of recent strikes
    penalised_until: dict[bytes, float] = field(default_factory=dict)

    def refusal(self, key: bytes, now: float) -> str | None:
        """``fed.blocked`` or ``fed.penalised`` if this node must not talk to ``key`` now, else None."""
        if key in self.blocked:
            return "fed.blocked"
        until = self.penalised_until.get(key)
        if until is not None:
            if now < until:
                return "fed.penalised"
            del self.penalised_until[key]
        return None

    def penalty_left(self, key: bytes, now: float) -> float:
        return max(0.0, self.penalised_until.get(key, now) - now)

    def strike(self, key: bytes, now: float) -> bool:
        """Count one invalid thing from ``key``; True when that makes the peer penalised (from now).
        Strikes older than ``PENALTY_SECONDS`` are forgotten: an honest peer that relays a rare bad
        entry is never cut off for it."""
        recent = [t for t in self.strikes.get(key, ()) if now - t < PENALTY_SECONDS]
        recent.append(now)
        if len(recent) < PENALTY_STRIKES:
            self.strikes[key] = recent
            return False
        self.strikes.pop(key, None)
        self.penalised_until[key] = now + PENALTY_SECONDS
        return True

    def wanted(self, hosts_by_group: dict[bytes, dict[bytes, str]]) -> dict[bytes, NodeAddress]:
        """Every peer to keep a link to: the other hosts of our groups and the operator's additions.
        An operator-added address wins over a group's for the same key (the operator knows best)."""
        out: dict[bytes, NodeAddress] = {}
        for hosts in hosts_by_group.values():
            for key, text in hosts.items():
                if key != self.me and key not in self.blocked and key not in out:
                    out[key] = NodeAddress.parse(text)
        for key, address in self.added.items():
            if key != self.me and key not in self.blocked:
                out[key] = address
        return out


def shared_groups(hosts_by_group: dict[bytes, dict[bytes, str]], peer: bytes) -> list[bytes]:
    """The groups this node hosts that list ``peer`` as a host too: what the two replicate."""
    return sorted(g for g, hosts in hosts_by_group.items() if peer in hosts)
