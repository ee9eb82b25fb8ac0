"""Structure-aware mutation of fuzz inputs, shared by the hypothesis tests, the fallback fuzzer and
atheris' custom mutator.

Two kinds of change, mixed at random:

* **byte-level**: bit flips, interesting bytes (CBOR initial bytes, 0x00, 0xff), truncation,
  insertion, deletion, duplication, splices with another sample, big-endian integers overwritten
  with boundary values;
* **structure-aware**: the input (or the part of a packed input) is decoded as canonical CBOR, one
  node of the value tree is changed (a field dropped, added or renamed, a value of another type, an
  integer at a boundary, a byte string one byte too long ...) and the tree is encoded again, so the
  result is still canonical and reaches the checks after the codec. Byte strings that hold CBOR
  themselves (an entry header in a frame, an identity document in a join) are mutated the same way,
  and a signed map may be re-signed with the fuzz key so that checks after the signature are
  reached too.

Everything draws from the ``random.Random`` it is given, so a run is reproducible from its seed, and
hypothesis can drive it (``st.randoms(use_true_random=False)``).
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Sequence

from fuzz.targets import FUZZ_KEY, FUZZ_SEED, NOW_MS, Target, pack, unpack
from holdspace.protocol import codec, crypto, signing
from holdspace.protocol.credential import DOMAIN_CREDENTIAL, DOMAIN_REVOCATION
from holdspace.protocol.errors import HoldspaceError

INTERESTING_BYTES = bytes(
    [
        *(0x00, 0x01, 0x17, 0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1F, 0x20, 0x38, 0x3B, 0x40, 0x57, 0x58, 0x5B, 0x5F),
        *(0x60, 0x78, 0x7B, 0x7F, 0x80, 0x98, 0x9B, 0x9F, 0xA0, 0xB8, 0xBB, 0xBF, 0xC0, 0xC2, 0xD8, 0xE0),
        *(0xF4, 0xF5, 0xF6, 0xF7, 0xF8, 0xF9, 0xFA, 0xFB, 0xFF, 0xED, 0xC3, 0xF0),
    ]
)
INTERESTING_INTS = [
    *(0, 1, 2, 3, 5, 8, 16, 17, 23, 24, 31, 32, 33, 63, 64, 65, 255, 256, 257, 512, 513, 520, 521, 1023, 1024, 1025),
    *(2000, 4096, 8192, 16384, 65279, 65280, 65535, 65536, 65537, 1_048_576, 1_048_577, 1_050_624, 86_400_000),
    *(2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**53, 2**63 - 1, 2**63, 2**64 - 1, 32_503_680_000_000),
    *(NOW_MS, NOW_MS + 300_000, NOW_MS + 300_001, -1, -2, -24, -25, -256, -(2**63), -(2**64)),
]
INTERESTING_STRS = [
    *("", "a", "\x00", "é", "\u20ac", "\U0001f600", "\ud7ff", "a" * 64, "a" * 65, "a" * 129, "é" * 65, "x" * 301),
    *("member", "moderator", "facilitator", "joined", "shared", "daily", "weekly", "yes", "no", "maybe"),
    *("hello", "auth", "publish", "adopt", "fetch", "subscribe", "state", "identity", "digests", "sync", "offer"),
    *("entries", "fork", "keepalive", "rejected", "launch"),
    *("text", "react", "checkin", "rsvp", "turn", "pin", "credential", "revocation", "report", "quote", "session"),
    *("heart", "hug", "me-too", "thank-you", "Europe/London", "UTC", "localtime", "posix/UTC", "right/UTC", "Factory"),
    *("group.not_member", "proto.busy", "fed.not_host", "nope.nope", "holdspace://", "hsinvite:"),
]
KEYS = [
    *"abcdeghiklmnoprstuvwx",
    *("sig", "nb", "hv", "doc", "op", "ev", "ok", "err", "code", "msg", "why", "title", "about", "cw", "st", "du"),
    *("tz", "rc", "rt", "id", "next", "more", "entries", "groups", "differ", "same", "refused", "proof", "limit"),
    *("after", "hosts", "node", "challenge", "limits", "gg", "aa", "A", "", "zzzz"),
]
TEXT_PIECES = [
    *("@", ":", "[", "]", "1", "0", "%", "/", ".", "-", "::", ":0", ":65536", ":4433", "::1", "%eth0", "hsn1"),
    *("holdspace://", "hsinvite:", " ", "\t", "\n", "\u0661", "\uff11", "\u212a", "\u0130", "\u00df", "\x00"),
    *("=", "==", "+", "_", "A" * 10, "q" * 52, "1.2.3.4", "256.1.1.1", "01.2.3.4", "xn--", "a" * 64, "." * 3),
]

_SIGNERS = (  # (keys a signed map has, domain, the field naming the signer)
    (frozenset({"a", "h", "s"}), signing.DOMAIN_ENTRY, "a"),
    (frozenset({"k", "x"}), signing.DOMAIN_IDENTITY, "k"),
    (frozenset({"i", "nb"}), DOMAIN_CREDENTIAL, "i"),
    (frozenset({"i", "c", "t"}), DOMAIN_REVOCATION, "i"),
)


def _decode(data: bytes) -> codec.CborValue | None:
    if not data or data[0] >> 5 not in (4, 5):  # only arrays and maps are worth mutating as trees
        return None
    try:
        return codec.decode(data)
    except HoldspaceError:
        return None


# -- byte level ------------------------------------------------------------------------------------


def mutate_bytes(data: bytes, rng: random.Random, pool: Sequence[bytes] = ()) -> bytes:
    """One byte-level change."""
    buf = bytearray(data)
    op = rng.randrange(11)
    pos = rng.randrange(len(buf) + 1)
    if op == 0 and buf:  # flip a bit
        i = rng.randrange(len(buf))
        buf[i] ^= 1 << rng.randrange(8)
    elif op == 1 and buf:  # an interesting byte
        buf[rng.randrange(len(buf))] = rng.choice(INTERESTING_BYTES)
    elif op == 2:  # truncate
        del buf[pos:]
    elif op == 3:  # insert interesting or random bytes
        chunk = bytes([rng.choice(INTERESTING_BYTES)]) if rng.random() < 0.5 else rng.randbytes(rng.randrange(1, 9))
        buf[pos:pos] = chunk
    elif op == 4 and buf:  # delete a range
        del buf[pos : pos + rng.randrange(1, 1 + min(64, len(buf)))]
    elif op == 5 and buf:  # duplicate a range
        start = rng.randrange(len(buf))
        buf[pos:pos] = buf[start : start + rng.randrange(1, 1 + min(64, len(buf)))]
    elif op == 6 and pool:  # splice with another sample
        other = rng.choice(pool)
        buf = buf[:pos] + other[rng.randrange(len(other) + 1) :]
    elif op == 7 and buf:  # a big-endian integer at a boundary (CBOR arguments, lengths)
        width = rng.choice((1, 2, 4, 8))
        value = rng.choice(INTERESTING_INTS) % (1 << (8 * width))
        i = rng.randrange(len(buf))
        buf[i : i + width] = value.to_bytes(width, "big")
    elif op == 8:  # append random bytes
        buf += rng.randbytes(rng.randrange(1, 33))
    elif op == 9 and buf:  # swap two bytes
        i, j = rng.randrange(len(buf)), rng.randrange(len(buf))
        buf[i], buf[j] = buf[j], buf[i]
    elif buf:  # a run of one byte value
        i = rng.randrange(len(buf))
        buf[i : i + rng.randrange(1, 17)] = bytes([rng.choice(INTERESTING_BYTES)]) * rng.randrange(1, 17)
    else:
        buf += bytes([rng.choice(INTERESTING_BYTES)])
    return bytes(buf)


def mutate_text(data: bytes, rng: random.Random) -> bytes:
    text = data.decode("utf-8", "replace")
    pos = rng.randrange(len(text) + 1)
    op = rng.randrange(4)
    if op == 0:
        text = text[:pos] + rng.choice(TEXT_PIECES) + text[pos:]
    elif op == 1 and text:
        text = text[:pos] + text[pos + rng.randrange(1, 8) :]
    elif op == 2:
        text = text.upper() if rng.random() < 0.5 else text[:pos] + text[pos:].upper()
    else:
        text = text[:pos] + rng.choice(TEXT_PIECES) + text[pos + 1 :]
    return text.encode("utf-8", "surrogatepass")


# -- value trees -----------------------------------------------------------------------------------


def random_value(rng: random.Random, depth: int = 0) -> codec.CborValue:
    roll = rng.randrange(9 if depth < 3 else 6)
    if roll == 0:
        return rng.choice(INTERESTING_INTS)
    if roll == 1:
        return rng.choice(INTERESTING_STRS)
    if roll == 2:
        return rng.choice((b"", bytes(16), bytes(24), bytes(31), bytes(32), bytes(33), bytes(64), bytes(80), FUZZ_KEY))
    if roll == 3:
        return rng.choice((True, False, None))
    if roll == 4:
        return rng.randbytes(rng.randrange(0, 100))
    if roll == 5:  # nesting up to the limit (16) and once past it
        value: codec.CborValue = []
        for _ in range(rng.choice((1, 2, 15, 16))):
            value = [value]
        return value
    if roll == 6:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if roll == 7:
        return {rng.choice(KEYS): random_value(rng, depth + 1) for _ in range(rng.randrange(4))}
    return [FUZZ_KEY, rng.choice(INTERESTING_INTS), bytes(32)]


def _paths(value: codec.CborValue, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    out = [prefix]
    if isinstance(value, list):
        for i, item in enumerate(value):
            out += _paths(item, (*prefix, i))
    elif isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    return out


def _get(value: codec.CborValue, path: tuple[object, ...]) -> codec.CborValue:
    for step in path:
        value = value[step]  # type: ignore[index]
    return value


def _set(value: codec.CborValue, path: tuple[object, ...], new: codec.CborValue) -> codec.CborValue:
    if not path:
        return new
    parent = _get(value, path[:-1])
    parent[path[-1]] = new  # type: ignore[index]
    return value


def resign(fields: dict[str, codec.CborValue]) -> dict[str, codec.CborValue]:
    """A signed map re-signed by the fuzz key (its signer field set to that key), if it is one."""
    for needed, domain, signer in _SIGNERS:
        if needed <= fields.keys():
            body = {k: v for k, v in fields.items() if k != signing.SIG}
            body[signer] = FUZZ_KEY
            try:
                return signing.sign_fields(domain, body, FUZZ_SEED)
            except HoldspaceError:
                return fields
    return fields


def mutate_node(node: codec.CborValue, rng: random.Random, depth: int) -> codec.CborValue:
    """One change to one node of a value tree."""
    if rng.random() < 0.15:
        return random_value(rng)
    if isinstance(node, bytes):
        if depth < 3 and _decode(node) is not None and rng.random() < 0.6:
            return mutate_cbor(node, rng, depth + 1)  # a CBOR item inside a byte string
        roll = rng.randrange(5)
        if roll == 0:
            return node + bytes([rng.randrange(256)])
        if roll == 1:
            return node[:-1]
        if roll == 2:
            return mutate_bytes(node, rng)
        if roll == 3:
            return bytes(len(node))
        return FUZZ_KEY if len(node) == 32 else rng.randbytes(len(node))
    if isinstance(node, bool) or node is None:
        return random_value(rng)
    if isinstance(node, int):
        roll = rng.randrange(3)
        return node + rng.choice((-1, 1)) if roll == 0 else -node - 1 if roll == 1 else rng.choice(INTERESTING_INTS)
    if isinstance(node, str):
        roll = rng.randrange(4)
        if roll == 0:
            return rng.choice(INTERESTING_STRS)
        if roll == 1:
            return node[:-1]
        if roll == 2:
            return node + rng.choice(("x", "é", "\U0001f600", node))
        return mutate_text(node.encode(), rng).decode("utf-8", "replace")
    if isinstance(node, list):
        items = list(node)
        roll = rng.randrange(6)
        if roll == 0 and items:
            del items[rng.randrange(len(items))]
        elif roll == 1 and items:
            items.insert(rng.randrange(len(items) + 1), rng.choice(items))
        elif roll == 2 and len(items) > 1:
            i, j = rng.randrange(len(items)), rng.randrange(len(items))
            items[i], items[j] = items[j], items[i]
        elif roll == 3:
            items.append(random_value(rng, 1))
        elif roll == 4:
            return [items]
        else:
            items = items[: rng.randrange(len(items) + 1)]
        return items
    assert isinstance(node, dict)
    fields = dict(node)
    roll = rng.randrange(5)
    if roll == 0 and fields:
        del fields[rng.choice(list(fields))]
    elif roll == 1:
        fields[rng.choice(KEYS)] = random_value(rng, 1)
    elif roll == 2 and fields:
        key = rng.choice(list(fields))
        fields[rng.choice(KEYS)] = fields.pop(key)
    elif roll == 3 and fields:
        fields[rng.choice(list(fields))] = random_value(rng, 1)
    else:
        fields = resign(fields)
    return fields


def mutate_cbor(data: bytes, rng: random.Random, depth: int = 0) -> bytes:
    """One change to the value tree of a canonical CBOR item (byte-level if it is not one)."""
    value = _decode(data)
    if value is None:
        return mutate_bytes(data, rng)
    path = rng.choice(_paths(value))
    value = _set(value, path, mutate_node(_get(value, path), rng, depth))
    if rng.random() < 0.3:  # re-sign the innermost signed map on the path, or the top
        for cut in range(len(path), -1, -1):
            inner = _get(value, path[:cut]) if _reachable(value, path[:cut]) else None
            if isinstance(inner, dict) and signing.SIG in inner:
                value = _set(value, path[:cut], resign(inner))
                break
    try:
        return codec.encode(value)
    except HoldspaceError:
        return mutate_bytes(data, rng)


def _reachable(value: codec.CborValue, path: tuple[object, ...]) -> bool:
    try:
        _get(value, path)
    except (KeyError, IndexError, TypeError):
        return False
    return True


def mutate_blob(data: bytes, rng: random.Random, pool: Sequence[bytes] = (), *, text: bool = False) -> bytes:
    """One to a few changes, structure-aware when the bytes are CBOR."""
    for _ in range(rng.choice((1, 1, 1, 1, 2, 2, 3, 4))):
        roll = rng.random()
        if text and roll < 0.5:
            data = mutate_text(data, rng)
        elif not text and roll < 0.55 and _decode(data) is not None:
            data = mutate_cbor(data, rng)
        else:
            data = mutate_bytes(data, rng, pool)
    return data


def _entry_fixup(header: bytes, tail: bytes) -> bytes:
    """Make a (mutated) header commit to its (mutated) payload and sign it with the fuzz key."""
    fields = _decode(header)
    if isinstance(fields, dict):
        if tail[:1] not in (b"", b"\x00"):
            fields["n"], fields["h"] = len(tail) - 1, crypto.blake2b_256(tail[1:])
        with contextlib.suppress(HoldspaceError):
            header = codec.encode(resign(fields))
    return pack(header, tail)


def mutate(data: bytes, rng: random.Random, target: Target, pool: Sequence[bytes] = ()) -> bytes:
    """A mutant of the input ``data`` for ``target`` (its parts, text and nested CBOR respected)."""
    if target.parts > 1:
        parts = unpack(data, target.parts)
        i = rng.randrange(target.parts)
        others = [unpack(p, target.parts)[i] for p in pool[:64]]
        if len(parts[i]) <= 1 and i < target.parts - 1 and rng.random() < 0.7:
            parts[i] = bytes([rng.randrange(256)]) if rng.random() < 0.8 else b""
        elif target.name == "payload" and i == 1:
            parts[i] = rng.choice((FUZZ_KEY, bytes(32), rng.randbytes(32), parts[i][:-1]))
        else:
            parts[i] = mutate_blob(parts[i], rng, others, text=target.text and i == target.parts - 1)
        if target.name == "entry" and rng.random() < 0.3:
            return _entry_fixup(parts[0], parts[1])
        return pack(*parts)
    if target.nested is not None and rng.random() < 0.6:
        unwrap, wrap = target.nested
        body = unwrap(data)
        if body is not None:
            return wrap(mutate_blob(body, rng))
    return mutate_blob(data, rng, pool, text=target.text)
