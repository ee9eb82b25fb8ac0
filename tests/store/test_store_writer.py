"""StoreWriter: group commit from trio, error isolation, backpressure, shutdown."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
import trio
import trio.testing

from holdspace.node.store import Store, StoredEntry, StoreError
from holdspace.node.store_writer import StoreWriter

from ._helpers import ident, make_entry

G1, G2 = ident("group-1"), ident("group-2")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "store")
    yield s
    s.close()


class Valve:
    """Makes the store's next append_batch wait until opened, to pile entries up behind it."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.opened = threading.Event()
        self.entered = threading.Event()
        self.batches: list[int] = []
        self.held = 0  # size of the batch held at the valve
        self._real: Callable[[Sequence[StoredEntry]], list[int | None]] = store.append_batch
        store.append_batch = self._append  # type: ignore[method-assign]

    def _append(self, entries: Sequence[StoredEntry]) -> list[int | None]:
        if not self.entered.is_set():
            self.held = len(entries)
        self.entered.set()
        self.opened.wait(timeout=30)  # a failing test must not hang the suite
        self.batches.append(len(entries))
        return self._real(entries)

    async def wait_entered(self) -> None:
        assert await trio.to_thread.run_sync(self.entered.wait, 30)


async def test_200_concurrent_appenders_are_batched(store: Store) -> None:
    results: dict[bytes, int | None] = {}
    entries = [make_entry(G1 if i % 2 else G2, ident(f"author-{i}"), 1, size=512) for i in range(200)]

    async with StoreWriter(store) as writer:

        async def one(e: StoredEntry) -> None:
            results[e.entry_id] = await writer.append(e)

        async with trio.open_nursery() as nursery:
            for e in entries:
                nursery.start_soon(one, e)

    assert len(results) == 200
    for e in entries:
        assert store.get(e.entry_id) == e
    for g in (G1, G2):
        cursors = sorted(c for e in entries if e.group == g for c in [results[e.entry_id]] if c is not None)
        assert cursors == list(range(1, 101))
    assert writer.entries_stored == writer.entries_acknowledged == 200
    assert writer.commits < 200
    assert writer.max_batch > 1
    assert store.check_integrity() == []


async def test_appends_of_one_scheduling_round_reach_the_thread_together(store: Store) -> None:
    """Appends submitted in one round of trio's scheduler are handed to the writer thread at once
    (one wake-up, one transaction), each acknowledged after that commit."""
    entries = [make_entry(G1, ident(f"author-{i}"), 1, size=512) for i in range(50)]
    handed: list[int] = []

    class CountingQueue(queue.SimpleQueue[list[object]]):
        def put(self, items: list[object], block: bool = True, timeout: float | None = None) -> None:
            handed.append(len(items) if isinstance(items, list) else 1)  # one item a put, before
            super().put(items, block, timeout)

    writer = StoreWriter(store)
    writer._queue = CountingQueue()
    async with writer:
        async with trio.open_nursery() as nursery:
            for e in entries:
                nursery.start_soon(writer.append, e)
        assert handed == [50]
        assert writer.commits == 1 and writer.entries_acknowledged == 50


async def test_sequential_logs_from_concurrent_authors(store: Store) -> None:
    async with StoreWriter(store) as writer:

        async def author(n: int) -> None:
            a = ident(f"a{n}")
            for seq in range(1, 21):
                assert await writer.append(make_entry(G1, a, seq)) is not None

        async with trio.open_nursery() as nursery:
            for n in range(20):
                nursery.start_soon(author, n)
    assert store.count(G1) == 400
    assert all(seq == 20 for seq, _ in store.heads(G1).values())
    assert writer.commits < 400
    assert store.check_integrity() == []


async def test_duplicates_are_acknowledged_with_none(store: Store) -> None:
    e = make_entry(G1, ident("a"), 1)
    async with StoreWriter(store) as writer:
        assert await writer.append(e) == 1
        assert await writer.append(e) is None
    assert writer.entries_stored == 1
    assert writer.entries_acknowledged == 2


async def test_a_bad_record_fails_only_its_caller(store: Store) -> None:
    a = ident("a")
    taken = make_entry(G1, a, 1)
    store.append_batch([taken])
    valve = Valve(store)
    good = [make_entry(G2, ident(f"b{i}"), 1) for i in range(10)]
    fork = make_entry(G1, a, 1, salt=b"fork")
    outcome: dict[bytes, object] = {}

    async with StoreWriter(store) as writer:

        async def one(e: StoredEntry) -> None:
            try:
                outcome[e.entry_id] = await writer.append(e)
            except StoreError as err:
                outcome[e.entry_id] = err

        async with trio.open_nursery() as nursery:
            nursery.start_soon(one, make_entry(G2, ident("first"), 1))
            await valve.wait_entered()  # the writer thread is now held inside its first commit
            for e in good[:5]:
                nursery.start_soon(one, e)
            await trio.testing.wait_all_tasks_blocked()
            nursery.start_soon(one, fork)
            await trio.testing.wait_all_tasks_blocked()
            for e in good[5:]:
                nursery.start_soon(one, e)
            await trio.testing.wait_all_tasks_blocked()
            valve.opened.set()

    error = outcome[fork.entry_id]
    assert isinstance(error, StoreError)
    assert error.code == "store.slot_conflict"
    assert all(isinstance(outcome[e.entry_id], int) for e in good)
    assert all(store.has(e.entry_id) for e in good)
    assert store.get_at(G1, a, 1) == taken
    assert valve.batches[1] == 11  # the fork was queued with the good ones, then left out
    assert store.check_integrity() == []


async def test_malformed_entry_is_refused_before_queueing(store: Store) -> None:
    async with StoreWriter(store) as writer:
        with pytest.raises(StoreError) as err:
            await writer.append(make_entry(G1, b"short", 1))
        assert err.value.code == "store.bad_record"
        assert await writer.append(make_entry(G1, ident("a"), 1)) == 1


async def test_batches_respect_the_entry_bound(store: Store) -> None:
    valve = Valve(store)
    async with StoreWriter(store, max_batch_entries=50) as writer, trio.open_nursery() as nursery:
        for i in range(301):
            nursery.start_soon(writer.append, make_entry(G1, ident(f"a{i}"), 1))
            if i == 0:
                await valve.wait_entered()
        await trio.testing.wait_all_tasks_blocked()
        valve.opened.set()
    assert valve.batches[0] == 1
    assert max(valve.batches) == 50
    assert sum(valve.batches) == 301
    assert writer.max_batch == 50


async def test_batches_respect_the_byte_bound(store: Store) -> None:
    valve = Valve(store)
    async with StoreWriter(store, max_batch_bytes=10_000) as writer, trio.open_nursery() as nursery:
        for i in range(41):
            nursery.start_soon(writer.append, make_entry(G1, ident(f"a{i}"), 1, size=1000))
            if i == 0:
                await valve.wait_entered()
        await trio.testing.wait_all_tasks_blocked()
        valve.opened.set()
    assert valve.batches[1:] == [10, 10, 10, 10]


async def test_backpressure_bounds_the_queue(store: Store) -> None:
    valve = Valve(store)
    done = 0
    async with StoreWriter(store, max_pending=5) as writer:

        async def one(i: int) -> None:
            nonlocal done
            await writer.append(make_entry(G1, ident(f"a{i}"), 1))
            done += 1

        async with trio.open_nursery() as nursery:
            for i in range(20):
                nursery.start_soon(one, i)
            try:
                await valve.wait_entered()
                await trio.testing.wait_all_tasks_blocked()
                # 5 entries admitted: in the held commit or queued behind it; 15 callers wait
                assert valve.held + writer._queue.qsize() == 5
                assert done == 0
            finally:
                valve.opened.set()
    assert done == 20
    assert store.count(G1) == 20


async def test_engine_failure_reaches_the_batch_callers_only(store: Store) -> None:
    real = store.append_batch
    calls = 0

    def flaky(entries: Sequence[StoredEntry]) -> list[int | None]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("disk on fire")
        return real(entries)

    store.append_batch = flaky  # type: ignore[method-assign]
    async with StoreWriter(store) as writer:
        with pytest.raises(StoreError) as err:
            await writer.append(make_entry(G1, ident("a"), 1))
        assert err.value.code == "store.io"
        assert isinstance(err.value.__cause__, OSError)
        assert await writer.append(make_entry(G1, ident("a"), 1)) == 1  # the writer carries on


async def test_exit_commits_what_is_queued_and_then_refuses(store: Store) -> None:
    valve = Valve(store)
    results: list[int | None] = []
    writer = StoreWriter(store)
    async with trio.open_nursery() as nursery:
        async with writer:

            async def one(i: int) -> None:
                results.append(await writer.append(make_entry(G1, ident(f"a{i}"), 1)))

            async def open_later() -> None:
                await trio.sleep(0.05)
                valve.opened.set()

            for i in range(10):
                nursery.start_soon(one, i)
            await valve.wait_entered()
            await trio.testing.wait_all_tasks_blocked()
            nursery.start_soon(open_later)  # the commit is still held when the block is left
        # leaving the block waited for the queued entries to be committed
        assert store.count(G1) == 10
    assert sorted(r for r in results if r is not None) == list(range(1, 11))
    with pytest.raises(StoreError) as err:
        await writer.append(make_entry(G1, ident("late"), 1))
    assert err.value.code == "store.closed"


async def test_cancelled_append_leaves_the_writer_working(store: Store) -> None:
    valve = Valve(store)
    e = make_entry(G1, ident("a"), 1)
    async with StoreWriter(store) as writer:
        with trio.move_on_after(0.05) as scope:
            await writer.append(e)
        assert scope.cancelled_caught
        valve.opened.set()
        assert await writer.append(make_entry(G1, ident("b"), 1)) == 2
        assert await writer.append(e) is None  # it was stored after all
    assert store.count(G1) == 2


async def test_event_loop_keeps_running_during_commits(store: Store) -> None:
    lags: list[float] = []
    async with StoreWriter(store) as writer:
        done = trio.Event()

        async def ticker() -> None:
            while not done.is_set():
                before = trio.current_time()
                await trio.sleep(0.002)
                lags.append(trio.current_time() - before - 0.002)

        async def author(n: int) -> None:
            a = ident(f"a{n}")
            for seq in range(1, 101):
                await writer.append(make_entry(G1, a, seq, size=2048))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(ticker)
            async with trio.open_nursery() as inner:
                for n in range(20):
                    inner.start_soon(author, n)
            done.set()
    assert store.count(G1) == 2000
    assert max(lags) < 0.1  # inline commits of this size stall the loop for longer


async def test_reads_in_a_worker_thread(store: Store) -> None:
    entries = [make_entry(G1, ident("a"), seq) for seq in range(1, 51)]
    async with StoreWriter(store) as writer:
        for e in entries:
            await writer.append(e)
        page = await writer.read(store.iter_group, G1, 10, 5)
        assert [c for c, _ in page] == [11, 12, 13, 14, 15]
        assert store.get(entries[0].entry_id) == entries[0]  # point reads inline


async def test_writer_is_single_use(store: Store) -> None:
    writer = StoreWriter(store)
    async with writer:
        pass
    with pytest.raises(RuntimeError):
        async with writer:
            pass


async def test_other_writes_run_on_the_writer_thread_in_order(store: Store) -> None:
    e = make_entry(G1, ident("a"), 1, size=300)
    async with StoreWriter(store) as writer:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(writer.append, e)
            await trio.testing.wait_all_tasks_blocked()
            # queued after the append: runs after its commit, so the body exists to delete
            assert await writer.delete_body(e.entry_id, b"husk") is True
        await writer.put_meta(b"k", b"v")
        assert store.get_meta(b"k") == b"v"
        assert await writer.delete_meta(b"k") is True
        assert await writer.delete_body(ident("unknown"), b"x") is False
        with pytest.raises(StoreError) as err:
            await writer.put_meta(b"", b"v")
        assert err.value.code == "store.bad_record"
    assert store.get(e.entry_id) == StoredEntry(e.group, e.author, e.seq, e.entry_id, e.kind, b"husk")
    assert store.body_deleted(e.entry_id)
