"""What a participant keeps per message and per outbox item, and how each is written.

A :class:`Message` is kept as two records in the device history (``clients.history``): its place
(:meth:`Message.place`, small, never pruned) and its words (:meth:`Message.words`: the decrypted
content, the one key that opens it, and for a pin or a profile its signed entry), which the storage budget may
prune. The text of a text message is not stored: it is read from the content when the message is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from holdspace.protocol import codec, kinds
from holdspace.protocol.content import Content, Pin, Profile, Text, decode_content
from holdspace.protocol.entry import Entry
from holdspace.protocol.errors import HoldspaceError


@dataclass(slots=True)
class Message:
    """An entry with words read (or written) by this client: a group message, a direct message sealed
    to us, or a session's details. Deleted (redacted, erased, expired) messages keep only their place."""

    cursor: int
    author: bytes
    seq: int
    timestamp_ms: int
    text: str | None  # the words of a text message; None for other content, or if unreadable or deleted
    problem: str | None = None  # why it could not be read (an error code)
    entry_id: bytes = b""
    kind: int = kinds.MESSAGE
    plaintext: bytes | None = field(default=None, repr=False)  # the decrypted content (protocol.content)
    key: bytes | None = field(default=None, repr=False)  # the one key that opens it: disclosed only in a report
    expires_ms: int | None = None
    deleted: str | None = None  # "redacted", "erased" or "expired": the words and the key are gone
    source: tuple[bytes, bytes] | None = field(default=None, repr=False)  # (header, payload), kept for pins
    index: int = field(default=-1, repr=False, compare=False)  # its position in the group's history
    words_id: int | None = field(default=None, repr=False, compare=False)  # its words record, if stored
    to: tuple[bytes, ...] = ()  # a direct message's recipients (sorted); empty for a group message

    @property
    def content(self) -> Content | None:
        if self.plaintext is None:
            return None
        try:
            return decode_content(self.plaintext)
        except HoldspaceError:
            return None

    def keep_words(self, entry: Entry, plaintext: bytes, key: bytes) -> None:
        """Attach decrypted words (checked as content, else ``content.malformed``): the text of a text
        message, and for a pin its signed entry too, to quote it to members who join later."""
        content = decode_content(plaintext)
        self.plaintext, self.key = plaintext, key
        if isinstance(content, Text):
            self.text = content.body
        if isinstance(content, (Pin, Profile)):
            self.source = (entry.raw, entry.payload or b"")

    def forget(self, reason: str) -> None:
        self.text = self.plaintext = self.key = self.source = None
        self.deleted = reason

    def place(self) -> codec.CborValue:
        """The record of the message's place (never pruned): everything but its words."""
        return [
            self.cursor, self.author, self.seq, self.timestamp_ms, self.problem, self.entry_id, self.kind,
            self.expires_ms, self.deleted, self.words_id, list(self.to),
        ]  # fmt: skip

    def words(self, place_key: bytes) -> codec.CborValue:
        """The record of its words: [place key, kind, plaintext, key, source]."""
        source: codec.CborValue = list(self.source) if self.source else None
        return [place_key, self.kind, self.plaintext, self.key, source]

    @classmethod
    def from_place(cls, index: int, value: codec.CborValue) -> Message:
        """A message from its place record (words not attached); AssertionError if malformed."""
        assert isinstance(value, list) and len(value) in (10, 11)  # 10: written before recipients were kept
        cursor, author, seq, ts, problem, eid, kind, expires, deleted, words_id = value[:10]
        to = value[10] if len(value) == 11 else []
        assert isinstance(to, list) and all(isinstance(k, bytes) for k in to)
        assert isinstance(cursor, int) and isinstance(author, bytes) and isinstance(seq, int)
        assert isinstance(ts, int) and isinstance(eid, bytes) and isinstance(kind, int)
        assert problem is None or isinstance(problem, str)
        assert expires is None or isinstance(expires, int)
        assert deleted is None or isinstance(deleted, str)
        assert words_id is None or isinstance(words_id, int)
        return cls(cursor, author, seq, ts, None, problem, eid, kind, expires_ms=expires, deleted=deleted,
                   index=index, words_id=words_id, to=tuple(k for k in to if isinstance(k, bytes)))  # fmt: skip

    def attach_words(self, value: codec.CborValue) -> None:
        """Attach a words record read back; AssertionError if malformed."""
        assert isinstance(value, list) and len(value) == 5
        _, _, plaintext, key, source = value
        assert isinstance(plaintext, bytes) and (key is None or isinstance(key, bytes))
        self.plaintext, self.key = plaintext, key
        if isinstance(source, list) and len(source) == 2:
            assert isinstance(source[0], bytes) and isinstance(source[1], bytes)
            self.source = (source[0], source[1])
        content = self.content
        if isinstance(content, Text):
            self.text = content.body

    def to_cbor(self) -> codec.CborValue:
        """The form of key files of version 1 (kept to read them and to write test fixtures)."""
        source: codec.CborValue = list(self.source) if self.source else None
        return [
            self.cursor, self.author, self.seq, self.timestamp_ms, self.text, self.problem, self.entry_id,
            self.kind, self.plaintext, self.key, self.expires_ms, self.deleted, source,
        ]  # fmt: skip

    @classmethod
    def from_cbor(cls, value: codec.CborValue) -> Message:
        assert isinstance(value, list) and len(value) in (6, 13)
        if len(value) == 6:  # written before message content was typed: plain text, no id or key kept
            value = [*value, b"", kinds.MESSAGE, None, None, None, None, None]
        cursor, author, seq, ts, text, problem, eid, kind, plaintext, key, expires, deleted, source = value
        msg = cls(cursor, author, seq, ts, text, problem, eid, kind, plaintext, key, expires, deleted)  # type: ignore[arg-type]
        if isinstance(source, list):
            msg.source = (source[0], source[1])  # type: ignore[assignment]
        return msg


@dataclass(slots=True)
class Outgoing:
    """Something written (a message, a reaction, a check-in...) waiting to be sent: kept sealed in the
    key file until a node acknowledges it, so that words written offline are never lost. A definite
    refusal is kept too (``error``), shown to the writer, and dropped only when they say so."""

    item_id: bytes
    group_id: bytes
    content: bytes  # protocol.content, encoded
    queued_ms: int
    ttl_ms: int | None = None
    to_facilitators: bool = False  # a direct message to the group's facilitators only
    error: str | None = None  # the code a node refused it with

    def to_cbor(self) -> codec.CborValue:
        return [
            self.item_id, self.group_id, self.content, self.queued_ms, self.ttl_ms, self.to_facilitators, self.error,
        ]  # fmt: skip

    @classmethod
    def from_cbor(cls, value: codec.CborValue) -> Outgoing:
        assert isinstance(value, list) and len(value) == 7
        return cls(*value)  # type: ignore[arg-type]
