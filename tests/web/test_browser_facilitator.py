"""A facilitator in the browser (issue 18 part 7, issue 19 points 7 and 9), in Debian's Chromium at a
phone's size: invited as a facilitator by a founder made with the Python client library, the page
makes an invite (link and QR code); a Python client and a phone join by that very link; the phone
reports a message and checks in (told exactly who will see it); the facilitator opens the report
(verified, the author named), removes the message for everyone and resolves it, reads the check-in
with its low mood flagged in words, revokes the invite (listed with its uses), mutes the phone's
member (whose page then says until when it can only read, with no message box) and lifts the mute,
removes it, who then reads nothing new while the others do, and reads all of it in the moderation
log; then she opens the live circle (a session starting now) and closes it (the session cut at now).
axe-core finds no violation on any of the facilitator's screens, and none of them scrolls sideways at
390 px wide with the text at 200 %."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import trio
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import BrowserContext, Page, expect, sync_playwright

from holdspace.clients.participant import Participant
from holdspace.protocol.address import InviteLink, InviteToken
from holdspace.protocol.content import Text
from holdspace.protocol.labels import label
from tests.app.conftest import CHROMIUM_ARGS, chromium_or_skip
from tests.app.test_browser import AXE_OPTIONS, PHONE
from tests.node.conftest import session
from tests.web.test_browser_join import shoot
from tests.web.test_browser_transport import spki_hash
from tests.web.web_node import WebNode, collect_errors, web_node

FAC_PASS = "lanterns over the quiet bay"
PHONE_PASS = "a quiet harbour at dawn"
CRUEL = "nobody here would miss you"
AFTER = "Written after the removal"

PSEUDONYM = """async (passphrase) => {
  const hs = await import("/holdspace.js");
  const storage = await hs.IndexedDBStorage.open("holdspace", ["keys", "msg", "words", "ctl", "out", "seen"]);
  const profile = hs.decodeProfile(await new hs.KeyStore(storage).unlock(passphrase));
  storage.close();
  return hs.toHex(hs.derivePseudonym(profile.master, profile.groups[0].context).ed25519Public);
}"""


def check_screen(page: Page, reports: list[str], name: str) -> None:
    """axe-core on the screen as it is; then, with the text at 200 %, no sideways scrolling at a phone's
    width; a screenshot of each."""
    shoot(page, name)
    result = Axe().run(page, options=AXE_OPTIONS)
    if result.violations_count:
        reports.append(result.generate_report())
    page.evaluate("document.documentElement.style.fontSize = '200%'")
    try:
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            reports.append(f"{name}: scrolls sideways at 200 % text ({width} px)")
        shoot(page, f"{name}-200")
    finally:
        page.evaluate("document.documentElement.style.fontSize = ''")


def join(context: BrowserContext, link: str, passphrase: str, problems: list[str]) -> Page:
    """A page of `context` that opens `link`, chooses `passphrase` and joins."""
    page = context.new_page()
    page.set_default_timeout(20_000)
    collect_errors(page, problems)
    page.goto(link)
    page.get_by_role("button", name="Join this group").click()
    page.get_by_label("Passphrase", exact=True).fill(passphrase)
    page.get_by_label("Type it again").fill(passphrase)
    page.get_by_role("button", name="Join the group").click()
    page.get_by_role("heading", name="Your recovery key").wait_for(timeout=40_000)  # shown once, after a first join
    page.get_by_role("button", name="I have written them down").click()
    page.get_by_role("heading", name="Your group").wait_for(timeout=40_000)
    return page


def journey(web: WebNode, link: str, fay: Callable[..., Any]) -> dict[str, Any]:
    """The browsers' side; `fay(name, *args)` runs one of the Python clients' steps on the test's loop."""
    args = [a for a in CHROMIUM_ARGS if a != "--disable-quic"]
    args.append(f"--ignore-certificate-errors-spki-list={spki_hash(web.certfile)}")
    problems: list[str] = []
    reports: list[str] = []
    out: dict[str, Any] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_or_skip(), headless=True, args=args)
        try:
            laptop = browser.new_context(viewport=PHONE, ignore_https_errors=True)
            laptop.grant_permissions(["clipboard-read", "clipboard-write"], origin=web.web.origin)
            f = join(laptop, link, FAC_PASS, problems)
            fay("say", "Welcome to the circle")  # the founder's rekey gives the new facilitator the keys
            f.locator("#messages li", has_text="Welcome to the circle").wait_for()
            out["fac"] = f.evaluate(PSEUDONYM, FAC_PASS)
            tools = f.get_by_role("navigation", name="Facilitator tools")
            # 1. An invite, as a link and a QR code
            tools.get_by_role("link", name="Invite someone").click()
            f.get_by_role("heading", name="Invite someone").wait_for()
            check_screen(f, reports, "fac-invite-form")
            f.get_by_label("How many people may use it").fill("3")
            f.get_by_label("Valid for this many days").fill("3")
            f.get_by_role("button", name="Make an invite").click()
            f.get_by_role("heading", name="Your invite is ready").wait_for()
            made = f.get_by_role("textbox", name="Invite link").input_value()
            out["summary"] = f.get_by_text("It lets 3 people join as a member").inner_text()
            out["qr"] = f.locator("svg.qr path").get_attribute("d")
            f.get_by_role("button", name="Copy the link").click()
            f.get_by_text("Copied.").wait_for()
            out["copied"] = f.evaluate("navigator.clipboard.readText()")
            check_screen(f, reports, "fac-invite")
            out["made"] = made
            fay("pat_joins", made)  # the Python client joins by the link the browser made
            phone_context = browser.new_context(viewport=PHONE, ignore_https_errors=True)
            p = join(phone_context, made, PHONE_PASS, problems)
            out["phone"] = p.evaluate(PSEUDONYM, PHONE_PASS)
            f.get_by_role("link", name="Back to the conversation").click()
            f.get_by_label("Your message", exact=True).fill("Welcome, both of you")
            f.get_by_role("button", name="Send", exact=True).click()  # the browser rekeys to the newcomers first
            p.locator("#messages li", has_text="Welcome, both of you").wait_for(timeout=30_000)
            # 2. The phone reports a message and checks in
            fay("pat_says", CRUEL)
            cruel = p.locator("#messages li", has_text=CRUEL)
            cruel.wait_for()
            cruel.get_by_text("Report this message").click()
            cruel.get_by_label("What is wrong with it? (optional)").fill("this is cruel")
            cruel.get_by_role("button", name="Send report").click()
            p.get_by_label("2, low").check()
            p.get_by_role("button", name="Send check-in").click()
            out["confirmation"] = p.get_by_text("Thank you. Only").inner_text()
            expect(p.locator('[aria-label="Waiting to be sent"] li')).to_have_count(0, timeout=30_000)
            # 3. The report, acted on from itself
            tools.get_by_role("link", name="Reports (1 open)").wait_for(timeout=30_000)
            tools.get_by_role("link", name="Reports (1 open)").click()
            card = f.locator("#reports li").first
            card.get_by_text(CRUEL).wait_for()
            out["report"] = card.inner_text()
            check_screen(f, reports, "fac-reports")
            card.get_by_role("button", name="Remove the message for everyone").click()
            check_screen(f, reports, "fac-report-confirm")
            card.get_by_role("button", name="Yes, remove the message").click()
            card.get_by_text("Done: The message was removed for everyone.").wait_for()
            card.get_by_role("button", name="Mark as resolved").click()
            f.locator("#reports li").first.get_by_text("Resolved", exact=True).wait_for()
            out["report_after"] = f.locator("#reports li").first.inner_text()
            tools.get_by_role("link", name="Reports", exact=True).wait_for()
            p.locator("#messages li", has_text=CRUEL).wait_for(state="detached", timeout=30_000)
            # 4. The check-in feed
            tools.get_by_role("link", name="Check-ins").click()
            item = f.locator("#checkins li").first
            item.get_by_text("Low mood (2 of 5)").wait_for()
            out["checkin"] = item.inner_text()
            check_screen(f, reports, "fac-checkins")
            # 5. The invite, listed with its uses, revoked after a question
            tools.get_by_role("link", name="Invite someone").click()
            row = f.locator("#invites li").first
            row.get_by_text("2 of 3 joined").wait_for()
            row.get_by_role("button", name="Revoke invite").click()
            out["revoke_question"] = row.get_by_text("Nobody can join with it any more").inner_text()
            check_screen(f, reports, "fac-invites-revoke")
            row.get_by_role("button", name="Yes, revoke invite").click()
            f.get_by_text("is revoked: nobody can join with it any more.").wait_for()
            f.locator("#invites li").first.get_by_text("Revoked").wait_for()
            # 6. Members: the phone's member muted for a day (its page says so), unmuted, then removed
            tools.get_by_role("link", name="Members").click()
            f.locator("#members li").nth(3).wait_for()
            check_screen(f, reports, "fac-members")
            phone_label = label(bytes.fromhex(out["phone"]))
            f.get_by_role("button", name=f"Mute {phone_label} for…").click()
            f.get_by_label("For how long").select_option(label="1 day")
            check_screen(f, reports, "fac-mute-confirm")
            f.get_by_role("button", name=f"Yes, mute {phone_label}").click()
            f.get_by_text(f"{phone_label} is muted until").wait_for()
            muted = p.locator("#mute-notice")
            expect(muted).to_contain_text("You can read, but not write here until", timeout=30_000)
            expect(p.get_by_label("Your message", exact=True)).to_be_hidden()
            out["muted_notice"] = muted.inner_text()
            p.evaluate("window.scrollTo(0, 0)")  # the notice is at the top; the sticky banner covers nothing there
            check_screen(p, reports, "member-muted")
            f.get_by_role("button", name=f"Unmute {phone_label}").click()
            f.get_by_role("button", name=f"Yes, unmute {phone_label}").click()
            f.get_by_text(f"{phone_label} can write to the group again.").wait_for()
            expect(p.get_by_label("Your message", exact=True)).to_be_visible(timeout=30_000)
            f.get_by_role("button", name=f"Remove {phone_label}", exact=True).click()
            out["question"] = f.get_by_text(f"Remove {phone_label}? They will read nothing").inner_text()
            check_screen(f, reports, "fac-remove-confirm")
            f.get_by_role("button", name=f"Yes, remove {phone_label}").click()
            f.get_by_text(f"{phone_label} was removed.").wait_for()
            out["members"] = f.locator("#members li").all_inner_texts()
            p.get_by_text("You are no longer a member of this group.").wait_for(timeout=30_000)
            fay("say", AFTER)
            f.get_by_role("link", name="Back to the conversation").click()
            f.locator("#messages li", has_text=AFTER).wait_for(timeout=30_000)
            out["pat_read"] = fay("pat_reads")
            # 7. The moderation log: newest first
            tools.get_by_role("link", name="Moderation log").click()
            f.locator("#modlog li").nth(3).wait_for()
            out["log"] = f.locator("#modlog li").all_inner_texts()
            check_screen(f, reports, "fac-modlog")
            f.get_by_role("link", name="Back to the conversation").click()
            p.wait_for_timeout(1500)  # time for anything the node would still send the phone
            out["phone_messages"] = p.locator("#messages li").all_inner_texts()
            # 6. The live circle: offered only once the facilitator opens it, closed again by her
            line = f.locator("#circle-state")
            out["circle_before"] = [line.inner_text(), f.get_by_role("button", name="Live circle (voice)").count()]
            f.get_by_role("button", name="Open a live circle now").click()
            f.get_by_role("button", name="Live circle (voice)").wait_for()
            out["circle_open"] = line.inner_text()
            out["circle_focus"] = f.evaluate("document.activeElement.textContent")
            found = Axe().run(f, options=AXE_OPTIONS)  # axe alone: the screen's layout is checked above
            if found.violations_count:
                reports.append(found.generate_report())
            f.get_by_role("button", name="Close the circle").click()  # it asks first: "No" keeps it open
            f.get_by_text("Close the live circle for everyone now?", exact=False).wait_for()
            f.get_by_role("button", name="No, keep it open").click()
            out["circle_kept"] = line.inner_text()
            f.get_by_role("button", name="Close the circle").click()
            f.get_by_role("button", name="Yes, close the circle").click()
            f.get_by_text("The live circle is closed: no session is planned.").wait_for()
            out["circle_after"] = f.get_by_role("button", name="Live circle (voice)").count()
        finally:
            browser.close()
    assert not problems, problems
    out["reports"] = reports
    return out


async def test_a_facilitator_in_the_browser_invites_acts_on_a_report_reads_checkins_and_removes(
    tmp_path: Path, bundle: Path
) -> None:
    chromium_or_skip()
    async with web_node(tmp_path, bundle) as web, session(web.address) as s, session(web.address) as s2:
        fay = Participant.create(tmp_path / "fay", "pass fay", web.address)
        group = await fay.create_group(s, "Thursday circle")
        link = str(InviteLink(web.web.origin, InviteToken.parse(await fay.invite(s, group, role="facilitator"))))
        pat = Participant.create(tmp_path / "pat", "pass pat", web.address)
        joined: list[Any] = []

        async def step(name: str, *args: Any) -> Any:
            if name == "say":
                await fay.send(s, group, args[0])
            elif name == "pat_joins":
                joined.append(await pat.join(s2, InviteLink.parse(args[0]).token))
            elif name == "pat_says":
                await pat.sync(s2, joined[0])
                await pat.send(s2, joined[0], args[0])
            elif name == "pat_reads":
                await pat.sync(s2, joined[0])
                return [m.content.body for m in joined[0].messages if isinstance(m.content, Text)]
            return None

        with trio.fail_after(240):
            out = await trio.to_thread.run_sync(lambda: journey(web, link, lambda *a: trio.from_thread.run(step, *a)))
        await fay.sync(s, group)
        state = group.state

    assert not out["reports"], "\n".join(out["reports"])
    fac, phone, founder = (bytes.fromhex(out["fac"]), bytes.fromhex(out["phone"]), fay.pseudonym(group).public_key)
    # the browser's invite: a link at the node's web origin, the token a Python client joins by
    made = InviteLink.parse(out["made"])
    assert out["made"].startswith(web.web.origin + "/join#hsinvite:") and made.token.group_id == group.group_id
    assert out["copied"] == out["made"] and out["qr"] and out["qr"].count("h1v1h-1z") > 200
    assert "It lets 3 people join as a member" in out["summary"]
    # revoked after a question: closed in the group's state, with one use left
    assert "Whoever joined with it already stays" in out["revoke_question"]
    invite = state.invites[made.token.invite_id]
    assert invite.closed_by is not None and invite.uses == 2
    pat_key = pat.pseudonym(joined[0]).public_key
    assert state.role_of(pat_key) == "member"  # pat, who joined by it, is still a member
    # the phone was told exactly who reads its check-in: the two facilitators, by their labels
    who = " and ".join(label(k) for k in sorted([fac, founder]))  # sealed to them in key order
    assert out["confirmation"] == f"Thank you. Only the group's 2 facilitators will see it: {who}."
    # the report: verified, naming its author; acted on and resolved, kept as such
    assert f"Checked: {label(pat_key)} wrote exactly these words:" in out["report"] and "this is cruel" in out["report"]
    assert label(phone) in out["report"]  # who reported
    assert "Resolved" in out["report_after"] and "Done: The message was removed for everyone." in out["report_after"]
    assert [author for author, _ in state.redactions] == [pat_key]  # the redaction applied, naming pat
    # the check-in feed names the phone and flags its low mood in words
    assert label(phone) in out["checkin"] and "Low mood (2 of 5)" in out["checkin"]
    # the removal: asked first in plain words; the phone reads nothing new, the others do
    assert "They will read nothing the group writes from now on" in out["question"]
    assert phone not in state.members and not any(label(phone) in m for m in out["members"])
    assert AFTER in out["pat_read"]
    # muted for a day, then let write again: two mutes applied; the phone's page said until when
    assert [m.until_ms > 0 for m in state.mutes[phone]] == [True, False]
    assert out["muted_notice"].startswith("You can read, but not write here until")
    # the moderation log, newest first: the removal, the lifted mute, the mute, the redaction
    fac_label, phone_label = label(fac), label(phone)
    assert out["log"][0].endswith(f"You ({fac_label}) removed {phone_label}.")
    assert out["log"][1].endswith(f"You ({fac_label}) let {phone_label} write to the group again.")
    assert f"You ({fac_label}) muted {phone_label} until" in out["log"][2]
    assert out["log"][3].endswith(f"You ({fac_label}) removed a message of {label(pat_key)} for everyone.")
    assert not any(AFTER in m for m in out["phone_messages"])
    # the live circle: none before; opened as an ordinary session of one date, cut at its closing
    assert out["circle_before"] == ["The live circle is closed: no session is planned. It opens during a session.", 0]
    assert out["circle_open"].startswith("Live circle is on: the live circle is open until "), out["circle_open"]
    assert out["circle_kept"] == out["circle_open"]  # "No, keep it open" closed nothing
    assert out["circle_focus"] == "Live circle (voice)" and out["circle_after"] == 0
    circles = [c.spec for c in state.sessions.values() if c.author == fac]
    assert len(circles) == 1 and circles[0].recurrence is None and 0 < circles[0].duration_ms < 3_600_000, circles
