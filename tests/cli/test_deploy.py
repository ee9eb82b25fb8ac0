"""What of the service and container definitions this machine can run: the systemd unit through
``systemd-analyze verify``, and the container's entrypoint and health check run directly (no container
runtime is assumed; building the image is not tested here)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from holdspace.clients.cli import cli as main_cli
from tests.cli.test_cli import ROOT

DEPLOY = ROOT / "docs" / "deploy"
VENV_BIN = Path(sys.executable).parent
PASSPHRASE = "correct horse battery staple"


def test_the_systemd_unit_verifies(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here")
    text = (DEPLOY / "holdspace-node.service").read_text()
    for directive in (
        "Type=notify",
        "User=holdspace",
        "ProtectSystem=strict",
        "StateDirectory=holdspace",
        "Restart=on-failure",
        "LoadCredential=passphrase:",
        "--passphrase-file %d/passphrase",
    ):
        assert directive in text, directive
    # verify checks that ExecStart's program exists: point it at this checkout's command
    unit = tmp_path / "holdspace-node.service"
    unit.write_text(text.replace("/opt/holdspace/bin/holdspace", str(VENV_BIN / "holdspace")))
    result = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False)
    problems = [line for line in result.stderr.splitlines() if "holdspace-node.service" in line]
    assert result.returncode == 0 and not problems, result.stderr


def test_the_container_entrypoint_creates_runs_and_reuses_a_node(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "holdspace_passphrase").write_text(PASSPHRASE)
    node_dir = tmp_path / "data" / "node"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOLDSPACE_")}
    env |= {
        "PATH": f"{VENV_BIN}:{env.get('PATH', '')}",
        "HOLDSPACE_NODE_DIR": str(node_dir),
        "HOLDSPACE_LISTEN": "127.0.0.1:0",
        "CREDENTIALS_DIRECTORY": str(secrets),  # where /run/secrets would be in a container
        "HOLDSPACE_LOG_FORMAT": "text",
    }
    entrypoint = [str(DEPLOY / "entrypoint.sh")]
    with subprocess.Popen(entrypoint, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            lines = [proc.stdout.readline() for _ in range(3)]
            assert lines[0].startswith("node created in") and "listening: holdspace://" in lines[2], lines
            # the image's HEALTHCHECK, with the volume's path replaced by this test's
            containerfile = (DEPLOY / "Containerfile").read_text()
            found = re.search(r"^\s*CMD (\[.*\])$", containerfile, re.M)
            assert found is not None
            program, *args = (arg.replace("/data/node", str(node_dir)) for arg in json.loads(found[1]))
            assert program == "holdspace"
            healthy = CliRunner().invoke(main_cli, args, obj={})  # in this process: no interpreter start-up
            assert healthy.exit_code == 0 and healthy.stdout.startswith("ok: node running"), healthy.output
            proc.send_signal(signal.SIGTERM)  # exec'd: the signal reaches the node itself
            assert proc.wait(timeout=30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.stderr is not None
        assert "creating one" in proc.stderr.read()
    # a second start reuses the node (no new key); without its secret it stops at once, in one line
    (secrets / "holdspace_passphrase").unlink()
    again = subprocess.run(entrypoint, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert again.returncode == 1 and "creating" not in again.stderr
    assert again.stderr.startswith("error: client.passphrase_file: no passphrase file holdspace_passphrase")
    # arguments that are not options run as a command instead (holdspace node status ..., a shell)
    other = subprocess.run([*entrypoint, "sh", "-c", "echo ran"], env=env, capture_output=True, text=True, check=False)
    assert other.returncode == 0 and other.stdout == "ran\n"
