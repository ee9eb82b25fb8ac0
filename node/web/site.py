"""The node's pages (spec 15.8.3), sans-I/O: what each HTTP request gets.

A :class:`Site` serves exactly: the built page ``index.html`` at ``/`` and at ``/join`` (where invite
links lead: the invite rides in the URL's fragment, which no request carries), each script it names,
each file its ``<link>`` tags name (its web app manifest, icons, stylesheets) and the icons the manifest
names, the service worker ``/sw.js`` if the build made one, and ``/node.json`` (the node's addresses);
everything else is 404, and any method but GET and HEAD 405.
Nothing is looked up on disk per request: the files are read once, when the site is loaded, so no
request path ever reaches the file system (``/../x``, ``%2e%2e``, ``//x`` are just unknown names).

Every response carries a strict Content-Security-Policy (scripts from the node only, and only those
the page names with their integrity hash; connections to the node's own origin only; nothing
inline, no frames, no plugins), ``nosniff`` and its exact content type.

Text files (the page, scripts, styles, the manifest) are also kept gzip-compressed, made once at load
(deterministically: no time stamp); a request whose ``Accept-Encoding`` allows gzip gets those bytes
with ``Content-Encoding: gzip`` (and every such file's response says ``Vary: Accept-Encoding``). A phone
on a slow connection then fetches about a third of the bytes; subresource integrity is checked on the
decoded bytes, so the pins hold.
"""

from __future__ import annotations

import base64
import gzip
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
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".webmanifest": "application/manifest+json",
}
SERVICE_WORKER = "sw.js"  # served at /sw.js (its scope is the whole origin) when the build made it
MAX_TARGET = 2048  # bytes of a request target worth looking at
COMPRESSED_TYPES = ("text/", "application/javascript", "application/json", "application/manifest+json")


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
    """The policy of every page: scripts from the node (the page pins each by hash), WebAssembly compiled
    by them (``'wasm-unsafe-eval'``: Argon2id, which seals the keys, is WebAssembly; it allows no eval of
    script), connections to ``origin`` (``https://host:port``: the page, node.json, WebTransport) and its
    WebSocket only, the service worker and the manifest from the node only."""
    websocket = "wss://" + origin.removeprefix("https://")
    return (
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self'; "
        f"connect-src {origin} {websocket}; worker-src 'self'; manifest-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


class _Scripts(HTMLParser):
    """The ``<script>`` tags of a page: (src, integrity) each, None for an absent attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[tuple[str | None, str | None]] = []
        self.links: list[tuple[str, str | None]] = []  # (rel, href) of each <link>
        self.inline = False
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            found = dict(attrs)
            self.scripts.append((found.get("src"), found.get("integrity")))
            self._in_script = True
        elif tag == "link":
            found = dict(attrs)
            self.links.append(((found.get("rel") or "").lower(), found.get("href")))
        if tag != "script" and any(name.startswith("on") for name, _ in attrs):
            self.inline = True  # an event handler attribute is inline script

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline = True


def _file(dist: Path, href: str | None) -> dict[str, tuple[bytes, str]]:
    """``{href: (bytes, type)}`` for a file of ``dist`` the page names (``/name``). ``web.integrity`` if
    ``href`` is not a plain name of the bundle, or is not built."""
    name = (href or "").removeprefix("/")
    if not href or not href.startswith("/") or not name or "/" in name or name.startswith("."):
        raise WebError("web.integrity", f"{dist / INDEX} may name only files of the bundle, got {href!r}")
    try:
        data = (dist / name).read_bytes()
    except OSError:
        raise WebError("web.integrity", f"{dist / INDEX} names {href}, which is not built") from None
    return {href: (data, TYPES.get(Path(name).suffix, "application/octet-stream"))}


def _manifest_icons(dist: Path, manifest: bytes) -> dict[str, tuple[bytes, str]]:
    """The icons a web app manifest names, each a file of ``dist`` (``web.integrity`` otherwise)."""
    try:
        icons = json.loads(manifest).get("icons", [])
    except (ValueError, AttributeError):
        raise WebError("web.integrity", "the web app manifest is not a JSON object") from None
    files: dict[str, tuple[bytes, str]] = {}
    for icon in icons if isinstance(icons, list) else []:
        src = icon.get("src") if isinstance(icon, dict) else None
        files.update(_file(dist, src if isinstance(src, str) else None))
    return files


class Site:
    """The files served, by path, each with its content type (see the module)."""

    def __init__(self, files: dict[str, tuple[bytes, str]], origin: str) -> None:
        self.files = files
        self.origin = origin
        self.csp = content_security_policy(origin)
        self.gzipped: dict[str, bytes] = {}  # path -> its gzip-compressed bytes, for text files it shrinks
        for path, (data, content_type) in files.items():
            if content_type.startswith(COMPRESSED_TYPES):
                packed = gzip.compress(data, compresslevel=9, mtime=0)
                if len(packed) < len(data):
                    self.gzipped[path] = packed

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
            script = _file(dist, src)
            if any(integrity != sri(data) for data, _ in script.values()):
                raise WebError("web.integrity", f"{dist / INDEX}: the integrity of {src} does not match the file")
            files.update(script)
        for rel, href in parser.links:
            if rel.split() and set(rel.split()) <= {"manifest", "icon", "stylesheet", "apple-touch-icon"}:
                files.update(_file(dist, href))
                if "manifest" in rel.split():
                    files.update(_manifest_icons(dist, files[href or ""][0]))
        if (dist / SERVICE_WORKER).is_file():
            files.update(_file(dist, "/" + SERVICE_WORKER))
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

    def respond(self, method: str, target: str, accept_encoding: str = "") -> Response:
        """The response to ``method target`` (the request line's target, query and all), compressed
        with gzip when ``accept_encoding`` (the request's header) allows it and the file is text."""
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
        packed = self.gzipped.get(path)
        if packed is None:
            return Response(200, self.headers(content_type, len(data)), b"" if method == "HEAD" else data)
        vary = ("vary", "accept-encoding")
        if not accepts_gzip(accept_encoding):
            return Response(200, (*self.headers(content_type, len(data)), vary), b"" if method == "HEAD" else data)
        headers = (*self.headers(content_type, len(packed)), ("content-encoding", "gzip"), vary)
        return Response(200, headers, b"" if method == "HEAD" else packed)


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an ``Accept-Encoding`` header value allows gzip (RFC 9110 12.5.3): ``gzip`` (or ``x-gzip``,
    or ``*``) listed without ``q=0``; an explicit ``gzip;q=0`` refuses it even beside ``*``."""
    allowed: dict[str, bool] = {}
    for item in accept_encoding[:MAX_TARGET].lower().split(","):
        name, _, params = item.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
        allowed[name.strip()] = q > 0
    for name in ("gzip", "x-gzip"):
        if name in allowed:
            return allowed[name]
    return allowed.get("*", False)
