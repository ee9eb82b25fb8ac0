"""CLI commands for moderation that fits a support group (spec 12.3, 12.5, 13.5, 14.3): muting a
member for a time, revoking an invite, and the private line between a member and the facilitators.
Added to ``holdspace group`` by :func:`register`."""

from __future__ import annotations

import time
from typing import Any

import click

from holdspace.clients.cli_common import friendly, session_call
from holdspace.clients.i18n import _
from holdspace.clients.moderation import muted_until, private_threads, removal_notice
from holdspace.clients.participant import ClientError, GroupRecord, Participant
from holdspace.clients.people import People
from holdspace.clients.support import is_facilitator
from holdspace.clients.support_cli import parse_duration
from holdspace.protocol.content import MAX_TEXT
from holdspace.protocol.identity import parse_pseudonym_id

MAX_MUTE_MS = 30 * 86_400_000  # the longest mute the CLI offers: a month (removal is for longer)


def _clock(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ms / 1000))


def print_standing(me: Participant, record: GroupRecord) -> None:
    """After a group's messages: why this member cannot write (removed, with the remover's note; or
    muted, until when), if that is so."""
    notice = removal_notice(record)
    if notice is not None:
        clock = _clock(notice.time_ms)
        click.echo(
            _("You were banned from this group on {clock}.", clock=clock)
            if notice.banned
            else _("You were removed from this group on {clock}.", clock=clock)
        )
        if notice.note:
            click.echo(_("A note for you from the facilitators: {note}", note=notice.note))
        return
    until = muted_until(record, me.pseudonym(record).public_key, me.clock())
    if until is not None:
        click.echo(
            _(
                "You are muted until {clock}: you can read, and write to the facilitators privately.",
                clock=_clock(until),
            )
        )


def _text(text: str) -> str:
    if not text.strip() or len(text.encode()) > MAX_TEXT:
        raise ClientError("client.bad_argument", _("the message must be 1 to {MAX_TEXT} bytes", MAX_TEXT=MAX_TEXT))
    return text


def register(group: click.Group) -> None:
    """Add ``group mute``, ``group unmute``, ``group revoke-invite``, ``group message-facilitators``
    and ``group private`` to the ``holdspace`` CLI."""

    @group.command("mute")
    @click.argument("group_name")
    @click.argument("member")
    @click.option("--for", "duration", default="24h", show_default=True, help="How long: 30m, 2h, 7d...")
    @click.pass_context
    @friendly
    def group_mute(ctx: click.Context, group_name: str, member: str, duration: str) -> None:
        """Mute a member for a time: they keep reading, and can write to the facilitators privately,
        but their messages to the group are refused by every host until then."""
        key = parse_pseudonym_id(member)
        span = parse_duration(duration)
        if not 0 < span <= MAX_MUTE_MS:
            raise ClientError("client.bad_argument", _("a mute lasts from a minute to 30 days (remove for longer)"))

        async def go(me: Participant, s: Any) -> int:
            until = me.clock() + span
            await me.mute_member(s, me.find_group(group_name), key, until)
            return until

        _me, until = session_call(ctx, go)
        click.echo(_("muted {member} until {clock}", member=member, clock=_clock(until)))

    @group.command("unmute")
    @click.argument("group_name")
    @click.argument("member")
    @click.pass_context
    @friendly
    def group_unmute(ctx: click.Context, group_name: str, member: str) -> None:
        """Lift a member's mute: what they write next reaches the group."""
        key = parse_pseudonym_id(member)

        async def go(me: Participant, s: Any) -> None:
            await me.mute_member(s, me.find_group(group_name), key, 0)

        session_call(ctx, go)
        click.echo(_("{member} can write to the group again", member=member))

    @group.command("revoke-invite")
    @click.argument("group_name")
    @click.argument("invite")
    @click.pass_context
    @friendly
    def group_revoke_invite(ctx: click.Context, group_name: str, invite: str) -> None:
        """Revoke an invite (see 'group invites'): every host refuses a join with it from now on."""

        async def go(me: Participant, s: Any) -> None:
            record = me.find_group(group_name)
            await me.sync(s, record)
            await me.close_invite(s, record, me.find_invite(record, invite))

        session_call(ctx, go)
        click.echo(_("the invite is revoked: nobody can join with it any more"))

    @group.command("message-facilitators")
    @click.argument("group_name")
    @click.argument("text")
    @click.pass_context
    @friendly
    def group_message_facilitators(ctx: click.Context, group_name: str, text: str) -> None:
        """Message the facilitators privately: only they can read it (not the group, not the hosts)."""

        async def go(me: Participant, s: Any) -> None:
            await me.message_facilitators(s, me.find_group(group_name), _text(text))

        session_call(ctx, go)
        click.echo(_("sent privately to the facilitators"))

    @group.command("private")
    @click.argument("group_name")
    @click.option("--member", help="Only this member's line (hsp1...).")
    @click.option("--reply", help="Answer MEMBER privately (with the other facilitators).")
    @click.pass_context
    @friendly
    def group_private(ctx: click.Context, group_name: str, member: str | None, reply: str | None) -> None:
        """The private lines with the facilitators, one per member (facilitators see every member's;
        a member sees its own)."""
        key = parse_pseudonym_id(member) if member else None
        if reply is not None and key is None:
            raise ClientError("client.bad_argument", _("--reply needs --member"))

        async def go(me: Participant, s: Any) -> GroupRecord:
            record = me.find_group(group_name)
            await me.sync(s, record)
            if reply is not None and key is not None:
                if not is_facilitator(record, me.pseudonym(record).public_key):
                    raise ClientError(
                        "client.not_facilitator", _("only facilitators answer on a member's private line")
                    )
                await me.reply_privately(s, record, key, _text(reply))
            return record

        me, record = session_call(ctx, go)
        mine = me.pseudonym(record).public_key
        people = People(record, mine)
        threads = private_threads(record)
        for who, messages in sorted(threads.items()):
            if key is not None and who != key:
                continue
            click.echo(f"== {'you' if who == mine else people(who).name}")
            for m in messages:
                author = "you" if m.author == mine else people(m.author).name
                click.echo(f"  {_clock(m.timestamp_ms)}  {author}: {m.text}")
        if not threads:
            click.echo(_("no private messages yet"))
