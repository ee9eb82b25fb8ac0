"""The store's byte counters (what storage budgets are checked against) and the deletion of a group."""

from __future__ import annotations

from pathlib import Path

import lmdb

from holdspace.node.store import Store

from ._helpers import ident, make_entry

G1, G2, A = ident("g1"), ident("g2"), ident("a")


def test_counters_follow_appends_and_deletions_and_keep_nothing_in_meta(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s") as s:
        first = make_entry(G1, A, 1, size=100)
        s.append_batch([first, make_entry(G1, A, 2, size=300), make_entry(G2, A, 1, size=80)])
        assert s.usage(G1) == (400, 480) and s.usage(G2) == (80, 480)
        assert s.delete_body(first.entry_id, b"t" * 10)  # a deleted entry counts its tombstone
        assert s.usage(G1) == (310, 390)
        assert s.meta_items(b"") == []  # the counters are the store's own, not node metadata
    with Store.open(tmp_path / "s") as s:
        assert s.usage(G1) == (310, 390) and s.check_integrity() == []


def test_dropping_a_group_deletes_its_entries_indexes_counter_and_keys(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s") as s:
        s.append_batch([make_entry(G1, A, i, size=100) for i in range(1, 4)] + [make_entry(G2, A, 1, size=90)])
        s.put_meta(b"fork:" + G1 + A, b"proof")
        s.put_meta(b"fedcur:" + ident("peer") + G1, b"cursor")
        s.put_meta(b"fedcur:" + ident("peer") + G2, b"kept")
        assert s.drop_group(G1, [b"fork:", b"fedcur:"]) == 3
        assert s.groups() == [G2]
        assert s.heads(G1) == {} and s.count(G1) == 0 and s.iter_group(G1) == []
        assert s.usage(G1) == (0, 90)
        assert s.meta_items(b"fork:") == []
        assert s.meta_items(b"fedcur:") == [(b"fedcur:" + ident("peer") + G2, b"kept")]
        assert s.check_integrity() == []
        assert s.info()["entries"] == 1


def test_a_node_total_apart_from_its_groups_is_reported_by_the_check(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s") as s:
        s.append_batch([make_entry(G1, A, 1, size=100)])
    env = lmdb.open(str(tmp_path / "s"), max_dbs=16, lib_version=0)
    with env.begin(write=True) as txn:
        txn.put(b"bytes", (7).to_bytes(8, "big"), db=env.open_db(b"sys", txn=txn))
    env.close()
    with Store.open(tmp_path / "s") as s:
        assert s.usage(G1) == (100, 7)
        assert s.check_integrity() == ["the node's byte total is 7 but its records hold 100"]
