# ruff: noqa: RUF001  (a table of look-alike characters is made of them)
"""Who is who on screen: word labels that cannot be ground, and names that look alike (spec 17.14).

A member's **label** is four words of the BIP-39 English list (``protocol/wordlist_english.txt``)
taken from 44 bits of ``BLAKE2b-256("holdspace/v1/label" || public key)``: finding a key whose label
equals a given one takes about 2^43 key generations on average, days of a large machine rather than
the seconds that sufficed for a five-digit number. The **long label** is eight words (88 bits) of the
same digest, shown only to tell apart two members whose four words are the same.

A **skeleton** reduces a name to what a reader sees: two names with equal skeletons look alike.
:func:`shown_names` gives every member the text to show, adding a suffix to each of the members
whose names look alike, so that nobody (a facilitator included) can be imitated unnoticed.

Invariants: every function here is pure and total on its documented inputs; :func:`shown_names`
returns texts whose skeletons are pairwise distinct unless two keys share all 88 label bits.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from holdspace.protocol import crypto
from holdspace.protocol.backup import WORDLIST
from holdspace.protocol.errors import IdentityError

LABEL_DOMAIN = b"holdspace/v1/label"
LABEL_WORDS = 4  # 44 bits
LONG_LABEL_WORDS = 8  # 88 bits

#: characters read as another (after NFKD, case folding and dropping marks), one to one
CONFUSABLES: dict[str, str] = {
    "0": "o", "1": "l", "i": "l", "|": "l", "3": "e", "5": "s", "8": "b",
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "l", "ї": "l", "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w",
    "һ": "h", "ӏ": "l",
    # Greek
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "l", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t",
    "υ": "u", "χ": "x", "ϲ": "c", "ω": "w",
    # Latin look-alikes
    "ı": "l", "ȷ": "j", "ɡ": "g", "ɑ": "a", "ꞵ": "b", "ʟ": "l", "ꜱ": "s",
}  # fmt: skip
#: sequences read as one letter, replaced after the one-to-one map, in this order
DIGRAPHS: tuple[tuple[str, str], ...] = (("rn", "m"), ("vv", "w"), ("cl", "d"))


def _digest(public_key: bytes) -> int:
    if len(public_key) != crypto.ED25519_PUBLIC:
        raise IdentityError("identity.bad_key", "public key must be 32 bytes")
    return int.from_bytes(crypto.blake2b_256(LABEL_DOMAIN + public_key), "big")


def _words(public_key: bytes, count: int) -> str:
    d = _digest(public_key)
    return " ".join(WORDLIST[(d >> (256 - 11 * (i + 1))) & 0x7FF] for i in range(count))


def label(public_key: bytes) -> str:
    """Four words for a pseudonym: word ``i`` (0..3) is bits ``[11i, 11i+11)`` (most significant
    first) of ``BLAKE2b-256(LABEL_DOMAIN || public_key)``; words joined by one space.
    ``identity.bad_key`` if the key is not 32 bytes."""
    return _words(public_key, LABEL_WORDS)


def long_label(public_key: bytes) -> str:
    """Eight words (88 bits) of the same digest; its first four are :func:`label`."""
    return _words(public_key, LONG_LABEL_WORDS)


def skeleton(name: str) -> str:
    """What a reader sees of ``name``, in this order: NFKD; case folding; then only letters and
    digits are kept (marks, punctuation, symbols, spaces, format and control characters dropped);
    each character mapped by :data:`CONFUSABLES`; then each of :data:`DIGRAPHS` replaced, in order.
    Two names with the same skeleton look alike."""
    folded = unicodedata.normalize("NFKD", name).casefold()
    kept = "".join(c for c in unicodedata.normalize("NFKD", folded) if unicodedata.category(c)[0] in "LN")
    mapped = "".join(CONFUSABLES.get(c, c) for c in kept)
    for pair, single in DIGRAPHS:
        mapped = mapped.replace(pair, single)
    return mapped


@dataclass(frozen=True, slots=True)
class Shown:
    """How one member is shown: ``text`` (the name, with ``suffix`` if any, already joined) and
    whether its name looks like another member's (``lookalike``: the reader is warned)."""

    text: str
    name: str
    suffix: str | None
    lookalike: bool


def shown_names(names: Mapping[bytes, str | None]) -> dict[bytes, Shown]:
    """For each member (public key -> its display name, or None): the text to show.

    A member's name is its display name, or its label without one; its **suffix** would be its label,
    or its long label for a member shown by its label. Members A and B (A ≠ B) **look alike** if the
    skeleton of A's name equals the skeleton of B's name, or of B's name followed by B's suffix (so a
    display name cannot imitate another member's suffixed name either); an empty skeleton is compared
    as the name itself. Every member that looks like another is shown as ``"name (suffix)"`` and is
    ``lookalike``. If two suffixed texts still have one skeleton, each such member's suffix becomes its
    long label."""
    keys = sorted(names)
    base = {k: (names[k] or label(k)) for k in keys}
    suffix = {k: (label(k) if names[k] else long_label(k)) for k in keys}

    def sk(text: str) -> str:
        return skeleton(text) or text

    plain = {k: sk(base[k]) for k in keys}
    suffixed = {k: sk(f"{base[k]} ({suffix[k]})") for k in keys}
    alike: set[bytes] = set()
    for a in keys:
        for b in keys:
            if a != b and plain[a] in (plain[b], suffixed[b]):
                alike.update((a, b))
    texts = {k: f"{base[k]} ({suffix[k]})" if k in alike else base[k] for k in keys}
    seen: dict[str, list[bytes]] = {}
    for k in keys:
        seen.setdefault(sk(texts[k]), []).append(k)
    for group in seen.values():
        for k in group if len(group) > 1 else ():
            suffix[k] = long_label(k)
            texts[k] = f"{base[k]} ({suffix[k]})"
            alike.add(k)
    return {k: Shown(texts[k], base[k], suffix[k] if k in alike else None, k in alike) for k in keys}
