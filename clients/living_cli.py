"""CLI commands for who the group is and who is who (spec 17.12-17.15): the group's profile, your
display name, replies and edits. Added to ``holdspace`` by :func:`register`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from holdspace.clients.cli_common import friendly, session_call
from holdspace.clients.corrections import may_edit
from holdspace.clients.i18n import _
from holdspace.clients.participant import ClientError, GroupRecord, Participant
from holdspace.clients.support import group_profile, group_title, is_facilitator
from holdspace.clients.support_cli import find_message
from holdspace.protocol.content import (
    MAX_DESCRIPTION,
    MAX_DISPLAY_NAME,
    MAX_GROUP_NAME,
    MAX_GUIDELINES,
    DisplayName,
    Edit,
    Profile,
    Text,
)
from holdspace.protocol.oneline import is_one_line


def _checked(text: str | None, what: str, limit: int, *, one_line: bool = False) -> str | None:
    """``text`` within ``limit`` bytes of UTF-8 (and one line when asked), else ``client.bad_argument``."""
    if text is None:
        return None
    if len(text.encode()) > limit or (one_line and not is_one_line(text)):
        said = (
            _("{what} must be one line, at most {limit} bytes", what=what, limit=limit)
            if one_line
            else _("{what} must be at most {limit} bytes", what=what, limit=limit)
        )
        raise ClientError("client.bad_argument", said)
    return text


def register(cli: click.Group, group: click.Group) -> None:
    """Add ``group profile``, ``group my-name``, ``reply`` and ``edit`` to the ``holdspace`` CLI."""

    def call(ctx: click.Context, group_name: str, fn: Any) -> Any:
        async def go(me: Participant, s: Any) -> Any:
            record = me.find_group(group_name)
            await me.sync(s, record)
            return await fn(me, s, record)

        return session_call(ctx, go)[1]

    @group.command("profile")
    @click.argument("group_name")
    @click.option("--name", help="Rename the group (facilitators).")
    @click.option("--description", help="What the group is (facilitators).")
    @click.option(
        "--guidelines-file", type=click.Path(dir_okay=False, path_type=Path), help="The guidelines, from a file."
    )
    @click.pass_context
    @friendly
    def group_profile_cmd(
        ctx: click.Context, group_name: str, name: str | None, description: str | None, guidelines_file: Path | None
    ) -> None:
        """Show the group's name, description and guidelines, or (a facilitator) change them: every
        member sees the change; it stays end-to-end encrypted."""
        guidelines = guidelines_file.read_text(encoding="utf-8").strip() if guidelines_file else None
        _checked(name, "the name", MAX_GROUP_NAME, one_line=True)
        _checked(description, "the description", MAX_DESCRIPTION)
        _checked(guidelines, "the guidelines", MAX_GUIDELINES)

        async def go(me: Participant, s: Any, record: GroupRecord) -> Profile | None:
            current = group_profile(record)
            if name is None and description is None and guidelines is None:
                return current
            if not is_facilitator(record, me.pseudonym(record).public_key):
                raise ClientError("client.not_facilitator", _("only a facilitator can rename the group or edit it"))
            new_name = name or (current.name if current else group_title(record))
            if not new_name:
                raise ClientError("client.bad_argument", _("give the group a name with --name"))
            profile = Profile(
                new_name,
                description if description is not None else (current.description if current else None),
                guidelines if guidelines is not None else (current.guidelines if current else None),
            )
            await me.post(s, record, profile)
            return profile

        profile = call(ctx, group_name, go)
        if profile is None:
            click.echo(_("The facilitators have not named or described this group yet (or you cannot read it yet)."))
            return
        click.echo(profile.name)
        if profile.description:
            click.echo(f"\n{profile.description}")
        if profile.guidelines:
            click.echo(_("\nGuidelines:\n{guidelines}", guidelines=profile.guidelines))

    @group.command("my-name")
    @click.argument("group_name")
    @click.argument("name", required=False)
    @click.pass_context
    @friendly
    def group_my_name(ctx: click.Context, group_name: str, name: str | None) -> None:
        """Your display name in this group only (none: be shown by your four words)."""
        _checked(name, "your name", MAX_DISPLAY_NAME, one_line=True)
        call(ctx, group_name, lambda me, s, record: me.post(s, record, DisplayName(name or None)))
        click.echo(
            _("this group now sees you as {name}", name=name)
            if name
            else _("this group now sees you by your four words")
        )

    @cli.command()
    @click.argument("group_name")
    @click.argument("message")
    @click.argument("text")
    @click.option("--cw", "warning", help="A content warning.")
    @click.pass_context
    @friendly
    def reply(ctx: click.Context, group_name: str, message: str, text: str, warning: str | None) -> None:
        """Reply to a message (its id as 'holdspace read' shows it): readers see it quoted above."""

        async def go(me: Participant, s: Any, record: GroupRecord) -> None:
            target = find_message(record, message)
            await me.post(s, record, Text(text, warning, target.entry_id))

        call(ctx, group_name, go)
        click.echo(_("sent"))

    @cli.command()
    @click.argument("group_name")
    @click.argument("message")
    @click.argument("text")
    @click.option("--cw", "warning", help="A content warning for the corrected text.")
    @click.pass_context
    @friendly
    def edit(ctx: click.Context, group_name: str, message: str, text: str, warning: str | None) -> None:
        """Correct a message you sent, within 15 minutes: everyone sees the new text, marked edited."""

        async def go(me: Participant, s: Any, record: GroupRecord) -> None:
            target = find_message(record, message)
            if not may_edit(target, me.pseudonym(record).public_key, me.clock()):
                raise ClientError(
                    "client.bad_argument", _("only your own messages can be corrected, within 15 minutes of sending")
                )
            await me.post(s, record, Edit(target.entry_id, text, warning))

        call(ctx, group_name, go)
        click.echo(_("corrected"))
