"""Store migrations: a node directory written by store format 1 (``fixtures/v1-node``, built by the code
of that format) is migrated to today's format with every entry, cursor and head kept, atomically, and
only by whoever asks to migrate."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import lmdb
import pytest

from holdspace.node import store_migrations
from holdspace.node.operations import _entry_digest, _summary
from holdspace.node.store import FORMAT_VERSION, Store, StoreError
from holdspace.protocol import kinds

FIXTURE = Path(__file__).parent / "fixtures" / "v1-node"


def v1_store(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURE / "store", tmp_path / "store")
    return tmp_path / "store"


def format_of(path: Path) -> int:
    env = lmdb.open(str(path), max_dbs=16, lib_version=0, readonly=True, lock=False)
    try:
        with env.begin() as txn:
            raw = txn.get(b"format", db=env.open_db(b"sys", txn=txn, create=False))
            return int.from_bytes(raw, "big")
    finally:
        env.close()


def test_format_1_is_migrated_with_every_entry_kept(tmp_path: Path) -> None:
    expected = json.loads((FIXTURE / "expected.json").read_text())
    assert expected["format"] == 1 < FORMAT_VERSION
    path = v1_store(tmp_path)
    with Store.open(path, migrate=True) as store:
        assert store.migrated_from == 1
        assert {**_summary(store), "digest": _entry_digest(store)} == {
            k: expected[k] for k in ("entries", "groups", "digest")
        }
        assert store.check_integrity() == []  # includes each group's byte size against its records
        sizes = {g: sum(len(r.raw) for _, r in store.iter_group(g, 0, 10_000)) for g in store.groups()}
        for group in store.groups():  # the byte counters: each group's record and the node's total
            assert store.usage(group) == (sizes[group], sum(sizes.values())) and sizes[group] > 0
        for group in store.groups():  # format 3's control index: the control entries, no verdict recorded
            controls = [r for _, r in store.iter_group(group, 0, 10_000) if kinds.is_control(r.kind)]
            assert store.controls(group) == controls and controls
            assert all(r.proof is None for r in store.controls(group))
    assert format_of(path) == FORMAT_VERSION
    with Store.open(path) as store:  # migrated once: a plain open now
        assert store.migrated_from is None


def test_an_older_format_is_refused_unless_migration_is_asked(tmp_path: Path) -> None:
    path = v1_store(tmp_path)
    with pytest.raises(StoreError) as err:
        Store.open(path)
    assert err.value.code == "store.needs_migration"
    assert "format version 1" in err.value.message
    assert format_of(path) == 1  # untouched


def test_a_migration_that_fails_midway_leaves_the_old_format(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = v1_store(tmp_path)
    real = store_migrations.MIGRATIONS[1]

    def fails_after_writing(txn: lmdb.Transaction, dbs: dict[bytes, object]) -> None:
        real(txn, dbs)  # every groups value rewritten in the transaction...
        raise OSError("disk gone")  # ...then the process meets a failure before the commit

    monkeypatch.setitem(store_migrations.MIGRATIONS, 1, fails_after_writing)
    with pytest.raises(OSError, match="disk gone"):
        Store.open(path, migrate=True)
    assert format_of(path) == 1
    monkeypatch.setitem(store_migrations.MIGRATIONS, 1, real)
    with Store.open(path, migrate=True) as store:  # the next start migrates it from the start
        assert store.migrated_from == 1
        assert store.check_integrity() == []


def test_a_newer_or_unknown_format_is_refused_with_one_sentence(tmp_path: Path) -> None:
    path = tmp_path / "s"
    Store.open(path).close()
    env = lmdb.open(str(path), max_dbs=16, lib_version=0)
    with env.begin(write=True) as txn:
        txn.put(b"format", (FORMAT_VERSION + 7).to_bytes(4, "big"), db=env.open_db(b"sys", txn=txn))
    env.close()
    for migrate in (False, True):
        with pytest.raises(StoreError) as err:
            Store.open(path, migrate=migrate)
        assert err.value.code == "store.bad_version"
        assert "newer than this version" in err.value.message and "\n" not in err.value.message


def test_a_failure_in_the_last_step_leaves_the_first_format(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 1 -> 2 -> 3 in one transaction: the control index written, then a failure, and nothing of
    # either step (nor the new database) is left
    path = v1_store(tmp_path)
    real = store_migrations.MIGRATIONS[2]

    def fails_after_writing(txn: lmdb.Transaction, dbs: dict[bytes, object]) -> None:
        real(txn, dbs)
        raise OSError("disk gone")

    monkeypatch.setitem(store_migrations.MIGRATIONS, 2, fails_after_writing)
    with pytest.raises(OSError, match="disk gone"):
        Store.open(path, migrate=True)
    assert format_of(path) == 1
    env = lmdb.open(str(path), max_dbs=16, lib_version=0, readonly=True, lock=False)
    with env.begin() as txn:
        assert b"controls" not in {bytes(k) for k in txn.cursor().iternext(values=False)}
    env.close()
    monkeypatch.setitem(store_migrations.MIGRATIONS, 2, real)
    with Store.open(path, migrate=True) as store:
        assert store.migrated_from == 1 and store.check_integrity() == []
