"""The app's pages in the person's language: the browser's Accept-Language by default, the choice in
Settings once made (kept in the key file), and the crisis resources chosen by that language. In
process (no node, no server): the pages are driven through ASGI."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from holdspace.clients import i18n
from holdspace.clients.app.service import AppService
from holdspace.clients.app.web import Pages
from holdspace.clients.participant import Participant


@pytest.fixture
async def pages(tmp_path: Path) -> AsyncIterator[Pages]:
    pages = Pages(AppService(tmp_path))
    yield pages
    i18n.set_fallback(i18n.DEFAULT)


def browser(pages: Pages, accept: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=pages.app()),
        base_url=f"http://127.0.0.1:{pages.port}",
        headers={"accept-language": accept},
        follow_redirects=True,
    )


def lang_of(page: str) -> str:
    found = re.search(r'<html lang="([a-z]+)"', page)
    assert found
    return found.group(1)


async def test_help_page_follows_the_browser_language(pages: Pages) -> None:
    async with browser(pages, "es-ES,es;q=0.9,en;q=0.8") as b:
        page = (await b.get("/help")).text
    assert lang_of(page) == "es"
    assert "Ayuda, ahora mismo" in page and "Help, right now" not in page
    assert "024" in page and "Línea de la Vida" in page  # the Spanish default resources
    assert '<script type="application/json" id="words">' in page and "Holdspace est\\u00e1 cerrado" in page
    async with browser(pages, "en-GB,en;q=0.9") as b:
        page = (await b.get("/help")).text
    assert lang_of(page) == "en"
    assert "Help, right now" in page and "024" not in page
    assert "in the UK" in page  # the English default resources, as before


async def test_the_gate_and_plain_refusals_in_spanish(pages: Pages) -> None:
    async with browser(pages, "es") as b:
        gate = await b.get("/")
        assert gate.status_code == 401
        assert "Abre Holdspace desde su enlace" in gate.text
        assert "<code>holdspace app</code>" in gate.text  # markup in a placeholder stays markup
        wrong_host = await b.get(pages.root + "/help", headers={"host": "example.org"})
        assert wrong_host.text == "Esta dirección no sirve Holdspace."


async def test_settings_choice_wins_over_the_browser_and_is_kept(pages: Pages, tmp_path: Path) -> None:
    me = Participant.create(tmp_path, "a long enough passphrase", None)
    pages.service.me = me
    async with browser(pages, "en-US,en;q=0.9") as b:
        await b.get(f"{pages.root}/enter?t={pages.launch_token}")
        settings = (await b.get(pages.root + "/settings")).text
        assert lang_of(settings) == "en" and "Language of Holdspace on this device" in settings
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', settings)
        assert csrf
        form = {"csrf": csrf.group(1), "crisis_check": "on", "idle_lock": "0", "language": "es"}
        saved = await b.post(pages.root + "/settings", data=form)
        assert lang_of(saved.text) == "es"
        assert "Ajustes guardados." in saved.text
        assert '<option value="es" lang="es" selected>Español</option>' in saved.text
        assert "<h2>Comprobación de cuidado</h2>" in saved.text
        # an English browser still gets Spanish pages: the person chose
        help_page = (await b.get(pages.root + "/help")).text
        assert "Ayuda, ahora mismo" in help_page and "Si estás en peligro inmediato" in help_page
        refused = await b.post(pages.root + "/settings", data={**form, "language": "xx"})
        assert "elige el idioma de la lista" in refused.text.lower()
    assert Participant.load(tmp_path, "a long enough passphrase").language == "es"
    me.language = None  # "the same as this browser"
    async with browser(pages, "en") as b:
        await b.get(f"{pages.root}/enter?t={pages.launch_token}")
        page = (await b.get(pages.root + "/help")).text
        assert "Help, right now" in page and "If you are in immediate danger" in page


def test_the_scripts_words_are_in_the_page_in_the_persons_language() -> None:
    """app.js is static: the page carries its sentences, translated, as a JSON data block (never run),
    so that even the "Holdspace is closed" page, drawn after the app stopped, is in Spanish."""
    from holdspace.clients.app.page_words import SENTENCES, page_words

    i18n.set_language("es")
    try:
        words = page_words()
    finally:
        i18n.set_language("en")
    assert set(words) == set(SENTENCES)  # every one translated
    assert page_words() == {}  # English: the script's own words
    assert words["Holdspace is closed"] == "Holdspace está cerrado"
    assert words["New message in {group}"] == "Mensaje nuevo en {group}"  # filled by the script
    script = (Path(__file__).resolve().parents[2] / "clients" / "app" / "static" / "app.js").read_text()
    for english in SENTENCES:  # every sentence the script shows goes through the page's words
        assert f'say("{english}"' in script, english
