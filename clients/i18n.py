"""Translations: every string a person reads goes through :func:`_` (or :func:`ngettext`).

Message ids are the English text; placeholders are written ``{name}`` and filled by ``str.format``
after translation, so a translator can move them. The catalogues are gettext ``.po`` files (the
browser's catalogue is built from the same format). Until a locale is chosen, the English text is
returned unchanged.

Invariant: a translation never changes which placeholders a string has (a catalogue test checks it).
"""

from __future__ import annotations


def _(msgid: str, **values: object) -> str:
    """The text for ``msgid`` in the current locale, its ``{placeholders}`` filled from ``values``."""
    return msgid.format(**values) if values else msgid


def ngettext(singular: str, plural: str, n: int, **values: object) -> str:
    """The singular or plural text for ``n`` in the current locale; ``{n}`` is filled with ``n``."""
    text = singular if n == 1 else plural
    return text.format(n=n, **values)
