"""The whole journey in Debian's Chromium (issue 18's quality bar): a facilitator on a laptop and three
people on phones (390 by 844) join a real node's group by link, talk, open a content warning, react, check
in, meet in a session (the facilitator schedules it, a phone answers, the talking piece is passed and
shown above the composer for everyone, one date is cancelled after a confirmation), report, see one
member removed (who then reads nothing new), go offline and come back, and one phone clears its site
data (IndexedDB, caches, service worker) and restores from its recovery words, reading the group's old
messages and a new one. axe-core finds no violation on any screen, and no phone scrolls sideways.

Run once over WebTransport and once over the WebSocket fallback (the browser without WebTransport, as
``test_browser_transport.py`` forces it).

The founder, Fay, is the Python client library: the browser does not make invites or remove members
yet, so she makes the invite links and removes the member, and she reads the check-in and the report
(which are sealed to the facilitators)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import trio
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from holdspace.clients.participant import Participant
from holdspace.protocol import kinds
from holdspace.protocol.address import InviteLink, InviteToken
from holdspace.protocol.content import CheckIn, Report, Text
from tests.app.conftest import ARTIFACTS, CHROMIUM_ARGS, chromium_or_skip
from tests.app.test_browser import AXE_OPTIONS, LAPTOP, PHONE
from tests.node.conftest import session
from tests.web.test_browser_transport import spki_hash
from tests.web.web_node import WebNode, collect_errors, web_node

WELCOME = "Welcome, everyone"
ANA = "hello from Ana"
BEN = "the anniversary is this week"
OFFLINE = "written on the train, offline"
AFTER = "Cat has left the group"
BACK = "good to see you back, Ana"
RESTORED = "restored and here again"
TITLE = "Thursday circle"
LONDON = ZoneInfo("Europe/London")
MADRID = "Europe/Madrid"  # where the phones are: each reads times in its own zone


class Screens:
    """axe-core on each screen and state, no sideways scrolling at the page's width, a screenshot."""

    def __init__(self, transport: str) -> None:
        self.transport = transport
        self.reports: list[str] = []

    def check(self, page: Page, name: str, width: int = PHONE["width"]) -> None:
        if self.transport != "webtransport":
            return  # the same screens: checked (and shot) once, in the WebTransport run
        folder = ARTIFACTS / "screenshots"
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / f"journey-{name}.png"), full_page=True)
        page.evaluate("window.scrollTo(0, 0)")  # the sticky banner covers nothing at the top
        result = Axe().run(page, options=AXE_OPTIONS)
        if result.violations_count:
            self.reports.append(f"{name}: {result.generate_report()}")
        scroll = page.evaluate("document.documentElement.scrollWidth")
        if scroll > width:
            self.reports.append(f"{name}: scrolls sideways ({scroll} px)")


@contextmanager
def chromium(web: WebNode) -> Iterator[Browser]:
    args = [a for a in CHROMIUM_ARGS if a != "--disable-quic"]  # WebTransport runs on QUIC
    args.append(f"--ignore-certificate-errors-spki-list={spki_hash(web.certfile)}")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_or_skip(), headless=True, args=args)
        try:
            yield browser
        finally:
            browser.close()


def person(
    browser: Browser, problems: list[str], *, laptop: bool = False, without_webtransport: bool
) -> tuple[BrowserContext, Page]:
    context = browser.new_context(
        viewport=LAPTOP if laptop else PHONE, ignore_https_errors=True, timezone_id=MADRID, locale="en-GB"
    )
    if without_webtransport:
        context.add_init_script("delete globalThis.WebTransport;")
    page = context.new_page()
    page.set_default_timeout(30_000)  # a loaded CI machine: each step may take longer
    collect_errors(page, problems)
    return context, page


def join(page: Page, link: str, passphrase: str, screens: Screens | None) -> list[str]:
    """Opens the invite link, chooses a passphrase, joins; returns the recovery words shown once."""
    page.goto(link)
    page.get_by_role("heading", name="You're invited").wait_for()
    if screens:
        screens.check(page, "invite")
    page.get_by_role("button", name="Join this group").click()
    page.get_by_role("heading", name="Choose a passphrase").wait_for()
    page.get_by_label("Passphrase", exact=True).fill(passphrase)
    page.get_by_label("Type it again").fill(passphrase)
    page.get_by_role("button", name="Join the group").click()
    page.get_by_role("heading", name="Your recovery key").wait_for(timeout=40_000)
    page.get_by_text("is kept on your group's node").wait_for()
    words = page.locator("#recovery-words li").all_inner_texts()
    if screens:
        screens.check(page, "recovery-key")
    page.get_by_role("button", name="I have written them down").click()
    page.get_by_role("heading", name="Your group").wait_for()
    return words


def message(page: Page, text: str) -> Any:
    return page.locator("#messages li", has_text=text)


def say(page: Page, text: str, warning: str | None = None) -> None:
    page.get_by_label("Your message", exact=True).fill(text)
    if warning:
        page.get_by_label("Content warning, if it may upset someone (optional)").fill(warning)
    page.get_by_role("button", name="Send", exact=True).click()


def journey(
    web: WebNode, links: dict[str, str], fay: Callable[..., Any], *, without_webtransport: bool
) -> dict[str, Any]:
    screens = Screens("websocket" if without_webtransport else "webtransport")
    problems: list[str] = []
    out: dict[str, Any] = {}
    with chromium(web) as browser:
        fran_ctx, fran = person(browser, problems, laptop=True, without_webtransport=without_webtransport)
        ana_ctx, ana = person(browser, problems, without_webtransport=without_webtransport)
        ben_ctx, ben = person(browser, problems, without_webtransport=without_webtransport)
        cat_ctx, cat = person(browser, problems, without_webtransport=without_webtransport)
        # Joining by link: each sees its recovery key once.
        join(fran, links["fran"], "fran's long passphrase", None)
        words = join(ana, links["ana"], "ana's long passphrase", screens)
        join(ben, links["ben"], "ben's long passphrase", None)
        join(cat, links["cat"], "cat's long passphrase", None)
        out["words"] = words
        out["transport"] = ana.evaluate(
            "async () => (await (await import('/holdspace.js')).openChannel("
            "await (await import('/holdspace.js')).fetchEndpoints(), {timeoutMs: 15000})).kind"
        )
        # Talking: Fay's welcome gives everyone the group's keys; a phone's words reach the others.
        fay("say", WELCOME)
        for p in (fran, ana, ben, cat):
            message(p, WELCOME).wait_for()
        screens.check(ana, "conversation")
        say(ana, ANA)
        message(ben, ANA).wait_for()
        message(fran, ANA).wait_for()
        say(ben, BEN, "loss")
        hidden = message(cat, "Content warning: loss")
        hidden.wait_for()
        out["hidden_before"] = not hidden.locator(".words").is_visible()
        hidden.get_by_role("button", name="Show").click()
        out["shown"] = hidden.locator(".words").is_visible() and BEN in hidden.inner_text()
        message(cat, ANA).get_by_role("button", name="Heart 0").click()
        message(ana, ANA).get_by_role("button", name="Heart 1").wait_for()
        ben.get_by_label("2, low").check()
        ben.get_by_role("button", name="Send check-in").click()
        ben.get_by_text(re.compile(r"Only the group's (\d+ )?facilitators? will see it")).wait_for()
        # A session: the facilitator schedules one that is on now; a misspelt zone keeps the form.
        now = dt.datetime.now(LONDON).replace(second=0, microsecond=0) - dt.timedelta(minutes=1)
        fran.get_by_text("Schedule a session").click()
        fran.get_by_label("Title", exact=True).fill(TITLE)
        fran.get_by_label("Date", exact=True).fill(now.strftime("%Y-%m-%d"))
        fran.get_by_label("Starts at").fill(now.strftime("%H:%M"))
        fran.get_by_label("Time zone").fill("London")
        fran.get_by_label("How many weeks (1 for a single date)").fill("3")
        fran.get_by_role("button", name="Schedule", exact=True).click()
        fran.get_by_text('"London" is not a time zone name we know').wait_for()
        out["kept_title"] = fran.get_by_label("Title", exact=True).input_value()
        screens.check(fran, "schedule-zone-suggested", LAPTOP["width"])
        fran.get_by_role("button", name="Europe/London").click()
        fran.get_by_role("button", name="Schedule", exact=True).click()
        fran.get_by_text(f"Scheduled: {TITLE}.").wait_for()
        first = ana.locator("#sessions li").first
        first.get_by_role("heading", name=TITLE).wait_for()
        out["ana_sees_time"] = first.inner_text()
        madrid = now.astimezone(ZoneInfo(MADRID))
        out["madrid_time"] = f"{madrid.hour:02d}:{madrid.minute:02d}"
        first.get_by_role("button", name="I'll come").click()
        fran_first = fran.locator("#sessions li").first
        fran_first.get_by_text("1 person is coming.").wait_for()
        ana_label = message(fran, ANA).locator("strong").inner_text()
        fran_first.get_by_label("Give the talking piece to").select_option(label=ana_label)
        fran_first.get_by_role("button", name="Pass the talking piece").click()
        ana.get_by_text("The talking piece is with you").first.wait_for()
        ben.locator("#talking-piece", has_text=f"The talking piece is with {ana_label}").wait_for()
        out["piece_above_composer"] = ben.evaluate(
            "document.querySelector('#talking-piece').nextElementSibling.getAttribute('aria-labelledby')"
        )
        screens.check(ana, "session-with-talking-piece")
        second = fran.locator("#sessions li").nth(1)
        second.get_by_role("button", name="Cancel this date").click()
        fran.get_by_text("The other dates of this session stay as they are").wait_for()
        screens.check(fran, "cancel-one-date", LAPTOP["width"])
        fran.get_by_role("button", name="Yes, cancel this date").click()
        ana.locator("#sessions li").nth(2).wait_for(state="detached")
        out["dates_left"] = ana.locator("#sessions li h3").all_inner_texts()
        out["first_still"] = (
            ana.locator("#sessions li").first.get_by_role("button", name="I'll come").get_attribute("aria-pressed")
        )
        # A report: Cat reports Ben's message to the facilitators.
        reported = message(cat, BEN)
        reported.get_by_text("Report this message").click()
        reported.get_by_label("What is wrong with it? (optional)").fill("this worried me")
        reported.get_by_role("button", name="Send report").click()
        out["read"] = fay("read_support")
        # Removal: Fay removes the member who reported (by the report's author); Cat reads nothing new.
        fay("remove_reporter")
        cat.get_by_text("You are no longer a member of this group.").wait_for()
        screens.check(cat, "removed")
        say(ana, AFTER)
        message(ben, AFTER).wait_for()
        # Offline and back: what Ben writes offline is sent once he is back.
        ben_ctx.set_offline(True)
        say(ben, OFFLINE)
        ben.get_by_text(f"Sending: {OFFLINE}").wait_for()
        screens.check(ben, "offline-waiting")
        ben_ctx.set_offline(False)
        message(ana, OFFLINE).wait_for()
        message(fran, OFFLINE).wait_for()
        out["cat_read_after"] = [t for t in cat.locator("#messages li").all_inner_texts() if AFTER in t or OFFLINE in t]
        # Ana's browser forgets everything; her words bring the group back.
        cdp = ana_ctx.new_cdp_session(ana)
        cdp.send("Storage.clearDataForOrigin", {"origin": web.web.origin, "storageTypes": "all"})
        out["left_after_clearing"] = ana.evaluate(
            """async () => [(await indexedDB.databases()).length, (await caches.keys()).length,
                            (await navigator.serviceWorker.getRegistrations()).length]"""
        )
        ana.goto(web.web.origin + "/")
        ana.get_by_role("heading", name="Open your invite link").wait_for()
        ana.get_by_role("button", name="Restore on this device").click()
        ana.get_by_role("heading", name="Restore on this device").wait_for()
        ana.get_by_label("Your 13 recovery words").fill(" ".join([*words[:4], "xyzzy", *words[5:]]))
        ana.get_by_label("New passphrase").fill("ana's new passphrase")
        ana.get_by_label("Type it again").fill("ana's new passphrase")
        ana.get_by_role("button", name="Restore").click()
        ana.get_by_text("One of the words is not a recovery word").wait_for()
        screens.check(ana, "restore-mistyped")
        ana.get_by_label("Your 13 recovery words").fill("  ".join(words).upper())
        ana.get_by_role("button", name="Restore").click()
        message(ana, ANA).wait_for(timeout=40_000)
        message(ana, WELCOME).wait_for()
        fay("say", BACK)
        message(ana, BACK).wait_for()
        say(ana, RESTORED)
        message(ben, RESTORED).wait_for()
        screens.check(ana, "restored")
        out["restored_mine"] = message(ana, ANA).locator("strong").inner_text()
        for c in (fran_ctx, ana_ctx, ben_ctx, cat_ctx):
            c.close()
    out["reports"] = screens.reports
    out["problems"] = problems
    return out


@pytest.mark.parametrize(
    "without_webtransport",
    [False, True],
    ids=["webtransport", "websocket-fallback"],
)
async def test_a_facilitator_and_three_phones_live_a_group_from_join_to_recovery(
    tmp_path: Path, bundle: Path, without_webtransport: bool
) -> None:
    chromium_or_skip()
    async with web_node(tmp_path, bundle) as web, session(web.address) as s:
        fay = Participant.create(tmp_path / "fay", "pass fay", web.address)
        group = await fay.create_group(s, TITLE)
        links = {}
        for name in ("fran", "ana", "ben", "cat"):
            role = "facilitator" if name == "fran" else "member"
            links[name] = str(InviteLink(web.web.origin, InviteToken.parse(await fay.invite(s, group, role=role))))
        removed: list[bytes] = []

        async def step(name: str, *args: Any) -> Any:
            if name == "say":
                await fay.send(s, group, args[0])
                return None
            await fay.sync(s, group)
            if name == "read_support":  # until the check-in and the report have reached her
                with trio.fail_after(20):
                    while not all(any(isinstance(m.content, t) for m in group.messages) for t in (CheckIn, Report)):
                        await trio.sleep(0.1)
                        await fay.sync(s, group)
            if name == "remove_reporter":
                author = next(m.author for m in group.messages if isinstance(m.content, Report))
                removed.append(author)
                await fay.remove_member(s, group, author)
                return None
            return [(m.author.hex(), m.kind, m.content) for m in group.messages]

        with trio.fail_after(240):
            out = await trio.to_thread.run_sync(
                lambda: journey(
                    web, links, lambda *a: trio.from_thread.run(step, *a), without_webtransport=without_webtransport
                )
            )

    assert not out["problems"], out["problems"]
    assert not out["reports"], "\n".join(out["reports"])
    assert out["transport"] == ("websocket" if without_webtransport else "webtransport")
    assert len(out["words"]) == 13
    assert out["hidden_before"] and out["shown"]
    assert out["kept_title"] == TITLE  # the form kept what was typed through the zone's error
    assert out["madrid_time"] in out["ana_sees_time"], out  # the phone reads the time in its own zone
    assert out["piece_above_composer"] == "write-h"  # the talking piece line sits just above the composer
    assert out["dates_left"] == [TITLE, TITLE]  # one date of three cancelled, the others kept
    assert out["first_still"] == "true"  # the answer to the first date stayed
    read = out["read"]
    assert any(k == kinds.DIRECT and isinstance(c, CheckIn) and c.mood == 2 for _, k, c in read)
    assert [c.reason for _, k, c in read if k == kinds.DIRECT and isinstance(c, Report)] == ["this worried me"]
    assert any(isinstance(c, Text) and c.body == ANA for _, _, c in read)
    assert removed and removed[0] != fay.pseudonym(group).public_key  # a member, not Fay
    assert out["cat_read_after"] == []  # the removed member read nothing new
    assert out["left_after_clearing"] == [0, 0, 0]  # no database, cache or service worker was left
    assert out["restored_mine"] == "You"  # the restored identity is the same member
