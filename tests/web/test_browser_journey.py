"""The whole journey in Debian's Chromium (issue 18's quality bar): a facilitator on a laptop and three
people on phones (390 by 844) join a real node's group by link, talk, open a content warning, react, check
in, meet in a session (the facilitator schedules it, a phone answers, the talking piece is passed and
shown above the composer for everyone, one date is cancelled after a confirmation), report, see one
member removed (who then reads nothing new), go offline and come back, and one phone clears its site
data (IndexedDB, caches, service worker) and restores from its recovery words, reading the group's old
messages and a new one. axe-core finds no violation on any screen, and no phone scrolls sideways.

Run once over WebTransport and once over the WebSocket fallback (the browser without WebTransport, as
``test_browser_transport.py`` forces it).

The facilitator, Fran, does her part from her laptop's browser: she makes the invite link the phones
open (read from her Invite screen), reads the check-in and the report on her Check-ins and Reports
screens, and removes the member who reported from Members, asked first, with a kind note (which the
removed phone shows, with no message box and no "Reply" left) and a reason for the facilitators. The
founder, Fay, is the Python client library: she only creates the group, invites Fran as a
facilitator and writes two messages; at the end she reads the group as the reference implementation
does (the removal applied to the reporter, its reason opens for her)."""

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

from holdspace.clients.moderation import removal_reasons
from holdspace.clients.participant import Participant
from holdspace.protocol.address import InviteLink, InviteToken
from holdspace.protocol.content import CheckIn, Report, Text
from holdspace.protocol.labels import label
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
NOTE = "Take care of yourself. The helpline on the group's page is open every night."
REASON = "asked to leave after a talk with the facilitators"
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


def tool(page: Page, name: str) -> None:
    """Opens one of the facilitator's tools from her page's navigation."""
    page.get_by_role("navigation", name="Facilitator tools").get_by_role("link", name=name).click()


def journey(web: WebNode, fran_link: str, fay: Callable[..., Any], *, without_webtransport: bool) -> dict[str, Any]:
    screens = Screens("websocket" if without_webtransport else "webtransport")
    problems: list[str] = []
    out: dict[str, Any] = {}
    with chromium(web) as browser:
        fran_ctx, fran = person(browser, problems, laptop=True, without_webtransport=without_webtransport)
        ana_ctx, ana = person(browser, problems, without_webtransport=without_webtransport)
        ben_ctx, ben = person(browser, problems, without_webtransport=without_webtransport)
        cat_ctx, cat = person(browser, problems, without_webtransport=without_webtransport)
        # Joining by link: Fran by Fay's; the phones by the one Fran's page makes; each sees its
        # recovery key once.
        join(fran, fran_link, "fran's long passphrase", None)
        tool(fran, "Invite someone")
        fran.get_by_label("How many people may use it").fill("3")
        fran.get_by_role("button", name="Make an invite").click()
        fran.get_by_role("heading", name="Your invite is ready").wait_for()
        link = fran.get_by_role("textbox", name="Invite link").input_value()
        out["link"] = link
        fran.get_by_role("link", name="Back to the conversation").click()
        words = join(ana, link, "ana's long passphrase", screens)
        join(ben, link, "ben's long passphrase", None)
        join(cat, link, "cat's long passphrase", None)
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
        # Fran reads the check-in and the report on her screens.
        out["ben_label"] = message(fran, "Content warning: loss").locator("strong").inner_text()
        tool(fran, "Check-ins")
        checkin = fran.locator("#checkins li").first
        checkin.get_by_text("Low mood (2 of 5)").wait_for()
        out["checkin"] = checkin.inner_text()
        tool(fran, "Reports (1 open)")
        card = fran.locator("#reports li").first
        card.get_by_text("this worried me").wait_for()
        out["report"] = card.inner_text()
        reporter = card.locator("strong").first.inner_text()  # who reported: Cat
        out["reporter"] = reporter
        # Removal: Fran removes the member who reported, asked first, with a note and a reason; Cat
        # reads the note and nothing new, and has no message box or "Reply" left.
        tool(fran, "Members")
        fran.get_by_role("button", name=f"Remove {reporter}", exact=True).click()
        fran.get_by_label(f"A kind note for {reporter} (optional)").fill(NOTE)
        fran.get_by_label("The reason, for the facilitators (optional)").fill(REASON)
        screens.check(fran, "remove-with-note", LAPTOP["width"])
        fran.get_by_role("button", name=f"Yes, remove {reporter}").click()
        fran.get_by_text(f"{reporter} was removed.").wait_for()
        fran.get_by_role("link", name="Back to the conversation").click()
        cat.get_by_text("You are no longer a member of this group.").wait_for()
        out["cat_note"] = cat.locator("#removal-note").inner_text()
        out["cat_can_write"] = [
            cat.get_by_role("button", name="Reply").count(),
            cat.get_by_label("Your message", exact=True).is_visible(),
        ]
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
        fran_link = str(InviteLink(web.web.origin, InviteToken.parse(await fay.invite(s, group, role="facilitator"))))

        async def step(name: str, *args: Any) -> None:
            assert name == "say"
            await fay.send(s, group, args[0])

        with trio.fail_after(240):
            out = await trio.to_thread.run_sync(
                lambda: journey(
                    web, fran_link, lambda *a: trio.from_thread.run(step, *a), without_webtransport=without_webtransport
                )
            )
        await fay.sync(s, group)

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
    # Fran's link: at the node's web origin, for this group
    assert out["link"].startswith(web.web.origin + "/join#hsinvite:")
    assert InviteLink.parse(out["link"]).token.group_id == group.group_id
    # Fran read the check-in (Ben's, its low mood flagged) and the report (Ben's words, Cat's reason)
    assert out["ben_label"] in out["checkin"] and "Mood: 2 of 5" in out["checkin"], out["checkin"]
    assert "this worried me" in out["report"] and out["ben_label"] in out["report"], out["report"]
    # the group as the reference implementation reads it: the check-in and the report were sealed
    # to the facilitators; the member removed is the one who reported, its reason opens for Fay
    checkins = [m for m in group.messages if isinstance(m.content, CheckIn)]
    reports = [m for m in group.messages if isinstance(m.content, Report)]
    assert [m.content.mood for m in checkins] == [2] and [label(m.author) for m in checkins] == [out["ben_label"]]
    assert [m.content.reason for m in reports] == ["this worried me"]
    cat_key = reports[0].author
    assert label(cat_key) == out["reporter"] and cat_key not in group.state.members
    assert any(isinstance(m.content, Text) and m.content.body == ANA for m in group.messages)
    assert list(removal_reasons(group).values()) == [REASON]
    # the removed member reads the note sealed to it, cannot write, and read nothing new
    assert NOTE in out["cat_note"] and "only you can read it" in out["cat_note"]
    assert out["cat_can_write"] == [0, False]
    assert out["cat_read_after"] == []
    assert out["left_after_clearing"] == [0, 0, 0]  # no database, cache or service worker was left
    assert out["restored_mine"] == "You"  # the restored identity is the same member
