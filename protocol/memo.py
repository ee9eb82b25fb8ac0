"""A bounded memo of pure results, shared by every caller in one process.

For checks whose answer depends only on their input bytes (a payload's structure, a signature over
a message): when one process verifies the same bytes many times (a node offered one entry by several
peers; a simulation in which every host and every member's client decodes each entry), the work is
done once. Only successes are remembered, so a failing input is checked (and its error raised) in
full every time.

Invariants: a value held under a key is exactly what computing the key's input returns, and values
are immutable (frozen dataclasses, tuples, bytes, bools), so handing out the same object changes no
result. Bounded: beyond ``capacity`` the oldest insertion is dropped. Safe to share between threads
(lookups are single dict reads; insertion and eviction hold a lock).
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Memo(Generic[K, V]):
    """Key -> value, at most ``capacity`` items, oldest insertion dropped first."""

    __slots__ = ("_capacity", "_items", "_lock")

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._items: dict[K, V] = {}
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        return self._items.get(key)

    def put(self, key: K, value: V) -> None:
        with self._lock:
            items = self._items
            if key in items:
                return
            if len(items) >= self._capacity:
                del items[next(iter(items))]
            items[key] = value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
