"""Node bookkeeping around durable writes: a real node (LMDB store and writer thread), driven
in-process. The writer thread is held back by taking the store's write lock, which is exactly what a
slow disk (a long fdatasync) looks like from the event loop."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import nacl.signing
import pytest
import trio
import trio.testing

from holdspace.node.core import NodeCore, from_record
from holdspace.node.limits import NodeLimits
from holdspace.node.server import Node, open_node
from holdspace.node.store import Store, StoreError
from holdspace.node.store_writer import StoreWriter
from holdspace.protocol import author, kinds
from holdspace.protocol.entry import Entry
from holdspace.protocol.errors import HoldspaceError
from holdspace.protocol.payloads import MessageEnvelope
from tests.group_world import World

KEY = nacl.signing.SigningKey(b"\x07" * 32)


def now() -> int:
    return int(time.time() * 1000)


def message(w: World, who: str, size: int = 40) -> Entry:
    """A structurally valid message (the node cannot check more than the envelope's shape)."""
    person = w.people[who]
    env = MessageEnvelope(b"\x01" * 32, 0, b"\x02" * 24, b"\x03" * size, commitment=bytes(32)).encode()
    return person.writer.append(kinds.MESSAGE, env, w.tick())


def small_group() -> World:
    w = World()
    w.add("ana")
    w.add("bob")
    w.rekey("founder")
    return w


async def publish_all(node: Node, entries) -> None:
    for e in entries:
        await node.publish(e.raw, e.payload, None)


@asynccontextmanager
async def writer_stalled(store: Store) -> AsyncIterator[None]:
    store._write_lock.acquire()
    try:
        yield
    finally:
        store._write_lock.release()


async def wait_stored(store: Store, entry_id: bytes) -> None:
    with trio.fail_after(10):
        while not store.has(entry_id):  # noqa: ASYNC110 - the writer thread has no trio event to wait on
            await trio.sleep(0.01)


def failing_writer(real: StoreWriter, victim: bytes) -> StoreWriter:
    flaky = FlakyWriter(real, victim)
    flaky.go.set()
    return flaky  # type: ignore[return-value]


async def test_failed_write_of_one_entry_does_not_break_the_commit_of_another(tmp_path: Path) -> None:
    """bob's message fails in StoreWriter.append (a disk error); the core's
    ``aborted`` then drops the whole group context, although founder's removal of ana is still in
    flight. When that removal commits, ``committed`` indexes the dropped context."""
    w = small_group()
    async with open_node(tmp_path / "n", KEY) as node:
        await publish_all(node, list(w.entries.values()))
        removal = w.remove("founder", "ana")
        big = message(w, "bob")
        node.writer = failing_writer(node.writer, big.entry_id)  # its write fails (a disk error)
        outcome: dict[str, object] = {}

        async def publish_removal() -> None:
            try:
                outcome["removal"] = await node.publish(removal.raw, removal.payload, None)
            except Exception as exc:
                outcome["removal"] = exc

        async with trio.open_nursery() as nursery, writer_stalled(node.store):
            nursery.start_soon(publish_removal)
            await trio.testing.wait_all_tasks_blocked()
            with pytest.raises(StoreError):
                await node.publish(big.raw, big.payload, None)
        await wait_stored(node.store, removal.entry_id)
        assert isinstance(outcome["removal"], dict), (
            f"the removal was stored, yet publish raised {outcome['removal']!r}"
        )


async def test_failed_write_then_reload_loses_a_durable_removal(tmp_path: Path) -> None:
    """Same race, but any request touching the group in between (here: a ``state`` read) reloads
    the context from the store before the removal is durable: the node then enforces a state
    without the removal, until it restarts. The removed member keeps posting with payloads."""
    w = small_group()
    async with open_node(tmp_path / "n", KEY) as node:
        await publish_all(node, list(w.entries.values()))
        removal = w.remove("founder", "ana")
        big = message(w, "bob")
        node.writer = failing_writer(node.writer, big.entry_id)  # its write fails (a disk error)
        async with trio.open_nursery() as nursery, writer_stalled(node.store):
            nursery.start_soon(node.publish, removal.raw, removal.payload, None)
            await trio.testing.wait_all_tasks_blocked()
            with pytest.raises(StoreError):
                await node.publish(big.raw, big.payload, None)
            node.core.state(w.group_id)  # e.g. anyone's "state" or "fetch" request
        await wait_stored(node.store, removal.entry_id)
        late = message(w, "ana")  # after the cut of a durable removal
        with pytest.raises(HoldspaceError) as err:  # stored as a husk (from a peer), answered with its code
            await node.publish(late.raw, late.payload, None)
        assert err.value.code == "group.not_member"
        stored = from_record(node.store.get(late.entry_id))
        assert stored.payload is None, "removed member's post stored with its payload"


async def test_cancelled_publish_of_a_removal_still_discards_payloads_and_is_enforced(tmp_path: Path) -> None:
    """A publish cancelled while its write is queued (client went away, connection closed) may still
    be committed (node/store_writer.py). The core treats it as aborted: ``committed`` never runs, so
    the payloads the removal de-authorises are never discarded, and a reload in the window leaves
    the node enforcing a state without the removal."""
    w = small_group()
    ana = w.people["ana"]
    async with open_node(tmp_path / "n", KEY) as node:
        await publish_all(node, list(w.entries.values()))
        cut = ana.writer.seq
        early = message(w, "ana")  # authorised when it arrives ...
        await node.publish(early.raw, early.payload, None)
        founder = w.people["founder"]
        removal = author.remove(founder.writer, w.view("founder"), ana.key, cut, w.tick())  # ... but after the cut
        w.publish("founder", removal)
        async with trio.open_nursery() as nursery, writer_stalled(node.store):
            scope = trio.CancelScope()

            async def publish_removal() -> None:
                with scope:
                    await node.publish(removal.raw, removal.payload, None)

            nursery.start_soon(publish_removal)
            await trio.testing.wait_all_tasks_blocked()
            scope.cancel()
            await trio.testing.wait_all_tasks_blocked()
            node.core.state(w.group_id)
        await wait_stored(node.store, removal.entry_id)
        await trio.sleep(0.1)
        assert from_record(node.store.get(early.entry_id)).payload is None, (
            "payload of a message beyond the removal's cut was never discarded"
        )
        late = message(w, "ana")
        with pytest.raises(HoldspaceError):
            await node.publish(late.raw, late.payload, None)
        assert from_record(node.store.get(late.entry_id)).payload is None, "removed member's post stored"


def core_holding(store: Store, w) -> NodeCore:
    """A node core whose store holds every entry of ``w``, each checked and committed in turn."""
    core = NodeCore(store)
    for e in w.entries.values():
        d = core.check_entry(e.raw, e.payload, now_ms=now(), authors=None)
        core.reserve(d)
        store.append_batch([d.record])
        core.committed(d)
    return core


async def test_message_is_checked_against_controls_reserved_but_not_yet_committed(tmp_path: Path) -> None:
    """``_check_message`` uses ``ctx.state``, recomputed only on commit. A message beyond the cut of a
    removal whose write is under way is judged authorised and stored with its payload; the removal's
    follow-up only scans entries already in the store, so the payload is never discarded."""
    w = small_group()
    ana = w.people["ana"]
    with Store.open(tmp_path / "s") as store:
        core = core_holding(store, w)
        removal = w.remove("founder", "ana")  # cut = ana's current head
        late = message(w, "ana")  # beyond the cut
        d_removal = core.check_entry(removal.raw, removal.payload, now_ms=now(), authors=None)
        core.reserve(d_removal)  # being written (group commit in progress)
        d_late = core.check_entry(late.raw, late.payload, now_ms=now(), authors=None)
        core.reserve(d_late)  # queued behind it, next batch
        store.append_batch([d_removal.record])
        core.committed(d_removal)
        store.append_batch([d_late.record])
        core.committed(d_late)
        state = core.state(w.group_id)
        assert not state.authorised_at(ana.key, late.seq)
        assert from_record(store.get(late.entry_id)).payload is None, (
            f"unauthorised message stored with payload (decision husk={d_late.husk}, outcome={d_late.outcome})"
        )


async def test_message_checked_before_a_removal_but_stored_after_it_loses_its_payload(tmp_path: Path) -> None:
    """A message beyond a removal's cut, checked while still authorised, whose write lands after the
    removal's commit: the removal's follow-up cannot see it (not stored yet), so the message's own
    commit must report it for discarding."""
    w = small_group()
    ana = w.people["ana"]
    with Store.open(tmp_path / "s") as store:
        core = core_holding(store, w)
        cut = ana.writer.seq
        late = message(w, "ana")  # checked first: ana is still a member
        d_late = core.check_entry(late.raw, late.payload, now_ms=now(), authors=None)
        assert not d_late.husk
        core.reserve(d_late)
        removal = author.remove(w.people["founder"].writer, w.view("founder"), ana.key, cut, w.tick())
        d_removal = core.check_entry(removal.raw, removal.payload, now_ms=now(), authors=None)
        core.reserve(d_removal)
        store.append_batch([d_removal.record])
        assert core.committed(d_removal).forget_payloads == []  # the late message is not stored yet
        store.append_batch([d_late.record])
        assert core.committed(d_late).forget_payloads == [(ana.key, late.seq)]


async def test_duplicate_of_an_entry_still_being_written_is_not_acknowledged_before_it_is_durable(
    tmp_path: Path,
) -> None:
    """Spec 14.2 rule 3: ok only after the store transaction is durable. A second publish of an entry
    whose first write is still queued is answered at once from the core's pending list."""
    w = small_group()
    async with open_node(tmp_path / "n", KEY) as node:
        await publish_all(node, list(w.entries.values()))
        entry = message(w, "ana")
        async with trio.open_nursery() as nursery, writer_stalled(node.store):
            nursery.start_soon(node.publish, entry.raw, entry.payload, None)
            await trio.testing.wait_all_tasks_blocked()
            with trio.move_on_after(0.5):
                result = await node.publish(entry.raw, entry.payload, None)
                durable = node.store.has(entry.entry_id)
                assert durable, f"acknowledged {result} while the entry is not on disk"


class FlakyWriter:
    """A StoreWriter whose append of one chosen record fails with store.io after a while (a disk
    error or a full disk on that batch); everything else goes to the real writer."""

    def __init__(self, real: StoreWriter, victim: bytes) -> None:
        self.real = real
        self.victim = victim
        self.go = trio.Event()

    async def append(self, record):  # type: ignore[no-untyped-def]
        if record.entry_id == self.victim:
            self.victim = b""
            await self.go.wait()
            raise StoreError("store.io", "No space left on device")
        return await self.real.append(record)

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.real, name)


async def test_failed_write_does_not_leave_a_gap_in_a_log(tmp_path: Path) -> None:
    """A transient write failure of entry s must not let entry s+1 (checked against the pending
    s) be stored alone: the store would hold a log with a hole, and re-publishing s then makes
    ``place`` raise ValueError (not a typed error: the connection handler crashes)."""
    w = small_group()
    store = Store.open(tmp_path / "s")
    try:
        async with StoreWriter(store) as real:
            first = message(w, "ana")
            second = message(w, "ana")
            flaky = FlakyWriter(real, first.entry_id)
            node = Node(store, flaky, KEY, NodeLimits())  # type: ignore[arg-type]
            await publish_all(node, [e for e in w.entries.values() if e.kind != kinds.MESSAGE])
            async with trio.open_nursery() as nursery:

                async def publish_first() -> None:
                    with pytest.raises(StoreError):
                        await node.publish(first.raw, first.payload, None)

                async def publish_second() -> None:  # chains to the pending first: must not land alone
                    with pytest.raises(HoldspaceError):
                        await node.publish(second.raw, second.payload, None)

                nursery.start_soon(publish_first)
                await trio.testing.wait_all_tasks_blocked()
                nursery.start_soon(publish_second)
                await trio.testing.wait_all_tasks_blocked()
                flaky.go.set()
            try:
                await node.publish(first.raw, first.payload, None)  # the author retries
            except Exception as exc:
                assert isinstance(exc, HoldspaceError), f"untyped error on retry: {exc!r}"
            assert store.get_at(w.group_id, first.author, first.seq) is not None or (
                store.get_at(w.group_id, second.author, second.seq) is None
            ), "the store holds seq s+1 without seq s"
    finally:
        store.close()
