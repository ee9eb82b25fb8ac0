"""The care check's shared cases: lines and the rule the Python check gives (or null).

``python -m tests.crisis_cases`` writes ``clients/web/test/fixtures/crisis_cases.json``; the browser's
port (``clients/web/src/care.ts``) is checked against that file, and ``tests/test_crisis_cases.py``
checks the file still matches :func:`holdspace.clients.crisis.check`.
"""

from __future__ import annotations

import json
from pathlib import Path

from holdspace.clients.crisis import check
from tests.test_crisis import DOES_NOT_FIRE, FIRES
from tests.test_crisis_es import DOES_NOT_FIRE_ES, FIRES_ES

FIXTURE = Path(__file__).resolve().parent.parent / "clients/web/test/fixtures/crisis_cases.json"

_EXTRA = [
    # guards blank only their own words
    "this exam is killing me and I want to kill myself",
    "career suicide aside, I keep thinking about suicide",
    "the cake was to die for, but I still want to die",
    "I want to die for real",
    "I cut myself shaving. I also cut myself on purpose",
    "I overdosed on coffee",
    "sugar overdose again",
    # normalisation
    "I WANT TO KILL MYSELF",
    "I   want\tto\n\nkill\u00a0myself",
    "I want to kill my\u200bself",
    "".join(chr(ord(c) + 0xFEE0) if c != " " else c for c in "I want to kill myself"),
    "I\u2019m not safe",
    "I\u02bcm not safe",
    "Im not safe",
    "self\u2013harm",
    "self\u00adharm",
    "I can't go on.",
    "I can't go on with the talk, sorry",
    "I don't want to live \U0001f622",
    "I don't want to live in this city",
    "h\u00e9las, je veux mourir",
    # Spanish: accents composed, decomposed or absent; guards blank only their own words
    "QUIERO MATARME",
    "quiero  matarme\u200b",
    "ojala\u0301 no hubiera nacido",
    "NO TENGO NADA POR LO QUE VIV\u00cdR",
    "me muero de risa contigo, pero de verdad quiero morirme",
    "ser\u00eda un suicidio pol\u00edtico; aun as\u00ed pienso en el suicidio",
    "ya no puedo m\u00e1s \U0001f622",
    "",
]


def cases() -> list[dict[str, str | None]]:
    lines = [text for texts in (*FIRES.values(), *FIRES_ES.values()) for text in texts]
    lines += [*DOES_NOT_FIRE, *DOES_NOT_FIRE_ES, *_EXTRA]
    out: list[dict[str, str | None]] = []
    for line in dict.fromkeys(lines):
        match = check(line)
        out.append({"line": line, "rule": None if match is None else match.rule})
    return out


def render() -> str:
    return json.dumps({"cases": cases()}, ensure_ascii=True, indent=1) + "\n"


if __name__ == "__main__":
    FIXTURE.write_text(render(), encoding="utf-8")
