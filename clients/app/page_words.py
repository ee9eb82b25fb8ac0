"""The words the app's script (``static/app.js``) writes into a page, in the person's language.

``app.js`` is static (the page's Content-Security-Policy allows no inline script), so the server puts
these sentences, translated, into each page as a JSON data block (``<script type="application/json"
id="words">``, which a browser never runs) and the script reads them from there. They are in the
page before they are needed: the "Holdspace is closed" page is drawn after the app has stopped, when
nothing can be asked of it. Keys are the English text (the script's fallback); ``{placeholders}`` are
filled by the script.
"""

from __future__ import annotations

from holdspace.clients.i18n import N_, _

SENTENCES = (
    N_("Copied."),
    N_(
        "Your browser blocks notifications for this page. Allow them in the browser's settings for this site, "
        "then choose again."
    ),
    N_("The session starts in 1 minute"),
    N_("The session starts in {n} minutes"),
    N_("New message in {group}"),
    N_("New in the conversation."),
    N_("The Holdspace app on this device is not responding. Start it again to send and receive."),
    N_("If you are in danger, call your local emergency number now: "),
    N_("in the EU"),
    N_("in the US and Canada"),
    N_("in the UK"),
    N_("To talk with someone, find a free, confidential helpline in your country at "),
    N_("If you need help right now"),
    N_("Holdspace is closed"),
    N_(
        "The Holdspace app on this device was closed, so this page can do nothing more. Your groups and messages "
        "are safe on this device, locked with your passphrase."
    ),
    N_("To come back, start Holdspace again: it opens a new page."),
    N_("Closed · Holdspace"),
)


def page_words() -> dict[str, str]:
    """The sentences ``app.js`` shows, English → the current language, those the language changes
    (an English page carries none: the script's own words are English)."""
    return {english: said for english in SENTENCES if (said := _(english)) != english}
