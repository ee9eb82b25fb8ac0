"""Client protocol frames (spec section 14): requests, responses and pushed events, as CBOR maps.

Sans-I/O: this module turns bytes into typed requests and results into bytes; the transport moves
them. Client protocol version 2 (spec 14.1) pipelines every request of a session on ONE stream: a
request carries an ``id`` the client chose, and every answer and event carries the id it belongs to.
Federation (``protocol.federation``) keeps one request per stream and uses the id-less forms
(:func:`encode_request`, :func:`decode_request`, :func:`encode_ok`, :func:`encode_error`).

Invariants: :func:`decode_request` and :func:`decode_client_request` either return a
:class:`Request` whose fields have the types and sizes the spec gives, or raise ``ProtocolError``
with a ``proto.*`` code (a :class:`FrameError` naming the request id whenever it could be read);
:func:`decode_reply` returns a :class:`Reply` or raises ``ProtocolError``; none raises anything
else, whatever the bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeGuard

from holdspace.protocol import codec, crypto
from holdspace.protocol.entry import MAX_HEADER_SIZE
from holdspace.protocol.errors import CODES, CodecError, HoldspaceError
from holdspace.protocol.kinds import MAX_CONTROL_PAYLOAD

MAX_HOSTS = 8  # host addresses in an adopt request (as in an invite token)
MAX_ADDRESS_TEXT = 300
PROTOCOL_VERSION = 3  # client protocol version (hello "v"); 2: one pipelined session stream, ids;
# 3: version 2, and an operator's token in publish and adopt, the node's admission and contact in hello
SUPPORTED_VERSIONS = (2, 3)  # a node answers a hello of either (a version-2 request is a version-3 one)
OPERATOR_TOKEN_SIZE = 32  # the bytes of an operator's token (spec 14.6)
MAX_CONTACT = 300  # characters of an operator's contact URI in hello
ALPN_CLIENT = "holdspace/1"
MAX_FRAME = MAX_CONTROL_PAYLOAD + MAX_HEADER_SIZE + 1024
MAX_FETCH = 512
MAX_BATCH = 256  # entries in one publish_many request
MAX_IN_FLIGHT = 64  # requests of one session answered not yet (subscriptions counted apart), spec 14.5
MAX_REQUEST_ID = 2**64 - 1
CLOSE_BAD_FRAME = 2  # connection close code: a client frame whose request id could not be read (14.1)
AUTH_DOMAIN = b"holdspace/v1/auth"
CHALLENGE_SIZE = 32


class ProtocolError(HoldspaceError):
    family = "proto"


class FrameError(ProtocolError):
    """A client request refused before dispatch; ``rid`` is its id, or None when no id could be read
    (the frame is not a map with an unsigned integer ``id``), which ends the session (spec 14.1)."""

    def __init__(self, code: str, message: str | None = None, rid: int | None = None) -> None:
        super().__init__(code, message)
        self.rid = rid


def is_uint(value: codec.CborValue) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def is_key(value: codec.CborValue) -> TypeGuard[bytes]:
    """A 32-byte key or id."""
    return isinstance(value, bytes) and len(value) == 32


def auth_message(challenge: bytes, node_key: bytes, pseudonym: bytes) -> bytes:
    """What a client signs to prove it holds ``pseudonym`` on this connection to this node."""
    return AUTH_DOMAIN + b"\x00" + challenge + node_key + pseudonym


@dataclass(frozen=True, slots=True)
class Request:
    op: str
    fields: Mapping[str, codec.CborValue]
    rid: int = 0  # the client's request id (client protocol); 0 for a federation request

    def bytes_of(self, name: str) -> bytes:
        value = self.fields[name]
        assert isinstance(value, bytes)
        return value

    def int_of(self, name: str) -> int:
        value = self.fields[name]
        assert isinstance(value, int)
        return value


# op -> {field: check}; a check returns True when the value is acceptable
_SCHEMA: dict[str, dict[str, object]] = {
    "hello": {"v": is_uint},
    "auth": {"k": is_key, "sig": lambda v: isinstance(v, bytes) and len(v) == crypto.ED25519_SIGNATURE},
    "publish": {
        "e": lambda v: isinstance(v, bytes) and len(v) <= MAX_HEADER_SIZE,
        "b": lambda v: v is None or (isinstance(v, bytes) and len(v) <= MAX_CONTROL_PAYLOAD),
    },
    "publish_many": {
        "entries": lambda v: (
            isinstance(v, list)
            and 1 <= len(v) <= MAX_BATCH
            and all(
                isinstance(item, list)
                and len(item) == 2
                and isinstance(item[0], bytes)
                and len(item[0]) <= MAX_HEADER_SIZE
                and isinstance(item[1], bytes)
                and len(item[1]) <= MAX_CONTROL_PAYLOAD
                for item in v
            )
        ),
    },
    "adopt": {
        "e": lambda v: isinstance(v, bytes) and len(v) <= MAX_HEADER_SIZE,
        "b": lambda v: isinstance(v, bytes) and len(v) <= MAX_CONTROL_PAYLOAD,
        "hosts": lambda v: (
            isinstance(v, list)
            and 0 < len(v) <= MAX_HOSTS
            and all(isinstance(a, str) and len(a) <= MAX_ADDRESS_TEXT for a in v)
        ),
    },
    "fetch": {"g": is_key, "after": is_uint, "limit": lambda v: is_uint(v) and 1 <= v <= MAX_FETCH},
    "subscribe": {"g": is_key, "after": is_uint},
    "state": {"g": is_key},
    "identity": {"g": is_key, "k": is_key},
}

# the client protocol's operations: those above, and cancel (ends a subscription, spec 14.2)
CLIENT_SCHEMA: dict[str, dict[str, object]] = {**_SCHEMA, "cancel": {"sub": is_uint}}
# fields a client request MAY carry besides its schema's (version 3): op -> {field: check}
CLIENT_OPTIONAL: dict[str, dict[str, object]] = {
    "publish": {"token": lambda v: isinstance(v, bytes) and len(v) == OPERATOR_TOKEN_SIZE},
    "adopt": {"token": lambda v: isinstance(v, bytes) and len(v) == OPERATOR_TOKEN_SIZE},
}


def encode_request(op: str, **fields: codec.CborValue) -> bytes:
    return codec.encode({"op": op, **fields})


def decode_request(data: bytes, schema: Mapping[str, Mapping[str, object]] | None = None) -> Request:
    """A request checked against ``schema`` (op -> {field: check}; the client protocol's by default)."""
    if len(data) > MAX_FRAME:
        raise ProtocolError("proto.too_large", f"frame of {len(data)} bytes exceeds {MAX_FRAME}")
    try:
        value = codec.decode(data, max_size=MAX_FRAME)
    except CodecError as exc:
        raise ProtocolError("proto.malformed_frame", f"frame is not canonical CBOR ({exc.code})") from exc
    if not isinstance(value, dict) or not isinstance(value.get("op"), str):
        raise ProtocolError("proto.malformed_frame", "a request is a map with a text field op")
    return _checked(value, _SCHEMA if schema is None else schema, ("op",))


def _checked(
    value: dict[str, codec.CborValue],
    schema: Mapping[str, Mapping[str, object]],
    skip: tuple[str, ...],
    optional: Mapping[str, Mapping[str, object]] | None = None,
) -> Request:
    """The request in ``value`` (a map with a text ``op``) checked against ``schema``: every field of
    the op's schema, and besides them only fields of its ``optional`` ones; ``skip``: the framing
    keys that are not the op's fields."""
    op = value["op"]
    assert isinstance(op, str)
    op_schema = schema.get(op)
    if op_schema is None:
        raise ProtocolError("proto.unknown_op", f"unknown operation {op[:32]!r}")
    extra = (optional or {}).get(op, {})
    fields = {k: v for k, v in value.items() if k not in skip}
    if not op_schema.keys() <= fields.keys() or not fields.keys() <= op_schema.keys() | extra.keys():
        raise ProtocolError("proto.malformed_frame", f"{op} takes fields {sorted(op_schema)}")
    for name, check in (*op_schema.items(), *extra.items()):
        if name in fields and not check(fields[name]):  # type: ignore[operator]
            raise ProtocolError("proto.malformed_frame", f"{op}: field {name} has the wrong type or size")
    return Request(op, fields)


def encode_client_request(rid: int, op: str, **fields: codec.CborValue) -> bytes:
    """A client request frame ``{"op", "id", ...fields}`` (spec 14.2)."""
    return codec.encode({"op": op, "id": rid, **fields})


def decode_client_request(data: bytes) -> Request:
    """A client request (spec 14.1, 14.2) with its id. Checked, in order, each failure a
    :class:`FrameError`: the size (``proto.too_large``, no id); canonical CBOR
    (``proto.malformed_frame``, no id); a map with an unsigned integer ``id`` (``proto.malformed_frame``,
    no id; ``proto.bad_version`` without id for a version-1 ``hello``, which has none); then, naming the
    id: a text ``op`` (``proto.malformed_frame``); a known op (``proto.unknown_op``); exactly the op's
    fields, and besides them only its optional ones (:data:`CLIENT_OPTIONAL`), each of the right type
    and size (``proto.malformed_frame``)."""
    if len(data) > MAX_FRAME:
        raise FrameError("proto.too_large", f"frame of {len(data)} bytes exceeds {MAX_FRAME}")
    try:
        value = codec.decode(data, max_size=MAX_FRAME)
    except CodecError as exc:
        raise FrameError("proto.malformed_frame", f"frame is not canonical CBOR ({exc.code})") from exc
    if not isinstance(value, dict):
        raise FrameError("proto.malformed_frame", "a request is a map")
    rid = value.get("id")
    if not is_uint(rid):
        if value.get("op") == "hello" and "id" not in value:
            raise FrameError("proto.bad_version", "this node speaks client protocol versions 2 and 3 only")
        raise FrameError("proto.malformed_frame", "a request carries an unsigned integer id")
    op = value.get("op")
    if not isinstance(op, str):
        raise FrameError("proto.malformed_frame", "a request has a text field op", rid)
    try:
        request = _checked(value, CLIENT_SCHEMA, ("op", "id"), CLIENT_OPTIONAL)
    except ProtocolError as err:
        raise FrameError(err.code, err.message, rid) from err
    return Request(request.op, request.fields, rid)


def encode_answer(rid: int, result: Mapping[str, codec.CborValue]) -> bytes:
    """The final answer ``{"id", "ok": result}`` of request ``rid``."""
    return codec.encode({"id": rid, "ok": dict(result)})


def encode_refusal(rid: int | None, code: str, message: str) -> bytes:
    """The final answer ``{"id", "err": {"code", "msg"}}`` of request ``rid``; ``rid`` None: the
    id-less error that precedes the close of a session whose frame had no readable id."""
    err: dict[str, codec.CborValue] = {"code": code, "msg": message[:500]}
    if rid is None:
        return codec.encode({"err": err})
    return codec.encode({"id": rid, "err": err})


def encode_client_event(rid: int, event: str, **fields: codec.CborValue) -> bytes:
    """An event ``{"id", "ev", ...fields}`` of subscription ``rid`` (not final)."""
    return codec.encode({"id": rid, "ev": event, **fields})


def encode_ok(result: Mapping[str, codec.CborValue]) -> bytes:
    return codec.encode({"ok": dict(result)})


def encode_error(code: str, message: str) -> bytes:
    return codec.encode({"err": {"code": code, "msg": message[:500]}})


def encode_event(event: str, **fields: codec.CborValue) -> bytes:
    return codec.encode({"ev": event, **fields})


# --- entry lists spliced from stored bytes ----------------------------------------------------------
#
# A node stores each entry as the CBOR array ``[header, payload / null]``. The ``entry-item`` of a
# fetch result or a subscription event is ``[cursor, header, payload / null]``: the same bytes after a
# new array head and the cursor. Splicing them gives exactly the canonical encoding of the decoded
# structure (tested), without decoding and re-encoding every entry a node serves.


def _head(major: int, n: int) -> bytes:
    """The canonical head of a CBOR item of major type ``major`` with argument ``n``."""
    if n < 24:
        return bytes([major << 5 | n])
    for ai, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * size):
            return bytes([major << 5 | ai]) + n.to_bytes(size, "big")
    raise ValueError("CBOR argument too large")


def entry_item(cursor: int, stored: bytes) -> bytes:
    """The encoded ``entry-item`` ``[cursor, header, payload]`` from a stored ``[header, payload]``."""
    if not stored or stored[0] != 0x82:
        raise ValueError("a stored entry is a CBOR array of two items")
    return b"\x83" + _head(0, cursor) + stored[1:]


def _array(items: list[bytes]) -> bytes:
    return _head(4, len(items)) + b"".join(items)


_EVENT_HEAD = b"\xa4" + codec.encode("ev") + codec.encode("entries") + codec.encode("id")


def entries_event_tail(items: list[bytes], next_cursor: int) -> bytes:
    """What follows the id in an entries event: the same for every subscriber at one cursor."""
    return codec.encode("next") + _head(0, next_cursor) + codec.encode("entries") + _array(items)


def splice_entries_event(rid: int, tail: bytes) -> bytes:
    """The entries event of subscription ``rid`` from :func:`entries_event_tail`."""
    # canonical key order (shorter key first, then bytewise): "ev", "id", "next", "entries"
    return _EVENT_HEAD + _head(0, rid) + tail


def encode_entries_event(rid: int, items: list[bytes], next_cursor: int) -> bytes:
    """``encode_client_event(rid, "entries", entries=..., next=...)`` from encoded entry items."""
    return splice_entries_event(rid, entries_event_tail(items, next_cursor))


def encode_fetch_ok(rid: int, items: list[bytes], next_cursor: int, more: bool) -> bytes:
    """``encode_answer(rid, {"entries": ..., "next": ..., "more": ...})`` from encoded entry items."""
    return (
        b"\xa2"
        + codec.encode("id")
        + _head(0, rid)
        + codec.encode("ok")
        + b"\xa3"
        + codec.encode("more")
        + codec.encode(more)
        + codec.encode("next")
        + _head(0, next_cursor)
        + codec.encode("entries")
        + _array(items)
    )


def decode_response(data: bytes) -> dict[str, codec.CborValue]:
    """The ``ok`` map of a response; raises the error it carries as a ``HoldspaceError``."""
    try:
        value = codec.decode(data, max_size=MAX_FRAME + MAX_FETCH * 64)
    except CodecError as exc:
        raise ProtocolError("proto.malformed_frame", f"response is not canonical CBOR ({exc.code})") from exc
    if isinstance(value, dict) and isinstance(value.get("ok"), dict):
        ok = value["ok"]
        assert isinstance(ok, dict)
        return ok
    if isinstance(value, dict) and isinstance(value.get("ev"), str):
        return value
    if isinstance(value, dict) and isinstance(value.get("err"), dict):
        err = value["err"]
        assert isinstance(err, dict)
        code, msg = err.get("code"), err.get("msg")
        if isinstance(code, str) and code in CODES and isinstance(msg, str):
            raise RemoteError(code, msg)
    raise ProtocolError("proto.malformed_frame", "a response is {ok: map}, {ev: text, ...} or {err: {code, msg}}")


class RemoteError(HoldspaceError):
    """An error the node answered with; ``code`` is any registered code."""


@dataclass(frozen=True, slots=True)
class Reply:
    """A frame a client reads on its session stream (spec 14.1). ``kind`` is ``"ok"`` or ``"err"``
    (final: the request ``rid`` is over) or ``"ev"`` (an event of subscription ``rid``). ``body``: the
    ok map; the error map ``{code, msg}``; the event map without its id. ``rid`` None only for the
    id-less error a node sends before closing a session it cannot go on with."""

    rid: int | None
    kind: str
    body: dict[str, codec.CborValue]

    @property
    def final(self) -> bool:
        return self.kind != "ev"

    def error(self) -> RemoteError | None:
        """The error an ``err`` reply carries (None for the others)."""
        if self.kind != "err":
            return None
        code, msg = self.body["code"], self.body["msg"]
        assert isinstance(code, str) and isinstance(msg, str)
        return RemoteError(code, msg)

    def result(self) -> dict[str, codec.CborValue]:
        """The body of an ``ok`` or ``ev`` reply; raises the error of an ``err`` reply."""
        error = self.error()
        if error is not None:
            raise error
        return self.body


def decode_reply(data: bytes) -> Reply:
    """A frame of a client session. Checked: canonical CBOR; a map; an unsigned integer ``id``
    (absent only beside ``err``); exactly one of ``ok`` (a map, the only other key), ``err`` (a map
    of a registered text ``code`` and a text ``msg``, the only other key) or ``ev`` (text). Any
    failure is ``proto.malformed_frame``."""
    try:
        value = codec.decode(data, max_size=MAX_FRAME + MAX_FETCH * 64)
    except CodecError as exc:
        raise ProtocolError("proto.malformed_frame", f"answer is not canonical CBOR ({exc.code})") from exc
    bad = ProtocolError("proto.malformed_frame", "an answer is {id, ok: map}, {id, err: {code, msg}} or {id, ev, ...}")
    if not isinstance(value, dict):
        raise bad
    rid = value.get("id")
    if rid is not None and not is_uint(rid):
        raise bad
    if isinstance(value.get("ev"), str) and rid is not None:
        return Reply(rid, "ev", {k: v for k, v in value.items() if k != "id"})
    others = value.keys() - {"id"}
    if others == {"ok"} and isinstance(value["ok"], dict) and rid is not None:
        return Reply(rid, "ok", value["ok"])
    err = value.get("err")
    if others == {"err"} and isinstance(err, dict):
        code, msg = err.get("code"), err.get("msg")
        if isinstance(code, str) and code in CODES and isinstance(msg, str) and err.keys() == {"code", "msg"}:
            return Reply(rid, "err", err)
    raise bad
