"""The client protocol over a transport connection: one session stream, requests pipelined on it
with ids (spec 14.1).

A :class:`NodeSession` runs inside :func:`open_session`: one task reads the session stream and
hands each answer to the request awaiting its id, and each event to its subscription's iterator, so
any number of requests (up to the node's ``in_flight`` limit) may be awaited at once, from
different tasks. Invariants: an id is in ``_pending`` or ``_subs`` from its request's send until
its final frame (``ok`` or ``err``) arrives or the session ends; once the session ends, every
awaiting request raises the error that ended it.

Zero trust in the node: every entry received is verified (signature, payload hash) before it is
returned; a node can withhold entries but cannot forge or alter them.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field

import trio

from holdspace.node.limits import default_transport_limits
from holdspace.node.transport.base import (
    Connection,
    EndOfStream,
    MessageStream,
    TransportClosed,
    TransportError,
    clone_error,
)
from holdspace.node.transport.quic import connect_quic
from holdspace.protocol import codec, kinds
from holdspace.protocol.address import NodeAddress
from holdspace.protocol.entry import Entry, decode_entry
from holdspace.protocol.errors import CODES, HoldspaceError
from holdspace.protocol.frames import (
    ALPN_CLIENT,
    CLOSE_BAD_FRAME,
    MAX_FETCH,
    PROTOCOL_VERSION,
    ProtocolError,
    RemoteError,
    Reply,
    auth_message,
    decode_reply,
    encode_client_request,
)
from holdspace.protocol.identity import IdentityDocument, Pseudonym, verify_identity_document


@dataclass(frozen=True, slots=True)
class Received:
    cursor: int
    entry: Entry


def _entries(items: codec.CborValue) -> list[Received]:
    if not isinstance(items, list):
        raise ProtocolError("proto.malformed_frame", "entries must be a list")
    out: list[Received] = []
    for item in items:
        if not (isinstance(item, list) and len(item) == 3 and isinstance(item[0], int) and isinstance(item[1], bytes)):
            raise ProtocolError("proto.malformed_frame", "an entry item is [cursor, header, payload]")
        payload = item[2]
        if payload is not None and not isinstance(payload, bytes):
            raise ProtocolError("proto.malformed_frame", "an entry payload is bytes or null")
        out.append(Received(item[0], decode_entry(item[1], payload, now_ms=None)))
    return out


@dataclass
class _Waiter:
    """A request awaiting its final frame."""

    done: trio.Event = field(default_factory=trio.Event)
    reply: Reply | None = None


class NodeSession:
    """A client's connection to its home node: one session stream (spec 14.1). Use it inside
    :func:`open_session` (or :func:`connect`), which runs the reader."""

    def __init__(self, conn: Connection, node_key: bytes) -> None:
        self.conn = conn
        self.node_key = node_key
        self.challenge: bytes | None = None
        self.authenticated: set[bytes] = set()
        self.info: dict[str, codec.CborValue] = {}  # the node's hello answer
        self.operator_token: bytes | None = None  # given with a genesis and an adopt (spec 14.6)
        self._stream: MessageStream | None = None
        self._send_lock = trio.Lock()
        self._next_id = 0
        self._pending: dict[int, _Waiter] = {}
        self._subs: dict[int, trio.MemorySendChannel[Reply]] = {}
        self._draining: set[int] = set()  # subscriptions cancelled by their iterator: frames dropped
        self._ended: BaseException | None = None  # what ended the session, once it ended

    # -- the session stream ---------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Open the session stream and read it until the session ends: each final frame wakes the
        request awaiting its id, each event goes to its subscription (buffered without bound: a
        subscription's iterator is expected to be read)."""
        try:
            self._stream = await self.conn.open_stream()
        except TransportError as err:
            self._end(err)
            raise
        task_status.started()
        try:
            while True:
                reply = decode_reply(await self._stream.receive())
                self._deliver(reply)
        except EndOfStream:
            self._end(TransportClosed("the node ended the session"))
        except TransportClosed as err:
            if err.error_code == CLOSE_BAD_FRAME and err.reason in CODES:  # its error frame was overtaken
                self._end(RemoteError(err.reason, "the node closed the session over a frame it could not read"))
            else:
                self._end(err)
        except (TransportError, HoldspaceError) as err:
            self._end(err)

    def _deliver(self, reply: Reply) -> None:
        if reply.rid is None:  # the node could not read an id and ends the session (14.1)
            error = reply.error()
            assert error is not None
            raise error
        if reply.rid in self._draining:
            if reply.final:
                self._draining.discard(reply.rid)
            return
        channel = self._subs.get(reply.rid)
        if channel is not None:
            channel.send_nowait(reply)  # unbounded buffer
            if reply.final:
                del self._subs[reply.rid]
                channel.close()
            return
        waiter = self._pending.pop(reply.rid, None)
        if waiter is None or not reply.final:
            raise ProtocolError("proto.malformed_frame", f"an answer to no request in flight ({reply.rid})")
        waiter.reply = reply
        waiter.done.set()

    def _end(self, cause: BaseException) -> None:
        self._ended = cause
        for waiter in self._pending.values():
            waiter.done.set()
        self._pending.clear()
        for channel in self._subs.values():
            channel.close()
        self._subs.clear()

    def _raise_ended(self) -> None:
        cause = self._ended
        if isinstance(cause, TransportError):
            raise clone_error(cause)
        if isinstance(cause, HoldspaceError):
            raise type(cause)(cause.code, cause.message)
        raise TransportClosed("the session ended")

    def _new_id(self) -> int:
        """A fresh request id (ids are never reused within a session)."""
        if self._ended is not None:
            self._raise_ended()
        if self._stream is None:
            raise RuntimeError("the session is not running: use open_session")
        rid = self._next_id
        self._next_id += 1
        return rid

    async def _send(self, rid: int, op: str, fields: dict[str, codec.CborValue]) -> None:
        frame = encode_client_request(rid, op, **fields)
        async with self._send_lock:
            assert self._stream is not None
            await self._stream.send(frame)

    async def request(self, op: str, **fields: codec.CborValue) -> dict[str, codec.CborValue]:
        """Send a request and await its answer (other requests may be in flight meanwhile)."""
        waiter = _Waiter()
        rid = self._new_id()
        self._pending[rid] = waiter  # before the send: the answer may come before send returns
        # a caller cancelled meanwhile leaves its waiter in _pending: the answer still comes, and is dropped
        await self._send(rid, op, fields)
        await waiter.done.wait()
        if waiter.reply is None:
            self._raise_ended()
        assert waiter.reply is not None
        return waiter.reply.result()

    async def hello(self) -> dict[str, codec.CborValue]:
        """Version 3, or 2 with a node that speaks only that (it then tells no policy or contact)."""
        try:
            result = await self.request("hello", v=PROTOCOL_VERSION)
        except RemoteError as err:
            if err.code != "proto.bad_version":
                raise
            result = await self.request("hello", v=2)
        challenge = result.get("challenge")
        if not isinstance(challenge, bytes) or result.get("node") != self.node_key:
            raise ProtocolError("proto.malformed_frame", "the node's hello does not match its pinned key")
        self.challenge = challenge
        self.info = result
        return result

    @property
    def contact(self) -> str | None:
        """Where the node's operator takes reports of abuse (``mailto:``, ``https:``...), if it says."""
        value = self.info.get("contact")
        return value if isinstance(value, str) else None

    @property
    def web_origin(self) -> str | None:
        """The node's web endpoint (``https://host:port``) as its hello told it, if it has one (14.3)."""
        value = self.info.get("web")
        return value if isinstance(value, str) else None

    @property
    def create_policy(self) -> str:
        """Who may start a group on the node: ``open``, ``token``, ``closed`` (``open`` if not told)."""
        value = self.info.get("create")
        return value if isinstance(value, str) else "open"

    async def authenticate(self, me: Pseudonym) -> None:
        if me.public_key in self.authenticated:
            return
        if self.challenge is None:
            await self.hello()
        assert self.challenge is not None
        sig = me.sign(auth_message(self.challenge, self.node_key, me.public_key))
        await self.request("auth", k=me.public_key, sig=sig)
        self.authenticated.add(me.public_key)

    async def publish(self, entry: Entry) -> int:
        fields: dict[str, codec.CborValue] = {"e": entry.raw, "b": entry.payload}
        if entry.kind == kinds.GENESIS and self.operator_token is not None:
            fields["token"] = self.operator_token
        result = await self.request("publish", **fields)
        cursor = result.get("c")
        return cursor if isinstance(cursor, int) else 0

    async def publish_many(self, entries: list[Entry]) -> list[int | str]:
        """Publish up to ``MAX_BATCH`` entries in one request; per entry its cursor, or the code it
        was refused with (later entries of a refused one's log then fail with ``log.seq_gap``)."""
        result = await self.request("publish_many", entries=[[e.raw, e.payload or b""] for e in entries])
        items = result.get("results")
        if not isinstance(items, list) or len(items) != len(entries):
            raise ProtocolError("proto.malformed_frame", "publish_many answers one result per entry")
        out: list[int | str] = []
        for item in items:
            if not isinstance(item, list) or len(item) != 2:
                raise ProtocolError("proto.malformed_frame", "a publish_many result is [cursor, code]")
            cursor, code = item
            if isinstance(code, str):
                out.append(code)
            elif isinstance(cursor, int):
                out.append(cursor)
            else:
                raise ProtocolError("proto.malformed_frame", "a publish_many result is [cursor, code]")
        return out

    async def adopt(self, entry: Entry, hosts: list[str]) -> int:
        """Publish a join of a group the home node may not host yet; it fetches the group from
        ``hosts`` (the invite's) and becomes one of its hosts (spec 14.3 ``adopt``)."""
        fields: dict[str, codec.CborValue] = {"e": entry.raw, "b": entry.payload, "hosts": [*hosts]}
        if self.operator_token is not None:
            fields["token"] = self.operator_token
        result = await self.request("adopt", **fields)
        cursor = result.get("c")
        return cursor if isinstance(cursor, int) else 0

    async def fetch(self, group: bytes, after: int = 0, limit: int = MAX_FETCH) -> tuple[list[Received], int, bool]:
        result = await self.request("fetch", g=group, after=after, limit=limit)
        nxt, more = result.get("next"), result.get("more")
        if not isinstance(nxt, int) or not isinstance(more, bool):
            raise ProtocolError("proto.malformed_frame", "fetch result needs next and more")
        return _entries(result.get("entries")), nxt, more

    async def fetch_all(self, group: bytes, after: int = 0) -> list[Received]:
        out: list[Received] = []
        more = True
        while more:
            page, after, more = await self.fetch(group, after)
            out.extend(page)
        return out

    async def subscribe(self, group: bytes, after: int = 0) -> AsyncIterator[list[Received]]:
        """Batches of entries after ``after``, first the backlog, then live, until cancelled or the
        node ends the subscription (a refusal is raised; a cancel ends the iteration).

        Use it as ``async with contextlib.aclosing(session.subscribe(...)) as batches``: closing it
        sends ``cancel`` (spec 14.2).
        """
        send, receive = trio.open_memory_channel[Reply](math.inf)
        rid = self._new_id()
        self._subs[rid] = send
        ended = False
        try:
            await self._send(rid, "subscribe", {"g": group, "after": after})
            async with receive:
                async for reply in receive:
                    if reply.final:
                        ended = True
                        reply.result()  # raises a refusal
                        return
                    if reply.body.get("ev") == "entries":
                        yield _entries(reply.body.get("entries"))
            if self._ended is not None:
                ended = True
                self._raise_ended()
        finally:
            if not ended and self._subs.pop(rid, None) is not None and self._ended is None:
                self._draining.add(rid)  # its last events and its final answer are dropped
                cancel = self._new_id()
                self._pending[cancel] = _Waiter()  # answered {} and never awaited
                with trio.CancelScope(shield=True), trio.move_on_after(5), suppress(TransportError):
                    await self._send(cancel, "cancel", {"sub": rid})

    async def state(self, group: bytes) -> dict[str, codec.CborValue]:
        return await self.request("state", g=group)

    async def identity(self, group: bytes, key: bytes) -> IdentityDocument:
        """A member's identity document, verified here (the node could not forge one)."""
        result = await self.request("identity", g=group, k=key)
        raw = result.get("doc")
        if not isinstance(raw, bytes):
            raise ProtocolError("proto.malformed_frame", "identity result needs doc")
        document = verify_identity_document(raw)
        if document.public_key != key:
            raise ProtocolError("proto.malformed_frame", "the node returned another pseudonym's document")
        return document


@asynccontextmanager
async def open_session(conn: Connection, node_key: bytes) -> AsyncIterator[NodeSession]:
    """A session on ``conn`` (its reader running) after ``hello``; the reader stops when the block
    exits."""
    session = NodeSession(conn, node_key)
    async with trio.open_nursery() as nursery:
        await nursery.start(session.run)
        await session.hello()
        yield session
        nursery.cancel_scope.cancel()


@asynccontextmanager
async def connect(address: NodeAddress) -> AsyncIterator[NodeSession]:
    """A session with the node at ``address`` over QUIC, its key pinned."""
    async with (
        connect_quic(
            address.host,
            address.port,
            expected_key=address.node_key,
            alpn=ALPN_CLIENT,
            limits=default_transport_limits(),
        ) as conn,
        open_session(conn, address.node_key) as session,
    ):
        yield session
