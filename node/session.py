"""A client connection's session as a sans-I/O state machine (spec 14.1, 14.2, 14.5).

The runtime (``node.server``) hands each request's bytes to :meth:`ClientSession.receive` with the
current time and performs the :data:`Effect` it returns: an answer to send, an entry to check and
store through the core, a page to read, a subscription to run, a group to fetch through federation,
a refusal. The session holds what belongs to one connection: its challenge, its authenticated
pseudonyms, its request rate and its subscription count; it reads the node through
:class:`SessionHost` (the core's group states, the publish rates shared by every connection).

Nothing here awaits, sleeps, reads a clock or draws randomness, and this module imports neither trio
nor lmdb nor a transport: ``now`` and the challenge come from the caller, so tests drive a session
directly, frame by frame, with an explicit ``now`` (``tests/node/test_session.py``).

Invariant: :meth:`ClientSession.receive` returns an effect for any bytes whatever; a request the
node refuses is a :class:`Refuse` carrying a registered code and a sentence. It raises only what the
host's own reads raise (a store failure, which the runtime answers with ``proto.busy``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from node.core import NodeCore
from node.framing import headers_within, items_within_frame
from node.rates import PublishRates, TokenBucket
from node.records import StoredEntry
from protocol import codec, crypto
from protocol.address import NodeAddress
from protocol.entry import decode_entry
from protocol.errors import HoldspaceError
from protocol.frames import (
    CHALLENGE_SIZE,
    PROTOCOL_VERSION,
    ProtocolError,
    Request,
    auth_message,
    decode_request,
    encode_fetch_ok,
    encode_ok,
)

if TYPE_CHECKING:  # node.limits names the transport's limits: not imported here (no transport)
    from node.limits import NodeLimits

RESET_REQUEST_TIMEOUT = 2  # stream reset code: the request was not complete within request_timeout


class SessionHost(Protocol):
    """What a client session reads from its node (``node.server.Node`` implements it)."""

    @property
    def public_key(self) -> bytes:
        """The node's Ed25519 key (signed over in ``auth``)."""

    @property
    def limits(self) -> NodeLimits: ...

    @property
    def core(self) -> NodeCore:
        """The groups this node hosts and their states (read rights, ``state``, ``identity``)."""

    @property
    def rates(self) -> PublishRates:
        """Per-pseudonym publish rates, shared by every connection."""

    @property
    def federates(self) -> bool:
        """Whether this node can fetch a group hosted elsewhere (``adopt``)."""

    def fork_proofs(self, group: bytes) -> list[bytes]:
        """The fork proofs held for ``group``."""


# -- effects: what the runtime does for one request -------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answer:
    """Send ``frame`` (an encoded answer) on the request's stream, then finish it."""

    frame: bytes


@dataclass(frozen=True, slots=True)
class Refuse:
    """Answer ``{"err": {"code", "msg"}}`` and finish: the request is refused (counted by ``code``)."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Reset:
    """Reset the request's stream with application error ``code``; counted as refused with ``counted``."""

    code: int
    counted: str


@dataclass(frozen=True, slots=True)
class Publish:
    """Check the entry through the core and store it durably if it takes effect (spec 14.2 rules 2
    and 3); answer ``{"id", "c"}`` or the refusal. The author's publish rate is already charged."""

    header: bytes
    payload: bytes | None
    authors: frozenset[bytes]


@dataclass(frozen=True, slots=True)
class PublishMany:
    """Check ``items`` in order and store those taking effect in one durable transaction (spec 14.2
    rule 3); answer one result per entry. Every entry's publish rate is already charged."""

    items: tuple[tuple[bytes, bytes], ...]
    authors: frozenset[bytes]


@dataclass(frozen=True, slots=True)
class Adopt:
    """A join of a group this node does not host: federation offers it to ``hosts`` and pulls the
    group (spec 14.2 rule 7). The author's publish rate is already charged."""

    header: bytes
    payload: bytes | None
    hosts: tuple[NodeAddress, ...]


@dataclass(frozen=True, slots=True)
class Fetch:
    """Read up to ``limit`` entries of ``group`` after cursor ``after`` from the store, then send
    :meth:`answer` of that page. ``full`` False: the reader is a former member (headers only for
    message kinds, spec 14.2 rule 4)."""

    group: bytes
    after: int
    limit: int
    full: bool
    max_frame: int

    def answer(self, page: list[tuple[int, StoredEntry]]) -> bytes:
        """The ``fetch`` answer for ``page``: as many entries as fit one frame; ``more`` when some were
        left out or the page is full."""
        entries, last = items_within_frame(page, self.after, self.full, self.max_frame)
        more = len(entries) < len(page) or len(page) == self.limit
        return encode_fetch_ok(entries, last, more)


@dataclass(frozen=True, slots=True)
class Subscribe:
    """Send :meth:`opened`, then the group's entries after ``after`` as events, asking
    :meth:`ClientSession.read_rights` before each. The subscription's slot is taken: call
    :meth:`ClientSession.unsubscribed` once the stream ends, however it ends."""

    group: bytes
    after: int

    def opened(self) -> bytes:
        return encode_ok({"next": self.after})


Effect = Answer | Refuse | Reset | Publish | PublishMany | Adopt | Fetch | Subscribe


def header_group(header: bytes) -> bytes:
    """The group of an entry header (its signature is verified later, by whoever stores it)."""
    return decode_entry(header, None, now_ms=None, verify=False).log_group


class ClientSession:
    """One client connection (spec 14.1). State: the challenge (fixed), the pseudonyms authenticated
    so far (at most ``max_pseudonyms_per_connection``, never removed), the request bucket, and the
    number of open subscriptions (at most ``max_subscriptions_per_connection``).

    There is no handshake order to keep: ``hello`` only tells the client the challenge, and every
    request that needs a pseudonym refuses with ``proto.unauthenticated`` until one is authenticated.
    """

    def __init__(self, host: SessionHost, challenge: bytes, now: float) -> None:
        if len(challenge) != CHALLENGE_SIZE:
            raise ValueError(f"a challenge is {CHALLENGE_SIZE} bytes")
        self.host = host
        self.challenge = challenge
        self.authors: set[bytes] = set()
        self.subscriptions = 0
        limits = host.limits
        self.requests = TokenBucket(limits.request_rate, limits.request_burst, now)

    # -- the runtime's calls ------------------------------------------------------------------------

    def receive(self, data: bytes, now: float) -> Effect:
        """The effect of one complete request ``data`` received at ``now`` (seconds, monotonic).

        Checked, in order: the connection's request rate (``proto.rate_limited``); the frame and its
        schema (``decode_request``: ``proto.too_large``, ``proto.malformed_frame``,
        ``proto.unknown_op``); then the operation's own checks (:meth:`_dispatch`). Any failure is a
        :class:`Refuse` with its code."""
        try:
            if not self.requests.take(now):
                raise ProtocolError("proto.rate_limited", "too many requests on this connection")
            return self._dispatch(decode_request(data), now)
        except HoldspaceError as err:
            return Refuse(err.code, err.message)

    @property
    def request_timeout(self) -> float:
        """Seconds a client has to send a whole request on a stream."""
        return self.host.limits.request_timeout

    def timed_out(self) -> Reset:
        """The effect of a request not complete within :attr:`request_timeout`: its stream is reset
        (what it holds is freed) and the connection continues (spec 14.5)."""
        return Reset(RESET_REQUEST_TIMEOUT, "proto.request_timeout")

    def read_rights(self, group: bytes) -> bool | Refuse:
        """Whether this connection reads ``group`` in full (True: one of its pseudonyms is a current
        member) or as a former member, served every header but no message payload (False); else the
        refusal (spec 14.2 rule 4). Checked, in order: a pseudonym is authenticated
        (``proto.unauthenticated``); the node hosts the group (``proto.unknown_group``); one pseudonym
        is a current member (True); one was ever a member (False; else ``proto.forbidden``)."""
        try:
            return self._check_read(group)
        except HoldspaceError as err:
            return Refuse(err.code, err.message)

    def unsubscribed(self) -> None:
        """A subscription this session opened (a :class:`Subscribe` effect) has ended."""
        if self.subscriptions <= 0:
            raise ValueError("no subscription is open")
        self.subscriptions -= 1

    # -- decisions ----------------------------------------------------------------------------------

    def _dispatch(self, request: Request, now: float) -> Effect:
        host = self.host
        if request.op == "hello":
            if request.int_of("v") != PROTOCOL_VERSION:
                raise ProtocolError("proto.bad_version", f"this node speaks protocol version {PROTOCOL_VERSION}")
            return Answer(
                encode_ok(
                    {
                        "v": PROTOCOL_VERSION,
                        "node": host.public_key,
                        "challenge": self.challenge,
                        "limits": {
                            "publish_rate": int(host.limits.publish_rate),
                            "max_frame": host.limits.transport.max_message_size,
                        },
                    }
                )
            )
        if request.op == "auth":
            return self._auth(request.bytes_of("k"), request.bytes_of("sig"))
        authors = frozenset(self.authors)
        if request.op == "publish":
            header, body = request.bytes_of("e"), request.fields["b"]
            host.rates.charge(header, authors, now)
            return Publish(header, body if isinstance(body, bytes) else None, authors)
        if request.op == "publish_many":
            entries = request.fields["entries"]
            assert isinstance(entries, list)
            items: list[tuple[bytes, bytes]] = []
            for item in entries:  # the schema checked: [header: bytes, payload: bytes]
                assert isinstance(item, list) and isinstance(item[0], bytes) and isinstance(item[1], bytes)
                items.append((item[0], item[1]))
            for header, _payload in items:  # every author authenticated, each entry charged, in order
                host.rates.charge(header, authors, now)
            return PublishMany(tuple(items), authors)
        if request.op == "adopt":
            return self._adopt(request, authors, now)
        if request.op == "fetch":
            group = request.bytes_of("g")
            full = self._check_read(group)
            max_frame = host.limits.transport.max_message_size
            return Fetch(group, request.int_of("after"), request.int_of("limit"), full, max_frame)
        if request.op == "state":
            return self._state(request.bytes_of("g"))
        if request.op == "identity":
            group = request.bytes_of("g")
            self._check_read(group)
            document = host.core.identity_document(group, request.bytes_of("k"))
            if document is None:
                raise ProtocolError("proto.not_found", "no identity document for that pseudonym in this group")
            return Answer(encode_ok({"doc": document}))
        if request.op == "subscribe":
            group = request.bytes_of("g")
            self._check_read(group)  # the runtime asks again for every event (read_rights)
            if self.subscriptions >= host.limits.max_subscriptions_per_connection:
                raise ProtocolError("proto.busy", "too many subscriptions on this connection")
            self.subscriptions += 1
            return Subscribe(group, request.int_of("after"))
        raise ProtocolError("proto.unknown_op")  # pragma: no cover - decode_request checked it

    def _auth(self, key: bytes, sig: bytes) -> Answer:
        """Add ``key`` to the connection's pseudonyms. Checked, in order: ``sig`` signs this
        connection's challenge, the node's key and ``key`` (``proto.bad_auth``); a new pseudonym
        fits under ``max_pseudonyms_per_connection`` (``proto.busy``; one already held is fine)."""
        if not crypto.ed25519_verify(key, auth_message(self.challenge, self.host.public_key, key), sig):
            raise ProtocolError("proto.bad_auth")
        if key not in self.authors and len(self.authors) >= self.host.limits.max_pseudonyms_per_connection:
            raise ProtocolError("proto.busy", "too many pseudonyms on one connection")
        self.authors.add(key)
        return Answer(encode_ok({}))

    def _adopt(self, request: Request, authors: frozenset[bytes], now: float) -> Publish | Adopt:
        """Spec 14.2 rule 7. Checked, in order: the author is authenticated and its publish rate
        allows the entry (:meth:`PublishRates.charge`); every host is a node address (its
        ``address.*`` or ``identity.*`` code); the header decodes (its code). A group hosted here is a
        :class:`Publish`, charged once more (the adopt, then the publish it becomes); otherwise the
        node must federate (``proto.unknown_group``)."""
        header, body = request.bytes_of("e"), request.fields["b"]
        self.host.rates.charge(header, authors, now)
        hosts = request.fields["hosts"]
        assert isinstance(hosts, list)
        addresses = tuple(NodeAddress.parse(h) for h in hosts if isinstance(h, str))
        payload = body if isinstance(body, bytes) else None
        if self.host.core.hosts(header_group(header)):
            self.host.rates.charge(header, authors, now)
            return Publish(header, payload, authors)
        if not self.host.federates:
            raise ProtocolError("proto.unknown_group", "this node does not federate, so it cannot join that group")
        return Adopt(header, payload, addresses)

    def _state(self, group: bytes) -> Answer:
        """The ``state`` answer (spec 14.2 rule 8), after the read check."""
        self._check_read(group)
        core = self.host.core
        state = core.view(group)
        banned: list[codec.CborValue] = [*sorted(state.banned)]
        forks: list[codec.CborValue] = [*self.host.fork_proofs(group)]
        branch = headers_within(core.other_headers(group), self.host.limits.transport.max_message_size // 2)
        return Answer(
            encode_ok(
                {
                    "members": [[k, m.role] for k, m in sorted(state.members.items())],
                    "banned": banned,
                    "heads": list(state.heads),
                    "epochs": [e.entry_id for e in state.epochs],
                    "hosts": [state.hosts[k] for k in sorted(state.hosts)],
                    "forks": forks,
                    "branch": branch,  # headers at forked positions not held here, in half a frame (12.5)
                }
            )
        )

    def _check_read(self, group: bytes) -> bool:
        """:meth:`read_rights`, raising the refusal."""
        if not self.authors:
            raise ProtocolError("proto.unauthenticated", "authenticate a pseudonym first")
        core = self.host.core
        if not core.hosts(group):
            raise ProtocolError("proto.unknown_group")
        if core.may_read(group, self.authors):
            return True
        state = core.view(group)
        if not any(state.ever_member(k) for k in self.authors):
            raise ProtocolError("proto.forbidden", "none of your pseudonyms has joined this group")
        return False
