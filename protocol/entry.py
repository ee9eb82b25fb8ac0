"""Signed, hash-linked entries: one position in one author's append-only log of one group.

Wire form (spec section "Entries"): a canonical CBOR map

    {"v": 1, "g": group id, "a": author key, "s": seq, "p": prev id or null,
     "t": timestamp ms, "k": kind, "b": body, "sig": Ed25519 signature}

signed under the domain ``holdspace/v1/entry``. The entry id is BLAKE2b-256 of the entry's exact
bytes. :func:`decode_entry` applies every context-free rule, in the spec's order, and returns an
:class:`Entry` only if all pass; log continuity needs the author's log and lives in ``log``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeGuard

from protocol import codec, crypto, kinds, signing
from protocol.errors import EntryError
from protocol.identity import Pseudonym

VERSION = 1
MAX_ENTRY_SIZE = 65_536
MAX_CLOCK_SKEW_MS = 300_000
MAX_SEQ = 2**63 - 1
ID_SIZE = 32
GROUP_ID_SIZE = 32
FIELDS = frozenset({"v", "g", "a", "s", "p", "t", "k", "b", signing.SIG})


@dataclass(frozen=True, slots=True)
class Entry:
    """A decoded entry whose signature and context-free rules have been checked."""

    group: bytes
    author: bytes
    seq: int
    prev: bytes | None
    timestamp_ms: int
    kind: int
    body: bytes = field(repr=False)
    signature: bytes = field(repr=False)
    raw: bytes = field(repr=False)
    entry_id: bytes

    @property
    def version(self) -> int:
        return VERSION


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
    body: bytes,
) -> Entry:
    """Sign a new entry. The result is checked by :func:`decode_entry` before it is returned."""
    fields: dict[str, codec.CborValue] = {
        "v": VERSION,
        "g": group,
        "a": author.public_key,
        "s": seq,
        "p": prev,
        "t": timestamp_ms,
        "k": kind,
        "b": body,
    }
    raw = codec.encode(signing.sign_fields(signing.DOMAIN_ENTRY, fields, author.seed))
    return decode_entry(raw, now_ms=None)


def _uint(value: codec.CborValue) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _bytes_of(value: codec.CborValue, size: int) -> TypeGuard[bytes]:
    return isinstance(value, bytes) and len(value) == size


def decode_entry(raw: bytes, *, now_ms: int | None) -> Entry:
    """Decode and verify ``raw``; raise the first failing rule's typed error.

    Order: size, CBOR (``cbor.*``), shape, version, fields, kind, timestamp, signature.
    ``now_ms=None`` skips the clock check (used when re-verifying stored or proof entries).
    """
    if len(raw) > MAX_ENTRY_SIZE:
        raise EntryError("entry.oversize", f"entry is {len(raw)} bytes; the limit is {MAX_ENTRY_SIZE}")
    fields = codec.decode(raw, max_size=MAX_ENTRY_SIZE)
    if not isinstance(fields, dict):
        raise EntryError("entry.malformed", "an entry must be a CBOR map")
    version = fields.get("v")
    if not _uint(version):
        raise EntryError("entry.malformed", "entry field v must be an unsigned integer")
    if version != VERSION:
        raise EntryError(
            "entry.bad_version", f"entry version {version!r} is not supported (this is {VERSION})"
        )
    if fields.keys() != FIELDS:
        missing = sorted(FIELDS - fields.keys())
        extra = sorted(fields.keys() - FIELDS)
        raise EntryError("entry.malformed", f"entry fields wrong: missing {missing}, unexpected {extra}")
    group, author, seq, prev = fields["g"], fields["a"], fields["s"], fields["p"]
    timestamp, kind, body, sig = fields["t"], fields["k"], fields["b"], fields[signing.SIG]
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
    if not isinstance(body, bytes):
        raise EntryError("entry.malformed", "entry field b must be a byte string")
    if not _bytes_of(sig, crypto.ED25519_SIGNATURE):
        raise EntryError("entry.malformed", "entry field sig must be 64 bytes")
    if kind not in kinds.KINDS:
        raise EntryError("entry.unknown_kind", f"entry kind {kind} is not in the kind registry")
    if now_ms is not None and timestamp > now_ms + MAX_CLOCK_SKEW_MS:
        raise EntryError(
            "entry.future_timestamp",
            f"entry timestamp is {timestamp - now_ms} ms ahead; at most {MAX_CLOCK_SKEW_MS} ms allowed",
        )
    assert isinstance(author, bytes) and isinstance(sig, bytes)
    if not signing.verify_fields(signing.DOMAIN_ENTRY, fields, author):
        raise EntryError("entry.bad_signature")
    assert isinstance(group, bytes) and isinstance(seq, int) and isinstance(timestamp, int)
    assert isinstance(kind, int) and (prev is None or isinstance(prev, bytes))
    return Entry(group, author, seq, prev, timestamp, kind, body, sig, raw, entry_id(raw))
