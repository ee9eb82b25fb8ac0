"""Typed errors with stable codes.

Invariant: every error raised by ``protocol`` (and by ``node`` when it rejects input) is a
``HoldspaceError`` whose ``code`` is a key of :data:`CODES`. Codes are part of the wire protocol and
of ``spec/protocol.md``: they never change meaning once published; new ones may be added.

A code is ``family.reason``; the family names the exception class that carries it, so callers can
catch a whole family (``except CodecError``) or test one code (``err.code == "cbor.non_canonical"``).
"""

from __future__ import annotations

from typing import ClassVar

#: code -> one-sentence meaning. Kept in one table so the spec and tests can check completeness.
CODES: dict[str, str] = {
    # --- codec (canonical CBOR, RFC 8949 section 4.2) ---
    "cbor.truncated": "the input ended in the middle of a data item",
    "cbor.trailing_bytes": "bytes remain after the single top-level data item",
    "cbor.non_canonical": "an integer, length or map order is not in deterministic (shortest, sorted) form",
    "cbor.duplicate_key": "a map contains the same key twice",
    "cbor.indefinite_length": "an indefinite-length string, array or map was used",
    "cbor.float_not_allowed": "a floating-point value was used; the protocol has none",
    "cbor.tag_not_allowed": "a tagged item was used; the protocol defines no tags",
    "cbor.simple_not_allowed": "a simple value other than false, true or null was used",
    "cbor.bad_key_type": "a map key is not a text string",
    "cbor.invalid_utf8": "a text string is not valid UTF-8",
    "cbor.too_deep": "arrays and maps are nested deeper than the limit",
    "cbor.too_large": "the item or a string or collection in it exceeds the size limit",
    "cbor.reserved": "a reserved additional-information value (28-30) or break code was used",
    "cbor.unsupported_type": "a value of a type outside the protocol's data model was given to the encoder",
    # --- identities ---
    "identity.bad_text_id": "a textual id is malformed (wrong prefix, characters or length)",
    "identity.bad_checksum": "a textual id's checksum does not match: it was probably mistyped",
    "identity.bad_key": "a key has the wrong length or is not a valid key",
    "identity.malformed_document": "an identity document does not have the required fields and types",
    "identity.bad_signature": "an identity document's signature does not verify",
    # --- entries ---
    "entry.oversize": "the entry header or its declared payload exceeds its size limit",
    "entry.malformed": "the entry does not have the required fields and types",
    "entry.bad_version": "the entry's protocol version is not supported",
    "entry.unknown_kind": "the entry's kind is not in the kind registry",
    "entry.future_timestamp": "the entry's timestamp is further in the future than the allowed clock skew",
    "entry.bad_signature": "the entry's signature does not verify against its author",
    "entry.payload_mismatch": "the payload's size or hash is not the one the entry header commits to",
    # --- append-only logs ---
    "log.seq_gap": "the entry's sequence number is not the next one in its author's log",
    "log.prev_mismatch": "the entry's previous-entry hash is not the id of the author's log head",
    "log.fork": "the entry conflicts with another valid entry at the same position of its author's log",
    "log.bad_fork_proof": "a fork proof does not prove a fork",
    # --- primitives ---
    "crypto.bad_key": "a key or nonce has the wrong length",
    "crypto.decrypt_failed": "authenticated decryption failed: wrong key, or the data was altered",
}


class HoldspaceError(Exception):
    """Base of all protocol errors: a stable ``code`` and a human sentence ``message``."""

    family: ClassVar[str] = ""

    def __init__(self, code: str, message: str | None = None) -> None:
        if code not in CODES:
            raise ValueError(f"unregistered error code {code!r}")
        if self.family and not code.startswith(self.family + "."):
            raise ValueError(f"code {code!r} does not belong to {type(self).__name__}")
        self.code = code
        self.message = message or CODES[code]
        super().__init__(f"{code}: {self.message}")


class CodecError(HoldspaceError):
    family = "cbor"


class IdentityError(HoldspaceError):
    family = "identity"


class EntryError(HoldspaceError):
    family = "entry"


class LogError(HoldspaceError):
    family = "log"


class CryptoError(HoldspaceError):
    family = "crypto"
