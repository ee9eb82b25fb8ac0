"""A client connection's session as a sans-I/O state machine (spec 14.1, 14.2, 14.5).

The runtime (``node.server``) hands each frame read from the session stream to
:meth:`ClientSession.receive` with the current time and performs the :data:`Effect` it returns: an
answer to send, an entry to check and store through the core, a page to read, a subscription to run
or cancel, a group to fetch through federation, a refusal, or the end of the session. Every effect
but :class:`Close` carries the id of the request it serves; every frame the runtime sends for it
carries that id. The session holds what belongs to one connection: its challenge, its authenticated
pseudonyms, its request rate, the ids of its requests in flight and of its open subscriptions; it
reads the node through :class:`SessionHost` (the core's group states, the publish rates shared by
every connection).

Request ids (spec 14.1): an effect the runtime completes later (:class:`Publish`,
:class:`PublishMany`, :class:`Adopt`, :class:`Fetch`) puts its id in :attr:`ClientSession.in_flight`
until the runtime calls :meth:`ClientSession.done`; a :class:`Subscribe` puts it in
:attr:`ClientSession.subscriptions` until :meth:`ClientSession.unsubscribed`. An :class:`Answer`,
:class:`Refuse` or :class:`CancelSubscription` is answered at once and holds nothing. Invariants:
``in_flight`` and ``subscriptions`` are disjoint; ``len(in_flight) <= MAX_IN_FLIGHT`` and
``len(subscriptions) <= max_subscriptions_per_connection``.

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

from holdspace.node.core import NodeCore
from holdspace.node.framing import headers_within, items_within_frame
from holdspace.node.rates import PublishRates, TokenBucket
from holdspace.node.records import StoredEntry
from holdspace.protocol import codec, crypto
from holdspace.protocol.address import NodeAddress
from holdspace.protocol.entry import decode_entry
from holdspace.protocol.errors import AdmissionError, HoldspaceError
from holdspace.protocol.frames import (
    CHALLENGE_SIZE,
    MAX_IN_FLIGHT,
    PROTOCOL_VERSION,
    SUPPORTED_VERSIONS,
    FrameError,
    ProtocolError,
    Request,
    auth_message,
    decode_client_request,
    encode_answer,
    encode_client_event,
    encode_fetch_ok,
    encode_refusal,
)

if TYPE_CHECKING:  # node.limits names the transport's limits: not imported here (no transport)
    from holdspace.node.limits import NodeLimits

RESET_EXTRA_STREAM = 3  # stream reset code: a client stream other than the session stream (spec 14.1)


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

    @property
    def web_origin(self) -> str | None:
        """The node's web endpoint (``https://host:port``), if it serves one (told in ``hello``)."""

    def fork_proofs(self, group: bytes) -> list[bytes]:
        """The fork proofs held for ``group``."""


# -- effects: what the runtime does for one request -------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answer:
    """Send ``frame``, the final answer of request ``rid``."""

    rid: int
    frame: bytes


@dataclass(frozen=True, slots=True)
class Refuse:
    """Answer ``{"id": rid, "err": {"code", "msg"}}``: the request is refused (counted by ``code``)."""

    rid: int
    code: str
    message: str

    @property
    def frame(self) -> bytes:
        return encode_refusal(self.rid, self.code, self.message)


@dataclass(frozen=True, slots=True)
class Close:
    """Send :attr:`frame` (an error without id), then close the connection with ``CLOSE_BAD_FRAME``:
    a frame whose request id could not be read leaves nothing to answer (counted by ``code``)."""

    code: str
    message: str

    @property
    def frame(self) -> bytes:
        return encode_refusal(None, self.code, self.message)


@dataclass(frozen=True, slots=True)
class CancelSubscription:
    """End subscription ``target`` (its final ``ok`` frame first), then answer request ``rid`` with
    ``{"id": rid, "ok": {}}``."""

    rid: int
    target: int


@dataclass(frozen=True, slots=True)
class Publish:
    """Check the entry through the core and store it durably if it takes effect (spec 14.2 rules 2
    and 3); answer ``{"id", "c"}`` or the refusal. The author's publish rate is already charged."""

    rid: int
    header: bytes
    payload: bytes | None
    authors: frozenset[bytes]
    token: bytes | None = None  # the operator's token given with a genesis (spec 14.6)


@dataclass(frozen=True, slots=True)
class PublishMany:
    """Check ``items`` in order and store those taking effect in one durable transaction (spec 14.2
    rule 3); answer one result per entry. Every entry's publish rate is already charged."""

    rid: int
    items: tuple[tuple[bytes, bytes], ...]
    authors: frozenset[bytes]


@dataclass(frozen=True, slots=True)
class Adopt:
    """A join of a group this node does not host: federation offers it to ``hosts`` and pulls the
    group (spec 14.2 rule 7). The author's publish rate is already charged."""

    rid: int
    header: bytes
    payload: bytes | None
    hosts: tuple[NodeAddress, ...]
    token: bytes | None = None  # the operator's token (spec 14.6): the runtime admits the group first


@dataclass(frozen=True, slots=True)
class Fetch:
    """Read up to ``limit`` entries of ``group`` after cursor ``after`` from the store, then send
    :meth:`answer` of that page. ``full`` False: the reader is a former member (headers only for
    message kinds, spec 14.2 rule 4)."""

    rid: int
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
        return encode_fetch_ok(self.rid, entries, last, more)


@dataclass(frozen=True, slots=True)
class Subscribe:
    """Send :meth:`opened`, then the group's entries after ``after`` as events carrying ``rid``,
    asking :meth:`ClientSession.read_rights` before each; once cancelled, the final :meth:`ended`.
    The subscription's slot is taken: call :meth:`ClientSession.unsubscribed` once it ends, however
    it ends."""

    rid: int
    group: bytes
    after: int

    def opened(self) -> bytes:
        return encode_client_event(self.rid, "subscribed", next=self.after)

    def ended(self, cursor: int) -> bytes:
        """The final answer of a cancelled subscription: the last cursor it sent."""
        return encode_answer(self.rid, {"next": cursor})


Effect = Answer | Refuse | Close | CancelSubscription | Publish | PublishMany | Adopt | Fetch | Subscribe


def _token(request: Request) -> bytes | None:
    """The operator's token a ``publish`` or ``adopt`` carries, if any (version 3)."""
    token = request.fields.get("token")
    return token if isinstance(token, bytes) else None


def header_group(header: bytes) -> bytes:
    """The group of an entry header (its signature is verified later, by whoever stores it)."""
    return decode_entry(header, None, now_ms=None, verify=False).log_group


class ClientSession:
    """One client connection (spec 14.1). State: the challenge (fixed), the pseudonyms authenticated
    so far (at most ``max_pseudonyms_per_connection``, never removed), the request bucket, the ids of
    the requests in flight (at most ``MAX_IN_FLIGHT``) and of the open subscriptions (at most
    ``max_subscriptions_per_connection``).

    There is no handshake order to keep: ``hello`` only tells the client the challenge, and every
    request that needs a pseudonym refuses with ``proto.unauthenticated`` until one is authenticated.
    """

    def __init__(self, host: SessionHost, challenge: bytes, now: float) -> None:
        if len(challenge) != CHALLENGE_SIZE:
            raise ValueError(f"a challenge is {CHALLENGE_SIZE} bytes")
        self.host = host
        self.challenge = challenge
        self.authors: set[bytes] = set()
        self.in_flight: set[int] = set()
        self.subscriptions: set[int] = set()
        limits = host.limits
        self.requests = TokenBucket(limits.request_rate, limits.request_burst, now)

    # -- the runtime's calls ------------------------------------------------------------------------

    def receive(self, data: bytes, now: float) -> Effect:
        """The effect of one frame ``data`` of the session stream, received at ``now`` (seconds,
        monotonic).

        Every frame spends a token of the connection's request rate, refused or not. Checked, in
        order: the frame and its schema (``decode_client_request``: a frame whose id cannot be read
        is a :class:`Close` with ``proto.too_large``, ``proto.malformed_frame`` or, for a version-1
        hello, ``proto.bad_version``; otherwise ``proto.malformed_frame`` or ``proto.unknown_op``
        naming the id); the request rate (``proto.rate_limited``); the id is not in flight
        (``proto.duplicate_id``); fewer than ``MAX_IN_FLIGHT`` requests are in flight
        (``proto.in_flight``); then the operation's own checks (:meth:`_dispatch`). Any failure
        after the id is read is a :class:`Refuse` naming it."""
        within_rate = self.requests.take(now)
        try:
            request = decode_client_request(data)
        except FrameError as err:
            if err.rid is None:
                return Close(err.code, err.message)
            return Refuse(err.rid, err.code, err.message)
        rid = request.rid
        try:
            if not within_rate:
                raise ProtocolError("proto.rate_limited", "too many requests on this connection")
            if rid in self.in_flight or rid in self.subscriptions:
                raise ProtocolError("proto.duplicate_id", f"request {rid} is still in flight")
            if len(self.in_flight) >= MAX_IN_FLIGHT:
                raise ProtocolError("proto.in_flight", f"at most {MAX_IN_FLIGHT} requests may be in flight")
            effect = self._dispatch(request, now)
        except HoldspaceError as err:
            return Refuse(rid, err.code, err.message)
        if isinstance(effect, Publish | PublishMany | Adopt | Fetch):
            self.in_flight.add(rid)
        return effect

    def done(self, rid: int) -> None:
        """The final answer of request ``rid`` (a :class:`Publish`, :class:`PublishMany`,
        :class:`Adopt` or :class:`Fetch`) was sent, or the session ended first."""
        self.in_flight.remove(rid)

    def read_rights(self, rid: int, group: bytes) -> bool | Refuse:
        """Whether this connection reads ``group`` in full (True: one of its pseudonyms is a current
        member) or as a former member, served every header but no message payload (False); else the
        refusal (spec 14.2 rule 4). Checked, in order: a pseudonym is authenticated
        (``proto.unauthenticated``); the operator does not refuse the group
        (``admission.group_refused``); the node hosts the group (``proto.unknown_group``); one pseudonym
        is a current member (True); one was ever a member (False; else ``proto.forbidden``)."""
        try:
            return self._check_read(group)
        except HoldspaceError as err:
            return Refuse(rid, err.code, err.message)

    def unsubscribed(self, rid: int) -> None:
        """Subscription ``rid`` (a :class:`Subscribe` effect) has ended."""
        self.subscriptions.remove(rid)

    # -- decisions ----------------------------------------------------------------------------------

    def _dispatch(self, request: Request, now: float) -> Effect:
        host, rid = self.host, request.rid
        if request.op == "hello":
            return Answer(rid, encode_answer(rid, self._hello(request.int_of("v"))))
        if request.op == "auth":
            self._auth(request.bytes_of("k"), request.bytes_of("sig"))
            return Answer(rid, encode_answer(rid, {}))
        if request.op == "cancel":
            target = request.int_of("sub")
            if target not in self.subscriptions:  # already ended, or never one: nothing to do
                return Answer(rid, encode_answer(rid, {}))
            return CancelSubscription(rid, target)
        authors = frozenset(self.authors)
        if request.op == "publish":
            header, body = request.bytes_of("e"), request.fields["b"]
            host.rates.charge(header, authors, now)
            return Publish(rid, header, body if isinstance(body, bytes) else None, authors, _token(request))
        if request.op == "publish_many":
            entries = request.fields["entries"]
            assert isinstance(entries, list)
            items: list[tuple[bytes, bytes]] = []
            for item in entries:  # the schema checked: [header: bytes, payload: bytes]
                assert isinstance(item, list) and isinstance(item[0], bytes) and isinstance(item[1], bytes)
                items.append((item[0], item[1]))
            for header, _payload in items:  # every author authenticated, each entry charged, in order
                host.rates.charge(header, authors, now)
            return PublishMany(rid, tuple(items), authors)
        if request.op == "adopt":
            return self._adopt(request, authors, now)
        if request.op == "fetch":
            group = request.bytes_of("g")
            full = self._check_read(group)
            max_frame = host.limits.transport.max_message_size
            return Fetch(rid, group, request.int_of("after"), request.int_of("limit"), full, max_frame)
        if request.op == "state":
            return Answer(rid, encode_answer(rid, self._state(request.bytes_of("g"))))
        if request.op == "identity":
            group = request.bytes_of("g")
            self._check_read(group)
            document = host.core.identity_document(group, request.bytes_of("k"))
            if document is None:
                raise ProtocolError("proto.not_found", "no identity document for that pseudonym in this group")
            return Answer(rid, encode_answer(rid, {"doc": document}))
        if request.op == "subscribe":
            group = request.bytes_of("g")
            self._check_read(group)  # the runtime asks again for every event (read_rights)
            if len(self.subscriptions) >= host.limits.max_subscriptions_per_connection:
                raise ProtocolError("proto.busy", "too many subscriptions on this connection")
            self.subscriptions.add(rid)
            return Subscribe(rid, group, request.int_of("after"))
        raise ProtocolError("proto.unknown_op")  # pragma: no cover - decode_request checked it

    def _hello(self, version: int) -> dict[str, codec.CborValue]:
        """The ``hello`` answer (spec 14.2) in the client's version: 2, or 3, which adds the operator's
        ``create`` policy and, if set, its ``contact`` (14.6) and the node's ``web`` origin (14.3);
        another is ``proto.bad_version``."""
        if version not in SUPPORTED_VERSIONS:
            raise ProtocolError("proto.bad_version", f"this node speaks protocol versions {SUPPORTED_VERSIONS}")
        host = self.host
        answer: dict[str, codec.CborValue] = {
            "v": version,
            "node": host.public_key,
            "challenge": self.challenge,
            "limits": {
                "publish_rate": int(host.limits.publish_rate),
                "max_frame": host.limits.transport.max_message_size,
                "in_flight": MAX_IN_FLIGHT,
            },
        }
        if version >= PROTOCOL_VERSION:
            policy = host.core.policy
            answer["create"] = policy.create
            if policy.contact is not None:
                answer["contact"] = policy.contact
            if host.web_origin is not None:
                answer["web"] = host.web_origin
        return answer

    def _auth(self, key: bytes, sig: bytes) -> None:
        """Add ``key`` to the connection's pseudonyms. Checked, in order: ``sig`` signs this
        connection's challenge, the node's key and ``key`` (``proto.bad_auth``); a new pseudonym
        fits under ``max_pseudonyms_per_connection`` (``proto.busy``; one already held is fine)."""
        if not crypto.ed25519_verify(key, auth_message(self.challenge, self.host.public_key, key), sig):
            raise ProtocolError("proto.bad_auth")
        if key not in self.authors and len(self.authors) >= self.host.limits.max_pseudonyms_per_connection:
            raise ProtocolError("proto.busy", "too many pseudonyms on one connection")
        self.authors.add(key)

    def _adopt(self, request: Request, authors: frozenset[bytes], now: float) -> Publish | Adopt:
        """Spec 14.2 rule 7. Checked, in order: the author is authenticated and its publish rate
        allows the entry (:meth:`PublishRates.charge`); every host is a node address (its
        ``address.*`` or ``identity.*`` code); the header decodes (its code). A group hosted here is a
        :class:`Publish`, charged once more (the adopt, then the publish it becomes); otherwise the
        node must federate (``proto.unknown_group``) and the operator must not refuse the group
        (``admission.group_refused``); the runtime then admits it (``NodeCore.admit_adopt``: the
        create policy, the token, ``max_groups``) before it contacts any host."""
        header, body = request.bytes_of("e"), request.fields["b"]
        self.host.rates.charge(header, authors, now)
        hosts = request.fields["hosts"]
        assert isinstance(hosts, list)
        addresses = tuple(NodeAddress.parse(h) for h in hosts if isinstance(h, str))
        payload = body if isinstance(body, bytes) else None
        group = header_group(header)
        if self.host.core.hosts(group):
            self.host.rates.charge(header, authors, now)
            return Publish(request.rid, header, payload, authors)
        if not self.host.federates:
            raise ProtocolError("proto.unknown_group", "this node does not federate, so it cannot join that group")
        if self.host.core.refused(group):
            raise AdmissionError("admission.group_refused")
        return Adopt(request.rid, header, payload, addresses, _token(request))

    def _state(self, group: bytes) -> dict[str, codec.CborValue]:
        """The ``state`` answer (spec 14.2 rule 8), after the read check."""
        self._check_read(group)
        core = self.host.core
        state = core.view(group)
        banned: list[codec.CborValue] = [*sorted(state.banned)]
        forks: list[codec.CborValue] = [*self.host.fork_proofs(group)]
        branch = headers_within(core.other_headers(group), self.host.limits.transport.max_message_size // 2)
        return {
            "members": [[k, m.role] for k, m in sorted(state.members.items())],
            "banned": banned,
            "heads": list(state.heads),
            "epochs": [e.entry_id for e in state.epochs],
            "hosts": [state.hosts[k] for k in sorted(state.hosts)],
            "forks": forks,
            "branch": branch,  # headers at forked positions not held here, in half a frame (12.5)
        }

    def _check_read(self, group: bytes) -> bool:
        """:meth:`read_rights`, raising the refusal."""
        if not self.authors:
            raise ProtocolError("proto.unauthenticated", "authenticate a pseudonym first")
        core = self.host.core
        if core.refused(group):
            raise AdmissionError("admission.group_refused", "this node's operator no longer hosts that group")
        if not core.hosts(group):
            raise ProtocolError("proto.unknown_group")
        if core.may_read(group, self.authors):
            return True
        state = core.view(group)
        if not any(state.ever_member(k) for k in self.authors):
            raise ProtocolError("proto.forbidden", "none of your pseudonyms has joined this group")
        return False
