"""The app's web pages (Starlette on trio): server-rendered HTML, forms, and one live-update stream.

Who may drive the pages: only a browser that was handed this launch's secrets. Every page lives under
a path chosen at random for this launch (``/s/ROOT/...``), and the launch link (``/s/ROOT/enter?t=
TOKEN``) exchanges the token for a cookie (HttpOnly, SameSite=Strict, Path=/s/ROOT). Browsers do not
keep cookies apart by port, so a server another local user runs on another loopback port could be sent
a cookie scoped to ``/``; one scoped to the secret path is sent only to URLs that already know it.
Then:

* every request must name this server by its loopback address (``Host``), which defeats DNS
  rebinding: another site's name pointing at 127.0.0.1 is refused;
* every request must carry the cookie; without it a page explains how to open the app;
* every form post must carry the per-launch CSRF token, and a cross-origin ``Origin`` or
  ``Sec-Fetch-Site`` is refused, so another site cannot post a form here;
* no CORS header is ever sent; a strict Content-Security-Policy allows this origin's script and
  style only; pages are ``no-store`` so decrypted words are not written to the browser's disk cache.

Keys never reach the page: views (``clients.app.views``) hold public ids and words only.
"""

from __future__ import annotations

import hmac
import html
import json
import logging
import secrets
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import jinja2
import trio
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from holdspace.clients import actions
from holdspace.clients.app import notices, views
from holdspace.clients.app.idle import CHOICES as IDLE_CHOICES
from holdspace.clients.app.idle import choice_text as idle_choice_text
from holdspace.clients.app.moderation_pages import MAX_NOTE, MUTE_CHOICES, invite_rows, muted_rows, standing
from holdspace.clients.app.moderation_pages import routes as moderation_routes
from holdspace.clients.app.page_words import page_words
from holdspace.clients.app.service import AppError, AppService, Status
from holdspace.clients.client import NodeSession
from holdspace.clients.corrections import may_edit
from holdspace.clients.crisis import default_resources
from holdspace.clients.history import MAX_BUDGET, MIN_BUDGET
from holdspace.clients.history_setting import CHOICES, choice_of, from_choice, newcomers_read, widens
from holdspace.clients.i18n import (
    LANGUAGES,
    _,
    current,
    from_accept_language,
    ngettext,
    set_fallback,
    set_language,
    translate,
    translate_plural,
)
from holdspace.clients.participant import ClientError, GroupRecord, Participant
from holdspace.clients.people import People
from holdspace.clients.plain import plain
from holdspace.clients.qr import qr_svg
from holdspace.clients.resource_links import link_parts
from holdspace.clients.support import (
    badges,
    checkin_summary,
    crisis_resources,
    group_profile,
    is_facilitator,
    may_moderate,
    moderation_log,
    reports,
    sessions,
)
from holdspace.clients.support_cli import parse_duration, parse_hex, parse_issuer, parse_local_time
from holdspace.protocol import textid
from holdspace.protocol.address import InviteToken, NodeAddress, shareable_invite
from holdspace.protocol.content import (
    MAX_ABOUT,
    MAX_DESCRIPTION,
    MAX_DISPLAY_NAME,
    MAX_GROUP_NAME,
    MAX_GUIDELINES,
    MAX_REASON,
    MAX_TEXT,
    MAX_TITLE,
    MAX_WARNING,
    MAX_WORD,
    REACTIONS,
    RSVP_ANSWERS,
    CheckIn,
    CredentialPost,
    DisplayName,
    Edit,
    Profile,
    Reaction,
    Text,
)
from holdspace.protocol.credential import decode_attestation
from holdspace.protocol.errors import HoldspaceError
from holdspace.protocol.identity import pseudonym_text_id
from holdspace.protocol.labels import label
from holdspace.protocol.oneline import is_one_line
from holdspace.protocol.payloads import HISTORY_FROM_JOIN, MAX_HISTORY_DAYS, MEMBER, ROLES, History

HERE = Path(__file__).parent
log = logging.getLogger("holdspace.app")
COOKIE = "holdspace_session"
MAX_FORM_FIELDS = 40
MAX_FIELD_BYTES = 64 * 1024  # above the largest text a message may hold (60,000 bytes)
TTL_CHOICES = ("", "1h", "1d", "7d")  # how long a message stays in the list ("": until removed)


def ttl_choices() -> dict[str, str]:
    """:data:`TTL_CHOICES` in words, in the current language."""
    return dict(zip(TTL_CHOICES, (_("Never"), _("1 hour"), _("1 day"), _("7 days")), strict=True))


#: what base.html needs on every page, before a page adds its own
PAGE_DEFAULTS: dict[str, Any] = {
    "gid": None,
    "group": None,
    "alert": False,
    "reach_out": None,  # a facilitator's crisis note: the message it fired on and whom to write to
    "is_moderator": False,
    "is_facilitator": False,
    "unlocked": False,
    "notify": False,  # the person chose notices (the page's script shows them)
    "flash": [],
    "csrf": "",
    "root": "",  # pages shown without the cookie link to the public paths only
    "invited": None,  # the group's name an invite carries (spec 14.3), shown before joining
}
HEARTBEAT = 15.0  # seconds between keep-alive comments on the live-update stream

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),  # "no-referrer" would make Chromium send "Origin: null"
    (b"cache-control", b"no-store"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


class SecurityHeaders:
    """Adds the headers above to every response, static files included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)


class ChooseLanguage:
    """Sets each request's language (``clients.i18n``) before any page runs: the person's choice in
    Settings (``chosen()``), else the best of the browser's ``Accept-Language``, else English. It is
    also the language of what the app's own tasks say until the next request."""

    def __init__(self, app: ASGIApp, chosen: Callable[[], str | None]) -> None:
        self.app = app
        self.chosen = chosen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            accept = next((v for k, v in scope.get("headers", []) if k == b"accept-language"), b"")
            code = self.chosen() or from_accept_language(accept.decode("latin-1"))
            set_language(code)
            set_fallback(code)
        await self.app(scope, receive, send)


def markup_gettext(msgid: str, **values: Any) -> Markup:
    """The templates' ``_``: like ``clients.i18n._``, but the text is escaped and so is each value,
    except one that is already markup (``strong(...)``, ``{% set %}`` blocks): a sentence can hold a
    link or emphasis as one placeholder, and stays one message for a translator."""
    text = _escaped(translate(msgid))
    return text.format(**values) if values else text


def markup_ngettext(singular: str, plural: str, n: int, **values: Any) -> Markup:
    """The templates' ``ngettext``: as :func:`markup_gettext`, with ``{n}`` filled with ``n``."""
    return _escaped(translate_plural(singular, plural, n)).format(n=n, **values)


def _escaped(text: str) -> Markup:
    """A message's own text as markup: ``&``, ``<`` and ``>`` escaped, quotes kept as written (as they
    were in the templates; the templates put messages in double-quoted attributes only, and a
    message never holds a double quote where it is used in one)."""
    return Markup(html.escape(text, quote=False))  # noqa: S704 - escaped right here


def _strong(value: Any) -> Markup:
    return Markup("<strong>{}</strong>").format(value)


def _code(value: Any, css: str | None = None) -> Markup:
    if css:
        return Markup('<code class="{}">{}</code>').format(css, value)
    return Markup("<code>{}</code>").format(value)


def _time(value: Any) -> Markup:
    """A time as the views give it (``iso``, ``text``), as a ``<time>`` element."""
    return Markup('<time datetime="{}">{}</time>').format(value["iso"], value["text"])


def _link(href: str, text: Any, css: str | None = None) -> Markup:
    attrs = Markup(' class="{}"').format(css) if css else Markup("")
    return Markup('<a href="{}"{}>{}</a>').format(href, attrs, text)


TEMPLATE_HELPERS: dict[str, Any] = {
    "strong": _strong,
    "code": _code,
    "time_tag": _time,
    "link": _link,
}


Handler = Callable[[Request, FormData], Awaitable[Response]]


class Pages:
    """The routes, bound to one service and one launch's secrets."""

    def __init__(self, service: AppService, *, launch_token: str | None = None) -> None:
        self.service = service
        self.launch_token = launch_token or secrets.token_urlsafe(32)
        self.session_secret = secrets.token_urlsafe(32)
        self.csrf = secrets.token_hex(32)  # independent of the cookie: knowing one never gives the other
        self.root = "/s/" + secrets.token_urlsafe(16)  # every page's path starts with it
        self.used: deque[str] = deque(maxlen=1000)  # forms already acted on (each carries a one-time id)
        self.port = 0  # set once the server is bound
        self.visits: dict[bytes, int | None] = {}  # group -> the read mark its conversation's visit found
        environment = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True, undefined=jinja2.StrictUndefined
        )
        self.templates = Jinja2Templates(env=environment)
        self.templates.env.globals.update(
            reactions=REACTIONS,
            moods=views.mood_words,
            ttl_choices=ttl_choices,
            once=lambda: secrets.token_urlsafe(12),
            current_language=current,
            languages=LANGUAGES,
            link_parts=link_parts,
            _=markup_gettext,
            page_words=page_words,
            ngettext=markup_ngettext,
            **TEMPLATE_HELPERS,
        )

    @property
    def launch_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.root}/enter?t={self.launch_token}"

    def go(self, path: str) -> Response:
        """After a form: a redirect to ``path`` (relative to this launch's root)."""
        return RedirectResponse(self.root + path, status_code=303)

    # -- the gate ----------------------------------------------------------------------------

    def _host_ok(self, request: Request) -> bool:
        return request.headers.get("host") in {f"127.0.0.1:{self.port}", f"localhost:{self.port}"}

    def _origin_ok(self, request: Request) -> bool:
        """For a form post: this page's origin, and a same-origin fetch (where the browser says)."""
        origin = request.headers.get("origin")
        if origin is not None and origin not in {f"http://127.0.0.1:{self.port}", f"http://localhost:{self.port}"}:
            return False
        return request.headers.get("sec-fetch-site", "same-origin") in {"same-origin", "none"}

    def _signed_in(self, request: Request) -> bool:
        return _same(request.cookies.get(COOKIE, ""), self.session_secret)

    async def enter(self, request: Request) -> Response:
        """The launch link: the token becomes the cookie. The answer is a page that moves on by itself
        (a redirect would carry the cross-site context of the file the browser was opened from)."""
        if not self._host_ok(request):
            return PlainTextResponse(_("This address does not serve Holdspace."), status_code=421)
        if not _same(request.query_params.get("t", ""), self.launch_token):
            return await self.gate(request)
        home = self.root + "/"
        response = HTMLResponse(
            f'<!doctype html><html lang="{current()}"><head><meta charset="utf-8">'
            f'<meta http-equiv="refresh" content="0;url={home}"><title>{html.escape(_("Opening Holdspace"))}</title>'
            f'</head><body><main><p><a href="{home}">{html.escape(_("Open Holdspace"))}</a></p></main></body></html>'
        )
        response.set_cookie(COOKIE, self.session_secret, httponly=True, samesite="strict", path=self.root)
        return response

    async def gate(self, request: Request) -> Response:
        """Without the cookie: how to open the app. It must not reveal the root (the cookie's path)."""
        context = {**PAGE_DEFAULTS, "title": _("Open Holdspace"), "path": "/"}
        return self.templates.TemplateResponse(request, "gate.html", context, status_code=401)

    async def public_help(self, request: Request) -> Response:
        """Crisis resources for anyone, without the app unlocked or even opened: the default ones."""
        context = {
            **PAGE_DEFAULTS,
            "title": _("Help now"),
            "path": "/help",
            "pinned": [],
            "default": default_resources(),
            "back": None,
        }
        return self.templates.TemplateResponse(request, "help.html", context)

    def page(self, fn: Callable[[Request], Awaitable[Response]], *, unlocked: bool = True) -> Callable[..., Any]:
        async def endpoint(request: Request) -> Response:
            if not self._host_ok(request):
                return PlainTextResponse(_("This address does not serve Holdspace."), status_code=421)
            if not self._signed_in(request):
                return await self.gate(request)
            if unlocked and self.service.me is None:
                return self.go("/")
            refreshing = request.headers.get("X-Holdspace-Refresh") == "1" or request.url.path.endswith("/events")
            if not refreshing:  # the page refreshing itself, or its live stream, is not use
                self.service.touch()
            try:
                return await fn(request)
            except HoldspaceError as err:
                self.service.say("error", _sentence(err), err.code)
                return self.go("/")
            except Exception as exc:  # whatever it was, the person gets a calm page
                return self.failure(exc)

        return endpoint

    def action(self, fn: Handler, *, unlocked: bool = True) -> Callable[..., Any]:
        async def endpoint(request: Request) -> Response:
            if not self._host_ok(request):
                return PlainTextResponse(_("This address does not serve Holdspace."), status_code=421)
            if not self._origin_ok(request):
                return PlainTextResponse(_("Refused: this request did not come from the Holdspace page."), 403)
            if not self._signed_in(request):
                return await self.gate(request)
            try:
                form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS, max_part_size=MAX_FIELD_BYTES)
            except Exception:
                return PlainTextResponse(_("Refused: the form could not be read."), 400)
            self.service.touch()
            if not _same(str(form.get("csrf", "")), self.csrf):
                return PlainTextResponse(_("Refused: this form did not come from the Holdspace page."), 403)
            if unlocked and self.service.me is None:
                return self.go("/")
            once = str(form.get("once", ""))
            if once and once in self.used:  # the same form sent twice (a double click): done already
                return self.go(_back(form))
            if once:
                self.used.append(once)
            try:
                return await fn(request, form)
            except HoldspaceError as err:
                self.service.say("error", _sentence(err), err.code)
                return self.go(_back(form))
            except Exception as exc:  # whatever it was, the person gets a calm page
                return self.failure(exc)

        return endpoint

    # -- rendering ---------------------------------------------------------------------------

    def render(self, request: Request, template: str, **context: Any) -> Response:
        service = self.service
        me = service.me
        status = service.status()
        base: dict[str, Any] = {
            **PAGE_DEFAULTS,
            "csrf": self.csrf,
            "root": self.root,
            "path": request.url.path.removeprefix(self.root) or "/",
            "status": status,
            "status_text": status_text(status),
            "flash": [] if request.headers.get("x-holdspace-refresh") else service.take_flash(),
            "unlocked": me is not None,
            "crisis_check": me.crisis_check if me else True,
            "idle_lock": me.idle_lock if me else 0,
            "notify": me.notify if me else False,
            "idle_choices": idle_choice_text(),
        }
        base.update(context)
        return self.templates.TemplateResponse(request, template, base)

    def record(self, request: Request) -> tuple[Participant, GroupRecord]:
        me = self.service.participant()
        try:
            gid = bytes.fromhex(request.path_params["gid"])
        except ValueError:
            raise ClientError("client.unknown_group", _("there is no such group on this device")) from None
        return me, me.record(gid)

    def group_context(self, me: Participant, record: GroupRecord) -> dict[str, Any]:
        resources, pinned = crisis_resources(record)
        mine = me.pseudonym(record).public_key
        return {
            "group": views.group_summary(me, record),
            "gid": record.group_id.hex(),
            "is_facilitator": is_facilitator(record, mine),
            "is_moderator": may_moderate(record, mine),
            "resources": resources,
            "pinned": pinned,
            "alert": record.group_id in self.service.crisis_alerts,
            "reach_out": self._reach_out(record, mine),
        }

    def _reach_out(self, record: GroupRecord, mine: bytes) -> dict[str, str] | None:
        """For a facilitator, the received message the crisis check fired on and its author (still a
        member), to point to and to reach out to privately; None for everyone else (the generic note)."""
        alert = self.service.crisis_alerts.get(record.group_id)
        state = record.state
        if alert is None or alert.message is None or alert.author is None or state is None:
            return None
        if not is_facilitator(record, mine) or alert.author not in state.members:
            return None
        return {
            "message": alert.message.hex(),
            "member": alert.author.hex(),
            "name": People(record, mine).name(alert.author),
        }

    # -- pages -------------------------------------------------------------------------------

    async def home(self, request: Request) -> Response:
        service = self.service
        if service.me is None:
            if not service.has_identity:
                return self.render(
                    request, "welcome.html", title=_("Welcome"), node=self._suggested_node(), invited=self._invited_to()
                )
            return self.render(request, "unlock.html", title=_("Unlock"))
        groups = [views.group_summary(service.me, r) for r in service.me.groups.values()]
        return self.render(
            request,
            "home.html",
            title=_("Your groups"),
            groups=groups,
            invite=service.pending_invite or "",
            invited=self._invited_to(),
        )

    def _invited_to(self) -> str | None:
        """The group's name carried by the invite the app was opened with (spec 14.3), if any."""
        if self.service.pending_invite:
            try:
                return InviteToken.parse(self.service.pending_invite).name
            except HoldspaceError:
                return None
        return None

    def _suggested_node(self) -> str:
        """The node given with --node, else the first host named by the invite the app was opened with
        (a newcomer then needs nothing but the invite)."""
        if self.service.default_node is not None:
            return str(self.service.default_node)
        if self.service.pending_invite:
            try:
                return str(InviteToken.parse(self.service.pending_invite).nodes[0])
            except (HoldspaceError, IndexError):
                return ""
        return ""

    async def create_identity(self, request: Request, form: FormData) -> Response:
        first, second = str(form.get("passphrase", "")), str(form.get("passphrase2", ""))
        if first != second:
            raise AppError("app.passphrase_mismatch", _("the two passphrases differ; type the same one twice"))
        node = NodeAddress.parse(str(form.get("node", "")).strip())
        await self.service.create(first, node)
        self.service.say("info", _("Your identity is ready. Join a group with an invite, or start one."))
        return self.go("/")

    async def unlock(self, request: Request, form: FormData) -> Response:
        await self.service.unlock(str(form.get("passphrase", "")))
        return self.go("/")

    async def lock(self, request: Request, form: FormData) -> Response:
        self.service.lock_now()
        return self.go("/")

    async def help(self, request: Request) -> Response:
        me = self.service.me
        found = []
        if me is not None:
            for record in me.groups.values():
                text, pinned = crisis_resources(record)
                if pinned:
                    found.append({"name": views.group_name(record), "text": text})
        self.service.crisis_alerts.clear()
        back = {"path": "/", "text": _("Back to your groups")} if me is not None else None
        came_from = request.query_params.get("from", "")
        if me is not None and len(came_from) == 64:  # the conversation the person came from, if it is theirs
            try:
                record = me.groups.get(bytes.fromhex(came_from))
            except ValueError:
                record = None
            if record is not None:
                name = views.group_name(record)
                back = {"path": f"/g/{came_from}", "text": _("Back to {name}", name=name)}
                found.sort(key=lambda p: p["name"] != name)  # that group's own resources first
        return self.render(
            request, "help.html", title=_("Help now"), pinned=found, default=default_resources(), back=back
        )

    async def settings(self, request: Request) -> Response:
        me = self.service.participant()
        usage = me.storage()
        storage = {
            "budget_mib": usage["budget"] // 2**20,
            "used_mib": f"{usage['used'] / 2**20:,.1f}",
            "messages": f"{usage['messages']:,}",
            "count": usage["messages"],
            "pruned": usage["pruned"],
            "damaged": usage["damaged"],
            "min_mib": MIN_BUDGET // 2**20,
        }
        return self.render(
            request,
            "settings.html",
            title=_("Settings"),
            home=str(me.home),
            node=str(me.node),
            storage=storage,
            language=me.language or "",
            contact=self.service.contact,
            contact_link=_safe_link(self.service.contact),
        )

    async def save_storage(self, request: Request, form: FormData) -> Response:
        me = self.service.participant()
        raw = str(form.get("budget_mib", "")).strip()
        if not raw.isdigit() or not MIN_BUDGET // 2**20 <= int(raw) <= MAX_BUDGET // 2**20:
            raise AppError(
                "app.bad_input",
                _(
                    "give the storage budget in MiB, from {low} to {high:,}",
                    low=MIN_BUDGET // 2**20,
                    high=MAX_BUDGET // 2**20,
                ),
            )
        pruned = me.set_budget(int(raw) * 2**20)
        said = _("Storage budget saved.")
        if pruned:
            said += " " + ngettext(
                "{n} older message was removed to fit it.", "{n} older messages were removed to fit it.", pruned
            )
        self.service.say("info", said)
        return self.go("/settings")

    async def save_settings(self, request: Request, form: FormData) -> Response:
        me = self.service.participant()
        me.crisis_check = form.get("crisis_check") == "on"
        minutes = str(form.get("idle_lock", "0"))
        if not minutes.isdigit() or int(minutes) not in IDLE_CHOICES:
            raise AppError("app.bad_input", _("choose when Holdspace locks itself from the list"))
        chosen = str(form.get("language", ""))
        if chosen and chosen not in LANGUAGES:
            raise AppError("app.bad_input", _("choose the language from the list"))
        me.language = chosen or None
        code = me.language or from_accept_language(request.headers.get("accept-language"))
        set_language(code)  # "Settings saved." in the language just chosen
        set_fallback(code)
        self.service.set_idle_lock(int(minutes))  # saves the key file, with the care check too
        self.service.say("info", _("Settings saved."))
        return self.go("/settings")

    async def save_notify(self, request: Request, form: FormData) -> Response:
        """Notices on or off (the page asked the browser's permission first, when turning them on)."""
        me = self.service.participant()
        me.notify = form.get("on") == "yes"
        me.save()
        self.service.say(
            "info", (_("Notifications are on for this device.") if me.notify else _("Notifications are off."))
        )
        return self.go("/settings")

    async def reconnect(self, request: Request, form: FormData) -> Response:
        self.service.reconnect()
        return self.go(_back(form))

    async def join_page(self, request: Request) -> Response:
        invite = request.query_params.get("invite", "") or self.service.pending_invite or ""
        invited = None
        try:
            invited = InviteToken.parse(invite).name if invite else None
        except HoldspaceError:
            invited = None
        return self.render(request, "join.html", title=_("Join a group"), invite=invite, invited=invited)

    async def join(self, request: Request, form: FormData) -> Response:
        token = InviteToken.parse(str(form.get("invite", "")).strip())
        name = _text(form, "name", 80, _("the group's name on your device")) or None

        async def go(me: Participant, s: Any) -> GroupRecord:
            record = await me.join(s, token, name)
            await me.sync(s, record)  # the page then shows the person as a member at once
            return record

        record = await self.service.call(go)
        self.service.pending_invite = None
        self.service.follow(record.group_id)
        self.service.say(
            "info",
            _(
                "You joined. This group knows you by four words that no other group sees. You can read "
                "messages once a member's app lets you in, usually within moments."
            ),
        )
        return self.go(f"/g/{record.group_id.hex()}")

    async def create_group(self, request: Request, form: FormData) -> Response:
        name = _text(form, "name", MAX_GROUP_NAME, _("the group's name"))
        if not name or not is_one_line(name):
            raise AppError("app.bad_input", _("give the group a name, on one line"))
        record = await self.service.call(lambda me, s: me.create_group(s, name))
        self.service.follow(record.group_id)
        self.service.say("info", _("{name} is ready. You are its facilitator: invite people from Members.", name=name))
        return self.go(f"/g/{record.group_id.hex()}")

    async def conversation(self, request: Request) -> Response:
        me, record = self.record(request)
        refreshing = request.headers.get("x-holdspace-refresh") == "1"
        if not refreshing:  # a visit: the line stays where this mark puts it while the page refreshes
            self.visits[record.group_id] = record.read_mark
        context = self._conversation(me, record)
        context["new_since"] = notices.first_new(context["messages"], self.visits.get(record.group_id))
        if (not refreshing or request.headers.get("x-holdspace-seen") == "1") and notices.advance(record):
            me.save()  # what is on screen now was seen (a hidden page's refreshes do not count)
        return self.render(request, "group.html", **context)

    def _conversation(self, me: Participant, record: GroupRecord) -> dict[str, Any]:
        context = self.group_context(me, record)
        draft = self.service.drafts.get(record.group_id, ("", ""))
        context.update(
            draft_text=draft[0],
            draft_warning=draft[1],
            title=context["group"]["name"],
            messages=views.messages(me, record),
            opened={key.hex() for key in self.service.opened},
            pruned=me.pruned(record),
            outbox=views.outbox(me, record),
            csrf=self.csrf,
            standing=standing(me, record),
        )
        return context

    async def send(self, request: Request, form: FormData) -> Response:
        record = self.record(request)[1]
        reply = _hex(form, "reply") if form.get("reply") else None
        if reply is None:  # a reply's words are not the composer's draft
            self.service.drafts[record.group_id] = (str(form.get("text", "")), str(form.get("warning", "")))
        text = _text(form, "text", MAX_TEXT, _("the message"))
        warning = _text(form, "warning", MAX_WARNING, _("the content warning")) or None
        if not text:
            raise AppError("app.bad_input", _("write something first"))
        if reply is not None and len(reply) != 32:
            raise AppError("app.bad_input", _("that is not a message to reply to"))
        ttl = str(form.get("ttl", ""))
        if ttl not in TTL_CHOICES:
            raise AppError("app.bad_input", _("choose when the message disappears from the list"))
        self.service.queue(record, Text(text, warning, reply), ttl_ms=parse_duration(ttl) if ttl else None)
        if reply is not None:
            return self.go(f"/g/{record.group_id.hex()}#composer")
        self.service.drafts.pop(record.group_id, None)  # kept until it is safely in the outbox
        return self.go(f"/g/{record.group_id.hex()}#composer")

    async def react(self, request: Request, form: FormData) -> Response:
        record = self.record(request)[1]
        value = str(form.get("reaction", ""))
        undo, reaction = value.startswith("-"), value.removeprefix("-")  # "-hug": take the hug back
        if reaction not in REACTIONS:
            raise AppError("app.bad_input", _("that is not a reaction"))
        target = _message_id(form)
        self.service.queue(record, Reaction(target, reaction, undo))
        return self.go(f"/g/{record.group_id.hex()}#m-{target.hex()}")

    async def checkin(self, request: Request, form: FormData) -> Response:
        me, record = self.record(request)
        try:
            mood = int(str(form.get("mood", "")))
        except ValueError:
            mood = 0
        if mood not in views.MOODS:
            raise AppError("app.bad_input", _("choose how you are, from 1 to 5"))
        word = _text(form, "word", MAX_WORD, _("the word")) or None
        private = form.get("private") == "on"
        content: CheckIn = actions.check_in(me, record, mood, word)
        self.service.queue(record, content, to_facilitators=private)
        self.service.say(
            "info",
            _("Thank you for checking in. It will reach the facilitators.")
            if private
            else _("Thank you for checking in. It will reach the group."),
        )
        return self.go(_back(form))

    async def reach_out(self, request: Request, form: FormData) -> Response:
        """A facilitator writes privately to a member whose message the crisis check fired on: a
        direct message (spec 13.5) sealed to that member and the group's facilitators (the
        facilitators' private line). Checked: this person is a facilitator, the member is a current
        member, the words are there and not too long; it is sent now (it needs the node)."""
        me, record = self.record(request)
        mine = me.pseudonym(record).public_key
        if not is_facilitator(record, mine):
            raise ClientError("client.not_facilitator", _("only a facilitator of the group may do that"))
        member = _hex(form, "member")
        state = record.state
        if state is None or member == mine or member not in state.members:
            raise ClientError("client.not_member", _("that person is not a member of this group at the moment"))
        text = _text(form, "text", MAX_TEXT, _("the message"))
        if not text:
            raise AppError("app.bad_input", _("write something first"))
        to = sorted({member, *me.facilitators(record)})
        sent = await self.service.call(lambda me, s: me.post(s, record, Text(text, None), to=to))
        self.service.crisis_alerts.pop(record.group_id, None)
        name = People(record, mine).name(member)
        self.service.say(
            "info", _("Sent privately to {name}. Only they and the group's facilitators can read it.", name=name)
        )
        return self.go(f"/g/{record.group_id.hex()}#m-{sent.entry_id.hex()}")

    async def show(self, request: Request, form: FormData) -> Response:
        """Open or close a message behind a content warning: only an opened one has its words in the page."""
        record = self.record(request)[1]
        target = _message_id(form)
        self.service.open_warning(target, form.get("open") == "yes")
        return self.go(f"/g/{record.group_id.hex()}#m-{target.hex()}")

    async def redact(self, request: Request, form: FormData) -> Response:
        record = self.record(request)[1]
        target = _message_id(form)
        if form.get("confirm") != "yes":
            raise AppError("app.not_confirmed", _("the message was not removed: say yes to remove it"))
        await self.service.call(lambda me, s: me.redact(s, record, [target]))
        self.service.say(
            "info", _("The message is removed from everyone's screen. A note shows that something was removed.")
        )
        return self.go(f"/g/{record.group_id.hex()}")

    async def edit(self, request: Request, form: FormData) -> Response:
        me, record = self.record(request)
        target = _message_id(form)
        original = next(iter(record.messages.find(target)), None)
        mine = me.pseudonym(record).public_key
        if original is None or not may_edit(original, mine, me.clock()):
            raise AppError("app.bad_input", _("only your own messages can be corrected, within 15 minutes of sending"))
        text = _text(form, "text", MAX_TEXT, _("the message"))
        if not text:
            raise AppError("app.bad_input", _("write something first, or remove the message instead"))
        warning = _text(form, "warning", MAX_WARNING, _("the content warning")) or None
        self.service.queue(record, Edit(target, text, warning))
        return self.go(f"/g/{record.group_id.hex()}#m-{target.hex()}")

    async def about_page(self, request: Request) -> Response:
        me, record = self.record(request)
        return self._about(request, me, record)

    def _about(
        self, request: Request, me: Participant, record: GroupRecord, confirm_history: dict[str, Any] | None = None
    ) -> Response:
        profile = group_profile(record)
        people = People(record, me.pseudonym(record).public_key)
        history = _history(record)
        choice, days = choice_of(history)
        return self.render(
            request,
            "about.html",
            title=_("About this group"),
            profile=profile,
            my_label=label(me.pseudonym(record).public_key),
            my_name=people.own_name or "",
            limits={"name": MAX_GROUP_NAME, "description": MAX_DESCRIPTION, "guidelines": MAX_GUIDELINES},
            history={"sentence": newcomers_read(history), "choice": choice, "days": days, "max": MAX_HISTORY_DAYS},
            confirm_history=confirm_history,
            **self.group_context(me, record),
        )

    async def save_history(self, request: Request, form: FormData) -> Response:
        """A facilitator chooses what new members can read of what came before (12.2, 13.1); a choice
        that lets them read more than now is asked about first (``confirm=yes`` publishes it)."""
        me, record = self.record(request)
        choice = str(form.get("history", ""))
        if choice not in CHOICES:
            raise AppError("app.bad_input", _("Choose what new members can read from the list."))
        days = _bounded(form, "days", 1, MAX_HISTORY_DAYS, 7)
        chosen = from_choice(choice, days)
        if widens(_history(record), chosen) and form.get("confirm") != "yes":
            ask = {"choice": choice, "days": days, "sentence": newcomers_read(chosen)}
            return self._about(request, me, record, confirm_history=ask)
        await self.service.call(lambda me, s: me.set_history(s, record, chosen))
        self.service.say("info", _("Saved for everyone. {sentence}", sentence=newcomers_read(chosen)))
        return self.go(f"/g/{record.group_id.hex()}/about")

    async def save_profile(self, request: Request, form: FormData) -> Response:
        record = self.record(request)[1]
        name = _text(form, "name", MAX_GROUP_NAME, _("the group's name"))
        if not name or not is_one_line(name):
            raise AppError("app.bad_input", _("give the group a name, on one line"))
        description = _text(form, "description", MAX_DESCRIPTION, _("the description")) or None
        guidelines = _text(form, "guidelines", MAX_GUIDELINES, _("the guidelines")) or None
        self.service.queue(record, Profile(name, description, guidelines))
        self.service.say("info", _("Saved. Every member sees the new name, description and guidelines."))
        return self.go(f"/g/{record.group_id.hex()}/about")

    async def save_my_name(self, request: Request, form: FormData) -> Response:
        record = self.record(request)[1]
        name = _text(form, "name", MAX_DISPLAY_NAME, _("your name")) or None
        if name is not None and not is_one_line(name):
            raise AppError("app.bad_input", _("write your name on one line"))
        self.service.queue(record, DisplayName(name))
        said = f"This group now sees you as {name}." if name else "This group now sees you by your four words."
        self.service.say("info", said)
        return self.go(f"/g/{record.group_id.hex()}/about")

    async def report_page(self, request: Request) -> Response:
        me, record = self.record(request)
        target = request.path_params["mid"]
        found = [m for m in views.messages(me, record) if m["id"] == target]
        if not found:
            raise ClientError("client.unknown_message", _("that message is not here"))
        return self.render(
            request, "report.html", title=_("Report a message"), message=found[0], **self.group_context(me, record)
        )

    async def report(self, request: Request, form: FormData) -> Response:
        record = self.record(request)[1]
        target = _message_id(form)
        message = next(iter(record.messages.find(target)), None)
        if message is None:
            raise ClientError("client.unknown_message", _("that message is not here"))
        why = _text(form, "why", MAX_REASON, _("what is wrong"))
        count = await self.service.call(lambda me, s: actions.report(me, s, record, message, why))
        self.service.say(
            "info",
            ngettext(
                "Reported to {n} person who looks after this group. Only that message was shown to them.",
                "Reported to {n} people who look after this group. Only that message was shown to them.",
                count,
            ),
        )
        return self.go(f"/g/{record.group_id.hex()}")

    async def sessions_page(self, request: Request) -> Response:
        me, record = self.record(request)
        mine = me.pseudonym(record).public_key
        tz = views.local_zone()
        rows = []
        for v in sessions(record, me.clock()):
            occ = v.occurrence
            summary = checkin_summary(record, occ.session_id, occ.index)
            rows.append(
                {
                    "id": occ.session_id.hex(),
                    "index": occ.index,
                    "title": v.title,
                    "about": v.about,
                    "start": views.when(occ.start_ms, tz),
                    "end": views.when(occ.end_ms, tz),
                    "running": occ.start_ms <= me.clock() < occ.end_ms,
                    "going": sum(1 for a in v.rsvps.values() if a == "yes"),
                    "mine": views.answer_word(v.rsvps.get(mine)),
                    "piece": None if v.talking_piece is None else views.member_label(v.talking_piece, mine),
                    "retention": None if v.retention_ms is None else views.duration_words(v.retention_ms),
                    "checkins": summary,
                }
            )
        state = record.state
        members = sorted(state.members) if state is not None else []
        return self.render(
            request,
            "sessions.html",
            title=_("Sessions"),
            sessions=rows,
            tz=tz,
            members=[{"id": k.hex(), "label": views.member_label(k, mine)} for k in members],
            rsvp_answers=RSVP_ANSWERS,
            **self.group_context(me, record),
        )

    async def rsvp(self, request: Request, form: FormData) -> Response:
        me, record = self.record(request)
        answer = str(form.get("answer", ""))
        if answer not in RSVP_ANSWERS:
            raise AppError("app.bad_input", _("answer yes, no or maybe"))
        self.service.queue(record, actions.rsvp(me, record, _hex(form, "session"), answer))
        return self.go(f"/g/{record.group_id.hex()}/sessions")

    async def schedule(self, request: Request, form: FormData) -> Response:
        record = self.record(request)[1]
        title = _text(form, "title", MAX_TITLE, _("the title"))
        if not title:
            raise AppError("app.bad_input", _("give the session a title"))
        tz = str(form.get("tz", "")).strip() or views.local_zone()
        start = parse_local_time(f"{form.get('date', '')} {form.get('time', '')}", tz)
        duration = parse_duration(str(form.get("duration", "60")) or "60")
        repeat = str(form.get("repeat", ""))
        if repeat not in {"", "weekly", "daily"}:
            raise AppError("app.bad_input", _("choose how the session repeats"))
        recurrence = (repeat, _bounded(form, "times", 2, 520, 2)) if repeat else None
        retention = str(form.get("retention", "")).strip()
        about = _text(form, "about", MAX_ABOUT, _("the description")) or None

        async def go(me: Participant, s: Any) -> bytes:
            return await me.schedule(
                s,
                record,
                title=title,
                about=about,
                start_ms=start,
                duration_ms=duration,
                tz=tz,
                recurrence=recurrence,
                retention_ms=parse_duration(retention) if retention else None,
            )

        await self.service.call(go)
        self.service.say("info", _("{title} is scheduled. Members see it in their own time zone.", title=title))
        return self.go(f"/g/{record.group_id.hex()}/sessions")

    async def pass_piece(self, request: Request, form: FormData) -> Response:
        record = self.record(request)[1]
        holder = str(form.get("holder", ""))
        key = _hex(form, "holder") if holder else None
        if key is not None and len(key) != 32:
            raise AppError("app.bad_input", _("choose a member to give the talking piece to"))
        sid = _hex(form, "session")
        await self.service.call(lambda me, s: actions.pass_piece(me, s, record, sid, key))
        return self.go(f"/g/{record.group_id.hex()}/sessions")

    async def cancel_session(self, request: Request, form: FormData) -> Response:
        record = self.record(request)[1]
        sid = _hex(form, "session")
        await self.service.call(lambda me, s: actions.cancel_session(me, s, record, sid))
        self.service.say("info", _("The session is cancelled."))
        return self.go(f"/g/{record.group_id.hex()}/sessions")

    async def members_page(self, request: Request) -> Response:
        me, record = self.record(request)
        invite = None
        if not request.headers.get("x-holdspace-refresh"):
            invite = self.service.fresh_invites.pop(record.group_id, None)  # shown once, then forgotten
        mine = me.pseudonym(record).public_key
        state = record.state
        rows = []
        found = badges(record, me.clock())
        people = People(record, mine)
        for key, member in sorted(state.members.items()) if state is not None else []:
            person = people(key)
            rows.append(
                {
                    "hex": key.hex(),
                    "id": pseudonym_text_id(key),
                    "label": person.name if key != mine else _("You ({label})", label=person.label),
                    "words": person.label,
                    "lookalike": person.lookalike,
                    "role": member.role,
                    "you": key == mine,
                    "badge": views.badge_view(found, key),
                }
            )
        return self.render(
            request,
            "members.html",
            title=_("Members"),
            members=rows,
            roles=ROLES,
            invite=invite,
            invite_is_link=invite is not None and not invite.startswith("hsinvite:"),
            invite_qr=Markup(qr_svg(invite, "QR code of the invite above")) if invite else None,  # noqa: S704 - segno's SVG: paths only, the label escaped
            me_id=pseudonym_text_id(mine),
            me_words=label(mine),
            lookalikes=people.lookalikes,
            muted=muted_rows(me, record),
            mute_choices=MUTE_CHOICES,
            invites=invite_rows(me, record),
            **self.group_context(me, record),
        )

    async def invite(self, request: Request, form: FormData) -> Response:
        me, record = self.record(request)
        role = str(form.get("role", MEMBER))
        if role not in ROLES:
            raise AppError("app.bad_input", _("choose a role"))
        uses = _bounded(form, "uses", 1, 100, 1)
        days = _bounded(form, "days", 1, 30, 7)
        expires = me.clock() + days * 86_400_000

        async def make(me: Participant, s: NodeSession) -> str:
            token = await me.invite(s, record, role=role, uses=uses, expires_ms=expires)
            return shareable_invite(token, s.web_origin)  # a link if the home node serves the browser client

        self.service.fresh_invites[record.group_id] = await self.service.call(make)
        return self.go(f"/g/{record.group_id.hex()}/members#invite-h")

    async def remove(self, request: Request, form: FormData) -> Response:
        record = self.record(request)[1]
        target = _hex(form, "member")
        ban = form.get("ban") == "1"
        note = _text(form, "note", MAX_NOTE, _("the note")) or None
        reason = _text(form, "reason", MAX_NOTE, _("the reason")) or None
        name = People(record)(target).name if len(target) == 32 else _("That member")
        await self.service.call(lambda me, s: me.remove_member(s, record, target, ban=ban, note=note, reason=reason))
        self.service.say(
            "info",
            _("{name} was removed and may not come back.", name=name) if ban else _("{name} was removed.", name=name),
        )
        return self.go(f"/g/{record.group_id.hex()}/members")

    async def moderation_page(self, request: Request) -> Response:
        me, record = self.record(request)
        mine = me.pseudonym(record).public_key
        found = [
            {
                "reporter": views.member_label(r.reporter, mine),
                "time": views.when(r.time_ms),
                "reason": r.reason,
                "verified": r.verified,
                "author": views.member_label(r.reported_author, mine) if r.reported_author else None,
                "author_hex": r.reported_author.hex() if r.reported_author else None,
                "message": r.reported_id.hex() if r.reported_id else None,
                "words": r.words,
                "problem": r.problem,
            }
            for r in reports(record)
        ]
        log = [
            {
                "time": views.when(line.time_ms),
                "actor": views.member_label(line.actor, mine),
                "action": line.action,
                **_log_kind(line.action),
                "target": views.member_label(line.target, mine) if line.target else "",
                "outcome": line.outcome,
                "until": views.when(line.until_ms) if line.action == "mute" and line.until_ms else None,
                "reason": line.reason,
            }
            for line in moderation_log(record)
        ]
        state = record.state
        issuers = sorted(textid.encode_id(textid.NODE_PREFIX, k) for k in (state.issuers if state else ()))
        context = self.group_context(me, record)
        return self.render(
            request, "moderation.html", title=_("Moderation"), reports=found, log=log, issuers=issuers, **context
        )

    async def pin(self, request: Request, form: FormData) -> Response:
        record = self.record(request)[1]
        text = str(form.get("resources", "")).strip()
        if not text:
            raise AppError("app.bad_input", _("write the resources to pin"))
        await self.service.call(lambda me, s: actions.pin(me, s, record, text))
        self.service.say("info", _("The crisis resources are pinned for everyone in the group."))
        return self.go(f"/g/{record.group_id.hex()}/moderation")

    async def trust(self, request: Request, form: FormData) -> Response:
        record = self.record(request)[1]
        issuer = parse_issuer(str(form.get("issuer", "")))
        add = form.get("remove") != "1"
        await self.service.call(lambda me, s: me.trust_issuer(s, record, issuer, add=add))
        self.service.say(
            "info",
            (_("Credentials from that issuer are now trusted.") if add else _("That issuer is no longer trusted.")),
        )
        return self.go(f"/g/{record.group_id.hex()}/moderation")

    async def post_credential(self, request: Request, form: FormData) -> Response:
        record = self.record(request)[1]
        raw = parse_hex(str(form.get("attestation", "")))
        attestation = decode_attestation(raw)
        if attestation.subject != self.service.participant().pseudonym(record).public_key:
            raise AppError(
                "app.bad_input", _("that credential was issued to another pseudonym, not yours in this group")
            )
        self.service.queue(record, CredentialPost(raw))
        self.service.say("info", _("Your credential is shared. Members' apps check it themselves."))
        return self.go(f"/g/{record.group_id.hex()}/members")

    async def leave_page(self, request: Request) -> Response:
        me, record = self.record(request)
        return self.render(request, "leave.html", title=_("Your words, or leaving"), **self.group_context(me, record))

    async def erase(self, request: Request, form: FormData) -> Response:
        record = self.record(request)[1]
        if form.get("confirm") != "yes":
            raise AppError("app.not_confirmed", _("tick the box to confirm"))
        await self.service.call(lambda me, s: me.erase_my_messages(s, record))
        self.service.say("info", _("Everything you wrote in this group is erased, on every community's server."))
        return self.go(f"/g/{record.group_id.hex()}")

    async def leave(self, request: Request, form: FormData) -> Response:
        record = self.record(request)[1]
        if form.get("confirm") != "yes":
            raise AppError("app.not_confirmed", _("tick the box to confirm"))

        async def go(me: Participant, s: Any) -> None:
            await me.leave_group(s, record)
            await me.sync(s, record)  # the pages then show at once that you are no longer a member

        await self.service.call(go)
        self.service.say("info", _("You left the group."))
        return self.go("/")

    async def discard(self, request: Request, form: FormData) -> Response:
        me = self.service.participant()
        me.discard(_hex(form, "item"))
        self.service.changed()
        return self.go(_back(form))

    async def retry(self, request: Request, form: FormData) -> Response:
        self.service.retry_refused(_hex(form, "item"))
        return self.go(_back(form))

    async def dismiss(self, request: Request, form: FormData) -> Response:
        self.service.crisis_alerts.clear()
        return self.go(_back(form))

    async def events(self, request: Request) -> Response:
        """Server-sent events: a ``change`` event whenever something the pages show changed."""

        async def stream() -> AsyncIterator[str]:
            seen = -1
            told = dict(self.service.arrivals)  # texts from others this stream has told its page of
            while True:
                changed = False
                with trio.move_on_after(HEARTBEAT):  # never yield inside a cancel scope (trio #638)
                    seen = await self.service.wait_change(seen)
                    changed = True
                new, soon = self._notices(told)
                told = dict(self.service.arrivals)
                if not changed:
                    yield f"event: soon\ndata: {json.dumps({'soon': soon})}\n\n" if soon else ": still here\n\n"
                    continue
                status = self.service.status()
                groups = sorted(g.hex() for g in self.service.changed_groups)
                self.service.changed_groups.clear()
                data = {"v": seen, "groups": groups, "status": status.state, "text": status_text(status)}
                data |= {"new": new, "soon": soon}
                yield f"event: change\ndata: {json.dumps(data)}\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream")

    def _notices(self, told: dict[bytes, int]) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
        """For a page that chose notices: the groups with texts from others since ``told`` (their names,
        never a word), and the sessions starting soon (``notices.soon``); nothing otherwise."""
        me = self.service.me
        if me is None or not me.notify:
            return [], []
        names = {gid: views.group_name(r) for gid, r in me.groups.items()}
        new = [
            {"g": g.hex(), "name": names[g]}
            for g, n in sorted(self.service.arrivals.items())
            if n > told.get(g, 0) and g in names
        ]
        return new, notices.soon(me, me.clock(), names)

    # -- the application ---------------------------------------------------------------------

    def app(self) -> ASGIApp:
        p, a = self.page, self.action
        g = "/g/{gid:str}"
        routes = [
            Route("/enter", self.enter),
            Route("/", p(self.home, unlocked=False)),
            Route("/help", p(self.help, unlocked=False)),
            Route("/identity", a(self.create_identity, unlocked=False), methods=["POST"]),
            Route("/unlock", a(self.unlock, unlocked=False), methods=["POST"]),
            Route("/lock", a(self.lock), methods=["POST"]),
            Route("/settings", p(self.settings)),
            Route("/settings", a(self.save_settings), methods=["POST"]),
            Route("/settings/storage", a(self.save_storage), methods=["POST"]),
            Route("/settings/notify", a(self.save_notify), methods=["POST"]),
            Route("/reconnect", a(self.reconnect), methods=["POST"]),
            Route("/join", p(self.join_page)),
            Route("/join", a(self.join), methods=["POST"]),
            Route("/groups", a(self.create_group), methods=["POST"]),
            Route("/outbox/discard", a(self.discard), methods=["POST"]),
            Route("/outbox/retry", a(self.retry), methods=["POST"]),
            Route("/alerts/dismiss", a(self.dismiss), methods=["POST"]),
            Route("/events", p(self.events, unlocked=False)),  # locked pages learn that the app closed
            Route(g, p(self.conversation)),
            Route(g + "/send", a(self.send), methods=["POST"]),
            Route(g + "/react", a(self.react), methods=["POST"]),
            Route(g + "/checkin", a(self.checkin), methods=["POST"]),
            Route(g + "/redact", a(self.redact), methods=["POST"]),
            Route(g + "/show", a(self.show), methods=["POST"]),
            Route(g + "/reach-out", a(self.reach_out), methods=["POST"]),
            Route(g + "/edit", a(self.edit), methods=["POST"]),
            Route(g + "/about", p(self.about_page)),
            Route(g + "/profile", a(self.save_profile), methods=["POST"]),
            Route(g + "/history", a(self.save_history), methods=["POST"]),
            Route(g + "/my-name", a(self.save_my_name), methods=["POST"]),
            Route(g + "/report/{mid:str}", p(self.report_page)),
            Route(g + "/report", a(self.report), methods=["POST"]),
            Route(g + "/sessions", p(self.sessions_page)),
            Route(g + "/rsvp", a(self.rsvp), methods=["POST"]),
            Route(g + "/schedule", a(self.schedule), methods=["POST"]),
            Route(g + "/pass", a(self.pass_piece), methods=["POST"]),
            Route(g + "/cancel", a(self.cancel_session), methods=["POST"]),
            Route(g + "/members", p(self.members_page)),
            Route(g + "/invite", a(self.invite), methods=["POST"]),
            Route(g + "/remove", a(self.remove), methods=["POST"]),
            Route(g + "/moderation", p(self.moderation_page)),
            Route(g + "/pin", a(self.pin), methods=["POST"]),
            Route(g + "/trust", a(self.trust), methods=["POST"]),
            Route(g + "/credential", a(self.post_credential), methods=["POST"]),
            Route(g + "/leave", p(self.leave_page)),
            Route(g + "/erase", a(self.erase), methods=["POST"]),
            Route(g + "/leave", a(self.leave), methods=["POST"]),
            *moderation_routes(self, g),
        ]
        app = Starlette(
            routes=[
                Mount(self.root, routes=routes),
                Route("/", self.gate),
                Route("/help", self.public_help),
                Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
            ]
        )
        return SecurityHeaders(ChooseLanguage(app, self._chosen_language))

    def _chosen_language(self) -> str | None:
        me = self.service.me
        return me.language if me is not None else None

    def failure(self, exc: Exception) -> Response:
        """An unexpected failure: logged for the operator (its type and place, never words), and a
        calm page for the person, who loses nothing (what they wrote is already in the outbox)."""
        log.error("a page failed: %s", type(exc).__name__, exc_info=exc)
        wrong = html.escape(_("Something went wrong"))
        return HTMLResponse(
            f"<!doctype html><html lang={current()}><head><meta charset=utf-8><title>{wrong} · Holdspace</title>"
            f'<link rel="stylesheet" href="/static/app.css"></head><body><main><h1>{wrong}</h1>'
            f"<p>{html.escape(_('This could not be done. What you had sent, or see waiting to be sent, is kept.'))}</p>"
            f'<p><a href="{self.root}/">{html.escape(_("Back to your groups"))}</a> · '
            f'<a href="{self.root}/help">{html.escape(_("Need help now?"))}</a></p>'
            "</main></body></html>",
            status_code=500,
        )


def status_text(status: Status) -> str:
    waiting = ""
    if status.waiting:
        waiting = " " + ngettext("{n} waiting to be sent.", "{n} waiting to be sent.", status.waiting)
    if status.refused:
        waiting += " " + ngettext(
            "{n} not sent: see the conversation.", "{n} not sent: see the conversation.", status.refused
        )
    if status.state == "online":
        return _("Connected to your community's server.") + waiting
    if status.state == "connecting":
        return _("Connecting to your community's server…") + waiting
    if status.state == "offline":
        if status.problem:
            return (
                _(
                    "Offline ({problem}). What you write is kept safely and sent when the connection returns.",
                    problem=status.problem,
                )
                + waiting
            )
        return _("Offline. What you write is kept safely and sent when the connection returns.") + waiting
    if status.state == "closed":
        return _("Holdspace was closed on this device.")
    return _("Locked.")


def _sentence(err: HoldspaceError) -> str:
    """The person's sentence for a refusal; its code goes behind "Details" (``say``'s detail)."""
    message = plain(err) or _("that did not work")
    return f"{message[0].upper()}{message[1:]}."


def _log_kind(action: str) -> dict[str, Any]:
    """A moderation log line's action (``clients.support.LogLine``) as the page words it: its kind,
    and the role given or the number of messages removed."""
    if action.startswith("role -> "):
        return {"kind": "role", "role": views.role_word(action.removeprefix("role -> "))}
    if action.startswith("redact ") and action.removeprefix("redact ").isdecimal():
        return {"kind": "redact", "count": int(action.removeprefix("redact "))}
    return {"kind": action}


def _safe_link(uri: str | None) -> str | None:
    """``uri`` if it is a mailto: or web address fit for a link; the node chose it, so anything else
    (a ``javascript:`` URI, say) is shown as text only."""
    if uri and uri.lower().startswith(("mailto:", "https://", "http://")) and uri.isprintable():
        return uri
    return None


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison of a secret (any text given, ASCII or not, is only ever unequal)."""
    return hmac.compare_digest(given.encode(), expected.encode())


def _text(form: FormData, name: str, limit: int, what: str) -> str:
    """A text field, trimmed; too long (the protocol counts bytes of UTF-8) is an error, never cut."""
    value = str(form.get(name, "")).strip()
    if len(value.encode()) > limit:
        raise AppError(
            "app.bad_input",
            _(
                "{what} is too long: at most {limit} bytes (about {limit} letters, fewer in some scripts)",
                what=what,
                limit=limit,
            ),
        )
    return value


def _back(form: FormData) -> str:
    """Where a form returns to: a path of this app only (never another site, never ``//host``)."""
    back = str(form.get("back", "/"))
    if not back.startswith("/") or back.startswith(("//", "/\\")):
        return "/"
    return back


def _hex(form: FormData, name: str) -> bytes:
    try:
        return bytes.fromhex(str(form.get(name, "")))
    except ValueError:
        raise AppError("app.bad_input", _("the form's {name} is not valid", name=name)) from None


def _message_id(form: FormData) -> bytes:
    value = _hex(form, "message")
    if len(value) != 32:
        raise AppError("app.bad_input", _("that is not a message"))
    return value


def _history(record: GroupRecord) -> History:
    """The group's history visibility as this client holds it ("joined" before any state)."""
    return record.state.history if record.state is not None else HISTORY_FROM_JOIN


def _bounded(form: FormData, name: str, low: int, high: int, default: int) -> int:
    text = str(form.get(name, "")).strip()
    if not text:
        return default
    if not (text.isascii() and text.isdecimal()) or not low <= int(text) <= high:
        raise AppError(
            "app.bad_input", _("{name} must be a number from {low} to {high}", name=name, low=low, high=high)
        )
    return int(text)
