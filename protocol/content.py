"""What members say to each other: the plaintext inside message envelopes (spec 17.1).

Every decrypted plaintext of a ``message`` or ``direct`` entry, and of a session's ``e`` details, is
one canonical CBOR map with a type ``"t"``. Nodes never see any of it; clients check it with
:func:`decode_content` and show an unknown type as "unsupported" (newer clients may add types).

A **disclosure** hands one entry's words to someone else verifiably: the entry's header and payload
plus the one key that opens it (the message key ``mk_i`` of a group message, the content key of a
direct message). The receiver checks the author's signature over the header, the payload hash, and
the decryption (:func:`verify_disclosure`); it learns that entry's words and nothing else, because a
message key reveals neither the chain key before it nor any other message key. Reports and quotes
(pinned resources carried forward to members who joined later) are disclosures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeGuard

from holdspace.protocol import codec, e2ee, kinds
from holdspace.protocol.entry import Entry, decode_entry
from holdspace.protocol.errors import CodecError, ContentError, HoldspaceError
from holdspace.protocol.payloads import Session, decode_direct, decode_envelope, decode_payload

REACTIONS = ("heart", "hug", "me-too", "thank-you")
RSVP_ANSWERS = ("yes", "no", "maybe")
MOODS = range(1, 6)
MAX_TEXT = 60_000  # bytes of UTF-8 in a text or a pin
MAX_WARNING = 100
MAX_WORD = 32
MAX_REASON = 1000
MAX_TITLE = 200
MAX_ABOUT = 2000


@dataclass(frozen=True, slots=True)
class Text:
    body: str
    warning: str | None = None  # a content warning: clients hide the body until the reader opens it


@dataclass(frozen=True, slots=True)
class Reaction:
    target: bytes  # the entry id reacted to
    reaction: str  # one of REACTIONS
    undo: bool = False


@dataclass(frozen=True, slots=True)
class CheckIn:
    mood: int  # 1 (very low) .. 5 (very good)
    word: str | None = None
    occurrence: tuple[bytes, int] | None = None  # (session id, occurrence index) it belongs to


@dataclass(frozen=True, slots=True)
class Rsvp:
    session: bytes
    occurrence: int
    answer: str  # one of RSVP_ANSWERS


@dataclass(frozen=True, slots=True)
class Turn:
    """The talking piece: whose turn it is to share (None: nobody's; the circle is open)."""

    session: bytes
    occurrence: int
    holder: bytes | None


@dataclass(frozen=True, slots=True)
class Pin:
    resources: str  # the group's crisis resources


@dataclass(frozen=True, slots=True)
class CredentialPost:
    attestation: bytes


@dataclass(frozen=True, slots=True)
class RevocationPost:
    revocation: bytes


@dataclass(frozen=True, slots=True)
class Disclosure:
    header: bytes
    payload: bytes
    key: bytes


@dataclass(frozen=True, slots=True)
class Report:
    disclosure: Disclosure
    reason: str


@dataclass(frozen=True, slots=True)
class Quote:
    disclosure: Disclosure


@dataclass(frozen=True, slots=True)
class SessionDetails:
    title: str
    about: str | None = None


@dataclass(frozen=True, slots=True)
class Unknown:
    type: str


Content = (
    Text
    | Reaction
    | CheckIn
    | Rsvp
    | Turn
    | Pin
    | CredentialPost
    | RevocationPost
    | Report
    | Quote
    | SessionDetails
    | Unknown
)


def encode_content(content: Content) -> bytes:
    f: dict[str, codec.CborValue]
    if isinstance(content, Text):
        f = {"t": "text", "b": content.body}
        if content.warning is not None:
            f["cw"] = content.warning
    elif isinstance(content, Reaction):
        f = {"t": "react", "m": content.target, "r": content.reaction}
        if content.undo:
            f["u"] = True
    elif isinstance(content, CheckIn):
        f = {"t": "checkin", "m": content.mood}
        if content.word is not None:
            f["w"] = content.word
        if content.occurrence is not None:
            f["s"] = [content.occurrence[0], content.occurrence[1]]
    elif isinstance(content, Rsvp):
        f = {"t": "rsvp", "s": content.session, "o": content.occurrence, "a": content.answer}
    elif isinstance(content, Turn):
        f = {"t": "turn", "s": content.session, "o": content.occurrence, "h": content.holder}
    elif isinstance(content, Pin):
        f = {"t": "pin", "b": content.resources}
    elif isinstance(content, CredentialPost):
        f = {"t": "credential", "c": content.attestation}
    elif isinstance(content, RevocationPost):
        f = {"t": "revocation", "c": content.revocation}
    elif isinstance(content, Report):
        d = content.disclosure
        f = {"t": "report", "e": d.header, "p": d.payload, "k": d.key, "why": content.reason}
    elif isinstance(content, Quote):
        d = content.disclosure
        f = {"t": "quote", "e": d.header, "p": d.payload, "k": d.key}
    elif isinstance(content, SessionDetails):
        f = {"t": "session", "title": content.title}
        if content.about is not None:
            f["about"] = content.about
    else:
        raise ContentError("content.malformed", "unknown content cannot be encoded")
    raw = codec.encode(f)
    decode_content(raw)  # what we send passes what receivers check
    return raw


def _fail(why: str) -> ContentError:
    return ContentError("content.malformed", why)


def _str(value: codec.CborValue, name: str, limit: int, *, empty: bool = False) -> str:
    if not isinstance(value, str) or len(value.encode()) > limit or (not empty and not value):
        raise _fail(f"{name} must be text of {'0' if empty else '1'}..{limit} bytes")
    return value


def _id(value: codec.CborValue, name: str) -> bytes:
    if not isinstance(value, bytes) or len(value) != 32:
        raise _fail(f"{name} must be 32 bytes")
    return value


def _index(value: codec.CborValue, name: str) -> int:
    if not _uint(value):
        raise _fail(f"{name} must be an unsigned integer")
    return value


def _uint(value: codec.CborValue) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 2**63 - 1


_FIELDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "text": (frozenset({"t", "b"}), frozenset({"cw"})),
    "react": (frozenset({"t", "m", "r"}), frozenset({"u"})),
    "checkin": (frozenset({"t", "m"}), frozenset({"w", "s"})),
    "rsvp": (frozenset({"t", "s", "o", "a"}), frozenset()),
    "turn": (frozenset({"t", "s", "o", "h"}), frozenset()),
    "pin": (frozenset({"t", "b"}), frozenset()),
    "credential": (frozenset({"t", "c"}), frozenset()),
    "revocation": (frozenset({"t", "c"}), frozenset()),
    "report": (frozenset({"t", "e", "p", "k", "why"}), frozenset()),
    "quote": (frozenset({"t", "e", "p", "k"}), frozenset()),
    "session": (frozenset({"t", "title"}), frozenset({"about"})),
}


def _disclosure(f: dict[str, codec.CborValue]) -> Disclosure:
    header, payload, key = f["e"], f["p"], f["k"]
    if not isinstance(header, bytes) or not isinstance(payload, bytes):
        raise _fail("e and p must be an entry's header and payload")
    return Disclosure(header, payload, _id(key, "k"))


def decode_content(raw: bytes) -> Content:
    """Structural check of a decrypted plaintext; ``content.malformed`` on any deviation."""
    try:
        f = codec.decode(raw, max_size=e2ee.MAX_PLAINTEXT)
    except CodecError as exc:
        raise _fail(f"content must be canonical CBOR ({exc.code})") from exc
    if not isinstance(f, dict) or not isinstance(f.get("t"), str):
        raise _fail("content must be a map with a type t")
    kind = f["t"]
    assert isinstance(kind, str)
    if kind not in _FIELDS:
        return Unknown(kind)
    required, optional = _FIELDS[kind]
    if not required <= f.keys() <= required | optional:
        raise _fail(
            f"{kind} content needs {sorted(required)}" + (f", optionally {sorted(optional)}" if optional else "")
        )
    if kind == "text":
        warning = _str(f["cw"], "cw", MAX_WARNING) if "cw" in f else None
        return Text(_str(f["b"], "b", MAX_TEXT, empty=True), warning)
    if kind == "react":
        if f["r"] not in REACTIONS or not isinstance(f["r"], str):
            raise _fail(f"r must be one of {', '.join(REACTIONS)}")
        if "u" in f and f["u"] is not True:
            raise _fail("u, when present, is true")
        return Reaction(_id(f["m"], "m"), f["r"], "u" in f)
    if kind == "checkin":
        mood = f["m"]
        if not _uint(mood) or mood not in MOODS:
            raise _fail("m must be a mood from 1 to 5")
        word = _str(f["w"], "w", MAX_WORD) if "w" in f else None
        occurrence = None
        if "s" in f:
            s = f["s"]
            if not isinstance(s, list) or len(s) != 2:
                raise _fail("s must be [session id, occurrence index]")
            occurrence = (_id(s[0], "s[0]"), _index(s[1], "s[1]"))
        return CheckIn(mood, word, occurrence)
    if kind == "rsvp":
        if f["a"] not in RSVP_ANSWERS or not isinstance(f["a"], str):
            raise _fail(f"a must be one of {', '.join(RSVP_ANSWERS)}")
        return Rsvp(_id(f["s"], "s"), _index(f["o"], "o"), f["a"])
    if kind == "turn":
        holder = None if f["h"] is None else _id(f["h"], "h")
        return Turn(_id(f["s"], "s"), _index(f["o"], "o"), holder)
    if kind == "pin":
        return Pin(_str(f["b"], "b", MAX_TEXT))
    if kind in ("credential", "revocation"):
        if not isinstance(f["c"], bytes):
            raise _fail("c must be bytes")
        return CredentialPost(f["c"]) if kind == "credential" else RevocationPost(f["c"])
    if kind == "report":
        return Report(_disclosure(f), _str(f["why"], "why", MAX_REASON, empty=True))
    if kind == "quote":
        return Quote(_disclosure(f))
    about = _str(f["about"], "about", MAX_ABOUT) if "about" in f else None
    return SessionDetails(_str(f["title"], "title", MAX_TITLE), about)


def verify_disclosure(group_id: bytes, disclosure: Disclosure) -> tuple[Entry, bytes]:
    """The disclosed entry (signature and payload hash verified) and its plaintext, or
    ``content.bad_disclosure`` with the reason. Works for a group message, a direct message and a
    session's details."""
    try:
        entry = decode_entry(disclosure.header, disclosure.payload, now_ms=None)
    except HoldspaceError as exc:
        raise ContentError("content.bad_disclosure", f"the entry does not verify ({exc.code})") from exc
    if entry.log_group != group_id:
        raise ContentError("content.bad_disclosure", "the entry belongs to another group")
    payload = disclosure.payload
    try:
        if entry.kind == kinds.MESSAGE:
            envelope = decode_envelope(payload)
            plaintext = e2ee.open_message(disclosure.key, group_id, entry.author, entry.seq, envelope)
        elif entry.kind == kinds.DIRECT:
            plaintext = e2ee.open_direct(disclosure.key, group_id, entry.author, entry.seq, decode_direct(payload))
        elif entry.kind == kinds.SESSION:
            session = decode_payload(kinds.SESSION, payload, entry.author)
            assert isinstance(session, Session)
            if session.details is None:
                raise ContentError("content.bad_disclosure", "the session carries no details")
            envelope = decode_envelope(session.details)
            plaintext = e2ee.open_message(disclosure.key, group_id, entry.author, entry.seq, envelope)
        else:
            raise ContentError("content.bad_disclosure", f"a {kinds.kind_name(entry.kind)} entry has no words")
    except ContentError:
        raise
    except HoldspaceError as exc:
        raise ContentError(
            "content.bad_disclosure", f"the key does not open the words the author signed ({exc.code})"
        ) from exc
    return entry, plaintext
