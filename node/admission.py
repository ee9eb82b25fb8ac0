"""What a node's operator lets it host, and how much: pure decisions, no I/O (spec 14.6, 16.4).

* **Creating** (``[admission] create``): who may make this node host a group that is new to it, by
  publishing its genesis or by joining it from elsewhere (``adopt``): anyone (``open``), the holder
  of an operator's token (``token``), nobody (``closed``).
* **Federating** (``[admission] federate``): which nodes may make it host a group by asking for it
  (16.4): any node it links to (``any``), only the peers its operator added (``peers``), none.
* **Caps**: at most ``max_groups`` groups hosted (new ones refused, those held kept); ``refused``
  groups are neither served nor stored nor fetched.
* **Budgets** (``[limits] max_group_bytes``, ``max_node_bytes``): bytes of stored entries (header and
  payload) per group and for the node; an entry that does not fit is refused if it adds to what a
  group holds (a message, a join, an invite, a genesis); the control entries that govern and delete
  (removals, bans, roles, leaves, rekeys, redactions, erasures, sessions, settings, hosts, trust,
  invite closes) are stored over budget, so that a full group stays governable and can shrink.

Operator tokens (``protocol.operator_token``): ``hstoken:`` and base64url of 32 random bytes. The
node keeps only their hash (:func:`token_hash`), the record of what each allows (:class:`TokenRecord`)
and how many times each was used; the text is shown once, when it is made.

Invariant: every refusal here is an ``AdmissionError`` or a ``QuotaError`` with a registered code,
and every check costs O(1): counters and set lookups, never a walk of what is stored.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final, Literal

from holdspace.protocol import codec, kinds
from holdspace.protocol.errors import AdmissionError, CodecError, QuotaError
from holdspace.protocol.operator_token import parse_token, token_hash, token_text

CreateMode = Literal["open", "token", "closed"]
FederateMode = Literal["any", "peers", "none"]
CREATE_MODES: Final = ("open", "token", "closed")
FEDERATE_MODES: Final = ("any", "peers", "none")

TOKEN_PREFIX: Final = b"token:"  # store meta: token:<hash> -> TokenRecord (written by the operator's commands)
USES_PREFIX: Final = b"tokenuse:"  # store meta: tokenuse:<hash> -> u64 uses (written by the node)
MAX_LABEL: Final = 200
_U64: Final = struct.Struct(">Q")

#: kinds refused once a budget is used up: what adds to a group (entries that govern or delete pass)
BUDGETED_KINDS: Final = frozenset({kinds.GENESIS, kinds.INVITE, kinds.JOIN, *kinds.MESSAGE_KINDS})


@dataclass(frozen=True, slots=True)
class Policy:
    """The operator's admission settings, as the node applies them (replaced whole on SIGHUP)."""

    create: CreateMode = "open"
    federate: FederateMode = "any"
    max_groups: int | None = None
    refused: frozenset[bytes] = frozenset()
    max_group_bytes: int | None = None
    max_node_bytes: int | None = None
    contact: str | None = None  # the operator's abuse contact, told in hello (a URI: mailto:, https:)


# -- operator tokens ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """One token as the node stores it: ``max_uses`` None is unlimited, ``expires_ms`` None never."""

    created_ms: int
    max_uses: int | None = None
    expires_ms: int | None = None
    label: str = ""

    def encode(self) -> bytes:
        return codec.encode({"t": self.created_ms, "u": self.max_uses, "x": self.expires_ms, "l": self.label})

    @staticmethod
    def decode(raw: bytes) -> TokenRecord:
        """A stored record; a damaged one is ``admission.bad_token`` (it admits nobody)."""
        try:
            value = codec.decode(raw, max_size=1024)
        except CodecError:
            value = None
        if isinstance(value, dict):
            t, u, x, label = value.get("t"), value.get("u"), value.get("x"), value.get("l")
            if (
                isinstance(t, int)
                and (u is None or (isinstance(u, int) and u >= 1))
                and (x is None or isinstance(x, int))
                and isinstance(label, str)
            ):
                return TokenRecord(t, u, x, label)
        raise AdmissionError("admission.bad_token", "the stored record of that token is damaged")


def encode_uses(uses: int) -> bytes:
    return _U64.pack(uses)


def decode_uses(raw: bytes | None) -> int:
    return _U64.unpack(raw)[0] if raw is not None and len(raw) == _U64.size else 0


def check_token(record: TokenRecord | None, uses: int, now_ms: int) -> None:
    """A token may start one more group. Checked, in order: the node issued it and it was not
    revoked, ``record`` not None (``admission.bad_token``); it has not expired by ``now_ms``
    (``admission.token_expired``); ``uses`` is below its ``max_uses`` (``admission.token_used_up``)."""
    if record is None:
        raise AdmissionError("admission.bad_token")
    if record.expires_ms is not None and now_ms >= record.expires_ms:
        raise AdmissionError("admission.token_expired")
    if record.max_uses is not None and uses >= record.max_uses:
        raise AdmissionError("admission.token_used_up")


# -- decisions --------------------------------------------------------------------------------------------


def check_not_refused(policy: Policy, group: bytes) -> None:
    """``admission.group_refused`` if the operator refuses ``group``."""
    if group in policy.refused:
        raise AdmissionError("admission.group_refused")


def check_room_for_group(policy: Policy, hosted: int) -> None:
    """One more group fits under ``max_groups`` (``hosted``: groups held or being fetched)."""
    if policy.max_groups is not None and hosted >= policy.max_groups:
        raise AdmissionError(
            "admission.max_groups", f"this node hosts {policy.max_groups} groups, as many as its operator allows"
        )


def check_create(policy: Policy, group: bytes, *, token_given: bool, hosted: int) -> bool:
    """A client asks this node to host ``group``, new to it (a genesis, or an ``adopt``). Checked, in
    order: the group is not refused (``admission.group_refused``); ``create`` is not ``closed``
    (``admission.closed``); with ``token``, a token was given (``admission.token_required``); one
    more group fits (``admission.max_groups``). Returns whether the token must then be checked
    (:func:`check_token`) and spent: True only with ``create = "token"``."""
    check_not_refused(policy, group)
    if policy.create == "closed":
        raise AdmissionError("admission.closed")
    if policy.create == "token" and not token_given:
        raise AdmissionError("admission.token_required")
    check_room_for_group(policy, hosted)
    return policy.create == "token"


def check_invitation(policy: Policy, group: bytes, *, added_peer: bool, hosted: int) -> None:
    """A peer asks for ``group``, which this node does not hold (16.4: it may have been added as a
    host). Checked, in order: the group is not refused (``admission.group_refused``); ``federate``
    lets that node ask: ``any``, or ``peers`` and it is one the operator added
    (``admission.peer_refused``); one more group fits (``admission.max_groups``)."""
    check_not_refused(policy, group)
    if policy.federate == "none" or (policy.federate == "peers" and not added_peer):
        raise AdmissionError("admission.peer_refused")
    check_room_for_group(policy, hosted)


@dataclass(slots=True)
class Usage:
    """Bytes of stored entries: the store's durable counters plus what is reserved and being written."""

    group: int = 0
    node: int = 0


def check_budget(policy: Policy, kind: int, size: int, usage: Usage) -> None:
    """An entry of ``kind`` and ``size`` stored bytes fits the budgets. Only :data:`BUDGETED_KINDS`
    are checked: the group's budget (``quota.group_full``), then the node's (``quota.node_full``),
    each refusing an entry that would take its usage past it."""
    if kind not in BUDGETED_KINDS:
        return
    if kind != kinds.GENESIS and policy.max_group_bytes is not None and usage.group + size > policy.max_group_bytes:
        raise QuotaError("quota.group_full")
    if policy.max_node_bytes is not None and usage.node + size > policy.max_node_bytes:
        raise QuotaError("quota.node_full")


__all__ = [
    "BUDGETED_KINDS",
    "CREATE_MODES",
    "FEDERATE_MODES",
    "TOKEN_PREFIX",
    "USES_PREFIX",
    "CreateMode",
    "FederateMode",
    "Policy",
    "TokenRecord",
    "Usage",
    "check_budget",
    "check_create",
    "check_invitation",
    "check_not_refused",
    "check_room_for_group",
    "check_token",
    "decode_uses",
    "encode_uses",
    "parse_token",
    "token_hash",
    "token_text",
]
