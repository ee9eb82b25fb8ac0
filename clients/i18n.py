"""Translations: every string a person reads goes through :func:`_` (or :func:`ngettext`).

Message ids are the English text; placeholders are written ``{name}`` and filled by ``str.format``
after translation, so a translator can move them. The catalogues are gettext ``.po`` files under
``clients/locale/<language>/LC_MESSAGES/holdspace.po`` (``messages.pot`` is their template, extracted
by Babel with ``babel.cfg``), read once per language through Babel's reader. English is the source
language and has no catalogue: its text passes through unchanged, and Babel is imported only when
another language is first used.

The current language is a context variable: the app sets it for each request (the person's choice in
Settings, else the browser's ``Accept-Language``), the command line from ``LANGUAGE``, ``LC_ALL``,
``LC_MESSAGES`` or ``LANG`` (:func:`from_environment`). Where nothing set it, the fallback holds
(:func:`set_fallback`; at first :data:`DEFAULT`).

Invariants: a translation never changes which placeholders a string has, and every message the
source has is translated (``tests/test_i18n.py`` checks both against a fresh extraction); a message a
catalogue lacks falls back to its English text, never to an error.
"""

from __future__ import annotations

import gettext
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from pathlib import Path

__all__ = [
    "LANGUAGES",
    "DEFAULT",
    "LOCALE_DIR",
    "_",
    "N_",
    "translate",
    "translate_plural",
    "ngettext",
    "current",
    "set_language",
    "set_fallback",
    "language",
    "parse_tag",
    "from_accept_language",
    "from_environment",
]

#: the languages a person can choose, by code, each named in itself
LANGUAGES: dict[str, str] = {"en": "English", "es": "Español"}
DEFAULT = "en"
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "holdspace"

_current: ContextVar[str] = ContextVar("holdspace_language")
#: the language where no context set one (the app's background tasks speak the person's choice)
_fallback = [DEFAULT]


@dataclass(frozen=True)
class Catalogue:
    """One language's translations: singular ids to text, plural ids to their forms, and the rule."""

    singular: Mapping[str, str]
    plural: Mapping[str, tuple[str, ...]]
    plural_index: Callable[[int], int]


@cache
def catalogue(code: str) -> Catalogue | None:
    """The catalogue of language ``code``, read once from its ``.po`` file; None for English or one absent."""
    path = LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"
    if code == DEFAULT or not path.is_file():
        return None
    from babel.messages.pofile import read_po  # noqa: PLC0415 - only when a translation is used

    with path.open("rb") as f:
        po = read_po(f, locale=code, domain=DOMAIN)
    singular: dict[str, str] = {}
    plural: dict[str, tuple[str, ...]] = {}
    for message in po:
        if not message.id or message.fuzzy:
            continue
        if isinstance(message.id, tuple):
            forms = tuple(str(s) for s in message.string) if isinstance(message.string, tuple | list) else ()
            if forms and all(forms):
                plural[str(message.id[0])] = forms
        elif message.string:
            singular[str(message.id)] = str(message.string)
    return Catalogue(singular, plural, gettext.c2py(po.plural_expr))


def current() -> str:
    """The language of this request or command (a code of :data:`LANGUAGES`)."""
    return _current.get(_fallback[0])


def set_language(code: str) -> None:
    """Make ``code`` the language of the current context (an unknown code means :data:`DEFAULT`)."""
    _current.set(code if code in LANGUAGES else DEFAULT)


def set_fallback(code: str) -> None:
    """Make ``code`` the language of every context that set none (an unknown code means :data:`DEFAULT`)."""
    _fallback[0] = code if code in LANGUAGES else DEFAULT


@contextmanager
def language(code: str) -> Iterator[None]:
    """Within the block, text is in language ``code``."""
    token = _current.set(code if code in LANGUAGES else DEFAULT)
    try:
        yield
    finally:
        _current.reset(token)


def translate(msgid: str) -> str:
    """The text for ``msgid`` in the current language, its placeholders not filled."""
    found = catalogue(current())
    return found.singular.get(msgid, msgid) if found is not None else msgid


def translate_plural(singular: str, plural: str, n: int) -> str:
    """The form for ``n`` of a plural message in the current language, its placeholders not filled."""
    found = catalogue(current())
    forms = found.plural.get(singular) if found is not None else None
    if found is not None and forms is not None:
        return forms[min(found.plural_index(n), len(forms) - 1)]
    return singular if n == 1 else plural


def _(msgid: str, **values: object) -> str:
    """The text for ``msgid`` in the current locale, its ``{placeholders}`` filled from ``values``."""
    text = translate(msgid)
    return text.format(**values) if values else text


def N_(msgid: str) -> str:  # noqa: N802 - gettext's conventional name, which extraction knows
    """Marks ``msgid`` for extraction where it is defined (a table of texts); :func:`_` translates it where shown."""
    return msgid


def ngettext(singular: str, plural: str, n: int, **values: object) -> str:
    """The singular or plural text for ``n`` in the current locale; ``{n}`` is filled with ``n``."""
    return translate_plural(singular, plural, n).format(n=n, **values)


def parse_tag(tag: str) -> str | None:
    """The language of :data:`LANGUAGES` that a locale name or language tag names, or None.

    Accepts POSIX locale names (``es_ES.UTF-8``, ``es_MX@euro``) and BCP 47 tags (``es-419``, ``EN-gb``).
    """
    base = tag.strip().split(".")[0].split("@")[0].replace("_", "-").split("-")[0].lower()
    return base if base in LANGUAGES else None


def from_accept_language(header: str | None) -> str:
    """The best language of :data:`LANGUAGES` for an ``Accept-Language`` header, else :data:`DEFAULT`.

    Entries are ranked by their ``q`` weight (1 when absent, a malformed one counts as 0), ties in
    the order given; ``*`` and languages without a catalogue are skipped; ``q=0`` means "not this".
    """
    best: tuple[float, int, str] | None = None
    for position, item in enumerate((header or "")[:1000].split(",")):
        name, _sep, params = item.partition(";")
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        code = parse_tag(name)
        if code is None or not 0 < q <= 1:
            continue
        if best is None or (q, -position) > (best[0], best[1]):
            best = (q, -position, code)
    return best[2] if best is not None else DEFAULT


def from_environment(environ: Mapping[str, str] | None = None) -> str:
    """The language the environment asks for, as gettext reads it: the first of ``LANGUAGE`` (a
    colon-separated list, its first known entry), ``LC_ALL``, ``LC_MESSAGES``, ``LANG`` that is set
    and not empty; ``C``/``POSIX`` and unknown languages mean :data:`DEFAULT`."""
    env = os.environ if environ is None else environ
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "")
        if not value:
            continue
        for entry in value.split(":") if name == "LANGUAGE" else [value]:
            code = parse_tag(entry)
            if code is not None:
                return code
        if name != "LANGUAGE":
            return DEFAULT
    return DEFAULT
