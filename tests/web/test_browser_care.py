"""The browser's on-device care check (issue 18), in Debian's Chromium at a phone's size, against a
real node and a facilitator made with the Python client library.

What it checks: an ordinary message shows no note; a message with crisis language ("I want to end it
all") shows the calm note above the conversation ("You are not alone", help one tap away, "Only this
device noticed; nobody else was told."); "Find help now" opens the help; "Dismiss" hides the note;
axe-core finds no violation with the note shown."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import trio
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import sync_playwright

from holdspace.clients.participant import Participant
from holdspace.protocol.address import InviteLink, InviteToken
from tests.app.conftest import CHROMIUM_ARGS, chromium_or_skip
from tests.app.test_browser import AXE_OPTIONS, PHONE
from tests.node.conftest import session
from tests.web.test_browser_transport import spki_hash
from tests.web.web_node import WebNode, collect_errors, web_node

PASSPHRASE = "a quiet harbour at dawn"
ORDINARY = "The exam is killing me but I am fine"
CRISIS = "Honestly I just want to end it all"


def phone(web: WebNode, link: str, say: Callable[[str], Any]) -> dict[str, Any]:
    args = [a for a in CHROMIUM_ARGS if a != "--disable-quic"]
    args.append(f"--ignore-certificate-errors-spki-list={spki_hash(web.certfile)}")
    problems: list[str] = []
    out: dict[str, Any] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_or_skip(), headless=True, args=args)
        try:
            page = browser.new_context(viewport=PHONE, ignore_https_errors=True).new_page()
            page.set_default_timeout(30_000)
            collect_errors(page, problems)
            page.goto(link)
            page.get_by_role("button", name="Join this group").click()
            page.get_by_label("Passphrase", exact=True).fill(PASSPHRASE)
            page.get_by_label("Type it again").fill(PASSPHRASE)
            page.get_by_role("button", name="Join the group").click()
            page.get_by_role("button", name="I have written them down").click()
            page.get_by_role("heading", name="Your group").wait_for()
            say(ORDINARY)
            page.locator("#messages li", has_text=ORDINARY).wait_for()
            time.sleep(0.3)
            out["ordinary_hidden"] = page.locator("#care-note").is_hidden()
            say(CRISIS)
            page.locator("#messages li", has_text=CRISIS).wait_for()
            note = page.locator("#care-note")
            note.get_by_role("heading", name="You are not alone").wait_for()
            out["note"] = note.inner_text()
            out["above"] = page.evaluate(
                """() => document.getElementById("care-note").compareDocumentPosition(
                  document.getElementById("messages")) & Node.DOCUMENT_POSITION_FOLLOWING"""
            )
            result = Axe().run(page, options=AXE_OPTIONS)
            out["axe"] = result.generate_report() if result.violations_count else ""
            note.get_by_role("button", name="Find help now").click()
            page.get_by_role("heading", name="Help, right now").wait_for()
            note.get_by_role("button", name="Dismiss").click()
            out["dismissed"] = page.locator("#care-note").is_hidden()
        finally:
            browser.close()
    assert not problems, problems
    return out


async def test_the_care_note_shows_on_a_crisis_line_only(tmp_path: Path, bundle: Path) -> None:
    chromium_or_skip()
    async with web_node(tmp_path, bundle) as web, session(web.address) as s:
        fay = Participant.create(tmp_path / "fay", "pass fay", web.address)
        group = await fay.create_group(s, "Thursday circle")
        link = str(InviteLink(web.web.origin, InviteToken.parse(await fay.invite(s, group))))

        async def say(text: str) -> None:
            await fay.send(s, group, text)

        with trio.fail_after(120):
            out = await trio.to_thread.run_sync(lambda: phone(web, link, lambda t: trio.from_thread.run(say, t)))

    assert out["ordinary_hidden"]
    assert "Only this device noticed; nobody else was told." in out["note"]
    assert out["above"]
    assert not out["axe"], out["axe"]
    assert out["dismissed"]
