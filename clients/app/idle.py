"""Locking the app by itself after a time without use, a time the person chooses (or never).

Sans-I/O: the caller passes ``now`` (seconds, any monotonic clock). Invariants: ``due(now)`` is
False when the lock is off or the person used the app less than ``minutes`` ago; only what the
person does counts as use (the page refreshing itself or the live stream does not: the caller
decides, see ``clients.app.web``). The choices are :data:`CHOICES`; anything else is refused.
"""

from __future__ import annotations

from holdspace.clients.i18n import _

CHOICES: tuple[int, ...] = (0, 5, 15, 60, 240)  # minutes; 0: never


def choice_text() -> dict[int, str]:
    """Each choice in words, in the current language."""
    return {
        0: _("Never"),
        5: _("After 5 minutes"),
        15: _("After 15 minutes"),
        60: _("After 1 hour"),
        240: _("After 4 hours"),
    }


class IdleLock:
    """When the app last saw the person, and whether it is time to lock."""

    def __init__(self, minutes: int, now: float) -> None:
        if minutes not in CHOICES:
            raise ValueError(f"the idle lock is one of {CHOICES} minutes")
        self.minutes = minutes
        self.last_used = now

    def touch(self, now: float) -> None:
        """The person did something (opened a page, sent a form)."""
        self.last_used = max(self.last_used, now)

    def due(self, now: float) -> bool:
        """True when the lock is on and the person has not used the app for its time."""
        return self.minutes > 0 and now - self.last_used >= self.minutes * 60
