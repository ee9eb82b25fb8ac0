"""QR codes of invites (``clients/qr.py``): what is drawn is segno's encoding of exactly the text given.

No QR decoder is installed here (zbar is neither in the environment nor cheap to add), so each drawing
is read back into its module matrix (the terminal's half blocks, the SVG's path) and compared with
segno's encoding of the expected text. The readers are used by the CLI's and the app's tests too."""

from __future__ import annotations

import re

import segno

from holdspace.clients.qr import qr_svg, qr_terminal

LINK = "https://community.example.org:8443/join#hsinvite:" + "A" * 280


def expected_matrix(text: str) -> list[list[bool]]:
    """segno's modules of ``text`` (dark = True), with the quiet zone of 4."""
    return [[bool(m) for m in row] for row in segno.make(text, error="m", micro=False).matrix_iter(border=4)]


def terminal_matrix(drawing: str) -> list[list[bool]]:
    """The modules of a QR code drawn in half blocks, two rows a line, light modules drawn."""
    rows: list[list[bool]] = []
    halves = {"█": (False, False), " ": (True, True), "▀": (False, True), "▄": (True, False)}
    for line in drawing.splitlines():
        cells = [halves[c] for c in line]
        rows += [[top for top, _ in cells], [bottom for _, bottom in cells]]
    return rows


def svg_matrix(svg: str) -> list[list[bool]]:
    """The modules of segno's inline SVG: a path of horizontal strokes (``M x y``, ``m dx dy``, ``h n``)
    one module high, centred on each row, over a white square of the whole size."""
    size = int(re.search(r'viewBox="0 0 (\d+) \d+"', svg).group(1))  # type: ignore[union-attr]
    path = re.search(r'<path stroke="#000" d="([^"]+)"', svg).group(1)  # type: ignore[union-attr]
    rows = [[False] * size for _ in range(size)]
    x = y = 0.0
    for op, a, b in re.findall(r"([MmHh])(-?[\d.]+)(?:\s(-?[\d.]+))?", path):
        if op in "Mm":
            x, y = (float(a), float(b)) if op == "M" else (x + float(a), y + float(b))
        else:
            for column in range(int(x), int(x + float(a))):
                rows[int(y)][column] = True
            x += float(a)
    return rows


def test_the_terminal_drawing_is_the_code_of_the_text() -> None:
    drawing = qr_terminal(LINK)
    expected = expected_matrix(LINK)
    assert terminal_matrix(drawing)[: len(expected)] == expected
    assert terminal_matrix(drawing)[: len(expected)] != expected_matrix(LINK + "x")  # the reader tells them apart


def test_the_svg_is_the_code_of_the_text_with_a_text_alternative() -> None:
    svg = qr_svg(LINK, 'the "invite" <above>')
    assert svg.startswith('<svg role="img" aria-label="the &quot;invite&quot; &lt;above>" ')
    assert "<script" not in svg and "style=" not in svg and "width=" not in svg  # CSP-safe, sized by the page
    assert svg_matrix(svg) == expected_matrix(LINK)
