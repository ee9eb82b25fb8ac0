"""The participant's app in a real browser (Debian's Chromium, driven by Playwright) against a real
node over QUIC: a facilitator and two participants hold a conversation with a content warning, a
reaction, a check-in during a session, a report and a removal; the crisis check fires; a message
written while the node is down waits in the outbox and arrives once it is back.

Every page visited is checked with axe-core (WCAG 2.0/2.1/2.2 A and AA rules, plus best practices);
screenshots of the main screens are written to ``artifacts/screenshots`` (the README shows them).
"""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect, sync_playwright

from holdspace.clients.app.launch import OPEN_FILE
from tests.app.conftest import ARTIFACTS, CHROMIUM_ARGS, App, Node, chromium_or_skip, start_app
from tests.cli.test_cli import run

PASSPHRASE = "a quiet harbour at dawn"
LIVE = 30_000  # ms: how long a live update may take to reach another person's page
AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
    },
    "resultTypes": ["violations"],
}
PHONE = {"width": 390, "height": 844}
expect.set_options(timeout=15_000)  # a slow CI machine: each step may take longer than the default 5 s
LAPTOP = {"width": 1100, "height": 900}


class Person:
    """One participant: their own app process and their own browser context."""

    axe = Axe()

    def __init__(
        self, name: str, app: App, browser: Browser, viewport: dict[str, int], *, scheme: str = "light"
    ) -> None:
        self.name = name
        self.app = app
        self.context = browser.new_context(
            viewport=viewport,
            timezone_id="UTC",
            locale="en-GB",
            color_scheme=scheme,  # type: ignore[arg-type]
        )
        self.page: Page = self.context.new_page()
        self.checked: set[str] = set()

    def enter(self, *, as_launched: bool = False) -> None:
        """Follow the launch link; its page moves on to the app's first page by itself. With
        ``as_launched``, open what ``holdspace app`` hands the browser: a local file that forwards."""
        self.page.goto((self.app.home / OPEN_FILE).as_uri() if as_launched else self.app.link)
        self.page.wait_for_url(self.app.base + "/")

    def check(self, what: str) -> None:
        """axe-core on the page as it is now (once its stylesheet is in); any violation fails the test."""
        self.page.wait_for_load_state("load")
        results = self.axe.run(self.page, options=AXE_OPTIONS)
        assert results.violations_count == 0, f"{what}: {results.generate_report()}"
        self.checked.add(what)

    def shot(self, name: str, *, full: bool = True) -> None:
        folder = ARTIFACTS / "screenshots"
        folder.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(folder / f"{name}.png"), full_page=full)

    def create_identity(self, node: str | None = None) -> None:
        page = self.page
        expect(page.get_by_role("heading", name="Welcome to Holdspace")).to_be_visible()
        page.get_by_label("Passphrase", exact=True).fill(PASSPHRASE)
        page.get_by_label("The same passphrase again").fill(PASSPHRASE)
        if node is not None:
            page.get_by_label("Your community's address").fill(node)
        page.get_by_role("button", name="Create my identity").click()
        expect(page.get_by_role("heading", name="Your groups")).to_be_visible()

    def open_group(self, name: str) -> None:
        self.page.get_by_role("link", name="Your groups").click()
        self.page.get_by_role("link", name=re.compile(name)).click()
        expect(self.page.get_by_role("heading", name=name, level=1)).to_be_visible()

    def nav(self, name: str) -> None:
        self.page.get_by_role("navigation", name=re.compile(".")).get_by_role("link", name=name).click()

    def send(self, text: str, *, warning: str | None = None) -> None:
        page = self.page
        if warning is not None:
            page.locator("#composer summary").click()
            page.get_by_label("Content warning (optional)").fill(warning)
        page.get_by_label("Your message").fill(text)
        page.get_by_role("button", name="Send").click()

    def message(self, text: str) -> object:
        return self.page.locator("#messages li.message", has_text=text)


def test_a_support_group_in_the_browser(node: Node, apps: list[App], tmp_path: Path) -> None:
    executable = chromium_or_skip()
    for name in ("fay", "ana"):
        apps.append(start_app(tmp_path / name, "--node", node.address))
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)

        def open_with_invite(token: str) -> Person:
            """Ben opens the app with nothing but the invite (``holdspace app INVITE``)."""
            apps.append(start_app(tmp_path / "ben", token))
            return Person("Ben", apps[-1], browser, PHONE, scheme="dark")  # axe checks the dark colours too

        try:
            fay = Person("Fay", apps[0], browser, LAPTOP)
            ana = Person("Ana", apps[1], browser, PHONE)
            _conversation(fay, ana, open_with_invite, node)
        finally:
            browser.close()


def _conversation(fay: Person, ana: Person, open_with_invite: Callable[[str], Person], node: Node) -> None:
    # --- without the launch link, the page only explains how to open the app -----------------
    fay.page.goto(fay.app.origin + "/")
    expect(fay.page.get_by_role("heading", name="Open Holdspace from its link")).to_be_visible()
    fay.check("gate")
    fay.page.get_by_role("link", name="Need help now?").click()  # help needs no unlocking
    expect(fay.page.get_by_text("findahelpline.com")).to_be_visible()
    fay.check("help, before opening the app")

    # --- Fay, the facilitator, creates her identity and the group ---------------------------
    fay.enter()
    fay.check("welcome")
    fay.shot("01-welcome")
    fay.create_identity()  # the node address was given on the command line
    fay.check("home, no groups")
    fay.page.get_by_text("Start a new group").click()
    fay.page.get_by_label("Group name").fill("Tuesday circle")
    fay.page.get_by_role("button", name="Start the group").click()
    expect(fay.page.get_by_role("heading", name="Tuesday circle")).to_be_visible()
    fay.check("conversation, empty")

    fay.nav("Moderation")
    fay.page.get_by_label("Helplines and what to do now").fill(
        "Samaritans (UK and Ireland): call 116 123, any time.\nIn danger now: call 999 or 112."
    )
    fay.page.get_by_role("button", name="Pin for everyone").click()
    expect(fay.page.get_by_text("The crisis resources are pinned")).to_be_visible()
    fay.check("moderation, empty")

    fay.nav("Members")
    fay.page.get_by_label("How many people may use it").fill("2")
    fay.page.get_by_role("button", name="Make an invite").click()
    token = fay.page.get_by_label("Invite", exact=True).input_value()
    assert token.startswith("hsinvite:")
    fay.check("members, invite made")
    fay.shot("02-invite")

    # --- the group's guidelines, which every member will read ---------------------------------------
    fay.nav("About")
    fay.page.get_by_text("Rename the group, or edit its description and guidelines").click()
    fay.page.get_by_label("Guidelines (optional)").fill("What is said here stays here.")
    fay.page.get_by_role("button", name="Save for everyone").click()

    def guidelines_shown() -> bool:
        fay.page.reload()
        return fay.page.get_by_role("heading", name="Guidelines").is_visible()

    _eventually(guidelines_shown)
    fay.check("about, the facilitator's view")
    fay.nav("Members")

    # --- Ana pastes the invite; Ben opened the app with it, so his page already holds it ----------------
    ben = open_with_invite(token)
    for person in (ana, ben):
        person.enter(as_launched=person is ana)
        if person is ben:  # the invite says where it leads before a passphrase is chosen
            expect(person.page.locator(".invited")).to_contain_text("You're invited to Tuesday circle")
        person.create_identity()
        if person is ana:
            person.page.get_by_label("Invite", exact=True).fill(token)
        else:
            expect(person.page.get_by_label("Invite", exact=True)).to_have_value(token)
        person.page.get_by_label("What to call this group on your device (optional)").fill("Tuesday circle")
        person.page.get_by_role("button", name="Join").click()
        expect(person.page.get_by_role("heading", name="Tuesday circle")).to_be_visible()
    ana.check("conversation, just joined")

    # Fay's app sees them join (her members list updates live) and shares the group's keys with them
    # by itself; then her words reach their pages live.
    expect(fay.page.locator("li.member")).to_have_count(3, timeout=LIVE)
    fay.nav("Conversation")
    fay.send("Welcome, both of you. Share only what feels right.")
    expect(ana.message("Welcome, both of you")).to_be_visible(timeout=LIVE)
    expect(ben.message("Welcome, both of you")).to_be_visible(timeout=LIVE)

    # --- a content warning, opened deliberately -------------------------------------------------
    ana.send("My dad died last spring and the evenings are the hardest.", warning="loss")
    hidden = ben.message("Content warning: loss")
    expect(hidden).to_be_visible(timeout=LIVE)
    expect(ben.page.get_by_text("the evenings are the hardest")).to_be_hidden()
    assert "the evenings are the hardest" not in ben.page.content()  # not in the page: find-in-page finds nothing
    ben.check("conversation, content warning closed")
    ben.shot("03-content-warning")
    ana_label = fay.message("Content warning: loss").locator(".author").inner_text()
    hidden.get_by_role("button", name="Show the message").click()
    expect(ben.page.get_by_text("the evenings are the hardest")).to_be_visible()
    ben.check("conversation, content warning opened")

    # --- a reaction ---------------------------------------------------------------------------------
    hidden.locator("details.respond > summary").click()
    hidden.get_by_role("button", name="Hug").click()
    expect(ana.message("Content warning: loss").get_by_text("Hug 1")).to_be_visible(timeout=LIVE)

    # --- a session running now, a check-in shared with the facilitators only --------------------------
    fay.nav("Sessions")
    fay.check("sessions, none")
    fay.page.get_by_text("Schedule a session").click()
    now = datetime.now(UTC)
    fay.page.get_by_label("Title").fill("Evening circle")
    fay.page.get_by_label("Date").fill(now.strftime("%Y-%m-%d"))
    fay.page.get_by_label("Start time").fill(now.strftime("%H:%M"))
    fay.page.get_by_label("Length in minutes").fill("90")
    fay.page.get_by_role("button", name="Schedule").click()
    expect(fay.page.get_by_text("Evening circle is scheduled")).to_be_visible()

    ana.page.reload()
    ana.page.locator("#checkin summary").click()
    ana.page.get_by_label("2 · low").check()
    ana.page.get_by_label("One word for how you are (optional)").fill("tired")
    ana.page.get_by_label("Share only with the facilitators").check()
    ana.page.get_by_role("button", name="Check in").click()
    expect(ana.page.get_by_text("Thank you for checking in")).to_be_visible()
    ana.nav("Sessions")
    expect(ana.page.get_by_text("Evening circle")).to_be_visible(timeout=LIVE)
    ana.page.get_by_role("button", name="Yes").click()
    expect(ana.page.get_by_text("You said yes")).to_be_visible(timeout=LIVE)
    ana.check("sessions, member")
    ana.shot("04-sessions")

    def facilitator_sees_checkin() -> bool:
        fay.page.reload()
        fay.page.get_by_text("Facilitate").first.click()
        return fay.page.get_by_text("1 check-in; average mood 2.0").is_visible()

    _eventually(facilitator_sees_checkin)
    expect(fay.page.get_by_text("Words: tired")).to_be_visible()
    fay.check("sessions, facilitator")
    fay.page.get_by_label("Give the talking piece to").select_option(label=ana_label)
    fay.page.get_by_role("button", name="Pass the talking piece").click()
    expect(ana.page.locator("li.session", has_text="Talking piece: You.")).to_be_visible(timeout=LIVE)
    _reflows(ana)

    # --- a verified professional: the community's node vouches for Ana, the group trusts the node --------------
    fay.nav("Moderation")
    fay.page.get_by_label("Issuer to trust (hsn1… or hsp1…)").fill(node.address.split("//")[1].split("@")[0])
    fay.page.get_by_role("button", name="Trust this issuer").click()
    expect(fay.page.get_by_text("Credentials from that issuer are now trusted")).to_be_visible()
    ana.nav("Members")
    ana.page.get_by_text("Share a professional credential").click()
    ana.page.get_by_text("What to give the organisation").click()  # the key stays behind a "Details"
    ana_id = ana.page.locator("details.detail code").first.inner_text()
    attestation = run(
        "node", "credential", str(node.directory), "--subject", ana_id, "--role", "licensed counsellor"
    ).stdout.strip()
    ana.page.get_by_label("Your credential").fill(attestation)
    ana.page.get_by_role("button", name="Share it with the group").click()
    ben.nav("Members")
    expect(ben.page.get_by_text("Verified licensed counsellor")).to_be_visible(timeout=LIVE)
    ben.check("members, a verified professional (dark scheme)")
    ben.shot("11-verified-badge")
    ben.nav("Conversation")

    # --- a hurtful message, reported by Ana, checked by Fay ---------------------------------------------
    ana.nav("Conversation")
    ben.send("Honestly you are all pathetic.")
    unkind = ana.message("you are all pathetic")
    expect(unkind).to_be_visible(timeout=LIVE)
    unkind.locator("details.respond > summary").click()
    unkind.get_by_role("link", name="Report").click()
    expect(ana.page.get_by_role("heading", name="Report a message")).to_be_visible()
    ana.check("report")
    ana.page.get_by_label("What is wrong (optional)").fill("This is hurtful.")
    ana.page.get_by_role("button", name="Send the report").click()
    expect(ana.page.get_by_text("Reported to 1 person who looks after this group")).to_be_visible()

    fay.nav("Moderation")

    def report_arrived() -> bool:
        fay.page.reload()
        return fay.page.get_by_text("This is hurtful.").is_visible()

    _eventually(report_arrived)
    expect(fay.page.get_by_text("signed exactly these words")).to_be_visible()
    expect(fay.page.locator("blockquote", has_text="Honestly you are all pathetic.")).to_be_visible()
    fay.check("moderation, a verified report")
    fay.shot("05-report")

    # --- Fay removes Ben; the conversation goes on without him ---------------------------------------------
    fay.nav("Conversation")
    ben_label = fay.message("you are all pathetic").locator(".author").inner_text()
    assert re.fullmatch(r"[a-z]+ [a-z]+ [a-z]+ [a-z]+", ben_label)  # four words: 44 bits, not 5 digits
    fay.nav("Members")
    ben_row = fay.page.locator("li.member", has_text=ben_label)
    # First a mute for an hour: Ben reads, is offered no composer, and writes to the facilitators privately.
    ben_row.locator("summary", has_text="Mute for a while").click()
    ben_row.get_by_role("button", name=f"Mute {ben_label}").click()
    expect(fay.page.get_by_text(f"{ben_label} is muted until")).to_be_visible()
    fay.check("members, a member muted")

    def muted_shown() -> bool:
        ben.page.reload()
        return ben.page.get_by_text("You are muted until").is_visible()

    _eventually(muted_shown)
    expect(ben.page.locator("#composer")).to_have_count(0)
    ben.check("conversation, muted")
    ben.page.get_by_role("link", name="message the facilitators privately").first.click()
    ben.page.get_by_label("Message the facilitators privately").fill("Sorry. Can we talk?")
    ben.page.get_by_role("button", name="Send to the facilitators").click()
    expect(ben.page.get_by_text("Sent privately to the facilitators")).to_be_visible()
    ben.check("private line, a member's view")
    fay.nav("Private")

    def private_arrived() -> bool:
        fay.page.reload()
        return fay.page.get_by_text("Sorry. Can we talk?").is_visible()

    _eventually(private_arrived)
    fay.check("private lines, the facilitator's view")
    fay.nav("Members")
    ben_row = fay.page.locator("li.member", has_text=ben_label)
    ben_row.locator("summary", has_text="Remove").click()
    ben_row.get_by_label(f"A kind note for {ben_label} (optional)").fill("Take care. The helpline is open all night.")
    ben_row.get_by_role("button", name=f"Remove {ben_label}", exact=True).click()
    expect(fay.page.get_by_text(f"{ben_label} was removed")).to_be_visible()
    fay.nav("Conversation")
    fay.send("We carry on together.")
    expect(ana.message("We carry on together.")).to_be_visible(timeout=LIVE)
    ben.nav("Conversation")
    ben.page.reload()
    expect(ben.page.get_by_role("heading", name="You were removed from this group")).to_be_visible(timeout=LIVE)
    expect(ben.page.get_by_text("Take care. The helpline is open all night.")).to_be_visible()
    expect(ben.page.get_by_text("We carry on together.")).to_have_count(0)
    # Ben is told, and is offered no composer: nothing he types could be sent.
    expect(ben.page.locator("#composer")).to_have_count(0)
    ben.check("conversation, removed")

    # --- the crisis check fires on Ana's device, and help is one tap away ---------------------------------------
    ana.send("Some nights I want to die.")
    expect(ana.page.get_by_role("heading", name="You are not alone")).to_be_visible()
    # Fay's device runs the same check on what she reads: the facilitator's note appears on her page by
    # itself, pointing to Ana's message and offering to reach out privately.
    expect(fay.page.get_by_role("heading", name=re.compile("may be struggling"))).to_be_visible(timeout=LIVE)
    expect(fay.page.get_by_role("button", name="Reach out privately")).to_be_visible()
    ana.check("conversation, crisis note")
    ana.shot("06-crisis-note")
    ana.page.get_by_role("link", name="Need help now?").click()
    expect(ana.page.get_by_text("Samaritans (UK and Ireland): call 116 123")).to_be_visible()
    expect(ana.page.get_by_role("link", name="116 123")).to_have_attribute("href", "tel:116123")  # one tap calls
    expect(ana.page.get_by_role("link", name="https://findahelpline.com")).to_be_visible()
    expect(ana.page.get_by_text("nobody else was told")).to_have_count(0)  # she opened it herself
    ana.check("help")
    ana.shot("07-help")
    _help_fits_at_200_percent(ana)
    ana.page.get_by_role("link", name="Back to Tuesday circle").click()
    expect(ana.page.get_by_role("heading", name="Tuesday circle")).to_be_visible()

    # --- offline: written while the node is down, sent when it is back ---------------------------------------------
    ana.open_group("Tuesday circle")
    node.stop()
    offline = re.compile(r"Offline \([a-z_.]+\)\. What you write is kept safely")  # with the reason
    expect(ana.page.get_by_text(offline)).to_be_visible(timeout=60_000)
    ana.send("Is anyone still here?")
    expect(ana.message("Is anyone still here?").get_by_text("waiting to be sent")).to_be_visible()
    ana.check("conversation, offline with a message waiting")
    ana.shot("08-offline")
    node.start()
    for person in (ana, fay):  # no need to wait for the next automatic attempt (at most 30 s away)
        person.page.reload()
        if person.page.get_by_role("button", name="Try to connect now").is_visible():
            person.page.get_by_role("button", name="Try to connect now").click()
    expect(fay.message("Is anyone still here?")).to_be_visible(timeout=60_000)
    expect(ana.page.get_by_text("waiting to be sent")).to_have_count(0, timeout=LIVE)
    fay.shot("09-conversation")

    # --- keyboard only: open a warned message and answer, without a pointer ----------------------------------
    ana.page.reload()
    _tab_to(ana.page, "button", "Show the message")
    with ana.page.expect_navigation():
        ana.page.keyboard.press("Enter")
    expect(ana.page.get_by_text("the evenings are the hardest")).to_be_visible()
    _tab_to(ana.page, "textarea", "")
    ana.page.keyboard.type("Typed without a mouse.")
    _tab_to(ana.page, "button", "Send")
    with ana.page.expect_navigation():  # the form's answer: the next goto must not race it
        ana.page.keyboard.press("Enter")
    expect(fay.message("Typed without a mouse.")).to_be_visible(timeout=LIVE)

    # --- the remaining pages, for the accessibility check ------------------------------------------------------
    for path, what in (("/settings", "settings"), ("/join", "join")):
        ana.page.goto(ana.app.base + path)
        ana.check(what)
    ana.open_group("Tuesday circle")
    ana.nav("Your words")
    ana.check("erase or leave")
    ana.page.get_by_role("button", name="Lock").click()
    expect(ana.page.get_by_role("heading", name="Welcome back")).to_be_visible()
    ana.check("unlock")
    ana.page.get_by_label("Your passphrase").fill(PASSPHRASE)
    ana.page.get_by_role("button", name="Unlock").click()
    expect(ana.page.get_by_role("heading", name="Your groups")).to_be_visible()
    ana.check("home, in a group")
    ana.shot("10-home")

    # --- closing the app: open pages say so themselves (with help), never a browser error --------------------
    ana.open_group("Tuesday circle")
    ana.app.stop()  # Ctrl-C or SIGTERM: the app tells its pages as it closes
    expect(ana.page.get_by_role("heading", name="Holdspace is closed")).to_be_visible()
    expect(ana.page.get_by_role("link", name="112")).to_have_attribute("href", "tel:112")
    assert "Typed without a mouse" not in ana.page.content()  # no words of the conversation are left
    ana.check("closed")
    fay.app.stop(signal.SIGKILL)  # an app that could not say goodbye: the page notices by itself
    expect(fay.page.get_by_role("heading", name="Holdspace is closed")).to_be_visible()


def _help_fits_at_200_percent(person: Person) -> None:
    """On a phone at 200% text, "Need help now?" fits on screen and stays there while the page scrolls."""
    page = person.page
    page.set_viewport_size({"width": 390, "height": 844})
    page.evaluate("document.documentElement.style.fontSize = '212.5%'")  # 200% of the page's own size
    try:
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        box = page.get_by_role("link", name="Need help now?").bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390 and 0 <= box["y"] < 844
    finally:
        page.evaluate("document.documentElement.style.fontSize = ''")
        page.set_viewport_size(PHONE)


def _reflows(person: Person) -> None:
    """WCAG 1.4.10: at 320 CSS pixels wide (a phone at 400 % zoom) nothing scrolls sideways."""
    page = person.page
    page.set_viewport_size({"width": 320, "height": 640})
    for part in ("", "/sessions", "/members"):
        page.goto(page.url.split("/g/")[0] + "/g/" + page.url.split("/g/")[1].split("/")[0] + part)
        assert page.evaluate("document.documentElement.scrollWidth") <= 320, part or "conversation"
    page.set_viewport_size(PHONE)


def _tab_to(page: Page, tag: str, text: str, limit: int = 80) -> None:
    """Press Tab until the focused element is a ``tag`` whose text starts with ``text``."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate("[document.activeElement.tagName, document.activeElement.innerText || '']")
        if focused[0].lower() == tag and focused[1].strip().startswith(text):
            return
    pytest.fail(f"Tab never reached a {tag} starting {text!r}")


def _eventually(condition: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.5)
    pytest.fail(f"{getattr(condition, '__name__', 'condition')} did not hold within {timeout} s")
