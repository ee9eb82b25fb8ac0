"""Self-signed X.509 certificates carrying a node's Ed25519 key, and raw-key extraction.

Authentication is by key pinning, not by a CA: the only part of the certificate a peer relies on
is the Ed25519 SubjectPublicKeyInfo (TLS CertificateVerify proves possession of its private key).
"""

from __future__ import annotations

import datetime

import nacl.signing
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import NameOID

__all__ = ["certificate_for", "raw_ed25519_key"]

_NOT_AFTER = datetime.datetime(9999, 12, 31, 23, 59, 59, tzinfo=datetime.UTC)  # RFC 5280 "no expiry"


def certificate_for(
    key: nacl.signing.SigningKey,
) -> tuple[x509.Certificate, ed25519.Ed25519PrivateKey]:
    """Return a self-signed certificate whose public key is ``key``'s verify key, and the key."""
    private_key = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(key))
    public_raw = bytes(key.verify_key)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "holdspace " + public_raw.hex()[:32])])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(_NOT_AFTER)
        .sign(private_key, algorithm=None)
    )
    return cert, private_key


def raw_ed25519_key(cert: x509.Certificate) -> bytes | None:
    """The raw 32-byte Ed25519 public key of ``cert``, or None if it holds another key type."""
    try:
        public_key = cert.public_key()
    except (ValueError, TypeError):
        return None
    if not isinstance(public_key, ed25519.Ed25519PublicKey):
        return None
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
