"""The browser client's TypeScript build and tests, run from the project's test command.

In ``clients/web/``: ``npm ci`` (the committed lockfile, exactly), ``tsc --noEmit`` (strict), the
esbuild bundle, and the Node test runner over the compiled tests, which check every vector of the
spec files they cover. Each step must succeed; its output is shown when it does not. Skipped only
when Node.js is not installed (``tests/install-browser.sh`` installs it where it is missing).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from holdspace.protocol import backup, crypto, keyfile
from holdspace.protocol.content import Text, decode_content
from holdspace.protocol.e2ee import open_direct
from holdspace.protocol.entry import decode_stored_entry
from holdspace.protocol.payloads import decode_direct
from tests.web.started_group import check_started_group
from tests.web.web_node import WEB, web_lock

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None, reason="Node.js is not installed: run 'sh tests/install-browser.sh'"
)


def run(*args: str, timeout: float = 120, slow: bool = False) -> subprocess.CompletedProcess[str]:
    """Runs a command in clients/web and fails the test with its output unless it succeeds.

    ``slow`` (pytest's ``--runslow``) sets ``HOLDSPACE_RUNSLOW=1``: the Node tests then run their
    long variants (many random group histories)."""
    env = dict(os.environ, npm_config_update_notifier="false", npm_config_fund="false", NO_COLOR="1")
    if slow:
        env["HOLDSPACE_RUNSLOW"] = "1"
    with web_lock():
        done = subprocess.run(
            list(args), cwd=WEB, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    if done.returncode != 0:
        pytest.fail(
            f"{' '.join(args)} exited with {done.returncode}\n--- stdout ---\n{done.stdout}"
            f"\n--- stderr ---\n{done.stderr}"
        )
    return done


@pytest.fixture(scope="module")
def installed() -> Path:
    """clients/web with its dependencies installed from the lockfile."""
    if shutil.which("npm") is None:
        pytest.fail("npm is not installed: run 'sh tests/install-browser.sh'")
    run("npm", "ci", "--no-audit", "--no-fund")
    return WEB


def test_typescript_is_strict_and_clean(installed: Path) -> None:
    run("npx", "--no-install", "tsc", "--noEmit", "-p", ".")


def test_bundle_builds(installed: Path) -> None:
    bundle = installed / "dist" / "holdspace.js"
    bundle.unlink(missing_ok=True)
    run("npm", "run", "build")
    assert bundle.stat().st_size > 0


def test_node_tests_pass_and_check_every_vector(installed: Path, request: pytest.FixtureRequest) -> None:
    slow = bool(request.config.getoption("--runslow"))
    done = run("npm", "test", timeout=900 if slow else 600, slow=slow)  # a hang, not a speed: loaded machines are slow
    out = done.stdout
    assert "# fail 0" in out, out
    # Every vector file the client covers is read by some test (a deleted test fails here).
    for name in (
        "codec.json",
        "rfc8949-appendix-a.json",
        "entries.json",
        "signatures.json",
        "client_frames.json",
        "admission.json",
        "identity.json",
        "addresses.json",
        "keyfile.json",
        "backup.json",
        "group_conversation.json",
        "group_rules.json",
        "support.json",
        "logs.json",
        "fork_proofs.json",
    ):
        assert f"{name}:" in out, f"no test checks {name}\n{out}"
    # ...and back: what the browser client sealed opens in the Python client.
    sealed = json.loads((installed / "build" / "from-browser.json").read_text())
    assert keyfile.open_secret("browser passphrase ✓", bytes.fromhex(sealed["keyfile"])).hex() == sealed["plaintext"]
    key = backup.backup_key(backup.parse_words(sealed["words"]))
    assert backup.open_backup(key, bytes.fromhex(sealed["backup"])).encode().hex() == sealed["backup_plaintext"]
    check_started_group(installed / "build" / "started-group.json")  # a group the browser started
    # A member's private line (13.5), written by the browser: a direct text a Python facilitator opens,
    # sealed to the facilitators and its author.
    line = json.loads((installed / "build" / "private-line.json").read_text())
    header, payload = bytes.fromhex(line["header"]), bytes.fromhex(line["payload"])
    entry, envelope = decode_stored_entry(header, payload), decode_direct(payload)
    facilitator = bytes.fromhex(line["facilitator"])
    assert [k for k, _ in envelope.sealed] == sorted([facilitator, bytes.fromhex(line["member"])])
    key = crypto.seal_open(bytes.fromhex(line["facilitator_x25519"]), dict(envelope.sealed)[facilitator])
    words = decode_content(open_direct(key, entry.group, entry.author, entry.seq, envelope))
    assert words == Text(line["text"]) and entry.author == bytes.fromhex(line["member"])
