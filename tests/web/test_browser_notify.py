"""Notices and the last visit in the browser client (issue 19, point 11), in Debian's Chromium at a
phone's size, against a real node and a facilitator made with the Python client library.

Real notifications of the operating system cannot be observed headless: the test grants the
notifications permission to the page's origin in the browser context and installs, with
``add_init_script``, a stand-in for ``window.Notification`` that records every notice the page
shows (its title, body and tag) and reads the real permission. It also stands in for
``document.visibilityState`` (a headless page is always "visible") and lets the test move the
page's clock forward (``Date.now``), so that the minute between two notices of a group passes at once.

What it checks: nothing is shown before the person chooses "Tell me about new messages on this
device"; once chosen, a message arriving while the page is hidden gives "New message in Thursday
circle" with no word of the message and no author, a second one within the minute gives nothing, a
session starting soon gives "The session starts in N minutes" once (never its title); the choice is
kept; on the next visit "New since your last visit" sits between the last message seen and the first
one that arrived while the page was hidden, and the conversation still opens at the newest message.
axe-core finds no violation with the choice off, on, and with the line shown."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import trio
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, sync_playwright

from holdspace.clients.participant import Participant
from holdspace.protocol.address import InviteLink, InviteToken
from tests.app.conftest import CHROMIUM_ARGS, chromium_or_skip
from tests.app.test_browser import AXE_OPTIONS, PHONE
from tests.node.conftest import session
from tests.web.test_browser_transport import spki_hash
from tests.web.web_node import WebNode, collect_errors, web_node

PASSPHRASE = "a quiet harbour at dawn"
WELCOME = "Welcome, glad you found us"
FIRST = "I could not sleep again after the funeral"
SECOND = "Still here, thinking of my sister tonight"
TITLE = "Grief circle about anniversaries"

STAND_IN = """(() => {
  const Real = window.Notification;
  const shown = [];
  let hidden = false;
  let shift = 0;
  const now = Date.now.bind(Date);
  Date.now = () => now() + shift;
  window.__notices = shown;
  window.__later = (ms) => { shift += ms; };
  window.__hide = (h) => { hidden = h; document.dispatchEvent(new Event("visibilitychange")); };
  const state = { configurable: true, get() { return hidden ? "hidden" : "visible"; } };
  Object.defineProperty(Document.prototype, "visibilityState", state);
  Object.defineProperty(Document.prototype, "hidden", { configurable: true, get() { return hidden; } });
  class StandIn {
    constructor(title, options) {
      const o = options || {};
      shown.push({ title, body: o.body || "", tag: o.tag || "" });
    }
    close() {}
    static get permission() { return Real.permission; }
    static requestPermission() { return Real.requestPermission(); }
  }
  window.Notification = StandIn;
})();"""


def axe(page: Page, reports: list[str], what: str) -> None:
    result = Axe().run(page, options=AXE_OPTIONS)
    if result.violations_count:
        reports.append(f"{what}: {result.generate_report()}")


def phone(web: WebNode, link: str, fay: Callable[..., Any]) -> dict[str, Any]:
    args = [a for a in CHROMIUM_ARGS if a != "--disable-quic"]
    args.append(f"--ignore-certificate-errors-spki-list={spki_hash(web.certfile)}")
    problems: list[str] = []
    reports: list[str] = []
    out: dict[str, Any] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_or_skip(), headless=True, args=args)
        try:
            context = browser.new_context(viewport=PHONE, ignore_https_errors=True)
            context.grant_permissions(["notifications"], origin=web.web.origin)
            context.add_init_script(STAND_IN)
            page = context.new_page()
            page.set_default_timeout(30_000)
            collect_errors(page, problems)
            page.goto(link)
            page.get_by_role("button", name="Join this group").click()
            page.get_by_label("Passphrase", exact=True).fill(PASSPHRASE)
            page.get_by_label("Type it again").fill(PASSPHRASE)
            page.get_by_role("button", name="Join the group").click()
            page.get_by_role("button", name="I have written them down").click()
            page.get_by_role("heading", name="Your group").wait_for()
            fay("say", WELCOME)
            page.locator("#messages li", has_text=WELCOME).wait_for()
            choose = page.get_by_role("button", name="Tell me about new messages on this device")
            choose.wait_for()
            axe(page, reports, "notifications off")
            page.evaluate("window.__hide(true)")  # not chosen yet: a message while hidden shows nothing
            fay("say", "before the choice")
            page.locator("#messages li", has_text="before the choice").wait_for()
            out["unchosen"] = page.evaluate("window.__notices.length")
            page.evaluate("window.__hide(false)")
            choose.click()
            page.get_by_role("button", name="Turn off").wait_for()
            page.get_by_text("Notifications are on for this device.").wait_for()
            axe(page, reports, "notifications on")
            page.evaluate("window.__hide(true)")
            fay("say", FIRST)
            page.wait_for_function("window.__notices.length >= 1")
            fay("say", SECOND)  # within the minute: no second notice
            page.locator("#messages li", has_text=SECOND).wait_for()
            time.sleep(0.3)
            out["within_minute"] = page.evaluate("window.__notices.length")
            page.evaluate("window.__later(61000)")
            fay("schedule", TITLE)  # starts in about 14 minutes
            page.wait_for_function("window.__notices.length >= 2")
            page.evaluate("window.__later(61000); window.__hide(true)")  # looked at again: once per date
            time.sleep(0.3)
            out["notices"] = page.evaluate("window.__notices")
            # The next visit: the page asks for the passphrase, then shows the conversation.
            page.goto(web.web.origin + "/")
            page.get_by_label("Passphrase", exact=True).fill(PASSPHRASE)
            page.get_by_role("button", name="Open").click()
            page.locator("#unread-line").wait_for()
            out["around"] = page.evaluate(
                """() => { const line = document.getElementById("unread-line");
                  const near = [line.previousElementSibling, line.nextElementSibling];
                  return [line.textContent, ...near.map((e) => e.textContent)]; }"""
            )
            out["newest_in_view"] = page.evaluate(
                """() => { const r = document.getElementById("messages").lastElementChild.getBoundingClientRect();
                  return r.top < innerHeight && r.bottom > 0; }"""
            )
            page.get_by_role("button", name="Turn off").wait_for()  # the choice was kept
            axe(page, reports, "new since the last visit")
            page.get_by_role("button", name="Turn off").click()
            page.get_by_role("button", name="Tell me about new messages on this device").wait_for()
        finally:
            browser.close()
    assert not problems, problems
    out["reports"] = reports
    return out


async def test_notices_carry_no_words_and_the_next_visit_shows_what_is_new(tmp_path: Path, bundle: Path) -> None:
    chromium_or_skip()
    async with web_node(tmp_path, bundle) as web, session(web.address) as s:
        fay = Participant.create(tmp_path / "fay", "pass fay", web.address)
        group = await fay.create_group(s, "Thursday circle")
        link = str(InviteLink(web.web.origin, InviteToken.parse(await fay.invite(s, group))))

        async def step(name: str, *args: Any) -> None:
            if name == "say":
                await fay.send(s, group, args[0])
            else:
                start = int(time.time() * 1000) + 14 * 60_000
                await fay.schedule(
                    s, group, title=args[0], about=None, start_ms=start, duration_ms=3_600_000, tz="Europe/London"
                )

        with trio.fail_after(150):
            out = await trio.to_thread.run_sync(lambda: phone(web, link, lambda *a: trio.from_thread.run(step, *a)))

    assert not out["reports"], "\n".join(out["reports"])
    assert out["unchosen"] == 0  # off by default
    assert out["within_minute"] == 1  # at most one a minute per group
    notices = out["notices"]
    assert [n["title"] for n in notices][:1] == ["New message in Thursday circle"]
    assert len(notices) == 2, notices  # the session's date was reminded of once
    assert notices[1]["title"].startswith("The session starts in ") and notices[1]["title"].endswith(" minutes")
    shown = " ".join(f"{n['title']} {n['body']} {n['tag']}" for n in notices)
    for words in (FIRST, SECOND, TITLE, "funeral", "sister", "anniversaries"):
        assert words not in shown
    line, before, after = out["around"]
    assert line == "New since your last visit"
    assert "before the choice" in before and FIRST in after  # seen while visible; arrived while hidden
    assert out["newest_in_view"]
