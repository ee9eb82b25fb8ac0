"""Unit tests of node.store: every index, duplicates, conflicts, cursors, meta, bodies, copies, growth."""

from __future__ import annotations

import os
import random
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import lmdb
import pytest

from holdspace.node.memory_store import MemoryReader
from holdspace.node.store import FORMAT_VERSION, MAX_RAW_SIZE, Store, StoredEntry, StoreError
from holdspace.protocol import kinds

from ._helpers import ident, make_entry

G1, G2 = ident("group-1"), ident("group-2")
A1, A2, A3 = ident("author-1"), ident("author-2"), ident("author-3")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "store")
    yield s
    s.close()


def log(group: bytes, author: bytes, n: int, start: int = 1, size: int = 64) -> list[StoredEntry]:
    return [make_entry(group, author, seq, size=size) for seq in range(start, start + n)]


# --- opening ---------------------------------------------------------------------------------------


def test_open_creates_directory_and_pins_format(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b"
    with Store.open(path) as s:
        assert s.info()["entries"] == 0
    env = lmdb.open(str(path), max_dbs=16, lib_version=0, readonly=True)
    try:
        assert env.lib_version()[:2] == (0, 9)
        with env.begin() as txn:
            sys_db = env.open_db(b"sys", txn=txn, create=False)
            assert txn.get(b"format", db=sys_db) == FORMAT_VERSION.to_bytes(4, "big")
            assert txn.get(b"engine", db=sys_db) == b"lmdb-0.9"
    finally:
        env.close()


def test_default_map_is_large_and_sparse(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s") as s:
        assert s.info()["map_size"] == 64 << 30
        assert s.info()["max_readers"] >= 512
    assert (tmp_path / "s" / "data.mdb").stat().st_blocks * 512 < 1 << 20


def _set_sys(path: Path, key: bytes, value: bytes) -> None:
    env = lmdb.open(str(path), max_dbs=16, lib_version=0)
    try:
        with env.begin(write=True) as txn:
            txn.put(key, value, db=env.open_db(b"sys", txn=txn))
    finally:
        env.close()


def test_unknown_format_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s"
    Store.open(path).close()
    _set_sys(path, b"format", (FORMAT_VERSION + 1).to_bytes(4, "big"))
    with pytest.raises(StoreError) as err:
        Store.open(path)
    assert err.value.code == "store.bad_version"
    _set_sys(path, b"format", FORMAT_VERSION.to_bytes(4, "big"))
    Store.open(path).close()  # and the refusal changed nothing


def test_foreign_lmdb_environment_is_refused(tmp_path: Path) -> None:
    env = lmdb.open(str(tmp_path / "other"), max_dbs=4, lib_version=0)
    with env.begin(write=True) as txn:
        txn.put(b"hello", b"world")
    env.close()
    with pytest.raises(StoreError) as err:
        Store.open(tmp_path / "other")
    assert err.value.code == "store.bad_format"


def test_lmdb_1_0_format_is_refused_with_an_explanation(tmp_path: Path) -> None:
    env = lmdb.open(str(tmp_path / "v1"), max_dbs=4, lib_version=1)
    with env.begin(write=True) as txn:
        txn.put(b"k", b"v")
    env.close()
    with pytest.raises(StoreError) as err:
        Store.open(tmp_path / "v1")
    assert err.value.code == "store.bad_format"
    assert "LMDB 1.0" in err.value.message


def test_garbage_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "g").mkdir()
    (tmp_path / "g" / "data.mdb").write_bytes(os.urandom(3 * 4096))
    with pytest.raises(StoreError) as err:
        Store.open(tmp_path / "g")
    assert err.value.code == "store.bad_format"


def test_closed_store_refuses_calls(tmp_path: Path) -> None:
    s = Store.open(tmp_path / "s")
    s.close()
    s.close()  # idempotent
    assert s.closed
    for call in (lambda: s.has(bytes(32)), lambda: s.append_batch(log(G1, A1, 1)), lambda: s.get_meta(b"k")):
        with pytest.raises(StoreError) as err:
            call()
        assert err.value.code == "store.closed"


# --- indexes ---------------------------------------------------------------------------------------


def test_every_index_after_appends(store: Store) -> None:
    a1, a2, b1 = log(G1, A1, 3), log(G1, A2, 2), log(G2, A1, 4)
    assert store.append_batch(a1 + a2) == [1, 2, 3, 4, 5]
    assert store.append_batch(b1) == [1, 2, 3, 4]
    for e in a1 + a2 + b1:
        assert store.has(e.entry_id)
        assert store.get(e.entry_id) == e
        assert store.get_at(e.group, e.author, e.seq) == e
        assert store.id_at(e.group, e.author, e.seq) == e.entry_id
        assert not store.body_deleted(e.entry_id)
    assert store.heads(G1) == {A1: (3, a1[-1].entry_id), A2: (2, a2[-1].entry_id)}
    assert store.heads(G2) == {A1: (4, b1[-1].entry_id)}
    assert store.count(G1) == 5
    assert store.count(G2) == 4
    assert store.last_cursor(G1) == 5
    assert store.groups() == sorted([G1, G2])
    assert [e for _, e in store.iter_group(G1)] == a1 + a2
    assert store.check_integrity() == []


def test_absent_things(store: Store) -> None:
    store.append_batch(log(G1, A1, 2))
    missing = ident("nothing")
    assert not store.has(missing)
    assert store.get(missing) is None
    assert store.get_at(G1, A1, 3) is None
    assert store.get_at(G1, A2, 1) is None
    assert store.get_at(G1, A1, 0) is None
    assert store.id_at(G1, A1, 9) is None
    assert store.heads(G2) == {}
    assert store.count(G2) == 0
    assert store.last_cursor(G2) == 0
    assert store.iter_group(G2) == []
    assert not store.body_deleted(missing)
    assert store.append_batch([]) == []


def test_heads_take_the_highest_seq_whatever_the_order(store: Store) -> None:
    e1, e2, e3 = log(G1, A1, 3)
    store.append_batch([e2, e1])
    assert store.heads(G1) == {A1: (2, e2.entry_id)}
    store.append_batch([e3])
    assert store.heads(G1) == {A1: (3, e3.entry_id)}
    assert store.check_integrity() == []


def test_heads_do_not_leak_across_adjacent_groups(store: Store) -> None:
    low, high = bytes(31) + b"\x01", bytes(31) + b"\x02"
    store.append_batch([make_entry(low, A1, 1), make_entry(high, A2, 1)])
    assert set(store.heads(low)) == {A1}
    assert set(store.heads(high)) == {A2}
    assert [e.group for _, e in store.iter_group(low)] == [low]


# --- duplicates and conflicts -------------------------------------------------------------------


def test_duplicates_are_idempotent(store: Store) -> None:
    e1, e2, e3 = log(G1, A1, 3)
    assert store.append_batch([e1, e2]) == [1, 2]
    assert store.append_batch([e2, e3, e3, e1]) == [None, 3, None, None]
    assert store.count(G1) == 3
    assert store.last_cursor(G1) == 3  # duplicates take no cursor
    assert store.check_integrity() == []


def test_slot_conflict_rolls_back_the_whole_batch(store: Store) -> None:
    first = log(G1, A1, 2)
    store.append_batch(first)
    fork = make_entry(G1, A1, 2, salt=b"fork")
    others = log(G2, A2, 3)
    before = (store.heads(G1), store.heads(G2), store.count(G1), store.count(G2), store.last_cursor(G2))
    with pytest.raises(StoreError) as err:
        store.append_batch([*others, make_entry(G1, A1, 3), fork])
    assert err.value.code == "store.slot_conflict"
    assert err.value.index == 4
    assert not any(store.has(e.entry_id) for e in [*others, fork, make_entry(G1, A1, 3)])
    assert (
        store.heads(G1),
        store.heads(G2),
        store.count(G1),
        store.count(G2),
        store.last_cursor(G2),
    ) == before
    assert store.get_at(G1, A1, 2) == first[1]
    # the cursors the failed batch would have taken are handed out again: no gap
    assert store.append_batch(others) == [1, 2, 3]
    assert store.check_integrity() == []


def test_slot_conflict_inside_one_batch(store: Store) -> None:
    e = make_entry(G1, A1, 1)
    with pytest.raises(StoreError) as err:
        store.append_batch([e, make_entry(G1, A1, 1, salt=b"other")])
    assert (err.value.code, err.value.index) == ("store.slot_conflict", 1)
    assert not store.has(e.entry_id)


def test_same_id_at_another_position_is_refused(store: Store) -> None:
    e = make_entry(G1, A1, 1)
    store.append_batch([e])
    for moved in (replace(e, seq=2), replace(e, group=G2), replace(e, author=A2)):
        with pytest.raises(StoreError) as err:
            store.append_batch([moved])
        assert (err.value.code, err.value.index) == ("store.id_conflict", 0)
    assert store.append_batch([replace(e, kind=7, raw=b"x")]) == [None]  # same position: duplicate
    assert store.get(e.entry_id) == e


@pytest.mark.parametrize(
    "change",
    [
        {"group": b"short"},
        {"author": bytes(33)},
        {"entry_id": "not bytes"},
        {"seq": 0},
        {"seq": -1},
        {"seq": 1 << 64},
        {"seq": True},
        {"kind": -1},
        {"kind": 1 << 32},
        {"raw": bytes(MAX_RAW_SIZE + 1)},
        {"raw": bytearray(b"x")},
    ],
)
def test_malformed_records_are_refused(store: Store, change: dict[str, object]) -> None:
    good = make_entry(G1, A1, 1)
    bad = replace(make_entry(G1, A2, 1), **change)  # type: ignore[arg-type]
    with pytest.raises(StoreError) as err:
        store.append_batch([good, bad])
    assert (err.value.code, err.value.index) == ("store.bad_record", 1)
    assert not store.has(good.entry_id)


def test_largest_raw_is_accepted(store: Store) -> None:
    e = make_entry(G1, A1, 1, size=MAX_RAW_SIZE)
    store.append_batch([e])
    assert store.get(e.entry_id) == e


# --- arrival cursors -----------------------------------------------------------------------------


def test_cursors_increase_per_group_and_survive_reopen(tmp_path: Path) -> None:
    path = tmp_path / "s"
    seen: dict[bytes, list[int]] = {G1: [], G2: []}
    rng = random.Random(1)
    seqs = {(g, a): 0 for g in (G1, G2) for a in (A1, A2, A3)}
    for _round in range(4):
        with Store.open(path) as s:
            for _batch in range(5):
                batch = []
                for _ in range(rng.randrange(1, 8)):
                    g, a = rng.choice(list(seqs))
                    seqs[g, a] += 1
                    batch.append(make_entry(g, a, seqs[g, a]))
                for e, cursor in zip(batch, s.append_batch(batch), strict=True):
                    assert cursor is not None
                    seen[e.group].append(cursor)
    for cursors in seen.values():
        assert cursors == list(range(1, len(cursors) + 1))
    with Store.open(path) as s:
        for g, cursors in seen.items():
            assert [c for c, _ in s.iter_group(g, 0, 10_000)] == cursors
            assert s.count(g) == s.last_cursor(g) == len(cursors)
        assert s.check_integrity() == []


def test_iter_group_pagination(store: Store) -> None:
    entries = [make_entry(G1 if i % 3 else G2, ident(f"a{i % 5}"), i // 5 + 1) for i in range(60)]
    store.append_batch(entries)
    everything = store.iter_group(G1, 0, 1000)
    assert [e for _, e in everything] == [e for e in entries if e.group == G1]
    pages, after = [], 0
    while page := store.iter_group(G1, after, 7):
        assert len(page) <= 7
        pages.extend(page)
        after = page[-1][0]
    assert pages == everything
    assert store.iter_group(G1, len(everything)) == []
    assert store.iter_group(G1, 10, 0) == []
    assert store.iter_group(G1, -5, 2) == everything[:2]
    assert store.iter_group(G1, (1 << 64) - 1) == []
    assert store.iter_group(G1, 5, 3) == everything[5:8]


# --- meta ------------------------------------------------------------------------------------------


def test_meta_roundtrip_and_persistence(tmp_path: Path) -> None:
    path = tmp_path / "s"
    with Store.open(path) as s:
        assert s.get_meta(b"settings") is None
        s.put_meta(b"settings", b"v1")
        s.put_meta(G1, b"group state")
        s.put_meta(b"settings", b"v2")
        assert s.get_meta(b"settings") == b"v2"
        assert s.delete_meta(b"gone") is False
    with Store.open(path) as s:
        assert s.get_meta(b"settings") == b"v2"
        assert s.get_meta(G1) == b"group state"
        assert s.delete_meta(G1) is True
        assert s.get_meta(G1) is None
        for key in (b"", bytes(512), "text"):
            with pytest.raises(StoreError) as err:
                s.put_meta(key, b"x")  # type: ignore[arg-type]
            assert err.value.code == "store.bad_record"


# --- deleting bodies and copies --------------------------------------------------------------------


def test_delete_bodies_is_one_transaction_all_or_nothing(tmp_path: Path) -> None:
    entries = log(G1, A1, 4, size=300)
    with Store.open(tmp_path / "s") as s:
        s.append_batch(entries)
        with pytest.raises(StoreError) as err:  # one bad tombstone: nothing is deleted
            s.delete_bodies([(entries[0].entry_id, b"t"), (entries[1].entry_id, bytes(MAX_RAW_SIZE + 1))])
        assert err.value.code == "store.bad_record"
        with pytest.raises(StoreError):
            s.delete_bodies([(b"short", b"t")])
        assert not s.body_deleted(entries[0].entry_id)
        found = s.delete_bodies([(entries[0].entry_id, b"t0"), (ident("unknown"), b"x"), (entries[2].entry_id, b"t2")])
        assert found == 2
        assert [s.body_deleted(e.entry_id) for e in entries] == [True, False, True, False]


def test_delete_body_keeps_indexes(tmp_path: Path) -> None:
    path = tmp_path / "s"
    entries = log(G1, A1, 5, size=500)
    with Store.open(path) as s:
        s.append_batch(entries)
        victim = entries[2]
        assert s.delete_body(victim.entry_id, b"tombstone") is True
        assert s.delete_body(ident("unknown"), b"t") is False
        assert s.delete_body(victim.entry_id, b"tombstone2") is True  # idempotent, replaceable
        with pytest.raises(StoreError):
            s.delete_body(victim.entry_id, bytes(MAX_RAW_SIZE + 1))
    with Store.open(path) as s:
        got = s.get(victim.entry_id)
        assert got == replace(victim, raw=b"tombstone2")
        assert s.body_deleted(victim.entry_id)
        assert not s.body_deleted(entries[1].entry_id)
        assert s.get_at(G1, A1, 3) == got
        assert [e for _, e in s.iter_group(G1)][2] == got
        assert s.heads(G1) == {A1: (5, entries[-1].entry_id)}
        assert s.check_integrity() == []


def test_compact_copy_is_a_working_store_without_deleted_bodies(tmp_path: Path) -> None:
    rng = random.Random(7)
    entries = [make_entry(G1, ident(f"a{i % 4}"), i // 4 + 1, size=1000, rng=rng) for i in range(1000)]
    victims = entries[::5]
    with Store.open(tmp_path / "s") as s:
        for i in range(0, len(entries), 100):
            s.append_batch(entries[i : i + 100])
        for v in victims:
            s.delete_body(v.entry_id, b"gone")
        s.compact_copy(tmp_path / "copy")
        with pytest.raises(StoreError):
            s.compact_copy(tmp_path / "copy")  # not empty
    copy_bytes = (tmp_path / "copy" / "data.mdb").read_bytes()
    live_bytes = (tmp_path / "s" / "data.mdb").read_bytes()
    assert len(copy_bytes) <= len(live_bytes)

    def fragments(blob: bytes) -> int:
        # 16-byte windows of the erased bodies (past the deterministic 104-byte head)
        return sum(any(v.raw[o : o + 16] in blob for o in (120, 500, 980)) for v in victims)

    assert fragments(copy_bytes) == 0
    assert fragments(b"".join(e.raw for e in entries)) == len(victims)  # the probe does find them
    with Store.open(tmp_path / "copy") as c:
        assert c.count(G1) == len(entries)
        assert c.check_integrity() == []
        assert c.get(victims[0].entry_id) == replace(victims[0], raw=b"gone")
        assert c.get(entries[1].entry_id) == entries[1]


# --- map growth ------------------------------------------------------------------------------------


def test_map_grows_instead_of_failing(tmp_path: Path) -> None:
    path = tmp_path / "s"
    rng = random.Random(3)
    entries = [
        make_entry(G1 if i % 2 else G2, ident(f"a{i % 7}"), i // 7 + 1, size=1024, rng=rng) for i in range(20_000)
    ]
    with Store.open(path, map_size=1 << 20) as s:
        for i in range(0, len(entries), 500):
            s.append_batch(entries[i : i + 500])
        assert s.map_growths > 0
        assert s.info()["map_size"] > 20 << 20
        big = make_entry(G1, A3, 1, size=MAX_RAW_SIZE)
        s.append_batch([big])
    with Store.open(path, map_size=1 << 20) as s:  # a smaller requested map is raised to the data
        assert s.get(big.entry_id) == big
        assert all(s.get(e.entry_id) == e for e in entries)
        assert s.count(G1) + s.count(G2) == len(entries) + 1
        assert s.check_integrity() == []
        s.append_batch(log(G1, A3, 50, start=2, size=4000))  # grows again after a reopen
        assert s.check_integrity() == []


def test_an_exclusive_store_grows_reopens_and_keeps_one_file(tmp_path: Path) -> None:
    """A simulated node's store: no lock file, a writable map (one descriptor), the same contents."""
    path = tmp_path / "s"
    rng = random.Random(4)
    entries = [make_entry(G1, ident(f"a{i % 5}"), i // 5 + 1, size=1024, rng=rng) for i in range(3_000)]
    with Store.open(path, map_size=1 << 20, durable=False, exclusive=True) as s:
        for i in range(0, len(entries), 100):
            s.append_batch(entries[i : i + 100])
        assert s.map_growths > 0
        assert [p.name for p in path.iterdir()] == ["data.mdb"]
    with Store.open(path, map_size=1 << 20, durable=False, exclusive=True) as s:
        assert all(s.get(e.entry_id) == e for e in entries)
        assert s.check_integrity() == []
    with Store.open(path) as s:  # and a node opens it as any other store
        assert s.count(G1) == len(entries)
    with pytest.raises(ValueError, match="durable=False"):
        Store.open(tmp_path / "t", durable=True, exclusive=True)


def test_map_growth_with_concurrent_readers(tmp_path: Path) -> None:
    errors: list[BaseException] = []
    stop = threading.Event()
    with Store.open(tmp_path / "s", map_size=1 << 20) as s:
        first = log(G1, A1, 10)
        s.append_batch(first)

        def reader() -> None:
            try:
                while not stop.is_set():
                    for e in first:
                        assert s.get(e.entry_id) == e
                    s.iter_group(G1, 0, 20)
                    s.heads(G1)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=reader) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            for i in range(40):
                s.append_batch(log(G2, A1, 50, start=1 + 50 * i, size=2048))
        finally:
            stop.set()
            for t in threads:
                t.join()
        assert s.map_growths >= 3
        assert errors == []
        assert s.check_integrity() == []


def test_rollbacks_with_concurrent_readers_do_not_stall(tmp_path: Path) -> None:
    """Aborting a write transaction must not wait forever for readers that never pause."""
    errors: list[BaseException] = []
    stop = threading.Event()
    s = Store.open(tmp_path / "s")
    first = log(G1, A1, 10)
    s.append_batch(first)

    def reader() -> None:
        while not stop.is_set():
            for e in first:
                s.get(e.entry_id)

    def writer() -> None:
        try:
            for i in range(30):
                with pytest.raises(StoreError):
                    s.append_batch([make_entry(G2, A2, i + 1), make_entry(G1, A1, 1, salt=b"fork")])
                s.append_batch([make_entry(G2, A2, i + 1)])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    readers = [threading.Thread(target=reader, daemon=True) for _ in range(4)]
    for t in readers:
        t.start()
    w = threading.Thread(target=writer, daemon=True)
    w.start()
    w.join(timeout=60)
    stopped = not w.is_alive()
    stop.set()
    for t in readers:
        t.join()
    assert stopped, "the writer is stuck"
    assert errors == []
    assert s.count(G2) == 30
    assert s.check_integrity() == []
    s.close()


# --- the integrity checker itself ------------------------------------------------------------------


@pytest.mark.parametrize("db", [b"heads", b"arrival", b"ids", b"groups", b"controls"])
def test_check_integrity_notices_damage(tmp_path: Path, db: bytes) -> None:
    path = tmp_path / "s"
    with Store.open(path) as s:
        s.append_batch(log(G1, A1, 3) + log(G1, A2, 2))
        assert s.check_integrity() == []
    env = lmdb.open(str(path), max_dbs=16, lib_version=0)
    with env.begin(write=True) as txn:
        handle = env.open_db(db, txn=txn, create=False)
        cur = txn.cursor(db=handle)
        assert cur.last()
        cur.delete()
    env.close()
    with Store.open(path) as s:
        assert s.check_integrity() != []


def test_controls_are_the_groups_control_entries_in_arrival_order(store: Store) -> None:
    # Start-up reads a group's control entries without copying its messages (Store.controls); the
    # in-memory reader answers the same.
    mixed = [make_entry(G1, A1, seq, kind=kinds.MESSAGE if seq % 3 else seq % 15) for seq in range(1, 31)]
    store.append_batch([*mixed, *log(G2, A2, 3)])
    expected = [e for e in mixed if kinds.is_control(e.kind)]
    assert expected and len(expected) < len(mixed)
    assert store.controls(G1) == expected
    assert store.controls(ident("no-such-group")) == []
    memory = MemoryReader()
    memory.append([*mixed, *log(G2, A2, 3)])
    assert memory.controls(G1) == expected


def test_the_control_index_keeps_a_joins_proof_verdict_and_nothing_else(tmp_path: Path) -> None:
    # The control index (format 3) is what start-up reads: control entries only, each with its join
    # proof verdict, kept by every write (and dropped with its group) in the write's transaction.
    joins = [replace(make_entry(G1, A1, seq, kind=kinds.JOIN), proof=proof) for seq, proof in ((1, True), (2, False))]
    later = [make_entry(G1, A1, 3, kind=kinds.MESSAGE), replace(make_entry(G1, A1, 4, kind=kinds.JOIN), proof=None)]
    path = tmp_path / "s"
    with Store.open(path) as s:
        s.append_batch([*joins, *log(G2, A2, 2)])
        s.append_batch(later)
        assert [(e.seq, e.proof) for e in s.controls(G1)] == [(1, True), (2, False), (4, None)]
        assert s.controls(G1) == [*joins, later[1]] and s.check_integrity() == []
        with pytest.raises(StoreError) as err:  # a verdict only for a join
            s.append_batch([replace(make_entry(G1, A1, 5, kind=kinds.INVITE), proof=True)])
        assert err.value.code == "store.bad_record"
        assert s.drop_group(G1) == 4
        assert s.controls(G1) == [] and s.check_integrity() == [] and len(s.controls(G2)) == 2
    env = lmdb.open(str(path), max_dbs=16, lib_version=0)
    with env.begin(write=True) as txn:  # a control row that names a message's body
        controls = env.open_db(b"controls", txn=txn, create=False)
        txn.put(G2 + (9).to_bytes(8, "big"), (1).to_bytes(8, "big") + b"\x00", db=controls)
    env.close()
    with Store.open(path) as s:
        assert any("control index" in p for p in s.check_integrity())
