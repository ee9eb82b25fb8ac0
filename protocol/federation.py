"""Federation frames (spec section 16): what host nodes of the same groups say to each other.

Sans-I/O, like ``protocol.frames`` (whose response and event encodings these frames share). A
federation connection uses ALPN ``holdspace-fed/1``; both ends present their node certificates, so
each side knows the other's node key from the handshake and nothing in these frames claims it.

Catch-up in one round trip per connection plus one per changed group:

1. ``digests``: the puller sends, per group it wants from this peer, the digest of its log heads.
   The answer names the groups whose heads differ and those the peer will not serve.
2. ``sync``: one long-lived stream carrying many groups. Per group the puller gives ``after`` (the
   peer's cursor it already processed, or null for "from your current end" when the digests were
   equal) and ``have`` (its heads, so nothing it holds is resent; null for no filter). The peer then
   streams ``entries`` events (per group, in its own arrival order, which is a valid order for
   validation) and stays subscribed: new entries follow as they commit.
3. ``offer``: push one entry (used to bring a join to a group's existing hosts).

Invariant: :func:`decode_fed_request` returns a request whose fields have the spec's types and
sizes, or raises ``ProtocolError``; never anything else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import pairwise

from holdspace.protocol import codec, crypto
from holdspace.protocol.entry import MAX_HEADER_SIZE
from holdspace.protocol.errors import HoldspaceError
from holdspace.protocol.frames import (
    MAX_FRAME,
    ProtocolError,
    Request,
    decode_request,
    encode_event,
    encode_request,
    is_key,
    is_uint,
)
from holdspace.protocol.kinds import MAX_CONTROL_PAYLOAD
from holdspace.protocol.log import MAX_FORK_PROOF_SIZE

ALPN_FEDERATION = "holdspace-fed/1"
HEADS_DOMAIN = b"holdspace/v1/heads"
MAX_SYNC_GROUPS = 1024  # groups per digests or sync request
MAX_HAVE = 16_384  # authors in one group's have list; a larger group pulls without a filter


class FederationError(HoldspaceError):
    family = "fed"


def _sorted_unique(items: list[codec.CborValue]) -> bool:
    """The first elements of ``items`` (lists) are strictly ascending."""
    keys = [i[0] for i in items if isinstance(i, list) and i and isinstance(i[0], bytes)]
    return len(keys) == len(items) and all(a < b for a, b in pairwise(keys))


def _digest_list(value: codec.CborValue) -> bool:
    if not isinstance(value, list) or not 0 < len(value) <= MAX_SYNC_GROUPS:
        return False
    if not all(isinstance(i, list) and len(i) == 2 and is_key(i[0]) and is_key(i[1]) for i in value):
        return False
    return _sorted_unique(value)


def _have(value: codec.CborValue) -> bool:
    if value is None:
        return True
    if not isinstance(value, list) or len(value) > MAX_HAVE:
        return False
    if not all(
        isinstance(i, list) and len(i) == 3 and is_key(i[0]) and is_uint(i[1]) and i[1] > 0 and is_key(i[2])
        for i in value
    ):
        return False
    return _sorted_unique(value)


def _sync_list(value: codec.CborValue) -> bool:
    if not isinstance(value, list) or not 0 < len(value) <= MAX_SYNC_GROUPS:
        return False
    for item in value:
        if not isinstance(item, list) or len(item) != 3 or not is_key(item[0]):
            return False
        if not (item[1] is None or is_uint(item[1])) or not _have(item[2]):
            return False
    return _sorted_unique(value)


_FED_SCHEMA: dict[str, dict[str, object]] = {
    "digests": {"groups": _digest_list},
    "sync": {"groups": _sync_list},
    "offer": {
        "e": lambda v: isinstance(v, bytes) and len(v) <= MAX_HEADER_SIZE,
        "b": lambda v: v is None or (isinstance(v, bytes) and len(v) <= MAX_CONTROL_PAYLOAD),
    },
}


def decode_fed_request(data: bytes) -> Request:
    """A federation request, checked field by field (``proto.*`` codes on any deviation)."""
    return decode_request(data, _FED_SCHEMA)


SyncPlan = list[tuple[bytes, int | None, dict[bytes, tuple[int, bytes]] | None]]


def sync_plan(request: Request) -> SyncPlan:
    """The groups of a decoded ``sync`` request as (group, after, have by author or None)."""
    out: SyncPlan = []
    groups = request.fields["groups"]
    assert isinstance(groups, list)
    for item in groups:
        assert isinstance(item, list)
        group, after, have = item
        assert isinstance(group, bytes) and (after is None or isinstance(after, int))
        wanted: dict[bytes, tuple[int, bytes]] | None = None
        if isinstance(have, list):
            wanted = {}
            for h in have:
                assert isinstance(h, list)
                author, seq, eid = h
                assert isinstance(author, bytes) and isinstance(seq, int) and isinstance(eid, bytes)
                wanted[author] = (seq, eid)
        out.append((group, after, wanted))
    return out


def digest_plan(request: Request) -> list[tuple[bytes, bytes]]:
    """The (group, heads digest) pairs of a decoded ``digests`` request."""
    groups = request.fields["groups"]
    assert isinstance(groups, list)
    out: list[tuple[bytes, bytes]] = []
    for item in groups:
        assert isinstance(item, list)
        group, digest = item
        assert isinstance(group, bytes) and isinstance(digest, bytes)
        out.append((group, digest))
    return out


def heads_digest(heads: Mapping[bytes, tuple[int, bytes]]) -> bytes:
    """BLAKE2b-256 of ``HEADS_DOMAIN || 0x00 || CBOR([[author, seq, entry id], ...] sorted by author)``.

    Two nodes with the same set of log heads for a group (and no forks) hold the same entries."""
    items: list[codec.CborValue] = [[author, seq, eid] for author, (seq, eid) in sorted(heads.items())]
    return crypto.blake2b_256(HEADS_DOMAIN + b"\x00" + codec.encode(items))


def have_list(heads: Mapping[bytes, tuple[int, bytes]]) -> list[codec.CborValue] | None:
    """The ``have`` field for these heads: ``[[author, seq, entry id], ...]`` sorted by author (None
    when there are too many authors to list). The ids let the sender spot a fork at those positions."""
    if len(heads) > MAX_HAVE:
        return None
    return [[author, seq, eid] for author, (seq, eid) in sorted(heads.items())]


def encode_digests(digests: Mapping[bytes, bytes]) -> bytes:
    return encode_request("digests", groups=[[g, d] for g, d in sorted(digests.items())])


def encode_sync(groups: Mapping[bytes, tuple[int | None, list[codec.CborValue] | None]]) -> bytes:
    return encode_request("sync", groups=[[g, after, have] for g, (after, have) in sorted(groups.items())])


def encode_offer(header: bytes, payload: bytes | None) -> bytes:
    return encode_request("offer", e=header, b=payload)


def encode_entries_event(group: bytes, items: list[codec.CborValue], following: int) -> bytes:
    """``entries`` event: ``items`` are ``[cursor, header, payload or null]`` in the sender's order."""
    return encode_event("entries", g=group, entries=items, next=following)


def encode_fork_event(group: bytes, proof: bytes) -> bytes:
    return encode_event("fork", g=group, proof=proof)


@dataclass(slots=True)
class SyncEvent:
    """A decoded event on a sync stream: ``entries``, ``fork`` or ``keepalive``."""

    kind: str
    group: bytes | None = None
    entries: list[tuple[int, bytes, bytes | None]] = field(default_factory=list)
    next: int = 0
    proof: bytes | None = None


def decode_sync_event(value: Mapping[str, codec.CborValue]) -> SyncEvent:
    """Check an event map (as ``decode_response`` returns it); ``proto.malformed_frame`` otherwise."""
    kind = value.get("ev")
    bad = ProtocolError("proto.malformed_frame", f"malformed {kind!s:.16} event on a sync stream")
    if kind == "keepalive":
        return SyncEvent("keepalive")
    group = value.get("g")
    if not is_key(group):
        raise bad
    if kind == "fork" and value.keys() == {"ev", "g", "proof"}:
        proof = value["proof"]
        if not isinstance(proof, bytes) or len(proof) > MAX_FORK_PROOF_SIZE:
            raise bad
        return SyncEvent("fork", group, proof=proof)
    if kind != "entries" or value.keys() != {"ev", "g", "entries", "next"}:
        raise bad
    items, following = value["entries"], value["next"]
    if not isinstance(items, list) or not is_uint(following):
        raise bad
    entries: list[tuple[int, bytes, bytes | None]] = []
    for item in items:
        if not isinstance(item, list) or len(item) != 3:
            raise bad
        cursor, header, payload = item
        if not is_uint(cursor) or not isinstance(header, bytes) or not (payload is None or isinstance(payload, bytes)):
            raise bad
        entries.append((cursor, header, payload))
    return SyncEvent("entries", group, entries, following)


__all__ = [
    "ALPN_FEDERATION",
    "FederationError",
    "MAX_FRAME",
    "MAX_HAVE",
    "MAX_SYNC_GROUPS",
    "SyncEvent",
    "SyncPlan",
    "decode_fed_request",
    "decode_sync_event",
    "digest_plan",
    "encode_digests",
    "encode_entries_event",
    "encode_fork_event",
    "encode_offer",
    "encode_rejected_event",
    "encode_sync",
    "have_list",
    "heads_digest",
    "sync_plan",
]


def encode_rejected_event(entry_id: bytes, code: str) -> bytes:
    """Sent by a puller on a sync stream for an entry it refused (the sender learns why)."""
    return encode_event("rejected", id=entry_id, code=code)
