"""QR codes of invite links (spec 14.3), drawn by ``segno`` (pure Python, no dependencies).

* :func:`qr_svg` is an inline SVG for a page: no script, no style attribute (the app's CSP holds),
  ``role="img"`` with a text alternative, sized by the page's stylesheet (a ``viewBox`` only).
* :func:`qr_terminal` is the same code as Unicode half blocks, two rows of modules per line, light
  modules drawn (a terminal's background is usually dark), with the quiet zone of 4 modules.

Both encode exactly the text given, at error correction level M or better (segno raises the level
when the version allows it for free).
"""

from __future__ import annotations

import io

import segno

__all__ = ["qr_code", "qr_svg", "qr_terminal"]


def qr_code(text: str) -> segno.QRCode:
    """The QR code of ``text`` (never a Micro QR: phones' cameras do not all read those)."""
    return segno.make(text, error="m", micro=False)


def qr_svg(text: str, label: str) -> str:
    """An inline SVG of the QR code of ``text``; ``label`` is its text alternative. Dark modules on
    a white ground, whatever the page's colour scheme (a scanner needs the contrast)."""
    svg: str = qr_code(text).svg_inline(
        scale=1, border=4, dark="#000", light="#fff", omitsize=True, svgclass="qr", lineclass=None
    )
    return svg.replace("<svg ", f'<svg role="img" aria-label="{_attr(label)}" ', 1)


def qr_terminal(text: str) -> str:
    """The QR code of ``text`` for a terminal (see the module)."""
    out = io.StringIO()
    qr_code(text).terminal(out=out, compact=True, border=4)
    return out.getvalue()


def _attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
