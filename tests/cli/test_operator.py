"""An operator's node over the real CLI: logs (JSON lines, peer links, refusals, reloads) that never name
a person or hold words, node.toml refused with its key named, a public address, and SIGHUP taking peers
and blocks without a restart."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from holdspace.node.config import parse_node_id
from holdspace.protocol.identity import parse_pseudonym_id
from tests.cli.test_cli import HOLDSPACE, ROOT, run, stop_node

SECRET = "the words of a heavy week stay between us"


def start(directory: Path, log: IO[str], *extra: str) -> tuple[str, subprocess.Popen[str]]:
    """``node run`` on an initialised directory, its stderr (the logs) into ``log``; returns its address."""
    env = {**os.environ, "HOLDSPACE_PASSPHRASE": "correct horse battery staple"}
    proc = subprocess.Popen(
        [*HOLDSPACE, "node", "run", str(directory), *extra],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert "holdspace://" in line, line
    return line.split()[-1], proc


def wait_for(condition: Callable[[], bool], what: str, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def connected(directory: Path) -> list[str]:
    status = directory / "status.json"
    return json.loads(status.read_text())["peers_connected"] if status.exists() else []


def test_logs_peer_links_refusals_and_reloads_without_naming_anyone(tmp_path: Path) -> None:
    a_dir, b_dir = tmp_path / "a", tmp_path / "b"
    run("node", "init", str(a_dir), "--listen", "127.0.0.1:0")
    run("node", "init", str(b_dir), "--listen", "127.0.0.1:0")
    a_log_path = tmp_path / "a.log"
    with a_log_path.open("w") as a_log, (tmp_path / "b.log").open("w") as b_log:
        a_address, a = start(a_dir, a_log, "--log-level", "debug", "--log-format", "json")
        b_address, b = start(b_dir, b_log)
        a_id, b_id = (addr.removeprefix("holdspace://").split("@")[0] for addr in (a_address, b_address))
        try:
            fay = tmp_path / "fay"
            run("id", "new", "--node", a_address, home=fay)
            run("group", "create", "lanternmoth", home=fay)
            run("send", "lanternmoth", SECRET, home=fay)
            rows = [json.loads(line) for line in run("read", "lanternmoth", "--json", home=fay).stdout.splitlines()]
            group = json.loads(run("groups", "--json", home=fay).stdout)[0]["group"]

            # a peer added to node.toml is linked to on SIGHUP, without a restart
            run("node", "peer", "add", str(a_dir), b_address)
            a.send_signal(signal.SIGHUP)
            wait_for(lambda: b_id in connected(a_dir), "the new peer link")
            # a block is taken on SIGHUP too: the link goes, and the blocked node is refused when it dials
            run("node", "peer", "block", str(a_dir), b_id)
            a.send_signal(signal.SIGHUP)
            wait_for(lambda: b_id not in connected(a_dir), "the blocked peer's link to end", within=30)
            run("node", "peer", "add", str(b_dir), a_address)
            b.send_signal(signal.SIGHUP)
            wait_for(
                lambda: "refused a connection from peer" in a_log_path.read_text(), "a refusal of the blocked peer"
            )
            # a broken file on SIGHUP changes nothing and says why; the node keeps serving
            good = (a_dir / "node.toml").read_text()
            (a_dir / "node.toml").write_text(good + "listen_prot = 1\n")
            a.send_signal(signal.SIGHUP)
            wait_for(lambda: "not reloaded" in a_log_path.read_text(), "the refused reload")
            assert a.poll() is None
        finally:
            stop_node(a)
            stop_node(b)
    assert a.returncode == 0

    text = a_log_path.read_text()
    records = [json.loads(line) for line in text.splitlines()]  # one JSON object per line, every line
    messages = [r["msg"] for r in records]
    b_short = parse_node_id(b_id).hex()[:16]

    def logged(fragment: str, level: str) -> bool:
        return any(fragment in r["msg"] and r["level"] == level for r in records)

    assert logged(f"node {a_id} started", "info")
    assert logged(f"linked to peer {b_short}", "info")
    assert logged(f"blocked node {b_id}", "info")
    assert logged("node.toml reloaded: 1 peer(s) added, 0 blocked", "info")
    assert logged(f"refused a connection from peer {b_short}: fed.blocked", "info")
    assert logged("node.toml not reloaded, nothing changed: config.unknown_key", "error")
    assert logged("stopping (SIGTERM)", "info") and messages[-1] == "node stopped"
    assert any(r["logger"] == "quic" for r in records), "aioquic's lines go through the same logging"

    # what links a person, and what they wrote, is nowhere in the log, even at debug
    pseudonym = rows[0]["author"]
    forbidden = {
        "plaintext": SECRET,
        "group name": "lanternmoth",
        "pseudonym": pseudonym,
        "pseudonym key": parse_pseudonym_id(pseudonym).hex()[:16],
        "group id": group[:16],
        **{f"entry id {i}": row["id"][:16] for i, row in enumerate(rows)},
    }
    lowered = text.lower()
    for what, value in forbidden.items():
        assert value.lower() not in lowered, f"the log holds a {what}"


def test_config_errors_name_the_key_and_the_public_address_is_printed(tmp_path: Path) -> None:
    node = tmp_path / "node"
    run("node", "init", str(node), "--listen", "0.0.0.0:0", "--public", "node.example.org:4433")
    config = node / "node.toml"
    good = "# our node: ask Sam first\n" + config.read_text()

    config.write_text(good.replace("listen_port = 0", "listen_port = 99999"))  # used to listen on 34463
    refused = run("node", "run", str(node), check=False)
    assert refused.returncode == 1 and refused.stderr.startswith("error: config.invalid: ")
    assert "listen_port" in refused.stderr and "Traceback" not in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1

    config.write_text(good + "peers = [\n")  # a syntax error used to print a traceback
    refused = run("node", "config", "check", str(node), check=False)
    assert refused.returncode == 1 and refused.stderr.startswith("error: config.syntax: ")
    assert "Traceback" not in refused.stderr

    config.write_text(good)
    assert "valid" in run("node", "config", "check", str(node)).stdout
    peer = "holdspace://hsn1enwdnkqh8asn4lagu3dqtyk4n9l9fhevgccqsg6fe24hvlql4nmsqtyqzj@127.0.0.1:4434"
    run("node", "peer", "add", str(node), peer)
    assert "# our node: ask Sam first" in config.read_text()  # `peer add` used to wipe comments
    assert json.loads(run("node", "peer", "list", str(node), "--json").stdout) == {"peers": [peer], "blocked": []}
    assert "peer removed" in run("node", "peer", "remove", str(node), peer).stdout
    assert "not blocked" in run("node", "peer", "unblock", str(node), peer).stdout

    with (tmp_path / "log").open("w") as log:
        address, proc = start(node, log)  # listens on 0.0.0.0, prints what others dial
        stop_node(proc)
    assert address.endswith("@node.example.org:4433"), address
