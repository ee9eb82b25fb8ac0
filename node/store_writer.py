"""Group commit for the entry store, from trio.

:class:`StoreWriter` owns ONE long-lived writer thread. ``await writer.append(entry)`` hands the
entry to that thread and returns only once the transaction holding it is durably committed. While
the thread commits one batch, new entries queue up; the next transaction takes everything queued,
up to ``max_batch_entries`` entries or ``max_batch_bytes`` of raw bytes. A durable commit costs
one or two fdatasync() calls whatever the batch size, so under concurrent load the commit rate
stays roughly constant while the entries per commit grow.

Why a long-lived thread rather than ``trio.to_thread.run_sync`` per batch: both keep LMDB off the
event loop and keep each write transaction inside one thread. Measured on a 2-core VM (1 KiB
entries, durable; ``benchmarks/store_bench.py --compare-threading`` and a 1/10/200-appender sweep):
the dedicated thread did 1.8k vs 1.5k appends/s with one appender, 10.7-10.8k vs 10.1-10.6k with
ten, and the same ~25k with 200. It is also simpler to own: no background trio task, so the writer
is a plain async context manager that needs no nursery (whose exit would wrap the body's
exceptions in an ExceptionGroup).

Other writes (``put_meta``, ``delete_meta``, ``delete_body``) can go through the same thread with
the writer's async methods: they run in queue order, after the appends queued before them, and
keep the event loop from waiting on a commit.

Hand-over: writes submitted in one scheduling round of trio reach the thread together, at the end
of that round (``TrioToken.run_sync_soon``): one wake-up of the thread per round, and the appends of
concurrent publishers that arrived together in one transaction, each acknowledged after it.

Backpressure: at most ``max_pending`` entries (and other writes) are queued or being committed;
further callers wait in ``append`` until space frees.

Shutdown: leaving ``async with`` refuses new writes, waits (shielded from cancellation) for the
queued ones to commit, then stops the thread. A commit is never abandoned half-way, so a disk that
hangs makes the exit hang too.

Errors: they reach only the callers whose entries were in the failed transaction. When one record
is to blame (malformed, slot taken by another id, id stored elsewhere), only its caller gets the
:class:`~node.store.StoreError` and the rest of its batch is committed again without it.

Cancellation: an ``append`` cancelled after the entry was queued may still store it; appending it
again is harmless (a stored id returns ``None``).

Reads: point reads on :class:`~node.store.Store` (``get``, ``has``, ``get_at``, ``id_at``,
``count``, ``last_cursor``, ``heads`` of a group, ``get_meta``) take 2-7 microseconds on a warm
cache (a page not in the page cache costs one disk read) and may be called inline from trio.
Scans (``iter_group`` beyond a few hundred entries, ``groups``, ``check_integrity``,
``compact_copy``) go through :meth:`StoreWriter.read`, which runs them in a worker thread under a
small limiter. Writes never run inline: use the writer's methods, or a thread.
"""

from __future__ import annotations

import collections
import contextlib
import queue
import threading
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Final, TypeVar

import trio

from holdspace.node.store import Store, StoredEntry, StoreError, validate_entry

__all__ = ["InlineStoreWriter", "StoreWriter"]

DEFAULT_MAX_BATCH_ENTRIES: Final = 1000
DEFAULT_MAX_BATCH_BYTES: Final = 4 << 20
DEFAULT_MAX_PENDING: Final = 4000
DEFAULT_READ_THREADS: Final = 4

#: Codes for which StoreError.index names the one record to blame.
_RECORD_CODES: Final = frozenset({"store.bad_record", "store.slot_conflict", "store.id_conflict"})

_T = TypeVar("_T")


class _Pending:
    """One append waiting for its commit."""

    __slots__ = ("entry", "error", "event", "result")

    def __init__(self, entry: StoredEntry) -> None:
        self.entry = entry
        self.event = trio.Event()
        self.result: int | None = None
        self.error: StoreError | None = None


class _Job:
    """Another write (meta, body deletion) run on the writer thread, in queue order."""

    __slots__ = ("args", "error", "event", "fn", "result")

    def __init__(self, fn: Callable[..., object], args: tuple[object, ...]) -> None:
        self.fn = fn
        self.args = args
        self.event = trio.Event()
        self.result: object = None
        self.error: StoreError | None = None


_STOP: Final = object()  # queue mark: commit what precedes, then end the thread
_Item = _Pending | _Job | object


class StoreWriter:
    """Batches concurrent appends into durable group commits on one dedicated thread.

    Use as ``async with StoreWriter(store) as writer:``. Leaving the block commits everything
    already queued, then stops the thread; the store itself stays open (its owner closes it).
    """

    def __init__(
        self,
        store: Store,
        *,
        max_batch_entries: int = DEFAULT_MAX_BATCH_ENTRIES,
        max_batch_bytes: int = DEFAULT_MAX_BATCH_BYTES,
        max_pending: int = DEFAULT_MAX_PENDING,
        read_threads: int = DEFAULT_READ_THREADS,
    ) -> None:
        if max_batch_entries < 1 or max_batch_bytes < 1 or max_pending < 1:
            raise ValueError("batch and queue bounds must be positive")
        self.store = store
        self._max_entries = max_batch_entries
        self._max_bytes = max_batch_bytes
        self._queue: queue.SimpleQueue[list[_Item]] = queue.SimpleQueue()
        self._staged: list[_Item] = []  # submitted in this scheduling round, handed over at its end
        self._room = trio.Semaphore(max_pending)
        self._read_limiter = trio.CapacityLimiter(read_threads)
        self._token: trio.lowlevel.TrioToken | None = None
        self._thread: threading.Thread | None = None
        self._stopped = trio.Event()
        self._closing = False
        #: Write transactions committed by this writer (a batch retried without a bad record
        #: counts once per attempt that committed, i.e. once).
        self.commits = 0
        #: Entries newly stored (duplicates excluded) and entries acknowledged (duplicates included).
        self.entries_stored = 0
        self.entries_acknowledged = 0
        #: Largest batch committed so far.
        self.max_batch = 0

    # --- lifecycle -------------------------------------------------------------------------------

    async def __aenter__(self) -> StoreWriter:
        if self._thread is not None:
            raise RuntimeError("a StoreWriter can be entered once")
        self._token = trio.lowlevel.current_trio_token()
        self._thread = threading.Thread(target=self._thread_main, name="holdspace-store-writer", daemon=True)
        self._thread.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Refuse new appends, let the thread commit what is queued, and wait for it to stop."""
        if self._thread is None:
            return
        if not self._closing:
            self._closing = True
            self._stage(_STOP)
        # Shielded: the thread is finishing a commit and the callers it serves are waiting for it.
        with trio.CancelScope(shield=True):
            await self._stopped.wait()

    # --- writes ----------------------------------------------------------------------------------

    async def append(self, entry: StoredEntry) -> int | None:
        """Store ``entry``; return its arrival cursor once durably committed (``None``: already stored).

        Raises :class:`StoreError` (``store.bad_record``, ``store.slot_conflict``,
        ``store.id_conflict``, ``store.io``, ``store.closed``...).
        """
        validate_entry(entry)
        pending = _Pending(entry)
        await self._submit(pending)
        if pending.error is not None:
            raise pending.error
        return pending.result

    async def append_batch(self, entries: Sequence[StoredEntry]) -> list[int | None]:
        """:meth:`Store.append_batch` on the writer thread: one transaction, in this order, ordered
        with the writes queued before it; durable on return."""
        for i, entry in enumerate(entries):
            validate_entry(entry, i)
        result = await self._run_job(self.store.append_batch, list(entries))
        assert isinstance(result, list)
        return result

    async def put_meta(self, key: bytes, value: bytes) -> None:
        """:meth:`Store.put_meta` on the writer thread, ordered with the appends queued before it."""
        await self._run_job(self.store.put_meta, key, value)

    async def delete_meta(self, key: bytes) -> bool:
        """:meth:`Store.delete_meta` on the writer thread."""
        return bool(await self._run_job(self.store.delete_meta, key))

    async def delete_body(self, entry_id: bytes, tombstone: bytes) -> bool:
        """:meth:`Store.delete_body` on the writer thread, after the appends queued before it."""
        return bool(await self._run_job(self.store.delete_body, entry_id, tombstone))

    async def delete_bodies(self, items: list[tuple[bytes, bytes]]) -> int:
        """:meth:`Store.delete_bodies` on the writer thread (one durable transaction)."""
        deleted = await self._run_job(self.store.delete_bodies, items)
        assert isinstance(deleted, int)
        return deleted

    async def _run_job(self, fn: Callable[..., object], *args: object) -> object:
        job = _Job(fn, args)
        await self._submit(job)
        if job.error is not None:
            raise job.error
        return job.result

    async def _submit(self, item: _Pending | _Job) -> None:
        if self._closing or self._thread is None:
            raise StoreError("store.closed", "the store writer is not running")
        await self._room.acquire()
        if self._closing:  # closed while we waited for room: the thread may be gone
            self._room.release()
            raise StoreError("store.closed", "the store writer is not running")
        self._stage(item)  # no checkpoint since the check above: ordered before the stop mark
        await item.event.wait()

    def _stage(self, item: _Item) -> None:
        """Queue ``item`` for the thread at the end of this scheduling round, with every other item
        submitted in it: one hand-over (one wake-up of the thread) per round, not per write, and
        the writes of one round in one transaction where they can share one."""
        if not self._staged:
            assert self._token is not None
            self._token.run_sync_soon(self._hand_over)
        self._staged.append(item)
        if item is _STOP:
            self._hand_over()

    def _hand_over(self) -> None:
        if self._staged:
            self._queue.put(self._staged)
            self._staged = []

    # --- reads -----------------------------------------------------------------------------------

    async def read(self, fn: Callable[..., _T], *args: object) -> _T:
        """Run a store read (a scan) in a worker thread.

        Example: ``page = await writer.read(store.iter_group, group, after, 5000)``.
        """
        return await trio.to_thread.run_sync(fn, *args, limiter=self._read_limiter)

    # --- the writer thread -----------------------------------------------------------------------

    def _thread_main(self) -> None:
        backlog: collections.deque[_Item] = collections.deque()  # handed over, in order, not yet written
        try:
            while True:
                if not backlog:
                    backlog.extend(self._queue.get())
                item = backlog.popleft()
                if item is _STOP:
                    break
                if isinstance(item, _Job):
                    self._run(item)
                    self._call_trio(self._deliver, [item])
                    continue
                assert isinstance(item, _Pending)
                batch = [item]
                size = len(item.entry.raw)
                while len(batch) < self._max_entries and size < self._max_bytes:
                    if not backlog:
                        try:
                            backlog.extend(self._queue.get_nowait())
                        except queue.Empty:
                            break
                    if not isinstance(backlog[0], _Pending):
                        break  # a job or the stop mark: after this batch
                    item = backlog.popleft()
                    assert isinstance(item, _Pending)
                    batch.append(item)
                    size += len(item.entry.raw)
                self._commit(batch)
                self._call_trio(self._deliver, batch)
        finally:
            self._call_trio(self._stopped.set)

    @staticmethod
    def _run(job: _Job) -> None:
        try:
            job.result = job.fn(*job.args)
        except StoreError as exc:
            job.error = exc
        except Exception as exc:  # it must reach the waiting caller, whatever it is
            job.error = StoreError("store.io", f"{type(exc).__name__}: {exc}")
            job.error.__cause__ = exc

    def _commit(self, batch: list[_Pending]) -> None:
        """Commit ``batch``, setting each pending's result or error. Never raises."""
        todo = list(batch)
        while todo:
            try:
                results = self.store.append_batch([p.entry for p in todo])
            except StoreError as exc:
                if exc.code in _RECORD_CODES and exc.index is not None and 0 <= exc.index < len(todo):
                    todo.pop(exc.index).error = exc
                    continue  # the others are innocent: commit them without it
                self._fail(todo, exc)
                return
            except Exception as exc:
                self._fail(todo, StoreError("store.io", f"{type(exc).__name__}: {exc}"), cause=exc)
                return
            for p, cursor in zip(todo, results, strict=True):
                p.result = cursor
            self.commits += 1
            self.entries_stored += sum(r is not None for r in results)
            self.entries_acknowledged += len(todo)
            self.max_batch = max(self.max_batch, len(todo))
            return

    @staticmethod
    def _fail(todo: list[_Pending], exc: StoreError, cause: BaseException | None = None) -> None:
        for p in todo:
            # One exception object per caller: the same object raised in several tasks would
            # accumulate their tracebacks.
            err = StoreError(exc.code, exc.message)
            err.__cause__ = cause if cause is not None else exc
            p.error = err

    def _call_trio(self, fn: Callable[..., object], *args: object) -> None:
        assert self._token is not None
        with contextlib.suppress(trio.RunFinishedError):  # the run is gone: nobody waits any more
            self._token.run_sync_soon(fn, *args)

    def _deliver(self, batch: Sequence[_Pending | _Job]) -> None:
        for p in batch:
            p.event.set()
            self._room.release()


class InlineStoreWriter:
    """The :class:`StoreWriter` interface, committing on the calling task: one transaction per call,
    in call order, no thread.

    For the simulator only, where no thread may run (virtual time, a reproducible order of
    events). A real node must not use it: every commit would stall its event loop. Results and
    errors are those of :class:`StoreWriter` (each write is also its own batch there when appends
    do not overlap), and every write is done before the next scheduling point, so cancellation
    cannot abandon one half-way.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.commits = 0
        self.entries_stored = 0
        self.entries_acknowledged = 0
        self.max_batch = 0

    async def __aenter__(self) -> InlineStoreWriter:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    async def aclose(self) -> None:
        return None

    async def _done(self, result: _T) -> _T:
        await trio.lowlevel.cancel_shielded_checkpoint()
        return result

    async def append(self, entry: StoredEntry) -> int | None:
        validate_entry(entry)
        return (await self.append_batch([entry]))[0]

    async def append_batch(self, entries: Sequence[StoredEntry]) -> list[int | None]:
        for i, entry in enumerate(entries):
            validate_entry(entry, i)
        result = self.store.append_batch(list(entries))
        self.commits += 1
        self.entries_stored += sum(1 for r in result if r is not None)
        self.entries_acknowledged += len(result)
        self.max_batch = max(self.max_batch, len(result))
        return await self._done(result)

    async def put_meta(self, key: bytes, value: bytes) -> None:
        self.store.put_meta(key, value)
        await self._done(None)

    async def delete_meta(self, key: bytes) -> bool:
        return await self._done(self.store.delete_meta(key))

    async def delete_body(self, entry_id: bytes, tombstone: bytes) -> bool:
        return await self._done(self.store.delete_body(entry_id, tombstone))

    async def delete_bodies(self, items: list[tuple[bytes, bytes]]) -> int:
        return await self._done(self.store.delete_bodies(items))

    async def read(self, fn: Callable[..., _T], *args: object) -> _T:
        return await self._done(fn(*args))
