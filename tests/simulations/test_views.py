"""The convergence sample reads a host's view of a group again only when it may have changed: the
node's generation of the group moved, or the node is another one (a restart)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from holdspace.simulations.runtime import Simulation

GROUP = bytes(32)


class FakeNode:
    """What ``Simulation._view`` reads of a node, counting the reads."""

    def __init__(self) -> None:
        self.gen = 0
        self.reads = 0
        self.heads: dict[bytes, tuple[int, bytes]] = {b"a" * 32: (1, b"x" * 32)}
        self.store = SimpleNamespace(heads=self._heads)
        self.core = SimpleNamespace(state=lambda gid: SimpleNamespace(fingerprint=lambda: b"fp%d" % self.gen))

    def _heads(self, gid: bytes) -> dict[bytes, tuple[int, bytes]]:
        self.reads += 1
        return dict(self.heads)

    def generation(self, gid: bytes) -> int:
        return self.gen

    def fork_proofs(self, gid: bytes) -> list[bytes]:
        return []


def view(sim: Any, node: FakeNode) -> tuple[object, ...]:
    return Simulation._view(sim, "n1", node, GROUP)  # type: ignore[arg-type]


def test_an_unchanged_group_is_not_read_again_and_a_changed_one_is() -> None:
    sim = SimpleNamespace(_views={})
    node = FakeNode()
    first = view(sim, node)
    assert view(sim, node) == first and node.reads == 1
    node.gen += 1  # an entry stored (or deleted, or a fork proof recorded)
    node.heads[b"a" * 32] = (2, b"y" * 32)
    second = view(sim, node)
    assert node.reads == 2 and second != first and second[0] == ((b"a" * 32, 2, b"y" * 32),)
    restarted = FakeNode()  # the same host's node after a crash: generations start again
    assert view(sim, restarted) == first and restarted.reads == 1
