"""What people see of who the group is and who is who, in the app (spec 14.3, 17.12-17.15): the
group's name everywhere (crisis page included) instead of an id fragment, the About page and its
edits, display names, four-word labels instead of "Member 12345", replies shown quoted, corrections
marked "edited", and "remove for everyone" that asks first."""

from __future__ import annotations

import html
import re
from pathlib import Path

from tests.app.conftest import App, Node, start_app
from tests.app.test_app_http import client, create_group, create_identity, eventually


def _message_ids(page: str) -> list[str]:
    return re.findall(r'<li id="m-([0-9a-f]{64})" class="message', page)


def test_the_groups_name_profile_names_replies_and_edits(node: Node, apps: list[App], tmp_path: Path) -> None:
    app = start_app(tmp_path / "fay", "--node", node.address)
    apps.append(app)
    c = client(app)
    csrf = create_identity(c, node.address)
    group = create_group(c, csrf, "Thursday grief circle")

    # the name is the group's (a profile every member reads), on every screen that names the group
    eventually(lambda: "Thursday grief circle" in c.get("/").text, what="the group's name on the home page")
    c.post(group + "/pin", data={"csrf": csrf, "resources": "Call 116 123."})
    eventually(lambda: "From the facilitators of Thursday grief circle" in c.get("/help").text, what="crisis page")
    assert not re.search(r"Group [0-9a-f]{6}", c.get("/").text + c.get("/help").text)

    # a facilitator renames it and writes guidelines; the About page shows them
    c.post(group + "/profile", data={"csrf": csrf, "name": "Thursday circle", "guidelines": "Be kind."})
    eventually(lambda: "<h1>About Thursday circle</h1>" in c.get(group + "/about").text, what="the rename")
    about = c.get(group + "/about").text
    assert "Be kind." in about and "Guidelines" in about

    # what newcomers read, in plain words; widening it is asked about first, then saved for everyone
    assert "New members read from the day they join." in about
    asked = c.post(group + "/history", data={"csrf": csrf, "history": "days", "days": "7"}).text
    assert "New members would read more than they do now." in asked and 'name="confirm" value="yes"' in asked
    assert "New members read from the day they join." in c.get(group + "/about").text  # nothing changed yet
    c.post(group + "/history", data={"csrf": csrf, "history": "days", "days": "7", "confirm": "yes"})
    seven = "New members read the last 7 days before they join, and everything after."
    eventually(lambda: seven in c.get(group + "/about").text, what="the history setting")
    narrower = c.post(group + "/history", data={"csrf": csrf, "history": "joined"}).text  # narrowing: not asked
    assert "would read more" not in narrower
    eventually(lambda: "New members read from the day they join." in c.get(group + "/about").text, what="narrowed")

    # an invite made now carries the new name, which the join page shows before joining
    shown = c.post(group + "/invite", data={"csrf": csrf, "role": "member", "uses": "1", "days": "1"}).text
    token = re.search(r'readonly spellcheck="false">([^<]+)<', shown)
    assert token is not None
    join = c.get("/join", params={"invite": html.unescape(token.group(1))}).text
    assert "You're invited to <strong>Thursday circle</strong>" in join.replace("&#39;", "'")

    # a display name; messages show names, never "Member 12345" or a raw key
    c.post(group + "/my-name", data={"csrf": csrf, "name": "Fay"})
    c.post(group + "/send", data={"csrf": csrf, "text": "I feel terible today", "ttl": ""})
    eventually(lambda: "I feel terible today" in c.get(group).text and "waiting to be sent" not in c.get(group).text)
    page = c.get(group).text
    first = _message_ids(page)[-1]
    shown = re.sub(r'<details class="detail">.*?</details>', "", page + c.get(group + "/members").text, flags=re.DOTALL)
    assert not re.search(r"Member \d{5}|hsp1[02-9ac-hj-np-z]{20,}", shown)  # a key only behind "Details"
    assert 'class="tag role-tag">facilitator<' in page

    # a correction, within the window: the new words, marked edited; a reply quotes the message
    c.post(group + "/edit", data={"csrf": csrf, "message": first, "text": "I feel terrible today"})
    c.post(group + "/send", data={"csrf": csrf, "text": "Thank you all.", "reply": first, "ttl": ""})
    eventually(lambda: "Thank you all." in c.get(group).text and "waiting to be sent" not in c.get(group).text)
    page = c.get(group).text
    assert "terible" not in page and ">edited<" in page
    assert re.search(r'class="reply-to">.*Replying to You.*I feel terrible today', page, re.DOTALL)

    # "remove for everyone" asks first: without a yes nothing is removed
    refused = c.post(group + "/redact", data={"csrf": csrf, "message": first})
    assert "say yes to remove it" in refused.text and "I feel terrible today" in c.get(group).text
    assert "Remove your message from everyone's screen? This cannot be undone." in c.get(group).text
    c.post(group + "/redact", data={"csrf": csrf, "message": first, "confirm": "yes"})
    eventually(lambda: "This message was removed." in c.get(group).text, what="the removal")
    page = c.get(group).text
    assert "I feel terrible today" not in page and "Replying to a message that cannot be shown here." in page
