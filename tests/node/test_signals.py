"""Live-call signals through the node (spec 17.11), driven on the sans-I/O session and core: no trio,
no sockets. A member's signal reaches the recipient's listening connections only; a non-member, a
removed member, an oversize box and a sender over its rate are refused with their codes; nothing is
ever stored."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from holdspace.node.session import Answer, CancelSubscription, ClientSession, Listen, Relay
from holdspace.node.signals import SignalBoard, TurnRelay, turn_credentials
from holdspace.protocol import calls, codec, crypto
from holdspace.protocol.calls import MAX_SIGNAL_BOX, SIGNAL_BURST, SIGNAL_RATE, Signal
from holdspace.protocol.errors import CryptoError
from holdspace.protocol.frames import decode_reply
from holdspace.protocol.identity import Pseudonym
from tests.group_world import World

from .core_driver import hosted, store_all
from .test_session import CHALLENGE, Host, auth, code, request


@pytest.fixture
def world() -> World:
    """founder, ana and bo, members of one group."""
    w = World()
    w.add("ana")
    w.add("bo")
    return w


class Node:
    """One node core over a memory store, and connections to it."""

    def __init__(self, w: World) -> None:
        self.world = w
        self.core, self.reader = hosted(w)
        self.host = Host(self.core)

    def connect(self, name: str, now: float = 0.0) -> ClientSession:
        session = ClientSession(self.host, CHALLENGE, now)  # type: ignore[arg-type]
        assert isinstance(auth(session, self.me(name), now), Answer)
        return session

    def me(self, name: str) -> Pseudonym:
        return self.world.people[name].writer.me

    def listen(self, session: ClientSession) -> Listen:
        effect = session.receive(request("listen", g=self.world.group_id), 0.0)
        assert isinstance(effect, Listen), effect
        return effect

    def signal(self, session: ClientSession, sender: str, to: bytes, box: bytes, now: float = 0.0) -> object:
        frame = request("signal", g=self.world.group_id, to=to, box=box, **{"from": self.me(sender).public_key})
        return session.receive(frame, now)

    def stored(self) -> int:
        return self.reader.count(self.world.group_id)


def sealed(node: Node, sender: str, recipient: str, kind: str = "offer") -> bytes:
    me, them = node.me(sender), node.me(recipient)
    signal = Signal(b"\x07" * 16, kind, "v=0\r\n", 1_000)
    return calls.seal_signal(me.seed, node.world.group_id, them.public_key, them.x_public_key, signal)


def test_a_members_signal_reaches_only_the_recipients_listening_connections_and_nothing_is_stored(
    world: World,
) -> None:
    node = Node(world)
    ana, bo, bo_too, founder = node.connect("ana"), node.connect("bo"), node.connect("bo"), node.connect("founder")
    listens = [node.listen(s) for s in (bo, bo_too, founder)]
    assert codec.decode(listens[0].opened()) == {"id": listens[0].rid, "ev": "listening"}
    before = node.stored()
    box = sealed(node, "ana", "bo")
    relay = node.signal(ana, "ana", node.me("bo").public_key, box)
    assert isinstance(relay, Relay)
    assert decode_reply(relay.frame).result() == {"n": 2}  # bo's two connections, not the founder's
    assert {c for c, _ in relay.deliveries} == {bo, bo_too}
    by_connection = dict(relay.deliveries)
    event = codec.decode(by_connection[bo])
    assert event == {
        "id": listens[0].rid,
        "ev": "signal",
        "g": world.group_id,
        "from": node.me("ana").public_key,
        "to": node.me("bo").public_key,
        "box": box,
    }
    assert codec.decode(by_connection[bo_too])["id"] == listens[1].rid  # type: ignore[index]
    # bo opens it, checking ana signed it for bo in this group
    bo_me = node.me("bo")
    opened = calls.open_signal(bo_me.x_secret, world.group_id, node.me("ana").public_key, bo_me.public_key, box, 1_000)
    assert opened.type == "offer" and opened.data == "v=0\r\n"
    assert node.stored() == before  # signals are never stored
    assert not any(isinstance(e, bytes) and b"v=0" in e for e in node.reader.meta_items(b"", limit=1000))


def test_a_signal_to_no_listener_goes_nowhere_and_a_cancelled_listen_receives_nothing(world: World) -> None:
    node = Node(world)
    ana, bo = node.connect("ana"), node.connect("bo")
    relay = node.signal(ana, "ana", node.me("bo").public_key, b"x" * 100)
    assert isinstance(relay, Relay) and relay.deliveries == ()
    listen = node.listen(bo)
    cancel = bo.receive(request("cancel", sub=listen.rid), 0.0)
    assert isinstance(cancel, CancelSubscription) and cancel.target == listen.rid
    bo.unsubscribed(listen.rid)  # the runtime's call once the listen's final frame is written
    relay = node.signal(ana, "ana", node.me("bo").public_key, b"x" * 100)
    assert isinstance(relay, Relay) and relay.deliveries == ()
    node.listen(bo)
    bo.closed()  # the connection ended
    relay = node.signal(ana, "ana", node.me("bo").public_key, b"x" * 100)
    assert isinstance(relay, Relay) and relay.deliveries == ()
    assert len(node.core.signals) == 0


def test_signals_from_or_to_non_members_are_refused_with_their_codes(world: World) -> None:
    node = Node(world)
    ana = node.connect("ana")
    stranger = Pseudonym.from_secrets(b"\x11" * 32, b"\x12" * 32)
    outsider = ClientSession(node.host, CHALLENGE, 0.0)  # type: ignore[arg-type]
    assert isinstance(auth(outsider, stranger), Answer)
    group = world.group_id
    frame = request("signal", g=group, to=node.me("ana").public_key, box=b"x", **{"from": stranger.public_key})
    assert code(outsider.receive(frame, 0.0)) == "call.not_member"
    assert code(outsider.receive(request("listen", g=group), 0.0)) == "call.not_member"
    assert code(node.signal(ana, "ana", stranger.public_key, b"x")) == "call.recipient_not_member"
    assert code(node.signal(ana, "ana", node.me("ana").public_key, b"x")) == "call.recipient_not_member"
    # a sender not authenticated on this connection, an unknown group, nobody authenticated
    assert code(node.signal(ana, "bo", node.me("ana").public_key, b"x")) == "proto.unauthenticated"
    other = request(
        "signal", g=b"\x01" * 32, to=node.me("bo").public_key, box=b"x", **{"from": node.me("ana").public_key}
    )
    assert code(ana.receive(other, 0.0)) == "proto.unknown_group"
    anonymous = ClientSession(node.host, CHALLENGE, 0.0)  # type: ignore[arg-type]
    assert code(anonymous.receive(request("listen", g=group), 0.0)) == "proto.unauthenticated"


def test_a_removed_member_is_refused_and_receives_no_more_signals(world: World) -> None:
    node = Node(world)
    ana, bo = node.connect("ana"), node.connect("bo")
    node.listen(bo)
    assert isinstance(node.signal(ana, "ana", node.me("bo").public_key, b"x"), Relay)
    removal = world.remove("founder", "bo")
    store_all(node.core, node.reader, [removal], world.clock)
    node.core.state(world.group_id)
    assert code(node.signal(bo, "bo", node.me("ana").public_key, b"x")) == "call.not_member"
    assert code(node.signal(ana, "ana", node.me("bo").public_key, b"x")) == "call.recipient_not_member"
    assert code(bo.receive(request("listen", g=world.group_id), 0.0)) == "call.not_member"


def test_an_oversize_box_is_refused(world: World) -> None:
    node = Node(world)
    ana = node.connect("ana")
    to = node.me("bo").public_key
    assert isinstance(node.signal(ana, "ana", to, b"x" * MAX_SIGNAL_BOX), Relay)
    assert code(node.signal(ana, "ana", to, b"x" * (MAX_SIGNAL_BOX + 1))) == "call.too_large"


def test_the_signal_rate_is_per_sender_across_its_connections(world: World) -> None:
    node = Node(world)
    first, second, bo = node.connect("ana"), node.connect("ana"), node.connect("bo")
    to = node.me("bo").public_key
    for i in range(SIGNAL_BURST):
        assert isinstance(node.signal(first if i % 2 else second, "ana", to, b"x"), Relay)
    assert code(node.signal(first, "ana", to, b"x")) == "call.rate_limited"
    assert code(node.signal(second, "ana", to, b"x")) == "call.rate_limited"
    assert isinstance(node.signal(bo, "bo", node.me("ana").public_key, b"x"), Relay)  # another sender's own rate
    assert isinstance(node.signal(first, "ana", to, b"x", now=1 / SIGNAL_RATE), Relay)  # one token a 50 ms


def test_signal_payloads_refuse_forgery_replay_to_another_and_staleness(world: World) -> None:
    node = Node(world)
    group, ana, bo, founder = world.group_id, node.me("ana"), node.me("bo"), node.me("founder")
    box = sealed(node, "ana", "bo")
    with pytest.raises(calls.CallError) as err:  # the node claims the founder sent it
        calls.open_signal(bo.x_secret, group, founder.public_key, bo.public_key, box, 1_000)
    assert err.value.code == "call.bad_signature"
    # ana's signal to bo, re-sealed by bo to the founder: the signature names bo as recipient
    plaintext = crypto.seal_open(bo.x_secret, box)
    forwarded = crypto.seal(founder.x_public_key, plaintext)
    with pytest.raises(calls.CallError) as err:
        calls.open_signal(founder.x_secret, group, ana.public_key, founder.public_key, forwarded, 1_000)
    assert err.value.code == "call.bad_signature"
    with pytest.raises(calls.CallError) as err:
        calls.open_signal(bo.x_secret, group, ana.public_key, bo.public_key, box, 1_000 + 60_001)
    assert err.value.code == "call.stale"
    with pytest.raises(CryptoError) as crypto_err:
        calls.open_signal(founder.x_secret, group, ana.public_key, founder.public_key, box, 1_000)
    assert crypto_err.value.code == "crypto.decrypt_failed"


def test_turn_credentials_follow_the_shared_secret_scheme() -> None:
    relay = TurnRelay(("turn:relay.example:3478",), b"shared secret")
    creds = turn_credentials(relay, 1_700_000_000, ttl_s=600)
    assert creds["username"] == "1700000600" and creds["urls"] == ["turn:relay.example:3478"]
    # coturn's check: base64(HMAC-SHA1(secret, username)), computed independently
    expected = base64.b64encode(hmac.new(b"shared secret", b"1700000600", hashlib.sha1).digest()).decode()
    assert creds["credential"] == expected


def test_the_board_forgets_a_connection_entirely() -> None:
    board = SignalBoard()
    board.listen("c1", 1, b"g" * 32, frozenset({b"a" * 32, b"b" * 32}))
    board.listen("c2", 5, b"g" * 32, frozenset({b"a" * 32}))
    assert sorted(board.listeners(b"g" * 32, b"a" * 32)) == [("c1", 1), ("c2", 5)]
    board.unlisten("c1", 2)  # not its listen: nothing changes
    assert len(board) == 2
    board.drop("c1")
    assert board.listeners(b"g" * 32, b"a" * 32) == [("c2", 5)] and board.listeners(b"g" * 32, b"b" * 32) == []
    board.unlisten("c2", 5)
    assert len(board) == 0


def test_a_listen_opens_with_the_relays_credentials_when_the_node_has_one(world: World) -> None:
    node = Node(world)
    listen = node.listen(node.connect("ana"))
    turn = turn_credentials(TurnRelay(("turn:relay.example:3478",), b"k"), 1_700_000_000)
    event = codec.decode(listen.opened(turn))
    assert event == {"id": listen.rid, "ev": "listening", "turn": turn}
    assert codec.decode(listen.ended()) == {"id": listen.rid, "ok": {}}
