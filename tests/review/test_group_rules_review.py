"""Group-rule weaknesses, shown on pure histories (no node)."""

import pytest

from protocol import author, codec, kinds
from protocol.entry import Entry
from protocol.errors import HoldspaceError, LogError
from protocol.group import compute_state
from protocol.identity import Pseudonym, group_context
from protocol.log import verify_fork_proof
from protocol.payloads import FACILITATOR, MEMBER, MODERATOR, decode_payload
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
    w = World()
    founder = w.people["founder"]
    inv, secret = author.invite(founder.writer, w.view("founder"), w.tick(), role=MEMBER, expires_ms=w.clock + 1000)
    w.publish("founder", inv)
    w.clock += 10**9  # long after the expiry
    honest = secret.join(_stranger(w, b"honest"), w.tick())
    late = secret.join(_stranger(w, b"late"), inv.timestamp_ms)  # same token, timestamp set back
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
