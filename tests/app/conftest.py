"""Fixtures for the app's tests: a real node process, app processes, and Debian's Chromium.

Browser tests need Chromium at ``/usr/bin/chromium`` (Debian's package; ``tests/install-browser.sh``
installs it, and the README's test command runs that). Without it they fail with that instruction,
unless ``HOLDSPACE_SKIP_BROWSER=1`` says to skip them on purpose.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli.test_cli import HOLDSPACE, ROOT, run, start_node, stop_node

CHROMIUM = os.environ.get("HOLDSPACE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(os.environ.get("HOLDSPACE_ARTIFACTS", ROOT / "artifacts"))
LINK = re.compile(r"(http://127\.0\.0\.1:\d+/s/[\w-]+/enter\?t=\S+)")


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Node:
    directory: Path
    address: str
    proc: subprocess.Popen[str]

    def stop(self) -> None:
        stop_node(self.proc)

    def start(self) -> None:
        self.address, self.proc = start_node(self.directory, init=False)


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    """A node on a fixed port, so that it can be stopped and started again at the same address."""
    directory = tmp_path / "node"
    run("node", "init", str(directory), "--listen", f"127.0.0.1:{free_udp_port()}")
    address, proc = start_node(directory, init=False)
    found = Node(directory, address, proc)
    yield found
    found.stop()


@dataclass
class App:
    home: Path
    link: str
    proc: subprocess.Popen[str]
    log: Path  # the app's standard error

    def problems(self) -> str:
        """Tracebacks the app wrote (a page that failed, a task that crashed): none is expected."""
        text = self.log.read_text(errors="replace")
        return text if "Traceback" in text else ""

    @property
    def base(self) -> str:
        """This launch's root: every page's URL starts with it (``http://127.0.0.1:PORT/s/SECRET``)."""
        return self.link.split("/enter")[0]

    @property
    def origin(self) -> str:
        return self.link.split("/s/")[0]

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=20)
        assert self.proc.stdout is not None
        self.proc.stdout.close()


def start_app(home: Path, *extra: str) -> App:
    env = {key: value for key, value in os.environ.items() if key != "HOLDSPACE_PASSPHRASE"}
    env["TZ"] = "UTC"
    home.mkdir(parents=True, exist_ok=True)
    log = home.parent / f"{home.name}-app.log"
    with log.open("a") as stderr:
        proc = subprocess.Popen(
            [*HOLDSPACE, "--home", str(home), "app", "--no-browser", *extra],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    found = LINK.search(line)
    assert found, f"the app printed no link: {line!r}; {log.read_text()}"
    return App(home, found.group(1), proc, log)


@pytest.fixture
def apps() -> Iterator[list[App]]:
    """App processes started by a test, stopped at its end."""
    started: list[App] = []
    yield started
    for app in started:
        app.stop()
    for app in started:
        assert not app.problems(), app.problems()


def chromium_or_skip() -> str:
    if os.environ.get("HOLDSPACE_SKIP_BROWSER") == "1":
        pytest.skip("HOLDSPACE_SKIP_BROWSER=1: browser tests skipped on purpose")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.fail(f"Chromium is not at {CHROMIUM}: run 'sh tests/install-browser.sh' (Debian's chromium package)")
    return CHROMIUM
