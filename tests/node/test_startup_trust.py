"""Start-up takes what the store holds as verified: every group's state is computed from its stored
control entries without one signature check (entries, identity documents, join proofs: each was
verified when the node accepted it, and a join's proof verdict is kept with its record), and gives the
same state as a computation that verifies everything. Entries from the network are still verified in
full after such a start."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from holdspace.node.core import NodeCore, to_record
from holdspace.node.maintenance import control_problems
from holdspace.node.server import load_groups
from holdspace.node.store import Store
from holdspace.protocol import author, crypto, entry, identity, kinds, payloads
from holdspace.protocol.entry import Entry
from holdspace.protocol.errors import EntryError, GroupError
from holdspace.protocol.payloads import Join, decode_payload
from tests.group_world import FAR, World

CHECKS = ("ed25519_verify", "ed25519_public_key_valid", "x25519_public_key_valid")


@contextmanager
def signature_checks(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every cryptographic check made while the block runs (by name), with the memos of verified
    headers and identity documents emptied first, so that nothing is answered from them."""
    entry._verified.clear()
    identity._verify_identity_document.cache_clear()
    payloads._decoded.clear()
    crypto._verified.clear()
    calls: list[str] = []
    with monkeypatch.context() as m:
        for name in CHECKS:
            real = getattr(crypto, name)

            def counted(*args: object, _real=real, _name=name, **kwargs: object) -> object:  # type: ignore[no-untyped-def]
                calls.append(_name)
                return _real(*args, **kwargs)

            m.setattr(crypto, name, counted)
        yield calls


def world_with_a_forged_rejoin() -> tuple[World, bytes]:
    """A group with joins, a rekey and messages, and a member's rejoin whose invite proof is false
    (a peer stores it whatever its outcome; its outcome is group.bad_invite_proof). Returns the
    world and the rejoin's id."""
    w = World()
    w.add("alice")
    w.add("bob")
    w.rekey("founder")
    w.deliver_keys()
    w.say("alice", "hello")
    founder, alice = w.people["founder"], w.people["alice"]
    invite, _secret = author.invite(founder.writer, w.view("founder"), w.tick(), role="member", expires_ms=FAR)
    w.publish("founder", invite)
    joined = next(e for e in w.entries.values() if e.kind == kinds.JOIN and e.author == alice.key)
    alice_document = decode_payload(kinds.JOIN, joined.payload or b"", joined.author).document  # type: ignore[union-attr]
    forged = Join((invite.entry_id,), invite.entry_id, bytes(64), alice_document)
    rejoin = w.publish("alice", alice.writer.append(kinds.JOIN, forged.encode(), w.tick()))
    w.say("bob", "still here")
    return w, rejoin.entry_id


def forged_document_join(w: World, secret: author.InviteSecret) -> tuple[Entry, Entry]:
    """(an honest join through ``secret``, the same join of the same author whose identity document's
    signature is false: the entry's own signature holds)."""
    me = identity.Pseudonym.derive(b"carol".ljust(32, b"."), identity.group_context(w.group_id))
    honest = secret.join(author.LogWriter(me, w.group_id), w.tick())
    payload = decode_payload(kinds.JOIN, honest.payload or b"", honest.author)
    assert isinstance(payload, Join)
    raw = bytearray(payload.document.raw)
    raw[-1] ^= 1  # the document's last field is its signature
    forged_document = replace(payload.document, raw=bytes(raw))
    forged = author.LogWriter(me, w.group_id).append(
        kinds.JOIN, replace(payload, document=forged_document).encode(), w.clock
    )
    return honest, forged


def stored(tmp_path: Path, w: World) -> Store:
    """``w``'s entries relayed by a peer to a node on disk, each checked, written and committed."""
    store = Store.open(tmp_path / "store")
    core = NodeCore(store)
    for e in w.entries.values():
        decision = core.check_entry(e.raw, e.payload, now_ms=w.clock, authors=None)
        core.reserve(decision)
        store.append_batch([decision.record])
        core.committed(decision)
    return store


def test_start_up_computes_every_state_without_one_signature_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w, rejoin = world_with_a_forged_rejoin()
    expected = w.state()  # computed from scratch, verifying everything
    assert expected.outcomes[rejoin] == "group.bad_invite_proof"
    with stored(tmp_path, w) as store:
        verdicts = {r.entry_id: r.proof for r in store.controls(w.group_id)}
        joins = [e.entry_id for e in w.controls() if e.kind == kinds.JOIN]
        assert {eid: verdicts[eid] for eid in joins} == {**dict.fromkeys(joins, True), rejoin: False}
        assert all(verdicts[e.entry_id] is None for e in w.controls() if e.kind != kinds.JOIN)
        with signature_checks(monkeypatch) as calls:
            core = NodeCore(store)
            assert core.load_all() == 1
            state = core.state(w.group_id)
        assert calls == []
        assert state.outcomes == expected.outcomes and state.intervals == expected.intervals
        assert state.members.keys() == expected.members.keys() and state.epochs == expected.epochs


def test_a_join_whose_verdict_the_store_does_not_know_is_verified_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A store migrated from format 2 recorded no verdicts: those joins' proofs are verified when the
    # state is computed, and nothing else is.
    w, rejoin = world_with_a_forged_rejoin()
    with stored(tmp_path / "a", w) as verified, Store.open(tmp_path / "b") as store:
        for group in verified.groups():
            store.append_batch([replace(r, proof=None) for _, r in verified.iter_group(group)])
        with signature_checks(monkeypatch) as calls:
            core = NodeCore(store)
            core.load_all()
            state = core.state(w.group_id)
        assert calls == ["ed25519_verify"] * len([e for e in w.controls() if e.kind == kinds.JOIN])
        assert state.outcomes == w.state().outcomes and state.outcomes[rejoin] == "group.bad_invite_proof"


def test_after_such_a_start_a_forged_entry_from_the_network_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w, _ = world_with_a_forged_rejoin()
    founder = w.people["founder"]
    invite, secret = author.invite(founder.writer, w.view("founder"), w.tick(), role="member", expires_ms=FAR)
    w.publish("founder", invite)
    with stored(tmp_path, w) as store:
        core = NodeCore(store)
        core.load_all()
        honest, forged = forged_document_join(w, secret)
        me_key = forged.author
        with signature_checks(monkeypatch) as calls:
            for authors in (None, frozenset({me_key})):  # from a peer, from a client
                with pytest.raises(GroupError) as refused:
                    core.check_entry(forged.raw, forged.payload, now_ms=w.clock, authors=authors)
                assert refused.value.code == "group.malformed_payload"
                assert "identity.bad_signature" in refused.value.message
        assert "ed25519_verify" in calls
        # an entry whose own signature is false
        message = w.say("bob", "forged")
        header = bytearray(message.raw)
        header[-1] ^= 1  # the header's last field is its signature
        with pytest.raises(EntryError) as bad:
            core.check_entry(bytes(header), message.payload, now_ms=w.clock, authors=None)
        assert bad.value.code == "entry.bad_signature"
        assert core.check_entry(honest.raw, honest.payload, now_ms=w.clock, authors=None).outcome is None


def test_node_check_verifies_again_what_start_up_takes_as_verified(tmp_path: Path) -> None:
    # ``holdspace node check`` trusts nothing: each control payload's identity document is verified and
    # each recorded join proof verdict is verified again.
    w, rejoin = world_with_a_forged_rejoin()
    with stored(tmp_path, w) as store:
        records = store.controls(w.group_id)
    assert control_problems(records) == []
    flipped = [replace(r, proof=not r.proof) if r.entry_id == rejoin else r for r in records]
    assert [p.split(":")[0] for p in control_problems(flipped)] == [rejoin.hex()]
    founder = w.people["founder"]
    _invite, secret = author.invite(founder.writer, w.view("founder"), w.tick(), role="member", expires_ms=FAR)
    _, forged = forged_document_join(w, secret)
    found = control_problems([*records, to_record(forged, w.group_id, husk=False)])
    assert [p.split(":")[0] for p in found] == [forged.entry_id.hex()] and "identity.bad_signature" in found[0]


def test_loading_every_group_pauses_the_garbage_collector_and_restores_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w, _ = world_with_a_forged_rejoin()
    seen: list[bool] = []
    with stored(tmp_path, w) as store:
        core = NodeCore(store)
        real = core.load_all

        def load_all() -> int:
            seen.append(gc.isenabled())
            return real()

        monkeypatch.setattr(core, "load_all", load_all)
        assert gc.isenabled()
        assert load_groups(core) == 1 and seen == [False] and gc.isenabled()
        assert core.state(w.group_id).outcomes == w.state().outcomes
        monkeypatch.setattr(core, "load_all", lambda: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            load_groups(core)
        assert gc.isenabled()
