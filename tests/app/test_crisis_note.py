"""When the on-device crisis check fires on a message a facilitator received, the facilitator's note
points to that message and offers to reach out privately (a direct message, spec 13.5, to that
member and the facilitators); the member who wrote it sees the participant's note."""

from __future__ import annotations

import html
import re
from pathlib import Path

from tests.app.conftest import App, Node, start_app
from tests.app.test_app_http import client, create_group, create_identity, csrf_of, detail, eventually

WORDS = "Some nights I want to die."


def test_a_facilitators_note_points_to_the_message_and_reaches_out_privately(
    node: Node, apps: list[App], tmp_path: Path
) -> None:
    fay_app = start_app(tmp_path / "fay", "--node", node.address)
    ana_app = start_app(tmp_path / "ana", "--node", node.address)
    apps += [fay_app, ana_app]
    fay, ana = client(fay_app), client(ana_app)
    fay_csrf, ana_csrf = create_identity(fay, node.address), create_identity(ana, node.address)
    group = create_group(fay, fay_csrf, "circle")
    shown = fay.post(group + "/invite", data={"csrf": fay_csrf, "role": "member", "uses": "1", "days": "1"}).text
    token = re.search(r'readonly spellcheck="false">([^<]+)<', shown)
    assert token is not None
    joined = ana.post("/join", data={"csrf": ana_csrf, "invite": html.unescape(token.group(1))})
    assert "/g/" in str(joined.url), joined.text
    ana_group = str(joined.url.path).removeprefix(ana.base_url.path.rstrip("/"))

    ana.post(ana_group + "/send", data={"csrf": ana_csrf, "text": WORDS, "ttl": ""})
    eventually(lambda: WORDS in fay.get(group).text, what="Ana's words on Fay's page")  # sent once she has the keys

    page = fay.get(group).text
    ids = re.findall(r'<li id="m-([0-9a-f]{64})" class="message', page)
    theirs = [i for i in ids if WORDS in page.split(f'id="m-{i}"', 1)[1].split("</li>", 1)[0]]
    assert len(theirs) == 1
    note = page.split('id="crisis-note"', 1)[1].split("</aside>", 1)[0]
    assert "may be struggling" in note and "You are not alone" not in note
    assert f'href="{fay.base_url.path.rstrip("/")}{group}#m-{theirs[0]}"' in note  # the very message
    assert "Reach out privately" in note
    member = re.search(r'name="member" value="([0-9a-f]{64})"', note)
    assert member is not None

    # Ana, who wrote it, sees the participant's note, not the facilitator's
    ana_note = ana.get(ana_group).text.split('id="crisis-note"', 1)[1].split("</aside>", 1)[0]
    assert "You are not alone" in ana_note and "Reach out privately" not in ana_note

    # Fay reaches out: a direct message only Ana and the facilitators can read; the note goes
    sent = fay.post(
        group + "/reach-out",
        data={"csrf": csrf_of(page), "member": member.group(1), "text": "I'm here, Ana. Can we talk?"},
    )
    assert "Only they and the group&#39;s facilitators can read it." in sent.text, re.findall(
        r'class="flash[^>]*>[^<]*', sent.text
    )
    assert "may be struggling" not in sent.text
    eventually(lambda: "I&#39;m here, Ana. Can we talk?" in ana.get(ana_group).text, what="the private message")

    # only a facilitator may, and only to a member
    refused = ana.post(ana_group + "/reach-out", data={"csrf": ana_csrf, "member": member.group(1), "text": "hello"})
    assert detail(refused.text) == "client.not_facilitator"
    refused = fay.post(group + "/reach-out", data={"csrf": fay_csrf, "member": "ab" * 32, "text": "hello"})
    assert detail(refused.text) == "client.not_member"
