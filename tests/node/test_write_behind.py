"""``WriteBehind``: writes started in order complete in order, at most ``limit`` outstanding, a
failure stops the writes after it, and ``settled`` waits for every write started."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import trio
import trio.testing

from holdspace.node.write_behind import WriteBehind
from holdspace.protocol.errors import HoldspaceError


class Disk:
    """Writes that complete when the test says so, in any order it likes."""

    def __init__(self) -> None:
        self.started: list[int] = []
        self.done: list[int] = []
        self.gates: dict[int, trio.Event] = {}
        self.given_back: list[int] = []

    def write(self, n: int, fail: bool = False) -> Callable[[Callable[[], None]], object]:
        self.gates[n] = trio.Event()

        async def run(check: Callable[[], None]) -> None:
            try:
                check()
                self.started.append(n)
                await self.gates[n].wait()
                if fail:
                    raise OSError("disk full")
                self.done.append(n)
            except BaseException:
                self.given_back.append(n)
                raise

        return run


async def test_writes_run_behind_in_order_and_settle() -> None:
    disk = Disk()
    async with trio.open_nursery() as nursery:
        behind = WriteBehind(nursery, limit=2)
        await behind.start(disk.write(1))  # type: ignore[arg-type]
        await behind.start(disk.write(2))  # type: ignore[arg-type]
        await trio.testing.wait_all_tasks_blocked()
        assert disk.started == [1]  # the second waits for the first
        with trio.move_on_after(0.05) as scope:  # a third waits for room (limit 2)
            await behind.start(disk.write(3))  # type: ignore[arg-type]
        assert scope.cancelled_caught
        disk.gates[2].set()  # the second's gate opens first: it still completes second
        disk.gates[1].set()
        await behind.settled()
        assert disk.done == [1, 2]


async def fail_first_of_two(disk: Disk) -> None:
    async with trio.open_nursery() as nursery:
        behind = WriteBehind(nursery, limit=2)
        await behind.start(disk.write(1, fail=True))  # type: ignore[arg-type]
        await behind.start(disk.write(2))  # type: ignore[arg-type]
        disk.gates[1].set()
        await behind.settled()


async def test_a_failed_write_stops_the_writes_after_it() -> None:
    disk = Disk()
    with pytest.raises(BaseExceptionGroup) as caught:
        await fail_first_of_two(disk)
    assert caught.group_contains(OSError)
    assert disk.done == []
    assert disk.given_back == [1, 2]  # the second was never written: its entries are given back
    assert disk.started == [1]


async def fail_one(disk: Disk, kept: list[WriteBehind]) -> None:
    async with trio.open_nursery() as nursery:
        kept.append(WriteBehind(nursery))
        await kept[0].start(disk.write(1, fail=True))  # type: ignore[arg-type]
        disk.gates[1].set()
        await trio.sleep_forever()


async def test_settled_raises_after_a_failure() -> None:
    disk = Disk()
    kept: list[WriteBehind] = []
    with pytest.raises(BaseExceptionGroup):
        await fail_one(disk, kept)
    assert kept[0].failed
    with pytest.raises(HoldspaceError):
        await kept[0].settled()
