"""Group-rule attacks on pure histories (no node): each was a real weakness, now closed."""

import os

import pytest

from holdspace.protocol import author, codec, crypto, e2ee, kinds
from holdspace.protocol.entry import Entry
from holdspace.protocol.errors import HoldspaceError, LogError
from holdspace.protocol.group import compute_state
from holdspace.protocol.identity import Pseudonym, group_context, verify_identity_document
from holdspace.protocol.log import verify_fork_proof
from holdspace.protocol.payloads import FACILITATOR, MEMBER, MODERATOR, decode_payload
from tests.group_world import FAR, World


def _stranger(w: World, label: bytes) -> author.LogWriter:
    me = Pseudonym.derive(label.ljust(32, b"."), group_context(w.group_id))
    return author.LogWriter(me, w.group_id)


def test_removed_facilitator_cannot_remove_anyone_long_after_its_removal() -> None:
    """A removal must not be undone by its target claiming, at any later time, not to have seen it."""
    w = World()
    fay = w.add("fay", FACILITATOR)
    ana = w.add("ana")
    fay_view_before = set(fay.seen)
    w.remove("founder", "fay")  # fay is removed, and everybody (fay too) sees it
    w.add("bob")  # the group goes on for a while
    w.rekey("founder")
    # much later, fay signs operations whose "d" pretends she never saw her removal
    fay.seen = fay_view_before
    w.remove("fay", "founder", ban=True)
    w.remove("fay", "ana", ban=True)
    s = w.state()
    assert s.role_of(w.people["founder"].key) == FACILITATOR, "a long-removed facilitator banned the founder"
    assert s.role_of(ana.key) == MEMBER, "a long-removed facilitator banned a member"


def test_removed_moderator_can_not_demote_by_pretending_concurrency() -> None:
    w = World()
    w.add("fay", FACILITATOR)
    mo = w.add("mo", MODERATOR)
    ana = w.add("ana")
    mo_view = set(mo.seen)
    w.role("founder", "mo", MEMBER)  # mo demoted, everybody sees it
    w.add("bob")
    mo.seen = mo_view
    w.remove("mo", "ana")  # months later, as a plain member
    assert w.state().role_of(ana.key) == MEMBER, "a demoted moderator still removes members"


def test_invite_expiry_cannot_be_bypassed_by_backdating_the_join() -> None:
    """In the state, a join cannot predate its invite; the node refuses (by its own clock) a join that
    arrives after the invite expired, however it is dated (test_expired_invite_refused in
    tests/node/test_conversation.py)."""
    w = World()
    founder = w.people["founder"]
    inv, secret = author.invite(founder.writer, w.view("founder"), w.tick(), role=MEMBER, expires_ms=w.clock + 1000)
    w.publish("founder", inv)
    w.clock += 10**9  # long after the expiry
    honest = secret.join(_stranger(w, b"honest"), w.tick())
    late = secret.join(_stranger(w, b"late"), inv.timestamp_ms - 1)  # dated before the invite itself
    w.entries[honest.entry_id] = honest
    w.entries[late.entry_id] = late
    s = w.state()
    assert s.outcomes[honest.entry_id] == "group.invite_expired"
    assert s.role_of(late.author) is None, "an expired invite was redeemed by back-dating the join"


def _fork_pair(w: World, target: bytes) -> tuple[Entry, Entry]:
    founder = w.people["founder"]
    state = w.view("founder")
    one = author.LogWriter(founder.writer.me, w.group_id, founder.writer.seq, founder.writer.prev)
    two = author.LogWriter(founder.writer.me, w.group_id, founder.writer.seq, founder.writer.prev)
    a = author.change_role(one, state, target, MODERATOR, w.tick())
    b = author.change_role(two, state, target, MEMBER, w.tick())
    return a, b


def test_state_of_a_set_with_a_fork_does_not_depend_on_input_order() -> None:
    """Spec 12.1: the state is a function of the *set*. A node that serves both halves of a fork
    (or an equivocating author) must not make two clients holding the same set disagree."""
    w = World()
    ana = w.add("ana")
    a, b = _fork_pair(w, ana.key)  # same author, same seq, different ids
    base = w.controls()
    s1 = compute_state(w.genesis, [*base, a, b])
    s2 = compute_state(w.genesis, [*base, b, a])
    assert s1.role_of(ana.key) == s2.role_of(ana.key), (s1.role_of(ana.key), s2.role_of(ana.key))
    assert s1.fingerprint() == s2.fingerprint()


def test_stale_token_junk_joins_do_not_freeze_the_group() -> None:
    """Anyone holding any invite token (even used up) can store joins under fresh pseudonyms; they
    become heads. With more than 1024 heads every honest control entry built by the client helpers
    names them all in "d" and is malformed: nobody can remove, invite or rekey any more."""
    w = World()
    founder = w.people["founder"]
    inv, secret = author.invite(founder.writer, w.view("founder"), w.tick(), role=MEMBER, expires_ms=FAR)
    w.publish("founder", inv)
    ana = w.redeem("ana", secret)  # the single use is taken; the token stays in ana's hands
    for i in range(1030):
        junk = secret.join(_stranger(w, b"junk%d" % i), w.tick())
        w.entries[junk.entry_id] = junk
    state = w.state()
    assert set(state.outcomes.values()) <= {None, "group.invite_exhausted"}
    entry = author.remove(founder.writer, state, ana.key, ana.writer.seq, w.tick(), ban=True)
    try:
        decode_payload(kinds.REMOVE, entry.payload or b"", entry.author)
    except HoldspaceError as err:
        pytest.fail(f"the facilitator's removal is refused once junk joins exist: {err.code}")


def test_fork_proof_version_must_be_the_integer_one() -> None:
    w = World()
    ana = w.add("ana")
    a, b = _fork_pair(w, ana.key)
    first, second = sorted((a, b), key=lambda e: e.entry_id)
    proof = codec.encode({"v": True, "a": first.raw, "b": second.raw})
    with pytest.raises(LogError):
        verify_fork_proof(proof)  # spec 3.2: true is not the integer 1


def test_used_token_cannot_displace_the_member_who_redeemed_it() -> None:
    """A join names only its invite in "d", so a join signed long after the invite's only use sits,
    in the linearisation, next to the original join and is ordered by entry id. Whoever holds the
    used token grinds a pseudonym whose join id is smaller: the original member's join becomes
    invite_exhausted (retroactively not a member, all its posts unauthorised) and the newcomer is in."""
    w = World()
    founder = w.people["founder"]
    inv, secret = author.invite(founder.writer, w.view("founder"), w.tick(), role=MEMBER, expires_ms=FAR)
    w.publish("founder", inv)
    ana = w.redeem("ana", secret)
    ana_join = ana.writer.prev
    w.rekey("founder")
    w.deliver_keys()
    w.say("ana", "I have been here for months")
    w.add("bob")
    assert ana_join is not None
    i = 0
    while True:
        late = secret.join(_stranger(w, b"grind%d" % i), w.tick())
        if late.entry_id < ana_join:
            break
        i += 1
    w.entries[late.entry_id] = late
    s = w.state()
    assert s.role_of(late.author) is None, "a used-up token admitted a newcomer"
    assert s.role_of(ana.key) == MEMBER, f"the original member lost its membership: {s.outcomes[ana_join]}"


def test_removed_facilitator_cannot_promote_an_accomplice_later_and_get_back_in() -> None:
    """A permissive operation is judged at its linearisation position, and its author chooses that
    position: old "d" and a ground entry id put a promotion signed long after the author's removal
    *before* the removal. The accomplice becomes facilitator and re-admits the removed one."""
    w = World()
    fay = w.add("fay", FACILITATOR)
    mo = w.add("mo")
    fay_view = set(fay.seen)
    w.add("ana")
    w.remove("founder", "fay")
    w.add("bob")
    w.rekey("founder")
    floor = min(e.entry_id for e in w.controls())
    old_state = w.state(fay_view)
    t = w.tick()
    while True:
        t += 1
        copy = author.LogWriter(fay.writer.me, w.group_id, fay.writer.seq, fay.writer.prev)
        promote = author.change_role(copy, old_state, mo.key, FACILITATOR, t)
        if promote.entry_id < floor:
            break
    fay.writer = copy
    w.publish("fay", promote, everyone_sees=False)
    s = w.state()
    assert s.role_of(mo.key) == MEMBER, "a facilitator removed long ago promoted a member to facilitator"
    # the accomplice, now unrestricted, simply re-invites the removed facilitator
    w.people["mo"].seen |= {e.entry_id for e in w.controls()}
    w.add("fay", FACILITATOR, by="mo")
    assert w.state().role_of(fay.key) is None


def test_epoch_sealed_to_a_replaced_x25519_key_is_not_clean() -> None:
    """Post-compromise update (13.2): the founder rekeys with a fresh X25519 key. A concurrent rekey by
    ana, which had not seen it and comes after it in the linearisation (ana is junior), seals the new
    current epoch to the founder's *old* key: that epoch must not count as clean."""
    w = World()
    ana = w.add("ana")
    w.rekey("founder")
    founder = w.people["founder"]
    old_x = founder.writer.me.x_public_key
    healed = Pseudonym.from_secrets(founder.writer.me.seed, os.urandom(32))
    doc = verify_identity_document(healed.identity_document(w.tick()))
    state = w.state()
    pcu = e2ee.make_rekey(state, state.heads, healed, e2ee.new_epoch_key(), new_document=doc)
    w.publish("founder", founder.writer.append(kinds.REKEY, pcu.encode(), w.tick()), everyone_sees=False)
    payload = e2ee.make_rekey(state, state.heads, ana.writer.me, e2ee.new_epoch_key())
    entry = w.publish("ana", ana.writer.append(kinds.REKEY, payload.encode(), w.tick()))
    s = w.state()
    assert s.current_epoch is not None and s.current_epoch.entry_id == entry.entry_id
    crypto.seal_open(founder.writer.me.x_secret, dict(payload.sealed)[founder.key])  # the old secret opens it
    assert s.x25519[founder.key] != old_x
    assert not s.epoch_is_clean(s.current_epoch), "an epoch sealed to a replaced X25519 key counts as clean"
