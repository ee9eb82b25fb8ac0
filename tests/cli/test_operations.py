"""An operator's safety net, on a running node process: backup while it serves, restore checked entry by
entry, status, and the optional Prometheus endpoint."""

from __future__ import annotations

import json
import socket
import urllib.request
from pathlib import Path

import pytest

from holdspace.node.core import from_record
from holdspace.node.metrics import MetricsError, serve_metrics
from holdspace.node.operations import OperationError, backup, restore
from holdspace.node.store import Store
from tests.cli.test_cli import run, start_node, stop_node


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def records(store_dir: Path) -> dict[bytes, bytes]:
    with Store.open(store_dir) as store:
        return {r.entry_id: r.raw for g in store.groups() for _, r in store.iter_group(g, 0, 10**6)}


def test_backup_while_running_restore_and_status(tmp_path: Path) -> None:
    node_dir = tmp_path / "node"
    port = free_tcp_port()
    address, proc = start_node(node_dir, "--metrics", str(port))
    try:
        fay, ana = tmp_path / "fay", tmp_path / "ana"
        run("id", "new", "--node", address, home=fay)
        run("id", "new", "--node", address, home=ana)
        run("group", "create", "circle", home=fay)
        run("group", "join", run("group", "invite", "circle", home=fay).stdout.strip(), "--name", "circle", home=ana)
        for i in range(5):
            run("send", "circle", f"message {i}", home=fay)
        redacted = json.loads(run("read", "circle", "--json", home=fay).stdout.splitlines()[-1])
        run("redact", "circle", redacted["id"][:8], home=fay)

        status = json.loads(run("node", "status", str(node_dir), "--json").stdout)
        assert status["running"] and status["address"] == address
        assert status["groups"] == 1 and status["entries"] >= 10 and status["store_bytes"] > 0

        out = run("node", "backup", str(node_dir), str(tmp_path / "backup")).stdout
        assert "backup written" in out
        run("send", "circle", "after the backup", home=ana)  # the node kept serving

        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
        stored = next(line for line in text.splitlines() if line.startswith("holdspace_entries_stored_total"))
        assert float(stored.split()[-1]) >= 11
        assert "holdspace_groups 1.0" in text
        assert 'holdspace_refused_total{code="' not in text or "source=" in text
        assert b"message" not in text.encode()  # figures only, no content

        refused = run("node", "backup", str(node_dir), str(tmp_path / "backup"), check=False)
        assert refused.returncode == 1 and "node.backup_exists" in refused.stderr
    finally:
        stop_node(proc)
    assert not json.loads(run("node", "status", str(node_dir), "--json").stdout)["running"]

    out = run("node", "restore", str(tmp_path / "backup"), str(tmp_path / "restored")).stdout
    assert "verified" in out
    original, restored = records(node_dir / "store"), records(tmp_path / "restored" / "store")
    assert len(restored) == len(original) - 1  # everything but what came after the backup
    assert all(original[eid] == raw for eid, raw in restored.items())  # byte for byte
    with Store.open(tmp_path / "restored" / "store") as store:
        husk = store.get(bytes.fromhex(redacted["id"]))
        assert husk is not None and from_record(husk).payload is None  # the redaction is in the backup
    # the restored node runs, with the same key, and holds the same group
    address2, proc2 = start_node(tmp_path / "restored", init=False)
    try:
        assert address2.split("@")[0] == address.split("@")[0]
        status = json.loads(run("node", "status", str(tmp_path / "restored"), "--json").stdout)
        assert status["running"] and status["groups"] == 1 and status["entries"] == len(restored)
    finally:
        stop_node(proc2)
    refused = run("node", "restore", str(tmp_path / "backup"), str(tmp_path / "restored"), check=False)
    assert refused.returncode == 1 and "node.restore_target_not_empty" in refused.stderr


def test_a_tampered_backup_is_refused_on_restore(tmp_path: Path) -> None:
    run("node", "init", str(tmp_path / "node"), "--listen", "127.0.0.1:0")
    with Store.open(tmp_path / "node" / "store"):
        pass
    backup(tmp_path / "node", tmp_path / "b")
    manifest = json.loads((tmp_path / "b" / "backup.json").read_text())
    manifest["entries"] = 7
    (tmp_path / "b" / "backup.json").write_text(json.dumps(manifest))
    with pytest.raises(OperationError) as err:
        restore(tmp_path / "b", tmp_path / "r")
    assert err.value.code == "node.restore_mismatch"
    with pytest.raises(OperationError) as err:
        restore(tmp_path / "node", tmp_path / "r2")
    assert err.value.code == "node.not_a_backup"


def test_the_metrics_endpoint_listens_on_loopback_only() -> None:
    with pytest.raises(MetricsError):
        serve_metrics(None, None, free_tcp_port(), host="0.0.0.0")  # type: ignore[arg-type]


def test_operations_on_a_directory_that_holds_no_node_give_a_code(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    for args in (("status", str(tmp_path / "empty")), ("backup", str(tmp_path / "empty"), str(tmp_path / "b"))):
        result = run("node", *args, check=False)
        assert result.returncode == 1
        assert result.stderr.startswith("error: node.not_a_node:"), result.stderr
    with pytest.raises(MetricsError) as err:
        serve_metrics(None, None, free_tcp_port(), host="10.0.0.1")  # type: ignore[arg-type]
    assert err.value.code == "node.metrics_not_loopback"
