"""An operator's token: what a node's operator hands someone so that they may start a group on that
node (spec 14.6). 32 random bytes; as text, ``hstoken:`` and their base64url without padding; on the
wire, the bytes (the ``token`` of ``publish`` and ``adopt``). A node keeps only :func:`token_hash`.
"""

from __future__ import annotations

import base64
import binascii
from typing import Final

from holdspace.protocol import crypto
from holdspace.protocol.errors import AdmissionError

TOKEN_TEXT_PREFIX: Final = "hstoken:"  # noqa: S105 - the prefix of a token's text, not a secret
TOKEN_SIZE: Final = 32
TOKEN_DOMAIN: Final = b"holdspace/v1/operator-token"


def token_hash(token: bytes) -> bytes:
    """What a node stores of a token: BLAKE2b-256 of the domain, a zero byte and the 32 bytes."""
    return crypto.blake2b_256(TOKEN_DOMAIN + b"\x00" + token)


def token_text(token: bytes) -> str:
    return TOKEN_TEXT_PREFIX + base64.urlsafe_b64encode(token).decode().rstrip("=")


def parse_token(text: str) -> bytes:
    """The 32 bytes of a token's text (``hstoken:`` and 43 base64url characters); anything else is
    ``admission.bad_token``."""
    text = text.strip()
    body = text.removeprefix(TOKEN_TEXT_PREFIX)
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    if not text.startswith(TOKEN_TEXT_PREFIX) or len(raw) != TOKEN_SIZE or token_text(raw) != text:
        raise AdmissionError("admission.bad_token", "a token is hstoken: followed by 43 base64url characters")
    return raw
