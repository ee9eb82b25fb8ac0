"""The local app's moderation that fits a support group: muting a member for a time, listing and
revoking invites, a removed or muted person's standing above the conversation, and the private line
between members and the facilitators (spec 12.3, 12.6, 13.5, 14.3).

:func:`routes` adds the pages and forms to :class:`holdspace.clients.app.web.Pages`; the helpers
give the conversation and members pages what they show. Invariant: nothing here sends words to a
node except through the participant (sealed), and every form is checked like every other
(``Pages.action``: origin, CSRF token, one use).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from holdspace.clients.app import views
from holdspace.clients.app.service import AppError
from holdspace.clients.i18n import _
from holdspace.clients.moderation import muted_until, mutes, private_threads, removal_notice
from holdspace.clients.participant import GroupRecord, Participant
from holdspace.clients.people import People
from holdspace.clients.support import is_facilitator
from holdspace.protocol.content import MAX_TEXT, Text

if TYPE_CHECKING:
    from holdspace.clients.app.web import Pages

#: how long a mute lasts, as the members page offers it (value: minutes)
MUTE_CHOICES = {"60": "1 hour", "1440": "1 day", "10080": "7 days"}
MAX_NOTE = 1000  # bytes of a removal's note or reason (protocol.payloads.MAX_REMOVAL_WORDS)


def standing(me: Participant, record: GroupRecord) -> dict[str, Any]:
    """Why this member may not write to the group now: removed (with the note sealed to it) or muted
    (until when); both None when it may."""
    notice = removal_notice(record)
    until = muted_until(record, me.pseudonym(record).public_key, me.clock())
    return {
        "removed": None
        if notice is None
        else {"banned": notice.banned, "when": views.when(notice.time_ms), "note": notice.note},
        "muted_until": views.when(until) if until is not None else None,
    }


def invite_rows(me: Participant, record: GroupRecord) -> list[dict[str, Any]]:
    """The group's invites, newest first: role, uses, expiry and whether each can still be used."""
    state = record.state
    now = me.clock()
    rows = []
    for i in reversed(list(state.invites.values()) if state is not None else []):
        status = (
            _("revoked")
            if i.closed_by is not None
            else _("used up")
            if i.uses >= i.invite.max_uses
            else _("expired")
            if now > i.invite.expires_ms
            else _("open")
        )
        rows.append(
            {
                "hex": i.entry_id.hex(),
                "short": i.entry_id.hex()[:8],
                "role": views.role_word(i.invite.role),
                "uses": i.uses,
                "max_uses": i.invite.max_uses,
                "expires": views.when(i.invite.expires_ms),
                "status": status,
            }
        )
    return rows


def muted_rows(me: Participant, record: GroupRecord) -> dict[str, dict[str, str]]:
    """Member (hex) -> when its mute ends, for the members muted now."""
    return {k.hex(): views.when(until) for k, until in mutes(record, me.clock()).items()}


def routes(pages: Pages, g: str) -> list[Route]:
    """The moderation pages and forms, under ``g`` (the group's path)."""
    from holdspace.clients.app.web import _hex, _text  # noqa: PLC0415 - web imports this module

    service = pages.service

    def member_of(form: FormData) -> bytes:
        key = _hex(form, "member")
        if len(key) != 32:
            raise AppError("app.bad_input", _("choose a member"))
        return key

    async def mute(request: Request, form: FormData) -> Response:
        record = pages.record(request)[1]
        target = member_of(form)
        minutes = str(form.get("minutes", ""))
        if minutes != "0" and minutes not in MUTE_CHOICES:
            raise AppError("app.bad_input", _("choose how long the mute lasts"))
        name = People(record)(target).name

        async def go(me: Participant, s: Any) -> int:
            until = me.clock() + int(minutes) * 60_000 if minutes != "0" else 0
            await me.mute_member(s, record, target, until)
            return until

        until = await service.call(go)
        if until:
            service.say(
                "info",
                _("{name} is muted until {text}: they can still read.", name=name, text=views.when(until)["text"]),
            )
        else:
            service.say("info", _("{name} can write to the group again.", name=name))
        return pages.go(f"/g/{record.group_id.hex()}/members")

    async def revoke(request: Request, form: FormData) -> Response:
        record = pages.record(request)[1]
        invite = _hex(form, "invite")
        if len(invite) != 32:
            raise AppError("app.bad_input", _("that is not an invite"))
        await service.call(lambda me, s: me.close_invite(s, record, invite))
        service.say("info", _("The invite is revoked: nobody can join with it any more, on any server."))
        return pages.go(f"/g/{record.group_id.hex()}/members#invites-h")

    async def private_page(request: Request) -> Response:
        me, record = pages.record(request)
        mine = me.pseudonym(record).public_key
        people = People(record, mine)
        facilitator = is_facilitator(record, mine)
        threads = [
            {
                "hex": who.hex(),
                "name": "You" if who == mine else people(who).name,
                "messages": [
                    {
                        "who": "You" if m.author == mine else people(m.author).name,
                        "when": views.when(m.timestamp_ms),
                        "text": m.text,
                    }
                    for m in messages
                ],
            }
            for who, messages in sorted(private_threads(record).items())
            if facilitator or who == mine
        ]
        context = pages.group_context(me, record)
        return pages.render(
            request, "private.html", title=_("Private messages"), threads=threads, facilitator=facilitator, **context
        )

    async def write_private(request: Request, form: FormData) -> Response:
        record = pages.record(request)[1]
        text = _text(form, "text", MAX_TEXT, _("the message"))
        if not text:
            raise AppError("app.bad_input", _("write something first"))
        service.queue(record, Text(text), to_facilitators=True)
        service.say("info", _("Sent privately to the facilitators: only they can read it."))
        return pages.go(f"/g/{record.group_id.hex()}/private")

    async def reply_private(request: Request, form: FormData) -> Response:
        record = pages.record(request)[1]
        target = member_of(form)
        text = _text(form, "text", MAX_TEXT, _("the answer"))
        if not text:
            raise AppError("app.bad_input", _("write something first"))
        await service.call(lambda me, s: me.reply_privately(s, record, target, text))
        service.say("info", _("Answered privately: only that member and the facilitators can read it."))
        return pages.go(f"/g/{record.group_id.hex()}/private#t-{target.hex()}")

    p, a = pages.page, pages.action
    return [
        Route(g + "/mute", a(mute), methods=["POST"]),
        Route(g + "/revoke-invite", a(revoke), methods=["POST"]),
        Route(g + "/private", p(private_page)),
        Route(g + "/private", a(write_private), methods=["POST"]),
        Route(g + "/private/reply", a(reply_private), methods=["POST"]),
    ]
