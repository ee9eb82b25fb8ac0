"""The participant's local web app (``holdspace app``): live delivery and page rendering, each against
a baseline measured in the same run.

Setup: one node process (``holdspace node init`` + ``node run``) and two app processes on it, driven
over HTTP the way a browser drives them (a launch link that sets the cookie, forms with the CSRF
token): Fay makes an identity and a group and invites Ana; Ana joins; Fay's app shares the group's
keys by itself; the benchmark waits until Ana's page shows Fay's first message.

Figures:

* live delivery through the app: Fay's form post to ``/g/<group>/send`` → a ``change`` event on
  Ana's server-sent-event stream (``/events``) after which Ana's conversation page, fetched as the
  page's script does, holds the words. Median and p95 over N messages (one at a time);
* baseline: the same path through the client library alone, on the same node in the same run:
  ``Participant.send`` on one NodeSession, the receiver's ``NodeSession.subscribe`` batch followed
  by ``Participant.sync`` (a separate group of two library participants). The ratio app / library
  is what the app adds on top of the library;
* page render: median GET of Ana's conversation page holding 200 messages, against the median GET
  of the app's static stylesheet (``/static/app.css``), interleaved, in the same run.

Timings are printed, never asserted (the machines are noisy: read the ratios).

Run: .venv/bin/python benchmarks/app_bench.py [--quick] [--messages N] [--json]
(--quick: 10 messages and fewer page loads; --json: also every figure as one last JSON line)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import queue
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import aclosing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import trio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from holdspace.clients.client import connect  # noqa: E402
from holdspace.clients.participant import Participant  # noqa: E402
from holdspace.protocol.address import InviteToken, NodeAddress  # noqa: E402
from holdspace.protocol.content import Text  # noqa: E402

HOLDSPACE = [sys.executable, "-m", "holdspace"]
PASSPHRASE = "correct horse battery staple"  # noqa: S105 - a throwaway identity in a temporary home
LINK = re.compile(r"(http://127\.0\.0\.1:\d+/s/[\w-]+/enter\?t=\S+)")
CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')
TOKEN = re.compile(r'readonly spellcheck="false">([^<]+)<')
PAGE_MESSAGES = 200
WARM_UP = 2  # messages sent, and not counted, before each latency run
PAUSE = 0.05  # seconds between messages (each run), so that one message's after-effects settle
WAIT = 60.0  # seconds a message may take before the run is called failed


# --- processes --------------------------------------------------------------------------------------


class Processes:
    """Every process this script starts; all are stopped at the end, failure or not."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen[str]] = []

    def start(self, args: list[str], *, env: dict[str, str], stderr: Any = None) -> subprocess.Popen[str]:
        proc = subprocess.Popen(  # noqa: S603 - our own CLI
            [*HOLDSPACE, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True
        )
        self.started.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in self.started:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.started:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()


def with_passphrase() -> dict[str, str]:
    return {**os.environ, "HOLDSPACE_PASSPHRASE": PASSPHRASE}


def start_node(procs: Processes, directory: Path) -> str:
    """``node init`` on a free port and ``node run``; returns the node's address."""
    subprocess.run(  # noqa: S603 - our own CLI
        [*HOLDSPACE, "node", "init", str(directory), "--listen", "127.0.0.1:0"],
        cwd=ROOT,
        env=with_passphrase(),
        capture_output=True,
        check=True,
        timeout=60,
    )
    proc = procs.start(["node", "run", str(directory)], env=with_passphrase())
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "holdspace://" not in line:
        raise RuntimeError(f"the node printed no address: {line!r}")
    return line.split()[-1]


@dataclass
class App:
    link: str  # the launch link
    log: Path  # its standard error

    @property
    def root(self) -> str:
        """Every page's URL starts with it: ``http://127.0.0.1:PORT/s/SECRET``."""
        return self.link.split("/enter")[0]

    @property
    def origin(self) -> str:
        return self.link.split("/s/")[0]

    def browser(self) -> httpx.Client:
        """A browser stand-in that followed the launch link (it holds the cookie)."""
        c = httpx.Client(base_url=self.root, follow_redirects=True, timeout=30)
        r = c.get(self.link)
        if r.status_code != 200:
            raise RuntimeError(f"the launch link answered {r.status_code}")
        return c


def start_apps(procs: Processes, homes: list[Path], node: str) -> list[App]:
    """App processes (started together: they take a while to import), without a passphrase in the
    environment, as a person starts them."""
    env = {key: value for key, value in os.environ.items() if key != "HOLDSPACE_PASSPHRASE"}
    started = []
    for home in homes:
        home.mkdir(parents=True)
        log = home.parent / f"{home.name}-app.log"
        with log.open("w") as stderr:
            proc = procs.start(["--home", str(home), "app", "--no-browser", "--node", node], env=env, stderr=stderr)
        started.append((proc, log))
    apps = []
    for proc, log in started:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        found = LINK.search(line)
        if not found:
            raise RuntimeError(f"the app printed no link: {line!r}; {log.read_text()[-2000:]}")
        apps.append(App(found.group(1), log))
    return apps


# --- driving the app over HTTP ----------------------------------------------------------------------


def csrf_of(page: str) -> str:
    found = CSRF.search(page)
    if not found:
        raise RuntimeError("the page carries no CSRF token")
    return found.group(1)


def create_identity(c: httpx.Client, node: str) -> str:
    csrf = csrf_of(c.get("/").text)
    r = c.post("/identity", data={"csrf": csrf, "passphrase": PASSPHRASE, "passphrase2": PASSPHRASE, "node": node})
    if "Your identity is ready" not in r.text:
        raise RuntimeError("the identity was not made")
    return csrf


def path_in(c: httpx.Client, r: httpx.Response) -> str:
    """A response's path, relative to the launch's root."""
    return str(r.url.path).removeprefix(c.base_url.path.rstrip("/"))


def eventually(check: Callable[[], bool], what: str, timeout: float = WAIT, every: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(every)
    raise RuntimeError(f"{what} did not happen within {timeout:.0f} s")


def messages_on(page: str) -> int:
    return page.count('<li id="m-')


def settled(page: str) -> bool:
    """Nothing of the writer's is waiting in the outbox."""
    return "waiting to be sent" not in page and '<span class="tag">sending</span>' not in page


def events_of(c: httpx.Client, out: queue.Queue[tuple[float, dict[str, Any]]], stop: threading.Event) -> None:
    """Read the server-sent-event stream; each ``change`` event goes to ``out`` with the time it arrived."""
    with contextlib.suppress(httpx.HTTPError), c.stream("GET", "/events") as stream:
        event = None
        for line in stream.iter_lines():
            if stop.is_set():
                return
            if line.startswith("event:"):
                event = line.removeprefix("event:").strip()
            elif line.startswith("data:") and event == "change":
                out.put((time.perf_counter(), json.loads(line.removeprefix("data:"))))
            elif not line:
                event = None


def app_latencies(
    fay: httpx.Client, ana: App, csrf: str, group: str, gid: str, n: int
) -> tuple[list[float], list[float], int]:
    """Form post on Fay's app (its redirect followed, as a browser does) → change event on Ana's stream
    after which Ana's page holds the words. Returns, for the last ``n`` messages, the latencies (s) to
    that page and to that event, and the page GETs it took."""
    page_client, events_client = ana.browser(), ana.browser()
    events: queue.Queue[tuple[float, dict[str, Any]]] = queue.Queue()
    stop = threading.Event()
    reader = threading.Thread(target=events_of, args=(events_client, events, stop), daemon=True)
    reader.start()
    latencies: list[float] = []
    to_event: list[float] = []
    gets = 0
    try:
        for i in range(WARM_UP + n):
            text = f"app message {i} {secrets.token_hex(6)}"
            time.sleep(PAUSE)
            sent = time.perf_counter()
            r = fay.post(group + "/send", data={"csrf": csrf, "text": text, "ttl": ""})
            if r.status_code != 200:
                raise RuntimeError(f"the send form answered {r.status_code}")
            deadline = time.monotonic() + WAIT
            while True:
                at, data = events.get(timeout=max(0.0, deadline - time.monotonic()))
                if at < sent or (data["groups"] and gid not in data["groups"]):
                    continue  # before this message, or about another group: the page's script ignores it
                gets += 1
                page = page_client.get(group, headers={"X-Holdspace-Refresh": "1"}).text
                if text in page:
                    if i >= WARM_UP:
                        latencies.append(time.perf_counter() - sent)
                        to_event.append(at - sent)
                    break
    finally:
        stop.set()
        page_client.close()
    return latencies, to_event, gets  # the reader ends when the app stops (its client is left to it)


def render_times(ana: httpx.Client, css: str, group: str, rounds: int) -> tuple[list[float], list[float], int]:
    """GET of the conversation page and of the stylesheet, alternately; -> (page s, css s, page bytes)."""
    pages, sheets = [], []
    size = 0
    for _ in range(rounds):
        t = time.perf_counter()
        r = ana.get(group)
        pages.append(time.perf_counter() - t)
        size = len(r.content)
        t = time.perf_counter()
        s = ana.get(css)
        sheets.append(time.perf_counter() - t)
        if r.status_code != 200 or s.status_code != 200:
            raise RuntimeError(f"GET answered {r.status_code} (page), {s.status_code} (stylesheet)")
    return pages, sheets, size


# --- the baseline: the client library alone ---------------------------------------------------------


async def library_latencies(node: str, tmp: Path, n: int) -> list[float]:
    """Participant.send on one session → the other session's subscribe batch + Participant.sync holds
    the words; latencies (s) of the last ``n`` messages."""
    address = NodeAddress.parse(node)
    a = await trio.to_thread.run_sync(Participant.create, tmp / "lib-a", PASSPHRASE, address)
    b = await trio.to_thread.run_sync(Participant.create, tmp / "lib-b", PASSPHRASE, address)
    arrived: dict[str, float] = {}
    changed = trio.Event()
    async with connect(address) as sa, connect(address) as sb:
        ra = await a.create_group(sa, "library")
        token = await a.invite(sa, ra, role="member", uses=1)
        rb = await b.join(sb, InviteToken.parse(token), "library")
        await b.sync(sb, rb)
        await a.ensure_clean_epoch(sa, ra)  # the keys, shared with the newcomer

        async def receive() -> None:
            nonlocal changed
            seen = len(rb.messages)
            async with aclosing(sb.subscribe(rb.group_id, rb.cursor)) as batches:
                async for _ in batches:
                    await b.sync(sb, rb)
                    now = time.perf_counter()
                    for m in rb.messages[seen:]:
                        if isinstance(m.content, Text):
                            arrived[m.content.body] = now
                    seen = len(rb.messages)
                    changed.set()
                    changed = trio.Event()

        latencies = []
        async with trio.open_nursery() as nursery:
            nursery.start_soon(receive)
            for i in range(WARM_UP + n):
                text = f"library message {i} {secrets.token_hex(6)}"
                await trio.sleep(PAUSE)
                sent = time.perf_counter()
                await a.send(sa, ra, text)
                with trio.fail_after(WAIT):
                    while text not in arrived:
                        await changed.wait()
                if i >= WARM_UP:
                    latencies.append(arrived[text] - sent)
            nursery.cancel_scope.cancel()
    return latencies


# --- the run ----------------------------------------------------------------------------------------


def p95(values: list[float]) -> float:
    """The nearest-rank 95th percentile (with 10 values: the largest)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def summary(latencies: list[float]) -> dict[str, float]:
    return {
        "median_ms": 1000 * statistics.median(latencies),
        "p95_ms": 1000 * p95(latencies),
        "max_ms": 1000 * max(latencies),
        "samples": len(latencies),
    }


@contextlib.contextmanager
def closing_all(clients: list[httpx.Client]) -> Iterator[list[httpx.Client]]:
    try:
        yield clients
    finally:
        for c in clients:
            c.close()


def run(tmp: Path, n: int, rounds: int) -> dict[str, Any]:
    procs = Processes()
    clients: list[httpx.Client] = []
    try:
        started = time.perf_counter()
        node = start_node(procs, tmp / "node")
        fay_app, ana_app = start_apps(procs, [tmp / "fay", tmp / "ana"], node)
        fay, ana = fay_app.browser(), ana_app.browser()
        clients += [fay, ana]
        csrf = create_identity(fay, node)
        r = fay.post("/groups", data={"csrf": csrf, "name": "circle"})
        if "/g/" not in str(r.url):
            raise RuntimeError("the group was not made")
        group = path_in(fay, r)
        gid = group.rsplit("/", 1)[1]
        shown = fay.post(group + "/invite", data={"csrf": csrf, "role": "member", "uses": "1", "days": "1"}).text
        token = TOKEN.search(shown)
        if token is None:
            raise RuntimeError("the members page shows no invite")
        ana_csrf = create_identity(ana, node)
        r = ana.post("/join", data={"csrf": ana_csrf, "invite": token.group(1)})
        if path_in(ana, r) != group:
            raise RuntimeError(f"joining led to {r.url.path}, not the group")
        # Fay's app shares the keys when it sees the join; a first message shows Ana can read.
        fay.post(group + "/send", data={"csrf": csrf, "text": "welcome, Ana", "ttl": ""})
        eventually(lambda: "welcome, Ana" in ana.get(group).text, "Ana reading Fay's first message")
        print(f"setup: node, two apps, a group of two in {time.perf_counter() - started:.1f} s", flush=True)

        t = time.perf_counter()
        library = trio.run(library_latencies, node, tmp, n)
        lib = summary(library)
        print(
            f"library alone: {n} messages in {time.perf_counter() - t:.1f} s; median {lib['median_ms']:.1f} ms,"
            f" p95 {lib['p95_ms']:.1f} ms",
            flush=True,
        )
        t = time.perf_counter()
        through_app, to_event, gets = app_latencies(fay, ana_app, csrf, group, gid, n)
        app = summary(through_app)
        app["event_median_ms"] = 1000 * statistics.median(to_event)
        app["page_gets_per_message"] = gets / (WARM_UP + n)
        print(
            f"through the app: {n} messages in {time.perf_counter() - t:.1f} s; median {app['median_ms']:.1f} ms,"
            f" p95 {app['p95_ms']:.1f} ms (the change event: median {app['event_median_ms']:.1f} ms;"
            f" {app['page_gets_per_message']:.1f} page GETs per message)",
            flush=True,
        )

        t = time.perf_counter()
        have = messages_on(ana.get(group).text)
        for i in range(PAGE_MESSAGES - have):  # the redirect is not followed: no page rendered per post
            words = {"csrf": csrf, "text": f"filler {i} of the conversation", "ttl": ""}
            if fay.post(group + "/send", data=words, follow_redirects=False).status_code != 303:
                raise RuntimeError("a send form was refused")
        eventually(lambda: messages_on(ana.get(group).text) >= PAGE_MESSAGES, "200 messages on Ana's page", 120, 0.5)
        eventually(lambda: settled(fay.get(group).text), "Fay's outbox emptying", WAIT, 0.5)
        holding = messages_on(ana.get(group).text)
        print(f"filled the conversation to {holding} messages in {time.perf_counter() - t:.1f} s", flush=True)
        pages, sheets, size = render_times(ana, ana_app.origin + "/static/app.css", group, rounds)
        render = {
            "page_ms": 1000 * statistics.median(pages),
            "css_ms": 1000 * statistics.median(sheets),
            "page_bytes": size,
            "messages": holding,
            "rounds": rounds,
        }
        print(
            f"conversation page ({holding} messages, {size:,} bytes): median {render['page_ms']:.1f} ms;"
            f" stylesheet {render['css_ms']:.2f} ms ({rounds} each)",
            flush=True,
        )
        problems = [a.log for a in (fay_app, ana_app) if "Traceback" in a.log.read_text(errors="replace")]
        if problems:
            print(f"note: an app wrote a traceback: {', '.join(str(p) for p in problems)}", flush=True)
        return {"library": lib, "app": app, "render": render, "messages": n}
    finally:
        with closing_all(clients):
            procs.stop_all()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="a smoke run: 10 messages, fewer page loads")
    parser.add_argument("--messages", type=int, default=None, help="messages per latency run (default 50, 10 quick)")
    parser.add_argument("--json", action="store_true", help="also print every figure as one JSON line")
    args = parser.parse_args()
    n = args.messages or (10 if args.quick else 50)
    rounds = 20 if args.quick else 100
    with tempfile.TemporaryDirectory(prefix="holdspace-app-bench-") as tmp:
        f = run(Path(tmp), n, rounds)
    lib, app, render = f["library"], f["app"], f["render"]
    print(
        f"live delivery, app / library: median {app['median_ms']:.1f} / {lib['median_ms']:.1f} ms"
        f" = {app['median_ms'] / lib['median_ms']:.2f}x; p95 {app['p95_ms']:.1f} / {lib['p95_ms']:.1f} ms"
        f" = {app['p95_ms'] / lib['p95_ms']:.2f}x\n"
        f"page render, conversation of {render['messages']} / stylesheet: {render['page_ms']:.1f} /"
        f" {render['css_ms']:.2f} ms = {render['page_ms'] / render['css_ms']:.1f}x"
    )
    if args.json:
        print(json.dumps(f))


if __name__ == "__main__":
    main()
