"""Signed objects: a CBOR map whose ``"sig"`` field signs all its other fields.

Rule (spec section "Signed objects"): the signature is Ed25519 over
``domain || 0x00 || encode(map without "sig")``, where ``domain`` is an ASCII string naming the
object type (e.g. ``holdspace/v1/entry``). Domain separation makes a signature for one object type
useless as a signature for any other.

Because the codec's decoder accepts only the deterministic encoding, re-encoding a decoded map
reproduces the received bytes exactly; verifiers therefore check the bytes that were sent.
"""

from __future__ import annotations

from collections.abc import Mapping

from holdspace.protocol import codec, crypto

SIG = "sig"

DOMAIN_ENTRY = "holdspace/v1/entry"
DOMAIN_IDENTITY = "holdspace/v1/identity"


def signed_message(domain: str, fields: Mapping[str, codec.CborValue]) -> bytes:
    """The exact bytes an Ed25519 signature covers."""
    body = {k: v for k, v in fields.items() if k != SIG}
    return domain.encode("ascii") + b"\x00" + codec.encode(body)


def sign_fields(domain: str, fields: Mapping[str, codec.CborValue], seed: bytes) -> dict[str, codec.CborValue]:
    """``fields`` plus the ``"sig"`` that signs them under ``seed``'s key."""
    signed = dict(fields)
    signed[SIG] = crypto.ed25519_sign(seed, signed_message(domain, fields))
    return signed


def verify_fields(domain: str, fields: Mapping[str, codec.CborValue], public_key: bytes) -> bool:
    sig = fields.get(SIG)
    if not isinstance(sig, bytes):
        return False
    return crypto.ed25519_verify(public_key, signed_message(domain, fields), sig)
