"""The client protocol over a transport connection: one request per stream (spec 14).

Zero trust in the node: every entry received is verified (signature, payload hash) before it is
returned; a node can withhold entries but cannot forge or alter them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from node.limits import default_transport_limits
from node.transport.base import Connection, EndOfStream
from node.transport.quic import connect_quic
from protocol import codec
from protocol.address import NodeAddress
from protocol.entry import Entry, decode_entry
from protocol.frames import (
    ALPN_CLIENT,
    MAX_FETCH,
    PROTOCOL_VERSION,
    ProtocolError,
    auth_message,
    decode_response,
    encode_request,
)
from protocol.identity import IdentityDocument, Pseudonym, verify_identity_document


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


class NodeSession:
    """A client's connection to its home node."""

    def __init__(self, conn: Connection, node_key: bytes) -> None:
        self.conn = conn
        self.node_key = node_key
        self.challenge: bytes | None = None
        self.authenticated: set[bytes] = set()

    async def request(self, op: str, **fields: codec.CborValue) -> dict[str, codec.CborValue]:
        stream = await self.conn.open_stream()
        await stream.send(encode_request(op, **fields))
        await stream.finish()
        return decode_response(await stream.receive())

    async def hello(self) -> dict[str, codec.CborValue]:
        result = await self.request("hello", v=PROTOCOL_VERSION)
        challenge = result.get("challenge")
        if not isinstance(challenge, bytes) or result.get("node") != self.node_key:
            raise ProtocolError("proto.malformed_frame", "the node's hello does not match its pinned key")
        self.challenge = challenge
        return result

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
        result = await self.request("publish", e=entry.raw, b=entry.payload)
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
        result = await self.request("adopt", e=entry.raw, b=entry.payload, hosts=[*hosts])
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
        """Batches of entries after ``after``, first the backlog, then live, until cancelled.

        Use it as ``async with contextlib.aclosing(session.subscribe(...)) as batches``.
        """
        stream = await self.conn.open_stream()
        await stream.send(encode_request("subscribe", g=group, after=after))
        await stream.finish()
        decode_response(await stream.receive())  # {"ok": {"next": ...}} or a raised error
        while True:
            try:
                event = decode_response(await stream.receive())
            except EndOfStream:
                return
            if event.get("ev") == "entries":
                yield _entries(event.get("entries"))

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
async def connect(address: NodeAddress) -> AsyncIterator[NodeSession]:
    """A session with the node at ``address`` over QUIC, its key pinned."""
    async with connect_quic(
        address.host,
        address.port,
        expected_key=address.node_key,
        alpn=ALPN_CLIENT,
        limits=default_transport_limits(),
    ) as conn:
        session = NodeSession(conn, address.node_key)
        await session.hello()
        yield session
