"""Moderation that fits a support group, in the app (spec 12.3, 12.6, 13.5, 14.3): invites listed
with their uses and expiry and revocable; a member muted for a time reads but is offered no composer,
and writes to the facilitators privately; facilitators see the private line per member and answer;
a removed person reads the note left for them, and is offered no composer."""

from __future__ import annotations

import html
import re
from pathlib import Path

from tests.app.conftest import App, Node, start_app
from tests.app.test_app_http import client, create_identity, eventually, facilitator_with_a_group


def _invite(c, csrf: str, group: str, uses: str = "1") -> str:  # type: ignore[no-untyped-def]
    shown = c.post(group + "/invite", data={"csrf": csrf, "role": "member", "uses": uses, "days": "1"}).text
    token = re.search(r'readonly spellcheck="false">([^<]+)<', shown)
    assert token is not None
    return html.unescape(token.group(1))


def test_mute_private_line_removal_note_and_invites(node: Node, apps: list[App], tmp_path: Path) -> None:
    _, fay, f_csrf, group = facilitator_with_a_group(node, apps, tmp_path)
    token = _invite(fay, f_csrf, group)
    spare = _invite(fay, f_csrf, group, uses="3")

    ana_app = start_app(tmp_path / "ana", "--node", node.address)
    apps.append(ana_app)
    ana = client(ana_app)
    a_csrf = create_identity(ana, node.address)
    joined = ana.post("/join", data={"csrf": a_csrf, "invite": token})
    assert "/g/" in str(joined.url), joined.text
    assert str(joined.url.path).removeprefix(ana.base_url.path.rstrip("/")) == group  # one path on both devices

    # invites: listed with uses and expiry; the spare one is revoked
    members = fay.get(group + "/members").text
    assert re.search(r"used 1 of 1 · until <time", members) and "used 0 of 3" in members
    spare_id = re.findall(r'name="invite" value="([0-9a-f]{64})"', members)
    assert len(spare_id) == 1  # only the open one can be revoked
    fay.post(group + "/revoke-invite", data={"csrf": f_csrf, "invite": spare_id[0]})
    eventually(lambda: "<strong>revoked</strong>" in fay.get(group + "/members").text, what="the revoked invite")
    assert spare  # (the token itself is refused by every host: tests/federation/test_moderation_hosts.py)

    # a mute: Ana reads, is offered no composer, and writes to the facilitators privately
    eventually(lambda: "Mute for a while" in fay.get(group + "/members").text, what="Ana on the list")
    member = sorted(set(re.findall(r'name="member" value="([0-9a-f]{64})"', fay.get(group + "/members").text)))
    assert len(member) == 1
    fay.post(group + "/mute", data={"csrf": f_csrf, "member": member[0], "minutes": "60"})
    eventually(lambda: "You are muted until" in ana.get(group).text, what="Ana's mute")
    assert 'id="composer"' not in ana.get(group).text
    ana.post(group + "/private", data={"csrf": a_csrf, "text": "Can we talk about earlier?"})
    eventually(lambda: "Can we talk about earlier?" in fay.get(group + "/private").text, what="the private line")
    fay.post(group + "/private/reply", data={"csrf": f_csrf, "member": member[0], "text": "Yes, I am here."})
    eventually(lambda: "Yes, I am here." in ana.get(group + "/private").text, what="the answer")

    # a removal with a note: Ana reads it, and is offered no composer
    note, reason = "Take care; the helpline is open.", "Shared a story that was not theirs"
    fay.post(group + "/remove", data={"csrf": f_csrf, "member": member[0], "ban": "0", "note": note, "reason": reason})
    eventually(lambda: "You were removed from this group" in ana.get(group).text, what="the removal")
    page = ana.get(group).text
    assert note in page and 'id="composer"' not in page
    assert reason not in page + ana.get(group + "/moderation").text  # the reason is the facilitators'
    eventually(lambda: reason in fay.get(group + "/moderation").text, what="the reason in the moderation log")
    log = fay.get(group + "/moderation").text  # each line a sentence: who did what to whom
    assert re.search(r"You muted [a-z]+ [a-z]+ [a-z]+ [a-z]+ until <time", log), log
    assert re.search(r"You removed [a-z]+ [a-z]+ [a-z]+ [a-z]+\s*<br>", log), log
