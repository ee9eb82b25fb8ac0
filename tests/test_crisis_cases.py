from tests.crisis_cases import FIXTURE, render


def test_the_browser_fixture_matches_the_python_check() -> None:
    """The browser's care check is tested against this file: it must say what crisis.check says."""
    assert FIXTURE.read_text(encoding="utf-8") == render(), "run: python -m tests.crisis_cases"
