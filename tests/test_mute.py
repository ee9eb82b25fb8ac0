"""Mutes (spec 12.3, 12.5, 12.6) and a removal's note and reason (12.3): codecs, rules and vectors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from holdspace.protocol import author, codec, crypto, e2ee, kinds
from holdspace.protocol.entry import decode_entry
from holdspace.protocol.errors import HoldspaceError
from holdspace.protocol.group import GroupState, MuteState, compute_state, silenced
from holdspace.protocol.identity import Pseudonym
from holdspace.protocol.payloads import MAX_START, MODERATOR, Mute, Remove, decode_payload
from holdspace.protocol.removal import open_removal_words, seal_removal_words
from tests.group_world import World

VECTORS = Path(__file__).resolve().parents[1] / "spec" / "vectors" / "support.json"
keys = st.binary(min_size=32, max_size=32)
X25519 = crypto.x25519_public_key(bytes(range(32)))
deps = st.lists(keys, min_size=1, max_size=4, unique=True).map(lambda d: tuple(sorted(d)))


@settings(max_examples=30, deadline=None)
@given(deps, keys, st.integers(0, 2**64 - 1), st.integers(0, MAX_START - 1))
def test_a_mute_payload_decodes_to_itself(d: tuple[bytes, ...], target: bytes, cut: int, until: int) -> None:
    mute = Mute(d, target, cut, until)
    assert decode_payload(kinds.MUTE, mute.encode(), bytes(32)) == mute


@settings(max_examples=30, deadline=None)
@given(
    st.dictionaries(st.sampled_from(["d", "m", "c", "u", "x"]), st.one_of(st.integers(-2, 2**40), keys, st.booleans()))
)
def test_a_malformed_mute_payload_is_refused_with_a_code(fields: dict[str, codec.CborValue]) -> None:
    try:
        decode_payload(kinds.MUTE, codec.encode(fields), bytes(32))
    except HoldspaceError as err:
        assert err.code == "group.malformed_payload"


@settings(max_examples=10, deadline=None)
@given(deps, keys, st.integers(0, 2**32), st.booleans(), st.booleans(), st.booleans())
def test_a_removal_with_or_without_words_decodes_to_itself(
    d: tuple[bytes, ...], target: bytes, cut: int, ban: bool, with_note: bool, with_reason: bool
) -> None:
    box = e2ee.seal_direct(bytes(32), bytes(32), 2, {target: crypto.x25519_public_key(bytes(range(32)))}, b"words")[
        0
    ].encode()
    removal = Remove(d, target, cut, ban, box if with_note else None, box if with_reason else None)
    raw = removal.encode()
    assert decode_payload(kinds.REMOVE, raw, bytes(32)) == removal
    assert ("n" in codec.decode(raw)) == with_note  # type: ignore[operator]


def _world() -> World:
    w = World()
    w.add("ana")
    w.add("bo", MODERATOR)
    w.rekey("founder")
    w.deliver_keys()
    return w


def _mute(w: World, by: str, target: str, until: int, cut: int | None = None) -> None:
    victim = w.people[target]
    seq = victim.writer.seq if cut is None else cut
    w.publish(by, author.mute(w.people[by].writer, w.view(by), victim.key, seq, until, w.tick()))


def test_a_back_dated_message_stays_muted_and_an_unmute_governs_what_follows() -> None:
    w = _world()
    until = w.clock + 600_000
    _mute(w, "bo", "ana", until)
    ana = w.people["ana"]
    epoch = w.state().current_epoch
    assert epoch is not None
    envelope = ana.keys.encrypt(epoch.entry_id, ana.writer.seq + 1, b"dated a day ago")
    back_dated = w.publish("ana", ana.writer.append(kinds.MESSAGE, envelope.encode(), w.clock - 86_400_000))
    assert silenced(w.state(), back_dated)
    assert w.state().muted_until(ana.key, w.clock) == until
    _mute(w, "founder", "ana", 0)  # the unmute: its cut is ana's head
    after = w.say("ana", "thank you")
    assert not silenced(w.state(), after) and silenced(w.state(), back_dated)
    assert w.state().muted_until(ana.key, w.clock) is None


def test_of_two_concurrent_mutes_the_greater_cut_governs_then_the_later_in_l() -> None:
    w = _world()
    w.say("ana", "one")
    founder_view, bo_view = w.view("founder"), w.view("bo")
    ana = w.people["ana"]
    long = author.mute(w.people["founder"].writer, founder_view, ana.key, ana.writer.seq, w.clock + 10**6, w.tick())
    short = author.mute(w.people["bo"].writer, bo_view, ana.key, ana.writer.seq, w.clock + 10, w.tick())
    w.publish("founder", long)
    w.publish("bo", short)
    state = w.state()
    assert [m.entry_id for m in state.mutes[ana.key]] == [
        e for e in state.order if e in {long.entry_id, short.entry_id}
    ]
    assert state.governing_mute(ana.key, ana.writer.seq + 1) == state.mutes[ana.key][-1]
    # the same set in another arrival order: the same state
    assert compute_state(w.genesis, list(reversed(w.controls()))).fingerprint() == state.fingerprint()


def test_a_removals_note_reaches_the_removed_person_and_the_reason_the_facilitators() -> None:
    w = _world()
    ana, bo = w.people["ana"], w.people["bo"]
    entry = author.remove(
        bo.writer, w.view("bo"), ana.key, ana.writer.seq, w.tick(), note="Take care of yourself.", reason="Spam"
    )
    w.publish("bo", entry)
    removal = decode_payload(kinds.REMOVE, entry.payload or b"", entry.author)
    assert isinstance(removal, Remove)
    read = {n: open_removal_words(w.group_id, bo.key, entry.seq, removal, w.people[n].writer.me) for n in w.people}
    assert (read["ana"].note, read["ana"].reason) == ("Take care of yourself.", None)
    assert (read["founder"].note, read["founder"].reason) == (None, "Spam")
    assert (read["bo"].note, read["bo"].reason) == (None, "Spam")  # the moderator who removed keeps it too
    assert ana.key not in w.state().members


def test_removal_words_are_bounded_and_need_a_reader() -> None:
    me = Pseudonym.derive(bytes(32), b"x")
    target = (me.public_key, me.x_public_key)
    with pytest.raises(HoldspaceError) as err:
        seal_removal_words(bytes(32), me.public_key, 2, target, {}, note="x" * 1001, reason=None)
    assert err.value.code == "group.malformed_payload"
    with pytest.raises(HoldspaceError) as err:
        seal_removal_words(bytes(32), me.public_key, 2, target, {}, note=None, reason="why")
    assert err.value.code == "e2ee.no_recipients"


def _hex(text: str | None) -> bytes | None:
    return bytes.fromhex(text) if text is not None else None


def test_the_mute_vector_follows_the_spec_text() -> None:
    """12.6 read literally: of the target's mutes with c < s, the greatest c, then the last in L;
    muted iff t < u; only kind message."""
    (scenario,) = [v for v in json.loads(VECTORS.read_text()) if v["name"] == "a member muted for a time"]
    entries = {
        r["entry_id"]: decode_entry(
            bytes.fromhex(r["entry"]), bytes.fromhex(r["payload"]) if r["payload"] else None, now_ms=None
        )
        for r in scenario["entries"]
    }
    for message in scenario["messages"]:
        e = entries[message["entry_id"]]
        mutes = scenario["mutes"].get(e.author.hex(), [])
        below = [(m["cut"], i, m) for i, m in enumerate(mutes) if m["cut"] < e.seq]
        governing = max(below, key=lambda x: (x[0], x[1]))[2] if below else None
        muted = e.kind == kinds.MESSAGE and governing is not None and e.timestamp_ms < governing["until_ms"]
        assert muted == message["muted"], message["note"]
    assert [m["muted"] for m in scenario["messages"]].count(True) == 2


@given(st.lists(st.tuples(st.integers(0, 20), st.integers(0, 10**6)), max_size=40), st.integers(0, 25))
def test_the_governing_mute_is_the_greatest_cut_below_the_seq_last_in_l(mutes: list[tuple[int, int]], seq: int) -> None:
    """The index (O(log n) a message) answers as the rule reads: of the mutes whose cut is below the
    entry's seq, the greatest cut, and of those the last applied."""
    state = GroupState(b"\x00" * 32, b"\x02" * 32, "joined")
    target = b"\x01" * 32
    applied = [MuteState(i.to_bytes(32, "big"), b"\x02" * 32, cut, until) for i, (cut, until) in enumerate(mutes)]
    for mute in applied:
        state.add_mute(target, mute)
    expected = None
    for mute in applied:
        if mute.cut < seq and (expected is None or mute.cut >= expected.cut):
            expected = mute
    assert state.governing_mute(target, seq) == expected
