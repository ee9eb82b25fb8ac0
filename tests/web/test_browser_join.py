"""A phone joins from an invite link and talks (spec 14.3, 14.4, 15.8), in Debian's Chromium at a
phone's size: a facilitator made with the Python client library creates a group and an invite on a
real node; the page opens the link, chooses a passphrase, joins, reads the facilitator's next
message (sealed to it by the facilitator's rekey), sends one the facilitator reads, opens a content
warning, reacts and checks in; no live circle is offered until a session is on (the line says when
the next one opens it), then the facilitator opens one and the page goes to it; later it comes
back, unlocks with the passphrase and reads the conversation again. axe-core finds no violation on
any screen, and nothing sideways-scrolls.

In the same run: every byte the node stored (its whole data directory) and received (every HTTP
request and every client-protocol request, over WebTransport or the WebSocket) is searched for the
browser's secrets — the master secret, the pseudonym's seed and X25519 secret, the history key, the
passphrase — and for the words it sent. None is there."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h11
import pytest
import trio
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, sync_playwright

from holdspace import node
from holdspace.clients.participant import Participant
from holdspace.protocol import kinds
from holdspace.protocol.address import InviteLink, InviteToken
from holdspace.protocol.content import CheckIn, Reaction, Report, Text
from holdspace.protocol.entry import decode_entry
from holdspace.protocol.frames import decode_client_request
from tests.app.conftest import ARTIFACTS, CHROMIUM_ARGS, chromium_or_skip
from tests.app.test_browser import AXE_OPTIONS, PHONE
from tests.node.conftest import session
from tests.web.test_browser_transport import spki_hash
from tests.web.web_node import WebNode, collect_errors, web_node

PASSPHRASE = "a quiet harbour at dawn"
WORDS = "thank you all for having me here tonight"
WELCOME = "Welcome, glad you found us"
HARD = "My week was hard: the anniversary of the loss"

SECRETS = """async (passphrase) => {
  const hs = await import("/holdspace.js");
  const storage = await hs.IndexedDBStorage.open("holdspace", ["keys", "msg", "words", "ctl", "out", "seen"]);
  const profile = hs.decodeProfile(await new hs.KeyStore(storage).unlock(passphrase));
  const g = profile.groups[0];
  const p = hs.derivePseudonym(profile.master, g.context);
  storage.close();
  return {master: hs.toHex(profile.master), history: hs.toHex(profile.historyKey), backup: hs.toHex(profile.backupKey),
          seed: hs.toHex(p.ed25519Seed),
          x25519: hs.toHex(p.x25519Secret), pseudonym: hs.toHex(p.ed25519Public)};
}"""


def shoot(page: Page, name: str) -> None:
    """The screen as the phone shows it, in ``artifacts/screenshots/phone-NAME.png`` (the README shows them)."""
    folder = ARTIFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"phone-{name}.png"), full_page=True)


def check_screen(page: Page, reports: list[str], name: str) -> None:
    """axe-core on the screen as it is, and no sideways scrolling at a phone's width; a screenshot."""
    shoot(page, name)
    result = Axe().run(page, options=AXE_OPTIONS)
    if result.violations_count:
        reports.append(result.generate_report())
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > PHONE["width"]:
        reports.append(f"{page.title()}: scrolls sideways ({width} px)")


def spanish(browser: Browser, link: str, problems: list[str], reports: list[str]) -> None:
    """A browser whose language is Spanish: the invitation and the passphrase screen speak Spanish,
    ``<html lang>`` says so (axe checks it), dates and all; nothing is joined."""
    context = browser.new_context(viewport=PHONE, ignore_https_errors=True, locale="es-ES")
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        collect_errors(page, problems)
        page.goto(link)
        page.get_by_role("heading", name="Te han invitado").wait_for()
        page.get_by_text("Alguien te ha invitado a un grupo de apoyo mutuo").wait_for()  # the node in bold inside
        page.get_by_text("Guarda el enlace en privado").wait_for()
        if page.evaluate("document.documentElement.lang") != "es":
            reports.append("the Spanish invitation is not marked lang=es")
        check_screen(page, reports, "invite-es")
        page.get_by_role("button", name="Unirme a este grupo").click()
        page.get_by_role("heading", name="Elige una frase de contraseña").wait_for()
        page.get_by_label("Frase de contraseña", exact=True).fill(PASSPHRASE)
        page.get_by_label("Escríbela otra vez").fill("no es la misma")
        page.get_by_role("button", name="Unirme al grupo").click()
        page.get_by_text("Las dos frases de contraseña no son iguales").wait_for()
        check_screen(page, reports, "passphrase-es")
    finally:
        context.close()


def journey(web: WebNode, link: str, fay: Callable[..., Any]) -> dict[str, Any]:
    """The phone's side; `fay(name, *args)` runs one of the facilitator's steps on the test's loop."""
    args = [a for a in CHROMIUM_ARGS if a != "--disable-quic"]  # WebTransport runs on QUIC
    args.append(f"--ignore-certificate-errors-spki-list={spki_hash(web.certfile)}")
    problems: list[str] = []
    reports: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_or_skip(), headless=True, args=args)
        try:
            spanish(browser, link, problems, reports)
            context = browser.new_context(viewport=PHONE, ignore_https_errors=True)
            page = context.new_page()
            page.set_default_timeout(15_000)
            collect_errors(page, problems)
            page.goto(link)
            page.get_by_role("heading", name="You're invited").wait_for()
            check_screen(page, reports, "invite")
            page.get_by_role("button", name="Join this group").click()
            page.get_by_role("heading", name="Choose a passphrase").wait_for()
            page.get_by_label("Passphrase", exact=True).fill(PASSPHRASE)
            page.get_by_label("Type it again").fill("not the same")
            page.get_by_role("button", name="Join the group").click()
            page.get_by_text("The two passphrases are not the same").wait_for()
            check_screen(page, reports, "passphrase")
            page.get_by_label("Type it again").fill(PASSPHRASE)
            page.get_by_role("button", name="Join the group").click()
            page.get_by_role("heading", name="Your recovery key").wait_for(timeout=30_000)
            page.get_by_text("is kept on your group's node").wait_for()  # the sealed backup reached the node
            recovery_words = page.locator("#recovery-words li").all_inner_texts()
            check_screen(page, reports, "recovery-key")
            page.get_by_role("button", name="I have written them down").click()
            page.get_by_role("heading", name="Your group").wait_for(timeout=30_000)
            page.get_by_text("Waiting for the group to share its keys with you").wait_for()
            circle_closed = [  # no session: no call offered, and the line says so (axe sees it below)
                page.locator("#circle-state").inner_text(),
                page.get_by_role("button", name="Live circle (voice)").count(),
            ]
            check_screen(page, reports, "waiting-for-keys")
            fay("say", WELCOME, None)  # the facilitator's client rekeys to the newcomer, then speaks
            page.locator("#messages li", has_text=WELCOME).wait_for()
            page.get_by_label("Your message", exact=True).fill(WORDS)
            page.get_by_role("button", name="Send", exact=True).click()
            page.locator("#messages li", has_text=WORDS).wait_for()  # acknowledged, and read back
            fay("say", HARD, "loss")
            hidden = page.locator("#messages li", has_text="Content warning: loss")
            hidden.wait_for()
            # closed: the words are not in the page at all (find-in-page cannot open them)
            words_hidden = not hidden.locator(".words").is_visible() and HARD not in page.content()
            hidden.get_by_role("button", name="Show").click()
            shown = hidden.locator(".words").is_visible() and HARD in hidden.inner_text()
            welcome = page.locator("#messages li", has_text=WELCOME)
            welcome.get_by_role("button", name="Heart 0").click()
            welcome.get_by_role("button", name="Heart 1").wait_for()
            welcome.get_by_text("Report this message").click()
            welcome.get_by_label("What is wrong with it? (optional)").fill("testing the report")
            welcome.get_by_role("button", name="Send report").click()
            page.get_by_label("3, okay").check()
            page.get_by_role("button", name="Send check-in").click()
            fay("session", 2 * 3_600_000)  # a session in two hours: the line names it
            page.get_by_text("The circle opens with the next session: Thursday circle,").wait_for()
            circle_closed.append(page.get_by_role("button", name="Live circle (voice)").count())
            fay("session", 0)  # the facilitator opens the circle now
            shoot(page, "conversation")
            page.get_by_role("button", name="Live circle (voice)").click()  # a screen of its own
            page.get_by_role("heading", name="Live circle").wait_for()
            page.get_by_text("This circle is not recorded.").wait_for()
            check_screen(page, reports, "live-circle")
            page.get_by_role("button", name="Back to messages").click()
            page.get_by_role("heading", name="Your group").wait_for()
            page.get_by_role("button", name="Need help now?").click()
            page.get_by_role("heading", name="Help, right now").wait_for()
            check_screen(page, reports, "help")
            help_links = [  # numbers and addresses are tappable: one tap calls or opens
                page.get_by_role("link", name=name).get_attribute("href")
                for name in ("112", "https://findahelpline.com")
            ]
            page.get_by_role("button", name="Close").click()
            page.wait_for_function("document.querySelector('#conversation-status') !== null")
            page.wait_for_function(  # the outbox is empty: everything was acknowledged
                "document.querySelector('[aria-label=\"Waiting to be sent\"]').children.length === 0"
            )
            read = fay("read")
            url_after_join = page.url
            secrets = page.evaluate(SECRETS, PASSPHRASE)
            # Coming back later: the page asks for the passphrase, then shows the conversation.
            fay("mark")  # from here on only the page fetches
            page.goto(web.web.origin + "/")
            page.get_by_role("heading", name="Welcome back").wait_for()
            check_screen(page, reports, "welcome-back")
            page.get_by_label("Passphrase", exact=True).fill("wrong passphrase")
            page.get_by_role("button", name="Open").click()
            page.get_by_text("That passphrase does not open your keys").wait_for(timeout=30_000)
            page.get_by_label("Passphrase", exact=True).fill(PASSPHRASE)
            page.get_by_role("button", name="Open").click()
            page.locator("#messages li", has_text=WORDS).wait_for(timeout=30_000)
            again = page.locator("#messages li").all_inner_texts()  # the same screen axe checked above
            # "On this device": Español; the choice is kept, the page locks and opens again in Spanish.
            page.get_by_text("On this device", exact=True).click()
            page.get_by_label("Language:").select_option("es")
            page.get_by_role("heading", name="Hola de nuevo").wait_for(timeout=30_000)
            page.get_by_label("Frase de contraseña", exact=True).fill(PASSPHRASE)
            page.get_by_role("button", name="Abrir").click()
            page.get_by_role("heading", name="Tu grupo").wait_for(timeout=30_000)
            page.locator("#messages li", has_text=WORDS).wait_for()
            spanish_lang = page.evaluate("document.documentElement.lang")
            check_screen(page, reports, "conversation-es")
        finally:
            browser.close()
    assert not problems, problems
    return {
        "reports": reports,
        "words_hidden": words_hidden,
        "help_links": help_links,
        "shown": shown,
        "read": read,
        "url": url_after_join,
        "secrets": secrets,
        "again": again,
        "recovery_words": recovery_words,
        "circle_closed": circle_closed,
        "spanish_lang": spanish_lang,
    }


async def test_a_phone_joins_by_link_talks_and_nothing_secret_reaches_the_node(
    tmp_path: Path, bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chromium_or_skip()
    received: list[bytes] = []  # every HTTP request and every client-protocol request the node read
    receive_data = h11.Connection.receive_data
    decode_request = decode_client_request

    def http(conn: h11.Connection, data: bytes) -> None:
        if conn.our_role is h11.SERVER:
            received.append(bytes(data))
        receive_data(conn, data)

    fetches: list[int | str] = []  # the `after` of every fetch, and where the revisit began

    def request(data: bytes) -> Any:
        received.append(bytes(data))
        decoded = decode_request(data)
        if decoded.op == "fetch":
            fetches.append(decoded.int_of("after"))
        return decoded

    monkeypatch.setattr(h11.Connection, "receive_data", http)
    monkeypatch.setattr(node.session, "decode_client_request", request)
    async with web_node(tmp_path, bundle) as web, session(web.address) as s:
        fay = Participant.create(tmp_path / "fay", "pass fay", web.address)
        group = await fay.create_group(s, "Thursday circle")
        token = InviteToken.parse(await fay.invite(s, group))
        link = str(InviteLink(web.web.origin, token))

        async def step(name: str, *args: Any) -> Any:
            if name == "mark":
                fetches.append("revisit")
                return None
            if name == "say":
                await fay.send(s, group, args[0], warning=args[1])
                return None
            if name == "session":  # a session of an hour, starting args[0] ms from now
                start = int(time.time() * 1000) + args[0]
                title = "Live circle" if args[0] == 0 else "Thursday circle"
                await fay.schedule(s, group, title=title, about=None, start_ms=start, duration_ms=3_600_000, tz="UTC")
                return None
            await fay.sync(s, group)
            return [(m.author.hex(), m.kind, m.content) for m in group.messages]

        with trio.fail_after(120):
            result = await trio.to_thread.run_sync(
                lambda: journey(web, link, lambda *a: trio.from_thread.run(step, *a))
            )
        stored = b"".join(p.read_bytes() for p in sorted((tmp_path / "node").rglob("*")) if p.is_file())

    assert not result["reports"], "\n".join(result["reports"])
    closed = "The live circle is closed: no session is planned. It opens during a session."
    assert result["circle_closed"] == [closed, 0, 0], result["circle_closed"]
    assert result["words_hidden"] and result["shown"]
    assert result["help_links"] == ["tel:112", "https://findahelpline.com"]
    assert result["url"] == web.web.origin + "/"  # the invite left the address bar once used
    browser = result["secrets"]["pseudonym"]
    from_browser = [(kind, content) for author, kind, content in result["read"] if author == browser]
    welcome_id = next(m.entry_id for m in group.messages if isinstance(m.content, Text) and m.content.body == WELCOME)
    assert (kinds.MESSAGE, Text(WORDS)) in from_browser  # the facilitator reads the phone's words
    assert any(kind == kinds.MESSAGE and c == Reaction(welcome_id, "heart") for kind, c in from_browser)
    assert any(kind == kinds.DIRECT and isinstance(c, CheckIn) and c.mood == 3 for kind, c in from_browser)
    reports = [c for kind, c in from_browser if kind == kinds.DIRECT and isinstance(c, Report)]
    assert [r.reason for r in reports] == ["testing the report"]
    reported = reports[0].disclosure
    assert decode_entry(reported.header, reported.payload, now_ms=None).entry_id == welcome_id
    assert any(WELCOME in t for t in result["again"]) and any("Content warning: loss" in t for t in result["again"])
    assert result["spanish_lang"] == "es"  # the device's choice, kept in the history, after the lock
    # Nothing secret of the browser's reached the node, stored or received; its words neither.
    assert any(b"publish" in r for r in received) and len(stored) > 100_000  # the captures saw the traffic
    everything = stored + b"".join(received)
    secrets = {k: bytes.fromhex(v) for k, v in result["secrets"].items() if k != "pseudonym"}
    secrets |= {"passphrase": PASSPHRASE.encode(), "words": WORDS.encode(), "hard": HARD.encode()}
    assert len(result["recovery_words"]) == 13
    secrets |= {"recovery words": " ".join(result["recovery_words"]).encode()}
    found = [name for name, secret in secrets.items() if secret in everything]
    assert not found, found
    assert bytes.fromhex(browser) in stored  # the pseudonym is public: the node holds the member's entries
    # The revisit read the group from the device: it fetched only after the cursor it kept.
    revisit = fetches[fetches.index("revisit") + 1 :]
    assert revisit and all(isinstance(a, int) and a > 0 for a in revisit), fetches
