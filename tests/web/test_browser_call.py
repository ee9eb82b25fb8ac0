"""A live call in Debian's Chromium (spec 17.11), driven by Playwright with fake media devices: four
members of a group (made with the Python client library; their keys handed to four pages through the
call's test hook, not the UI) join a mesh call through a real node. Every pair's WebRTC statistics
show inbound audio bytes and packets rising; a member's disguised voice reaches the others with
another spectrum than the same microphone undisguised; a member removed from the group is dropped
by every other member and its signals are refused; and the node carries only signalling: its byte
counts during the call stay at kilobytes while the media flows between the browsers.

The call screen (``clients/web/src/ui/call.ts``) is driven as a person would, on three phones at 200 %
text: join, hands, the facilitator's mute request and removal, the talking piece, a camera, axe."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trio
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, sync_playwright

from holdspace.clients.participant import Participant
from holdspace.node import server
from holdspace.node.session import ClientSession
from holdspace.protocol import calls, crypto
from holdspace.protocol.address import InviteToken
from holdspace.protocol.labels import label
from tests.app.conftest import ARTIFACTS, CHROMIUM_ARGS, chromium_or_skip
from tests.app.test_browser import AXE_OPTIONS, PHONE
from tests.node.conftest import session
from tests.web.web_node import WEB, WebNode, page_for, web_lock, web_node

MEDIA_ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    "--allow-loopback-in-peer-connection",  # host candidates on loopback: this machine's only network
    "--ignore-certificate-errors",
]
NAMES = ("ana", "bo", "cy", "dee")
DISGUISED = "cy"
REMOVED = "dee"


def build_hook(dist: Path) -> Path:
    """``dist`` holding the call's test hook (``clients/web/src/call/hook.ts``) bundled as the page's
    script, and the page the client's build writes for it."""
    env = dict(os.environ, npm_config_update_notifier="false", npm_config_fund="false")
    out = dist.parent / "hook.js"
    with web_lock():
        if not (WEB / "node_modules" / ".bin" / "esbuild").exists():
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=WEB, env=env, check=True, timeout=300)
        subprocess.run(
            [str(WEB / "node_modules" / ".bin" / "esbuild"), "src/call/hook.ts", "--bundle", "--format=esm",
             "--target=es2022", f"--outfile={out}"],
            cwd=WEB, env=env, check=True, timeout=120, capture_output=True,
        )  # fmt: skip
    return page_for(dist, out.read_bytes())


@pytest.fixture(scope="module")
def hook_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_hook(tmp_path_factory.mktemp("call") / "dist")


@dataclass
class Member:
    name: str
    seed: bytes
    x_secret: bytes
    key: bytes


@dataclass
class Counter:
    """Bytes of client-protocol frames the node read and wrote (every connection, every transport)."""

    read: int = 0
    written: int = 0

    @property
    def total(self) -> int:
        return self.read + self.written


@pytest.fixture
def node_bytes(monkeypatch: pytest.MonkeyPatch) -> Counter:
    counter = Counter()
    receive, send = ClientSession.receive, server._SessionOut.send

    def counted_receive(self: ClientSession, data: bytes, now: float) -> Any:
        counter.read += len(data)
        return receive(self, data, now)

    async def counted_send(self: server._SessionOut, frame: bytes) -> bool:
        counter.written += len(frame)
        return await send(self, frame)

    monkeypatch.setattr(ClientSession, "receive", counted_receive)
    monkeypatch.setattr(server._SessionOut, "send", counted_send)
    return counter


async def open_circle(fay: Participant, group: Any, address: str) -> None:
    """The group's live circle opened now: an ordinary session (spec 17.3) of an hour from now, as a
    facilitator's "Open a live circle now" publishes it; a client offers the call only while one is on."""
    async with session(address) as s:
        start = int(time.time() * 1000)
        await fay.schedule(s, group, title="Live circle", about=None, start_ms=start, duration_ms=3_600_000, tz="UTC")


async def make_group(
    tmp_path: Path, web: WebNode, names: tuple[str, ...] = NAMES, circle: bool = True
) -> tuple[Participant, Any, dict[str, Member]]:
    """A group made by fay, with ``names`` joined through one invite; their keys. With ``circle``, fay
    opens the live circle (a session on now)."""
    fay = Participant.create(tmp_path / "fay", "pass fay", web.address)
    members: dict[str, Member] = {}
    async with session(web.address) as s_fay:
        group = await fay.create_group(s_fay, "Thursday circle")
        token = InviteToken.parse(await fay.invite(s_fay, group, uses=len(names)))
        for name in names:
            person = Participant.create(tmp_path / name, "pass " + name, web.address)
            async with session(web.address) as s:
                record = await person.join(s, token)
            me = person.pseudonym(record)
            members[name] = Member(name, me.seed, me.x_secret, me.public_key)
        await fay.sync(s_fay, group)
    if circle:
        await open_circle(fay, group, web.address)
    return fay, group, members


def wait_for(what: str, check: Callable[[], bool], timeout: float) -> float:
    """Poll ``check`` until it holds; the seconds it took."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)
    return time.monotonic() - start


@dataclass
class CallRun:
    pages: dict[str, Page]

    def ev(self, name: str, script: str, arg: Any = None) -> Any:
        return self.pages[name].evaluate(script, arg)

    def stats(self, name: str) -> dict[str, dict[str, Any]]:
        return self.ev(name, "() => window.member.stats()")  # type: ignore[no-any-return]


@contextmanager
def call_pages(
    origin: str, names: tuple[str, ...] = NAMES, viewport: dict[str, int] | None = None
) -> Iterator[CallRun]:
    """One page per member, each in its own browser context of one Chromium with fake media devices
    (at ``viewport``, if given); fails on any page error."""
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium_or_skip(), headless=True, args=[*CHROMIUM_ARGS, *MEDIA_ARGS]
        )
        try:
            pages: dict[str, Page] = {}
            for name in names:
                if viewport is None:
                    page = browser.new_context(ignore_https_errors=True).new_page()
                else:
                    page = browser.new_context(ignore_https_errors=True, viewport=viewport).new_page()  # type: ignore[arg-type]
                page.on("pageerror", lambda exc: problems.append(str(exc)))
                page.goto(f"{origin}/")
                pages[name] = page
            yield CallRun(pages)
        finally:
            browser.close()
    assert not problems, problems


START = """async (k) => {
  const hook = await import("/holdspace.js");
  try {
    window.member = await hook.startMember(k);
  } catch (e) {
    return `${e.code ?? "error"}: ${e.message}`;
  }
  return true;
}"""


async def test_four_members_call_and_a_removed_member_is_dropped_while_the_node_carries_only_signalling(
    tmp_path: Path, hook_page: Path, node_bytes: Counter
) -> None:
    chromium_or_skip()
    async with web_node(tmp_path, hook_page) as web:
        fay, group, members = await make_group(tmp_path, web)
        call_id = crypto.blake2b_256(b"call:" + group.group_id)[:16]
        hexes = {m.key.hex(): n for n, m in members.items()}

        async def remove_dee() -> None:
            async with session(web.address) as s_fay:
                await fay.remove_member(s_fay, group, members[REMOVED].key)

        def browse() -> dict[str, Any]:
            with call_pages(web.web.origin) as run:
                return in_call(run)

        def in_call(run: CallRun) -> dict[str, Any]:
            for name, m in members.items():
                keys = {"seedHex": m.seed.hex(), "xHex": m.x_secret.hex(), "groupHex": group.group_id.hex(),
                        "callHex": call_id.hex(), "disguise": name == DISGUISED}  # fmt: skip
                assert run.ev(name, START, keys) is True, name
            out: dict[str, Any] = {}
            counted = node_bytes.total
            for name in NAMES:
                assert run.ev(name, "() => window.member.join()") == [], name

            def everyone_hears_everyone() -> bool:
                return all(len(s := run.stats(n)) == 3 and all(p["packets"] > 0 for p in s.values()) for n in NAMES)

            try:
                out["connect_s"] = wait_for("every pair's audio", everyone_hears_everyone, 20)
            except AssertionError:
                raise AssertionError(
                    {n: (run.stats(n), run.ev(n, "() => window.member.refusals()")) for n in NAMES}
                ) from None
            out["signalling_bytes"] = node_bytes.total - counted  # joins, offers, answers, candidates
            before, counted = {n: run.stats(n) for n in NAMES}, node_bytes.total
            time.sleep(2.0)
            out["after"] = {n: run.stats(n) for n in NAMES}
            out["before"], out["node_window_bytes"] = before, node_bytes.total - counted
            out["first_audio_ms"] = {n: run.ev(n, "() => window.member.firstAudioMs()") for n in NAMES}
            # what ana hears from cy (disguised) and from bo (the same fake microphone, undisguised)
            spectra = {
                who: run.ev("ana", "(h) => window.member.spectrum(h, 1200)", members[who].key.hex())
                for who in ("bo", DISGUISED)
            }
            out["spectra"] = spectra
            counted = node_bytes.total
            trio.from_thread.run(remove_dee)
            out["removal_node_bytes"] = node_bytes.total - counted
            dee = members[REMOVED].key.hex()
            out["drop_s"] = wait_for(
                "everyone to drop dee",
                lambda: (
                    all(dee not in run.ev(n, "() => window.member.linked()") for n in NAMES if n != REMOVED)
                    and not run.ev(REMOVED, "() => window.member.linked()")
                ),
                10,
            )
            out["dropped"] = {n: run.ev(n, "() => window.member.dropped()") for n in NAMES if n != REMOVED}
            out["rejoin"] = run.ev(REMOVED, "() => window.member.join()")
            still = {n: run.stats(n) for n in NAMES if n != REMOVED}
            time.sleep(1.0)
            out["still_before"], out["still_after"] = still, {n: run.stats(n) for n in NAMES if n != REMOVED}
            return out

        with trio.fail_after(90):
            result = await trio.to_thread.run_sync(browse)

    # every pair: inbound audio bytes and packets rising, on both sides
    media_bytes = 0
    for name in NAMES:
        after, before = result["after"][name], result["before"][name]
        assert {hexes[h] for h in after} == set(NAMES) - {name}
        for h, s in after.items():
            assert s["state"] == "connected", (name, hexes[h], s)
            assert s["bytes"] > before[h]["bytes"] and s["packets"] > before[h]["packets"], (name, hexes[h])
            media_bytes += s["bytes"] - before[h]["bytes"]
    # the node carried signalling only: a few kilobytes while tens of kilobytes of media flowed
    assert media_bytes > 20_000, media_bytes
    # (bounds with room for a pair set up again under load: one offer, answer and candidates)
    assert result["node_window_bytes"] < 16_384 and result["node_window_bytes"] < media_bytes / 4, result
    assert result["signalling_bytes"] < 256 * 1024, result["signalling_bytes"]  # 6 pairs set up: kilobytes
    # the disguise: cy's voice reaches ana with its energy elsewhere than the same tone undisguised
    plain, masked = result["spectra"]["bo"], result["spectra"][DISGUISED]
    peak_plain = max(range(len(plain["db"])), key=plain["db"].__getitem__) * plain["binHz"]
    peak_masked = max(range(len(masked["db"])), key=masked["db"].__getitem__) * masked["binHz"]
    assert abs(peak_masked - peak_plain) > 0.1 * peak_plain, (peak_plain, peak_masked)
    # the removed member: dropped by all, its signals refused, the others still connected
    dee = members[REMOVED].key.hex()
    assert all(dee in dropped for dropped in result["dropped"].values()), result["dropped"]
    assert result["rejoin"] and set(result["rejoin"]) == {"call.not_member"}, result["rejoin"]
    for name, after in result["still_after"].items():
        assert {hexes[h] for h in after} == set(NAMES) - {name, REMOVED}
        assert all(s["packets"] > result["still_before"][name][h]["packets"] for h, s in after.items())
    print(
        f"\ncall: all pairs heard after {result['connect_s']:.1f} s; first audio (ms) {result['first_audio_ms']};"
        f" node bytes: {result['signalling_bytes']} to set up, {result['node_window_bytes']} in 2 s of call"
        f" (media between the browsers meanwhile: {media_bytes});"
        f" dee dropped after {result['drop_s']:.2f} s; peaks {peak_plain:.0f} Hz -> {peak_masked:.0f} Hz"
    )


START_SCREEN = """(k) => {
  window.started = import("/holdspace.js").then((hook) => hook.startScreen(k)).then((shown) => {
    window.member = shown.hook;
    window.callScreen = shown.screen;
    return true;
  }, (e) => `${e.code ?? "error"}: ${e.message}`);
}"""
SCREEN_NAMES = ("fay", "ana", "bo")  # fay: the group's facilitator
NO_PATH = """() => {
  const Real = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Real {
    constructor(config) { super({ ...(config ?? {}), iceTransportPolicy: "relay" }); }
  };
  window.member.room.repair = { everyMs: 250, afterMs: 1000 };
}"""


def axe_and_width(page: Page) -> list[str]:
    """axe-core's violations on the page as it is, and sideways scrolling at the phone's width."""
    problems: list[str] = []
    result = Axe().run(page, options=AXE_OPTIONS)
    if result.violations_count:
        problems.append(result.generate_report())
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > PHONE["width"]:
        problems.append(f"{page.title()}: scrolls sideways ({width} px)")
    return problems


async def test_the_call_screen_join_hands_mute_piece_and_removal_by_keyboard_at_200_percent_text(
    tmp_path: Path, hook_page: Path
) -> None:
    """Three phones (390 by 844 px, text at 200 %) on the call screen: no "Join" while no session is on,
    the lobby saying so, until the facilitator opens the circle; nothing is captured before "Join";
    each joins by the keyboard and hears the others; one turned its camera on and the others see it;
    speaking is shown in words; hands raised reach the facilitator in order; "Ask everyone to mute"
    stops the others' audio (no track sent, bytes sent stop growing) while the facilitator's flows,
    and a member may unmute; the piece is shown on every screen; "Remove" drops that member from
    every connection, releases its microphone, and its signals are ignored after; a member's own
    mute request is refused; leaving is announced; joining again where no path works (relay-only ICE
    and no relay; the repair rounds shortened) tells the member plainly it cannot connect; axe finds
    nothing."""
    chromium_or_skip()
    async with web_node(tmp_path, hook_page) as web:
        fay, group, members = await make_group(tmp_path, web, ("ana", "bo"), circle=False)
        me = fay.pseudonym(group)
        members["fay"] = Member("fay", me.seed, me.x_secret, me.public_key)
        call_id = calls.circle_call_id(group.group_id)
        names = {n: label(m.key) for n, m in members.items()}

        def browse() -> dict[str, Any]:
            with call_pages(web.web.origin, SCREEN_NAMES, viewport=PHONE) as run:
                return on_screen(run)

        def on_screen(run: CallRun) -> dict[str, Any]:
            out: dict[str, Any] = {"axe": []}
            for name in SCREEN_NAMES:
                m = members[name]
                keys = {"seedHex": m.seed.hex(), "xHex": m.x_secret.hex(), "groupHex": group.group_id.hex(),
                        "callHex": call_id.hex(), "disguise": False}  # fmt: skip
                run.ev(name, START_SCREEN, keys)  # the three pages start side by side
            for name in SCREEN_NAMES:
                assert run.ev(name, "() => window.started") is True, name
                run.ev(name, "() => { document.documentElement.style.fontSize = '200%'; }")
            ana, bo, fay_page = run.pages["ana"], run.pages["bo"], run.pages["fay"]
            join_button = lambda p: p.get_by_role("button", name="Join the circle (voice)")  # noqa: E731
            out["closed"] = {"join": join_button(ana).count(), "said": ana.locator("#call-closed").inner_text()}
            out["axe"] += axe_and_width(ana)  # the circle closed: no call offered
            trio.from_thread.run(open_circle, fay, group, web.address)  # the facilitator opens it
            for name in SCREEN_NAMES:
                wait_for(f"Join on {name}'s screen", lambda p=run.pages[name]: join_button(p).count() == 1, 10)
            out["closed_after"] = ana.locator("#call-closed").is_visible()
            out["lobby"] = {
                "captured": run.ev("ana", "() => window.member.room.local !== null"),
                "camera": ana.get_by_label("Turn my camera on too (optional)").is_checked(),
                "notice": ana.get_by_text(
                    "This circle is not recorded. Nobody, including the node, can record it"
                ).count(),
            }
            out["axe"] += axe_and_width(ana)
            # the highest pseudonym answers every pair: its camera reaches the others only if the
            # offers, knowing from its join that it has one, hold a video section for it
            filmed = max(SCREEN_NAMES, key=lambda n: members[n].key)
            run.pages[filmed].get_by_label("Turn my camera on too (optional)").check()
            for name in SCREEN_NAMES:  # by the keyboard: Tab to the button, Enter
                page = run.pages[name]
                join = page.get_by_role("button", name="Join the circle (voice)")
                join.focus()
                page.keyboard.press("Enter")
            hears = lambda n: all(s["packets"] > 0 for s in run.stats(n).values()) and len(run.stats(n)) == 2  # noqa: E731
            out["connect_s"] = wait_for("every pair's audio", lambda: all(hears(n) for n in SCREEN_NAMES), 20)
            wait_for("the screens' first audio", lambda: all(
                run.ev(n, "() => window.callScreen.firstHeardMs") is not None for n in SCREEN_NAMES), 5)  # fmt: skip
            out["first_heard_ms"] = {n: run.ev(n, "() => window.callScreen.firstHeardMs") for n in SCREEN_NAMES}
            people = ana.locator("#call-people > li")
            wait_for("ana's list of three", lambda: people.count() == 3, 10)
            out["people"] = people.all_inner_texts()
            out["filmed"] = filmed
            out["videos"] = {}
            for name in set(SCREEN_NAMES) - {filmed}:
                page = run.pages[name]
                wait_for(f"{filmed}'s camera on {name}'s screen", lambda p=page: p.locator("video").count() == 1, 10)
                out["videos"][name] = page.locator("video").get_attribute("aria-label")
                frames = lambda p=page: p.evaluate("document.querySelector('video').videoWidth") > 0  # noqa: E731
                wait_for(f"{filmed}'s frames at {name}", frames, 10)
            speaking = ana.locator("#call-people .speaking[data-speaking=true]")
            wait_for("someone shown speaking", lambda: speaking.count() > 0, 10)
            out["speaking_text"] = speaking.first.inner_text()
            out["fay_controls_on_ana"] = ana.get_by_role("button", name="Ask everyone to mute").count()
            # hands: ana, then bo; the facilitator sees them in that order
            ana.get_by_role("button", name="Raise my hand").click()
            wait_for("ana's hand at fay", lambda: fay_page.locator("#call-hands li").count() == 1, 5)
            bo.get_by_role("button", name="Raise my hand").click()
            wait_for("bo's hand at fay", lambda: fay_page.locator("#call-hands li").count() == 2, 5)
            out["hands"] = fay_page.locator("#call-hands li").all_inner_texts()
            out["hand_news"] = fay_page.locator("#call-news").inner_text()
            out["axe"] += axe_and_width(fay_page)  # people, hands and the facilitator's controls
            (ARTIFACTS / "screenshots").mkdir(parents=True, exist_ok=True)
            fay_page.screenshot(path=str(ARTIFACTS / "screenshots" / "phone-call-200-percent.png"), full_page=True)
            # ask everyone to mute: ana and bo stop sending, fay does not
            fay_page.get_by_role("button", name="Ask everyone to mute").click()
            wait_for("ana and bo muted", lambda: run.ev("ana", "() => window.member.muted()") and run.ev(
                "bo", "() => window.member.muted()"), 5)  # fmt: skip
            time.sleep(0.4)  # packets already on their way are counted
            sent0 = {n: run.ev(n, "() => window.member.sent()") for n in SCREEN_NAMES}
            time.sleep(1.0)
            sent1 = {n: run.ev(n, "() => window.member.sent()") for n in SCREEN_NAMES}
            out["sent_growth"] = {n: sent1[n]["bytes"] - sent0[n]["bytes"] for n in SCREEN_NAMES}
            out["sending"] = {n: run.ev(n, "() => window.member.sending()") for n in SCREEN_NAMES}
            out["ana_status"] = ana.locator("#call-status").inner_text()
            out["ana_news"] = ana.locator("#call-news").inner_text()
            out["unmute_button"] = ana.get_by_role("button", name="Unmute").count()
            ana.get_by_role("button", name="Unmute").click()  # the member decides
            wait_for("ana sending again", lambda: all(run.ev("ana", "() => window.member.sending()")), 5)
            out["ana_status_unmuted"] = ana.locator("#call-status").inner_text()
            # the piece to ana: shown on every screen, her hand down
            fay_page.get_by_role("button", name=f"Give the talking piece to {names['ana']}").click()
            for name in SCREEN_NAMES:
                holder = run.pages[name].locator("#call-people > li.holder")
                wait_for(f"the piece on {name}'s screen", lambda h=holder: h.count() == 1, 5)
            out["holder_text"] = bo.locator("#call-people > li.holder").inner_text()
            out["hands_after_piece"] = fay_page.locator("#call-hands li").all_inner_texts()
            # remove bo from the call
            fay_page.get_by_role("button", name=f"Remove {names['bo']} from the call").click()
            bo_hex = members["bo"].key.hex()
            out["remove_s"] = wait_for("bo dropped everywhere", lambda: (
                all(bo_hex not in run.ev(n, "() => window.member.linked()") for n in ("fay", "ana"))
                and not run.ev("bo", "() => window.member.linked()")), 10)  # fmt: skip
            out["bo_status"] = bo.locator("#call-status").inner_text()
            out["ana_news_removed"] = ana.locator("#call-news").inner_text()
            out["bo_join_shown"] = bo.get_by_role("button", name="Join the circle (voice)").count()
            wait_for("bo's microphone released", lambda: run.ev("bo", "() => window.member.room.local === null"), 5)
            run.ev("bo", "() => window.member.join()")  # bo's client tries anyway: nobody answers
            time.sleep(1.5)
            out["after_rejoin"] = {n: run.ev(n, "() => window.member.linked()") for n in ("fay", "ana")}
            out["ana_people_after"] = ana.locator("#call-people > li").count()
            # a member is no facilitator: its mute-request (sent past its own screen) is refused by fay
            run.ev("ana", "(h) => window.member.room.mesh.send(h, 'mute-request', '')", members["fay"].key.hex())
            refused = lambda: "call.not_facilitator" in run.ev("fay", "() => window.member.refusals()")  # noqa: E731
            wait_for("fay to refuse ana's mute-request", refused, 5)
            out["fay_muted"] = run.ev("fay", "() => window.member.muted()")
            # ana leaves: fay is told, ana's microphone is released and "Join" has the focus again
            ana.get_by_role("button", name="Leave the call").click()
            wait_for(
                "fay told ana left",
                lambda: f"{names['ana']} left the call" in fay_page.locator("#call-news").inner_text(),
                5,
            )
            out["ana_left"] = run.ev(
                "ana", "() => [window.member.room.local === null, document.activeElement.textContent]"
            )
            # ana joins again where no path works (ICE may use relays only, and the node has none),
            # the repair rounds shortened: after two she is told plainly that she cannot connect
            run.ev("ana", NO_PATH)
            ana.keyboard.press("Enter")  # "Join" has the focus
            said = ana.locator("#call-alert")
            out["cannot_connect_s"] = wait_for(
                "ana told she cannot connect", lambda: names["fay"] in said.inner_text(), 10
            )
            out["cannot_connect"] = said.inner_text()
            out["axe"] += axe_and_width(ana)
            return out

        with trio.fail_after(90):
            result = await trio.to_thread.run_sync(browse)

    assert result["closed"] == {
        "join": 0,
        "said": "The live circle is closed: no session is planned. It opens during a session.",
    }, result["closed"]
    assert result["closed_after"] is False
    assert result["lobby"] == {"captured": False, "camera": False, "notice": 1}, result["lobby"]
    assert not result["axe"], "\n".join(result["axe"])
    assert len(result["people"]) == 3 and any("You" in p for p in result["people"]), result["people"]
    assert any(names["fay"] in p and "facilitator" in p for p in result["people"]), result["people"]
    assert set(result["videos"].values()) == {f"Camera of {names[result['filmed']]}"}, result["videos"]
    assert result["speaking_text"] == "◉ speaking", result["speaking_text"]
    assert result["fay_controls_on_ana"] == 0  # only a facilitator's screen has them
    assert result["hands"] == [names["ana"], names["bo"]], result["hands"]
    assert f"{names['bo']} raised a hand" in result["hand_news"]
    # the others stopped sending; the facilitator did not
    assert result["sending"]["ana"] and not any(result["sending"]["ana"]), result["sending"]
    assert result["sending"]["bo"] and not any(result["sending"]["bo"]), result["sending"]
    assert all(result["sending"]["fay"]), result["sending"]
    assert result["sent_growth"]["ana"] == 0 and result["sent_growth"]["bo"] == 0, result["sent_growth"]
    assert result["sent_growth"]["fay"] > 1_000, result["sent_growth"]
    assert "microphone is off" in result["ana_status"] and result["unmute_button"] == 1
    assert "asked everyone to mute" in result["ana_news"], result["ana_news"]
    assert "microphone is on" in result["ana_status_unmuted"]
    assert names["ana"] in result["holder_text"] and "holds the talking piece" in result["holder_text"]
    assert result["hands_after_piece"] == [names["bo"]], result["hands_after_piece"]
    bo_hex = members["bo"].key.hex()
    assert "removed from this call" in result["bo_status"] and result["bo_join_shown"] == 0
    assert f"{names['bo']} was removed from the call" in result["ana_news_removed"], result["ana_news_removed"]
    assert all(bo_hex not in linked for linked in result["after_rejoin"].values()), result["after_rejoin"]
    assert result["ana_people_after"] == 2
    assert result["fay_muted"] is False
    assert result["ana_left"] == [True, "Join the circle (voice)"], result["ana_left"]
    assert result["cannot_connect"].startswith("You cannot connect to "), result["cannot_connect"]
    assert names["fay"] in result["cannot_connect"].split(":")[0], result["cannot_connect"]
    assert "has no relay for calls" in result["cannot_connect"], result["cannot_connect"]
    first = sorted(result["first_heard_ms"].values())
    print(
        f"\ncall screen: Join to the first peer heard (ms) {result['first_heard_ms']}"
        f" (p50 {first[len(first) // 2]:.0f});"
        f" every pair heard after {result['connect_s']:.1f} s; bo dropped everywhere after {result['remove_s']:.2f} s;"
        f" told no path works after {result['cannot_connect_s']:.1f} s"
    )
