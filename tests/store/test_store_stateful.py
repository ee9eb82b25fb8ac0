"""The store against a dict model, across appends, conflicts, body deletions, meta, reopens and reads."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from holdspace.node.store import Store, StoredEntry, StoreError
from holdspace.protocol import kinds

from ._helpers import ident, make_entry

GROUPS = [ident(f"g{i}") for i in range(2)]
AUTHORS = [ident(f"a{i}") for i in range(3)]
LOGS = [(g, a) for g in GROUPS for a in AUTHORS]

# One batch item: ("new", log index) | ("dup", pick) | ("fork", pick) | ("moved", pick)
item = st.one_of(
    st.tuples(st.just("new"), st.integers(0, len(LOGS) - 1)),
    st.tuples(st.sampled_from(["dup", "fork", "moved"]), st.integers(0, 10_000)),
)


class StoreModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="holdspace-store-"))
        # A tiny map so that growth happens inside the runs too.
        self.store = Store.open(self.dir / "s", map_size=64 << 10)
        self.entries: dict[bytes, StoredEntry] = {}  # id -> entry as stored (raw may be a tombstone)
        self.slots: dict[tuple[bytes, bytes, int], bytes] = {}
        self.arrival: dict[bytes, list[bytes]] = {g: [] for g in GROUPS}  # group -> ids by cursor - 1
        self.deleted: set[bytes] = set()
        self.meta: dict[bytes, bytes] = {}
        self.salt = 0

    def teardown(self) -> None:
        self.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _next_seq(self, group: bytes, author: bytes, pending: list[StoredEntry]) -> int:
        stored = max((s for (g, a, s) in self.slots if (g, a) == (group, author)), default=0)
        queued = max((e.seq for e in pending if (e.group, e.author) == (group, author)), default=0)
        return max(stored, queued) + 1

    @rule(items=st.lists(item, min_size=1, max_size=6), size=st.sampled_from([10, 300, 3000]))
    def append(self, items: list[tuple[str, int]], size: int) -> None:
        batch: list[StoredEntry] = []
        known = sorted(self.entries)
        for what, pick in items:
            if what == "new":
                g, a = LOGS[pick]
                self.salt += 1
                kind = kinds.MESSAGE if self.salt % 3 else kinds.INVITE  # the control index holds a third
                seq = self._next_seq(g, a, batch)
                batch.append(make_entry(g, a, seq, size=size, salt=b"%d" % self.salt, kind=kind))
            elif known or batch:
                pool = [self.entries[i] for i in known] + batch
                base = pool[pick % len(pool)]
                if what == "dup":
                    batch.append(base if base.entry_id not in self.deleted else replace(base, raw=b"resent"))
                elif what == "fork":
                    self.salt += 1
                    batch.append(make_entry(base.group, base.author, base.seq, salt=b"fork%d" % self.salt))
                else:  # same id at another seq
                    batch.append(replace(base, seq=base.seq + 1_000_000))
        if not batch:
            return
        expected = self._expect(batch)
        if isinstance(expected, tuple):
            code, index = expected
            try:
                self.store.append_batch(batch)
            except StoreError as err:
                assert (err.code, err.index) == (code, index)
            else:  # pragma: no cover
                raise AssertionError(f"expected {code} at {index}")
        else:
            assert self.store.append_batch(batch) == expected
            self._apply(batch)

    def _expect(self, batch: list[StoredEntry]) -> list[int | None] | tuple[str, int]:
        ids = {i: (e.group, e.author, e.seq) for i, e in self.entries.items()}
        slots = dict(self.slots)
        counts = {g: len(v) for g, v in self.arrival.items()}
        out: list[int | None] = []
        for index, e in enumerate(batch):
            position = (e.group, e.author, e.seq)
            if e.entry_id in ids:
                if ids[e.entry_id] != position:
                    return ("store.id_conflict", index)
                out.append(None)
                continue
            if position in slots:
                return ("store.slot_conflict", index)
            ids[e.entry_id] = position
            slots[position] = e.entry_id
            counts[e.group] += 1
            out.append(counts[e.group])
        return out

    def _apply(self, batch: list[StoredEntry]) -> None:
        for e in batch:
            if e.entry_id not in self.entries:
                self.entries[e.entry_id] = e
                self.slots[e.group, e.author, e.seq] = e.entry_id
                self.arrival[e.group].append(e.entry_id)

    @precondition(lambda self: bool(self.entries))
    @rule(pick=st.integers(0, 10_000), tombstone=st.binary(max_size=40))
    def delete_body(self, pick: int, tombstone: bytes) -> None:
        entry_id = sorted(self.entries)[pick % len(self.entries)]
        assert self.store.delete_body(entry_id, tombstone)
        self.entries[entry_id] = replace(self.entries[entry_id], raw=tombstone)
        self.deleted.add(entry_id)

    @rule(key=st.sampled_from([b"settings", GROUPS[0], b"x" * 511]), value=st.binary(max_size=64) | st.none())
    def meta_op(self, key: bytes, value: bytes | None) -> None:
        if value is None:
            assert self.store.delete_meta(key) == (key in self.meta)
            self.meta.pop(key, None)
        else:
            self.store.put_meta(key, value)
            self.meta[key] = value

    @rule(group=st.sampled_from(GROUPS))
    def drop_group(self, group: bytes) -> None:
        assert self.store.drop_group(group) == len(self.arrival[group])
        for entry_id in self.arrival[group]:
            e = self.entries.pop(entry_id)
            del self.slots[e.group, e.author, e.seq]
            self.deleted.discard(entry_id)
        self.arrival[group] = []

    @rule()
    def reopen(self) -> None:
        self.store.close()
        self.store = Store.open(self.dir / "s", map_size=64 << 10)

    @rule(group=st.sampled_from(GROUPS), after=st.integers(0, 40), limit=st.integers(1, 50))
    def page(self, group: bytes, after: int, limit: int) -> None:
        got = self.store.iter_group(group, after, limit)
        ids = self.arrival[group][after : after + limit]
        assert got == [(after + 1 + i, self.entries[x]) for i, x in enumerate(ids)]

    @invariant()
    def reads_match(self) -> None:
        s = self.store
        assert s.groups() == sorted(g for g, ids in self.arrival.items() if ids)
        for g, ids in self.arrival.items():
            assert s.count(g) == s.last_cursor(g) == len(ids)
            assert [e.entry_id for _, e in s.iter_group(g, 0, 10_000)] == ids
            heads: dict[bytes, tuple[int, bytes]] = {}
            for (gg, a, seq), entry_id in self.slots.items():
                if gg == g and seq > heads.get(a, (0, b""))[0]:
                    heads[a] = (seq, entry_id)
            assert s.heads(g) == heads
            assert s.controls(g) == [self.entries[x] for x in ids if kinds.is_control(self.entries[x].kind)]
        assert s.controls_of(GROUPS) == [s.controls(g) for g in GROUPS]
        for entry_id, e in self.entries.items():
            assert s.get(entry_id) == e
            assert s.get_at(e.group, e.author, e.seq) == e
            assert s.body_deleted(entry_id) == (entry_id in self.deleted)
        for key in (b"settings", GROUPS[0], b"x" * 511):
            assert s.get_meta(key) == self.meta.get(key)
        # the byte counters (each group's record, the node's total) equal the bytes stored
        sizes = {g: sum(len(self.entries[x].raw) for x in ids) for g, ids in self.arrival.items()}
        for g in GROUPS:
            assert s.usage(g) == (sizes[g], sum(sizes.values()))

    @invariant()
    def consistent(self) -> None:
        assert self.store.check_integrity() == []


StoreModel.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestStoreModel = StoreModel.TestCase
