"""The device store: a small sealed key file of secrets beside a history of records sealed one by one.

``fixtures/v1-ana.keys`` was written by ``Participant.save`` as it was before the history was kept
apart (version 1: every message, the control log and the outbox inside the one sealed file): Ana, a
member of Fay's group "circle" (named "thursday" by Ana), who read five messages (one her own) and
then wrote one while offline. Passphrase: ``pass ana``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import lmdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import holdspace.clients.participant as participant_module
from holdspace.clients.history import HISTORY_DIR, MIN_BUDGET, open_history
from holdspace.clients.message_log import StoredLog
from holdspace.clients.participant import KEYFILE, ClientError, GroupRecord, Message, Participant
from holdspace.protocol import codec, e2ee, kinds
from holdspace.protocol.content import Pin, Text, decode_content, encode_content
from holdspace.protocol.errors import HoldspaceError
from holdspace.protocol.identity import Pseudonym
from holdspace.protocol.keyfile import open_secret

FIXTURE = Path(__file__).parent / "fixtures" / "v1-ana.keys"
V1_TEXTS = ["welcome", "thank you", "message 0", "message 1", "message 2"]


def v1_home(tmp_path: Path) -> Path:
    home = tmp_path / "ana"
    home.mkdir()
    shutil.copy(FIXTURE, home / KEYFILE)
    return home


def reopen(me: Participant) -> Participant:
    """Close the history (as the process ending would) and load the home again."""
    assert me.history is not None
    me.history.close()
    return Participant.load(me.home, me.passphrase)


def keyfile_fields(home: Path, passphrase: str) -> dict[str, codec.CborValue]:
    data = codec.decode(open_secret(passphrase, (home / KEYFILE).read_bytes()), max_size=1 << 24)
    assert isinstance(data, dict)
    return data


def a_group(me: Participant, name: str = "g") -> GroupRecord:
    gid, ctx = os.urandom(32), os.urandom(32)
    record = GroupRecord(gid, ctx, name)
    record.keys = e2ee.GroupKeys(gid, Pseudonym.derive(me.master, ctx))
    me.groups[gid] = me._attach(record)
    return record


def a_message(i: int, body: str, *, content: object = None, expires_ms: int | None = None) -> Message:
    m = Message(1000 + i, bytes([i % 256]) * 32, i + 1, 1_700_000_000_000 + i, None, None, os.urandom(32))
    m.plaintext = encode_content(content if content is not None else Text(body))  # type: ignore[arg-type]
    m.key, m.expires_ms = os.urandom(32), expires_ms
    m.text = body if content is None else None
    return m


# -- migration --------------------------------------------------------------------------------


def test_a_version_1_key_file_opens_and_is_migrated_in_place(tmp_path: Path) -> None:
    home = v1_home(tmp_path)
    assert keyfile_fields(home, "pass ana")["v"] == 1

    me = Participant.load(home, "pass ana")
    (record,) = me.groups.values()
    assert record.name == "thursday"
    assert [m.text for m in record.messages] == V1_TEXTS
    assert all((m.author, m.seq) in record.seen for m in record.messages)
    assert [decode_content(i.content) for i in me.outbox] == [Text("written offline")]
    assert record.genesis is not None and len(record.controls) == 4
    me.compute_states()
    assert record.state is not None and me.pseudonym(record).public_key in record.state.members

    fields = keyfile_fields(home, "pass ana")  # now version 2: secrets and positions only
    assert fields["v"] == 2 and "outbox" not in fields
    groups = fields["groups"]
    assert isinstance(groups, dict)
    assert all("messages" not in g and "log" not in g for g in groups.values())  # type: ignore[operator]
    assert (home / HISTORY_DIR / "data.mdb").exists()

    again = reopen(me)  # and it opens as version 2, with everything
    (record,) = again.groups.values()
    assert [m.text for m in record.messages] == V1_TEXTS
    assert len(again.outbox) == 1 and len(record.controls) == 4 and record.cursor > 0
    again.compute_states()
    assert record.state is not None


def test_a_version_1_key_file_larger_than_a_key_file_may_be_still_opens(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Files that grew past the limit (the reported failure: 18 MB against 16 MiB) are migrated."""
    home = v1_home(tmp_path)
    monkeypatch.setattr(participant_module, "MAX_KEYFILE", FIXTURE.stat().st_size - 1)
    me = Participant.load(home, "pass ana")
    assert [m.text for m in next(iter(me.groups.values())).messages] == V1_TEXTS


# -- the key file stays small, and is never written too large -------------------------------------


def test_the_key_file_does_not_grow_with_messages(tmp_path: Path) -> None:
    me = Participant.create(tmp_path / "p", "pass p", None)
    record = a_group(me)
    me.save()
    before = (me.home / KEYFILE).stat().st_size
    record.messages.extend(a_message(i, "x" * 2000) for i in range(1000))
    me.save()
    assert (me.home / KEYFILE).stat().st_size < before + 200  # 2 MB of words, none of it in the key file
    assert len(reopen(me).groups[record.group_id].messages) == 1000


def test_a_key_file_loading_would_refuse_is_never_written(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    me = Participant.create(tmp_path / "p", "pass p", None)
    a_group(me)
    written = (me.home / KEYFILE).read_bytes()
    monkeypatch.setattr(participant_module, "MAX_KEYFILE", len(written) + 10)
    for _ in range(3):
        a_group(me)
    with pytest.raises(ClientError) as err:
        me.save()
    assert err.value.code == "client.keyfile_full"
    assert (me.home / KEYFILE).read_bytes() == written  # the file on disk is as it was, and opens
    monkeypatch.undo()
    assert len(reopen(me).groups) == 0


# -- damage costs the damaged record only ---------------------------------------------------------


def _poke(home: Path, db: bytes, change) -> int:  # type: ignore[no-untyped-def]
    """Rewrite every value of ``db`` for which ``change(index, value)`` gives bytes; returns how many."""
    env = lmdb.open(str(home / HISTORY_DIR), max_dbs=16, subdir=True)
    done = 0
    with env.begin(write=True) as txn:
        handle = env.open_db(db, txn=txn)
        items = [(bytes(k), bytes(v)) for k, v in txn.cursor(db=handle)]
        for i, (k, v) in enumerate(items):
            new = change(i, v)
            if new is not None:
                txn.put(k, new, db=handle)
                done += 1
    env.close()
    return done


def test_damaged_and_truncated_records_cost_those_records_only(tmp_path: Path) -> None:
    me = Participant.load(v1_home(tmp_path), "pass ana")
    (record,) = me.groups.values()
    record.messages.extend(a_message(i, f"later {i}") for i in range(20))
    me.save()
    home = me.home
    assert me.history is not None
    me.history.close()

    def flip(v: bytes) -> bytes:
        return v[:30] + bytes([v[30] ^ 1]) + v[31:]

    # message places 1 and 3: a flipped byte and a truncation; words of place 6: garbage;
    # a control record: a flipped byte; the outbox item: truncated to less than a nonce
    assert _poke(home, b"msg", lambda i, v: flip(v) if i == 1 else v[: len(v) // 2] if i == 3 else None) == 2
    assert _poke(home, b"words", lambda i, v: os.urandom(len(v)) if i == 6 else None) == 1
    assert _poke(home, b"ctl", lambda i, v: flip(v) if i == 2 else None) == 1
    assert _poke(home, b"out", lambda i, v: v[:10]) == 1

    again = Participant.load(home, "pass ana")  # the identity opens
    assert again.master == me.master
    record = again.groups[record.group_id]
    messages = list(record.messages)
    assert len(messages) == 25
    damaged = [i for i, m in enumerate(messages) if m.problem == "history.damaged"]
    assert damaged == [1, 3, 6]
    assert [m.text for i, m in enumerate(messages) if i not in damaged] == [
        t for i, t in enumerate(V1_TEXTS + [f"later {i}" for i in range(20)]) if i not in damaged
    ]
    assert again.outbox == []
    # a damaged control log is fetched again whole at the next sync, never used in part
    assert record.cursor == 0 and record.controls == [] and record.genesis is None
    assert again.storage()["damaged"] == 5
    again.save()  # and saving after damage works (the control records are replaced when fetched)
    assert reopen(again).groups[record.group_id].cursor == 0


def test_a_record_moved_under_another_key_does_not_open(tmp_path: Path) -> None:
    me = Participant.create(tmp_path / "p", "pass p", None)
    record = a_group(me)
    record.messages.extend([a_message(0, "first"), a_message(1, "second")])
    me.save()
    home = me.home
    assert me.history is not None
    me.history.close()
    first: list[bytes] = []
    _poke(home, b"msg", lambda i, v: first.append(v) if i == 0 else None)
    _poke(home, b"msg", lambda i, v: first[0] if i == 1 else None)  # place 0's record copied into place 1
    again = Participant.load(home, "pass p")
    assert [(m.text, m.problem) for m in again.groups[record.group_id].messages] == [
        ("first", None),
        (None, "history.damaged"),
    ]


# -- the storage budget -------------------------------------------------------------------------------


def test_the_budget_prunes_the_oldest_words_and_says_so(tmp_path: Path) -> None:
    me = Participant.create(tmp_path / "p", "pass p", None)
    record = a_group(me)
    other = a_group(me, "other")
    record.messages.append(a_message(0, "", content=Pin("call 116 123")))  # the oldest: crisis resources
    record.messages.extend(a_message(i, f"{i:04d}" + "x" * 3000) for i in range(1, 500))
    other.messages.extend(a_message(i, "y" * 3000) for i in range(200))
    me.save()
    assert me.storage()["used"] > 2 * MIN_BUDGET and me.pruned_total() == 0

    pruned = me.set_budget(MIN_BUDGET)
    usage = me.storage()
    assert pruned > 0 and usage["used"] <= MIN_BUDGET and usage["pruned"] == pruned
    messages = list(record.messages)
    assert len(messages) == 500  # every message keeps its place
    assert decode_content(messages[0].plaintext or b"") == Pin("call 116 123")  # never pruned
    gone = [i for i, m in enumerate(messages) if m.deleted == "pruned"]
    assert gone == list(range(1, len(gone) + 1))  # oldest first
    assert all(m.text and m.text.startswith(f"{i:04d}") for i, m in enumerate(messages) if i > len(gone))
    assert me.pruned(record) == len(gone) and me.pruned(other) == 0  # group 1 was written first: its words go first
    assert reopen(me).storage()["pruned"] == pruned  # said, and remembered


def test_set_budget_refuses_a_budget_too_small_or_beyond_the_map(tmp_path: Path) -> None:
    me = Participant.create(tmp_path / "p", "pass p", None)
    for wrong in (1000, 2**50):
        with pytest.raises(HoldspaceError) as err:
            me.set_budget(wrong)
        assert err.value.code == "client.bad_argument"


# -- costs that do not grow with the history --------------------------------------------------------


def test_reading_a_new_message_opens_no_older_record(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Appending a message and deciding whether it must go touches the new record only (and the
    noted deadlines that have come), not the thousands before it."""
    me = Participant.create(tmp_path / "p", "pass p", None)
    record = a_group(me)
    old = [a_message(i, "old", expires_ms=10**15 if i % 2 else None) for i in range(2000)]
    record.messages.extend(old)
    me.prune(record)  # once: every message looked at, deadlines noted
    opened: list[int] = []
    real = StoredLog._load_many

    def counting(self, items, *, words=True):  # type: ignore[no-untyped-def]
        opened.extend(index for index, _ in items)
        return real(self, items, words=words)

    monkeypatch.setattr(StoredLog, "_load_many", counting)
    new = a_message(2000, "new")
    record.messages.append(new)
    me.prune(record, [new])
    me.save()
    assert opened == []
    assert [m.text for m in record.messages.page(limit=2)] == ["old", "new"]
    assert opened == [1999, 2000]


def test_a_deadline_noted_is_kept_when_it_comes(tmp_path: Path) -> None:
    me = Participant.create(tmp_path / "p", "pass p", None)
    now = [1_000]
    me.clock = lambda: now[0]  # type: ignore[method-assign]
    record = a_group(me)
    brief, lasting = a_message(0, "brief", expires_ms=5_000), a_message(1, "lasting")
    record.messages.extend([brief, lasting])
    me.prune(record, [brief, lasting])
    assert [m.text for m in record.messages] == ["brief", "lasting"]
    now[0] = 5_000
    me.prune(record, [])
    assert [(m.text, m.deleted) for m in record.messages] == [(None, "expired"), ("lasting", None)]
    assert record.messages[0].plaintext is None and record.messages[0].key is None


# -- records round-trip -----------------------------------------------------------------------------


def _message(fields: tuple, words: tuple[bytes, bytes] | None) -> Message:  # type: ignore[type-arg]
    m = Message(*fields)
    if words is not None:
        m.plaintext, m.key = words
        m.text = decode_content(words[0]).body  # type: ignore[union-attr]
    return m


messages_st = st.builds(
    _message,
    st.tuples(
        st.integers(0, 2**63),  # cursor
        st.binary(min_size=32, max_size=32),  # author
        st.integers(1, 2**63),  # seq
        st.integers(0, 2**63),  # timestamp
        st.none(),  # text: read from the words
        st.one_of(st.none(), st.sampled_from(["crypto.decrypt_failed", "e2ee.no_epoch"])),
        st.binary(min_size=32, max_size=32),  # entry id
        st.sampled_from([kinds.MESSAGE, kinds.DIRECT, kinds.SESSION]),
        st.none(),  # plaintext, key: below
        st.none(),
        st.one_of(st.none(), st.integers(0, 2**63)),  # expires
        st.one_of(st.none(), st.sampled_from(["redacted", "erased", "expired", "pruned"])),
    ),
    st.one_of(
        st.none(),
        st.tuples(st.text(max_size=200).map(lambda t: encode_content(Text(t))), st.binary(min_size=32, max_size=32)),
    ),
)


@settings(max_examples=40, deadline=None)
@given(batch=st.lists(messages_st, max_size=12))
def test_messages_read_back_as_written(batch: list[Message]) -> None:
    where = Path(tempfile.mkdtemp())
    store = open_history(where)
    store.unlock(os.urandom(32))
    try:
        log = StoredLog(store, os.urandom(32))
        log.extend(batch)
        assert list(log) == batch
        assert log[-1:] == batch[-1:] and len(log) == len(batch)
        assert [m.index for m in log] == list(range(len(batch)))
    finally:
        store.close()
        shutil.rmtree(where)


def test_a_key_file_of_an_unknown_version_gets_a_typed_error(tmp_path: Path) -> None:
    from holdspace.protocol.keyfile import seal_secret

    home = tmp_path / "p"
    home.mkdir()
    (home / KEYFILE).write_bytes(seal_secret("pass p", codec.encode({"v": 3, "master": b"\x01" * 32, "node": None})))
    with pytest.raises(HoldspaceError) as err:
        Participant.load(home, "pass p")
    assert err.value.code == "keyfile.malformed"


def test_the_group_views_scan_only_what_is_not_text(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Pins, reactions and the like are found without opening the thousands of texts around them."""
    from holdspace.clients.support import reactions
    from holdspace.protocol.content import Reaction

    me = Participant.create(tmp_path / "p", "pass p", None)
    record = a_group(me)
    texts = [a_message(i, f"text {i}") for i in range(1000)]
    record.messages.extend(texts[:500])
    record.messages.append(a_message(500, "", content=Pin("call 116 123")))
    record.messages.extend(texts[500:])
    record.messages.append(a_message(1001, "", content=Reaction(texts[3].entry_id, "heart", False)))
    opened: list[int] = []
    real = StoredLog._load_many

    def counting(self, items, *, words=True):  # type: ignore[no-untyped-def]
        opened.extend(index for index, _ in items)
        return real(self, items, words=words)

    monkeypatch.setattr(StoredLog, "_load_many", counting)
    assert [type(m.content).__name__ for m in record.messages.extras()] == ["Pin", "Reaction"]
    assert opened == [500, 1001]
    assert reactions(record) == {texts[3].entry_id: {"heart": 1}}
    assert [m.text for m in record.messages.find(texts[7].entry_id.hex()[:10])] == ["text 7"]
