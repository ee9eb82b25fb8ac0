"""``holdspace app``: the participant's app, served to their own browser from this device only.

The process holds the keys and talks QUIC to the home node; the browser gets pages. The server
listens on 127.0.0.1 only (never another interface) and on a port chosen afresh each launch. The
browser is handed the launch secret through a file readable by this user only (so the secret is not
on any command line another local user could read); the terminal prints the same link.
"""

from __future__ import annotations

import logging
import os
import signal
import webbrowser
from collections.abc import Callable
from functools import partial
from html import escape
from pathlib import Path

import click
import trio

from holdspace.clients.cli_common import friendly, home_dir, home_lock
from holdspace.clients.extras import require
from holdspace.clients.i18n import _
from holdspace.protocol.address import InviteToken, NodeAddress

OPEN_FILE = "app-open.html"
GRACE = 1.0  # seconds for open pages to be told the app is stopping
CLOSING_NOTICE = 0.3  # seconds the live streams get to tell open pages the app closed


@click.command("app")
@click.argument("invite", required=False)
@click.option(
    "--node", "node_address", help="Your community's node (holdspace://hsn1...@host:port), for a new identity."
)
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default="a free port", help="Local port.")
@click.option("--no-browser", is_flag=True, help="Only print the link; do not open a browser.")
@click.pass_context
@friendly
def app(ctx: click.Context, invite: str | None, node_address: str | None, port: int, no_browser: bool) -> None:
    """Open the Holdspace app in your browser (optionally with an INVITE to join)."""
    require("app", "The local app")
    if invite is not None:
        InviteToken.parse(invite.strip())  # a bad invite is refused now, not in the page
    node = NodeAddress.parse(node_address) if node_address else None
    home = home_dir(ctx)
    with home_lock(home):  # the CLI takes the same lock: never two writers of one key file
        trio.run(partial(serve_app, home, node, port, open_browser=not no_browser, invite=invite, echo=click.echo))
    click.echo(_("Holdspace closed."))


async def serve_app(
    home: Path,
    node: NodeAddress | None,
    port: int,
    *,
    open_browser: bool,
    invite: str | None,
    echo: Callable[[str], None],
) -> None:
    # imported here, not at the top: every other ``holdspace`` command starts without the web stack (~0.5 s)
    from hypercorn.config import Config  # noqa: PLC0415
    from hypercorn.trio import serve  # noqa: PLC0415

    from holdspace.clients.app.service import AppService  # noqa: PLC0415
    from holdspace.clients.app.web import Pages  # noqa: PLC0415

    service = AppService(home, node)
    service.pending_invite = invite.strip() if invite else None
    pages = Pages(service)
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None  # links carry the launch secret and invites: never logged
    config.loglevel = "WARNING"
    config.include_server_header = False
    config.graceful_timeout = GRACE
    logging.getLogger("hypercorn.error").setLevel(logging.WARNING)
    shutdown = trio.Event()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(service.run)
        binds = await nursery.start(partial(serve, pages.app(), config, shutdown_trigger=shutdown.wait))
        pages.port = int(str(binds[0]).rsplit(":", 1)[1])
        opener = _write_open_file(home, pages.launch_url)  # before the link is printed: all is ready then
        echo(_("Holdspace is open at: {launch_url}", launch_url=pages.launch_url))
        echo(_("Keep this window open while you use Holdspace; press Ctrl-C to close it."))
        if open_browser:
            await trio.to_thread.run_sync(webbrowser.open, opener.as_uri())
        try:
            with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                async for _item in signals:
                    break
        finally:
            opener.unlink(missing_ok=True)
            service.close_now()  # open pages show "Holdspace is closed", not a browser error later
            with trio.CancelScope(shield=True, deadline=trio.current_time() + CLOSING_NOTICE):
                await trio.sleep(CLOSING_NOTICE)  # time for the live streams to carry it
            shutdown.set()
            with trio.move_on_after(GRACE * 2):
                await trio.sleep(GRACE)
            nursery.cancel_scope.cancel()


def _write_open_file(home: Path, url: str) -> Path:
    """A page that forwards the browser to the launch link, readable by this user only."""
    path = home / OPEN_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="0;url={escape(url)}"><title>Opening Holdspace</title></head>'
        f'<body><p><a href="{escape(url)}">Open Holdspace</a></p></body></html>'
    )
    try:
        os.write(fd, page.encode())
    finally:
        os.close(fd)
    return path
