"""The group's history visibility in plain words (spec 12.2, 13.1): what a newcomer can read, and
whether a change lets newcomers read more than before (the app asks first when it does).

Pure: no I/O. Every sentence goes through the translations' seam.
"""

from __future__ import annotations

from holdspace.clients.i18n import _, ngettext
from holdspace.protocol.payloads import HISTORY_FROM_JOIN, HISTORY_SHARED, MAX_HISTORY_DAYS, History

CHOICES = ("joined", "days", "shared")  # the form's choices, narrowest first


def newcomers_read(history: History) -> str:
    """One sentence for every member: what a person who joins now can read of what came before."""
    if history == HISTORY_SHARED:
        return _("New members read everything the group has said, from its start.")
    if isinstance(history, int):
        return ngettext(
            "New members read the last day before they join, and everything after.",
            "New members read the last {n} days before they join, and everything after.",
            history,
        )
    return _("New members read from the day they join.")


def breadth(history: History) -> int:
    """An order of the settings by how much a newcomer reads: "joined" 0, N days N, "shared" above
    every number of days."""
    if history == HISTORY_SHARED:
        return MAX_HISTORY_DAYS + 1
    return history if isinstance(history, int) else 0


def widens(before: History, after: History) -> bool:
    """True iff ``after`` lets newcomers read more than ``before`` does."""
    return breadth(after) > breadth(before)


def choice_of(history: History) -> tuple[str, int]:
    """The form's choice and days for ``history`` (days 7 when it is not a number of days)."""
    if isinstance(history, int):
        return "days", history
    return ("shared" if history == HISTORY_SHARED else "joined"), 7


def from_choice(choice: str, days: int) -> History:
    """The setting for a form's ``choice`` (one of :data:`CHOICES`) and ``days`` (1..365, used only
    with "days"); the caller has checked both."""
    if choice == "days":
        return days
    return HISTORY_SHARED if choice == "shared" else HISTORY_FROM_JOIN


__all__ = ["CHOICES", "breadth", "choice_of", "from_choice", "newcomers_read", "widens"]
