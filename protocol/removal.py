"""A removal's words: a kind note for the removed person and a reason for the facilitators (spec 12.3).

Each is a direct envelope (13.5) encrypted as a direct message its author would send at the removal
entry's own seq, with a fresh content key: the note sealed to the target only, the reason to the
facilitators (and the remover). Invariants: the words are UTF-8 text of 1 to
:data:`~holdspace.protocol.payloads.MAX_REMOVAL_WORDS` bytes; the target can open the note and
nothing else; a facilitator can open the reason (and the note only if it was sealed to it, which the
reference client never does). Nodes see neither.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from holdspace.protocol import e2ee
from holdspace.protocol.crypto import Random
from holdspace.protocol.errors import ContentError, E2eeError, GroupError
from holdspace.protocol.identity import Pseudonym
from holdspace.protocol.payloads import MAX_REMOVAL_WORDS, Remove, decode_direct


def _words(text: str, what: str) -> bytes:
    raw = text.encode("utf-8")
    if not 1 <= len(raw) <= MAX_REMOVAL_WORDS:
        raise GroupError("group.malformed_payload", f"a removal's {what} is 1 to {MAX_REMOVAL_WORDS} bytes of text")
    return raw


def seal_removal_words(
    group_id: bytes,
    remover: bytes,
    seq: int,
    target: tuple[bytes, bytes],
    facilitators: dict[bytes, bytes],
    *,
    note: str | None,
    reason: str | None,
    random: Random = os.urandom,
) -> tuple[bytes | None, bytes | None]:
    """The ``n`` and ``y`` fields of a removal by ``remover`` at ``seq``: ``note`` sealed to
    ``target`` ``(key, x25519)``, ``reason`` to ``facilitators`` (key -> x25519, the remover's own
    key among them when it should read it again). Empty or absent words give None."""
    sealed_note = sealed_reason = None
    if note:
        envelope, _ = e2ee.seal_direct(group_id, remover, seq, dict([target]), _words(note, "note"), random)
        sealed_note = envelope.encode()
    if reason:
        if not facilitators:
            raise E2eeError("e2ee.no_recipients", "a removal's reason needs a facilitator to read it")
        envelope, _ = e2ee.seal_direct(group_id, remover, seq, facilitators, _words(reason, "reason"), random)
        sealed_reason = envelope.encode()
    return sealed_note, sealed_reason


@dataclass(frozen=True, slots=True)
class RemovalWords:
    """What one reader can open of a removal: None where it holds no box (or there are no words)."""

    note: str | None
    reason: str | None


def open_removal_words(group_id: bytes, remover: bytes, seq: int, remove: Remove, me: Pseudonym) -> RemovalWords:
    """The note and reason of ``remove`` (the payload of ``remover``'s entry at ``seq``) that ``me``
    can open. A box sealed to ``me`` that fails is refused with its code, as for any direct message
    (13.5: ``e2ee.bad_commitment``, ``crypto.decrypt_failed``, ``e2ee.bad_padding``), and words that
    are not UTF-8 with ``content.malformed``."""
    keys = e2ee.GroupKeys(group_id, me)
    opened: list[str | None] = []
    for field in (remove.note, remove.reason):
        if field is None:
            opened.append(None)
            continue
        envelope = decode_direct(field)
        if me.public_key not in envelope.recipients:
            opened.append(None)
            continue
        plaintext, _ = keys.open_direct(remover, seq, envelope)
        try:
            opened.append(plaintext.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise ContentError("content.malformed", "a removal's words are not UTF-8 text") from exc
    return RemovalWords(opened[0], opened[1])


__all__ = ["RemovalWords", "open_removal_words", "seal_removal_words"]
