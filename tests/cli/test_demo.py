"""``holdspace demo`` tells what it shows, and what it shows is true (it runs the real nodes)."""

from holdspace.clients.demo import run_demo


def test_the_demo_shows_a_session_a_check_in_a_content_warning_and_a_redaction() -> None:
    lines: list[str] = []
    run_demo(lines.append)
    text = "\n".join(lines)
    assert "Ana's client lists: Thursday grief circle" in text
    assert "Fay's summary: 2 check-ins, average mood 3.0, words: grateful, tired" in text
    assert "Bo's client can read 1" in text
    assert "[content warning: illness] (hidden). She opens it: The last weeks" in text
    assert "Riverside holds: tombstone only; Hillview holds: tombstone only" in text
    assert "Samaritans: 116 123" in text
    assert "no words (0 message payloads)" in text
    assert "his own node refuses it: group.not_member" in text
    assert "after signing: entry.payload_mismatch" in text
