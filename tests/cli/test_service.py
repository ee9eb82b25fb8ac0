"""A node run as a service, over the real CLI: systemd's readiness protocol on a socket the test listens on,
the passphrase from a file, ``status --check``, the node lock, a store of format 1 migrated at start, and
the metrics endpoint with build and process figures, latency histograms and the Grafana dashboard's
queries all answered."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from holdspace.clients.cli import cli as main_cli
from tests.cli.test_cli import HOLDSPACE, ROOT
from tests.cli.test_operations import free_tcp_port

FIXTURE = ROOT / "tests" / "store" / "fixtures" / "v1-node"
DASHBOARD = ROOT / "docs" / "deploy" / "grafana-dashboard.json"
PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def notify_socket() -> Iterator[tuple[socket.socket, str]]:
    """A unix datagram socket standing in for systemd's (a short path: unix socket paths are short)."""
    directory = tempfile.mkdtemp(prefix="hs-notify-", dir="/tmp")
    path = os.path.join(directory, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(60)
    try:
        yield sock, path
    finally:
        sock.close()
        shutil.rmtree(directory)


def next_notice(sock: socket.socket) -> dict[str, str]:
    data = sock.recv(4096).decode()
    return dict(line.split("=", 1) for line in data.splitlines())


def cli(*args: str, env: dict[str, str] | None = None) -> Result:
    """The command in this process (no interpreter start-up: a few ms instead of a second or two)."""
    return CliRunner().invoke(main_cli, list(args), env=env or {"HOLDSPACE_PASSPHRASE": PASSPHRASE}, obj={})


def test_a_node_as_a_service(tmp_path: Path, notify_socket: tuple[socket.socket, str]) -> None:
    sock, sock_path = notify_socket
    node_dir = tmp_path / "node"
    shutil.copytree(FIXTURE, node_dir, ignore=shutil.ignore_patterns("expected.json"))
    secret = tmp_path / "credentials" / "passphrase"
    secret.parent.mkdir()
    secret.write_text(PASSPHRASE + "\n")
    env = {k: v for k, v in os.environ.items() if k != "HOLDSPACE_PASSPHRASE"}
    env |= {"NOTIFY_SOCKET": sock_path, "CREDENTIALS_DIRECTORY": str(secret.parent)}
    port = free_tcp_port()
    with subprocess.Popen(
        [*HOLDSPACE, "node", "run", str(node_dir), "--passphrase-file", "passphrase", "--metrics", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            address = proc.stdout.readline().split()[-1]
            ready = next_notice(sock)
            assert ready["READY"] == "1" and ready["MAINPID"] == str(proc.pid)
            assert address in ready["STATUS"]
            # ready means ready: the health check passes at once, and offline work is refused
            check = cli("node", "status", str(node_dir), "--check")
            assert check.exit_code == 0 and check.stdout.startswith("ok: node running"), check.output
            for args in (("compact", str(node_dir)), ("migrate", str(node_dir)), ("run", str(node_dir))):
                refused = cli("node", *args, env={"NOTIFY_SOCKET": ""})
                assert refused.exit_code == 1 and refused.stderr.startswith("error: node.running:"), refused.output
            status = json.loads(cli("node", "status", str(node_dir), "--json").stdout)
            assert status["store_format"] == 3 and status["entries"] == 16  # migrated at start, nothing lost
            assert status["store_live_bytes"] + status["store_free_bytes"] == status["store_used_bytes"]

            home = tmp_path / "fay"
            assert cli("--home", str(home), "id", "new", "--node", address).exit_code == 0
            assert cli("--home", str(home), "group", "create", "circle").exit_code == 0  # requests of several kinds
            proc.send_signal(signal.SIGHUP)
            assert next_notice(sock)["RELOADING"] == "1"
            assert next_notice(sock)["READY"] == "1"

            text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
            assert re.search(r'^holdspace_build_info\{.*store_format="3".*\} 1\.0$', text, re.M)
            assert re.search(r"^process_resident_memory_bytes \d", text, re.M)
            assert re.search(r'^holdspace_request_seconds_count\{kind="publish"\} [1-9]', text, re.M)
            assert re.search(r'^holdspace_request_seconds_bucket\{kind="inline",le="\+Inf"\} [1-9]', text, re.M)
            assert "holdspace_peers_incoming 0.0" in text
            queried = set(re.findall(r"\b((?:holdspace|process)_[a-z_]+)", DASHBOARD.read_text()))
            families = re.findall(r"^# TYPE (\w+) ", text, re.M)  # a family without samples yet has its TYPE line
            exposed = {f + suffix for f in families for suffix in ("", "_total", "_bucket", "_count", "_sum", "_info")}
            assert queried and queried <= exposed, queried - exposed

            proc.send_signal(signal.SIGTERM)
            assert next_notice(sock)["STOPPING"] == "1"
            assert proc.wait(timeout=30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.stderr is not None
        logs = proc.stderr.read()
    assert "store migrated from format 1" in logs
    down = cli("node", "status", str(node_dir), "--check")
    assert down.exit_code == 1 and down.stderr.startswith("error: node.down:") and down.stderr.count("\n") == 1
    assert "store sound" in cli("node", "check", str(node_dir)).stdout
    assert "store compacted" in cli("node", "compact", str(node_dir)).stdout
