"""A live call in Debian's Chromium (spec 17.11), driven by Playwright with fake media devices: four
members of a group (made with the Python client library; their keys handed to four pages through the
call's test hook, not the UI) join a mesh call through a real node. Every pair's WebRTC statistics
show inbound audio bytes and packets rising; a member's disguised voice reaches the others with
another spectrum than the same microphone undisguised; a member removed from the group is dropped
by every other member and its signals are refused; and the node carries only signalling: its byte
counts during the call stay at kilobytes while the media flows between the browsers."""

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
from playwright.sync_api import Page, sync_playwright

from holdspace.clients.participant import Participant
from holdspace.node import server
from holdspace.node.session import ClientSession
from holdspace.protocol import crypto
from holdspace.protocol.address import InviteToken
from tests.app.conftest import CHROMIUM_ARGS, chromium_or_skip
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


async def make_group(
    tmp_path: Path, web: WebNode, names: tuple[str, ...] = NAMES
) -> tuple[Participant, Any, dict[str, Member]]:
    """A group made by fay, with ``names`` joined through one invite; their keys."""
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
def call_pages(origin: str, names: tuple[str, ...] = NAMES) -> Iterator[CallRun]:
    """One page per member, each in its own browser context of one Chromium with fake media devices;
    fails on any page error."""
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium_or_skip(), headless=True, args=[*CHROMIUM_ARGS, *MEDIA_ARGS]
        )
        try:
            pages: dict[str, Page] = {}
            for name in names:
                page = browser.new_context(ignore_https_errors=True).new_page()
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
