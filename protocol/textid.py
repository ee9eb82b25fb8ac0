"""Textual ids: Bech32m (BIP 350) strings with a type prefix and a 6-character checksum.

The checksum detects any error of up to 4 mistyped characters, so a pasted or typed id that is
wrong is refused (``identity.bad_checksum``) instead of silently naming someone else.

Prefixes (the Bech32 "human-readable part"): ``hsp`` a pseudonym's public key, ``hsn`` a node's
public key, ``hsg`` a group id. Ids are lowercase; uppercase input is accepted, mixed case is not.
"""

from __future__ import annotations

import functools

from holdspace.protocol.errors import IdentityError

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32M_CONST = 0x2BC830A3
_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)

PSEUDONYM_PREFIX = "hsp"
NODE_PREFIX = "hsn"
GROUP_PREFIX = "hsg"


def _polymod(values: list[int]) -> int:
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            if (top >> i) & 1:
                chk ^= _GEN[i]
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _to_5bit(data: bytes) -> list[int]:
    acc = 0
    bits = 0
    out: list[int] = []
    for byte in data:
        acc = (acc << 8) | byte
        bits += 8
        while bits >= 5:
            bits -= 5
            out.append((acc >> bits) & 31)
    if bits:
        out.append((acc << (5 - bits)) & 31)
    return out


def _from_5bit(data: list[int]) -> bytes:
    acc = 0
    bits = 0
    out = bytearray()
    for value in data:
        acc = (acc << 5) | value
        bits += 5
        if bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
    if bits >= 5 or (acc & ((1 << bits) - 1)):
        raise IdentityError("identity.bad_text_id", "non-zero padding in textual id")
    return bytes(out)


@functools.lru_cache(maxsize=16384)
def encode_id(prefix: str, key: bytes) -> str:
    """``prefix`` + ``"1"`` + Bech32m data part of ``key`` + checksum."""
    data = _to_5bit(key)
    polymod = _polymod([*_hrp_expand(prefix), *data, 0, 0, 0, 0, 0, 0]) ^ _BECH32M_CONST
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return prefix + "1" + "".join(_CHARSET[d] for d in data + checksum)


def decode_id(prefix: str, text: str, *, size: int = 32) -> bytes:
    """The ``size``-byte key in ``text``; typed errors for every way the text can be wrong."""
    if not isinstance(text, str) or not text.isascii() or len(text) > 120:
        raise IdentityError("identity.bad_text_id", "textual id must be a short ASCII string")
    if text.lower() != text and text.upper() != text:
        raise IdentityError("identity.bad_text_id", "textual id mixes upper and lower case")
    text = text.lower().strip()
    sep = text.rfind("1")
    if sep < 1 or text[:sep] != prefix:
        raise IdentityError("identity.bad_text_id", f"expected an id starting with {prefix}1")
    try:
        data = [_CHARSET.index(c) for c in text[sep + 1 :]]
    except ValueError:
        raise IdentityError("identity.bad_text_id", "textual id contains a character outside Bech32") from None
    if len(data) < 6:
        raise IdentityError("identity.bad_text_id", "textual id is too short")
    if _polymod([*_hrp_expand(prefix), *data]) != _BECH32M_CONST:
        raise IdentityError("identity.bad_checksum", "textual id checksum mismatch: probably mistyped")
    key = _from_5bit(data[:-6])
    if len(key) != size:
        raise IdentityError("identity.bad_text_id", f"textual id must carry {size} bytes")
    return key
