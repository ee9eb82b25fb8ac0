"""Self-signed X.509 certificates carrying a node's Ed25519 key, and raw-key extraction; and the
short-lived self-signed web certificate a browser can pin by its hash.

Authentication between Holdspace endpoints is by key pinning, not by a CA: the only part of the
certificate a peer relies on is the Ed25519 SubjectPublicKeyInfo (TLS CertificateVerify proves
possession of its private key). Browsers cannot pin an Ed25519 key: the web endpoint (spec 15.8)
uses the operator's CA-issued certificate, or a self-signed one that WebTransport accepts by its
SHA-256 hash (``serverCertificateHashes``: ECDSA P-256, valid at most 14 days).
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress

import nacl.signing
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from cryptography.x509.oid import NameOID

__all__ = [
    "MAX_PINNED_VALIDITY",
    "certificate_for",
    "pinnable_hash",
    "raw_ed25519_key",
    "web_certificate",
]

_NOT_AFTER = datetime.datetime(9999, 12, 31, 23, 59, 59, tzinfo=datetime.UTC)  # RFC 5280 "no expiry"
MAX_PINNED_VALIDITY = datetime.timedelta(days=14)
"""The longest validity a browser accepts for a certificate pinned by its hash (WebTransport)."""


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


def web_certificate(host: str, *, days: int = 13) -> tuple[bytes, bytes]:
    """A self-signed certificate for ``host`` (a DNS name or an IP address) and its private key, both
    PEM: ECDSA P-256, valid from an hour ago for ``days`` days (at most 14: the validity a browser
    accepts for a certificate pinned by its hash), so that WebTransport can pin it
    (:func:`pinnable_hash`). For tests and a node without a CA-issued certificate; rotate it before
    it expires."""
    if not 1 <= days <= MAX_PINNED_VALIDITY.days:
        raise ValueError(f"a pinnable certificate is valid 1 to {MAX_PINNED_VALIDITY.days} days")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    try:
        san: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        san = x509.DNSName(host)
    start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([san]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    return cert.public_bytes(Encoding.PEM), key_pem


def pinnable_hash(cert: x509.Certificate) -> bytes | None:
    """SHA-256 of the DER certificate if a browser may pin it by that hash (WebTransport's
    ``serverCertificateHashes``): an X.509 v3 certificate with an ECDSA P-256 key, valid for at most
    14 days. None otherwise (a CA-issued certificate is checked the usual way instead)."""
    key = cert.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        return None
    if cert.version != x509.Version.v3:
        return None
    if cert.not_valid_after_utc - cert.not_valid_before_utc > MAX_PINNED_VALIDITY:
        return None
    return hashlib.sha256(cert.public_bytes(Encoding.DER)).digest()
