"""Recovery from the CLI: the key is shown once, the backup restores the identity and its groups."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from holdspace.clients.cli import cli
from holdspace.clients.participant import GroupRecord, Participant
from holdspace.clients.recovery import make_recovery_key, restore, write_backup
from holdspace.protocol.backup import WORDLIST, parse_words
from holdspace.protocol.errors import HoldspaceError

PASS = {"HOLDSPACE_PASSPHRASE": "correct horse battery staple"}


def invoke(home: Path, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--home", str(home), *args], input=stdin, env=PASS)
    return result.exit_code, result.output


def test_show_key_once_then_restore_elsewhere(tmp_path: Path) -> None:
    home, new_home = tmp_path / "phone", tmp_path / "new-phone"
    me = Participant.create(home, PASS["HOLDSPACE_PASSPHRASE"], None)
    me.groups[b"\x07" * 32] = GroupRecord(b"\x07" * 32, b"ctx-7", "Tuesday circle", 4, b"\x08" * 32)
    me.save()
    code, out = invoke(home, "recovery", "show-key")
    assert code == 0, out
    assert "will NOT be shown again" in out
    words = " ".join(re.findall(r"^    (.+)$", out, re.M))
    assert len(words.split()) == 13
    code, again = invoke(home, "recovery", "show-key")
    assert code != 0 and "client.recovery_shown" in again and words.split()[0] not in again.split("\n", 1)[1]
    backup = home / "holdspace.backup"
    assert me.master not in backup.read_bytes()
    # --new replaces the key: the old words do not open the new backup
    code, out = invoke(home, "recovery", "show-key", "--new", "--out", str(tmp_path / "new.backup"))
    assert code == 0, out
    with pytest.raises(HoldspaceError) as info:
        restore(tmp_path / "x", "p", words, (tmp_path / "new.backup").read_bytes())
    assert info.value.code == "backup.bad_key"

    code, out = invoke(new_home, "recovery", "restore", str(backup), stdin=words + "\n")
    assert code == 0, out
    back = Participant.load(new_home, PASS["HOLDSPACE_PASSPHRASE"])
    assert back.master == me.master
    record = back.groups[b"\x07" * 32]
    assert (record.context, record.name, record.seq, record.prev) == (b"ctx-7", "Tuesday circle", 4, b"\x08" * 32)
    assert back.pseudonym(record).public_key == me.pseudonym(me.groups[b"\x07" * 32]).public_key
    # the same recovery key keeps sealing backups on the restored device
    write_backup(back, tmp_path / "again.backup")
    assert restore(tmp_path / "third", "p", words, (tmp_path / "again.backup").read_bytes()).master == me.master


def test_restore_refuses_wrong_or_mistyped_words(tmp_path: Path) -> None:
    me = Participant.create(tmp_path / "a", "p", None)
    words = make_recovery_key(me)
    write_backup(me, tmp_path / "b")
    sealed = (tmp_path / "b").read_bytes()
    other = make_recovery_key(Participant.create(tmp_path / "c", "p", None))
    with pytest.raises(HoldspaceError) as info:
        restore(tmp_path / "d", "p", " ".join(other), sealed)
    assert info.value.code == "backup.bad_key"
    # one word replaced by its neighbour in the list: caught by the checksum (1 in 2^15 would not be:
    # then the next neighbour is tried, so the test does not depend on the random key)
    for shift in (1, 2, 3):
        mistyped = [*words[:3], WORDLIST[(WORDLIST.index(words[3]) + shift) % 2048], *words[4:]]
        try:
            parse_words(" ".join(mistyped))
        except HoldspaceError:
            break
    with pytest.raises(HoldspaceError) as info:
        restore(tmp_path / "e", "p", " ".join(mistyped), sealed)
    assert info.value.code == "recovery.bad_checksum"
    assert not (tmp_path / "d" / "holdspace.keys").exists() and not (tmp_path / "e" / "holdspace.keys").exists()


def test_backup_needs_a_recovery_key(tmp_path: Path) -> None:
    Participant.create(tmp_path, PASS["HOLDSPACE_PASSPHRASE"], None)
    code, out = invoke(tmp_path, "recovery", "backup")
    assert code != 0 and "client.no_recovery_key" in out
