"""Recovery through a real node: a device is lost, the identity is restored from the recovery words
and the backup file, and the group is read again (and written to) from the new device."""

from pathlib import Path

import trio
from click.testing import CliRunner

from holdspace.clients.cli import cli
from holdspace.clients.participant import GroupRecord, Participant
from holdspace.clients.recovery import backup_candidates, make_recovery_key, restore, write_backup
from holdspace.protocol import backup as bk
from holdspace.protocol.address import NodeAddress
from tests.node.conftest import fay_and_ana, session


async def test_restored_identity_reads_the_group_again(tmp_path: Path, node) -> None:
    _, address = node
    async with session(address) as s_fay, session(address) as s_ana:
        (fay, group), (ana, g_ana) = await fay_and_ana(tmp_path, address, s_fay, s_ana)
        words = make_recovery_key(ana)
        write_backup(ana, tmp_path / "ana.backup")
        before = {m.text for m in ana.record(g_ana.group_id).messages}
        assert "welcome" in before

    back = restore(tmp_path / "new-phone", "new pass", " ".join(words), (tmp_path / "ana.backup").read_bytes())
    record = back.record(g_ana.group_id)
    assert record.name == g_ana.name and len(record.messages) == 0
    async with session(address) as s_back, session(address) as s_fay:
        await back.sync(s_back, record)
        assert "welcome" in {m.text for m in back.record(g_ana.group_id).messages}
        await back.send(s_back, record, "Back on a new phone.")
        await fay.sync(s_fay, group)
        assert "Back on a new phone." in {m.text for m in fay.record(group.group_id).messages}


def _cli(home: Path, *args: str, stdin: str | None = None) -> tuple[int, str]:
    env = {"HOLDSPACE_PASSPHRASE": "pass ana"}
    result = CliRunner().invoke(cli, ["--home", str(home), *args], input=stdin, env=env)
    return result.exit_code, result.output


async def test_the_cli_keeps_the_backup_on_the_home_node_and_restores_from_it(tmp_path: Path, node) -> None:
    """spec 14.8 over QUIC: ``recovery backup --to-node`` stores the sealed backup on the home node;
    ``recovery restore --from-node`` on a new device, with the words, gets the same identity back."""
    live, address = node
    async with session(address) as s_fay, session(address) as s_ana:
        _, (ana, g_ana) = await fay_and_ana(tmp_path, address, s_fay, s_ana)
    words = " ".join(make_recovery_key(ana))
    code, out = await trio.to_thread.run_sync(_cli, tmp_path / "ana", "recovery", "backup", "--to-node")
    assert code == 0, out
    assert "kept on your home node" in out
    held = live.store.get_backup(bk.backup_id(bk.backup_key(bk.parse_words(words))))
    assert held is not None and bk.open_backup(bk.backup_key(bk.parse_words(words)), held).master == ana.master
    new_home = tmp_path / "new-phone"
    restore_args = ("recovery", "restore", "--from-node", str(address))
    code, out = await trio.to_thread.run_sync(lambda: _cli(new_home, *restore_args, stdin=words + "\n"))
    assert code == 0, out
    back = Participant.load(new_home, "pass ana")
    assert back.master == ana.master
    assert back.pseudonym(back.record(g_ana.group_id)).public_key == ana.pseudonym(g_ana).public_key
    # wrong words: the node holds nothing under their id
    other = " ".join(bk.recovery_words(b"\x01" * 16))
    code, out = await trio.to_thread.run_sync(lambda: _cli(tmp_path / "x", *restore_args, stdin=other + "\n"))
    assert code != 0 and "proto.not_found" in out, out


def test_the_backup_goes_first_through_a_group_whose_invite_named_the_node(tmp_path: Path) -> None:
    # Every pseudonym tried on one session is seen together: the order keeps it to one most of the time.
    me = Participant.create(tmp_path / "me", "pass me", None)
    here, other = NodeAddress(b"\x01" * 32, "127.0.0.1", 4433), NodeAddress(b"\x02" * 32, "127.0.0.1", 4434)
    for gid, host in ((b"\x03" * 32, other), (b"\x05" * 32, here), (b"\x04" * 32, None)):
        me.groups[gid] = GroupRecord(gid, b"context", None, hosts=[str(host)] if host else [])
    assert [r.group_id[0] for r in backup_candidates(me, here.node_key)] == [5, 3, 4]
    assert [r.group_id[0] for r in backup_candidates(me, b"\x09" * 32)] == [3, 4, 5]
