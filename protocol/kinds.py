"""The entry kind registry: every kind a node accepts, by number.

Invariant: numbers are never reused or renumbered; an entry whose kind is not in :data:`KINDS`
is rejected with ``entry.unknown_kind`` by every node, so a kind can only be added by a new
protocol revision that all hosts of a group run.
"""

from __future__ import annotations

GENESIS = 0x01
INVITE = 0x02
JOIN = 0x03
REMOVE = 0x04
ROLE = 0x05
LEAVE = 0x06
SETTINGS = 0x07
REKEY = 0x08
HOST = 0x09
REDACT = 0x0A
ERASE = 0x0B
SESSION = 0x0C
TRUST = 0x0D
CLOSE = 0x0E
MUTE = 0x0F
MESSAGE = 0x10
DIRECT = 0x11

#: number -> name, as written in the spec's kind table.
KINDS: dict[int, str] = {
    GENESIS: "genesis",
    INVITE: "invite",
    JOIN: "join",
    REMOVE: "remove",
    ROLE: "role",
    LEAVE: "leave",
    SETTINGS: "settings",
    REKEY: "rekey",
    HOST: "host",
    REDACT: "redact",
    ERASE: "erase",
    SESSION: "session",
    TRUST: "trust",
    CLOSE: "close",
    MUTE: "mute",
    MESSAGE: "message",
    DIRECT: "direct",
}

#: kinds whose payload is plaintext control data that every node reads and enforces.
CONTROL_KINDS = frozenset(k for k in KINDS if k < MESSAGE)


#: kinds whose payload is an encrypted envelope: a group message (epoch chains) or a direct message
#: (sealed to chosen members). Their payloads are what redaction, erasure and expiry delete.
MESSAGE_KINDS = frozenset({MESSAGE, DIRECT})


def is_control(kind: int) -> bool:
    return kind < MESSAGE


#: the largest payload of a message (after padding and encryption).
MAX_MESSAGE_PAYLOAD = 65_536
#: the largest payload of a control entry (they carry one sealed key per member).
MAX_CONTROL_PAYLOAD = 1_048_576


def max_payload(kind: int) -> int:
    return MAX_MESSAGE_PAYLOAD if kind >= MESSAGE else MAX_CONTROL_PAYLOAD


def kind_name(kind: int) -> str:
    return KINDS.get(kind, f"unknown({kind})")
