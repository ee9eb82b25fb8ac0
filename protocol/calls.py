"""Live-call signalling (spec 17.11): what members of a group send one another to set up a call.

A **signal** is a small CBOR map a member signs with its pseudonym and seals to one other member's
X25519 key (the ``Seal`` of spec section 2, as each recipient box of 13.5 is sealed): the node that
relays it sees the sender, the recipient, the group and the box's size, never what is inside. The
signature binds the signal to its group, sender and recipient, so a node cannot forge one, nor
hand one member's offer to another; its time bounds how long a captured box can be replayed.

Pure: time and randomness are passed in. Invariants: :func:`open_signal` returns a :class:`Signal`
or raises a ``HoldspaceError`` (``crypto.*``, ``cbor.*``, ``call.*``) with a registered code, whatever the bytes;
:func:`encode_signal` of a valid signal always fits :data:`MAX_SIGNAL_BOX` once sealed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from holdspace.protocol import codec, crypto
from holdspace.protocol.crypto import Random
from holdspace.protocol.errors import CallError

MAX_SIGNAL_BOX = 8192  # bytes of a sealed signal a node relays (the "box" of a signal request)
MAX_SIGNAL_DATA = 7936  # bytes (UTF-8) of a signal's data: with its fields and the seal it fits the box
SIGNAL_RATE = 20.0  # signals a second a pseudonym may send, across its connections...
SIGNAL_BURST = 40  # ...and at once
CALL_ID_SIZE = 16
SIGNAL_TYPES = ("join", "offer", "answer", "candidate", "leave", "hand", "mute-request", "piece", "remove")
CONTROL_TYPES = frozenset({"mute-request", "piece", "remove"})  # signals only a facilitator may send
HAND_DATA = ("up", "down")
MAX_SIGNAL_AGE_MS = 60_000  # a signal older than this (or this far in the future) is refused
SIGNAL_DOMAIN = b"holdspace/v1/signal"


@dataclass(frozen=True, slots=True)
class Signal:
    """One signal: the call it belongs to, its type, its data (SDP, an ICE candidate as JSON, a
    hand's ``up``/``down``, a pseudonym in hex, or empty) and the sender's time in ms since the epoch."""

    call: bytes
    type: str
    data: str
    time_ms: int


def check_signal(signal: Signal) -> None:
    """Raise ``call.malformed_signal`` unless: the call id is 16 bytes; the type is one of
    :data:`SIGNAL_TYPES`; the data is at most :data:`MAX_SIGNAL_DATA` bytes of UTF-8; the time is
    an unsigned 64-bit integer; and the data fits the type: ``hand`` is ``"up"`` or ``"down"``,
    ``mute-request`` is empty, ``piece`` is empty or a pseudonym as 64 lowercase hex digits,
    ``remove`` is a pseudonym as 64 lowercase hex digits (the other types' data is free text)."""
    if len(signal.call) != CALL_ID_SIZE:
        raise CallError("call.malformed_signal", f"a call id is {CALL_ID_SIZE} bytes")
    if signal.type not in SIGNAL_TYPES:
        raise CallError("call.malformed_signal", f"unknown signal type {signal.type[:32]!r}")
    if len(signal.data.encode()) > MAX_SIGNAL_DATA:
        raise CallError("call.malformed_signal", f"a signal's data is at most {MAX_SIGNAL_DATA} bytes")
    if not 0 <= signal.time_ms < 2**64:
        raise CallError("call.malformed_signal", "a signal's time is an unsigned 64-bit integer")
    _check_call_data(signal)


def _is_pseudonym_hex(data: str) -> bool:
    return len(data) == 64 and all(c in "0123456789abcdef" for c in data)


def _check_call_data(signal: Signal) -> None:
    if signal.type == "hand" and signal.data not in HAND_DATA:
        raise CallError("call.malformed_signal", "a hand signal's data is 'up' or 'down'")
    if signal.type == "mute-request" and signal.data != "":
        raise CallError("call.malformed_signal", "a mute-request's data is empty")
    if signal.type == "piece" and signal.data != "" and not _is_pseudonym_hex(signal.data):
        raise CallError("call.malformed_signal", "a piece signal's data is a pseudonym in lowercase hex, or empty")
    if signal.type == "remove" and not _is_pseudonym_hex(signal.data):
        raise CallError("call.malformed_signal", "a remove signal's data is a pseudonym in lowercase hex")


def circle_call_id(group: bytes) -> bytes:
    """The call id of a group's live circle, the same on every member's device:
    ``H("holdspace/v1/call" || 0x00 || group)`` cut to :data:`CALL_ID_SIZE` bytes."""
    return crypto.blake2b_256(b"holdspace/v1/call\x00" + group)[:CALL_ID_SIZE]


def authorise_signal(signal: Signal, sender_role: str | None) -> None:
    """Raise ``call.not_facilitator`` if ``signal`` is a call-control signal (:data:`CONTROL_TYPES`:
    ``mute-request``, ``piece``, ``remove``) and ``sender_role`` — the sender's role in the
    recipient's own current state of the group (12.5), None for a non-member — is not
    ``"facilitator"``. Every other type passes whatever the role (membership is checked apart)."""
    if signal.type in CONTROL_TYPES and sender_role != "facilitator":
        raise CallError("call.not_facilitator", f"only a facilitator may send a {signal.type} signal")


def _body(signal: Signal) -> dict[str, codec.CborValue]:
    return {"call": signal.call, "t": signal.type, "d": signal.data, "ts": signal.time_ms}


def signed_message(group: bytes, sender: bytes, recipient: bytes, signal: Signal) -> bytes:
    """What the sender signs: ``"holdspace/v1/signal" || 0x00 || group || sender || recipient ||
    CBOR({call, t, d, ts})``."""
    return SIGNAL_DOMAIN + b"\x00" + group + sender + recipient + codec.encode(_body(signal))


def encode_signal(seed: bytes, group: bytes, recipient: bytes, signal: Signal) -> bytes:
    """The plaintext of a sealed signal: ``{call, t, d, ts, sig}``, signed with Ed25519 ``seed``
    (the sender's pseudonym in ``group``)."""
    check_signal(signal)
    sender = crypto.ed25519_public_key(seed)
    sig = crypto.ed25519_sign(seed, signed_message(group, sender, recipient, signal))
    return codec.encode({**_body(signal), "sig": sig})


def seal_signal(
    seed: bytes,
    group: bytes,
    recipient: bytes,
    recipient_x25519: bytes,
    signal: Signal,
    random: Random = os.urandom,
) -> bytes:
    """The box of a ``signal`` request: :func:`encode_signal` sealed to the recipient's X25519 key."""
    return crypto.seal(recipient_x25519, encode_signal(seed, group, recipient, signal), random)


def decode_signal(plaintext: bytes) -> tuple[Signal, bytes]:
    """The signal in ``plaintext`` and its signature. Checked: canonical CBOR (``cbor.*``); a map of
    exactly ``call``, ``t``, ``d``, ``ts``, ``sig`` with the types of spec 17.11 and a 64-byte
    ``sig`` (``call.malformed_signal``); then :func:`check_signal`."""
    value = codec.decode(plaintext, max_size=MAX_SIGNAL_BOX)
    if not isinstance(value, dict) or value.keys() != {"call", "t", "d", "ts", "sig"}:
        raise CallError("call.malformed_signal", "a signal is a map of call, t, d, ts and sig")
    call, kind, data, when, sig = (value[k] for k in ("call", "t", "d", "ts", "sig"))
    if not (
        isinstance(call, bytes)
        and isinstance(kind, str)
        and isinstance(data, str)
        and isinstance(when, int)
        and not isinstance(when, bool)
        and isinstance(sig, bytes)
        and len(sig) == crypto.ED25519_SIGNATURE
    ):
        raise CallError("call.malformed_signal", "a signal's fields have the wrong types")
    signal = Signal(call, kind, data, when)
    check_signal(signal)
    return signal, sig


def open_signal(x25519_secret: bytes, group: bytes, sender: bytes, recipient: bytes, box: bytes, now_ms: int) -> Signal:
    """The signal in ``box``, sealed by ``sender`` to ``recipient`` (whose X25519 secret is given) in
    ``group``. Checked, in order: the box opens (``crypto.decrypt_failed``); :func:`decode_signal`
    (``cbor.*``, ``call.malformed_signal``); the signature verifies against ``sender`` over this
    group, sender and recipient (``call.bad_signature``); its time is within
    :data:`MAX_SIGNAL_AGE_MS` of ``now_ms`` either way (``call.stale``)."""
    plaintext = crypto.seal_open(x25519_secret, box)
    signal, sig = decode_signal(plaintext)
    if not crypto.ed25519_verify(sender, signed_message(group, sender, recipient, signal), sig):
        raise CallError("call.bad_signature", "the signal is not signed by its sender for this recipient")
    if abs(now_ms - signal.time_ms) > MAX_SIGNAL_AGE_MS:
        raise CallError("call.stale", "the signal is more than a minute old, or from the future")
    return signal


__all__ = [
    "CALL_ID_SIZE",
    "CONTROL_TYPES",
    "HAND_DATA",
    "MAX_SIGNAL_AGE_MS",
    "MAX_SIGNAL_BOX",
    "MAX_SIGNAL_DATA",
    "SIGNAL_BURST",
    "SIGNAL_RATE",
    "SIGNAL_TYPES",
    "CallError",
    "Signal",
    "authorise_signal",
    "circle_call_id",
    "decode_signal",
    "encode_signal",
    "open_signal",
    "seal_signal",
    "signed_message",
]
