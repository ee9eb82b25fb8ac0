"""Payloads of control entries and the envelope of message payloads (spec "Groups", "Messages").

Control payloads are plaintext canonical CBOR maps: every node reads them to enforce the group's
rules. Each (except genesis) carries ``"d"``, the ids of the control entries its author had seen as
the heads of the group's control DAG: that is how concurrency is made explicit.

:func:`decode_payload` checks structure only (field set, types, sizes, sorted deps). Whether an
operation is *authorised* depends on the group's state and is decided in ``protocol.group``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Final, TypeGuard

from holdspace.protocol import codec, crypto, kinds
from holdspace.protocol.address import NodeAddress
from holdspace.protocol.errors import CodecError, GroupError, HoldspaceError
from holdspace.protocol.identity import IdentityDocument, verify_identity_document
from holdspace.protocol.memo import Memo

MEMBER = "member"
MODERATOR = "moderator"
FACILITATOR = "facilitator"
ROLES = (MEMBER, MODERATOR, FACILITATOR)
RANK = {MEMBER: 1, MODERATOR: 2, FACILITATOR: 3}

HISTORY_FROM_JOIN = "joined"
HISTORY_SHARED = "shared"
HISTORY_VISIBILITY = (HISTORY_FROM_JOIN, HISTORY_SHARED)
MAX_HISTORY_DAYS = 365  # "hv" as a number: new members may read the epochs of the last N days before joining
DAY_MS = 86_400_000
History = str | int  # "joined", "shared", or a number of days 1..MAX_HISTORY_DAYS

MAX_DEPS = 1024
NONCE_SIZE = 16
MAX_META = 4096
MAX_ADDRESS_TEXT = 300
JOIN_DOMAIN = b"holdspace/v1/join"
MAX_REDACT = 256  # entries one redaction names
MAX_SESSION_DURATION = 86_400_000  # one day
MAX_RETENTION = 366 * 86_400_000
MAX_OCCURRENCES = 520  # ten years of weekly meetings
MAX_TZ_TEXT = 64
MAX_START = 32_503_680_000_000  # 3000-01-01T00:00:00Z: far enough, and every occurrence stays computable
MAX_SESSION_DETAILS = 8192  # the "e" envelope: a title and a description, padded to a 4096-byte bucket
TZ_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*")
RECURRENCE = ("daily", "weekly")
MAX_DIRECT_RECIPIENTS = 256
DIRECT_SEALED_KEY = 32 + crypto.SEALED_BOX_OVERHEAD  # Seal(x25519, 32-byte content key)
MAX_SEALED_WORDS = 8192  # a removal's note or reason: a direct envelope (a 1000-byte text pads to 1024)
MAX_REMOVAL_WORDS = 1000  # bytes of UTF-8 in a removal's note or reason (what the reference client sends)

_BAD = "group.malformed_payload"


def _uint(value: codec.CborValue) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _key(value: codec.CborValue) -> TypeGuard[bytes]:
    return isinstance(value, bytes) and len(value) == 32


def _fail(kind: int, why: str) -> GroupError:
    return GroupError(_BAD, f"{kinds.kind_name(kind)} payload: {why}")


def _fields(
    kind: int, payload: bytes, stored: bool, required: set[str], optional: frozenset[str] = frozenset()
) -> dict[str, codec.CborValue]:
    try:
        value = codec.decode_stored(payload) if stored else codec.decode(payload, max_size=kinds.max_payload(kind))
    except CodecError as exc:
        raise _fail(kind, f"not canonical CBOR ({exc.code})") from exc
    if not isinstance(value, dict):
        raise _fail(kind, "must be a map")
    if not required <= value.keys() <= required | optional:
        raise _fail(
            kind,
            f"fields must be {sorted(required)}" + (f" plus optional {sorted(optional)}" if optional else ""),
        )
    return value


def _deps(kind: int, value: codec.CborValue, *, allow_empty: bool = False) -> tuple[bytes, ...]:
    if not isinstance(value, list) or not all(_key(d) for d in value):
        raise _fail(kind, "d must be a list of 32-byte entry ids")
    deps = tuple(d for d in value if isinstance(d, bytes))
    if not deps and not allow_empty:
        raise _fail(kind, "d must name at least one control entry")
    if len(deps) > MAX_DEPS:
        raise _fail(kind, f"d names more than {MAX_DEPS} entries")
    if any(a >= b for a, b in pairwise(deps)):
        raise _fail(kind, "d must be sorted ascending without duplicates")
    return deps


def _role(kind: int, value: codec.CborValue) -> str:
    if value not in ROLES or not isinstance(value, str):
        raise _fail(kind, f"role must be one of {', '.join(ROLES)}")
    return value


def is_history(value: object) -> TypeGuard[History]:
    """True iff ``value`` is a history visibility (spec 12.2): the text ``"joined"`` or ``"shared"``,
    or an integer (not a boolean) of days from 1 to :data:`MAX_HISTORY_DAYS`."""
    if isinstance(value, str):
        return value in HISTORY_VISIBILITY
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_HISTORY_DAYS


def _history(kind: int, value: codec.CborValue) -> History:
    """``hv``: refused unless :func:`is_history` (the text ``"joined"`` or ``"shared"``, or an
    unsigned integer 1..365 that is not a boolean)."""
    if not is_history(value):
        raise _fail(kind, f"hv must be 'joined', 'shared' or a number of days 1..{MAX_HISTORY_DAYS}")
    return value


def _home(kind: int, value: codec.CborValue) -> str:
    """A node address (``holdspace://hsn1…@host:port``), returned in its normal text form."""
    if not isinstance(value, str) or len(value) > MAX_ADDRESS_TEXT:
        raise _fail(kind, f"h must be a node address of at most {MAX_ADDRESS_TEXT} characters")
    try:
        address = NodeAddress.parse(value)
    except HoldspaceError as exc:
        raise _fail(kind, f"h is not a node address ({exc.code})") from exc
    if str(address) != value:
        raise _fail(kind, "h must be a node address in its normal form")
    return value


def _document(kind: int, value: codec.CborValue, author: bytes, stored: bool) -> IdentityDocument:
    if not isinstance(value, bytes):
        raise _fail(kind, "doc must be an identity document")
    try:
        doc = verify_identity_document(value, stored=stored)
    except HoldspaceError as exc:
        raise _fail(kind, f"identity document rejected ({exc.code})") from exc
    if doc.public_key != author:
        raise _fail(kind, "identity document is not the author's")
    return doc


@dataclass(frozen=True, slots=True)
class Genesis:
    nonce: bytes
    document: IdentityDocument
    history: History
    home: str | None = None  # the creator's home node: the group's first host

    def encode(self) -> bytes:
        fields: dict[str, codec.CborValue] = {"n": self.nonce, "doc": self.document.raw, "hv": self.history}
        if self.home is not None:
            fields["h"] = self.home
        return codec.encode(fields)


@dataclass(frozen=True, slots=True)
class Invite:
    deps: tuple[bytes, ...]
    role: str
    expires_ms: int
    max_uses: int
    target: bytes | None
    invite_key: bytes

    def encode(self) -> bytes:
        return codec.encode(
            {
                "d": list(self.deps),
                "r": self.role,
                "x": self.expires_ms,
                "u": self.max_uses,
                "p": self.target,
                "i": self.invite_key,
            }
        )


@dataclass(frozen=True, slots=True)
class Join:
    deps: tuple[bytes, ...]
    invite_id: bytes
    proof: bytes
    document: IdentityDocument
    home: str | None = None  # the joiner's home node, which becomes a host of the group

    def encode(self) -> bytes:
        fields: dict[str, codec.CborValue] = {
            "d": list(self.deps),
            "i": self.invite_id,
            "w": self.proof,
            "doc": self.document.raw,
        }
        if self.home is not None:
            fields["h"] = self.home
        return codec.encode(fields)


@dataclass(frozen=True, slots=True)
class Remove:
    """A removal (spec 12.3). ``note`` and ``reason``, when present, are direct envelopes (13.5)
    encrypted as a direct message at the removal's own seq: the note sealed to the removed member,
    the reason to the facilitators. Nodes check their structure only."""

    deps: tuple[bytes, ...]
    target: bytes
    cut: int
    ban: bool
    note: bytes | None = None
    reason: bytes | None = None

    def encode(self) -> bytes:
        fields: dict[str, codec.CborValue] = {"d": list(self.deps), "m": self.target, "c": self.cut, "b": self.ban}
        if self.note is not None:
            fields["n"] = self.note
        if self.reason is not None:
            fields["y"] = self.reason
        return codec.encode(fields)


@dataclass(frozen=True, slots=True)
class RoleChange:
    deps: tuple[bytes, ...]
    target: bytes
    role: str

    def encode(self) -> bytes:
        return codec.encode({"d": list(self.deps), "m": self.target, "r": self.role})


@dataclass(frozen=True, slots=True)
class Leave:
    deps: tuple[bytes, ...]

    def encode(self) -> bytes:
        return codec.encode({"d": list(self.deps)})


@dataclass(frozen=True, slots=True)
class Settings:
    deps: tuple[bytes, ...]
    history: History
    meta: bytes | None  # name and description, encrypted under the current epoch (clients only)

    def encode(self) -> bytes:
        return codec.encode({"d": list(self.deps), "hv": self.history, "e": self.meta})


@dataclass(frozen=True, slots=True)
class Rekey:
    deps: tuple[bytes, ...]
    sealed: tuple[tuple[bytes, bytes], ...]  # (member key, Seal(member X25519, epoch key)), sorted by key
    document: IdentityDocument | None  # the author's new identity document (post-compromise update)
    history: tuple[tuple[bytes, bytes], ...]  # (new member key, Seal(its X25519, earlier epoch keys))

    def encode(self) -> bytes:
        return codec.encode(
            {
                "d": list(self.deps),
                "r": [list(pair) for pair in self.sealed],
                "doc": self.document.raw if self.document else None,
                "h": [list(pair) for pair in self.history],
            }
        )

    @property
    def recipients(self) -> frozenset[bytes]:
        return frozenset(key for key, _ in self.sealed)


@dataclass(frozen=True, slots=True)
class Host:
    """A facilitator adds (``add``) or removes a node from the group's hosts."""

    deps: tuple[bytes, ...]
    address: str
    add: bool

    def encode(self) -> bytes:
        return codec.encode({"d": list(self.deps), "h": self.address, "a": self.add})

    @property
    def node_key(self) -> bytes:
        return NodeAddress.parse(self.address).node_key


@dataclass(frozen=True, slots=True)
class Redact:
    """The author of messages, or a moderator, deletes them: every host keeps only their headers."""

    deps: tuple[bytes, ...]
    target: bytes  # the author of the redacted entries
    ids: tuple[bytes, ...]  # sorted entry ids

    def encode(self) -> bytes:
        return codec.encode({"d": list(self.deps), "m": self.target, "r": list(self.ids)})


@dataclass(frozen=True, slots=True)
class Erase:
    """A member erases its own messages up to and including its log position ``upto``."""

    deps: tuple[bytes, ...]
    upto: int

    def encode(self) -> bytes:
        return codec.encode({"d": list(self.deps), "s": self.upto})


@dataclass(frozen=True, slots=True)
class Session:
    """A facilitator schedules (or, with ``replaces``, changes or cancels) a facilitated session.

    Times are visible to hosts because they enforce ``retention``; the title and details are in
    ``details``, a message envelope encrypted like a message at this entry's seq."""

    deps: tuple[bytes, ...]
    replaces: bytes | None  # the session (its first entry's id) this one updates
    start_ms: int
    duration_ms: int
    tz: str  # IANA time zone the recurrence follows
    recurrence: tuple[str, int] | None  # ("daily" | "weekly", number of occurrences)
    retention_ms: int | None  # erase what is said in an occurrence this long after it ends
    cancelled: bool
    details: bytes | None

    def encode(self) -> bytes:
        return codec.encode(
            {
                "d": list(self.deps),
                "s": self.replaces,
                "st": self.start_ms,
                "du": self.duration_ms,
                "tz": self.tz,
                "rc": list(self.recurrence) if self.recurrence else None,
                "rt": self.retention_ms,
                "x": self.cancelled,
                "e": self.details,
            }
        )


@dataclass(frozen=True, slots=True)
class Trust:
    """A facilitator lists (or delists) a key whose credential attestations the group trusts."""

    deps: tuple[bytes, ...]
    issuer: bytes
    add: bool

    def encode(self) -> bytes:
        return codec.encode({"d": list(self.deps), "k": self.issuer, "a": self.add})


@dataclass(frozen=True, slots=True)
class Close:
    """An invite closed: no join through it stands unless this entry saw it (spec 12.5)."""

    deps: tuple[bytes, ...]
    invite_id: bytes

    def encode(self) -> bytes:
        return codec.encode({"d": list(self.deps), "i": self.invite_id})


@dataclass(frozen=True, slots=True)
class Mute:
    """A moderator or facilitator stops a member's group messages until ``until_ms`` (spec 12.5, 12.6).

    ``cut`` is the target's last seq the muter leaves unmuted (its head as the muter saw it);
    ``until_ms`` 0 (or any time already past) lifts a mute: the latest governing mute decides.
    """

    deps: tuple[bytes, ...]
    target: bytes
    cut: int
    until_ms: int

    def encode(self) -> bytes:
        return codec.encode({"d": list(self.deps), "m": self.target, "c": self.cut, "u": self.until_ms})


ControlPayload = (
    Genesis
    | Invite
    | Join
    | Remove
    | RoleChange
    | Leave
    | Settings
    | Rekey
    | Host
    | Redact
    | Erase
    | Session
    | Trust
    | Close
    | Mute
)


def _sealed_list(kind: int, value: codec.CborValue, name: str) -> tuple[tuple[bytes, bytes], ...]:
    if not isinstance(value, list):
        raise _fail(kind, f"{name} must be a list of [member key, sealed box]")
    pairs: list[tuple[bytes, bytes]] = []
    for item in value:
        if not isinstance(item, list) or len(item) != 2 or not _key(item[0]) or not isinstance(item[1], bytes):
            raise _fail(kind, f"{name} must be a list of [32-byte key, sealed box]")
        if len(item[1]) < crypto.SEALED_BOX_OVERHEAD:
            raise _fail(kind, f"{name} holds a sealed box shorter than {crypto.SEALED_BOX_OVERHEAD} bytes")
        pairs.append((item[0], item[1]))
    if any(a[0] >= b[0] for a, b in pairwise(pairs)):
        raise _fail(kind, f"{name} must be sorted by member key without duplicates")
    return tuple(pairs)


def _sealed_words(kind: int, f: dict[str, codec.CborValue], name: str) -> bytes | None:
    """An optional field holding words for chosen members: a direct envelope (13.5) of at most
    ``MAX_SEALED_WORDS`` bytes, checked for structure only."""
    if name not in f:
        return None
    value = f[name]
    if not isinstance(value, bytes) or len(value) > MAX_SEALED_WORDS:
        raise _fail(kind, f"{name} must be a direct envelope of at most {MAX_SEALED_WORDS} bytes")
    try:
        decode_direct(value)
    except GroupError as exc:
        raise _fail(kind, f"{name} is not a direct envelope ({exc})") from exc
    return value


#: How many decoded control payloads :func:`decode_payload` remembers (small: control entries only).
PAYLOAD_MEMO_SIZE: Final = 8192

_decoded: Memo[tuple[int, bytes, bytes], ControlPayload] = Memo(PAYLOAD_MEMO_SIZE)


def decode_payload(kind: int, payload: bytes, author: bytes, *, stored: bool = False) -> ControlPayload:
    """Structural decoding of a control payload; ``group.malformed_payload`` on any deviation.

    An identity document it carries (genesis, join, rekey) is verified (spec 4.4). ``stored=True``
    is for a payload the node accepted (decoded and verified) before, read back from its own store,
    never for one from the network: it is decoded by ``codec.decode_stored`` and its document's
    cryptographic checks are not made again (:func:`verify_identity_document`); every structural
    check still is.

    The result depends on ``(kind, payload, author)`` alone (an identity document inside is checked
    against ``author``), and payloads are immutable, so a payload decoded and fully verified once is
    remembered (:class:`protocol.memo.Memo`, bounded): the same bytes again give the same object.
    Only full successes are remembered: a malformed payload is decoded, and refused, in full every
    time, and a ``stored=True`` decode (its document not verified again) is never remembered, so it
    can never answer for bytes from the network. Whether the entry is authorised is never part of
    this: each node and client judges it against its own group state."""
    key = (kind, author, payload)
    known = _decoded.get(key)
    if known is not None:
        return known
    decoded = _decode_payload(kind, payload, author, stored)
    if not stored:
        _decoded.put(key, decoded)
    return decoded


def _decode_payload(kind: int, payload: bytes, author: bytes, stored: bool) -> ControlPayload:
    """:func:`decode_payload` without the memo: every rule, in order."""
    if kind == kinds.GENESIS:
        f = _fields(kind, payload, stored, {"n", "doc", "hv"}, frozenset({"h"}))
        nonce = f["n"]
        if not isinstance(nonce, bytes) or len(nonce) != NONCE_SIZE:
            raise _fail(kind, f"n must be {NONCE_SIZE} bytes")
        home = _home(kind, f["h"]) if "h" in f else None
        return Genesis(nonce, _document(kind, f["doc"], author, stored), _history(kind, f["hv"]), home)
    if kind == kinds.INVITE:
        f = _fields(kind, payload, stored, {"d", "r", "x", "u", "p", "i"})
        expires, uses, target, key = f["x"], f["u"], f["p"], f["i"]
        if not _uint(expires) or not _uint(uses) or uses < 1:
            raise _fail(kind, "x must be an unsigned integer and u a positive integer")
        if target is not None and not _key(target):
            raise _fail(kind, "p must be a 32-byte pseudonym or null")
        if not _key(key):
            raise _fail(kind, "i must be a 32-byte Ed25519 public key")
        return Invite(_deps(kind, f["d"]), _role(kind, f["r"]), expires, uses, target, key)
    if kind == kinds.JOIN:
        f = _fields(kind, payload, stored, {"d", "i", "w", "doc"}, frozenset({"h"}))
        invite_id, proof = f["i"], f["w"]
        deps = _deps(kind, f["d"])
        if not _key(invite_id) or invite_id not in deps:
            raise _fail(kind, "i must be a 32-byte invite id that d also names")
        if not isinstance(proof, bytes) or len(proof) != crypto.ED25519_SIGNATURE:
            raise _fail(kind, "w must be a 64-byte signature")
        home = _home(kind, f["h"]) if "h" in f else None
        return Join(deps, invite_id, proof, _document(kind, f["doc"], author, stored), home)
    if kind == kinds.REMOVE:
        f = _fields(kind, payload, stored, {"d", "m", "c", "b"}, frozenset({"n", "y"}))
        target, cut, ban = f["m"], f["c"], f["b"]
        if not _key(target) or not _uint(cut) or not isinstance(ban, bool):
            raise _fail(kind, "m must be a 32-byte key, c an unsigned integer, b a boolean")
        note, reason = (_sealed_words(kind, f, name) for name in ("n", "y"))
        return Remove(_deps(kind, f["d"]), target, cut, ban, note, reason)
    if kind == kinds.ROLE:
        f = _fields(kind, payload, stored, {"d", "m", "r"})
        if not _key(f["m"]):
            raise _fail(kind, "m must be a 32-byte key")
        return RoleChange(_deps(kind, f["d"]), f["m"], _role(kind, f["r"]))
    if kind == kinds.LEAVE:
        f = _fields(kind, payload, stored, {"d"})
        return Leave(_deps(kind, f["d"]))
    if kind == kinds.SETTINGS:
        f = _fields(kind, payload, stored, {"d", "hv", "e"})
        meta = f["e"]
        history = _history(kind, f["hv"])
        if meta is not None and (not isinstance(meta, bytes) or len(meta) > MAX_META):
            raise _fail(kind, f"e must be null or at most {MAX_META} bytes")
        return Settings(_deps(kind, f["d"]), history, meta)
    if kind == kinds.REKEY:
        f = _fields(kind, payload, stored, {"d", "r", "doc", "h"})
        document = None if f["doc"] is None else _document(kind, f["doc"], author, stored)
        sealed = _sealed_list(kind, f["r"], "r")
        if not sealed:
            raise _fail(kind, "r must seal the epoch key to at least its author")
        return Rekey(_deps(kind, f["d"]), sealed, document, _sealed_list(kind, f["h"], "h"))
    if kind == kinds.HOST:
        f = _fields(kind, payload, stored, {"d", "h", "a"})
        if not isinstance(f["a"], bool):
            raise _fail(kind, "a must be a boolean")
        return Host(_deps(kind, f["d"]), _home(kind, f["h"]), f["a"])
    if kind == kinds.REDACT:
        f = _fields(kind, payload, stored, {"d", "m", "r"})
        ids = f["r"]
        if not _key(f["m"]):
            raise _fail(kind, "m must be a 32-byte key")
        if not isinstance(ids, list) or not 1 <= len(ids) <= MAX_REDACT or not all(_key(i) for i in ids):
            raise _fail(kind, f"r must list 1 to {MAX_REDACT} entry ids")
        targets = tuple(i for i in ids if isinstance(i, bytes))
        if any(a >= b for a, b in pairwise(targets)):
            raise _fail(kind, "r must be sorted ascending without duplicates")
        return Redact(_deps(kind, f["d"]), f["m"], targets)
    if kind == kinds.ERASE:
        f = _fields(kind, payload, stored, {"d", "s"})
        if not _uint(f["s"]) or f["s"] < 1:
            raise _fail(kind, "s must be a positive integer")
        return Erase(_deps(kind, f["d"]), f["s"])
    if kind == kinds.SESSION:
        return _session(kind, _fields(kind, payload, stored, {"d", "s", "st", "du", "tz", "rc", "rt", "x", "e"}))
    if kind == kinds.TRUST:
        f = _fields(kind, payload, stored, {"d", "k", "a"})
        if not _key(f["k"]) or not isinstance(f["a"], bool):
            raise _fail(kind, "k must be a 32-byte key and a a boolean")
        return Trust(_deps(kind, f["d"]), f["k"], f["a"])
    if kind == kinds.CLOSE:
        f = _fields(kind, payload, stored, {"d", "i"})
        if not _key(f["i"]):
            raise _fail(kind, "i must be a 32-byte invite id")
        return Close(_deps(kind, f["d"]), f["i"])
    if kind == kinds.MUTE:
        f = _fields(kind, payload, stored, {"d", "m", "c", "u"})
        target, cut, until = f["m"], f["c"], f["u"]
        if not _key(target) or not _uint(cut) or not _uint(until) or until >= MAX_START:
            raise _fail(kind, f"m must be a 32-byte key, c an unsigned integer, u a time in ms before {MAX_START}")
        return Mute(_deps(kind, f["d"]), target, cut, until)
    raise GroupError(_BAD, f"kind {kind} has no control payload")


def _session(kind: int, f: dict[str, codec.CborValue]) -> Session:
    replaces, start, duration, tz, rc, rt, cancelled, details = (
        f["s"],
        f["st"],
        f["du"],
        f["tz"],
        f["rc"],
        f["rt"],
        f["x"],
        f["e"],
    )
    if replaces is not None and not _key(replaces):
        raise _fail(kind, "s must be null or the 32-byte id of the session it updates")
    if not _uint(start) or start >= MAX_START:
        raise _fail(kind, f"st must be a start time in ms before {MAX_START} (the year 3000)")
    if not _uint(duration) or not 1 <= duration <= MAX_SESSION_DURATION:
        raise _fail(kind, f"du must be 1..{MAX_SESSION_DURATION} ms")
    if not isinstance(tz, str) or len(tz) > MAX_TZ_TEXT or not TZ_NAME.fullmatch(tz):
        raise _fail(kind, f"tz must be an IANA time zone name (like Europe/London) of at most {MAX_TZ_TEXT} bytes")
    recurrence: tuple[str, int] | None = None
    if rc is not None:
        if (
            not isinstance(rc, list)
            or len(rc) != 2
            or rc[0] not in RECURRENCE
            or not isinstance(rc[0], str)
            or not _uint(rc[1])
            or not 2 <= rc[1] <= MAX_OCCURRENCES
        ):
            raise _fail(kind, f'rc must be null or ["daily" | "weekly", 2..{MAX_OCCURRENCES}]')
        recurrence = (rc[0], rc[1])
    if rt is not None and (not _uint(rt) or rt > MAX_RETENTION):
        raise _fail(kind, f"rt must be null or 0..{MAX_RETENTION} ms")
    if not isinstance(cancelled, bool):
        raise _fail(kind, "x must be a boolean")
    if details is not None and (not isinstance(details, bytes) or len(details) > MAX_SESSION_DETAILS):
        raise _fail(kind, f"e must be null or at most {MAX_SESSION_DETAILS} bytes")
    deps = _deps(kind, f["d"])
    return Session(deps, replaces, start, duration, tz, recurrence, rt, cancelled, details)


def join_proof_message(group_id: bytes, joiner: bytes, invite_id: bytes) -> bytes:
    """What the invite's secret key signs to let ``joiner`` redeem invite ``invite_id``."""
    return JOIN_DOMAIN + b"\x00" + group_id + joiner + invite_id


# --- message envelope ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MessageEnvelope:
    """The visible frame of an encrypted message: which epoch and chain index, nonce, ciphertext, and
    the commitment to the message key (``e2ee.key_commitment``), which binds the signed payload to the
    one key, hence the one plaintext, it opens to."""

    epoch: bytes
    index: int
    nonce: bytes
    ciphertext: bytes
    expires_ms: int | None = None  # every host deletes the payload at this time
    commitment: bytes = field(kw_only=True)  # 32 bytes: H("holdspace/v1/key-commitment" || 0x00 || mk_i)

    def encode(self) -> bytes:
        fields: dict[str, codec.CborValue] = {
            "e": self.epoch,
            "i": self.index,
            "n": self.nonce,
            "c": self.ciphertext,
            "k": self.commitment,
        }
        if self.expires_ms is not None:
            fields["x"] = self.expires_ms
        return codec.encode(fields)


def _expiry(kind: int, f: dict[str, codec.CborValue]) -> int | None:
    if "x" not in f:
        return None
    expires = f["x"]
    if not _uint(expires) or expires > 2**63 - 1:
        raise _fail(kind, "x must be an expiry time in ms")
    return expires


def decode_envelope(payload: bytes) -> MessageEnvelope:
    """Structure only: exactly ``e``, ``i``, ``n``, ``c``, ``k`` (and optionally ``x``); ``e`` 32 bytes,
    ``i`` an unsigned integer, ``n`` 24 bytes, ``c`` at least a tag, ``k`` 32 bytes, ``x`` an expiry."""
    f = _fields(kinds.MESSAGE, payload, False, {"e", "i", "n", "c", "k"}, frozenset({"x"}))
    epoch, index, nonce, ciphertext, commitment = f["e"], f["i"], f["n"], f["c"], f["k"]
    if not _key(epoch) or not _uint(index) or not isinstance(nonce, bytes) or len(nonce) != crypto.AEAD_NONCE:
        raise _fail(kinds.MESSAGE, "e must be a 32-byte epoch id, i an unsigned integer, n a 24-byte nonce")
    if not isinstance(ciphertext, bytes) or len(ciphertext) < crypto.AEAD_TAG:
        raise _fail(kinds.MESSAGE, "c must be a ciphertext with its 16-byte tag")
    if not _key(commitment):
        raise _fail(kinds.MESSAGE, "k must be a 32-byte key commitment")
    return MessageEnvelope(epoch, index, nonce, ciphertext, _expiry(kinds.MESSAGE, f), commitment=commitment)


@dataclass(frozen=True, slots=True)
class DirectEnvelope:
    """A direct message: a random content key sealed to each recipient, the padded plaintext
    encrypted under it. For check-ins meant for facilitators only, and for reports. Every box must
    hold the one content key ``commitment`` commits to: a recipient refuses a box that does not."""

    sealed: tuple[tuple[bytes, bytes], ...]  # (member key, Seal(its X25519, content key)), sorted
    nonce: bytes
    ciphertext: bytes
    expires_ms: int | None = None
    commitment: bytes = field(kw_only=True)  # 32 bytes: H("holdspace/v1/key-commitment" || 0x00 || content key)

    def encode(self) -> bytes:
        fields: dict[str, codec.CborValue] = {
            "r": [list(pair) for pair in self.sealed],
            "n": self.nonce,
            "c": self.ciphertext,
            "k": self.commitment,
        }
        if self.expires_ms is not None:
            fields["x"] = self.expires_ms
        return codec.encode(fields)

    @property
    def recipients(self) -> frozenset[bytes]:
        return frozenset(key for key, _ in self.sealed)


def decode_direct(payload: bytes) -> DirectEnvelope:
    """Structure only: exactly ``r``, ``n``, ``c``, ``k`` (and optionally ``x``); ``r`` 1..256 boxes of
    80 bytes sorted by unique member key, ``n`` 24 bytes, ``c`` at least a tag, ``k`` 32 bytes."""
    kind = kinds.DIRECT
    f = _fields(kind, payload, False, {"r", "n", "c", "k"}, frozenset({"x"}))
    sealed = _sealed_list(kind, f["r"], "r")
    if not 1 <= len(sealed) <= MAX_DIRECT_RECIPIENTS or any(len(box) != DIRECT_SEALED_KEY for _, box in sealed):
        raise _fail(kind, f"r must seal a 32-byte key to 1..{MAX_DIRECT_RECIPIENTS} members")
    nonce, ciphertext = f["n"], f["c"]
    if not isinstance(nonce, bytes) or len(nonce) != crypto.AEAD_NONCE:
        raise _fail(kind, "n must be a 24-byte nonce")
    if not isinstance(ciphertext, bytes) or len(ciphertext) < crypto.AEAD_TAG:
        raise _fail(kind, "c must be a ciphertext with its 16-byte tag")
    commitment = f["k"]
    if not _key(commitment):
        raise _fail(kind, "k must be a 32-byte key commitment")
    return DirectEnvelope(sealed, nonce, ciphertext, _expiry(kind, f), commitment=commitment)


def envelope_expiry(kind: int, payload: bytes) -> int | None:
    """The expiry a message-kind payload declares (None: none); raises ``group.malformed_payload``."""
    if kind == kinds.DIRECT:
        return decode_direct(payload).expires_ms
    return decode_envelope(payload).expires_ms
