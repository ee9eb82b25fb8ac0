"""Closing an invite (kind 14, spec 12.5): a rule every host can check, so an invite's expiry holds
even when a hostile co-host relays a join that was back-dated into the invite's lifetime.

Expiry by a node's clock is checked only where a client's join lands (12.6 step 3); a join relayed by
a peer is judged by its own date, which its signer chooses. A close is a signed entry: joins it did
not see do not stand, on any host, in any arrival order.
"""

from __future__ import annotations

import itertools

from holdspace.protocol import author
from holdspace.protocol.entry import Entry
from holdspace.protocol.group import DecodeCache, append, compute
from holdspace.protocol.payloads import MEMBER
from tests.group_world import FAR, T0, World


def _open_invite(w: World, expires_ms: int = FAR) -> author.InviteSecret:
    entry, secret = author.invite(
        w.people["founder"].writer, w.view("founder"), w.tick(), role=MEMBER, expires_ms=expires_ms, max_uses=10
    )
    w.publish("founder", entry)
    return secret


def _close(w: World, who: str, secret: author.InviteSecret, at: int | None = None) -> Entry:
    entry = author.close_invite(w.people[who].writer, w.view(who), secret.invite_id, at or w.tick())
    return w.publish(who, entry)


def _outcome(w: World, entry: Entry) -> str | None:
    return w.state().outcomes[entry.entry_id]


def test_a_join_back_dated_into_a_closed_invite_does_not_stand_in_any_arrival_order() -> None:
    w = World()
    token = _open_invite(w, expires_ms=T0 + 1_000)
    ana = w.redeem("ana", token)  # in time, seen by the close
    close = _close(w, "founder", token)
    person = w.redeem("mallory", token)  # signed after the close, dated inside the invite's lifetime
    late = w.entries[person.writer.prev]
    assert late.timestamp_ms <= T0 + 1_000
    entries = [e for e in w.controls() if e.entry_id != w.genesis.entry_id]
    fingerprints = set()
    for order in itertools.permutations(entries):
        comp = compute(w.genesis, list(order))
        s = comp.state
        assert s.outcomes[close.entry_id] is None
        assert s.outcomes[late.entry_id] == "group.invite_closed"
        assert person.key not in s.members and ana.key in s.members
        fingerprints.add(s.fingerprint())
    assert len(fingerprints) == 1


def test_a_concurrent_join_placed_before_the_close_is_void() -> None:
    """The close waits in L for a newcomer it saw; a back-dated join ranks before that newcomer, so L
    places it before the close: the close had not seen it, so it does not stand (a finding of the pass)."""
    w = World()
    token = _open_invite(w)
    invite_time = w.clock
    bo = w.redeem("bo", token)
    close = _close(w, "founder", token)  # saw bo's join, so L places it after bo's join
    writer, _keys, _seen = _fresh(w, "mallory")
    back_dated = token.join(writer, invite_time)  # ranks before bo's join among newcomers
    w.entries[back_dated.entry_id] = back_dated
    s = w.state()
    assert s.order.index(back_dated.entry_id) < s.order.index(close.entry_id)
    assert s.outcomes[back_dated.entry_id] == "group.invite_closed"
    assert writer.me.public_key not in s.members and bo.key in s.members


def _fresh(w: World, name: str):  # type: ignore[no-untyped-def]
    from holdspace.protocol import e2ee
    from holdspace.protocol.identity import Pseudonym, group_context

    me = Pseudonym.derive(name.encode().ljust(32, b"."), group_context(w.group_id))
    return author.LogWriter(me, w.group_id), e2ee.GroupKeys(w.group_id, me), {w.genesis.entry_id}


def test_who_may_close_an_invite() -> None:
    w = World()
    token = _open_invite(w, expires_ms=T0 + 100)
    w.redeem("ana", token)
    early = _close(w, "ana", token, at=T0 + 50)  # a member, before the expiry
    assert _outcome(w, early) == "group.forbidden"
    late = _close(w, "ana", token, at=T0 + 101)  # a member, after it: the expiry is the group's to enforce
    assert _outcome(w, late) is None
    again = _close(w, "founder", token)
    assert _outcome(w, again) == "group.no_effect"
    unknown = author.close_invite(w.people["founder"].writer, w.view("founder"), bytes(32), w.tick())
    assert _outcome(w, w.publish("founder", unknown)) == "group.bad_target"


def test_a_closed_invite_admits_nobody_at_the_end_of_l() -> None:
    """The incremental path (a node judging a client's join) gives the same answer as the full one."""
    w = World()
    token = _open_invite(w)
    _close(w, "founder", token)
    comp = compute(w.genesis, w.controls())
    writer, _keys, _seen = _fresh(w, "newcomer")
    join = token.join(writer, w.tick())
    placed, outcome = append(comp, join, DecodeCache(), keep_refused=False)
    assert placed and outcome == "group.invite_closed"
