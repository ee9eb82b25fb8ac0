"""Recovery through a real node: a device is lost, the identity is restored from the recovery words
and the backup file, and the group is read again (and written to) from the new device."""

from pathlib import Path

from holdspace.clients.participant import Participant
from holdspace.clients.recovery import make_recovery_key, restore, write_backup
from holdspace.protocol.address import InviteToken
from tests.node.conftest import session


async def test_restored_identity_reads_the_group_again(tmp_path: Path, node) -> None:
    _, address = node
    fay = Participant.create(tmp_path / "fay", "pass fay", address)
    ana = Participant.create(tmp_path / "ana", "pass ana", address)
    async with session(address) as s_fay, session(address) as s_ana:
        group = await fay.create_group(s_fay, "Thursday circle")
        g_ana = await ana.join(s_ana, InviteToken.parse(await fay.invite(s_fay, group)))
        await fay.send(s_fay, group, "Welcome.")
        await ana.sync(s_ana, g_ana)
        words = make_recovery_key(ana)
        write_backup(ana, tmp_path / "ana.backup")
        before = {m.text for m in ana.record(g_ana.group_id).messages}
        assert "Welcome." in before

    back = restore(tmp_path / "new-phone", "new pass", " ".join(words), (tmp_path / "ana.backup").read_bytes())
    record = back.record(g_ana.group_id)
    assert record.name == g_ana.name and len(record.messages) == 0
    async with session(address) as s_back, session(address) as s_fay:
        await back.sync(s_back, record)
        assert "Welcome." in {m.text for m in back.record(g_ana.group_id).messages}
        await back.send(s_back, record, "Back on a new phone.")
        await fay.sync(s_fay, group)
        assert "Back on a new phone." in {m.text for m in fay.record(group.group_id).messages}
