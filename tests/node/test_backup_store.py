"""Identity backups on the home node (spec 14.8), driven through the sans-I/O session and core over the
in-memory reader: no trio, no LMDB. Who may store, the size limit, one backup per id replaced, the
rate, the node's byte budget, and a restore that needs no pseudonym."""

from __future__ import annotations

from pathlib import Path

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

from holdspace.node.admission import Policy
from holdspace.node.backups import BACKUP_BURST, MAX_STORED_BACKUP
from holdspace.node.limits import NodeLimits
from holdspace.node.memory_store import MemoryReader
from holdspace.node.session import ClientSession, PutBackup
from holdspace.node.store import BACKUP_PREFIX, Store
from holdspace.protocol import backup as bk
from tests.group_world import World
from tests.node.core_driver import hosted
from tests.node.test_session import CHALLENGE, Host, auth, code, me, ok, request

BACKUP_ID = bk.backup_id(bk.backup_key(b"\x11" * 16))


@pytest.fixture(scope="module")
def world() -> World:
    w = World()
    w.add("ana")
    w.add("bo")
    w.remove("founder", "bo")
    return w


def new_session(w: World) -> tuple[ClientSession, MemoryReader]:
    core, reader = hosted(w)
    return ClientSession(Host(core, NodeLimits()), CHALLENGE, 0.0), reader  # type: ignore[arg-type]


def put(s: ClientSession, w: World, data: bytes, now: float = 0.0, *, group: bytes | None = None) -> object:
    return s.receive(request("backup_put", b=BACKUP_ID, g=group or w.group_id, data=data), now)


def store(s: ClientSession, reader: MemoryReader, effect: object) -> None:
    """What the runtime does with an admitted put: write it, release the reservation, answer."""
    assert isinstance(effect, PutBackup), effect
    reader.put_backup(effect.backup_id, effect.data)
    s.host.core.backup_ended(effect.reserved)
    s.done(effect.rid)


def test_a_member_stores_a_backup_and_a_session_without_pseudonym_gets_it(world: World) -> None:
    s, reader = new_session(world)
    ok(auth(s, me(world, "ana")))
    store(s, reader, put(s, world, b"sealed backup one"))
    fresh, _ = new_session(world)
    fresh.host.core.store = reader  # the same node, a new device's session: nothing authenticated
    assert ok(fresh.receive(request("backup_get", b=BACKUP_ID), 0.0)) == {"data": b"sealed backup one"}
    assert code(fresh.receive(request("backup_get", b=b"\x00" * 32), 0.0)) == "proto.not_found"


def test_one_backup_per_id_replaced_and_counted_in_the_node_budget(world: World) -> None:
    s, reader = new_session(world)
    ok(auth(s, me(world, "ana")))
    before = reader.usage(world.group_id)[1]
    store(s, reader, put(s, world, b"x" * 1000))
    store(s, reader, put(s, world, b"y" * 300, 1.0))
    assert reader.get_backup(BACKUP_ID) == b"y" * 300
    assert reader.usage(world.group_id)[1] == before + 300  # the node's total, not the group's
    assert s.host.core.reserved_bytes == {}


def test_who_may_store(world: World) -> None:
    s, _ = new_session(world)
    assert code(put(s, world, b"data")) == "proto.unauthenticated"
    ok(auth(s, me(world, "bo")))  # removed from the group: a former member
    assert code(put(s, world, b"data")) == "proto.forbidden"
    assert code(put(s, world, b"data", group=b"\x05" * 32)) == "proto.unknown_group"
    ok(auth(s, me(world, "ana")))
    assert isinstance(put(s, world, b"data"), PutBackup)


def test_size_limit_rate_and_budget(world: World) -> None:
    s, reader = new_session(world)
    ok(auth(s, me(world, "ana")))
    assert code(put(s, world, b"z" * (MAX_STORED_BACKUP + 1))) == "backup.node_too_large"
    for i in range(int(BACKUP_BURST)):
        store(s, reader, put(s, world, b"z" * MAX_STORED_BACKUP, now=0.0 + i * 0.001))
    assert code(put(s, world, b"late", 0.1)) == "proto.rate_limited"
    store(s, reader, put(s, world, b"later", 61.0))  # one a minute after the burst
    assert reader.get_backup(BACKUP_ID) == b"later"
    tight, tight_reader = new_session(world)
    tight.host.core.policy = Policy(max_node_bytes=tight_reader.usage(world.group_id)[1] + 100)
    ok(auth(tight, me(world, "ana")))
    assert code(put(tight, world, b"w" * 101)) == "quota.node_full"
    store(tight, tight_reader, put(tight, world, b"w" * 100))
    assert code(put(tight, world, b"w" * 101, 1.0)) == "quota.node_full"  # in place of 100: still 1 over
    store(tight, tight_reader, put(tight, world, b"v" * 60, 2.0))  # a smaller one replaces it


def test_a_put_being_written_holds_its_bytes(world: World) -> None:
    s, reader = new_session(world)
    used = reader.usage(world.group_id)[1]
    s.host.core.policy = Policy(max_node_bytes=used + 150)
    ok(auth(s, me(world, "ana")))
    first = put(s, world, b"a" * 100)
    assert isinstance(first, PutBackup)
    # another id, while the first is being written: 100 + 100 > 150
    other = s.receive(request("backup_put", b=b"\x22" * 32, g=world.group_id, data=b"b" * 100), 0.0)
    assert code(other) == "quota.node_full"
    store(s, reader, first)


def test_malformed_requests_are_refused_by_the_schema(world: World) -> None:
    s, _ = new_session(world)
    ok(auth(s, me(world, "ana")))
    assert (
        code(s.receive(request("backup_put", b=b"short", g=world.group_id, data=b"x"), 0.0)) == "proto.malformed_frame"
    )
    assert (
        code(s.receive(request("backup_put", b=BACKUP_ID, g=world.group_id, data=b""), 0.0)) == "proto.malformed_frame"
    )
    assert code(s.receive(request("backup_get", b=BACKUP_ID, g=world.group_id), 0.0)) == "proto.malformed_frame"


def test_the_lmdb_store_replaces_a_backup_in_one_transaction_and_counts_it_for_the_node(tmp_path: Path) -> None:
    with Store.open(tmp_path / "store") as lmdb_store:
        assert lmdb_store.get_backup(BACKUP_ID) is None and lmdb_store.usage(b"\x01" * 32) == (0, 0)
        assert lmdb_store.put_backup(BACKUP_ID, b"a" * 500) == 0
        assert lmdb_store.put_backup(BACKUP_ID, b"b" * 200) == 500  # replaced: returns the old size
        assert lmdb_store.get_backup(BACKUP_ID) == b"b" * 200
        assert lmdb_store.usage(b"\x01" * 32) == (0, 200)  # the node's bytes, no group's
        assert lmdb_store.check_integrity() == []
        lmdb_store.put_meta(BACKUP_PREFIX + b"\x33" * 32, b"written around the counter")
        assert any("backup byte total" in p for p in lmdb_store.check_integrity())
        lmdb_store.delete_meta(BACKUP_PREFIX + b"\x33" * 32)
    with Store.open(tmp_path / "store") as reopened:  # durable
        assert reopened.get_backup(BACKUP_ID) == b"b" * 200 and reopened.usage(b"\x01" * 32) == (0, 200)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(1, 2000)), max_size=30))
def test_the_node_counts_exactly_the_backups_it_holds(world: World, puts: list[tuple[int, int]]) -> None:
    """Whatever puts come, in whatever order over whichever ids: the node's bytes are its entries plus
    the latest backup of each id, and nothing stays reserved."""
    s, reader = new_session(world)
    entries = reader.usage(world.group_id)[1]
    ok(auth(s, me(world, "ana")))
    latest: dict[int, int] = {}
    for n, (which, size) in enumerate(puts):
        effect = s.receive(request("backup_put", b=bytes([which]) * 32, g=world.group_id, data=b"x" * size), 60.0 * n)
        store(s, reader, effect)
        latest[which] = size
        assert reader.usage(world.group_id)[1] == entries + sum(latest.values())
    assert s.host.core.reserved_bytes == {}
