"""Canonical CBOR: the protocol's only serialisation (normative text: the "Encoding" section of the spec).

Data model -- nothing else exists on the wire:

* integers in ``-2**64 .. 2**64 - 1`` (CBOR major types 0 and 1);
* byte strings (``bytes``) and UTF-8 text strings (``str``);
* arrays (``list``; :func:`encode` also takes ``tuple``) and maps (``dict``) whose keys are text strings;
* ``False``, ``True`` and ``None`` (0xf4, 0xf5, 0xf6).

No floats, tags, ``undefined`` or other simple values; no indefinite lengths.

:func:`encode` produces the RFC 8949 section 4.2.1 core deterministic encoding: every integer, length and
count in its shortest form, definite lengths only, map entries sorted by the bytewise lexicographic order
of their encoded keys. :func:`decode` accepts exactly that encoding of exactly one data item and nothing
else, so ``encode(decode(b)) == b`` for every accepted ``b``: a decoded value can be re-encoded to
recompute or verify a signature.

Limits. The *depth* of a scalar is 0; the depth of an array or map is 1 plus the number of arrays and maps
that enclose it, so a top-level container has depth 1 and ``[[]]`` has a container at depth 2. A value
containing a container deeper than the limit (:data:`MAX_DEPTH` by default) is rejected with
``cbor.too_deep`` by both functions. :func:`decode` rejects an input longer than ``max_size`` bytes with
``cbor.too_large`` before reading it.

A string length or element count that promises more than the bytes left in the input is
``cbor.truncated`` (not ``cbor.too_large``), and is detected from the header alone, before anything is
allocated: a 9-byte input announcing a 2**63-byte string fails at once. Using ``truncated`` for every "the
input ends too soon" case makes the code independent of the configured ``max_size``: the same bytes yield
the same code whatever the limit. A lone break byte 0xff (there is never an enclosing indefinite-length
item to end) is ``cbor.reserved``; an indefinite-length header (0x5f, 0x7f, 0x9f, 0xbf) is
``cbor.indefinite_length``.

Decoder. :func:`decode` is a hand-written single-pass decoder: each check is made where the spec puts
it, so the error code is exact by construction; its cost is linear in the input and its recursion is
bounded by ``max_depth``. A faster path (``cbor2.loads``, a data-model walk, re-encoding and comparison)
was measured and not adopted: ``cbor2.loads`` runs its tag decoders on hostile input before the input can
be refused (a 512 KiB decimal-fraction tag takes tens of seconds), and two decoders would have to agree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final, TypeAlias

import cbor2

from holdspace.protocol.errors import CodecError

__all__ = [
    "DEPTH_CEILING",
    "MAX_DEPTH",
    "MAX_ITEM_SIZE",
    "CborInput",
    "CborValue",
    "decode",
    "decode_stored",
    "encode",
]

#: A value of the data model, as :func:`decode` returns it.
CborValue: TypeAlias = int | bytes | str | bool | list["CborValue"] | dict[str, "CborValue"] | None

#: What :func:`encode` takes. ``Sequence`` and ``Mapping`` appear here only so that ``list[int]`` or
#: ``dict[str, bytes]`` type-check (``list`` and ``dict`` are invariant); at run time arrays must be
#: ``list`` or ``tuple`` and maps ``dict``, anything else is ``cbor.unsupported_type``.
CborInput: TypeAlias = int | bytes | str | bool | Sequence["CborInput"] | Mapping[str, "CborInput"] | None

#: Maximum nesting depth of arrays and maps (see the module docstring for the definition of depth).
MAX_DEPTH: Final[int] = 16
#: Default maximum size in bytes of an input accepted by :func:`decode`.
MAX_ITEM_SIZE: Final[int] = 1 << 20
#: Largest ``max_depth`` :func:`decode` accepts: the decoder recurses once per nesting level.
DEPTH_CEILING: Final[int] = 256

_UINT_LIMIT: Final[int] = 1 << 64  # integers must satisfy -_UINT_LIMIT <= n < _UINT_LIMIT
_SIMPLE: Final[tuple[bool, bool, None]] = (False, True, None)  # 0xf4, 0xf5, 0xf6


# --------------------------------------------------------------------------------------------------
# encode
# --------------------------------------------------------------------------------------------------


def _check_model(value: object, depth: int) -> bool:
    """Raise ``CodecError`` unless ``value`` is in the data model with no container deeper than
    ``MAX_DEPTH``; ``depth`` is the number of containers enclosing ``value``. Return whether every map
    already has its keys in deterministic order (then the encoder need not sort)."""
    t = type(value)
    if t is str or t is bytes or t is bool or value is None:
        return True
    if t is int:
        if not -_UINT_LIMIT <= value < _UINT_LIMIT:  # type: ignore[operator]
            raise CodecError("cbor.unsupported_type", "integer outside -2**64 .. 2**64-1")
        return True
    if depth >= MAX_DEPTH and (t is dict or t is list or t is tuple):
        raise CodecError("cbor.too_deep")
    depth += 1
    ordered = True
    if t is dict:
        # Deterministic order of text keys = shorter UTF-8 form first, then bytewise; UTF-8 preserves
        # code point order, so keys of equal UTF-8 length compare as ``str``.
        prev_len = -1
        prev = ""
        for k, v in value.items():  # type: ignore[attr-defined]
            if type(k) is not str:
                raise CodecError("cbor.unsupported_type", f"map key of type {type(k).__name__}")
            if k.isascii():
                n = len(k)
            else:
                try:
                    n = len(k.encode())
                except UnicodeEncodeError:
                    raise CodecError("cbor.invalid_utf8", "text string with a lone surrogate") from None
            if n < prev_len or (n == prev_len and k <= prev):
                ordered = False
            prev_len = n
            prev = k
            if not _check_model(v, depth):
                ordered = False
        return ordered
    if t is list or t is tuple:
        for v in value:  # type: ignore[attr-defined]
            if not _check_model(v, depth):
                ordered = False
        return ordered
    raise CodecError("cbor.unsupported_type", f"type {t.__name__} is not in the data model")


def encode(value: CborInput) -> bytes:
    """Return the deterministic encoding (RFC 8949 section 4.2.1) of ``value``.

    Raises ``CodecError``: ``cbor.unsupported_type`` for a value outside the data model (float, non-text map
    key, integer out of range, any other type, including subclasses of the accepted types other than
    ``bool``), ``cbor.too_deep`` for containers nested deeper than :data:`MAX_DEPTH`,
    ``cbor.invalid_utf8`` for a ``str`` holding a lone surrogate (it has no UTF-8 form).
    """
    ordered = _check_model(value, 0)
    try:
        # cbor2's canonical map order is "shorter encoded key first, then bytewise", which equals the
        # RFC 8949 bytewise order of encoded keys because every key is a text string. When every map is
        # already in that order, the plain encoder gives the same bytes faster (it still writes every
        # integer, length and count in shortest form).
        return cbor2.dumps(value, canonical=not ordered)
    except UnicodeEncodeError:
        raise CodecError("cbor.invalid_utf8", "text string with a lone surrogate") from None


# --------------------------------------------------------------------------------------------------
# decode
# --------------------------------------------------------------------------------------------------


def _err(code: str, message: str | None = None) -> CodecError:
    return CodecError(code, message)


def _argument(data: bytes, pos: int, end: int, ai: int) -> tuple[int, int]:
    """Read the argument announced by additional information ``ai`` (0..27) at ``pos``."""
    if ai < 24:
        return ai, pos
    if ai == 24:
        if pos >= end:
            raise _err("cbor.truncated")
        arg = data[pos]
        if arg < 24:
            raise _err("cbor.non_canonical", "argument below 24 in a 1-byte extension")
        return arg, pos + 1
    size = 1 << (ai - 24)  # 25 -> 2, 26 -> 4, 27 -> 8
    if pos + size > end:
        raise _err("cbor.truncated")
    arg = int.from_bytes(data[pos : pos + size], "big")
    if arg < 1 << (4 * size):  # fits in half the width: 2 -> 0x100, 4 -> 0x10000, 8 -> 0x1_0000_0000
        raise _err("cbor.non_canonical", f"argument fits in fewer than {size} bytes")
    return arg, pos + size


def _text(data: bytes, start: int, stop: int) -> str:
    try:
        return data[start:stop].decode("utf-8")
    except UnicodeDecodeError:
        raise _err("cbor.invalid_utf8") from None


def _item(data: bytes, pos: int, end: int, depth: int, max_depth: int) -> tuple[CborValue, int]:
    """Decode the item at ``pos``; ``depth`` = number of containers enclosing it. Returns (value, next).

    The checks are grouped for speed, not in the spec's order; the order is immaterial because every
    rejection up to the argument is decided by the initial byte alone and the groups are disjoint.
    """
    if pos >= end:
        raise _err("cbor.truncated")
    ib = data[pos]
    pos += 1
    if ib >= 0xC0:  # major types 6 and 7: nothing here is read past the initial byte
        if 0xF4 <= ib <= 0xF6:
            return _SIMPLE[ib - 0xF4], pos
        ai = ib & 0x1F
        if ai >= 28:
            raise _err("cbor.reserved", "break code" if ib == 0xFF else f"additional information {ai}")
        if ib < 0xE0:
            raise _err("cbor.tag_not_allowed")
        if ai >= 25:
            raise _err("cbor.float_not_allowed")
        raise _err("cbor.simple_not_allowed")
    ai = ib & 0x1F
    if ai < 24:
        arg = ai
    elif ai < 28:
        arg, pos = _argument(data, pos, end, ai)
    elif ai == 31 and ib >= 0x40:
        raise _err("cbor.indefinite_length")
    else:
        raise _err("cbor.reserved", f"additional information {ai}")
    major = ib >> 5
    if major == 3:
        stop = pos + arg
        if stop > end:
            raise _err("cbor.truncated", "string length exceeds the remaining input")
        try:
            return data[pos:stop].decode("utf-8"), stop
        except UnicodeDecodeError:
            raise _err("cbor.invalid_utf8") from None
    if major == 0:
        return arg, pos
    if major == 2:
        stop = pos + arg
        if stop > end:
            raise _err("cbor.truncated", "string length exceeds the remaining input")
        return data[pos:stop], stop
    if major == 1:
        return -1 - arg, pos
    if depth >= max_depth:
        raise _err("cbor.too_deep")
    depth += 1
    if major == 4:
        if arg > end - pos:  # every element takes at least one byte
            raise _err("cbor.truncated", "element count exceeds the remaining input")
        out: list[CborValue] = []
        append = out.append
        for _ in range(arg):
            value, pos = _item(data, pos, end, depth, max_depth)
            append(value)
        return out, pos
    # major == 5: map
    if arg > (end - pos) >> 1:  # every entry takes at least two bytes
        raise _err("cbor.truncated", "entry count exceeds the remaining input")
    result: dict[str, CborValue] = {}
    prev = b""  # an encoded key is never empty, so the first key always sorts after it
    for _ in range(arg):
        if pos >= end:
            raise _err("cbor.truncated")
        kb = data[pos]
        if kb >> 5 != 3:
            raise _err("cbor.bad_key_type")
        kstart = pos
        if kb < 0x78:  # short text string: length in the initial byte
            pos += 1
            stop = pos + kb - 0x60
            if stop > end:
                raise _err("cbor.truncated", "string length exceeds the remaining input")
            key = _text(data, pos, stop)
            pos = stop
        else:
            key_value, pos = _item(data, pos, end, depth, max_depth)
            key = key_value  # type: ignore[assignment]  # major type 3 always decodes to str
        raw = data[kstart:pos]
        if raw <= prev:
            if raw == prev:
                raise _err("cbor.duplicate_key", f"duplicate key {key[:64]!r}")
            raise _err("cbor.non_canonical", "map keys are not in bytewise order of their encodings")
        prev = raw
        result[key], pos = _item(data, pos, end, depth, max_depth)
    return result, pos


def decode(
    data: bytes | bytearray | memoryview, *, max_size: int = MAX_ITEM_SIZE, max_depth: int = MAX_DEPTH
) -> CborValue:
    """Decode exactly one deterministically encoded data item of the data model.

    Raises ``CodecError`` (and nothing else) for any input that is not such an encoding; the code is
    that of the first violation met in the order of the spec's "Encoding" section. ``max_size`` bounds
    the input length (``cbor.too_large``); ``max_depth`` bounds the nesting of arrays and maps
    (``cbor.too_deep``, depth as defined in the module docstring) and must be in
    ``0 .. DEPTH_CEILING`` (``ValueError`` otherwise: a programming error, not an input error).
    ``bytearray`` and ``memoryview`` inputs are copied to ``bytes`` first; other types are a
    ``TypeError``.
    """
    if not 0 <= max_depth <= DEPTH_CEILING:
        raise ValueError(f"max_depth must be in 0..{DEPTH_CEILING}")
    if type(data) is not bytes:
        if not isinstance(data, bytearray | memoryview):
            raise TypeError(f"decode() takes bytes, not {type(data).__name__}")
        data = bytes(data)
    if len(data) > max_size:
        raise _err("cbor.too_large", f"input of {len(data)} bytes exceeds {max_size}")
    end = len(data)
    try:
        value, pos = _item(data, 0, end, 0, max_depth)
    except RecursionError:  # only if the caller's own stack is already near Python's limit
        raise _err("cbor.too_deep", "nesting exhausted the interpreter's recursion limit") from None
    if pos != end:
        raise _err("cbor.trailing_bytes")
    return value


def decode_stored(data: bytes) -> CborValue:
    """The value of bytes that :func:`decode` accepted before and that were kept unchanged since: bytes
    a node reads back from its own store (entries it verified when it stored them). Never for bytes
    from the network or from a file given by someone else: use :func:`decode`.

    Decoded by ``cbor2.loads`` (C), several times faster. On such bytes it gives exactly
    :func:`decode`'s value: they are the deterministic encoding of one item of the data model, where
    both decoders agree (no tags, floats or indefinite lengths, whose handling differs, and whose
    decoders are what makes ``cbor2`` unfit for hostile input, see the module docstring). Bytes it
    refuses (a damaged store) are decoded by :func:`decode`, which raises the typed error."""
    try:
        value: CborValue = cbor2.loads(data)
    except Exception:  # any refusal (a damaged store): the strict decoder names it
        return decode(data, max_size=len(data))
    return value
