"""Credential attestations: an issuer vouches that a pseudonym holds a role (spec 17.7).

    attestation = {"v": 1, "i": issuer key, "s": subject pseudonym, "g": group id or null,
                   "r": role text, "nb": not before (ms), "x": expires (ms), "n": 16-byte serial, "sig"}
    revocation  = {"v": 1, "i": issuer key, "c": credential id, "t": revoked at (ms), "sig"}

Both are signed objects (spec 5) under the domains ``holdspace/v1/credential`` and
``holdspace/v1/revocation``. A credential's id is the BLAKE2b-256 of its bytes.

Whom to believe is the group's decision: its control log lists trusted issuers (``trust`` entries),
for example a community node's key. :func:`check_badge` is what a client runs before it shows a
verified badge; every failure has a code and a sentence the client shows instead of the badge.
Nodes never see credentials: members post them inside encrypted messages.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from holdspace.protocol import codec, crypto, signing
from holdspace.protocol.errors import CredentialError, HoldspaceError

VERSION = 1
DOMAIN_CREDENTIAL = "holdspace/v1/credential"
DOMAIN_REVOCATION = "holdspace/v1/revocation"
MAX_ROLE = 64  # bytes of UTF-8
SERIAL_SIZE = 16
MAX_SIZE = 512
_ATTESTATION_FIELDS = frozenset({"v", "i", "s", "g", "r", "nb", "x", "n", signing.SIG})
_REVOCATION_FIELDS = frozenset({"v", "i", "c", "t", signing.SIG})


@dataclass(frozen=True, slots=True)
class Attestation:
    issuer: bytes
    subject: bytes
    group: bytes | None
    role: str
    not_before_ms: int
    expires_ms: int
    serial: bytes
    raw: bytes

    @property
    def credential_id(self) -> bytes:
        return crypto.blake2b_256(self.raw)


@dataclass(frozen=True, slots=True)
class Revocation:
    issuer: bytes
    credential_id: bytes
    revoked_ms: int
    raw: bytes


def _key(value: codec.CborValue) -> bool:
    return isinstance(value, bytes) and len(value) == 32


def _ms(value: codec.CborValue) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 2**63 - 1


def issue(
    issuer_seed: bytes,
    *,
    subject: bytes,
    role: str,
    not_before_ms: int,
    expires_ms: int,
    serial: bytes,
    group: bytes | None = None,
) -> Attestation:
    fields: dict[str, codec.CborValue] = {
        "v": VERSION,
        "i": crypto.ed25519_public_key(issuer_seed),
        "s": subject,
        "g": group,
        "r": role,
        "nb": not_before_ms,
        "x": expires_ms,
        "n": serial,
    }
    return decode_attestation(codec.encode(signing.sign_fields(DOMAIN_CREDENTIAL, fields, issuer_seed)))


def revoke(issuer_seed: bytes, credential_id: bytes, revoked_ms: int) -> Revocation:
    fields: dict[str, codec.CborValue] = {
        "v": VERSION,
        "i": crypto.ed25519_public_key(issuer_seed),
        "c": credential_id,
        "t": revoked_ms,
    }
    return decode_revocation(codec.encode(signing.sign_fields(DOMAIN_REVOCATION, fields, issuer_seed)))


def _signed_map(raw: bytes, fields: frozenset[str], what: str) -> dict[str, codec.CborValue]:
    if len(raw) > MAX_SIZE:
        raise CredentialError("credential.malformed", f"a {what} is at most {MAX_SIZE} bytes")
    try:
        value = codec.decode(raw, max_size=MAX_SIZE)
    except HoldspaceError as exc:
        raise CredentialError("credential.malformed", f"a {what} must be canonical CBOR ({exc.code})") from exc
    version = value.get("v") if isinstance(value, dict) else None
    if not isinstance(value, dict) or value.keys() != fields or type(version) is not int or version != VERSION:
        raise CredentialError("credential.malformed", f"a {what} needs exactly the fields {sorted(fields)}, v = 1")
    return value


def decode_attestation(raw: bytes) -> Attestation:
    """Structure and signature; whether to *believe* it is :func:`check_badge`'s question."""
    f = _signed_map(raw, _ATTESTATION_FIELDS, "credential")
    issuer, subject, group, role, nb, x, serial = f["i"], f["s"], f["g"], f["r"], f["nb"], f["x"], f["n"]
    if not _key(issuer) or not _key(subject) or not (group is None or _key(group)):
        raise CredentialError("credential.malformed", "i and s must be 32-byte keys, g a 32-byte group id or null")
    if not isinstance(role, str) or not 1 <= len(role.encode()) <= MAX_ROLE:
        raise CredentialError("credential.malformed", f"r must be a role of 1..{MAX_ROLE} bytes of UTF-8")
    if not _ms(nb) or not _ms(x) or not isinstance(serial, bytes) or len(serial) != SERIAL_SIZE:
        raise CredentialError("credential.malformed", "nb and x must be times in ms, n a 16-byte serial")
    assert isinstance(issuer, bytes) and isinstance(subject, bytes) and isinstance(nb, int) and isinstance(x, int)
    if not signing.verify_fields(DOMAIN_CREDENTIAL, f, issuer):
        raise CredentialError("credential.bad_signature")
    return Attestation(issuer, subject, group if isinstance(group, bytes) else None, role, nb, x, serial, raw)


def decode_revocation(raw: bytes) -> Revocation:
    f = _signed_map(raw, _REVOCATION_FIELDS, "revocation")
    issuer, cid, when = f["i"], f["c"], f["t"]
    if not _key(issuer) or not _key(cid) or not _ms(when):
        raise CredentialError("credential.malformed", "i must be a 32-byte key, c a credential id, t a time in ms")
    assert isinstance(issuer, bytes) and isinstance(cid, bytes) and isinstance(when, int)
    if not signing.verify_fields(DOMAIN_REVOCATION, f, issuer):
        raise CredentialError("credential.bad_signature", "the revocation's signature does not verify")
    return Revocation(issuer, cid, when, raw)


@dataclass(frozen=True, slots=True)
class Badge:
    """What a client shows next to a member: a verified role, or why not."""

    role: str | None
    issuer: bytes | None
    verified: bool
    code: str | None  # None when verified
    reason: str  # a sentence for people


def check_badge(
    raw: bytes,
    *,
    subject: bytes,
    group: bytes,
    issuers: Iterable[bytes],
    revocations: Iterable[bytes],
    now_ms: int,
) -> Badge:
    """Verify an attestation a member posted about itself, in this order: structure and signature,
    subject, group, issuer trusted by the group now, not before, expiry, revocation (a revocation
    counts if its own signature is the credential issuer's, whenever it was made)."""
    try:
        att = decode_attestation(raw)
    except CredentialError as err:
        return Badge(None, None, False, err.code, err.message)

    def no(code: str, why: str) -> Badge:
        return Badge(att.role, att.issuer, False, code, why)

    if att.subject != subject:
        return no("credential.wrong_subject", "the credential was issued to another pseudonym")
    if att.group is not None and att.group != group:
        return no("credential.wrong_group", "the credential was issued for another group")
    if att.issuer not in set(issuers):
        return no("credential.untrusted_issuer", "this group does not list the credential's issuer as trusted")
    if now_ms < att.not_before_ms:
        return no("credential.not_yet_valid", "the credential is not valid yet")
    if now_ms >= att.expires_ms:
        return no("credential.expired", "the credential has expired")
    for item in revocations:
        try:
            revocation = decode_revocation(item)
        except CredentialError:
            continue
        if revocation.issuer == att.issuer and revocation.credential_id == att.credential_id:
            return no("credential.revoked", "the issuer has revoked the credential")
    return Badge(att.role, att.issuer, True, None, "verified: signed by an issuer this group trusts")
