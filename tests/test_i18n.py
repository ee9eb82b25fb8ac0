"""Translations: the catalogues are in step with the source, and the seam picks the language."""

import configparser
import re
from functools import cache
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file
from babel.messages.pofile import read_po

from holdspace.clients import i18n
from holdspace.clients.i18n import _, from_accept_language, from_environment, language, ngettext, parse_tag

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)[^{}]*\}")


@cache
def extracted() -> dict[str | tuple[str, str], str]:
    """Every message the source has (as ``pybabel extract -F babel.cfg`` finds them), with where it is."""
    config = configparser.ConfigParser()
    config.read(ROOT / "babel.cfg")
    keywords = {**DEFAULT_KEYWORDS, "_": None, "ngettext": (1, 2)}
    found: dict[str | tuple[str, str], str] = {}
    for section in config.sections():
        method, _sep, pattern = section.partition(":")
        # by its import path: Babel's lookup of Jinja's entry point fails with some versions it allows
        method = {"jinja2": "jinja2.ext:babel_extract"}.get(method.strip(), method)
        for path in sorted(ROOT.glob(pattern.strip())):
            for lineno, message, _comments, _context in extract_from_file(method.strip(), path, keywords=keywords):
                key = message if isinstance(message, str) else (message[0], message[1])
                found.setdefault(key, f"{path.relative_to(ROOT)}:{lineno}")
    assert len(found) > 100
    return found


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def _catalogue(path: Path):  # type: ignore[no-untyped-def]
    with path.open("rb") as f:
        return read_po(f)


def test_every_message_has_a_spanish_translation_with_the_same_placeholders() -> None:
    po = _catalogue(i18n.LOCALE_DIR / "es" / "LC_MESSAGES" / "holdspace.po")
    missing, mismatched = [], []
    for key, where in extracted().items():
        message = po.get(key)
        forms = message.string if message is not None and isinstance(key, tuple) else None
        if forms is not None and len(forms) != po.num_plurals:
            mismatched.append(f"{where}: {key!r} has {len(forms)} forms, not {po.num_plurals}")
            continue
        if message is None or message.fuzzy or not all(forms if forms is not None else [message.string]):
            missing.append(f"{where}: {key!r}")
            continue
        if isinstance(key, str):
            if placeholders(message.string) != placeholders(key):
                mismatched.append(f"{where}: {key!r} -> {message.string!r}")
        else:
            wanted = placeholders(key[1]) - {"n"}
            for form in message.string:
                if placeholders(form) - {"n"} != wanted or not placeholders(form) <= placeholders(key[1]) | {"n"}:
                    mismatched.append(f"{where}: {key!r} -> {form!r}")
    assert not missing, "no Spanish for:\n" + "\n".join(missing)
    assert not mismatched, "placeholders differ:\n" + "\n".join(mismatched)


def test_the_template_is_in_step_with_the_source() -> None:
    pot = _catalogue(i18n.LOCALE_DIR / "messages.pot")
    in_pot = {m.id if isinstance(m.id, str) else (m.id[0], m.id[1]) for m in pot if m.id}
    source = set(extracted())
    assert not source - in_pot, "missing from messages.pot (run the commands in babel.cfg)"
    assert not in_pot - source, "messages.pot has messages the source no longer has"


def test_lookup_in_spanish_and_english() -> None:
    with language("es"):
        assert _("Settings saved.") == "Ajustes guardados."
        assert i18n.current() == "es"
        assert _("a message no catalogue has, {x}", x=1) == "a message no catalogue has, 1"  # English fallback
    assert _("Settings saved.") == "Settings saved."
    with language("xx"):
        assert i18n.current() == "en"


def test_plurals_in_both_languages() -> None:
    singular, plural = "{n} older message was removed to fit it.", "{n} older messages were removed to fit it."
    assert ngettext(singular, plural, 1) == "1 older message was removed to fit it."
    assert ngettext(singular, plural, 3) == "3 older messages were removed to fit it."
    with language("es"):
        assert ngettext(singular, plural, 1) == "Se quitó 1 mensaje antiguo para respetarlo."
        assert ngettext(singular, plural, 3) == "Se quitaron 3 mensajes antiguos para respetarlo."


@pytest.mark.parametrize(
    ("tag", "code"),
    [("es", "es"), ("es_ES.UTF-8", "es"), ("es-419", "es"), ("ES_mx@euro", "es"), ("en_GB", "en"), ("fr", None),
     ("", None), ("C", None), ("POSIX", None)],
)  # fmt: skip
def test_parse_tag(tag: str, code: str | None) -> None:
    assert parse_tag(tag) == code


@pytest.mark.parametrize(
    ("header", "code"),
    [(None, "en"), ("", "en"), ("es", "es"), ("es-ES,es;q=0.9,en;q=0.8", "es"), ("en-US,en;q=0.9,es;q=0.8", "en"),
     ("fr-FR,fr;q=0.9,es;q=0.5", "es"), ("de", "en"), ("es;q=0, en;q=0.1", "en"), ("en;q=0.5, es;q=0.7", "es"),
     ("es;q=abc, en;q=0.2", "en"), ("*", "en"), ("es;q=2", "en"), ("x" * 5000, "en")],
)  # fmt: skip
def test_accept_language(header: str | None, code: str) -> None:
    assert from_accept_language(header) == code


@pytest.mark.parametrize(
    ("environ", "code"),
    [({}, "en"), ({"LANG": "es_ES.UTF-8"}, "es"), ({"LANG": "C.UTF-8"}, "en"),
     ({"LC_ALL": "en_US.UTF-8", "LANG": "es_ES.UTF-8"}, "en"), ({"LANGUAGE": "fr:es", "LANG": "en_US"}, "es"),
     ({"LANGUAGE": "fr", "LC_ALL": "es_MX"}, "es"), ({"LC_MESSAGES": "es_AR.UTF-8"}, "es"), ({"LANG": ""}, "en")],
)  # fmt: skip
def test_environment(environ: dict[str, str], code: str) -> None:
    assert from_environment(environ) == code
