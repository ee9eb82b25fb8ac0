"""The app at the HTTP level, as a separate process against a real node over QUIC: who may drive it,
what reaches the page (never a key), and what happens to words written offline when the app is
killed (they are sent once the node is back, exactly once)."""

from __future__ import annotations

import base64
import json
import re
import signal
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from holdspace.clients.app.launch import OPEN_FILE
from holdspace.clients.participant import Participant
from holdspace.protocol.credential import issue
from tests.app.conftest import App, Node, start_app
from tests.cli.test_cli import run

PASSPHRASE = "correct horse battery staple"  # the CLI helpers' passphrase: the same identity is used from both


OPENED: list[httpx.Client] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while OPENED:
        OPENED.pop().close()


def client(app: App, *, enter: bool = True) -> httpx.Client:
    """A browser stand-in; with ``enter``, it has followed the launch link (and holds the cookie)."""
    # A fresh connection per request: reusing one the server is closing after its keep-alive time
    # (5 s, easily passed between two steps on a loaded machine) races and fails the request.
    no_reuse = httpx.Limits(max_keepalive_connections=0)
    c = httpx.Client(base_url=app.base, follow_redirects=True, timeout=30, limits=no_reuse)
    OPENED.append(c)
    if enter:
        assert c.get(app.link).status_code == 200
    return c


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert found, "the page carries no CSRF token"
    return found.group(1)


def create_identity(c: httpx.Client, node: str) -> str:
    csrf = csrf_of(c.get("/").text)
    r = c.post("/identity", data={"csrf": csrf, "passphrase": PASSPHRASE, "passphrase2": PASSPHRASE, "node": node})
    assert "Your identity is ready" in r.text
    return csrf


def create_group(c: httpx.Client, csrf: str, name: str) -> str:
    """Start a group; returns its page's path, relative to the launch's root."""
    r = c.post("/groups", data={"csrf": csrf, "name": name})
    assert r.status_code == 200 and "/g/" in str(r.url), r.text
    return str(r.url.path).removeprefix(c.base_url.path.rstrip("/"))


def facilitator_with_a_group(node: Node, apps: list[App], tmp_path: Path) -> tuple[App, httpx.Client, str, str]:
    """Fay's app, signed in, her identity made, and a group "circle" started: (app, browser, CSRF
    token, the group page's path)."""
    app = start_app(tmp_path / "fay", "--node", node.address)
    apps.append(app)
    c = client(app)
    csrf = create_identity(c, node.address)
    return app, c, csrf, create_group(c, csrf, "circle")


def detail(page: str) -> str:
    """The error code a page's alert keeps behind "Details" (never in the sentence itself)."""
    found = re.search(
        r'role="alert">([^<]*)<details class="detail"><summary>Details</summary><p>[^<]*<code>([^<]*)<', page
    )
    assert found, "the page shows no alert with details"
    assert found.group(2) not in found.group(1), found.group(1)  # the sentence carries no code
    return found.group(2)


def eventually(check, timeout: float = 30.0, what: str = "condition") -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    pytest.fail(f"{what} did not hold within {timeout} s")


def test_only_this_launchs_browser_can_drive_the_app(node: Node, apps: list[App], tmp_path: Path) -> None:
    app = start_app(tmp_path / "fay", "--node", node.address)
    apps.append(app)
    port = app.origin.rsplit(":", 1)[1]

    # The browser is handed the secret through a file only this user can read.
    opener = tmp_path / "fay" / OPEN_FILE
    assert stat.S_IMODE(opener.stat().st_mode) == 0o600
    assert app.link in opener.read_text().replace("&amp;", "&")

    stranger = client(app, enter=False)
    for path in ("/", "/help", "/settings", "/events", "/g/" + "00" * 32):
        r = stranger.get(path)
        assert r.status_code == 401 and "Open Holdspace from its link" in r.text, path
    assert stranger.get("/enter?t=guess").status_code == 401
    assert stranger.post("/identity", data={"passphrase": "x"}).status_code == 401

    c = client(app)
    csrf = create_identity(c, node.address)
    # DNS rebinding: another name for this address is not this app.
    assert c.get("/", headers={"Host": f"evil.example:{port}"}).status_code == 421
    assert (
        c.get(app.link.replace("127.0.0.1", "localhost"), headers={"Host": f"evil.example:{port}"}).status_code == 421
    )
    # Forms from anywhere else: no token, a wrong token, another origin, a cross-site fetch.
    good = {"csrf": csrf, "name": "circle"}
    assert c.post("/groups", data={"name": "circle"}).status_code == 403
    assert c.post("/groups", data={**good, "csrf": "0" * 64}).status_code == 403
    assert c.post("/groups", data=good, headers={"Origin": "http://evil.example"}).status_code == 403
    assert c.post("/groups", data=good, headers={"Origin": "null"}).status_code == 403
    assert c.post("/groups", data=good, headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert "circle" not in c.get("/").text  # none of those created anything
    # No CORS, ever; a strict policy; nothing cached to disk.
    for r in (
        c.get("/"),
        c.get(app.origin + "/static/app.css"),
        c.options("/groups", headers={"Origin": "http://evil.example"}),
    ):
        assert not any(h.lower().startswith("access-control-") for h in r.headers), r.headers
        assert r.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert r.headers["x-frame-options"] == "DENY"
    # The cookie goes only to this launch's secret path: a server on another loopback port (cookies
    # ignore ports) is never sent it unless it already knows the path, which only pages behind the
    # cookie show.
    cookie = next(h for h in c.get(app.link, follow_redirects=False).headers.get_list("set-cookie"))
    root = app.base.removeprefix(app.origin)
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and f"Path={root}" in cookie
    for public in ("/", "/help", "/s/", "/s/x/"):
        r = httpx.get(app.origin + public)
        assert root not in r.text and r.status_code in {200, 401, 404}, public

    # A form cannot send the browser to another site afterwards.
    for back in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        r = c.post("/reconnect", data={"csrf": csrf, "back": back}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == root + "/", back
    # A second app, or a command, for the same person is refused while the app runs: two writers of
    # one key file could sign two different entries at one position.
    second = run("app", "--no-browser", home=tmp_path / "fay", check=False)
    assert second.returncode == 1 and "error: client.home_in_use" in second.stderr
    command = run("groups", home=tmp_path / "fay", check=False)
    assert command.returncode == 0  # reading is fine
    command = run("group", "create", "another", home=tmp_path / "fay", check=False)
    assert command.returncode == 1 and "error: client.home_in_use" in command.stderr


def _listeners(port: int) -> list[str]:
    """Addresses listening on TCP ``port``, read from the kernel's tables (IPv4 and IPv6)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.append(socket.inet_ntoa(bytes.fromhex(address)[::-1]) if len(address) == 8 else address)
    return found


def test_app_listens_on_loopback_only(node: Node, apps: list[App], tmp_path: Path) -> None:
    app = start_app(tmp_path / "fay", "--node", node.address)
    apps.append(app)
    assert _listeners(int(app.origin.rsplit(":", 1)[1])) == ["127.0.0.1"]


def _secrets(home: Path) -> list[bytes]:
    me = Participant.load(home, PASSPHRASE)
    found = [me.master]
    for record in me.groups.values():
        p = me.pseudonym(record)
        found += [p.seed, p.x_secret]
        for epoch in record.keys.epochs.values() if record.keys else []:
            found += [c.key for c in epoch.chains.values()]
            found += [k for c in epoch.chains.values() for k in c.skipped.values()]
            found += [epoch.epoch_key] if epoch.epoch_key else []
        found += [m.key for m in record.messages if m.key]
    return found


def _encodings(secret: bytes) -> list[str]:
    return [
        secret.hex(),
        secret.hex().upper(),
        base64.b64encode(secret).decode().rstrip("="),
        base64.urlsafe_b64encode(secret).decode().rstrip("="),
    ]


def test_no_key_ever_reaches_the_page(node: Node, apps: list[App], tmp_path: Path) -> None:
    _app, c, csrf, group = facilitator_with_a_group(node, apps, tmp_path)
    c.post(group + "/send", data={"csrf": csrf, "text": "first words", "ttl": ""})
    c.post(group + "/invite", data={"csrf": csrf, "role": "member", "uses": "1", "days": "1"})
    eventually(lambda: "first words" in c.get(group).text and "waiting to be sent" not in c.get(group).text)
    pages = [c.get(p).text for p in ("/", "/help", "/settings", "/join")]
    pages += [c.get(group + p).text for p in ("", "/sessions", "/members", "/moderation", "/leave")]
    with c.stream("GET", "/events") as events:
        lines = events.iter_lines()
        first = next(lines)
        while not first.startswith("data:"):
            first = next(lines)
    pages.append(first)
    secrets = _secrets(tmp_path / "fay")
    assert len(secrets) >= 5
    for secret in secrets:
        for form in _encodings(secret):
            assert not any(form in page for page in pages), "a key reached the page"
    assert json.loads(first.removeprefix("data:"))["status"] in {"online", "connecting"}


def test_words_written_offline_survive_a_kill_and_are_sent_once(node: Node, apps: list[App], tmp_path: Path) -> None:
    fay_home = tmp_path / "fay"
    app = start_app(fay_home, "--node", node.address)
    apps.append(app)
    c = client(app)
    csrf = create_identity(c, node.address)
    group = create_group(c, csrf, "circle")
    shown = c.post(group + "/invite", data={"csrf": csrf, "role": "member", "uses": "1", "days": "1"}).text
    token = re.search(r'readonly spellcheck="false">([^<]+)<', shown)
    assert token is not None
    ana = tmp_path / "ana"
    run("id", "new", "--node", node.address, home=ana)
    run("group", "join", token.group(1), "--name", "circle", home=ana)
    # Fay's app sees Ana join and shares the keys with her; a first message proves Ana can read.
    c.post(group + "/send", data={"csrf": csrf, "text": "before the storm", "ttl": ""})
    eventually(lambda: "before the storm" in run("read", "circle", home=ana).stdout, what="Ana reads Fay")

    node.stop()
    eventually(lambda: "Offline (" in c.get(group).text, timeout=60, what="the app shows it is offline")
    c.post(group + "/send", data={"csrf": csrf, "text": "written in the dark", "ttl": ""})
    assert "waiting to be sent" in c.get(group).text
    app.stop(signal.SIGKILL)  # the app dies with the message unsent

    node.start()
    app = start_app(fay_home)
    apps.append(app)
    c = client(app)
    page = c.post("/unlock", data={"csrf": csrf_of(c.get("/").text), "passphrase": PASSPHRASE}).text
    assert "Your groups" in page
    eventually(lambda: "written in the dark" in run("read", "circle", home=ana).stdout, timeout=60, what="delivery")
    eventually(lambda: "waiting to be sent" not in c.get(group).text, what="the outbox empties")
    assert run("read", "circle", home=ana).stdout.count("written in the dark") == 1
    assert c.get(group).text.count("written in the dark") == 1


def test_bad_input_gets_a_sentence_and_keeps_what_was_written(node: Node, apps: list[App], tmp_path: Path) -> None:
    app, c, csrf, group = facilitator_with_a_group(node, apps, tmp_path)
    alert = re.compile(r'role="alert">([^<]*)<')

    # The protocol counts bytes: 60 Cyrillic letters are 120 bytes, over a warning's 100.
    words = {"text": "слова, которые я писала долго", "warning": "я" * 60, "back": group}
    r = c.post(group + "/send", data={"csrf": csrf, **words})
    assert "is too long: at most 100 bytes" in alert.search(r.text).group(1)  # type: ignore[union-attr]
    assert "слова, которые я писала долго</textarea>" in r.text  # the words are still in the box
    r = c.post(group + "/checkin", data={"csrf": csrf, "mood": "2", "word": "今日はとても疲れています"})
    assert detail(r.text) == "app.bad_input"

    # Odd values are refused with a sentence, never a failure page.
    someone_elses = issue(
        bytes(range(32)), subject=b"\x05" * 32, role="nurse", not_before_ms=0, expires_ms=2**40, serial=b"s" * 16
    ).raw.hex()
    g = group
    for path, data, code in (  # every form the app has, each with something wrong in it
        ("/groups", {"name": " "}, "app.bad_input"),
        ("/join", {"invite": "hsinvite:not-an-invite"}, "address.bad_invite"),
        (g + "/send", {"text": "  "}, "app.bad_input"),
        (g + "/send", {"text": "hello", "ttl": "forever"}, "app.bad_input"),
        (g + "/react", {"message": "not hex", "reaction": "hug"}, "app.bad_input"),
        (g + "/react", {"message": "00" * 32, "reaction": "shrug"}, "app.bad_input"),
        (g + "/checkin", {"mood": "7"}, "app.bad_input"),
        (g + "/redact", {"message": "00" * 31}, "app.bad_input"),
        (g + "/redact", {"message": "00" * 32}, "app.not_confirmed"),  # removing for everyone asks first
        (g + "/redact", {"message": "00" * 32, "confirm": "yes"}, "client.unknown_message"),
        (g + "/edit", {"message": "00" * 32, "text": "x"}, "app.bad_input"),
        (g + "/profile", {"name": "two\nlines"}, "app.bad_input"),
        (g + "/my-name", {"name": "x" * 65}, "app.bad_input"),
        (g + "/history", {"history": "forever"}, "app.bad_input"),
        (g + "/history", {"history": "days", "days": "366"}, "app.bad_input"),
        (g + "/history", {"history": "days", "days": "seven"}, "app.bad_input"),
        (g + "/report", {"message": "00" * 32, "why": "x"}, "client.unknown_message"),
        (g + "/rsvp", {"session": "00" * 32, "answer": "perhaps"}, "app.bad_input"),
        (g + "/rsvp", {"session": "00" * 32, "answer": "yes"}, "client.unknown_session"),
        (g + "/schedule", {"title": "", "date": "2030-01-07", "time": "08:30"}, "app.bad_input"),
        (g + "/schedule", {"title": "t", "date": "7 Jan", "time": "08:30"}, "client.bad_argument"),
        (g + "/schedule", {"title": "t", "date": "2030-01-07", "time": "8:30", "tz": "Mars/X"}, "client.bad_argument"),
        (g + "/pass", {"session": "00" * 32, "holder": "zz" * 32}, "app.bad_input"),
        (g + "/cancel", {"session": "00" * 32}, "client.unknown_session"),
        (g + "/invite", {"role": "member", "uses": "²", "days": "7"}, "app.bad_input"),
        (g + "/invite", {"role": "owner"}, "app.bad_input"),
        (g + "/remove", {"member": "zz"}, "app.bad_input"),
        (g + "/remove", {"member": "05" * 32}, "client.not_member"),
        (g + "/remove", {"member": "05" * 32, "note": "x" * 1001}, "app.bad_input"),
        (g + "/mute", {"member": "05" * 32, "minutes": "5"}, "app.bad_input"),
        (g + "/mute", {"member": "05" * 32, "minutes": "60"}, "client.not_member"),
        (g + "/revoke-invite", {"invite": "zz"}, "app.bad_input"),
        (g + "/revoke-invite", {"invite": "05" * 32}, "client.unknown_invite"),
        (g + "/private", {"text": " "}, "app.bad_input"),
        (g + "/private/reply", {"member": "05" * 31, "text": "hi"}, "app.bad_input"),
        (g + "/private/reply", {"member": "05" * 32, "text": "hi"}, "client.not_member"),
        (g + "/pin", {"resources": ""}, "app.bad_input"),
        (g + "/trust", {"issuer": "hsn1nothing"}, "identity.bad_text_id"),
        (g + "/credential", {"attestation": "not hex"}, "client.bad_argument"),
        (g + "/credential", {"attestation": someone_elses}, "app.bad_input"),
        (g + "/erase", {}, "app.not_confirmed"),
        ("/outbox/discard", {"item": "zz"}, "app.bad_input"),
        ("/settings/storage", {"budget_mib": "0"}, "app.bad_input"),
        ("/settings/storage", {"budget_mib": "lots"}, "app.bad_input"),
        ("/settings", {"idle_lock": "7"}, "app.bad_input"),
        ("/settings", {"idle_lock": "-5"}, "app.bad_input"),
        (g + "/show", {"message": "zz"}, "app.bad_input"),
        (g + "/show", {"message": "ab" * 8, "open": "yes"}, "app.bad_input"),
        ("/outbox/retry", {"item": "zz"}, "app.bad_input"),
        ("/g/zz/send", {"text": "x"}, "client.unknown_group"),
    ):
        r = c.post(path, data={"csrf": csrf, **data})
        assert r.status_code == 200 and detail(r.text).startswith(code), (path, data, r.status_code)
    assert c.post("/groups", data={"csrf": "é" * 64, "name": "x"}).status_code == 403
    stranger = client(app, enter=False)
    stranger.headers["Cookie"] = "holdspace_session=%C3%A9; other=\u00e9".encode().decode("latin-1")
    assert stranger.get("/").status_code == 401

    # The same form sent twice (a double click) is acted on once.
    form = c.get(group).text
    once = re.search(r'action="[^"]*/send".*?name="once" value="([^"]+)"', form, re.DOTALL)
    assert once is not None
    for _ in range(2):
        r = c.post(group + "/send", data={"csrf": csrf, "once": once.group(1), "text": "only once", "ttl": ""})
        assert not alert.search(r.text), alert.search(r.text)
    for _ in range(40):  # while it goes out, the words are on the page all along, once
        page = c.get(group).text
        assert page.count("only once") == 1
        if "waiting to be sent" not in page and '<span class="tag">sending</span>' not in page:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the message was never sent")


def test_erase_then_leave(node: Node, apps: list[App], tmp_path: Path) -> None:
    _app, c, csrf, group = facilitator_with_a_group(node, apps, tmp_path)
    c.post(group + "/send", data={"csrf": csrf, "text": "words I will take back"})
    eventually(lambda: "words I will take back" in c.get(group).text and "sending" not in c.get(group).text)
    r = c.post(group + "/erase", data={"csrf": csrf, "back": group + "/leave"})
    assert "Tick the box to confirm" in r.text  # nothing destructive without saying so
    r = c.post(group + "/erase", data={"csrf": csrf, "confirm": "yes"})
    assert "Everything you wrote in this group is erased" in r.text
    assert "words I will take back" not in r.text and "This message was deleted by its author" in r.text
    r = c.post(group + "/leave", data={"csrf": csrf, "confirm": "yes"})
    assert "You left the group." in r.text, re.findall(r'role="(?:alert|status)">([^<]*)<', r.text)
    assert "no longer a member" in r.text, r.text[r.text.find("<main") :][:1500]


def test_a_session_that_repeats_daily(node: Node, apps: list[App], tmp_path: Path) -> None:
    _, c, csrf, group = facilitator_with_a_group(node, apps, tmp_path)
    form = {"csrf": csrf, "title": "Morning check-in", "date": "2030-01-07", "time": "08:30", "duration": "30"}
    r = c.post(group + "/schedule", data={**form, "tz": "Europe/Paris", "repeat": "daily", "times": "3"})
    assert "Morning check-in is scheduled" in r.text
    assert r.text.count("<h2>Morning check-in</h2>") == 3  # three occurrences, each shown
    # 08:30 in Paris is 07:30 UTC in winter; the app shows the viewer's zone (UTC in these tests).
    assert re.findall(r'<time datetime="2030-01-0\dT07:30:00\+00:00">([^<]+)</time> to', r.text) == [
        "Mon 07 Jan, 07:30",
        "Tue 08 Jan, 07:30",
        "Wed 09 Jan, 07:30",
    ]
    r = c.post(group + "/schedule", data={**form, "tz": "Europe/Paris", "repeat": "hourly", "times": "3"})
    assert "choose how the session repeats" in r.text.lower()


def test_identity_and_unlock_refuse_bad_input(node: Node, apps: list[App], tmp_path: Path) -> None:
    app = start_app(tmp_path / "fay")
    apps.append(app)
    c = client(app)
    csrf = csrf_of(c.get("/").text)
    for data, code in (
        (
            {"passphrase": "long enough 1", "passphrase2": "long enough 2", "node": node.address},
            "app.passphrase_mismatch",
        ),
        ({"passphrase": "short", "passphrase2": "short", "node": node.address}, "app.weak_passphrase"),
        ({"passphrase": PASSPHRASE, "passphrase2": PASSPHRASE, "node": "holdspace://nowhere"}, "address."),
    ):
        assert detail(c.post("/identity", data={"csrf": csrf, **data}).text).startswith(code), data
    assert not (tmp_path / "fay" / "holdspace.keys").exists()  # nothing was created
    create_identity(c, node.address)
    c.post("/lock", data={"csrf": csrf})
    refused = c.post("/unlock", data={"csrf": csrf, "passphrase": "not it at all"}).text
    assert detail(refused) == "keyfile.bad_passphrase"
    assert "Your groups" in c.post("/unlock", data={"csrf": csrf, "passphrase": PASSPHRASE}).text
    # The command itself: a bad invite or node address is refused before anything starts.
    for args, code in ((["hsinvite:garbage"], "address.bad_invite"), (["--node", "nowhere"], "address.")):
        result = run("app", "--no-browser", *args, home=tmp_path / "ben", check=False)
        assert result.returncode == 1 and f"error: {code}" in result.stderr, result.stderr


def test_the_storage_budget_is_shown_and_set_in_settings(node: Node, apps: list[App], tmp_path: Path) -> None:
    _app, c, csrf, _group = facilitator_with_a_group(node, apps, tmp_path)
    page = c.get("/settings").text
    assert "Storage on this device" in page and 'value="512"' in page
    r = c.post("/settings/storage", data={"csrf": csrf, "budget_mib": "64"})
    assert "Storage budget saved." in r.text and 'value="64"' in r.text
    assert Participant.load(tmp_path / "fay", PASSPHRASE).budget == 64 * 2**20
    # the idle lock: never by default, then the person's choice, kept in the key file
    assert '<option value="0" selected>Never</option>' in page
    r = c.post("/settings", data={"csrf": csrf, "crisis_check": "on", "idle_lock": "15"})
    assert "Settings saved." in r.text and '<option value="15" selected>After 15 minutes</option>' in r.text
    assert Participant.load(tmp_path / "fay", PASSPHRASE).idle_lock == 15
