"""A group's messages and the entries already read, either kept in the device history (a
:class:`StoredLog` and a :class:`StoredSeen`, for a participant with a home) or in memory (a
:class:`MemoryLog` and a plain set, for the simulator).

Both logs behave as a list of :class:`~clients.records.Message` in arrival order (``len``, indexing,
slices, iteration, ``append``, ``extend``) plus :meth:`update` (write back a message changed in
place), :meth:`places` (every message without its words, for scans that need no words) and
:meth:`page`. A stored log keeps nothing in memory: each read opens the records it needs, so the
cost of appending or of reading a page does not depend on how many messages the group holds.
A record that does not open is read as a message with ``problem = "history.damaged"``.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from typing import overload

from holdspace.clients.history import TAG, HistoryError, HistoryStore
from holdspace.clients.records import Message
from holdspace.protocol import codec
from holdspace.protocol.content import Text

_POS = struct.Struct(">Q")


def _matches(m: Message, prefix: bytes | str) -> bool:
    return m.entry_id.startswith(prefix) if isinstance(prefix, bytes) else m.entry_id.hex().startswith(prefix)


def _damaged(index: int) -> Message:
    return Message(0, b"", 0, 0, None, "history.damaged", index=index)


class MemoryLog(list[Message]):
    """Messages held in memory (nothing is written anywhere)."""

    def __init__(self, messages: Iterable[Message] = ()) -> None:
        super().__init__()
        self._due: dict[int, int] = {}  # position -> deadline noted
        self.extend(messages)

    def update(self, message: Message) -> None:
        return None

    def places(self) -> Iterator[Message]:
        return iter(self)

    def extras(self) -> Iterator[Message]:
        """Messages whose content is not a text (pins, reactions, check-ins...), in order."""
        return (m for m in self if m.plaintext is not None and not isinstance(m.content, Text))

    def find(self, entry_id_prefix: bytes | str) -> list[Message]:
        """Messages whose id starts with the given bytes (or hex digits)."""
        return [m for m in self if _matches(m, entry_id_prefix)]

    def page(self, before: int | None = None, limit: int = 50) -> list[Message]:
        end = len(self) if before is None else max(0, min(before, len(self)))
        return list(self[max(0, end - limit) : end])

    def append(self, message: Message) -> None:
        message.index = len(self)
        super().append(message)

    def extend(self, messages: Iterable[Message]) -> None:
        for m in messages:
            self.append(m)

    def note_deadline(self, message: Message, deadline: int) -> None:
        self._deadlines()[message.index] = deadline

    def take_due(self, now: int) -> list[Message]:
        """Messages whose noted deadline has come (each noted deadline is taken once)."""
        due = sorted(i for i, d in self._deadlines().items() if d <= now)
        for i in due:
            del self._deadlines()[i]
        return [self[i] for i in due]

    def clear_deadlines(self) -> None:
        self._deadlines().clear()

    def _deadlines(self) -> dict[int, int]:
        return self._due


class StoredLog:
    """One group's messages in the device history (records ``msg`` and ``words``)."""

    def __init__(self, store: HistoryStore, group_id: bytes) -> None:
        self.store = store
        self.prefix = store.tag(group_id)
        assert len(self.prefix) == TAG

    def _key(self, index: int) -> bytes:
        return self.prefix + _POS.pack(index)

    def __len__(self) -> int:
        return self.store.count(b"msg", self.prefix)

    def __bool__(self) -> bool:
        return len(self) > 0

    def _load(self, index: int, sealed: bytes, *, words: bool = True) -> Message:
        return self._load_many([(index, sealed)], words=words)[0]

    def _load_many(self, items: list[tuple[int, bytes]], *, words: bool = True) -> list[Message]:
        """Messages from their place records, with their words read in one transaction."""
        out: list[Message] = []
        for index, sealed in items:
            try:
                out.append(Message.from_place(index, self.store.open(b"msg", self._key(index), sealed)))
            except (HistoryError, AssertionError):
                out.append(_damaged(index))
        wanted = [m for m in out if words and m.words_id is not None]
        found = self.store.get_raw(b"words", [_POS.pack(m.words_id or 0) for m in wanted])
        for m, raw in zip(wanted, found, strict=True):
            try:
                if raw is None:
                    raise HistoryError("history.damaged", "the words record is missing")
                m.attach_words(self.store.open(b"words", _POS.pack(m.words_id or 0), raw))
            except (HistoryError, AssertionError):
                m.problem = m.problem or "history.damaged"
        return out

    def _range(self, start: int, stop: int, *, words: bool = True) -> Iterator[Message]:
        expected = start
        chunk: list[tuple[int, bytes]] = []
        for key, sealed in self.store.scan(b"msg", self.prefix, _POS.pack(start)):
            index = int(_POS.unpack(key[TAG:])[0])
            if index >= stop:
                break
            while expected < index:  # a record gone missing reads as damaged, in its place
                chunk.append((expected, b""))
                expected += 1
            chunk.append((index, sealed))
            expected = index + 1
            if len(chunk) >= 64:
                yield from self._load_many(chunk, words=words)
                chunk = []
        yield from self._load_many(chunk, words=words)

    @overload
    def __getitem__(self, item: int) -> Message: ...

    @overload
    def __getitem__(self, item: slice) -> list[Message]: ...

    def __getitem__(self, item: int | slice) -> Message | list[Message]:
        n = len(self)
        if isinstance(item, slice):
            start, stop, step = item.indices(n)
            found = list(self._range(start, stop)) if start < stop else []
            return found[::step] if step != 1 else found
        index = item + n if item < 0 else item
        if not 0 <= index < n:
            raise IndexError("message index out of range")
        found = list(self._range(index, index + 1))
        return found[0] if found else _damaged(index)

    def __iter__(self) -> Iterator[Message]:
        return self._range(0, 1 << 62)

    def places(self) -> Iterator[Message]:
        """Every message without its words (cheaper: for scans of places and deadlines)."""
        return self._range(0, 1 << 62, words=False)

    def extras(self) -> Iterator[Message]:
        """Messages whose content is not a text (pins, reactions, check-ins...), in order, without
        opening any text: what the group's views (pin, reactions, sessions, badges) scan."""
        keys = [k for k, _ in self.store.scan(b"xtra", self.prefix)]
        for start in range(0, len(keys), 64):
            chunk = keys[start : start + 64]
            found = self.store.get_raw(b"msg", chunk)
            yield from self._load_many(
                [(int(_POS.unpack(k[TAG:])[0]), raw or b"") for k, raw in zip(chunk, found, strict=True)]
            )

    def find(self, entry_id_prefix: bytes | str) -> list[Message]:
        """Messages whose id starts with the given bytes (or hex digits): places are scanned, only
        the matches' words are opened."""
        hits = [m.index for m in self.places() if _matches(m, entry_id_prefix)]
        return [self[i] for i in hits]

    def page(self, before: int | None = None, limit: int = 50) -> list[Message]:
        """Up to ``limit`` messages just before position ``before`` (default: the newest)."""
        n = len(self)
        end = n if before is None else max(0, min(before, n))
        return list(self._range(max(0, end - limit), end))

    def append(self, message: Message) -> None:
        self.extend([message])

    def extend(self, messages: Iterable[Message]) -> None:
        """Store new messages after the last, each as its place and its words (one transaction)."""
        batch = list(messages)
        if not batch:
            return
        index = len(self)
        words_id = self.store.reserve_words(sum(1 for m in batch if m.plaintext is not None))
        puts: list[tuple[bytes, bytes, codec.CborValue]] = []
        for m in batch:
            m.index, key = index, self._key(index)
            index += 1
            if m.plaintext is not None:
                m.words_id, words_id = words_id, words_id + 1
                puts.append((b"words", _POS.pack(m.words_id), m.words(key)))
                if not isinstance(m.content, Text):
                    puts.append((b"xtra", key, None))
            puts.append((b"msg", key, m.place()))
        self.store.write(puts)

    def update(self, message: Message) -> None:
        """Write back a message changed in place; a deleted message's words record goes, and one read
        only now (its epoch's key arrived later, 13.1 "History") gets its words record."""
        if message.index < 0 or (message.problem == "history.damaged" and not message.author):
            return
        key = self._key(message.index)
        puts: list[tuple[bytes, bytes, codec.CborValue]] = []
        deletes: list[tuple[bytes, bytes]] = []
        if message.deleted is not None and message.words_id is not None:
            deletes.append((b"words", _POS.pack(message.words_id)))
            message.words_id = None
        elif message.deleted is None and message.plaintext is not None and message.words_id is None:
            message.words_id = self.store.reserve_words(1)
            puts.append((b"words", _POS.pack(message.words_id), message.words(key)))
            if not isinstance(message.content, Text):
                puts.append((b"xtra", key, None))
        puts.append((b"msg", key, message.place()))
        self.store.write(puts, deletes)

    # -- deadlines (records ``dl``: tag + deadline + position, in the clear: times only) --------

    def note_deadline(self, message: Message, deadline: int) -> None:
        self.store.write([(b"dl", self.prefix + _POS.pack(deadline) + _POS.pack(message.index), None)])

    def take_due(self, now: int) -> list[Message]:
        """Messages whose noted deadline has come (each noted deadline is taken once)."""
        keys: list[bytes] = []
        for key, _ in self.store.scan(b"dl", self.prefix):
            if _POS.unpack(key[TAG : TAG + 8])[0] > now:
                break
            keys.append(key)
        found: list[Message] = []
        for key in keys:
            index = int(_POS.unpack(key[TAG + 8 :])[0])
            found += self._range(index, index + 1, words=False)
        self.store.write([], [(b"dl", k) for k in keys])
        return found

    def clear_deadlines(self) -> None:
        self.store.write([], [(b"dl", k) for k, _ in self.store.scan(b"dl", self.prefix)])


class StoredSeen:
    """The (author, seq) of every entry of one group already read, as blinded keys (``seen``)."""

    def __init__(self, store: HistoryStore, group_id: bytes) -> None:
        self.store = store
        self.group_id = group_id

    def _key(self, item: tuple[bytes, int]) -> bytes:
        return self.store.tag(self.group_id, item[0], _POS.pack(item[1]))

    def __contains__(self, item: object) -> bool:
        if not isinstance(item, tuple) or len(item) != 2:
            return False
        return self.store.has(b"seen", self._key(item))

    def add(self, item: tuple[bytes, int]) -> None:
        self.store.write([(b"seen", self._key(item), None)])

    def update(self, items: Iterable[tuple[bytes, int]]) -> None:
        self.store.write([(b"seen", self._key(i), None) for i in items])
