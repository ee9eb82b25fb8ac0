"""Admission, budgets and moderation as an operator and a participant meet them, over the real CLI and a
running node: a token to start a group, a used-up token, the abuse contact, a full group, the list of
groups, a refused group taken on SIGHUP, and a drop that needs the node stopped."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from click.testing import CliRunner, Result

from holdspace.clients.cli import cli
from holdspace.node.config import read_config
from tests.cli.test_cli import start_node, stop_node

PASSPHRASE = {"HOLDSPACE_PASSPHRASE": "correct horse battery staple"}


def run(*args: str, home: Path | None = None, check: bool = True) -> Result:
    """A ``holdspace`` command run in this process (the node it talks to is a real one, apart)."""
    home_args = ["--home", str(home)] if home else []
    result = CliRunner(env=PASSPHRASE).invoke(cli, [*home_args, *args], obj={}, catch_exceptions=False)
    if check and result.exit_code != 0:
        raise AssertionError(f"{args} failed: {result.stderr}")
    return result


def _set(directory: Path, old: str, new: str) -> None:
    path = directory / "node.toml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))


def _until(check, what: str, within: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_an_operator_admits_caps_lists_refuses_and_drops_groups(tmp_path: Path) -> None:
    node_dir, fay = tmp_path / "node", tmp_path / "fay"
    run("node", "init", str(node_dir), "--listen", "127.0.0.1:0")
    _set(node_dir, 'create = "open"', 'create = "token"')
    _set(node_dir, '# contact = "mailto:abuse@example.org"', 'contact = "mailto:abuse@example.org"')
    address, proc = start_node(node_dir, init=False)
    try:
        run("id", "new", "--node", address, home=fay)
        refused = run("group", "create", "circle", home=fay, check=False)
        assert refused.exit_code == 1 and "admission.token_required" in refused.stderr
        assert "ask the operator for one" in refused.stderr  # plain words, not only a code
        assert json.loads(run("groups", "--json", home=fay).stdout) == []  # the refused group is nowhere

        token = run("node", "token", "new", str(node_dir), "--uses", "1", "--label", "for fay").stdout.strip()
        assert token.startswith("hstoken:")
        run("group", "create", "circle", "--node-token", token, home=fay)
        again = run("group", "create", "second", "--node-token", token, home=fay, check=False)
        assert "admission.token_used_up" in again.stderr
        (listed,) = json.loads(run("node", "token", "list", str(node_dir), "--json").stdout)
        assert (listed["uses"], listed["max_uses"], listed["label"], listed["state"]) == (1, 1, "for fay", "used up")
        assert token[8:] not in (node_dir / "store" / "data.mdb").read_bytes().decode("latin-1")  # hash only

        assert "mailto:abuse@example.org" in run("contact", home=fay).stdout

        (group,) = json.loads(run("node", "groups", "list", str(node_dir), "--json").stdout)
        assert group["id"].startswith("hsg1") and group["entries"] >= 2 and group["bytes"] > 0
        assert not group["refused"]

        # a full group: the message is refused in plain words and kept in the outbox
        _set(node_dir, '# max_group_bytes = "1GiB"', f"max_group_bytes = {max(group['bytes'] + 64, 1024)}")
        proc.send_signal(signal.SIGHUP)
        _until(lambda: "quota.group_full" in run("send", "circle", "hello", home=fay, check=False).stderr, "full")
        full = run("send", "circle", "hello", home=fay, check=False)
        assert "kept in your outbox" in full.stderr

        # refused on SIGHUP: its member here is refused with a typed code
        run("node", "groups", "refuse", str(node_dir), group["id"])
        proc.send_signal(signal.SIGHUP)
        _until(lambda: "admission.group_refused" in run("read", "circle", home=fay, check=False).stderr, "refusal")

        busy = run("node", "groups", "drop", str(node_dir), group["id"], "--yes", check=False)
        assert "node.running" in busy.stderr
    finally:
        stop_node(proc)
    dropped = run("node", "groups", "drop", str(node_dir), group["id"], "--yes").stdout
    assert "dropped" in dropped
    assert json.loads(run("node", "groups", "list", str(node_dir), "--json").stdout) == []
    assert read_config(node_dir).policy().refused  # still refused: it does not come back
