"""``holdspace`` commands for what a support group does: sessions, check-ins, reactions, content
warnings, moderation, credentials, crisis resources and erasure (registered by ``clients.cli``)."""

from __future__ import annotations

import json
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from holdspace.clients import actions, crisis
from holdspace.clients.cli_common import friendly, home_dir, home_lock, passphrase, passphrase_file_option, session_call
from holdspace.clients.i18n import _, ngettext
from holdspace.clients.participant import ClientError, GroupRecord, Message, Participant, now_ms
from holdspace.clients.support import badges, checkin_summary, crisis_resources, moderation_log, reports, sessions
from holdspace.node.config import load_node, parse_node_id
from holdspace.protocol.content import (
    REACTIONS,
    RSVP_ANSWERS,
    CredentialPost,
    Reaction,
    RevocationPost,
)
from holdspace.protocol.credential import decode_attestation, decode_revocation, issue, revoke
from holdspace.protocol.identity import parse_pseudonym_id, pseudonym_text_id
from holdspace.protocol.schedule import zone

DURATION = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$")
UNITS = {"": 60_000, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}


def parse_duration(text: str) -> int:
    """``90m``, ``1h``, ``2d``, ``30s``, ``1w`` (a bare number is minutes) -> milliseconds."""
    found = DURATION.match(text)
    if found is None:
        raise ClientError("client.bad_argument", _("{text!r} is not a duration like 90m, 2h, 7d", text=text))
    return int(found.group(1)) * UNITS[found.group(2)]


def local_zone_name() -> str:
    return os.environ.get("TZ") or "UTC"


def parse_local_time(text: str, tz: str) -> int:
    """``YYYY-MM-DD HH:MM`` in zone ``tz`` -> ms since the epoch."""
    try:
        naive = datetime.strptime(text.strip(), "%Y-%m-%d %H:%M")
    except ValueError as exc:
        raise ClientError("client.bad_argument", _("{text!r} is not a time like 2026-12-01 19:00", text=text)) from exc
    return int(naive.replace(tzinfo=zone(tz)).timestamp() * 1000)


def show_time(ms: int, tz: str) -> str:
    return datetime.fromtimestamp(ms / 1000, zone(tz)).strftime("%a %d %b %Y %H:%M %Z")


def find_message(record: GroupRecord, ref: str) -> Message:
    """A message by (a prefix of at least 6 characters of) its hex id, as ``holdspace read`` shows it."""
    ref = ref.strip().lower()
    found = record.messages.find(ref) if len(ref) >= 6 else []
    if len(found) != 1:
        raise ClientError("client.unknown_message", _("no single message of yours to read has id {ref!r}", ref=ref))
    return found[0]


def find_session(record: GroupRecord, ref: str) -> bytes:
    state = record.state
    assert state is not None
    found = [sid for sid in state.sessions if sid.hex().startswith(ref.strip().lower()) and len(ref) >= 6]
    if len(found) != 1:
        raise ClientError(
            "client.unknown_session", _("no single session has id {ref!r} (see 'holdspace sessions')", ref=ref)
        )
    return found[0]


def print_crisis(record: GroupRecord) -> None:
    text, _pinned = crisis_resources(record)
    click.echo(crisis.notice(text))


def register(cli: click.Group, group: click.Group, node: click.Group) -> None:
    """Add the support-group commands to the ``holdspace`` CLI."""

    def call(ctx: click.Context, group_name: str, fn: Any, *, sync: bool = True) -> Any:
        async def go(me: Participant, s: Any) -> Any:
            record = me.find_group(group_name)
            if sync:
                await me.sync(s, record)
            return await fn(me, s, record)

        return session_call(ctx, go)

    # --- reading the words ----------------------------------------------------------------

    @cli.command("open")
    @click.argument("group_name")
    @click.argument("message")
    @click.pass_context
    @friendly
    def open_message(ctx: click.Context, group_name: str, message: str) -> None:
        """Show a message hidden behind a content warning (you chose to open it)."""

        async def go(me: Participant, s: Any, record: GroupRecord) -> tuple[GroupRecord, Message]:
            return record, find_message(record, message)

        me, (record, m) = call(ctx, group_name, go)
        if m.deleted:
            gone = {
                "redacted": _("(this message was removed)"),
                "erased": _("(this message was deleted by its author)"),
                "expired": _("(this message disappeared, as set)"),
                "muted": _("(this message was sent while its author was muted)"),
            }
            click.echo(gone.get(m.deleted, _("(this message was {deleted})", deleted=m.deleted)))
            return
        click.echo(m.text if m.text is not None else _("(this message has no text)"))
        if me.crisis_check and m.text and crisis.check(m.text):
            print_crisis(record)

    @cli.command()
    @click.argument("group_name")
    @click.argument("message")
    @click.argument("reaction", type=click.Choice(REACTIONS))
    @click.option("--undo", is_flag=True, help="Take your reaction back.")
    @click.pass_context
    @friendly
    def react(ctx: click.Context, group_name: str, message: str, reaction: str, undo: bool) -> None:
        """React to a message: heart, hug, me-too or thank-you."""

        async def go(me: Participant, s: Any, record: GroupRecord) -> None:
            target = find_message(record, message)
            await me.post(s, record, Reaction(target.entry_id, reaction, undo))

        call(ctx, group_name, go)
        click.echo(_("reaction taken back") if undo else _("reacted: {reaction}", reaction=reaction))

    @cli.command()
    @click.argument("group_name")
    @click.option("--mood", type=click.IntRange(1, 5), required=True, help="1 very low … 5 very good.")
    @click.option("--word", help="One word (or a few) for how you are.")
    @click.option("--facilitators-only", is_flag=True, help="Share it with the facilitators only.")
    @click.pass_context
    @friendly
    def checkin(ctx: click.Context, group_name: str, mood: int, word: str | None, facilitators_only: bool) -> None:
        """Check in: how you are, from 1 to 5. During a session it counts for that session."""

        async def go(me: Participant, s: Any, record: GroupRecord) -> str:
            content = actions.check_in(me, record, mood, word)
            await me.post(s, record, content, to=me.facilitators(record) if facilitators_only else None)
            return "for this session" if content.occurrence else "with the group"

        _me, where = call(ctx, group_name, go)
        if where == "for this session":
            said = _("checked in for this session")
            if facilitators_only:
                said = _("checked in for this session (facilitators only)")
        else:
            said = _("checked in with the group")
            if facilitators_only:
                said = _("checked in with the group (facilitators only)")
        click.echo(said)

    # --- moderation -----------------------------------------------------------------------

    @cli.command()
    @click.argument("group_name")
    @click.argument("messages", nargs=-1, required=True)
    @click.pass_context
    @friendly
    def redact(ctx: click.Context, group_name: str, messages: tuple[str, ...]) -> None:
        """Delete messages on every host (your own; moderators: anyone's). A signed tombstone stays."""

        async def go(me: Participant, s: Any, record: GroupRecord) -> None:
            await me.redact(s, record, [find_message(record, m).entry_id for m in messages])

        call(ctx, group_name, go)
        click.echo(ngettext("redacted {n} message on every host", "redacted {n} messages on every host", len(messages)))

    @cli.command()
    @click.argument("group_name")
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
    @click.pass_context
    @friendly
    def erase(ctx: click.Context, group_name: str, yes: bool) -> None:
        """Erase every message you have written in the group, on every host."""
        if not yes:
            click.confirm(_("Erase everything you wrote in this group, for everyone?"), abort=True)

        async def go(me: Participant, s: Any, record: GroupRecord) -> int:
            await me.erase_my_messages(s, record)
            return record.seq

        call(ctx, group_name, go)
        click.echo(_("your messages in this group are erased; hosts keep only signed tombstones"))

    @cli.command()
    @click.argument("group_name")
    @click.argument("message")
    @click.option("--why", default="", help="What is wrong (moderators read it).")
    @click.pass_context
    @friendly
    def report(ctx: click.Context, group_name: str, message: str, why: str) -> None:
        """Report a message to the moderators and facilitators only (not the group, not the node)."""

        async def go(me: Participant, s: Any, record: GroupRecord) -> int:
            return await actions.report(me, s, record, find_message(record, message), why)

        _me, count = call(ctx, group_name, go)
        click.echo(
            ngettext(
                "reported to {n} moderator or facilitator; only that message's words are disclosed",
                "reported to {n} moderators and facilitators; only that message's words are disclosed",
                count,
            )
        )

    @cli.group()
    def mod() -> None:
        """Moderation: the log and the reports (moderators and facilitators)."""

    @mod.command("log")
    @click.argument("group_name")
    @click.pass_context
    @friendly
    def mod_log(ctx: click.Context, group_name: str) -> None:
        """Removals (with their reasons, for facilitators), bans, mutes, role changes, redactions by
        moderators, and reports."""

        async def go(me: Participant, s: Any, record: GroupRecord) -> list[Any]:
            return moderation_log(record)

        _me, lines = call(ctx, group_name, go)
        for line in lines:
            target = pseudonym_text_id(line.target)[:16] + "…" if line.target else ""
            outcome = f"  (ignored: {line.outcome})" if line.outcome else ""
            until = (
                f" until {show_time(line.until_ms, local_zone_name())}"
                if line.action == "mute" and line.until_ms
                else ""
            )
            reason = f"  reason: {line.reason}" if line.reason else ""
            click.echo(
                f"{show_time(line.time_ms, local_zone_name())}  {pseudonym_text_id(line.actor)[:16]}…  "
                f"{line.action} {target}{until}{outcome}{reason}"
            )

    @mod.command("reports")
    @click.argument("group_name")
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_context
    @friendly
    def mod_reports(ctx: click.Context, group_name: str, as_json: bool) -> None:
        """Reports sent to you, each checked against the reported author's signature."""

        async def go(me: Participant, s: Any, record: GroupRecord) -> list[Any]:
            return reports(record)

        _me, found = call(ctx, group_name, go)
        for r in found:
            row = {
                "reporter": pseudonym_text_id(r.reporter),
                "reason": r.reason,
                "verified": r.verified,
                "author": pseudonym_text_id(r.reported_author) if r.reported_author else None,
                "message": r.reported_id.hex() if r.reported_id else None,
                "words": r.words,
                "problem": r.problem,
            }
            if as_json:
                click.echo(json.dumps(row))
            elif r.verified:
                click.echo(
                    _(
                        "report by {reporter}…: {reason}\n  verified: {author}… signed exactly: {words!r}",
                        reporter=row["reporter"][:16],
                        reason=r.reason or _("(no reason given)"),
                        author=str(row["author"])[:16],
                        words=r.words,
                    )
                )
            else:
                click.echo(
                    _(
                        "report by {reporter}…: NOT verified ({problem})",
                        reporter=row["reporter"][:16],
                        problem=r.problem,
                    )
                )

    # --- sessions -------------------------------------------------------------------------

    @cli.command("sessions")
    @click.argument("group_name")
    @click.option("--tz", default=local_zone_name, help="Show times in this zone (default: $TZ or UTC).")
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_context
    @friendly
    def list_sessions(ctx: click.Context, group_name: str, tz: str, as_json: bool) -> None:
        """Upcoming sessions, in your local time, with RSVPs and who holds the talking piece."""

        async def go(me: Participant, s: Any, record: GroupRecord) -> tuple[list[Any], bytes]:
            return sessions(record, me.clock()), me.pseudonym(record).public_key

        _me, (views, mine) = call(ctx, group_name, go)
        if not views:
            click.echo(_("no upcoming sessions"))
        for v in views:
            occ = v.occurrence
            yes = sorted(k for k, a in v.rsvps.items() if a == "yes")
            row = {
                "session": occ.session_id.hex(),
                "occurrence": occ.index,
                "title": v.title,
                "start_ms": occ.start_ms,
                "end_ms": occ.end_ms,
                "start": show_time(occ.start_ms, tz),
                "zone": v.tz,
                "going": len(yes),
                "your_rsvp": v.rsvps.get(mine),
                "talking_piece": pseudonym_text_id(v.talking_piece) if v.talking_piece else None,
                "retention_ms": v.retention_ms,
            }
            if as_json:
                click.echo(json.dumps(row))
                continue
            click.echo(f"{row['session'][:8]} #{occ.index}  {row['start']}  {v.title}")
            details = f"  {len(yes)} going"
            if row["your_rsvp"]:
                details += f"; you said {row['your_rsvp']}"
            if v.talking_piece:
                holder = "you" if v.talking_piece == mine else str(row["talking_piece"])[:16] + "…"
                details += f"; talking piece: {holder}"
            if v.retention_ms is not None:
                details += f"; what is said is erased {v.retention_ms // 3_600_000} h after it ends"
            click.echo(details)

    @cli.group("session")
    def session_group() -> None:
        """Schedule sessions, RSVP, pass the talking piece, see check-ins."""

    @session_group.command("schedule")
    @click.argument("group_name")
    @click.option("--title", required=True)
    @click.option("--about", help="A line about the session.")
    @click.option("--start", required=True, help="Local start time: 'YYYY-MM-DD HH:MM'.")
    @click.option("--duration", default="60m", show_default=True)
    @click.option("--tz", default=local_zone_name, help="IANA zone of --start and of the recurrence.")
    @click.option("--weekly", type=click.IntRange(2, 520), help="Meet this many times, weekly.")
    @click.option("--daily", type=click.IntRange(2, 520), help="Meet this many times, daily.")
    @click.option("--retention", help="Erase what is said in a session this long after it ends (e.g. 0h, 24h).")
    @click.pass_context
    @friendly
    def schedule(
        ctx: click.Context,
        group_name: str,
        title: str,
        about: str | None,
        start: str,
        duration: str,
        tz: str,
        weekly: int | None,
        daily: int | None,
        retention: str | None,
    ) -> None:
        """Schedule a facilitated session (facilitators)."""
        recurrence = ("weekly", weekly) if weekly else ("daily", daily) if daily else None
        start_ms = parse_local_time(start, tz)

        async def go(me: Participant, s: Any, record: GroupRecord) -> bytes:
            return await me.schedule(
                s,
                record,
                title=title,
                about=about,
                start_ms=start_ms,
                duration_ms=parse_duration(duration),
                tz=tz,
                recurrence=recurrence,
                retention_ms=parse_duration(retention) if retention else None,
            )

        _me, sid = call(ctx, group_name, go)
        click.echo(_("session scheduled: {session}  {start}", session=sid.hex()[:8], start=show_time(start_ms, tz)))

    @session_group.command("cancel")
    @click.argument("group_name")
    @click.argument("session_ref")
    @click.pass_context
    @friendly
    def cancel(ctx: click.Context, group_name: str, session_ref: str) -> None:
        """Cancel a session's remaining occurrences (facilitators)."""

        async def go(me: Participant, s: Any, record: GroupRecord) -> None:
            await actions.cancel_session(me, s, record, find_session(record, session_ref))

        call(ctx, group_name, go)
        click.echo(_("session cancelled"))

    @session_group.command("rsvp")
    @click.argument("group_name")
    @click.argument("session_ref")
    @click.argument("answer", type=click.Choice(RSVP_ANSWERS))
    @click.pass_context
    @friendly
    def rsvp(ctx: click.Context, group_name: str, session_ref: str, answer: str) -> None:
        """Say whether you will come to a session's next occurrence."""

        async def go(me: Participant, s: Any, record: GroupRecord) -> None:
            await me.post(s, record, actions.rsvp(me, record, find_session(record, session_ref), answer))

        call(ctx, group_name, go)
        click.echo(_("RSVP: {answer}", answer=answer))

    @session_group.command("pass")
    @click.argument("group_name")
    @click.argument("session_ref")
    @click.argument("member", required=False)
    @click.pass_context
    @friendly
    def pass_piece(ctx: click.Context, group_name: str, session_ref: str, member: str | None) -> None:
        """Pass the talking piece to MEMBER (facilitators); without MEMBER the circle is open."""
        holder = parse_pseudonym_id(member) if member else None

        async def go(me: Participant, s: Any, record: GroupRecord) -> None:
            await actions.pass_piece(me, s, record, find_session(record, session_ref), holder)

        call(ctx, group_name, go)
        click.echo(_("talking piece: {holder}", holder=member) if member else _("talking piece: open circle"))

    @session_group.command("checkins")
    @click.argument("group_name")
    @click.argument("session_ref")
    @click.option("--occurrence", type=int, help="Which occurrence (default: the current or next one).")
    @click.pass_context
    @friendly
    def checkins(ctx: click.Context, group_name: str, session_ref: str, occurrence: int | None) -> None:
        """A session's check-in summary (facilitators see those shared with facilitators only)."""

        async def go(me: Participant, s: Any, record: GroupRecord) -> Any:
            sid = find_session(record, session_ref)
            index = occurrence if occurrence is not None else actions.next_occurrence(me, record, sid)
            return checkin_summary(record, sid, index)

        _me, summary = call(ctx, group_name, go)
        if not summary.count:
            click.echo(_("no check-ins yet"))
            return
        moods = ", ".join(f"{mood}: {n}" for mood, n in summary.moods.items())
        click.echo(
            ngettext(
                "{n} check-in; average mood {average:.1f} ({moods})",
                "{n} check-ins; average mood {average:.1f} ({moods})",
                summary.count,
                average=summary.average,
                moods=moods,
            )
        )
        if summary.words:
            click.echo("words: " + ", ".join(summary.words))

    # --- crisis resources -----------------------------------------------------------------

    @cli.group("crisis")
    def crisis_group() -> None:
        """The group's crisis resources, and the on-device check for crisis language."""

    @crisis_group.command("pin")
    @click.argument("group_name")
    @click.argument("text")
    @click.pass_context
    @friendly
    def pin(ctx: click.Context, group_name: str, text: str) -> None:
        """Pin the group's crisis resources: helplines, what to do now (facilitators)."""

        async def go(me: Participant, s: Any, record: GroupRecord) -> None:
            await actions.pin(me, s, record, text)

        call(ctx, group_name, go)
        click.echo(_("crisis resources pinned"))

    @crisis_group.command("show")
    @click.argument("group_name")
    @click.pass_context
    @friendly
    def show(ctx: click.Context, group_name: str) -> None:
        """Show the group's crisis resources."""

        async def go(me: Participant, s: Any, record: GroupRecord) -> tuple[str, bool]:
            return crisis_resources(record)

        _me, (text, pinned) = call(ctx, group_name, go)
        click.echo(text if pinned else "(no resources pinned by this group's facilitators yet)\n" + text)

    @crisis_group.command("check")
    @click.argument("setting", type=click.Choice(["on", "off"]))
    @click.pass_context
    @friendly
    def check_setting(ctx: click.Context, setting: str) -> None:
        """Turn the on-device check for crisis language on or off (it never sends anything)."""
        with home_lock(home_dir(ctx)):
            me = Participant.load(home_dir(ctx), passphrase())
            me.crisis_check = setting == "on"
            me.save()
        click.echo(_("on-device crisis check: {setting}", setting=setting))

    # --- credentials ----------------------------------------------------------------------

    @cli.group("credential")
    def credential_group() -> None:
        """Verified professionals: trusted issuers, posting and revoking credentials."""

    @credential_group.command("trust")
    @click.argument("group_name")
    @click.argument("issuer")
    @click.option("--remove", is_flag=True, help="Stop trusting this issuer.")
    @click.pass_context
    @friendly
    def trust(ctx: click.Context, group_name: str, issuer: str, remove: bool) -> None:
        """List ISSUER (a node id hsn1…, a pseudonym hsp1… or 64 hex digits) as trusted (facilitators)."""
        key = parse_issuer(issuer)

        async def go(me: Participant, s: Any, record: GroupRecord) -> None:
            await me.trust_issuer(s, record, key, add=not remove)

        call(ctx, group_name, go)
        click.echo(("no longer trusted: " if remove else "trusted issuer: ") + issuer)

    @credential_group.command("post")
    @click.argument("group_name")
    @click.argument("attestation")
    @click.pass_context
    @friendly
    def post_credential(ctx: click.Context, group_name: str, attestation: str) -> None:
        """Show the group a credential issued to your pseudonym in it."""
        raw = parse_hex(attestation)
        decode_attestation(raw)

        async def go(me: Participant, s: Any, record: GroupRecord) -> None:
            await me.post(s, record, CredentialPost(raw))

        call(ctx, group_name, go)
        click.echo(_("credential posted; members' clients check it themselves"))

    @credential_group.command("revocation")
    @click.argument("group_name")
    @click.argument("revocation")
    @click.pass_context
    @friendly
    def post_revocation(ctx: click.Context, group_name: str, revocation: str) -> None:
        """Pass an issuer's signed revocation on to the group."""
        raw = parse_hex(revocation)
        decode_revocation(raw)

        async def go(me: Participant, s: Any, record: GroupRecord) -> None:
            await me.post(s, record, RevocationPost(raw))

        call(ctx, group_name, go)
        click.echo(_("revocation posted"))

    @node.command("credential")
    @click.argument("directory", type=click.Path(exists=True, file_okay=False))
    @click.option("--subject", required=True, help="The pseudonym (hsp1…) it is issued to.")
    @click.option("--role", required=True, help='For example "licensed counsellor".')
    @click.option("--days", type=click.IntRange(1, 3650), default=365, show_default=True)
    @passphrase_file_option
    @friendly
    def node_credential(directory: str, subject: str, role: str, days: int, passphrase_file: Path | None) -> None:
        """Issue a credential attestation signed with this node's key (print it as hex)."""
        _me, key = load_node(Path(directory), passphrase(file=passphrase_file))
        now = now_ms()
        att = issue(
            bytes(key),
            subject=parse_pseudonym_id(subject),
            role=role,
            not_before_ms=now,
            expires_ms=now + days * 86_400_000,
            serial=os.urandom(16),
        )
        click.echo(att.raw.hex())

    @node.command("revoke-credential")
    @click.argument("directory", type=click.Path(exists=True, file_okay=False))
    @click.argument("attestation")
    @passphrase_file_option
    @friendly
    def node_revoke(directory: str, attestation: str, passphrase_file: Path | None) -> None:
        """Revoke a credential this node issued (print the signed revocation as hex)."""
        _me, key = load_node(Path(directory), passphrase(file=passphrase_file))
        att = decode_attestation(parse_hex(attestation))
        click.echo(revoke(bytes(key), att.credential_id, now_ms()).raw.hex())


def parse_hex(text: str) -> bytes:
    try:
        return bytes.fromhex(text.strip())
    except ValueError as exc:
        raise ClientError("client.bad_argument", _("expected hexadecimal digits")) from exc


def parse_issuer(text: str) -> bytes:
    text = text.strip()
    if text.startswith("hsn1"):
        return parse_node_id(text)
    if text.startswith("hsp1"):
        return parse_pseudonym_id(text)
    raw = parse_hex(text)
    if len(raw) != 32:
        raise ClientError("client.bad_argument", _("an issuer key is 32 bytes"))
    return raw


def badge_text(record: GroupRecord, key: bytes, now_ms: int) -> str:
    badge = badges(record, now_ms).get(key)
    if badge is None:
        return ""
    if badge.verified:
        return f"  [verified: {badge.role}]"
    return f"  [unverified {badge.role or 'credential'}: {badge.reason}]"
