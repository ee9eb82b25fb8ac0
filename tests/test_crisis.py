import ast
import dataclasses
import inspect
import logging
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from holdspace.clients import crisis
from holdspace.clients.crisis import DEFAULT_RESOURCES, RULES, CrisisMatch, Rule, check, notice

RULE_IDS = {rule.id for rule in RULES}

FIRES = {
    "suicide.intent": [
        "I want to kill myself",
        "i'm going to KILL MYSELF tonight",
        "sometimes I think about killing my self",
        "I'm thinking of ending my life",
        "I just want to end it all",
        "I've been planning to take my own life",
        "I've been feeling suicidal again",
        "i keep thinking about suicide",
        "I want to unalive myself",
    ],
    "death.wish": [
        "I want to die",
        "honestly i just wanna die",
        "I wish I was dead",
        "I wish I'd never been born",
        "everyone says it gets better but I'd be better off dead",
        "I don't want to be here anymore",
        "I don\u2019t want to be here anymore",
        "i dont want to be here any more",
        "I DO NOT WANT TO LIVE.",
        "i don't want to be alive",
        "I don't want to wake up anymore",
    ],
    "self_harm": [
        "I want to hurt myself",
        "I cut myself again last night",
        "I've been cutting myself",
        "I relapsed into self-harm",
        "I\u2019ve struggled with self harm for years",
        "the urge to SELFHARM is bad today",
        "i keep thinking about burning myself",
    ],
    "overdose": [
        "I think I'm going to overdose",
        "I overdosed last year",
        "I took all my pills",
        "I just took all of my pills",
        "i swallowed a whole bottle of sleeping pills",
        "I've taken too many tablets",
        "I OD\u2019d once before",
    ],
    "danger.now": [
        "I'm not safe",
        "im not safe right now",
        "I\u2019m not safe",
        "I am in danger",
        "I can't keep myself safe tonight",
        "i dont feel safe at home",
        "I don't feel safe with him",
    ],
    "hopeless.burden": [
        "There's no reason to live",
        "I have nothing left to live for",
        "life isn't worth living",
        "everyone would be better off without me",
        "they'd all be better off if I was gone",
        "I'm such a burden",
        "i feel like a burden to everyone",
        "I can't go on",
        "i cant go on anymore",
        "I can\u2019t go on like this.",
        "I can't go on \U0001f62d",
        "I've given up on life",
    ],
}

DOES_NOT_FIRE = [
    # the brief's ordinary sentences
    "this exam is killing me",
    "I'm dying to see you",
    "the cake was to die for",
    "I'm dead tired",
    "we talked about the weather",
    "I feel a bit better today",
    "",
    "   ",
    # rule words that never match on their own
    "that's a killer app",
    "my feet are killing me after that hike",
    "I'm dying of thirst",
    "this phone's battery is dead",
    "I can't go on holiday this year",
    "we can't go on the trip",
    "I don't want to live in London",
    "I don't want to wake up early tomorrow",
    "I'm a bit safer now",
    "the tax burden is high",
    # guards
    "I nearly killed myself laughing",
    "I've been killing myself to finish this project",
    "he took all my pills away",
    "I wanted to die of embarrassment",
    "I'm going to die laughing",
    "I want to die my hair blue",
    "that would be career suicide",
    "political suicide, really",
    "did you watch Suicide Squad?",
    "coach made us run suicide sprints",
    "I cut myself shaving",
    "I burnt myself on the stove",
    "I hurt myself playing football",
    "I accidentally cut myself",
    "I overdosed on coffee this morning",
    "total cuteness overdose",
]


def _cases() -> list[tuple[str, str]]:
    return [(rule_id, text) for rule_id, texts in FIRES.items() for text in texts]


@pytest.mark.parametrize(("rule_id", "text"), _cases())
def test_rule_fires(rule_id: str, text: str) -> None:
    match = check(text)
    assert match is not None
    assert match.rule == rule_id


def test_every_rule_is_exercised() -> None:
    assert set(FIRES) == RULE_IDS


@pytest.mark.parametrize("text", DOES_NOT_FIRE)
def test_ordinary_sentences_do_not_fire(text: str) -> None:
    assert check(text) is None


@pytest.mark.parametrize(
    ("text", "rule_id"),
    [
        ("this exam is killing me and I want to kill myself", "suicide.intent"),
        ("career suicide aside, I keep thinking about suicide", "suicide.intent"),
        ("the cake was to die for, but I still want to die", "death.wish"),
        ("I want to die for real", "death.wish"),
        ("I cut myself shaving. I also cut myself on purpose", "self_harm"),
    ],
)
def test_a_guard_only_blanks_its_own_words(text: str, rule_id: str) -> None:
    match = check(text)
    assert match is not None and match.rule == rule_id


@pytest.mark.parametrize(
    "text",
    [
        "I WANT TO KILL MYSELF",
        "I wAnT tO kIlL mYsElF",
        "I   want\tto\n\nkill\u00a0myself",
        "I want to kill my\u200bself",
        "".join(chr(ord(c) + 0xFEE0) if c != " " else c for c in "I want to kill myself"),  # full-width forms
    ],
)
def test_normalisation(text: str) -> None:
    match = check(text)
    assert match is not None and match.rule == "suicide.intent"


@pytest.mark.parametrize("text", ["I\u2019m not safe", "I\u02bcm not safe", "Im not safe", "I'm not safe"])
def test_apostrophe_spellings(text: str) -> None:
    match = check(text)
    assert match is not None and match.rule == "danger.now"


def test_self_harm_dash_variants() -> None:
    for text in ("self-harm", "self\u2010harm", "self\u2013harm", "self harm", "selfharm"):
        match = check(text)
        assert match is not None and match.rule == "self_harm", text


def test_third_person_may_fire() -> None:
    # documented: in a grief group, showing resources here is acceptable
    assert check("my brother died by suicide") is not None


def test_match_holds_no_user_text() -> None:
    text = "I can't go on, zanzibar-quokka-7"
    match = check(text)
    assert match is not None
    assert [f.name for f in dataclasses.fields(CrisisMatch)] == ["rule", "description"]
    rule = next(r for r in RULES if r.id == match.rule)
    assert match == CrisisMatch(rule.id, rule.description)
    assert "zanzibar" not in repr(match)
    with pytest.raises(dataclasses.FrozenInstanceError):
        match.rule = "x"  # type: ignore[misc]


def test_rules_are_well_formed() -> None:
    assert len(RULE_IDS) == len(RULES)
    for rule in RULES:
        assert isinstance(rule, Rule)
        assert re.fullmatch(r"[a-z_]+(\.[a-z_]+)?", rule.id)
        assert rule.description.strip()
        assert rule.patterns
        assert all(isinstance(p, re.Pattern) for p in rule.patterns)
        assert rule.id in (crisis.__doc__ or ""), f"{rule.id} is not documented in the module docstring"


def test_nothing_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        assert check("I want to kill myself") is not None
    assert caplog.records == []


def test_module_needs_no_network_storage_or_logging() -> None:
    tree = ast.parse(inspect.getsource(crisis))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    # clients.i18n: the notes' texts in the interface's language, read from a catalogue on this device
    assert imported <= {"__future__", "re", "unicodedata", "dataclasses", "holdspace.clients.i18n"}


_FRAGMENTS = [
    "kill", "my", "self", "myself", "want", "to", "die", "don't", "dont", "don\u2019t", "i'm", "im", "not", "safe",
    "can't", "go", "on", "self-harm", "overdose", "took", "all", "pills", "suicide", "career", "for", "a", "burden",
    " ", "  ", "\n", ".", "'", "\u2019", "-", "\u200b", "\ufb01", "\u0130", "\ud800", "\x00", "\U0001f62d",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.text() | st.lists(st.sampled_from(_FRAGMENTS), max_size=40).map("".join))
def test_check_never_raises(text: str) -> None:
    match = check(text)
    assert match is None or (isinstance(match, CrisisMatch) and match.rule in RULE_IDS)


@pytest.mark.parametrize(
    "text",
    [
        "kill " * 50_000,
        "a" * 200_000,
        "i " * 100_000,
        "don't want to " * 20_000,
        "self " * 50_000,
        "took a " * 50_000,
        "I'm " * 50_000,
        "\ufdfa" * 100_000,  # NFKC expands each to 18 characters
        "'" * 200_000,
        " " * 200_000,
    ],
)
def test_large_adversarial_input_completes(text: str) -> None:
    match = check(text)
    assert match is None or match.rule in RULE_IDS


def test_only_the_first_max_chars_are_considered() -> None:
    assert check("I want to kill myself " + "a" * 200_000) is not None
    assert check("a" * crisis.MAX_CHARS + " I want to kill myself") is None


def test_notice_with_defaults() -> None:
    text = notice(None)
    assert DEFAULT_RESOURCES in text
    assert text.startswith("It sounds like things may be really hard right now.")
    assert "holdspace crisis check off" in text
    assert notice("") == text
    assert notice("  \n ") == text


def test_notice_with_group_resources() -> None:
    text = notice("call X")
    assert "call X" in text
    assert DEFAULT_RESOURCES not in text
    assert "holdspace crisis check off" in text.splitlines()[-1]
    assert "only on this device" in text.splitlines()[-1]


def test_default_resources() -> None:
    assert "https://findahelpline.com" in DEFAULT_RESOURCES
    for number in ("112", "911", "999"):
        assert number in DEFAULT_RESOURCES
    # no other phone numbers
    assert sorted(re.findall(r"\d+", DEFAULT_RESOURCES)) == ["112", "911", "999"]
    # the resources are also what a person sees who opened help themselves: no "nobody was told" there
    assert "told" not in DEFAULT_RESOURCES


def test_the_note_says_nobody_else_was_told() -> None:
    for resources in (None, "call X"):
        assert "nobody else was told" in notice(resources).splitlines()[-1]
