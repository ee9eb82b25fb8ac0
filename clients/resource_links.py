"""Crisis resources as tappable links: phone numbers become ``tel:`` links (``sms:`` after "text"),
web addresses ``https:`` links, so a person in a crisis does not have to copy a number by hand.

Invariants: the parts joined give back the line unchanged; only ``tel:``, ``sms:``, ``http:`` and
``https:`` targets are ever made (never ``javascript:`` or another scheme); a number needs 3 to 15
digits (5 if it has spaces, dashes or brackets: "9-17" is opening hours), and a lone year
(1900-2099) is left as words. The browser client's ``src/links.ts`` does the same, checked
against the same cases (``clients/web/test/fixtures/resource_links.json``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_URL = r"(?:https?://|www\.)[^\s<>\"']+"
_NUMBER = r"\+?\d[\d \-()]*\d|\d{3,}"
_TOKEN = re.compile(rf"(?P<url>{_URL})|(?<![\w/+.,-])(?P<number>{_NUMBER})(?![\w/]|[.,]\d)", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\""
_TEXT_BEFORE = re.compile(r"\btext(?:\s+\w+){0,2}\s+to\s*$|\bsms\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Part:
    """A piece of a line: words, or a link's shown text and its target."""

    text: str
    href: str | None = None


def link_parts(line: str) -> list[Part]:
    """Split ``line`` into words and links (see the module's invariants)."""
    parts: list[Part] = []
    at = 0
    for match in _TOKEN.finditer(line):
        shown, href = _link(line, match)
        if href is None:
            continue
        start = match.start()
        if start > at:
            parts.append(Part(line[at:start]))
        parts.append(Part(shown, href))
        at = start + len(shown)
    if at < len(line):
        parts.append(Part(line[at:]))
    return parts


def _link(line: str, match: re.Match[str]) -> tuple[str, str | None]:
    url = match.group("url")
    if url is not None:
        shown = url.rstrip(_TRAILING)
        while shown.endswith(")") and shown.count("(") < shown.count(")"):
            shown = shown[:-1]
        host = shown.split("//", 1)[-1]
        if "." not in host.split("/", 1)[0]:
            return shown, None
        return shown, shown if shown.lower().startswith("http") else "https://" + shown
    shown = match.group("number").strip(" -(")
    while shown.endswith(")") and shown.count("(") < shown.count(")"):
        shown = shown[:-1].rstrip(" -")
    digits = "".join(c for c in shown if c.isdigit())
    least = 3 if shown == digits else 5  # "9-17" or "12-14" are hours and dates, not numbers to call
    if not least <= len(digits) <= 15 or (len(digits) == 4 and 1900 <= int(digits) <= 2099 and shown == digits):
        return shown, None
    plus = "+" if shown.startswith("+") else ""
    scheme = "sms" if _TEXT_BEFORE.search(line[: match.start()]) else "tel"
    return shown, f"{scheme}:{plus}{digits}"
