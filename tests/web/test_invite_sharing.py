"""Where invites are made (spec 14.3): a node with a web endpoint tells its origin in hello, and the CLI
and the app then give the invite as a link (``https://host:port/join#hsinvite:…``), with a QR code of
it; a node without one gets the bare token. No QR decoder is installed here (zbar is neither in the
environment nor cheap to add), so each QR code is read back into its module matrix (the terminal's
half blocks, the SVG's path) and compared with segno's encoding of the expected text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio
from click.testing import CliRunner

from holdspace.clients.cli import cli
from holdspace.clients.participant import Participant
from holdspace.protocol.address import InviteLink, InviteToken, NodeAddress, shareable_invite
from tests.app.conftest import App, start_app
from tests.app.test_app_http import client, create_group, create_identity
from tests.node.conftest import running_node, session
from tests.test_qr import expected_matrix, svg_matrix, terminal_matrix
from tests.web.web_node import web_node

PASSPHRASE = "a quiet harbour at dawn"
NODE = NodeAddress(b"\x11" * 32, "127.0.0.1", 4433)


@pytest.fixture
def started() -> Iterator[list[App]]:
    """App processes a test started, stopped at its end (none may have written a traceback)."""
    apps: list[App] = []
    yield apps
    for app in apps:
        app.stop()
    for app in apps:
        assert not app.problems(), app.problems()


def test_a_shared_invite_is_the_link_only_with_a_web_origin_that_parses() -> None:
    token = str(InviteToken(b"\x01" * 32, b"\x02" * 32, b"\x03" * 32, (NODE,)))
    assert shareable_invite(token, None) == token
    assert shareable_invite(token, "https://Node.Example:8443") == f"https://node.example:8443/join#{token}"
    assert shareable_invite(token, "javascript:alert(1)") == token  # a node's bad claim: the token still works


async def test_hello_tells_the_web_origin_only_when_the_node_serves_one(tmp_path: Path, bundle: Path) -> None:
    async with web_node(tmp_path, bundle) as web, session(web.address) as s:
        await s.hello()
        assert s.web_origin == web.web.origin
    async with running_node(tmp_path / "plain") as (_node, address), session(address) as s:
        await s.hello()
        assert s.web_origin is None and "web" not in s.info


async def test_group_invite_prints_the_link_and_its_qr_code(tmp_path: Path, bundle: Path) -> None:
    env = {"HOLDSPACE_PASSPHRASE": PASSPHRASE}
    home = str(tmp_path / "fay")

    def holdspace(*args: str) -> str:
        done = CliRunner().invoke(cli, ["--home", home, *args], env=env)  # its own trio.run, in a thread
        assert done.exit_code == 0, done.output
        return done.output

    async with web_node(tmp_path, bundle) as web:
        Participant.create(tmp_path / "fay", PASSPHRASE, web.address)
        await trio.to_thread.run_sync(holdspace, "group", "create", "circle")
        out = await trio.to_thread.run_sync(holdspace, "group", "invite", "circle", "--qr")
        first, drawing = out.split("\n", 1)
        link = InviteLink.parse(first)
        assert first == f"{web.web.origin}/join#{link.token}" and link.token.nodes == (web.address,)
        assert terminal_matrix(drawing)[: len(expected_matrix(first))] == expected_matrix(first)
        web.node.web_origin = None  # as a node without a web endpoint answers hello
        plain = (await trio.to_thread.run_sync(holdspace, "group", "invite", "circle")).strip()
        assert plain.startswith("hsinvite:") and InviteToken.parse(plain).nodes == (web.address,)


async def test_the_apps_invite_page_shows_the_link_and_its_qr_code(
    tmp_path: Path, bundle: Path, started: list[App]
) -> None:
    async with web_node(tmp_path, bundle) as web:

        def facilitate() -> str:
            app = start_app(tmp_path / "fay", "--node", str(web.address))
            started.append(app)  # stopped by the fixture
            c = client(app)
            try:
                csrf = create_identity(c, str(web.address))
                group = create_group(c, csrf, "circle")
                data = {"csrf": csrf, "role": "member", "uses": "1", "days": "1"}
                return c.post(group + "/invite", data=data).text
            finally:
                c.close()

        with trio.fail_after(90):
            page = await trio.to_thread.run_sync(facilitate)
    shown = re.search(r'readonly spellcheck="false">([^<]+)<', page)
    assert shown is not None and shown.group(1).startswith(web.web.origin + "/join#hsinvite:")
    assert "Invite link" in page
    svg = re.search(r"<svg [^>]*>.*?</svg>", page, re.S)
    assert svg is not None and 'role="img" aria-label="QR code of the invite above"' in svg.group(0)
    assert "<script" not in svg.group(0) and "style=" not in svg.group(0)
    assert svg_matrix(svg.group(0)) == expected_matrix(shown.group(1).replace("&amp;", "&"))
