"""The browser at parity with the local app (issue 18 part 7, issue 19 points 4 and 5), in Debian's
Chromium at a phone's size: a facilitator's page and a member's phone in a group a Python founder
made. The facilitator names itself, edits the group's profile and pins crisis resources (the phone's
"Need help now?" then shows them); the phone takes the facilitator's name and both are shown with
their words in brackets and a warning, the role tag on the facilitator only; the phone replies
(quoted), corrects its message (shown "edited" on the other page), removes it for everyone after a
question in plain words, erases its words and leaves, each asked first; the facilitator locks the
page and opens it again with the passphrase. axe-core finds no violation on any new screen, and none
scrolls sideways at 390 px wide with the text at 200 %."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import trio
from playwright.sync_api import BrowserContext, Page, expect, sync_playwright

from holdspace.clients.participant import Participant
from holdspace.protocol.address import InviteLink, InviteToken
from holdspace.protocol.content import Text
from holdspace.protocol.labels import label
from tests.app.conftest import CHROMIUM_ARGS, chromium_or_skip
from tests.app.test_browser import PHONE
from tests.node.conftest import session
from tests.web.test_browser_facilitator import PSEUDONYM, check_screen
from tests.web.test_browser_transport import spki_hash
from tests.web.web_node import WebNode, collect_errors, web_node

FAC_PASS = "lanterns over the quiet bay"
PHONE_PASS = "a quiet harbour at dawn"
RESOURCES = "Samaritans: 116 123"


def join(context: BrowserContext, link: str, passphrase: str, problems: list[str]) -> Page:
    page = context.new_page()
    page.set_default_timeout(30_000)
    collect_errors(page, problems)
    page.goto(link)
    page.get_by_role("button", name="Join this group").click()
    page.get_by_label("Passphrase", exact=True).fill(passphrase)
    page.get_by_label("Type it again").fill(passphrase)
    page.get_by_role("button", name="Join the group").click()
    page.get_by_role("heading", name="Your recovery key").wait_for(timeout=40_000)
    page.get_by_role("button", name="I have written them down").click()
    page.get_by_role("heading", name="Your group").wait_for()
    return page


def open_screen(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="This group").get_by_role("button", name=name).click()
    page.get_by_role("heading", name=name, level=1).wait_for()


def back(page: Page) -> None:
    page.get_by_role("button", name="Back to the conversation").click()
    page.get_by_role("heading", name="Your group").wait_for()


def message(page: Page, text: str) -> Any:
    return page.locator("#messages li", has_text=text)


def journey(web: WebNode, links: dict[str, str], fay: Callable[..., Any]) -> dict[str, Any]:
    args = [a for a in CHROMIUM_ARGS if a != "--disable-quic"]
    args.append(f"--ignore-certificate-errors-spki-list={spki_hash(web.certfile)}")
    problems: list[str] = []
    reports: list[str] = []
    out: dict[str, Any] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_or_skip(), headless=True, args=args)
        try:
            laptop = browser.new_context(viewport=PHONE, ignore_https_errors=True)
            f = join(laptop, links["facilitator"], FAC_PASS, problems)
            phone_context = browser.new_context(viewport=PHONE, ignore_https_errors=True)
            p = join(phone_context, links["member"], PHONE_PASS, problems)
            fay("say", "Welcome, both of you")  # the founder's rekey gives both pages the keys
            message(f, "Welcome, both of you").wait_for()
            message(p, "Welcome, both of you").wait_for()
            out["fac"] = f.evaluate(PSEUDONYM, FAC_PASS)
            out["phone"] = p.evaluate(PSEUDONYM, PHONE_PASS)
            # 1. About the group: a name for oneself, the profile, the crisis resources
            open_screen(f, "About the group")
            f.get_by_label("Your name (optional)").fill("Robin")
            f.get_by_role("button", name="Save my name").click()
            f.get_by_text("Saved. The others see you as Robin.").wait_for()
            f.get_by_label("The group's name").fill("Thursday circle")
            f.get_by_label("What the group is about (optional)").fill("For carers, in the evening.")
            f.get_by_label("Guidelines (optional)").fill("What is said here stays here.")
            f.get_by_role("button", name="Save the profile").click()
            f.get_by_text("Saved. Every member sees the new name").wait_for()
            f.get_by_label("The group's crisis resources").fill(RESOURCES)
            f.get_by_role("button", name="Pin the resources").click()
            f.get_by_text("Pinned.").wait_for()
            check_screen(f, reports, "parity-about-facilitator")
            back(f)
            f.get_by_label("Your message", exact=True).fill("Hello, I am Robin")
            f.get_by_role("button", name="Send", exact=True).click()
            # 2. The phone reads the profile, takes the facilitator's name: both flagged
            hello = message(p, "Hello, I am Robin")
            hello.wait_for()
            open_screen(p, "About the group")
            p.get_by_role("heading", name="Thursday circle").wait_for()
            out["about"] = p.locator("#about").inner_text()
            p.get_by_label("Your name (optional)").fill("Robin")
            p.get_by_role("button", name="Save my name").click()
            p.get_by_text("Saved. The others see you as Robin.").wait_for()
            check_screen(p, reports, "parity-about-member")
            back(p)
            out["named"] = p.locator("#group-name").inner_text()
            p.get_by_role("button", name="Need help now?").click()
            p.get_by_text(RESOURCES).wait_for()
            p.get_by_role("button", name="Close").click()
            # 3. A reply, a correction, a removal for everyone
            hello.get_by_role("button", name="Reply").click()
            out["replying"] = p.locator("#replying").inner_text()
            p.get_by_label("Your message", exact=True).fill("Thank you, Robin")
            p.get_by_role("button", name="Send", exact=True).click()
            p.get_by_label("Your message", exact=True).fill("I am new here, and nervous")
            p.get_by_role("button", name="Send", exact=True).click()
            mine = message(p, "I am new here, and nervous")
            mine.wait_for()
            expect(p.locator('[aria-label="Waiting to be sent"] li')).to_have_count(0, timeout=30_000)
            p.locator("#lookalike-warning").get_by_text("look alike").wait_for()
            out["warning"] = p.locator("#lookalike-warning").inner_text()
            out["hello_author"] = hello.first.locator("strong").inner_text()
            reply = message(f, "Thank you, Robin")
            reply.wait_for()
            out["reply"] = reply.inner_text()
            out["phone_author"] = reply.locator("strong").inner_text()
            mine.get_by_role("button", name="Correct").click()
            mine.get_by_label("The corrected message").fill("I am new here")
            check_screen(p, reports, "parity-correct")
            mine.get_by_role("button", name="Save the correction").click()
            corrected = message(f, "I am new here")
            expect(corrected).to_contain_text("edited", timeout=30_000)
            out["corrected"] = corrected.inner_text()
            mine = message(p, "I am new here")
            mine.get_by_role("button", name="Remove for everyone").click()
            out["remove_question"] = mine.get_by_text("Remove this message for everyone?").inner_text()
            check_screen(p, reports, "parity-remove-confirm")
            mine.get_by_role("button", name="Yes, remove it").click()
            message(f, "I am new here").wait_for(state="detached", timeout=30_000)
            # 4. Your words: erase, then leave, each asked first
            open_screen(p, "Your words, or leaving")
            check_screen(p, reports, "parity-words")
            p.get_by_role("button", name="Erase my messages").click()
            out["erase_question"] = p.get_by_text("Erase everything you wrote in").inner_text()
            check_screen(p, reports, "parity-erase-confirm")
            p.get_by_role("button", name="Yes, erase everything I wrote").click()
            p.get_by_text("Everything you wrote in this group is erased.").wait_for()
            message(f, "Thank you, Robin").wait_for(state="detached", timeout=30_000)
            p.get_by_role("button", name="Leave the group").click()
            out["leave_question"] = p.get_by_text("You will read nothing the group writes").inner_text()
            p.get_by_role("button", name="Yes, leave the group").click()
            p.get_by_text("You left the group.").wait_for()
            back(p)
            p.get_by_text("You are no longer a member of this group.").wait_for()
            # 5. Lock: the keys are forgotten; the passphrase opens the page again
            f.get_by_role("navigation", name="This group").get_by_role("button", name="Lock").click()
            f.get_by_role("heading", name="Welcome back").wait_for()
            out["locked_text"] = f.locator("main").inner_text()
            f.get_by_label("Passphrase", exact=True).fill(FAC_PASS)
            f.get_by_role("button", name="Open").click()
            message(f, "Hello, I am Robin").first.wait_for(timeout=40_000)
        finally:
            browser.close()
    assert not problems, problems
    out["reports"] = reports
    return out


async def test_the_browser_names_people_replies_corrects_edits_the_group_and_erases_leaves_locks(
    tmp_path: Path, bundle: Path
) -> None:
    chromium_or_skip()
    async with web_node(tmp_path, bundle) as web, session(web.address) as s:
        fay = Participant.create(tmp_path / "fay", "pass fay", web.address)
        group = await fay.create_group(s, "A circle")
        links = {
            role: str(InviteLink(web.web.origin, InviteToken.parse(await fay.invite(s, group, role=role))))
            for role in ("facilitator", "member")
        }

        async def step(name: str, *args: Any) -> Any:
            if name == "say":
                await fay.send(s, group, args[0])
            return None

        with trio.fail_after(300):
            out = await trio.to_thread.run_sync(lambda: journey(web, links, lambda *a: trio.from_thread.run(step, *a)))
        await fay.sync(s, group)
        state = group.state
        texts = [m.content.body for m in group.messages if isinstance(m.content, Text)]

    assert not out["reports"], "\n".join(out["reports"])
    fac, phone = bytes.fromhex(out["fac"]), bytes.fromhex(out["phone"])
    assert out["named"] == "Thursday circle"
    assert "Thursday circle" in out["about"] and "What is said here stays here." in out["about"]
    # both named Robin: each shown with its own words, the role tag on the facilitator only
    assert out["hello_author"] == f"Robin ({label(fac)}) · facilitator"
    assert out["phone_author"] == f"Robin ({label(phone)})"
    assert "look alike" in out["warning"]
    assert out["replying"].startswith(f"Replying to Robin ({label(fac)}): Hello, I am Robin")
    assert "In reply to You: Hello, I am Robin" in out["reply"]
    assert "edited" in out["corrected"] and "nervous" not in out["corrected"]
    assert "Remove this message for everyone?" in out["remove_question"]
    assert out["erase_question"].startswith("Erase everything you wrote in Thursday circle?")
    assert "Leave Thursday circle?" in out["leave_question"]
    assert "Passphrase" in out["locked_text"] and "Hello, I am Robin" not in out["locked_text"]
    # the founder's client agrees: the phone's words are gone and it left; the facilitator's stay
    assert phone not in state.members and state.role_of(fac) == "facilitator"
    assert "Hello, I am Robin" in texts
    assert not any(t.startswith(("I am new here", "Thank you, Robin")) for t in texts)
