"""The holdspace command, as an operator and two participants use it: real processes, real QUIC."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

HOLDSPACE = [sys.executable, "-m", "holdspace"]
ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, home: Path | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOLDSPACE_PASSPHRASE": "correct horse battery staple"}
    cmd = [*HOLDSPACE, *(["--home", str(home)] if home else []), *args]
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"{args} failed: {result.stderr}")
    return result


def start_node(directory: Path, *extra: str, init: bool = True) -> tuple[str, subprocess.Popen[str]]:
    """``node init`` (unless the directory holds a node already) and ``node run`` with ``extra`` options;
    returns the address it prints and the process."""
    if init:
        run("node", "init", str(directory), "--listen", "127.0.0.1:0")
    env = {**os.environ, "HOLDSPACE_PASSPHRASE": "correct horse battery staple"}
    proc = subprocess.Popen(
        [*HOLDSPACE, "node", "run", str(directory), *extra], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert "holdspace://" in line, line
    return line.split()[-1], proc


def stop_node(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    assert proc.stdout is not None
    proc.stdout.close()


@pytest.fixture
def node_address(tmp_path: Path):
    address, proc = start_node(tmp_path / "node")
    yield address, proc
    stop_node(proc)


def test_two_communities_share_a_group(tmp_path: Path) -> None:
    river, river_proc = start_node(tmp_path / "riverside")
    hill, hill_proc = start_node(tmp_path / "hillview")
    try:
        fay, bo = tmp_path / "fay", tmp_path / "bo"
        run("id", "new", "--node", river, home=fay)
        run("id", "new", "--node", hill, home=bo)
        run("group", "create", "circle", home=fay)
        token = run("group", "invite", "circle", home=fay).stdout.strip()
        run("group", "join", token, "--name", "circle", home=bo)  # through Hillview, which fetches the group
        hosts = run("group", "hosts", "circle", home=fay).stdout.split()
        assert sorted(hosts) == sorted([river, hill])
        run("send", "circle", "Welcome, Bo.", home=fay)
        deadline = time.monotonic() + 30
        while "Welcome, Bo." not in run("read", "circle", home=bo).stdout:
            assert time.monotonic() < deadline, "the message never reached Bo's node"
            time.sleep(0.3)
        run("send", "circle", "Thank you, from Hillview.", home=bo)
        deadline = time.monotonic() + 30
        while "Thank you, from Hillview." not in run("read", "circle", home=fay).stdout:
            assert time.monotonic() < deadline, "Bo's message never reached Fay's node"
            time.sleep(0.3)
    finally:
        stop_node(river_proc)
        stop_node(hill_proc)


def test_operator_adds_and_blocks_peers(tmp_path: Path) -> None:
    run("node", "init", str(tmp_path / "node"), "--listen", "127.0.0.1:4433")
    peer = "holdspace://hsn1enwdnkqh8asn4lagu3dqtyk4n9l9fhevgccqsg6fe24hvlql4nmsqtyqzj@127.0.0.1:4434"
    assert "; 1 peer, " in run("node", "peer", "add", str(tmp_path / "node"), peer).stdout
    config = (tmp_path / "node" / "node.toml").read_text()
    assert peer in config
    run("node", "peer", "block", str(tmp_path / "node"), peer.split("@", maxsplit=1)[0].removeprefix("holdspace://"))
    config = (tmp_path / "node" / "node.toml").read_text()
    assert peer not in config and "hsn1enwdnkqh8asn4lagu3dqtyk4n9l9fhevgccqsg6fe24hvlql4nmsqtyqzj" in config
    bad = run("node", "peer", "add", str(tmp_path / "node"), "holdspace://nonsense@x:1", check=False)
    assert bad.returncode == 1 and bad.stderr.startswith("error: ")


def test_operator_and_participants(tmp_path: Path, node_address) -> None:
    address, proc = node_address
    fay, ana = tmp_path / "fay", tmp_path / "ana"
    run("id", "new", "--node", address, home=fay)
    run("id", "new", "--node", address, home=ana)
    run("group", "create", "Thursday circle", home=fay)
    token = run("group", "invite", "thursday circle", "--uses", "1", home=fay).stdout.strip()
    assert token.startswith("hsinvite:")
    run("group", "join", token, home=ana)  # no name given: the invite carries the group's
    run("send", "thursday circle", "Welcome, Ana.", home=fay)
    welcome = json.loads(run("read", "thursday circle", "--json", home=ana).stdout.splitlines()[0])
    assert welcome["text"] == "Welcome, Ana." and welcome["role"] == "facilitator", welcome
    run("group", "my-name", "thursday circle", "Ana", home=ana)
    run("reply", "thursday circle", welcome["id"][:8], "Thank you,", home=ana)
    mine = json.loads(run("read", "thursday circle", "--json", home=ana).stdout.splitlines()[-1])
    run("edit", "thursday circle", mine["id"][:8], "Thank you.", home=ana)
    lines = run("read", "thursday circle", "--json", home=fay).stdout.splitlines()
    rows = [json.loads(line) for line in lines]
    assert [r["text"] for r in rows] == ["Welcome, Ana.", "Thank you."]
    assert rows[1]["name"] == "Ana" and rows[1]["edited"] and rows[1]["reply_to"] == welcome["id"]
    members = json.loads(run("group", "members", "thursday circle", "--json", home=fay).stdout)
    assert sorted(m["role"] for m in members) == ["facilitator", "member"]
    ana_id = next(m["pseudonym"] for m in members if m["role"] == "member")
    run("group", "remove", "thursday circle", ana_id, home=fay)
    run("send", "thursday circle", "After Ana left.", home=fay)
    assert "After Ana left." not in run("read", "thursday circle", home=ana).stdout
    groups = json.loads(run("groups", "--json", home=ana).stdout)
    assert groups[0]["name"] == "Thursday circle"  # the group's own name, not null, not an id
    # the node stops cleanly on SIGTERM
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0


def test_errors_are_one_line_with_a_code(tmp_path: Path, node_address) -> None:
    address, _ = node_address
    home = tmp_path / "someone"
    result = run("read", "anything", home=home, check=False)
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: client.no_identity:")
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    run("id", "new", "--node", address, home=home)
    bad = run("group", "join", "hsinvite:AAAA", home=home, check=False)
    assert bad.returncode == 1 and bad.stderr.startswith("error: address.bad_invite:")
    wrong = subprocess.run(
        [*HOLDSPACE, "--home", str(home), "groups"],
        cwd=ROOT,
        env={**os.environ, "HOLDSPACE_PASSPHRASE": "wrong"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert wrong.returncode == 1 and wrong.stderr.startswith("error: keyfile.bad_passphrase:")
    malformed = run("id", "new", "--node", "holdspace://nope", home=tmp_path / "x", check=False)
    assert malformed.returncode == 1 and malformed.stderr.startswith("error: address.malformed:")


def test_storage_shows_and_sets_the_budget(tmp_path: Path) -> None:
    home = tmp_path / "ana"
    run("id", "new", home=home)
    shown = json.loads(run("storage", "--json", home=home).stdout)
    assert shown["budget"] == 512 * 2**20 and shown["messages"] == 0 and shown["pruned"] == 0
    assert shown["used"] >= 0 and shown["damaged"] == 0
    assert json.loads(run("storage", "--budget", "64MiB", "--json", home=home).stdout)["budget"] == 64 * 2**20
    assert "budget:   67,108,864 bytes" in run("storage", home=home).stdout
    for bad in ("lots", "-5MiB", "12 parsecs", "1000"):
        refused = run("storage", "--budget", bad, home=home, check=False)
        assert refused.returncode != 0 and "client.bad_argument" in refused.stderr, refused.stderr
    assert json.loads(run("storage", "--json", home=home).stdout)["budget"] == 64 * 2**20
