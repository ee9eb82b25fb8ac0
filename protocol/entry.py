"""Signed, hash-linked entries: one position in one author's append-only log of one group.

An entry is a signed *header* (spec section "Entries"), a canonical CBOR map

    {"v": 1, "g": group id, "a": author key, "s": seq, "p": prev id or null,
     "t": timestamp ms, "k": kind, "n": payload size, "h": payload hash, "sig": signature}

signed under the domain ``holdspace/v1/entry``, plus a detached *payload* whose BLAKE2b-256 hash
and size the header commits to. The entry id is the hash of the header bytes.

Detaching the payload is what makes deletion honest: a host can erase a payload (redaction,
erasure, expiry, a removed member's late posts) and keep the header, so every log stays a
verifiable, gap-free chain while the words are gone.

:func:`decode_entry` applies every context-free rule, in the spec's order; log continuity needs
the author's log and lives in ``log``; membership rules live in ``group``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, TypeGuard, cast

from holdspace.protocol import codec, crypto, kinds, signing
from holdspace.protocol.errors import EntryError
from holdspace.protocol.identity import Pseudonym
from holdspace.protocol.memo import Memo

VERSION = 1
MAX_HEADER_SIZE = 1024
MAX_CLOCK_SKEW_MS = 300_000
MAX_SEQ = 2**63 - 1
ID_SIZE = 32
GROUP_ID_SIZE = 32
GENESIS_GROUP = bytes(GROUP_ID_SIZE)  # the "g" of a genesis entry
FIELDS = frozenset({"v", "g", "a", "s", "p", "t", "k", "n", "h", signing.SIG})


@dataclass(frozen=True, slots=True)
class Entry:
    """A decoded entry whose signature and context-free rules have been checked."""

    group: bytes
    author: bytes
    seq: int
    prev: bytes | None
    timestamp_ms: int
    kind: int
    payload_size: int
    payload_hash: bytes = field(repr=False)
    signature: bytes = field(repr=False)
    raw: bytes = field(repr=False)
    entry_id: bytes
    payload: bytes | None = field(default=None, repr=False)

    def without_payload(self) -> Entry:
        """The same entry as a *husk*: header only (after deletion, or for a header-only sync)."""
        return self._carrying(None)

    def with_payload(self, payload: bytes) -> Entry:
        """Attach a payload received separately; raises ``entry.payload_mismatch`` if it is not this one."""
        check_payload(self, payload)
        return self._carrying(payload)

    def _carrying(self, payload: bytes | None) -> Entry:
        """This entry with ``payload`` instead of its own, unchecked (``dataclasses.replace`` without
        its generic field walk: this runs for every entry a node or a client reads)."""
        return Entry(
            self.group,
            self.author,
            self.seq,
            self.prev,
            self.timestamp_ms,
            self.kind,
            self.payload_size,
            self.payload_hash,
            self.signature,
            self.raw,
            self.entry_id,
            payload,
        )

    @property
    def version(self) -> int:
        return VERSION

    @property
    def log_group(self) -> bytes:
        """The group whose log this entry is in: a genesis (kind 1, s = 1, g = 0^32) is in the group it
        founds, whose id is its own id; every other entry is in group ``g``."""
        if self.kind == kinds.GENESIS and self.group == GENESIS_GROUP and self.seq == 1:
            return self.entry_id
        return self.group


def entry_id(raw: bytes) -> bytes:
    return crypto.blake2b_256(raw)


def create_entry(
    author: Pseudonym,
    *,
    group: bytes,
    seq: int,
    prev: bytes | None,
    timestamp_ms: int,
    kind: int,
    payload: bytes,
) -> Entry:
    """Sign a new entry. The result passes :func:`decode_entry`'s rules before it is returned."""
    fields: dict[str, codec.CborValue] = {
        "v": VERSION,
        "g": group,
        "a": author.public_key,
        "s": seq,
        "p": prev,
        "t": timestamp_ms,
        "k": kind,
        "n": len(payload),
        "h": crypto.blake2b_256(payload),
    }
    raw = codec.encode(signing.sign_fields(signing.DOMAIN_ENTRY, fields, author.seed))
    return decode_entry(raw, payload, now_ms=None, verify=False)  # every rule but the signature just made


def _uint(value: codec.CborValue) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _bytes_of(value: codec.CborValue, size: int) -> TypeGuard[bytes]:
    return isinstance(value, bytes) and len(value) == size


def check_payload(entry: Entry, payload: bytes) -> None:
    if len(payload) != entry.payload_size or crypto.blake2b_256(payload) != entry.payload_hash:
        raise EntryError("entry.payload_mismatch", "the payload's size or hash differs from the header's")


#: How many verified headers :func:`decode_entry` remembers (a few MB at most).
HEADER_MEMO_SIZE: Final = 16384


# Header bytes -> the header-only Entry they decode to, for headers whose every context-free rule
# *and signature* passed once (never a header that failed, nor one decoded with ``verify=False``).
# Invariant: an entry held is exactly what decoding its bytes with ``now_ms=None`` and
# ``payload=None`` returns, so answering from it changes no result and no error (protocol.memo).
_verified: Memo[bytes, Entry] = Memo(HEADER_MEMO_SIZE)


def decode_entry(raw: bytes, payload: bytes | None, *, now_ms: int | None, verify: bool = True) -> Entry:
    """Decode and verify the header ``raw`` and, if given, its ``payload``.

    Raises the first failing rule's typed error, in the order of spec section 6.2: size, CBOR
    (``cbor.*``), shape, version, fields, kind, payload size, timestamp, signature, payload.
    ``now_ms=None`` skips the clock check (used when re-verifying stored or proof entries).
    ``payload=None`` verifies the header alone (a husk). ``verify=False`` skips only the signature
    check, for a node re-reading entries it verified when it stored them.

    A header whose signature was verified once is remembered (``_verified``, a bounded ``Memo``): decoding the
    same bytes again checks only what depends on the call, the clock (``now_ms``) and the payload,
    in the same order, so the result and the error are those of a full decode.
    """
    header = _verified.get(raw)
    if header is None:
        entry = _decode_entry(raw, payload, now_ms=now_ms, verify=verify)
        if verify:
            _verified.put(raw, entry if payload is None else entry._carrying(None))
        return entry
    if now_ms is not None and header.timestamp_ms > now_ms + MAX_CLOCK_SKEW_MS:
        raise EntryError(
            "entry.future_timestamp",
            f"entry timestamp is {header.timestamp_ms - now_ms} ms ahead; at most {MAX_CLOCK_SKEW_MS} ms allowed",
        )
    if payload is None:
        return header
    if len(payload) != header.payload_size or crypto.blake2b_256(payload) != header.payload_hash:
        raise EntryError("entry.payload_mismatch", "the payload's size or hash differs from the header's")
    return header._carrying(payload)


def decode_stored_entry(raw: bytes, payload: bytes | None) -> Entry:
    """An entry read back from the node's own store: every rule of :func:`decode_entry` (signature and
    payload digest included) held when the node stored it, and the store keeps the exact bytes, so
    none is checked again. The header is decoded by :func:`codec.decode_stored` and its fields taken
    as they are; the id is the hash of the header. Raises ``entry.malformed`` if the bytes are not
    an entry header at all (a damaged store). Never for bytes from the network: :func:`decode_entry`."""
    fields = codec.decode_stored(raw)
    if not isinstance(fields, dict) or fields.keys() != FIELDS:
        raise EntryError("entry.malformed", "a stored header is not an entry header")
    stored = cast(dict[str, Any], fields)
    return Entry(
        stored["g"],
        stored["a"],
        stored["s"],
        stored["p"],
        stored["t"],
        stored["k"],
        stored["n"],
        stored["h"],
        stored[signing.SIG],
        raw,
        entry_id(raw),
        payload,
    )


def _decode_entry(raw: bytes, payload: bytes | None, *, now_ms: int | None, verify: bool) -> Entry:
    """:func:`decode_entry` without the memo: every rule, in order."""
    if len(raw) > MAX_HEADER_SIZE:
        raise EntryError("entry.oversize", f"entry header is {len(raw)} bytes; the limit is {MAX_HEADER_SIZE}")
    fields = codec.decode(raw, max_size=MAX_HEADER_SIZE)
    if not isinstance(fields, dict):
        raise EntryError("entry.malformed", "an entry must be a CBOR map")
    version = fields.get("v")
    if not _uint(version):
        raise EntryError("entry.malformed", "entry field v must be an unsigned integer")
    if version != VERSION:
        raise EntryError("entry.bad_version", f"entry version {version!r} is not supported (this is {VERSION})")
    if fields.keys() != FIELDS:
        missing = sorted(FIELDS - fields.keys())
        extra = sorted(fields.keys() - FIELDS)
        raise EntryError("entry.malformed", f"entry fields wrong: missing {missing}, unexpected {extra}")
    group, author, seq, prev = fields["g"], fields["a"], fields["s"], fields["p"]
    timestamp, kind, size, digest = fields["t"], fields["k"], fields["n"], fields["h"]
    sig = fields[signing.SIG]
    if not _bytes_of(group, GROUP_ID_SIZE):
        raise EntryError("entry.malformed", "entry field g must be 32 bytes")
    if not _bytes_of(author, crypto.ED25519_PUBLIC):
        raise EntryError("entry.malformed", "entry field a must be 32 bytes")
    if not _uint(seq) or not 1 <= seq <= MAX_SEQ:
        raise EntryError("entry.malformed", f"entry field s must be an integer in 1..{MAX_SEQ}")
    if seq == 1:
        if prev is not None:
            raise EntryError("entry.malformed", "the first entry of a log must have p = null")
    elif not _bytes_of(prev, ID_SIZE):
        raise EntryError("entry.malformed", "entry field p must be 32 bytes when s > 1")
    if not _uint(timestamp) or timestamp > MAX_SEQ:
        raise EntryError("entry.malformed", "entry field t must be an unsigned 63-bit integer")
    if not _uint(kind):
        raise EntryError("entry.malformed", "entry field k must be an unsigned integer")
    if not _uint(size):
        raise EntryError("entry.malformed", "entry field n must be an unsigned integer")
    if not _bytes_of(digest, crypto.HASH_SIZE):
        raise EntryError("entry.malformed", "entry field h must be 32 bytes")
    if not _bytes_of(sig, crypto.ED25519_SIGNATURE):
        raise EntryError("entry.malformed", "entry field sig must be 64 bytes")
    if kind not in kinds.KINDS:
        raise EntryError("entry.unknown_kind", f"entry kind {kind} is not in the kind registry")
    limit = kinds.max_payload(kind)
    if size > limit:
        raise EntryError("entry.oversize", f"payload of {size} bytes exceeds the {limit}-byte limit of its kind")
    if now_ms is not None and timestamp > now_ms + MAX_CLOCK_SKEW_MS:
        raise EntryError(
            "entry.future_timestamp",
            f"entry timestamp is {timestamp - now_ms} ms ahead; at most {MAX_CLOCK_SKEW_MS} ms allowed",
        )
    if verify and not signing.verify_fields(signing.DOMAIN_ENTRY, fields, author):
        raise EntryError("entry.bad_signature")
    assert isinstance(prev, bytes | None)
    if payload is not None and (len(payload) != size or crypto.blake2b_256(payload) != digest):
        raise EntryError("entry.payload_mismatch", "the payload's size or hash differs from the header's")
    return Entry(group, author, seq, prev, timestamp, kind, size, digest, sig, raw, entry_id(raw), payload)
