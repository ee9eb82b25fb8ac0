"""An operator's maintenance of a stopped (or running) node: a failed restore leaves nothing that runs, the
integrity check names what is wrong, compaction gives free pages back, a store of an unknown format is one
line at ``node run``, and the health check says why a node is not ready."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import lmdb
import pytest
from click.testing import CliRunner, Result

from holdspace.clients.cli import cli as main_cli
from holdspace.node.liveness import STATUS, LiveStatus, OperationError, health, node_lock
from holdspace.node.store import Store
from tests.cli.test_cli import HOLDSPACE, ROOT
from tests.store._helpers import ident, make_entry

FIXTURE = ROOT / "tests" / "store" / "fixtures" / "v1-node"
PASSPHRASE = "correct horse battery staple"


def cli(*args: str) -> Result:
    return CliRunner().invoke(main_cli, list(args), env={"HOLDSPACE_PASSPHRASE": PASSPHRASE}, obj={})


def node_dir(tmp_path: Path) -> Path:
    """A stopped node holding real entries (the format 1 fixture, migrated)."""
    directory = tmp_path / "node"
    shutil.copytree(FIXTURE, directory, ignore=shutil.ignore_patterns("expected.json"))
    migrated = cli("node", "migrate", str(directory))
    assert migrated.exit_code == 0 and "migrated from format 1" in migrated.stdout, migrated.output
    return directory


def alter_body(store_dir: Path, index: int = 0, offset: int = -1) -> bytes:
    """Flip one byte of a stored record's bytes in place (LMDB stays valid); returns the entry's id."""
    env = lmdb.open(str(store_dir), max_dbs=16, lib_version=0)
    try:
        with env.begin(write=True) as txn:
            bodies = env.open_db(b"bodies", txn=txn, create=False)
            key, value = list(txn.cursor(db=bodies))[index]
            value = bytearray(value)
            value[offset] ^= 0x01
            txn.put(key, bytes(value), db=bodies)
            return bytes(value[1 + 32 + 32 + 8 + 4 : 1 + 32 + 32 + 8 + 4 + 32])
    finally:
        env.close()


def test_a_failed_restore_leaves_nothing_that_runs(tmp_path: Path) -> None:
    directory = node_dir(tmp_path)
    assert cli("node", "backup", str(directory), str(tmp_path / "backup")).exit_code == 0
    alter_body(tmp_path / "backup" / "store")  # a backup damaged after it was made: its manifest still says
    for target in (tmp_path / "restored", tmp_path / "empty"):
        if target.name == "empty":
            target.mkdir()
        refused = cli("node", "restore", str(tmp_path / "backup"), str(target))
        assert refused.exit_code == 1 and refused.stderr.startswith("error: node.restore_mismatch:"), refused.output
        assert not target.exists() or not any(target.iterdir())  # untouched: nothing copied, nothing half-restored
        assert cli("node", "run", str(target)).exit_code != 0  # so nothing starts and serves
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # the staging directory is gone


def test_the_integrity_check_names_what_is_wrong(tmp_path: Path) -> None:
    directory = node_dir(tmp_path)
    sound = cli("node", "check", str(directory))
    assert sound.exit_code == 0 and "store sound: 16 entries in 2 groups" in sound.stdout, sound.output
    damaged = alter_body(directory / "store", index=3, offset=-3)
    env = lmdb.open(str(directory / "store"), max_dbs=16, lib_version=0)
    with env.begin(write=True) as txn:  # and an index that no longer points to its body
        ids = env.open_db(b"ids", txn=txn, create=False)
        lost = bytes(next(iter(txn.cursor(db=ids)))[0])
        txn.delete(lost, db=ids)
    env.close()
    found = cli("node", "check", str(directory))
    assert found.exit_code == 1 and found.stderr.startswith("error: node.check_failed: 3 problem(s)"), found.output
    lines = found.stdout.splitlines()
    assert any(damaged.hex() in line and "entry." in line for line in lines), lines
    assert any(lost.hex() in line and "id index" in line for line in lines), lines
    assert any("index sizes differ" in line for line in lines), lines


def test_compaction_gives_free_pages_back_and_keeps_every_entry(tmp_path: Path) -> None:
    directory = node_dir(tmp_path)
    group, author = ident("g"), ident("a")
    with Store.open(directory / "store") as store:
        entries = [make_entry(group, author, seq, size=4000) for seq in range(1, 301)]
        store.append_batch(entries)
        store.delete_bodies([(e.entry_id, b"gone") for e in entries])
        kept = {e.entry_id: store.get(e.entry_id) for e in entries}
    status = json.loads(cli("node", "status", str(directory), "--json").stdout)
    assert status["store_free_bytes"] > 1_000_000  # the deleted bodies' pages
    out = cli("node", "compact", str(directory))
    assert out.exit_code == 0, out.output
    after = json.loads(cli("node", "status", str(directory), "--json").stdout)
    assert after["store_bytes"] < status["store_bytes"] - 1_000_000
    assert after["store_free_bytes"] < 100_000 and after["entries"] == status["entries"]
    with Store.open(directory / "store") as store:
        assert store.check_integrity() == []
        assert {eid: store.get(eid) for eid in kept} == kept
    assert not (directory / "store.compacting").exists()


def test_an_unknown_store_format_is_one_line_at_node_run(tmp_path: Path) -> None:
    directory = node_dir(tmp_path)
    env = lmdb.open(str(directory / "store"), max_dbs=16, lib_version=0)
    with env.begin(write=True) as txn:
        txn.put(b"format", (99).to_bytes(4, "big"), db=env.open_db(b"sys", txn=txn))
    env.close()
    result = subprocess.run(
        [*HOLDSPACE, "node", "run", str(directory)],
        check=False,
        cwd=ROOT,
        env={**os.environ, "HOLDSPACE_PASSPHRASE": PASSPHRASE},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: node.store_format: store format version 99 is newer"), result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_health_says_why_a_node_is_not_ready(tmp_path: Path) -> None:
    directory = node_dir(tmp_path)
    with pytest.raises(OperationError) as err:
        health(directory)
    assert err.value.code == "node.down"
    with node_lock(directory, "testing"):  # a node that holds its lock but has not reported: starting
        with pytest.raises(OperationError) as err:
            health(directory)
        assert err.value.code == "node.not_ready" and "starting" in err.value.message
        now = time.time()
        LiveStatus(os.getpid(), "holdspace://x", now, 0, [], now - 60).write(directory)  # reported a minute ago
        with pytest.raises(OperationError) as err:
            health(directory)
        assert err.value.code == "node.not_ready" and "stalled" in err.value.message
        LiveStatus(os.getpid(), "holdspace://x", now, 0, [], now).write(directory)
        assert health(directory).startswith("ok: node running at holdspace://x")
    LiveStatus(2**22 + 12345, "holdspace://x", now, 0, [], now).write(directory)  # no such process
    with pytest.raises(OperationError) as err:
        health(directory)
    assert err.value.code == "node.down" and "gone" in err.value.message
    (directory / STATUS).unlink()


def test_bad_input_to_the_maintenance_commands_gets_its_code(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    for command in ("check", "compact", "migrate", "run"):
        result = cli("node", command, str(tmp_path / "empty"))
        assert result.exit_code == 1 and result.stderr.startswith("error: node.not_a_node:"), (command, result.output)
    assert not (tmp_path / "empty" / "node.lock").exists()  # nothing written into a directory that holds no node
    backup = tmp_path / "backup"
    (backup / "store").mkdir(parents=True)
    (backup / "store" / "data.mdb").write_bytes(b"")
    for manifest in ("not json", "[1, 2]", '{"format": 7}'):
        (backup / "backup.json").write_text(manifest)
        result = cli("node", "restore", str(backup), str(tmp_path / "restored"))
        assert result.exit_code == 1 and result.stderr.startswith("error: node.not_a_backup:"), result.output
    assert not (tmp_path / "restored").exists()
