"""Client protocol frames (spec section 14): requests, responses and pushed events, as CBOR maps.

Sans-I/O: this module turns bytes into typed requests and results into bytes; the transport moves
them (one request per stream; a subscription's events follow on its stream).

Invariant: :func:`decode_request` either returns a :class:`Request` whose fields have the types and
sizes the spec gives, or raises ``ProtocolError`` with a ``proto.*`` code; it never raises anything
else, whatever the bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeGuard

from protocol import codec, crypto
from protocol.entry import MAX_HEADER_SIZE
from protocol.errors import CODES, CodecError, HoldspaceError
from protocol.kinds import MAX_CONTROL_PAYLOAD

MAX_HOSTS = 8  # host addresses in an adopt request (as in an invite token)
MAX_ADDRESS_TEXT = 300
PROTOCOL_VERSION = 1
ALPN_CLIENT = "holdspace/1"
MAX_FRAME = MAX_CONTROL_PAYLOAD + MAX_HEADER_SIZE + 1024
MAX_FETCH = 512
MAX_BATCH = 256  # entries in one publish_many request
AUTH_DOMAIN = b"holdspace/v1/auth"
CHALLENGE_SIZE = 32


class ProtocolError(HoldspaceError):
    family = "proto"


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
    op = value["op"]
    assert isinstance(op, str)
    op_schema = (_SCHEMA if schema is None else schema).get(op)
    if op_schema is None:
        raise ProtocolError("proto.unknown_op", f"unknown operation {op[:32]!r}")
    fields = {k: v for k, v in value.items() if k != "op"}
    if fields.keys() != op_schema.keys():
        raise ProtocolError("proto.malformed_frame", f"{op} takes fields {sorted(op_schema)}")
    for name, check in op_schema.items():
        if not check(fields[name]):  # type: ignore[operator]
            raise ProtocolError("proto.malformed_frame", f"{op}: field {name} has the wrong type or size")
    return Request(op, fields)


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


def encode_entries_event(items: list[bytes], next_cursor: int) -> bytes:
    """``encode_event("entries", entries=..., next=...)`` from encoded entry items."""
    # canonical key order (shorter key first, then bytewise): "ev", "next", "entries"
    return (
        b"\xa3"
        + codec.encode("ev")
        + codec.encode("entries")
        + codec.encode("next")
        + _head(0, next_cursor)
        + (codec.encode("entries") + _array(items))
    )


def encode_fetch_ok(items: list[bytes], next_cursor: int, more: bool) -> bytes:
    """``encode_ok({"entries": ..., "next": ..., "more": ...})`` from encoded entry items."""
    return (
        b"\xa1"
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
