"""Pseudonymous identities: key pairs, per-group derivation, fingerprints, identity documents.

A pseudonym is an Ed25519 key pair (it signs) plus an X25519 key pair (it receives sealed group
keys). The two are bound by an *identity document* signed with the Ed25519 key.

Per-group pseudonyms (spec "Per-group pseudonyms"): from one 32-byte master secret, the key pair
for derivation context ``c`` is

    ed25519_seed  = HKDF-SHA-256(ikm=master, salt="holdspace/v1/pseudonym", info="ed25519" || c)
    x25519_secret = HKDF-SHA-256(ikm=master, salt="holdspace/v1/pseudonym", info="x25519"  || c)

HKDF is a pseudo-random function keyed by the master, so without the master two pseudonyms are
indistinguishable from independently generated ones: they cannot be linked.

Invariant: secret material never appears in ``repr``/``str`` of these objects.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field

from holdspace.protocol import codec, crypto, signing, textid
from holdspace.protocol.errors import CodecError, IdentityError

MASTER_SECRET_SIZE = 32
DERIVATION_SALT = b"holdspace/v1/pseudonym"
FINGERPRINT_DOMAIN = b"holdspace/v1/fingerprint"
MAX_CONTEXT = 64
MAX_DISPLAY_NAME_BYTES = 128
MAX_IDENTITY_DOCUMENT = 1024
IDENTITY_VERSION = 1
MAX_TIMESTAMP = 2**63 - 1


def group_context(group_id: bytes) -> bytes:
    """Derivation context of the pseudonym used in an existing group (joined by invite)."""
    return b"group:" + group_id


def genesis_context(nonce: bytes) -> bytes:
    """Derivation context of a group creator's pseudonym: the genesis entry's nonce.

    The group id is the hash of the genesis entry, which the creator signs, so the creator's key
    cannot depend on the group id; it depends on the nonce the genesis entry carries instead.
    """
    return b"genesis:" + nonce


@dataclass(frozen=True, slots=True)
class Pseudonym:
    """A signing key pair and a key-agreement key pair, held by their owner only."""

    seed: bytes = field(repr=False)
    x_secret: bytes = field(repr=False)
    public_key: bytes
    x_public_key: bytes

    @classmethod
    def from_secrets(cls, seed: bytes, x_secret: bytes) -> Pseudonym:
        return cls(seed, x_secret, crypto.ed25519_public_key(seed), crypto.x25519_public_key(x_secret))

    @classmethod
    def generate(cls) -> Pseudonym:
        return cls.from_secrets(os.urandom(32), os.urandom(32))

    @classmethod
    def derive(cls, master: bytes, context: bytes) -> Pseudonym:
        """The pseudonym for ``context`` under ``master`` (see module docstring)."""
        if len(master) != MASTER_SECRET_SIZE:
            raise IdentityError("identity.bad_key", "master secret must be 32 bytes")
        if not 0 < len(context) <= MAX_CONTEXT:
            raise IdentityError("identity.bad_key", f"derivation context must be 1..{MAX_CONTEXT} bytes")
        seed = crypto.hkdf_sha256(master, salt=DERIVATION_SALT, info=b"ed25519" + context)
        x_secret = crypto.hkdf_sha256(master, salt=DERIVATION_SALT, info=b"x25519" + context)
        return cls.from_secrets(seed, x_secret)

    @property
    def text_id(self) -> str:
        return textid.encode_id(textid.PSEUDONYM_PREFIX, self.public_key)

    def sign(self, message: bytes) -> bytes:
        return crypto.ed25519_sign(self.seed, message)

    def identity_document(self, timestamp_ms: int, display_name: str | None = None) -> bytes:
        return make_identity_document(self, timestamp_ms, display_name)


def new_master_secret() -> bytes:
    return os.urandom(MASTER_SECRET_SIZE)


def pseudonym_text_id(public_key: bytes) -> str:
    return textid.encode_id(textid.PSEUDONYM_PREFIX, public_key)


def parse_pseudonym_id(text: str) -> bytes:
    key = textid.decode_id(textid.PSEUDONYM_PREFIX, text)
    if not crypto.ed25519_public_key_valid(key):
        raise IdentityError("identity.bad_key", "textual id does not carry a valid Ed25519 public key")
    return key


def fingerprint(public_key: bytes) -> str:
    """Twenty decimal digits in four groups, for comparing a key out of band (read aloud).

    ``h = BLAKE2b-256(FINGERPRINT_DOMAIN || public_key)``; group ``i`` (0..3) is the big-endian
    integer of ``h[5i : 5i+5]`` modulo 100000, zero-padded to five digits.
    """
    if len(public_key) != crypto.ED25519_PUBLIC:
        raise IdentityError("identity.bad_key", "public key must be 32 bytes")
    digest = crypto.blake2b_256(FINGERPRINT_DOMAIN + public_key)
    groups = (int.from_bytes(digest[5 * i : 5 * i + 5], "big") % 100_000 for i in range(4))
    return " ".join(f"{g:05d}" for g in groups)


# --- identity documents ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IdentityDocument:
    """A verified identity document: who signs as ``public_key`` receives keys at ``x_public_key``."""

    public_key: bytes
    x_public_key: bytes
    timestamp_ms: int
    display_name: str | None
    raw: bytes


def make_identity_document(owner: Pseudonym, timestamp_ms: int, display_name: str | None = None) -> bytes:
    fields: dict[str, codec.CborValue] = {
        "v": IDENTITY_VERSION,
        "k": owner.public_key,
        "x": owner.x_public_key,
        "t": timestamp_ms,
    }
    if display_name is not None:
        fields["n"] = display_name
    _check_document_fields(fields, require_sig=False)
    return codec.encode(signing.sign_fields(signing.DOMAIN_IDENTITY, fields, owner.seed))


def _check_document_fields(fields: dict[str, codec.CborValue], *, require_sig: bool) -> None:
    allowed = {"v", "k", "x", "t", "n", signing.SIG}
    required = {"v", "k", "x", "t"} | ({signing.SIG} if require_sig else set())
    bad = "identity.malformed_document"
    if not required <= fields.keys() <= allowed:
        raise IdentityError(bad, f"identity document fields must be {sorted(required)} plus optional n")
    if fields["v"] != IDENTITY_VERSION or isinstance(fields["v"], bool):
        raise IdentityError(bad, f"identity document version must be {IDENTITY_VERSION}")
    for name in ("k", "x"):
        value = fields[name]
        if not isinstance(value, bytes) or len(value) != 32:
            raise IdentityError(bad, f"identity document field {name} must be 32 bytes")
    if not isinstance(fields["t"], int) or isinstance(fields["t"], bool) or not 0 <= fields["t"] <= MAX_TIMESTAMP:
        raise IdentityError(bad, "identity document timestamp must be an integer in 0..2^63-1")
    name_value = fields.get("n")
    if name_value is not None and (
        not isinstance(name_value, str) or len(name_value.encode()) > MAX_DISPLAY_NAME_BYTES
    ):
        raise IdentityError(bad, f"display name must be text of at most {MAX_DISPLAY_NAME_BYTES} bytes")
    if require_sig:
        sig = fields[signing.SIG]
        if not isinstance(sig, bytes) or len(sig) != crypto.ED25519_SIGNATURE:
            raise IdentityError(bad, "identity document signature must be 64 bytes")


def verify_identity_document(raw: bytes, *, stored: bool = False) -> IdentityDocument:
    """Decode and verify an identity document; typed errors in the order of spec section 4.4.

    A document is verified again wherever it travels (every join, every group state computed),
    so verified documents are remembered by their exact bytes (a refusal is not remembered).

    ``stored=True`` is only for a document verified before, read back from the node's own store (a
    node verifies each document when it accepts the entry carrying it); anything from the network is
    verified. It is decoded by ``codec.decode_stored`` and its cryptographic checks (the Ed25519 key
    decodes to a point of large order, the X25519 key is not of small order, the signature) are not
    made again; every structural one is."""
    if stored:
        return _decode_identity_document(bytes(raw), stored=True)
    return _verify_identity_document(bytes(raw))


@functools.lru_cache(maxsize=16384)
def _verify_identity_document(raw: bytes) -> IdentityDocument:
    return _decode_identity_document(raw, stored=False)


def _decode_identity_document(raw: bytes, *, stored: bool) -> IdentityDocument:
    if len(raw) > MAX_IDENTITY_DOCUMENT:
        raise IdentityError("identity.malformed_document", f"identity document exceeds {MAX_IDENTITY_DOCUMENT} bytes")
    try:
        fields = codec.decode_stored(raw) if stored else codec.decode(raw, max_size=MAX_IDENTITY_DOCUMENT)
    except CodecError as exc:
        raise IdentityError(
            "identity.malformed_document", f"identity document is not canonical CBOR ({exc.code})"
        ) from exc
    if not isinstance(fields, dict):
        raise IdentityError("identity.malformed_document", "identity document must be a map")
    _check_document_fields(fields, require_sig=True)
    public_key = fields["k"]
    assert isinstance(public_key, bytes)
    x_key = fields["x"]
    assert isinstance(x_key, bytes)
    if not stored:
        _check_document_crypto(fields, public_key, x_key)
    x_public, timestamp, name = fields["x"], fields["t"], fields.get("n")
    assert isinstance(x_public, bytes) and isinstance(timestamp, int)
    assert name is None or isinstance(name, str)
    return IdentityDocument(public_key, x_public, timestamp, name, raw)


def _check_document_crypto(fields: dict[str, codec.CborValue], public_key: bytes, x_key: bytes) -> None:
    """The cryptographic checks of a document, in the order of spec section 4.4: its Ed25519 key is
    a valid point, its X25519 key not of small order, its signature verifies."""
    if not crypto.ed25519_public_key_valid(public_key):
        raise IdentityError("identity.bad_key", "identity document key is not a valid Ed25519 public key")
    if not crypto.x25519_public_key_valid(x_key):
        raise IdentityError(
            "identity.bad_key", "identity document X25519 key is of small order: nothing sealed to it is secret"
        )
    if not signing.verify_fields(signing.DOMAIN_IDENTITY, fields, public_key):
        raise IdentityError("identity.bad_signature")
