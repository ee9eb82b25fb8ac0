"""Several groups in one browser, and starting a group there (issue 18 part 7), in Debian's Chromium at
a phone's size. A newcomer starts a group on the node that serves the page (a passphrase, then the
group's name and description: genesis, first epoch and profile as the Python client makes them) and
makes an invite there; a Python client joins by that very link and writes, and the page shows it. A
group made with the Python client library is joined by pasting its link on "Your groups" while the
page is unlocked; switching between the two shows each one's messages only. axe-core finds no
violation on the new screens, and none scrolls sideways at 390 px wide with the text at 200 %. A node
whose operator lets nobody start groups refuses the next one: the page says so in words, with the
code behind "Details", and no group is left behind."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import trio
from playwright.sync_api import Page, expect, sync_playwright

from holdspace.clients.participant import Participant
from holdspace.node.admission import Policy
from holdspace.protocol import kinds
from holdspace.protocol.address import InviteLink, InviteToken
from holdspace.protocol.content import Text
from tests.app.conftest import CHROMIUM_ARGS, chromium_or_skip
from tests.app.test_browser import PHONE
from tests.node.conftest import session
from tests.web.test_browser_facilitator import check_screen
from tests.web.test_browser_transport import spki_hash
from tests.web.web_node import WebNode, collect_errors, web_node

PASS = "a lantern by the window"
FROM_PAT = "Hello from a Python client"
WELCOME = "Welcome, Pat"


def open_group(page: Page, name: str) -> None:
    """From a group's page: back to "Your groups", then the group named ``name``."""
    page.get_by_role("navigation", name="This group").get_by_role("button", name="Your groups").click()
    page.get_by_role("heading", name="Your groups", exact=True).wait_for()
    page.locator("#groups").get_by_role("button", name=name).click()
    page.get_by_role("heading", name="Your group", exact=True).wait_for()


def journey(web: WebNode, thursday: str, py: Callable[..., Any]) -> dict[str, Any]:
    """The browser's side; ``py(name, *args)`` runs one of the Python clients' steps on the test's loop."""
    args = [a for a in CHROMIUM_ARGS if a != "--disable-quic"]
    args.append(f"--ignore-certificate-errors-spki-list={spki_hash(web.certfile)}")
    problems: list[str] = []
    reports: list[str] = []
    out: dict[str, Any] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_or_skip(), headless=True, args=args)
        try:
            page = browser.new_context(viewport=PHONE, ignore_https_errors=True).new_page()
            page.set_default_timeout(20_000)
            collect_errors(page, problems)
            # 1. A newcomer starts a group: a passphrase, the group's name and description
            page.goto(web.web.origin + "/")
            page.get_by_role("button", name="Start a new group instead").click()
            page.get_by_label("Passphrase", exact=True).fill(PASS)
            page.get_by_label("Type it again").fill(PASS)
            page.get_by_role("button", name="Continue").click()
            page.get_by_role("heading", name="Start a group").wait_for(timeout=30_000)
            check_screen(page, reports, "groups-start")
            page.get_by_label("The group's name").fill("Evening circle")
            page.get_by_label("What the group is for (optional)").fill("A quiet place to talk after work")
            page.get_by_role("button", name="Start the group").click()
            page.get_by_role("heading", name="Your recovery key").wait_for(timeout=30_000)  # a new identity's
            page.get_by_role("button", name="I have written them down").click()
            out["hint"] = page.locator("#started-hint").inner_text(timeout=30_000)
            expect(page.locator("#group-name")).to_have_text("Evening circle")  # the profile published, read
            out["evening_name"] = page.locator("#group-name").inner_text()
            # 2. An invite; a Python client joins by its link and writes
            page.get_by_role("navigation", name="Facilitator tools").get_by_role("link", name="Invite someone").click()
            page.get_by_role("button", name="Make an invite").click()
            made = page.get_by_role("textbox", name="Invite link").input_value()
            out["made"] = made
            py("pat_joins", made)  # the Python client joins the browser's group by the browser's link
            page.get_by_role("link", name="Back to the conversation").click()
            page.get_by_label("Your message", exact=True).fill(WELCOME)
            page.get_by_role("button", name="Send", exact=True).click()  # shares the keys with Pat first
            expect(page.locator('[aria-label="Waiting to be sent"] li')).to_have_count(0, timeout=30_000)
            py("pat_says", FROM_PAT)
            page.locator("#messages li", has_text=FROM_PAT).wait_for(timeout=30_000)
            # 3. A second group, by pasting its link on "Your groups" while unlocked
            page.get_by_role("navigation", name="This group").get_by_role("button", name="Your groups").click()
            page.get_by_role("heading", name="Your groups", exact=True).wait_for()
            out["list1"] = page.locator("#groups li").all_inner_texts()
            check_screen(page, reports, "groups-list")
            page.get_by_label("Invite link").fill(thursday)
            page.get_by_role("button", name="Join", exact=True).click()
            page.get_by_role("heading", name="Your group", exact=True).wait_for(timeout=30_000)
            py("fay_says", "Welcome to Thursday")  # the founder's rekey lets the newcomer read
            page.locator("#messages li", has_text="Welcome to Thursday").wait_for(timeout=30_000)
            out["thursday"] = page.locator("#messages li").all_inner_texts()
            # 4. Switching: each group shows its own messages only
            page.get_by_role("navigation", name="This group").get_by_role("button", name="Your groups").click()
            page.get_by_role("heading", name="Your groups", exact=True).wait_for()
            out["list2"] = page.locator("#groups li").all_inner_texts()
            page.locator("#groups").get_by_role("button", name="Evening circle").click()
            page.locator("#messages li", has_text=FROM_PAT).wait_for(timeout=30_000)
            out["evening"] = page.locator("#messages li").all_inner_texts()
            py("fay_says", "Later on Thursday")  # written while another group is open
            page.wait_for_timeout(500)
            out["evening_after"] = page.locator("#messages li").all_inner_texts()
            open_group(page, "Thursday circle")
            page.locator("#messages li", has_text="Later on Thursday").wait_for(timeout=30_000)
            # 5. A node whose operator lets nobody start groups (its version-3 hello says so): said in
            # plain words before anything is typed, with the operator's contact as a link
            py("close_node")
            page.get_by_role("navigation", name="This group").get_by_role("button", name="Your groups").click()
            page.get_by_role("button", name="Start a group").click()
            closed = page.locator("[data-role=closed]")
            closed.wait_for(timeout=30_000)
            out["refusal"] = closed.inner_text()
            out["contact"] = page.locator("[data-role=operator-contact] a").get_attribute("href")
            out["name_fields"] = page.get_by_label("The group's name").count()
            page.get_by_role("button", name="Back to your groups").click()
            expect(page.locator("#groups li")).to_have_count(2)
            out["list3"] = page.locator("#groups li").all_inner_texts()
        finally:
            browser.close()
    assert not problems, problems
    out["reports"] = reports
    return out


async def test_a_person_starts_a_group_in_the_browser_a_python_client_joins_it_and_switches_between_groups(
    tmp_path: Path, bundle: Path
) -> None:
    chromium_or_skip()
    async with web_node(tmp_path, bundle) as web, session(web.address) as s, session(web.address) as s2:
        fay = Participant.create(tmp_path / "fay", "pass fay", web.address)
        thursday = await fay.create_group(s, "Thursday circle")
        link = str(InviteLink(web.web.origin, InviteToken.parse(await fay.invite(s, thursday))))
        pat = Participant.create(tmp_path / "pat", "pass pat", web.address)
        joined: list[Any] = []

        async def step(name: str, *args: Any) -> Any:
            if name == "pat_joins":
                joined.append(await pat.join(s2, InviteLink.parse(args[0]).token))
            elif name == "pat_says":
                await pat.sync(s2, joined[0])
                await pat.send(s2, joined[0], args[0])
            elif name == "close_node":
                web.node.core.policy = Policy(create="closed", contact="mailto:abuse@example.org")
            elif name == "fay_says":
                await fay.send(s, thursday, args[0])
            return None

        with trio.fail_after(180):
            out = await trio.to_thread.run_sync(lambda: journey(web, link, lambda *a: trio.from_thread.run(step, *a)))
        await pat.sync(s2, joined[0])
        state = joined[0].state
        read = [m.content.body for m in joined[0].messages if isinstance(m.content, Text)]

    assert not out["reports"], "\n".join(out["reports"])
    assert "you are its facilitator" in out["hint"] and "Invite someone" in out["hint"]
    # the browser's group, as the Python client reads it: a genesis whose creator is a facilitator
    made = InviteLink.parse(out["made"])
    assert made.token.group_id == joined[0].group_id
    assert made.token.name == joined[0].name == "Evening circle"  # the invite carries the group's name
    genesis = joined[0].genesis
    assert genesis is not None and genesis.kind == kinds.GENESIS and genesis.entry_id == made.token.group_id
    creator = genesis.author
    assert state.role_of(creator) == "facilitator"
    assert state.role_of(pat.pseudonym(joined[0]).public_key) == "member"
    assert WELCOME in read  # sealed by the browser to the new epoch Pat holds
    # the list: the name each group is known by, the one opened last first
    assert out["list1"] == ["Evening circle"]
    assert out["list2"] == ["Thursday circle", "Evening circle"]
    # each group shows its own messages only
    assert any("Welcome to Thursday" in m for m in out["thursday"])
    assert not any(FROM_PAT in m or WELCOME in m for m in out["thursday"])
    assert any(FROM_PAT in m for m in out["evening"]) and any(WELCOME in m for m in out["evening"])
    assert not any("Thursday" in m for m in out["evening_after"])
    # a closed node: the reason in words and the operator's contact, no form, and no group left behind
    assert "does not let anyone start new groups" in out["refusal"]
    assert out["contact"] == "mailto:abuse@example.org"
    assert out["name_fields"] == 0
    assert out["list3"] == ["Thursday circle", "Evening circle"]
    assert out["evening_name"] == "Evening circle"  # the profile the browser published
