"""Moderation commands as people use them (a real node process, the holdspace CLI): a mute for a time,
the private line to the facilitators, a removal with a note and a reason, an invite revoked."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_cli import run, start_node, stop_node
from tests.cli.test_support_cli import me_in


@pytest.mark.slow  # some twenty CLI processes, each unlocking a key file: run with --runslow
def test_mute_private_line_revoke_and_a_removal_with_a_note(tmp_path: Path) -> None:
    address, proc = start_node(tmp_path / "node")
    try:
        fay, ana = tmp_path / "fay", tmp_path / "ana"
        for home in (fay, ana):
            run("id", "new", "--node", address, home=home)
        run("group", "create", "circle", home=fay)
        run("group", "join", run("group", "invite", "circle", home=fay).stdout.strip(), "--name", "circle", home=ana)
        ana_id = me_in("circle", ana)

        assert run("group", "mute", "circle", ana_id, "--for", "1h", home=fay).stdout.startswith(f"muted {ana_id}")
        refused = run("send", "circle", "am I muted?", home=ana, check=False)
        assert refused.returncode == 1 and "group.muted" in refused.stderr
        assert "You are muted until" in run("read", "circle", home=ana).stdout
        run("group", "message-facilitators", "circle", "Can we talk?", home=ana)
        run("group", "private", "circle", "--member", ana_id, "--reply", "Yes, I am here.", home=fay)
        line = run("group", "private", "circle", home=ana).stdout
        assert "Can we talk?" in line and "Yes, I am here." in line

        run("group", "invite", "circle", "--uses", "3", home=fay)
        listed = run("group", "invites", "circle", home=fay).stdout.splitlines()
        spare = next(row.split()[0] for row in listed if "0/3 used" in row)
        run("group", "revoke-invite", "circle", spare, home=fay)
        assert any(
            row.startswith(spare) and row.endswith("closed")
            for row in run("group", "invites", "circle", home=fay).stdout.splitlines()
        )

        note, reason = "Take care; the helpline is open all night.", "Shared a story that was not theirs"
        run("group", "remove", "circle", ana_id, "--note", note, "--reason", reason, home=fay)
        shown = run("read", "circle", home=ana).stdout
        assert "You were removed from this group" in shown and note in shown and reason not in shown
        assert reason in run("mod", "log", "circle", home=fay).stdout
    finally:
        stop_node(proc)
