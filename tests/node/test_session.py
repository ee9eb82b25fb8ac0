"""The client session driven directly, request by request, with an explicit ``now``: no trio, no
LMDB, no sockets. The host is the node core over the in-memory reader (``tests/node/core_driver.py``)."""

from __future__ import annotations

import itertools
import subprocess
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import ClassVar

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from holdspace.node.admission import Policy
from holdspace.node.core import NodeCore
from holdspace.node.framing import FRAME_SLACK
from holdspace.node.limits import NodeLimits, default_transport_limits
from holdspace.node.memory_store import MemoryReader
from holdspace.node.rates import PublishRates
from holdspace.node.session import (
    Adopt,
    Answer,
    CancelSubscription,
    ClientSession,
    Close,
    Effect,
    Fetch,
    Publish,
    PublishMany,
    Refuse,
    Subscribe,
)
from holdspace.protocol import codec, kinds
from holdspace.protocol.address import NodeAddress
from holdspace.protocol.entry import Entry
from holdspace.protocol.errors import CODES, CodecError
from holdspace.protocol.frames import MAX_FRAME, MAX_IN_FLIGHT, auth_message, decode_reply, encode_client_request
from holdspace.protocol.identity import Pseudonym
from tests.group_world import World

from .core_driver import hosted

ROOT = Path(__file__).resolve().parents[2]
NODE_KEY = b"\x4e" * 32
CHALLENGE = b"\xc0" * 32


@dataclass
class Host:
    """What a session reads of its node, in memory."""

    core: NodeCore
    limits: NodeLimits = field(default_factory=NodeLimits)
    public_key: bytes = NODE_KEY
    federates: bool = False
    proofs: dict[bytes, list[bytes]] = field(default_factory=dict)
    web_origin: str | None = None
    rates: PublishRates = field(init=False)

    def __post_init__(self) -> None:
        self.rates = PublishRates(self.limits.publish_rate, self.limits.publish_burst)

    def fork_proofs(self, group: bytes) -> list[bytes]:
        return self.proofs.get(group, [])


@pytest.fixture(scope="module")
def world() -> World:
    """A group of founder and ana with an epoch and two messages from ana."""
    w = World()
    w.add("ana")
    w.rekey("founder")
    w.deliver_keys()
    w.say("ana", "hello")
    w.say("ana", "again")
    return w


def session_of(w: World, limits: NodeLimits | None = None, *, now: float = 0.0, **host: object) -> ClientSession:
    core, _reader = hosted(w)
    return ClientSession(Host(core, limits or NodeLimits(), **host), CHALLENGE, now)  # type: ignore[arg-type]


_ids = itertools.count(1000)


def request(op: str, *, rid: int | None = None, **fields: codec.CborValue) -> bytes:
    """A request frame; a fresh id unless ``rid`` is given."""
    return encode_client_request(next(_ids) if rid is None else rid, op, **fields)


def answer(frame: bytes) -> dict[str, codec.CborValue]:
    """The ok map of a final answer frame."""
    reply = decode_reply(frame)
    assert reply.kind == "ok", reply
    return reply.body


def ok(effect: Effect) -> dict[str, codec.CborValue]:
    assert isinstance(effect, Answer), effect
    reply = decode_reply(effect.frame)
    assert reply.rid == effect.rid and reply.final
    return reply.result()


def code(effect: Effect) -> str:
    assert isinstance(effect, Refuse), effect
    assert effect.code in CODES and effect.message
    assert decode_reply(effect.frame).rid == effect.rid
    return effect.code


def auth(session: ClientSession, me: Pseudonym, now: float = 0.0, *, challenge: bytes | None = None) -> Effect:
    signed = auth_message(challenge or session.challenge, NODE_KEY, me.public_key)
    return session.receive(request("auth", k=me.public_key, sig=me.sign(signed)), now)


def me(w: World, name: str) -> Pseudonym:
    return w.people[name].writer.me


# -- the handshake -------------------------------------------------------------------------------------


def test_handshake_in_order_then_reads(world: World) -> None:
    s = session_of(world)
    hello = ok(s.receive(request("hello", v=2), 0.0))
    assert hello["challenge"] == CHALLENGE and hello["node"] == NODE_KEY and hello["v"] == 2
    assert hello["limits"] == {"publish_rate": 1000, "max_frame": MAX_FRAME, "in_flight": MAX_IN_FLIGHT}
    assert ok(auth(s, me(world, "ana"))) == {}
    assert s.authors == {me(world, "ana").public_key}
    state = ok(s.receive(request("state", g=world.group_id), 0.0))
    assert [m[0] for m in state["members"]] == sorted(p.key for p in world.people.values())  # type: ignore[index, union-attr]


def test_hello_of_another_version_is_refused(world: World) -> None:
    assert code(session_of(world).receive(request("hello", v=1), 0.0)) == "proto.bad_version"
    assert code(session_of(world).receive(request("hello", v=4), 0.0)) == "proto.bad_version"


def test_hello_version_3_tells_the_create_policy_and_the_operators_contact(world: World) -> None:
    s = session_of(world)
    s.host.core.policy = Policy(create="token", contact="mailto:abuse@example.org")
    hello = ok(s.receive(request("hello", v=3), 0.0))
    assert hello["v"] == 3 and hello["create"] == "token" and hello["contact"] == "mailto:abuse@example.org"
    assert "contact" not in ok(session_of(world).receive(request("hello", v=3), 0.0))  # none set: none told
    assert set(ok(s.receive(request("hello", v=2), 0.0))) == {"v", "node", "challenge", "limits"}  # v2 as it was


def test_a_token_travels_with_publish_and_adopt_and_is_checked_for_size(world: World) -> None:
    genesis = world.genesis
    s = session_of(world, federates=True)
    auth(s, me(world, "founder"))
    effect = s.receive(request("publish", e=genesis.raw, b=genesis.payload, token=b"\x01" * 32), 0.0)
    assert isinstance(effect, Publish) and effect.token == b"\x01" * 32
    effect = s.receive(request("publish", e=genesis.raw, b=genesis.payload), 0.0)
    assert isinstance(effect, Publish) and effect.token is None
    assert code(s.receive(request("publish", e=genesis.raw, b=genesis.payload, token=b"\x01"), 0.0)) == (
        "proto.malformed_frame"
    )
    assert code(s.receive(request("state", g=world.group_id, token=b"\x01" * 32), 0.0)) == "proto.malformed_frame"
    ana = me(world, "ana")
    join = next(e for e in world.entries.values() if e.kind == kinds.JOIN and e.author == ana.public_key)
    federating = ClientSession(Host(NodeCore(MemoryReader()), federates=True), CHALLENGE, 0.0)
    auth(federating, ana)
    address = str(NodeAddress(b"\x07" * 32, "127.0.0.1", 4433))
    effect = federating.receive(
        request("adopt", e=join.raw, b=join.payload or b"", hosts=[address], token=b"\x02" * 32), 0.0
    )
    assert isinstance(effect, Adopt) and effect.token == b"\x02" * 32


def test_a_refused_group_is_refused_to_readers_and_to_adopt(world: World) -> None:
    s = session_of(world, federates=True)
    auth(s, me(world, "ana"))
    s.host.core.policy = Policy(refused=frozenset({world.group_id}))
    assert code(s.receive(request("state", g=world.group_id), 0.0)) == "admission.group_refused"
    assert code(s.receive(request("fetch", g=world.group_id, after=0, limit=5), 0.0)) == "admission.group_refused"
    ana = me(world, "ana")
    join = next(e for e in world.entries.values() if e.kind == kinds.JOIN and e.author == ana.public_key)
    elsewhere = ClientSession(
        Host(NodeCore(MemoryReader(), Policy(refused=frozenset({world.group_id}))), federates=True), CHALLENGE, 0.0
    )
    auth(elsewhere, ana)
    address = str(NodeAddress(b"\x07" * 32, "127.0.0.1", 4433))
    refused = elsewhere.receive(request("adopt", e=join.raw, b=join.payload or b"", hosts=[address]), 0.0)
    assert code(refused) == "admission.group_refused"


def test_a_version_1_hello_has_no_id_and_ends_the_session_with_bad_version(world: World) -> None:
    effect = session_of(world).receive(codec.encode({"op": "hello", "v": 1}), 0.0)
    assert isinstance(effect, Close) and effect.code == "proto.bad_version"
    reply = decode_reply(effect.frame)  # what a version-1 client reads as its answer: {"err": ...}
    assert reply.rid is None and reply.kind == "err" and reply.body["code"] == "proto.bad_version"
    assert codec.decode(effect.frame, max_size=1000) == {"err": {"code": "proto.bad_version", "msg": effect.message}}


def test_requests_before_auth_are_refused_and_auth_needs_no_hello(world: World) -> None:
    s = session_of(world)
    g = world.group_id
    message = world.entries[next(reversed(world.entries))]
    for frame in (
        request("fetch", g=g, after=0, limit=10),
        request("subscribe", g=g, after=0),
        request("state", g=g),
        request("identity", g=g, k=me(world, "ana").public_key),
        request("publish", e=message.raw, b=message.payload),
        request("publish_many", entries=[[message.raw, message.payload or b""]]),
    ):
        assert code(s.receive(frame, 0.0)) == "proto.unauthenticated"
    assert s.subscriptions == set() and s.in_flight == set()
    # hello only tells the challenge: a client that signs it without asking is authenticated all the same
    assert ok(auth(s, me(world, "ana"))) == {}
    assert isinstance(s.receive(request("fetch", g=g, after=0, limit=10), 0.0), Fetch)


def test_bad_auth(world: World) -> None:
    s = session_of(world)
    ana = me(world, "ana")
    assert code(auth(s, ana, challenge=b"\x01" * 32)) == "proto.bad_auth"  # another connection's challenge
    other_node = auth_message(s.challenge, b"\x02" * 32, ana.public_key)
    assert code(s.receive(request("auth", k=ana.public_key, sig=ana.sign(other_node)), 0.0)) == "proto.bad_auth"
    founder_signs = me(world, "founder").sign(auth_message(s.challenge, NODE_KEY, ana.public_key))
    assert code(s.receive(request("auth", k=ana.public_key, sig=founder_signs), 0.0)) == "proto.bad_auth"
    assert s.authors == set()
    assert code(s.receive(request("state", g=world.group_id), 0.0)) == "proto.unauthenticated"


def test_pseudonyms_per_connection_are_bounded(world: World) -> None:
    s = session_of(world, NodeLimits(max_pseudonyms_per_connection=2))
    keys = [Pseudonym.generate() for _ in range(3)]
    assert ok(auth(s, keys[0])) == {} and ok(auth(s, keys[1])) == {}
    assert code(auth(s, keys[2])) == "proto.busy"
    assert ok(auth(s, keys[0])) == {}  # one already held is no new pseudonym
    assert s.authors == {keys[0].public_key, keys[1].public_key}


# -- rates ---------------------------------------------------------------------------------------------


def test_request_rate_refills_with_now(world: World) -> None:
    s = session_of(world, NodeLimits(request_rate=10.0, request_burst=3.0))
    hello = request("hello", v=2, rid=1)
    assert [isinstance(s.receive(hello, 0.0), Answer) for _ in range(4)] == [True, True, True, False]
    assert code(s.receive(hello, 0.05)) == "proto.rate_limited"  # half a token
    assert isinstance(s.receive(hello, 0.1), Answer)  # one token more, spent
    assert code(s.receive(hello, 0.1)) == "proto.rate_limited"
    assert [isinstance(s.receive(hello, 100.0), Answer) for _ in range(4)] == [True, True, True, False]  # burst cap


def test_a_refused_request_still_counts_against_the_rate(world: World) -> None:
    s = session_of(world, NodeLimits(request_rate=1.0, request_burst=2.0))
    assert code(s.receive(request("hello", v="two"), 0.0)) == "proto.malformed_frame"
    assert code(s.receive(request("nothing"), 0.0)) == "proto.unknown_op"
    assert code(s.receive(request("hello", v=2), 0.0)) == "proto.rate_limited"


def test_publish_rate_per_pseudonym_refills_and_is_shared_by_connections(world: World) -> None:
    core, _reader = hosted(world)
    host = Host(core, NodeLimits(publish_rate=1.0, publish_burst=2.0))
    first, second = ClientSession(host, CHALLENGE, 0.0), ClientSession(host, b"\x01" * 32, 0.0)
    ana = me(world, "ana")
    auth(first, ana)
    auth(second, ana)
    message = world.entries[next(reversed(world.entries))]
    effect = first.receive(request("publish", rid=1, e=message.raw, b=message.payload), 0.0)
    assert effect == Publish(1, message.raw, message.payload, frozenset({ana.public_key}))
    assert isinstance(second.receive(request("publish", e=message.raw, b=message.payload), 0.0), Publish)
    assert code(first.receive(request("publish", e=message.raw, b=message.payload), 0.5)) == "proto.rate_limited"
    assert isinstance(second.receive(request("publish", e=message.raw, b=message.payload), 1.0), Publish)


def test_publish_of_an_unauthenticated_author_spends_nothing(world: World) -> None:
    s = session_of(world, NodeLimits(publish_rate=1.0, publish_burst=1.0))
    auth(s, me(world, "founder"))
    message = world.entries[next(reversed(world.entries))]  # ana's
    assert code(s.receive(request("publish", e=message.raw, b=message.payload), 0.0)) == "proto.unauthenticated"
    assert code(s.receive(request("publish", e=b"\xff", b=None), 0.0)).startswith("cbor.")
    assert len(s.host.rates) == 0


def test_publish_many_charges_every_entry_in_order(world: World) -> None:
    s = session_of(world, NodeLimits(publish_rate=1.0, publish_burst=2.0))
    auth(s, me(world, "ana"))
    ana_entries = [e for e in world.entries.values() if e.author == me(world, "ana").public_key]
    items: list[codec.CborValue] = [[e.raw, e.payload or b""] for e in ana_entries]
    assert len(items) == 3
    assert code(s.receive(request("publish_many", entries=items), 0.0)) == "proto.rate_limited"
    # the two entries charged before the third stay charged
    assert code(s.receive(request("publish", e=ana_entries[0].raw, b=ana_entries[0].payload), 0.0)) == (
        "proto.rate_limited"
    )
    effect = s.receive(request("publish_many", entries=items[:2]), 2.0)
    assert isinstance(effect, PublishMany)
    assert effect.items == tuple((e.raw, e.payload or b"") for e in ana_entries[:2])


# -- reads ---------------------------------------------------------------------------------------------


def test_read_rights_member_former_member_and_stranger() -> None:
    w = World()
    w.add("ana")
    w.add("bob")
    w.rekey("founder")
    w.deliver_keys()
    said = w.say("bob", "before ana leaves")
    w.remove("founder", "ana")
    s = session_of(w)
    g = w.group_id
    stranger = Pseudonym.generate()
    assert code(s.receive(request("fetch", g=bytes(32), after=0, limit=5), 0.0)) == "proto.unauthenticated"
    auth(s, stranger)
    assert code(s.receive(request("fetch", g=g, after=0, limit=5), 0.0)) == "proto.forbidden"
    assert code(s.receive(request("subscribe", g=g, after=0), 0.0)) == "proto.forbidden"
    assert code(s.receive(request("state", g=g), 0.0)) == "proto.forbidden"
    assert code(s.receive(request("fetch", g=bytes(32), after=0, limit=5), 0.0)) == "proto.unknown_group"
    assert s.read_rights(7, g) == Refuse(7, "proto.forbidden", "none of your pseudonyms has joined this group")

    auth(s, me(w, "ana"))  # removed: headers of messages only
    fetch = s.receive(request("fetch", g=g, after=0, limit=50), 0.0)
    assert isinstance(fetch, Fetch) and fetch.full is False
    reader = s.host.core.store
    entries = answer(fetch.answer(reader.iter_group(g, 0, 50)))["entries"]
    assert isinstance(entries, list) and len(entries) == len(w.entries)
    by_header = {item[1]: item[2] for item in entries if isinstance(item, list)}
    assert by_header[said.raw] is None  # a message: no payload for a former member
    assert by_header[w.genesis.raw] == w.genesis.payload  # control payloads stay visible

    auth(s, me(w, "bob"))  # a current member too: everything
    assert s.read_rights(7, g) is True
    full = s.receive(request("fetch", g=g, after=0, limit=50), 0.0)
    assert isinstance(full, Fetch) and full.full
    items = answer(full.answer(reader.iter_group(g, 0, 50)))["entries"]
    assert [said.raw, said.payload] in [item[1:] for item in items]  # type: ignore[index, union-attr]


def test_fetch_answer_keeps_to_the_frame_budget(world: World) -> None:
    messages = [e for e in world.entries.values() if e.kind in kinds.MESSAGE_KINDS]
    record_size = max(len(codec.encode([e.raw, e.payload])) for e in messages)
    # room for one message record and a half: the page is cut after the first
    transport = replace(default_transport_limits(), max_message_size=FRAME_SLACK + record_size * 3 // 2 + 32)
    s = session_of(world, NodeLimits(transport=transport))
    auth(s, me(world, "ana"))
    reader = s.host.core.store
    first_message = next(c for c, r in reader.iter_group(world.group_id, 0, 100) if r.kind in kinds.MESSAGE_KINDS)
    fetch = s.receive(request("fetch", g=world.group_id, after=first_message - 1, limit=100), 0.0)
    assert isinstance(fetch, Fetch)
    page = reader.iter_group(world.group_id, first_message - 1, 100)
    assert len(page) == 2
    page_answer = answer(fetch.answer(page))
    assert page_answer["more"] is True and page_answer["next"] == first_message
    assert [item[0] for item in page_answer["entries"]] == [first_message]  # type: ignore[index, union-attr]
    # an entry larger than the budget still goes, alone: a frame always carries progress
    tiny = replace(default_transport_limits(), max_message_size=FRAME_SLACK)
    lone = Fetch(1, world.group_id, first_message - 1, 100, True, tiny.max_message_size).answer(page)
    assert len(answer(lone)["entries"]) == 1  # type: ignore[arg-type]
    # a page shorter than the limit, all of it in the frame: no more
    everything = Fetch(1, world.group_id, 0, 100, True, MAX_FRAME).answer(reader.iter_group(world.group_id, 0, 100))
    assert answer(everything)["more"] is False


def test_identity_and_state(world: World) -> None:
    s = session_of(world, proofs={world.group_id: [b"proof"]})
    auth(s, me(world, "ana"))
    founder = me(world, "founder").public_key
    assert isinstance(ok(s.receive(request("identity", g=world.group_id, k=founder), 0.0))["doc"], bytes)
    assert code(s.receive(request("identity", g=world.group_id, k=b"\x09" * 32), 0.0)) == "proto.not_found"
    state = ok(s.receive(request("state", g=world.group_id), 0.0))
    assert state["forks"] == [b"proof"] and state["branch"] == [] and state["banned"] == []


# -- subscriptions -------------------------------------------------------------------------------------


def test_subscriptions_per_connection_are_bounded(world: World) -> None:
    s = session_of(world, NodeLimits(max_subscriptions_per_connection=2))
    auth(s, me(world, "ana"))
    first = s.receive(request("subscribe", rid=1, g=world.group_id, after=3), 0.0)
    assert first == Subscribe(1, world.group_id, 3)
    opened = decode_reply(first.opened())
    assert (opened.rid, opened.kind, opened.body) == (1, "ev", {"ev": "subscribed", "next": 3})
    ended = decode_reply(first.ended(9))
    assert (ended.rid, ended.final, ended.body) == (1, True, {"next": 9})
    assert isinstance(s.receive(request("subscribe", rid=2, g=world.group_id, after=3), 0.0), Subscribe)
    assert code(s.receive(request("subscribe", rid=3, g=world.group_id, after=3), 0.0)) == "proto.busy"
    s.unsubscribed(1)
    assert isinstance(s.receive(request("subscribe", rid=3, g=world.group_id, after=3), 0.0), Subscribe)
    assert s.subscriptions == {2, 3}
    s.unsubscribed(2)
    s.unsubscribed(3)
    with pytest.raises(KeyError):
        s.unsubscribed(3)


# -- request ids -----------------------------------------------------------------------------------------


def test_ids_of_deferred_requests_stay_in_flight_until_done(world: World) -> None:
    s = session_of(world)
    auth(s, me(world, "ana"))
    g = world.group_id
    fetch = s.receive(request("fetch", rid=5, g=g, after=0, limit=10), 0.0)
    assert isinstance(fetch, Fetch) and fetch.rid == 5 and s.in_flight == {5}
    # the same id again while it is in flight: refused naming it; the first is still in flight
    assert code(s.receive(request("state", rid=5, g=g), 0.0)) == "proto.duplicate_id"
    assert s.in_flight == {5}
    # requests answered at once hold nothing: their ids may come back at once
    assert ok(s.receive(request("state", rid=6, g=g), 0.0))["members"]
    assert ok(s.receive(request("state", rid=6, g=g), 0.0))["members"]
    assert s.in_flight == {5}
    # answers name their request: two fetches in flight, answered in the other order
    other = s.receive(request("fetch", rid=9, g=g, after=2, limit=1), 0.0)
    assert isinstance(other, Fetch) and s.in_flight == {5, 9}
    reader = s.host.core.store
    later = decode_reply(other.answer(reader.iter_group(g, 2, 1)))
    earlier = decode_reply(fetch.answer(reader.iter_group(g, 0, 10)))
    assert (later.rid, earlier.rid) == (9, 5)
    assert [e[0] for e in later.body["entries"]] == [3]  # type: ignore[index, union-attr]
    s.done(9)
    s.done(5)
    assert s.in_flight == set()
    assert isinstance(s.receive(request("fetch", rid=5, g=g, after=0, limit=10), 0.0), Fetch)  # free again


def test_in_flight_limit(world: World) -> None:
    s = session_of(world)
    auth(s, me(world, "ana"))
    g = world.group_id
    for rid in range(MAX_IN_FLIGHT):
        assert isinstance(s.receive(request("fetch", rid=rid, g=g, after=0, limit=1), 0.0), Fetch)
    assert len(s.in_flight) == MAX_IN_FLIGHT
    assert code(s.receive(request("fetch", rid=MAX_IN_FLIGHT, g=g, after=0, limit=1), 0.0)) == "proto.in_flight"
    assert code(s.receive(request("state", rid=MAX_IN_FLIGHT, g=g), 0.0)) == "proto.in_flight"
    # subscriptions have their own bound, not this one
    s.done(0)
    assert isinstance(s.receive(request("fetch", rid=MAX_IN_FLIGHT, g=g, after=0, limit=1), 0.0), Fetch)
    assert len(s.in_flight) == MAX_IN_FLIGHT


def test_subscription_ids_and_cancel(world: World) -> None:
    s = session_of(world)
    auth(s, me(world, "ana"))
    g = world.group_id
    sub = s.receive(request("subscribe", rid=40, g=g, after=0), 0.0)
    assert isinstance(sub, Subscribe) and s.subscriptions == {40} and s.in_flight == set()
    assert code(s.receive(request("fetch", rid=40, g=g, after=0, limit=1), 0.0)) == "proto.duplicate_id"
    assert s.receive(request("cancel", rid=41, sub=40), 0.0) == CancelSubscription(41, 40)
    s.unsubscribed(40)  # the runtime ended it
    # cancelling what is not (or no longer) an open subscription is answered at once and does nothing
    assert ok(s.receive(request("cancel", rid=42, sub=40), 0.0)) == {}
    assert ok(s.receive(request("cancel", rid=43, sub=12345), 0.0)) == {}
    assert code(s.receive(request("cancel", rid=44, sub=-1), 0.0)) == "proto.malformed_frame"


# -- adopt ---------------------------------------------------------------------------------------------


def test_adopt(world: World) -> None:
    ana = me(world, "ana")
    join = next(e for e in world.entries.values() if e.kind == kinds.JOIN and e.author == ana.public_key)
    address = str(NodeAddress(b"\x07" * 32, "127.0.0.1", 4433))
    adopt = request("adopt", e=join.raw, b=join.payload or b"", hosts=[address])

    hosting = session_of(world, NodeLimits(publish_rate=1.0, publish_burst=2.0))
    auth(hosting, ana)
    effect = hosting.receive(adopt, 0.0)
    assert effect == Publish(effect.rid, join.raw, join.payload, frozenset({ana.public_key}))  # type: ignore[union-attr]
    adopt = request("adopt", e=join.raw, b=join.payload or b"", hosts=[address])
    assert code(hosting.receive(adopt, 0.0)) == "proto.rate_limited"  # the adopt and its publish: two

    elsewhere = ClientSession(Host(NodeCore(MemoryReader())), CHALLENGE, 0.0)
    auth(elsewhere, ana)
    assert code(elsewhere.receive(adopt, 0.0)) == "proto.unknown_group"  # no federation to fetch it
    federating = ClientSession(Host(NodeCore(MemoryReader()), federates=True), CHALLENGE, 0.0)
    auth(federating, ana)
    effect = federating.receive(adopt, 0.0)
    assert effect == Adopt(effect.rid, join.raw, join.payload, (NodeAddress.parse(address),))  # type: ignore[union-attr]
    bad_host = request("adopt", e=join.raw, b=join.payload or b"", hosts=["holdspace://nothing"])
    assert code(federating.receive(bad_host, 0.0)) == "address.malformed"


# -- bad frames ----------------------------------------------------------------------------------------


def test_unknown_and_malformed_requests(world: World) -> None:
    s = session_of(world)
    # the id could be read: refused naming it, the session goes on
    assert code(s.receive(request("delete", g=world.group_id), 0.0)) == "proto.unknown_op"
    assert code(s.receive(request("hello", v=2, extra=1), 0.0)) == "proto.malformed_frame"
    assert code(s.receive(request("fetch", g=world.group_id, after=0, limit=513), 0.0)) == "proto.malformed_frame"
    assert code(s.receive(codec.encode({"id": 3, "op": 7}), 0.0)) == "proto.malformed_frame"

    # no id to answer: the session ends (an error without id, then the close)
    def closed(frame: bytes) -> str:
        effect = s.receive(frame, 0.0)
        assert isinstance(effect, Close), effect
        assert decode_reply(effect.frame).rid is None
        return effect.code

    assert closed(b"\xa1\x61") == "proto.malformed_frame"
    assert closed(codec.encode([1, 2])) == "proto.malformed_frame"
    assert closed(codec.encode({"op": "state", "g": world.group_id})) == "proto.malformed_frame"
    assert closed(codec.encode({"op": "state", "id": -1, "g": world.group_id})) == "proto.malformed_frame"
    assert closed(codec.encode({"op": "state", "id": "7", "g": world.group_id})) == "proto.malformed_frame"
    assert closed(b"\x00" * (MAX_FRAME + 1)) == "proto.too_large"


def test_the_session_imports_neither_trio_nor_lmdb_nor_a_transport() -> None:
    script = (
        "import sys, holdspace.node.session, holdspace.node.framing, holdspace.node.rates; "
        "print(sorted(m for m in sys.modules if m in ('lmdb', 'trio', 'aioquic') or m.startswith('holdspace.node.transport')))"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_federation_and_the_server_do_not_import_each_other() -> None:
    for module, other in (("node.federation", "node.server"), ("node.server", "node.federation")):
        script = f"import sys, {module}; print({other!r} in sys.modules)"
        out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
        assert out.stdout.strip() == "False", module


# -- any sequence of frames ----------------------------------------------------------------------------

OPS = [
    "hello",
    "auth",
    "publish",
    "publish_many",
    "fetch",
    "subscribe",
    "state",
    "identity",
    "adopt",
    "cancel",
    "bogus",
]
FIELDS = ["g", "k", "e", "b", "v", "after", "limit", "sig", "hosts", "entries", "sub", "id"]
small_bytes = st.one_of(st.binary(max_size=40), st.sampled_from([b"", bytes(32), b"\xff" * 32]))
text = st.text(st.characters(blacklist_categories=["Cs"]), max_size=20)  # no lone surrogates: always encodable
value = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**64) + 1, 2**64 - 1), text, small_bytes),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


class SessionMachine(RuleBasedStateMachine):
    """Random frames, well-formed or not, at increasing times: the session answers each with an effect
    (a refusal carries a registered code), and its bounds hold throughout."""

    world = World()
    world.add("ana")
    world.rekey("founder")
    world.deliver_keys()
    world.say("ana", "hi")
    core, _reader = hosted(world)
    entries: ClassVar[list[Entry]] = list(world.entries.values())

    def __init__(self) -> None:
        super().__init__()
        limits = NodeLimits(
            request_rate=50.0,
            request_burst=20.0,
            publish_rate=5.0,
            publish_burst=3.0,
            max_pseudonyms_per_connection=3,
            max_subscriptions_per_connection=2,
        )
        self.session = ClientSession(Host(self.core, limits, federates=True), CHALLENGE, 0.0)
        self.now = 0.0

    def _receive(self, frame: bytes) -> Effect:
        effect = self.session.receive(frame, self.now)
        assert isinstance(
            effect, Answer | Refuse | Close | CancelSubscription | Publish | PublishMany | Adopt | Fetch | Subscribe
        )
        if isinstance(effect, Refuse | Close):
            assert effect.code in CODES
        return effect

    @rule(data=st.binary(max_size=200))
    def raw_bytes(self, data: bytes) -> None:
        self._receive(data)

    @rule(
        op=st.sampled_from(OPS),
        fields=st.dictionaries(st.sampled_from(FIELDS), value, max_size=4),
    )
    def any_request(self, op: str, fields: dict[str, codec.CborValue]) -> None:
        try:
            frame = codec.encode({"op": op, **fields})  # an "id" field only if drawn
        except CodecError:  # a lone surrogate in a drawn text
            return
        self._receive(frame)

    @rule(
        op=st.sampled_from(["publish", "publish_many", "adopt", "auth", "identity", "fetch", "subscribe", "state"]),
        blob=st.one_of(small_bytes, value.map(codec.encode), st.tuples(st.sampled_from(entries), st.integers(0, 999))),
        key=st.one_of(
            st.sampled_from([world.group_id, bytes(32), world.genesis.author]), st.binary(min_size=32, max_size=32)
        ),
        n=st.integers(0, 2**64 - 1),
    )
    def well_formed(self, op: str, blob: bytes | tuple[Entry, int], key: bytes, n: int) -> None:
        """A request of the right schema whose contents are arbitrary (or a real header with one byte changed)."""
        if isinstance(blob, tuple):
            entry, at = blob
            raw = bytearray(entry.raw)
            raw[at % len(raw)] ^= 1 + at % 255
            blob = bytes(raw)
        blob = blob[:1024]
        hosts: list[codec.CborValue] = [str(NodeAddress(key, "127.0.0.1", 1 + n % 65535)), blob.hex()[:300]]
        fields: dict[str, codec.CborValue] = {
            "publish": {"e": blob, "b": None if n % 2 else blob},
            "publish_many": {"entries": [[blob, blob]] * (1 + n % 3)},
            "adopt": {"e": blob, "b": blob, "hosts": hosts[: 1 + n % 2]},
            "auth": {"k": key, "sig": blob.ljust(64, b"\0")[:64]},
            "identity": {"g": key, "k": key},
            "fetch": {"g": key, "after": n, "limit": 1 + n % 512},
            "subscribe": {"g": key, "after": n},
            "state": {"g": key},
        }[op]  # type: ignore[assignment]
        assert isinstance(self._receive(request(op, **fields)), Effect)  # type: ignore[arg-type]

    @rule(who=st.sampled_from(["founder", "ana", "stranger"]), good=st.booleans())
    def authenticate(self, who: str, good: bool) -> None:
        key = Pseudonym.derive(b"s" * 32, b"x") if who == "stranger" else me(self.world, who)
        effect = auth(self.session, key, self.now, challenge=None if good else b"\x05" * 32)
        if not good:
            assert isinstance(effect, Refuse) and effect.code in ("proto.bad_auth", "proto.rate_limited")

    @rule(
        op=st.sampled_from(["fetch", "subscribe", "state", "identity"]),
        group=st.sampled_from([world.group_id, bytes(32)]),
        after=st.integers(0, 10),
    )
    def read(self, op: str, group: bytes, after: int) -> None:
        fields: dict[str, codec.CborValue] = {"g": group}
        if op in ("fetch", "subscribe"):
            fields["after"] = after
        if op == "fetch":
            fields["limit"] = 5
        if op == "identity":
            fields["k"] = me(self.world, "ana").public_key
        effect = self._receive(request(op, **fields))
        if isinstance(effect, Fetch):
            answer(effect.answer(self.core.store.iter_group(group, after, effect.limit)))
            self.session.done(effect.rid)

    @rule(index=st.integers(0, 100), many=st.booleans(), adopt=st.booleans())
    def publish(self, index: int, many: bool, adopt: bool) -> None:
        entry = self.entries[index % len(self.entries)]
        if adopt:
            address = str(NodeAddress(NODE_KEY, "127.0.0.1", 1))
            frame = request("adopt", e=entry.raw, b=entry.payload or b"", hosts=[address])
        elif many:
            frame = request("publish_many", entries=[[entry.raw, entry.payload or b""]])
        else:
            frame = request("publish", e=entry.raw, b=entry.payload)
        self._receive(frame)

    @rule()
    def end_a_subscription(self) -> None:
        if self.session.subscriptions:
            self.session.unsubscribed(min(self.session.subscriptions))

    @rule()
    def answer_a_request(self) -> None:
        if self.session.in_flight:
            self.session.done(max(self.session.in_flight))

    @rule(rid=st.integers(0, 2**64 - 1))
    def cancel(self, rid: int) -> None:
        target = min(self.session.subscriptions, default=rid)
        effect = self._receive(request("cancel", sub=target))
        assert isinstance(effect, CancelSubscription) == (target in self.session.subscriptions) or isinstance(
            effect, Refuse
        )

    @rule(seconds=st.floats(0, 5, allow_nan=False))
    def wait(self, seconds: float) -> None:
        self.now += seconds

    @invariant()
    def bounded(self) -> None:
        limits = self.session.host.limits
        assert len(self.session.subscriptions) <= limits.max_subscriptions_per_connection
        assert len(self.session.in_flight) <= MAX_IN_FLIGHT
        assert not self.session.in_flight & self.session.subscriptions
        assert len(self.session.authors) <= limits.max_pseudonyms_per_connection
        assert self.session.requests.tokens <= limits.request_burst


SessionMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestSessionMachine = SessionMachine.TestCase
