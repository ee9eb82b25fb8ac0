"""The rule for a name shown on one line (a group's name, a display name; spec 17.12, 17.13, 14.3).

A one-line name is text with no character of the Unicode categories Cc (controls), Cf (format:
bidirectional overrides, zero-width characters), Zl or Zp (line and paragraph separators), and no
white space (Python's ``str.isspace``) at its start or end. Pure and total.
"""

from __future__ import annotations

import unicodedata

_REFUSED = frozenset({"Cc", "Cf", "Zl", "Zp"})


def is_one_line(text: str) -> bool:
    """True if ``text`` is non-empty, trimmed, and has no control, format or separator character."""
    return bool(text) and text == text.strip() and not any(unicodedata.category(c) in _REFUSED for c in text)


def clip(text: str, limit: int) -> str | None:
    """``text`` made one line (control, format and separator characters and runs of white space
    become one space), trimmed, and cut at a character boundary to at most ``limit`` bytes of UTF-8;
    None if nothing is left."""
    spaced = "".join(" " if c.isspace() or unicodedata.category(c) in _REFUSED else c for c in text)
    words = " ".join(spaced.split())
    while len(words.encode()) > limit:
        words = words[:-1]
    words = words.strip()
    return words if is_one_line(words) else None
