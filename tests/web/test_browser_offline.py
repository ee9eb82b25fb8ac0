"""The browser client offline and after its site data is gone (spec 14.2 rule 3, 14.8, 15.8.3), in Debian's
Chromium driven by Playwright, against a real node's web endpoint. The library is driven from the page
by a test hook module (``clients/web/test/browser_hook.ts``, built here and pinned by the page like the
bundle) that writes through the app's own conversation and outbox, without the screens.

- The service worker keeps the shell: the page loads, the browser goes offline, the page reloads and
  still shows the shell (and the node's API, never cached, is unreachable); messages written offline wait
  in the outbox (IndexedDB, sealed) and are signed and sent, once each, when the browser is back online.
- A page closed mid-send (its publish written, the answer never read) is opened again and sends the
  same bytes: the node acknowledges the entry it holds and holds it once.
- An identity made in the page is backed up to the node under the recovery key; the site data is
  cleared (CDP ``Storage.clearDataForOrigin``); the words alone restore it from the node, with the
  same pseudonym and membership."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import trio
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from holdspace.clients.participant import Participant
from holdspace.protocol.identity import Pseudonym
from tests.app.conftest import CHROMIUM_ARGS, chromium_or_skip
from tests.node.conftest import session
from tests.web.test_browser_transport import spki_hash
from tests.web.web_node import WEB, WebNode, web_lock, web_node

T = TypeVar("T")
HOOK = "browser_hook.js"
IMPORT = f"import('/{HOOK}')"


@pytest.fixture(scope="module")
def hooked(bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built client and the test hook module, the page naming both (each pinned by its hash)."""
    dist = Path(shutil.copytree(bundle, tmp_path_factory.mktemp("hooked") / "dist"))
    with web_lock():
        esbuild = WEB / "node_modules" / ".bin" / "esbuild"
        hook = ["--bundle", "--format=esm", "--target=es2022", "--minify", f"--outfile={dist / HOOK}"]
        subprocess.run([str(esbuild), str(WEB / "test" / "browser_hook.ts"), *hook], check=True, timeout=120)
    subprocess.run(["node", str(WEB / "page.mjs"), str(dist), HOOK], check=True, timeout=60)
    return dist


@contextmanager
def chromium(web: WebNode) -> Iterator[Browser]:
    args = [*CHROMIUM_ARGS, f"--ignore-certificate-errors-spki-list={spki_hash(web.certfile)}"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_or_skip(), headless=True, args=args)
        try:
            yield browser
        finally:
            browser.close()


def hook(page: Page, call: str, *args: Any) -> Any:
    """``(await import('/browser_hook.js')).<call>(...args)`` in the page."""
    return page.evaluate(f"async (args) => (await {IMPORT}).{call}(...args)", list(args))


def until(check: Callable[[], bool], seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def open_controlled(context: BrowserContext, origin: str) -> Page:
    """A page of the node whose service worker is installed (the shell kept) and controls it."""
    page = context.new_page()
    page.goto(f"{origin}/")
    page.evaluate(f"async () => {{ await {IMPORT}; await navigator.serviceWorker.ready; }}")
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    return page


async def in_browser(web: WebNode, steps: Callable[[BrowserContext], T]) -> T:
    """``steps`` run on a fresh context of a Chromium that trusts ``web``'s certificate, in a worker
    thread (Playwright's sync API blocks), within 90 seconds."""

    def run() -> T:
        with chromium(web) as browser:
            return steps(browser.new_context())

    with trio.fail_after(90):
        return await trio.to_thread.run_sync(run)


@dataclass
class Writer:
    """Fay, in a group she made over QUIC. ``identity``: what the page needs to be her (the arguments
    of the hook's ``useIdentity``: master secret, group, her pseudonym's context, her log head);
    ``seq`` her log head and ``count_before`` the entries the node held, before the page wrote."""

    web: WebNode
    me: Pseudonym
    identity: list[Any]
    group: bytes
    seq: int
    count_before: int

    def held(self, i: int) -> bool:
        """Whether the node holds her ``i``-th entry after the head she had."""
        return self.web.node.store.get_at(self.group, self.me.public_key, self.seq + i) is not None

    def added(self) -> int:
        """How many entries the node holds now that it did not before."""
        return self.web.node.store.count(self.group) - self.count_before


@pytest.fixture
async def fay(tmp_path: Path, hooked: Path) -> AsyncIterator[Writer]:
    """A node serving the hooked client (skipped without Chromium), and a group fay made on it over
    QUIC, with what the page needs to be her."""
    chromium_or_skip()
    async with web_node(tmp_path, hooked) as web:
        writer = Participant.create(tmp_path / "fay", "pass fay", web.address)
        async with session(web.address) as s:
            group = await writer.create_group(s, "Thursday circle")
        me = writer.pseudonym(group)
        seq, prev = web.node.store.head(group.group_id, me.public_key)  # type: ignore[misc]
        identity = [writer.master.hex(), group.group_id.hex(), group.context.hex(), seq, prev.hex()]
        yield Writer(web, me, identity, group.group_id, seq, web.node.store.count(group.group_id))


async def test_the_shell_opens_offline_and_what_is_queued_offline_is_sent_once_back_online(fay: Writer) -> None:
    web = fay.web

    def browse(context: BrowserContext) -> dict[str, Any]:
        page = open_controlled(context, web.web.origin)
        context.set_offline(True)
        reloaded = page.reload()
        assert reloaded is not None and reloaded.from_service_worker
        # the app itself ran from the cache: with no identity here it asks for the invite link
        shell = page.get_by_role("heading", name="Open your invite link").text_content()
        api = page.evaluate("fetch('/node.json').then(() => 'reached', () => 'unreachable')")
        hook(page, "useIdentity", *fay.identity)
        hook(page, "queue", 2)
        waiting = hook(page, "pendingCount")
        held_offline = fay.held(1)
        context.set_offline(False)  # the 'online' event reconnects the conversation: it sends the outbox
        until(lambda: hook(page, "pendingCount") == 0 and hook(page, "flushesOnline") >= 1)
        until(lambda: len(hook(page, "mine")) == 2)  # read back from the node and opened
        mine = hook(page, "mine")
        return {"shell": shell, "api": api, "mine": mine, "waiting": waiting, "held": held_offline}

    result = await in_browser(web, browse)
    assert result["shell"] == "Open your invite link" and result["api"] == "unreachable", result
    assert result["waiting"] == 2 and not result["held"], result
    assert result["mine"] == ["queued 1", "queued 2"], result
    assert fay.held(1) and fay.held(2)
    assert fay.added() == 2  # each held once


async def test_a_page_closed_mid_send_sends_again_and_the_node_holds_the_entry_once(fay: Writer) -> None:
    web = fay.web

    def browse(context: BrowserContext) -> dict[str, Any]:
        page = context.new_page()
        page.goto(f"{web.web.origin}/")
        hook(page, "useIdentity", *fay.identity)
        hook(page, "queue", 1)  # kept: the conversation is not connected yet
        entry_id = hook(page, "sendWithoutAck")  # the publish is written; its answer is never read
        until(lambda: fay.held(1))
        page.close()  # closed before the acknowledgement
        again = context.new_page()
        again.goto(f"{web.web.origin}/")
        waiting = hook(again, "pendingCount")
        hook(again, "useIdentity", *fay.identity)
        sent = hook(again, "flushNow")
        return {"id": entry_id, "waiting": waiting, "sent": sent, "left": hook(again, "pendingCount")}

    result = await in_browser(web, browse)
    assert result["waiting"] == 1, result  # the reopened page still had it queued...
    assert result["sent"] == 1 and result["left"] == 0, result  # ...sent it again, and it was acknowledged
    stored = web.node.store.get_at(fay.group, fay.me.public_key, fay.seq + 1)
    assert stored is not None and stored.entry_id.hex() == result["id"]
    assert fay.added() == 1  # held exactly once


async def test_site_data_cleared_then_restored_from_the_node_with_the_words(tmp_path: Path, hooked: Path) -> None:
    chromium_or_skip()
    async with web_node(tmp_path, hooked) as web:

        def browse(context: BrowserContext) -> dict[str, Any]:
            page = context.new_page()
            page.goto(f"{web.web.origin}/")
            made = hook(page, "createAndBackUp", "a passphrase")
            had = hook(page, "hasIdentity")
            cdp = context.new_cdp_session(page)
            cdp.send("Storage.clearDataForOrigin", {"origin": web.web.origin, "storageTypes": "all"})
            page.reload()
            gone = not hook(page, "hasIdentity")
            restored = hook(page, "restoreFromNode", made["words"], "a new passphrase")
            return {"made": made, "had": had, "gone": gone, "restored": restored, "kept": hook(page, "hasIdentity")}

        result = await in_browser(web, browse)
        made, restored = result["made"], result["restored"]
        assert result["had"] and result["gone"] and result["kept"], result
        assert restored["pseudonyms"] == [made["pseudonym"]] and restored["groups"] == [made["group"]], result
        assert made["pseudonym"] in restored["members"][0]  # still a member of the group it founded
        group = bytes.fromhex(made["group"])
        assert web.node.core.view(group).members.keys() == {bytes.fromhex(made["pseudonym"])}
