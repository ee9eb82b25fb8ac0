"""The node's pages (spec 15.8.3), sans-I/O: what each HTTP request gets.

A :class:`Site` serves exactly: the built page ``index.html`` at ``/`` and at ``/join`` (where invite
links lead: the invite rides in the URL's fragment, which no request carries), each script it names,
and ``/node.json`` (the node's addresses); everything else is 404, and any method but GET and HEAD 405.
Nothing is looked up on disk per request: the files are read once, when the site is loaded, so no
request path ever reaches the file system (``/../x``, ``%2e%2e``, ``//x`` are just unknown names).

Every response carries a strict Content-Security-Policy (scripts from the node only, and only those
the page names with their integrity hash; connections to the node's own origin only; nothing
inline, no frames, no plugins), ``nosniff`` and its exact content type.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from holdspace.protocol.errors import HoldspaceError

__all__ = ["INDEX", "JOIN", "NODE_INFO", "Response", "Site", "WebError", "content_security_policy", "sri"]

INDEX = "index.html"
NODE_INFO = "/node.json"
JOIN = "/join"  # invite links (spec 14.3): the same page, which reads the invite from the fragment
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
MAX_TARGET = 2048  # bytes of a request target worth looking at


class WebError(HoldspaceError):
    """The web endpoint cannot start (``web.*`` codes)."""

    family = "web"


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def sri(data: bytes) -> str:
    """The subresource-integrity value of ``data`` (``sha384-`` and base64)."""
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def content_security_policy(origin: str) -> str:
    """The policy of every page: scripts from the node (the page pins each by hash), connections to
    ``origin`` (``https://host:port``: the page, node.json, WebTransport) and its WebSocket only."""
    websocket = "wss://" + origin.removeprefix("https://")
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        f"connect-src {origin} {websocket}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


class _Scripts(HTMLParser):
    """The ``<script>`` tags of a page: (src, integrity) each, None for an absent attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[tuple[str | None, str | None]] = []
        self.inline = False
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            found = dict(attrs)
            self.scripts.append((found.get("src"), found.get("integrity")))
            self._in_script = True
        elif any(name.startswith("on") for name, _ in attrs):
            self.inline = True  # an event handler attribute is inline script

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline = True


class Site:
    """The files served, by path, each with its content type (see the module)."""

    def __init__(self, files: dict[str, tuple[bytes, str]], origin: str) -> None:
        self.files = files
        self.origin = origin
        self.csp = content_security_policy(origin)

    @classmethod
    def load(cls, dist: Path, *, origin: str, info: dict[str, object]) -> Site:
        """Read the built client in ``dist``. Checked, in order: ``index.html`` exists
        (``web.not_built``); it has no inline script or event handler attribute, and every script
        it names has a ``src`` that is a file of ``dist`` (a plain name, served at ``/name``) and an
        ``integrity`` equal to the file's SHA-384 (``web.integrity``). The page is served at ``/`` and
        ``/join``; ``info`` as ``/node.json``."""
        try:
            page = (dist / INDEX).read_bytes()
        except OSError:
            raise WebError(
                "web.not_built", f"{dist / INDEX} is missing: run 'npm ci && npm run build' in clients/web"
            ) from None
        parser = _Scripts()
        parser.feed(page.decode("utf-8", "replace"))
        parser.close()
        if parser.inline:
            raise WebError("web.integrity", f"{dist / INDEX} has an inline script")
        files: dict[str, tuple[bytes, str]] = {"/": (page, TYPES[".html"]), JOIN: (page, TYPES[".html"])}
        for src, integrity in parser.scripts:
            name = (src or "").removeprefix("/")
            if not src or not src.startswith("/") or not name or "/" in name or name.startswith("."):
                raise WebError("web.integrity", f"{dist / INDEX}: a script must be a file of the bundle, got {src!r}")
            try:
                data = (dist / name).read_bytes()
            except OSError:
                raise WebError("web.integrity", f"{dist / INDEX} names {src}, which is not built") from None
            if integrity != sri(data):
                raise WebError("web.integrity", f"{dist / INDEX}: the integrity of {src} does not match the file")
            files[src] = (data, TYPES.get(Path(name).suffix, "application/octet-stream"))
        files[NODE_INFO] = (json.dumps(info, sort_keys=True).encode(), "application/json")
        return cls(files, origin)

    def headers(self, content_type: str, length: int) -> tuple[tuple[str, str], ...]:
        return (
            ("content-type", content_type),
            ("content-length", str(length)),
            ("content-security-policy", self.csp),
            ("x-content-type-options", "nosniff"),
            ("referrer-policy", "no-referrer"),
            ("cross-origin-opener-policy", "same-origin"),
            ("cross-origin-resource-policy", "same-origin"),
            ("cache-control", "no-cache"),
        )

    def respond(self, method: str, target: str) -> Response:
        """The response to ``method target`` (the request line's target, query and all)."""
        if method not in ("GET", "HEAD"):
            body = b"method not allowed\n"
            headers = (*self.headers("text/plain; charset=utf-8", len(body)), ("allow", "GET, HEAD"))
            return Response(405, headers, body)
        path = target[:MAX_TARGET].split("?", 1)[0]
        found = self.files.get(path)
        if found is None:
            body = b"not found\n"
            return Response(
                404, self.headers("text/plain; charset=utf-8", len(body)), b"" if method == "HEAD" else body
            )
        data, content_type = found
        return Response(200, self.headers(content_type, len(data)), b"" if method == "HEAD" else data)
