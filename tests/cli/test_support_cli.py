"""The support-group commands, as people use them: real node processes, real QUIC, the holdspace CLI."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from holdspace.node.core import from_record
from holdspace.node.store import Store
from holdspace.protocol.identity import parse_pseudonym_id
from tests.cli.test_cli import run, start_node, stop_node


def me_in(group: str, home: Path) -> str:
    members = json.loads(run("group", "members", group, "--json", home=home).stdout)
    return next(m["pseudonym"] for m in members if m["you"])


def rows(group: str, home: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in run("read", group, "--json", home=home).stdout.splitlines()]


def test_a_facilitated_session_with_check_ins_warnings_reactions_and_moderation(tmp_path: Path) -> None:
    address, proc = start_node(tmp_path / "node")
    try:
        fay, ana, bo = tmp_path / "fay", tmp_path / "ana", tmp_path / "bo"
        for home in (fay, ana, bo):
            run("id", "new", "--node", address, home=home)
        run("group", "create", "circle", home=fay)
        run("group", "join", run("group", "invite", "circle", home=fay).stdout.strip(), "--name", "circle", home=ana)
        moderator_token = run("group", "invite", "circle", "--role", "moderator", home=fay).stdout.strip()
        run("group", "join", moderator_token, "--name", "circle", home=bo)
        run("send", "circle", "Welcome, both of you.", home=fay)

        # a weekly session, started five minutes ago (London time), with a retention rule
        start = (datetime.now(ZoneInfo("Europe/London")) - timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M")
        out = run(
            "session",
            "schedule",
            "circle",
            "--title",
            "Thursday circle",
            "--start",
            start,
            "--duration",
            "90m",
            "--tz",
            "Europe/London",
            "--weekly",
            "4",
            "--retention",
            "24h",
            home=fay,
        ).stdout
        assert out.startswith("session scheduled: ")
        sid = out.split()[2]
        listed = [json.loads(line) for line in run("sessions", "circle", "--json", home=ana).stdout.splitlines()]
        assert [s["occurrence"] for s in listed] == [0, 1, 2, 3]
        assert listed[0]["title"] == "Thursday circle" and listed[0]["retention_ms"] == 86_400_000
        assert (listed[1]["start_ms"] - listed[0]["start_ms"]) in (
            7 * 86_400_000,
            7 * 86_400_000 - 3_600_000,
            7 * 86_400_000 + 3_600_000,
        )
        local = run("sessions", "circle", "--tz", "America/New_York", home=ana).stdout
        assert "Thursday circle" in local and ("EST" in local or "EDT" in local)
        run("session", "rsvp", "circle", sid, "yes", home=ana)
        ana_id = me_in("circle", ana)
        run("session", "pass", "circle", sid, ana_id, home=fay)
        view = run("sessions", "circle", home=bo).stdout
        assert "1 going" in view and f"talking piece: {ana_id[:16]}" in view
        refused = run("session", "pass", "circle", sid, ana_id, home=bo, check=False)
        assert refused.returncode == 1 and "client.not_facilitator" in refused.stderr

        # check-ins: one for the facilitators only, one for everyone
        assert (
            "for this session (facilitators only)"
            in run("checkin", "circle", "--mood", "2", "--word", "tired", "--facilitators-only", home=ana).stdout
        )
        run("checkin", "circle", "--mood", "4", "--word", "hopeful", home=bo)
        summary = run("session", "checkins", "circle", sid, home=fay).stdout
        assert "2 check-ins; average mood 3.0" in summary and "hopeful, tired" in summary
        assert "1 check-in;" in run("session", "checkins", "circle", sid, home=bo).stdout  # not ana's private one

        # a content warning hides the words until the reader opens them
        run("send", "circle", "My father died last spring.", "--cw", "bereavement", home=ana)
        warned = next(r for r in rows("circle", bo) if r["warning"] == "bereavement")
        assert warned["text"] is None
        text = run("read", "circle", home=bo).stdout
        assert "[content warning: bereavement] hidden" in text and "My father died" not in text
        assert run("open", "circle", warned["id"][:8], home=bo).stdout.strip() == "My father died last spring."

        # reactions
        run("react", "circle", warned["id"][:8], "hug", home=bo)
        run("react", "circle", warned["id"][:8], "heart", home=fay)
        assert next(r for r in rows("circle", ana) if r["id"] == warned["id"])["reactions"] == {"heart": 1, "hug": 1}

        # crisis resources: pinned by a facilitator, shown when the on-device check fires
        run("crisis", "pin", "circle", "Samaritans: call 116 123, free, day or night.", home=fay)
        assert "116 123" in run("crisis", "show", "circle", home=ana).stdout
        fired = run("send", "circle", "Some days I want to end my life.", home=ana).stdout
        assert "116 123" in fired and "only on this device" in fired
        assert "116 123" in run("read", "circle", home=bo).stdout  # on receipt too
        run("crisis", "check", "off", home=ana)
        assert "116 123" not in run("send", "circle", "I want to end my life, still.", home=ana).stdout
        refused = run("crisis", "pin", "circle", "a member's pin", home=ana, check=False)
        assert refused.returncode == 1 and "client.not_facilitator" in refused.stderr

        # a verifiable report to the moderators, a redaction by the author, an erasure
        run("send", "circle", "You are all pathetic.", home=bo)
        cruel = next(r for r in rows("circle", ana) if r["text"] == "You are all pathetic.")
        assert "reported to 2" in run("report", "circle", cruel["id"][:8], "--why", "unkind", home=ana).stdout
        reports = [json.loads(line) for line in run("mod", "reports", "circle", "--json", home=fay).stdout.splitlines()]
        assert len(reports) == 1 and reports[0]["verified"] and reports[0]["words"] == "You are all pathetic."
        assert reports[0]["reason"] == "unkind"
        own = [json.loads(line) for line in run("mod", "reports", "circle", "--json", home=ana).stdout.splitlines()]
        assert [r["reporter"] for r in own] == [me_in("circle", ana)]  # the reporter keeps its own; others see none
        run("redact", "circle", cruel["id"][:8], home=bo)
        assert next(r for r in rows("circle", ana) if r["id"] == cruel["id"])["deleted"] == "redacted"
        assert "(message redacted)" in run("read", "circle", home=fay).stdout
        log = run("mod", "log", "circle", home=fay).stdout
        assert "report" in log
        run("erase", "circle", "--yes", home=ana)
        mine = [r for r in rows("circle", bo) if r["author"] == ana_id]
        assert mine and all(r["deleted"] == "erased" for r in mine)

        # a credential issued by the community's node, trusted by the group
        node_id = address.removeprefix("holdspace://").split("@")[0]
        bo_id = me_in("circle", bo)
        att = run("node", "credential", str(tmp_path / "node"), "--subject", bo_id, "--role", "peer supporter").stdout
        run("credential", "post", "circle", att.strip(), home=bo)
        members = json.loads(run("group", "members", "circle", "--json", home=fay).stdout)
        badge = next(m["badge"] for m in members if m["pseudonym"] == bo_id)
        assert "unverified" in badge and "does not list" in badge
        run("credential", "trust", "circle", node_id, home=fay)
        members = json.loads(run("group", "members", "circle", "--json", home=ana).stdout)
        assert next(m["badge"] for m in members if m["pseudonym"] == bo_id) == "[verified: peer supporter]"
        revocation = run("node", "revoke-credential", str(tmp_path / "node"), att.strip()).stdout.strip()
        run("credential", "revocation", "circle", revocation, home=fay)
        members = json.loads(run("group", "members", "circle", "--json", home=ana).stdout)
        assert "revoked" in next(m["badge"] for m in members if m["pseudonym"] == bo_id)

        # cancel
        run("session", "cancel", "circle", sid, home=fay)
        after = [json.loads(line) for line in run("sessions", "circle", "--json", home=ana).stdout.splitlines()]
        assert [s["occurrence"] for s in after] == [0]  # the one under way stays; the later ones are off
    finally:
        stop_node(proc)


def test_redaction_and_erasure_reach_the_other_community_and_ttl_messages_expire(tmp_path: Path) -> None:
    river, river_proc = start_node(tmp_path / "riverside")
    hill, hill_proc = start_node(tmp_path / "hillview")
    try:
        fay, bo = tmp_path / "fay", tmp_path / "bo"
        run("id", "new", "--node", river, home=fay)
        run("id", "new", "--node", hill, home=bo)
        run("group", "create", "circle", home=fay)
        run("group", "join", run("group", "invite", "circle", home=fay).stdout.strip(), "--name", "circle", home=bo)
        run("send", "circle", "Welcome, Bo.", home=fay)
        run("send", "circle", "a first thing I said", home=bo)
        run("send", "circle", "a second thing I said", home=bo)
        run("send", "circle", "gone soon", "--ttl", "2s", home=fay)
        run("send", "circle", "I wish I had not said this", home=fay)
        deadline = time.monotonic() + 30
        while len([r for r in rows("circle", bo) if r["text"]]) < 4:
            assert time.monotonic() < deadline, "the messages never crossed"
            time.sleep(0.3)
        regret = next(r for r in rows("circle", fay) if r["text"] == "I wish I had not said this")
        run("redact", "circle", regret["id"][:8], home=fay)  # made on Riverside
        run("erase", "circle", "--yes", home=bo)  # made on Hillview
        bo_id = me_in("circle", bo)
        deadline = time.monotonic() + 30
        while True:
            seen = {r["id"]: r for r in rows("circle", bo)}
            erased = [r for r in rows("circle", fay) if r["author"] == bo_id]
            if seen[regret["id"]]["deleted"] == "redacted" and erased and all(r["deleted"] for r in erased):
                break
            assert time.monotonic() < deadline, "the deletions never reached the other community"
            time.sleep(0.3)
        time.sleep(2.5)  # past the time-to-live
    finally:
        stop_node(river_proc)
        stop_node(hill_proc)
    # no host holds the deleted words any more: each store holds headers only for them
    for directory in ("riverside", "hillview"):
        with Store.open(tmp_path / directory / "store") as store:
            words = [
                from_record(record)
                for group in store.groups()
                for _, record in store.iter_group(group, 0, 10_000)
                if record.entry_id.hex() == regret["id"] or record.author == parse_pseudonym_id(bo_id)
            ]
            assert words and all(e.payload is None for e in words if e.kind >= 0x10)
            expired = [
                from_record(record)
                for group in store.groups()
                for _, record in store.iter_group(group, 0, 10_000)
                if record.kind >= 0x10
            ]
            assert sum(1 for e in expired if e.payload is None) >= 4  # regret, ttl, bo's two
