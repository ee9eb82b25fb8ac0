"""Token buckets and per-pseudonym publish rates (spec 14.5): pure, the caller's clock passed in.

A pseudonym's budget is shared by every connection it is authenticated on, so the buckets belong to
the node, not to a session. Only an author authenticated on the connection can spend its budget."""

from __future__ import annotations

from holdspace.protocol import codec
from holdspace.protocol.frames import ProtocolError

MAX_BUCKETS = 100_000  # publish rate buckets kept (least recently used evicted)


class TokenBucket:
    """``rate`` tokens per second up to ``burst``; ``take`` is pure given the caller's clock."""

    __slots__ = ("burst", "rate", "tokens", "updated")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate, self.burst, self.tokens, self.updated = rate, burst, burst, now

    def take(self, now: float, cost: float = 1.0) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < cost:
            return False
        self.tokens -= cost
        return True


def publish_author(header: bytes, authors: frozenset[bytes]) -> bytes:
    """The header's author, which must be one of ``authors`` (authenticated on the connection).

    Checked, in order: the header decodes as CBOR (else its ``cbor.*`` code); it is a map whose
    ``a`` is bytes found in ``authors`` (else ``proto.unauthenticated``)."""
    fields = codec.decode(header, max_size=len(header))
    author = fields.get("a") if isinstance(fields, dict) else None
    if not isinstance(author, bytes) or author not in authors:
        raise ProtocolError("proto.unauthenticated", "authenticate the entry's author on this connection first")
    return author


class PublishRates:
    """One token bucket per pseudonym, at most ``MAX_BUCKETS`` (least recently used evicted; an
    evicted pseudonym starts again with a full burst)."""

    def __init__(self, rate: float, burst: float, max_buckets: int = MAX_BUCKETS) -> None:
        self.rate, self.burst, self.max_buckets = rate, burst, max_buckets
        self._buckets: dict[bytes, TokenBucket] = {}  # insertion order = least recently used first

    def __len__(self) -> int:
        return len(self._buckets)

    def retune(self, rate: float, burst: float) -> None:
        """Use ``rate`` and ``burst`` from now on, for every pseudonym (a bucket keeps its tokens, at
        most the new burst)."""
        self.rate, self.burst = rate, burst
        for bucket in self._buckets.values():
            bucket.rate, bucket.burst, bucket.tokens = rate, burst, min(bucket.tokens, burst)

    def bucket(self, author: bytes, now: float) -> TokenBucket:
        """``author``'s bucket, made the most recently used (created full at ``now`` if absent)."""
        bucket = self._buckets.pop(author, None)
        if bucket is None:
            bucket = TokenBucket(self.rate, self.burst, now)
            if len(self._buckets) >= self.max_buckets:
                del self._buckets[next(iter(self._buckets))]
        self._buckets[author] = bucket
        return bucket

    def charge(self, header: bytes, authors: frozenset[bytes], now: float) -> None:
        """Spend one token of the header's author. Raises, in order: the header's ``cbor.*`` code or
        ``proto.unauthenticated`` (:func:`publish_author`, nothing spent), then
        ``proto.rate_limited`` if the author's bucket is empty."""
        if not self.bucket(publish_author(header, authors), now).take(now):
            raise ProtocolError("proto.rate_limited", "this pseudonym publishes too fast")
