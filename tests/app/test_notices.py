"""Notices and the last visit in the local app (issue 19, point 11): Fay's app in Debian's Chromium
against a real node; Ana (the command line) writes in Fay's group.

Real notifications of the operating system cannot be observed headless: the test grants the
notifications permission to the app's origin in the browser context and installs, with
``add_init_script``, a stand-in for ``window.Notification`` that records every notice the page shows
(its title, body and tag) and reads the real permission; it also stands in for
``document.visibilityState`` (a headless page is always "visible") and moves the page's clock
(``Date.now``) forward, so that the minute between two notices of a group passes at once.

Checked: notices are off until chosen in Settings (the permission asked then); a message from Ana
while the page is hidden gives "New message in Thursday circle", never a word of hers nor who wrote
it, and a second one within the minute nothing; a session starting soon gives "The session starts in
N minutes" once, without its title; the next visit shows "New since your last visit" between the
last message seen and the first one that arrived while the page was hidden. axe-core on each state."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

from tests.app.conftest import CHROMIUM_ARGS, App, Node, chromium_or_skip, start_app
from tests.app.test_app_http import client, create_group, create_identity, eventually
from tests.app.test_browser import PHONE, Person
from tests.cli.test_cli import run
from tests.web.test_browser_notify import STAND_IN

FIRST = "I could not sleep again after the funeral"
SECOND = "Still here, thinking of my sister tonight"
TITLE = "Grief circle about anniversaries"


def notices(page: Page) -> list[dict[str, str]]:
    return page.evaluate("window.__notices")  # type: ignore[no-any-return]


def test_notices_carry_no_words_and_the_next_visit_shows_what_is_new(
    node: Node, apps: list[App], tmp_path: Path
) -> None:
    executable = chromium_or_skip()
    app = start_app(tmp_path / "fay", "--node", node.address)
    apps.append(app)
    c = client(app)
    csrf = create_identity(c, node.address)
    group = create_group(c, csrf, "Thursday circle")
    shown = c.post(group + "/invite", data={"csrf": csrf, "role": "member", "uses": "1", "days": "1"}).text
    token = re.search(r'readonly spellcheck="false">([^<]+)<', shown)
    assert token is not None
    ana = tmp_path / "ana"
    run("id", "new", "--node", node.address, home=ana)
    run("group", "join", token.group(1), "--name", "circle", home=ana)
    c.post(group + "/send", data={"csrf": csrf, "text": "welcome, Ana", "ttl": ""})
    eventually(lambda: "welcome, Ana" in run("read", "circle", home=ana).stdout, what="Ana reads Fay")
    run("send", "circle", "seen before hiding", home=ana)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            fay = Person("Fay", app, browser, PHONE)
            fay.context.grant_permissions(["notifications"], origin=app.origin)
            fay.context.add_init_script(STAND_IN)
            page = fay.page
            fay.enter()
            page.goto(app.base + "/settings")
            choose = page.get_by_role("button", name="Tell me about new messages on this device")
            expect(choose).to_be_visible()
            fay.check("settings, notifications off")
            choose.click()
            expect(page.get_by_text("Notifications are on for this device.")).to_be_visible()
            expect(page.get_by_role("button", name="Turn off")).to_be_visible()
            fay.check("settings, notifications on")
            page.goto(app.base + group)
            expect(page.locator("#messages li.message", has_text="seen before hiding")).to_be_visible()
            page.evaluate("window.__hide(true)")
            run("send", "circle", FIRST, home=ana)
            page.wait_for_function("window.__notices.length >= 1", timeout=30_000)
            run("send", "circle", SECOND, home=ana)
            expect(page.locator("#messages li.message", has_text=SECOND)).to_be_attached(timeout=30_000)
            time.sleep(0.5)
            within_minute = len(notices(page))
            page.evaluate("window.__later(61000)")
            start = datetime.now(UTC) + timedelta(minutes=14)
            form = {"csrf": csrf, "title": TITLE, "date": start.strftime("%Y-%m-%d"), "time": start.strftime("%H:%M")}
            r = c.post(group + "/schedule", data={**form, "duration": "60", "tz": "UTC", "repeat": "", "times": "1"})
            assert f"{TITLE} is scheduled" in r.text, r.text
            page.wait_for_function("window.__notices.length >= 2", timeout=30_000)
            page.evaluate("window.__later(61000)")  # a minute later: the next message is told of again,
            run("send", "circle", "a third one", home=ana)  # and the session, already reminded of, is not
            page.wait_for_function("window.__notices.length >= 3", timeout=30_000)
            time.sleep(0.5)
            seen = notices(page)
            page.goto(app.base + group)  # the next visit (the page is on screen again)
            line = page.locator("#unread-line")
            expect(line).to_have_text("New since your last visit")
            around = page.evaluate(
                """() => { const line = document.getElementById("unread-line");
                  return [line.previousElementSibling.textContent, line.nextElementSibling.textContent]; }"""
            )
            fay.check("conversation, new since the last visit")
        finally:
            browser.close()

    assert within_minute == 1  # at most one a minute per group
    assert seen[0]["title"] == "New message in Thursday circle" and seen[0]["body"] == ""
    assert [n["title"] for n in seen[1:]] == [seen[1]["title"], "New message in Thursday circle"], seen
    assert re.fullmatch(r"The session starts in 1[0-4] minutes", seen[1]["title"]), seen[1]  # once
    everything = " ".join(f"{n['title']} {n['body']} {n['tag']}" for n in seen)
    for words in (FIRST, SECOND, TITLE, "funeral", "sister", "anniversaries", "Member", "Ana"):
        assert words not in everything
    assert "seen before hiding" in around[0] and FIRST in around[1]
