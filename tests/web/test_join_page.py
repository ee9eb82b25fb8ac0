"""Invite links open the browser client (spec 14.3, 15.8.3): the node serves ``/join`` as its page,
and the page reads the invite from the fragment, which no request carries. In Debian's Chromium: the
invitation screen appears with the group's node, at a phone's size with no axe-core violation, and
nothing of the token reaches the node (every byte of every HTTP request it parsed, and its logs)."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import h11
import pytest
import trio
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import sync_playwright

from holdspace.node.web.site import Site
from holdspace.protocol.address import InviteLink, InviteToken
from tests.app.conftest import CHROMIUM_ARGS, chromium_or_skip
from tests.app.test_browser import AXE_OPTIONS, PHONE
from tests.web.web_node import page_for, web_node

ORIGIN = "https://127.0.0.1:4443"


def test_the_site_serves_the_page_at_join_as_at_the_root(tmp_path: Path) -> None:
    site = Site.load(page_for(tmp_path / "dist"), origin=ORIGIN, info={})
    root, join = site.respond("GET", "/"), site.respond("GET", "/join")
    assert join.status == 200 and join.body == root.body and join.headers == root.headers  # SRI and CSP alike
    assert site.respond("GET", "/join?from=mail").body == root.body
    for target in ("/join/", "/Join", "/join/x", "/joinx"):
        assert site.respond("GET", target).status == 404, target


def browse(url: str, damaged: str) -> dict[str, Any]:
    """Open the link at a phone's size; what the screen shows, axe-core's report, and the damaged
    link's screen. Fails on any page error or console error but the browser's favicon request."""
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium_or_skip(), headless=True, args=[*CHROMIUM_ARGS, "--ignore-certificate-errors"]
        )
        try:
            page = browser.new_context(viewport=PHONE, ignore_https_errors=True).new_page()
            page.on("pageerror", lambda exc: problems.append(str(exc)))
            page.on(
                "console",
                lambda m: (
                    problems.append(m.text)
                    if m.type == "error" and not str(m.location.get("url", "")).endswith("/favicon.ico")
                    else None
                ),
            )
            page.goto(url)
            page.get_by_role("heading", name="You're invited").wait_for(timeout=15_000)
            result = {
                "text": page.locator("main").inner_text(),
                "title": page.title(),
                "scroll_width": page.evaluate("document.documentElement.scrollWidth"),
            }
            result["axe"] = Axe().run(page, options=AXE_OPTIONS)
            page.goto(damaged)
            page.get_by_role("heading", name="This invite link does not work").wait_for(timeout=15_000)
            result["damaged"] = page.locator("main").inner_text()
        finally:
            browser.close()
    assert not problems, problems
    return result


async def test_an_invite_link_opens_the_invitation_and_its_token_reaches_no_server(
    tmp_path: Path, bundle: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    chromium_or_skip()
    seen: list[bytes] = []  # every byte of every HTTP request the node parsed
    receive = h11.Connection.receive_data

    def record(conn: h11.Connection, data: bytes) -> None:
        if conn.our_role is h11.SERVER:
            seen.append(bytes(data))
        receive(conn, data)

    monkeypatch.setattr(h11.Connection, "receive_data", record)
    caplog.set_level(logging.DEBUG)
    dist = Path(shutil.copytree(bundle, tmp_path / "dist"))
    async with web_node(tmp_path, dist) as web:
        token = InviteToken(b"\x01" * 32, b"\x02" * 32, b"\x03" * 32, (web.address,))
        link = str(InviteLink(web.web.origin, token))
        secret = str(token).removeprefix("hsinvite:")
        damaged = link[:-5] + ("A" if link[-5] != "A" else "B") + link[-4:]
        with trio.fail_after(90):
            result = await trio.to_thread.run_sync(lambda: browse(link, damaged))
    assert f"{web.address.host}:{web.address.port}" in result["text"]  # the group's node, from the token
    assert "What comes next" in result["text"] and "passphrase" in result["text"]
    assert result["title"] == "You're invited · Holdspace"
    assert result["axe"].violations_count == 0, result["axe"].generate_report()
    assert result["scroll_width"] <= PHONE["width"]  # no sideways scrolling on a phone
    assert "address.bad_invite" in result["damaged"]
    requests = b"".join(seen)
    assert b"GET /join HTTP/1.1" in requests  # the capture saw the page's request...
    assert secret[:16].encode() not in requests and b"hsinvite" not in requests  # ...but nothing of the token
    assert all(secret[:16] not in r.getMessage() for r in caplog.records)
