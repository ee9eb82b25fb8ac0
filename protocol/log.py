"""Append-only log rules and equivocation (fork) proofs.

An author's log in a group is the chain of its entries with seq 1, 2, 3... where each entry's
``prev`` is the id of the entry before it. :func:`place` decides where a verified entry goes given
the log's current head and, when the entry's seq is already taken, the entry stored there.

Two valid entries by one author, in one group, at one seq, with different ids are an
*equivocation*: the author signed two histories. :class:`ForkProof` packages both so that any
third party can check the claim with :func:`verify_fork_proof`, knowing nothing else.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from holdspace.protocol import codec
from holdspace.protocol.entry import MAX_HEADER_SIZE, Entry, decode_entry, decode_stored_entry
from holdspace.protocol.errors import CodecError, EntryError, LogError

FORK_PROOF_VERSION = 1
MAX_FORK_PROOF_SIZE = 2 * MAX_HEADER_SIZE + 64


@dataclass(frozen=True, slots=True)
class LogHead:
    seq: int
    entry_id: bytes


class Placement(enum.Enum):
    APPEND = "append"  # the entry extends the log by one
    DUPLICATE = "duplicate"  # the entry is already in the log (same id at the same seq)


@dataclass(frozen=True, slots=True)
class ForkProof:
    """Two entry headers at one position of one author's log; ``first.entry_id < second.entry_id``.

    Headers suffice: each commits to its payload by hash, so a proof never has to carry (or
    reveal) the words of either entry.
    """

    first: Entry
    second: Entry

    def encode(self) -> bytes:
        return codec.encode({"v": FORK_PROOF_VERSION, "a": self.first.raw, "b": self.second.raw})

    @property
    def author(self) -> bytes:
        return self.first.author

    @property
    def group(self) -> bytes:
        return self.first.log_group


class ForkError(LogError):
    """``log.fork`` with the proof attached, so the caller can store and relay it."""

    def __init__(self, proof: ForkProof) -> None:
        super().__init__("log.fork", f"author equivocated at seq {proof.first.seq}")
        self.proof = proof


def make_fork_proof(one: Entry, other: Entry) -> ForkProof:
    same_position = (one.log_group, one.author, one.seq) == (other.log_group, other.author, other.seq)
    if not same_position or one.entry_id == other.entry_id:
        raise LogError("log.bad_fork_proof", "entries are not two different entries at one log position")
    first, second = sorted((one, other), key=lambda e: e.entry_id)
    return ForkProof(first, second)


def place(head: LogHead | None, entry: Entry, stored_at_seq: Entry | None = None) -> Placement:
    """Where ``entry`` goes in a log whose head is ``head``.

    ``stored_at_seq`` must be the stored entry at ``entry.seq`` when ``entry.seq <= head.seq``.
    Raises ``log.seq_gap`` (a hole before the entry), ``log.prev_mismatch`` (the entry does not
    chain to the head) or :class:`ForkError` (a different entry holds that seq).
    """
    head_seq = head.seq if head else 0
    if entry.seq > head_seq + 1:
        raise LogError("log.seq_gap", f"entry seq {entry.seq} but the log head is at {head_seq}")
    if entry.seq == head_seq + 1:
        expected_prev = head.entry_id if head else None
        if entry.prev != expected_prev:
            raise LogError("log.prev_mismatch", f"entry seq {entry.seq} does not chain to the log head")
        return Placement.APPEND
    if stored_at_seq is None or stored_at_seq.seq != entry.seq:
        raise LogError("log.seq_gap", f"no stored entry at seq {entry.seq} to compare with (a gap in the log)")
    if stored_at_seq.entry_id == entry.entry_id:
        return Placement.DUPLICATE
    raise ForkError(make_fork_proof(stored_at_seq, entry))


def verify_fork_proof(raw: bytes, *, stored: bool = False) -> ForkProof:
    """Check a fork proof from anyone: both entries valid, same group/author/seq, different ids.

    ``stored=True``: a proof this node verified before storing it, read back from its own store; its
    entries are read with ``decode_stored_entry`` (no rule or signature checked again)."""
    if len(raw) > MAX_FORK_PROOF_SIZE:
        raise LogError("log.bad_fork_proof", "fork proof is too large")
    try:
        fields = codec.decode(raw, max_size=MAX_FORK_PROOF_SIZE)
    except CodecError as exc:
        raise LogError("log.bad_fork_proof", f"fork proof is not canonical CBOR ({exc.code})") from exc
    if (
        not isinstance(fields, dict)
        or fields.keys() != {"v", "a", "b"}
        or type(fields["v"]) is not int
        or fields["v"] != FORK_PROOF_VERSION
    ):
        raise LogError("log.bad_fork_proof", "fork proof must be a map {v: 1, a: entry, b: entry}")
    raw_a, raw_b = fields["a"], fields["b"]
    if not isinstance(raw_a, bytes) or not isinstance(raw_b, bytes):
        raise LogError("log.bad_fork_proof", "fork proof entries must be byte strings")
    try:
        if stored:
            first, second = decode_stored_entry(raw_a, None), decode_stored_entry(raw_b, None)
        else:
            first, second = decode_entry(raw_a, None, now_ms=None), decode_entry(raw_b, None, now_ms=None)
    except (CodecError, EntryError) as exc:
        raise LogError("log.bad_fork_proof", f"fork proof holds an invalid entry ({exc.code})") from exc
    proof = make_fork_proof(first, second)
    if proof.first is not first:
        raise LogError("log.bad_fork_proof", "fork proof entries must be ordered by entry id")
    return proof
