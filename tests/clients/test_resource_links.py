"""Crisis resources as links: the shared cases (the browser client checks the same file), and the
invariants for any line."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from holdspace.clients.resource_links import link_parts

CASES = json.loads((Path(__file__).parents[2] / "clients/web/test/fixtures/resource_links.json").read_text())["cases"]


def test_the_shared_cases() -> None:
    for case in CASES:
        assert [[p.text, p.href] for p in link_parts(case["line"])] == case["parts"], case["line"]


@given(st.text(alphabet=st.sampled_from("0123456789 +-().,:/abcdeHTtwxs?\n"), max_size=60) | st.text(max_size=40))
def test_parts_give_back_the_line_and_only_safe_links(line: str) -> None:
    parts = link_parts(line)
    assert "".join(p.text for p in parts) == line
    for p in parts:
        if p.href is not None:
            assert p.href.split(":", 1)[0] in {"tel", "sms", "http", "https"}
            assert p.text.strip() == p.text and p.text
