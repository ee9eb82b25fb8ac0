"""Live-call signals relayed by the node (spec 17.11), without I/O: who listens, and how fast each
pseudonym may signal.

A connection that sends ``listen`` for a group registers its pseudonyms there with that request's
id; a ``signal`` for one of them is then handed, as an event carrying that id, to each such listener
at once, and to nothing else: a signal is never stored, logged or queued for a session that is not
listening. The runtime (``node.server``) takes the frames this board yields and writes them.

Invariants: a listener is registered under a (group, pseudonym) only between its ``listen`` and its
:meth:`SignalBoard.unlisten` (or :meth:`SignalBoard.drop` of its connection); the board holds no
signal. Pure: ``now`` is passed in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Hashable
from dataclasses import dataclass

from holdspace.node.rates import PublishRates
from holdspace.protocol import codec
from holdspace.protocol.calls import SIGNAL_BURST, SIGNAL_RATE

TURN_TTL_S = 3600  # how long the TURN credentials a node hands out stay valid


@dataclass(frozen=True, slots=True)
class TurnRelay:
    """A TURN relay the operator runs (coturn with ``use-auth-secret``): its ``turn:``/``turns:`` URLs
    and the secret it shares with the node."""

    urls: tuple[str, ...]
    secret: bytes


def turn_credentials(relay: TurnRelay, now_s: int, ttl_s: int = TURN_TTL_S) -> dict[str, codec.CborValue]:
    """Short-lived credentials for ``relay`` by the TURN REST scheme coturn implements: username =
    the expiry (Unix seconds) as text, credential = base64(HMAC-SHA1(secret, username)). The name
    holds no pseudonym: the relay learns only that someone this node vouched for relays media."""
    username = str(now_s + ttl_s)
    digest = hmac.new(relay.secret, username.encode(), hashlib.sha1).digest()
    urls: list[codec.CborValue] = list(relay.urls)
    return {"urls": urls, "username": username, "credential": base64.b64encode(digest).decode()}


class SignalBoard:
    """The listeners of every group, and one signal-rate bucket per sending pseudonym (shared by all
    its connections: :data:`SIGNAL_RATE` a second, burst :data:`SIGNAL_BURST`)."""

    def __init__(self, rate: float = SIGNAL_RATE, burst: float = SIGNAL_BURST) -> None:
        self.rates = PublishRates(rate, burst)
        # (group, pseudonym) -> {connection: listen request id}
        self._listeners: dict[tuple[bytes, bytes], dict[Hashable, int]] = {}
        # connection -> the (group, pseudonym) it listens under, for drop()
        self._held: dict[Hashable, set[tuple[bytes, bytes]]] = {}

    def listen(self, connection: Hashable, rid: int, group: bytes, keys: frozenset[bytes]) -> None:
        """``connection`` receives, as events of request ``rid``, the signals to ``keys`` in ``group``
        (a later ``listen`` of the same connection for the same pseudonym replaces it)."""
        for key in keys:
            self._listeners.setdefault((group, key), {})[connection] = rid
            self._held.setdefault(connection, set()).add((group, key))

    def unlisten(self, connection: Hashable, rid: int) -> None:
        """The listen ``rid`` of ``connection`` ended (``cancel``)."""
        held = self._held.get(connection, set())
        for slot in list(held):
            listeners = self._listeners.get(slot, {})
            if listeners.get(connection) == rid:
                del listeners[connection]
                held.discard(slot)
                if not listeners:
                    del self._listeners[slot]
        if not held:
            self._held.pop(connection, None)

    def drop(self, connection: Hashable) -> None:
        """``connection`` ended: every listen it had ends."""
        for slot in self._held.pop(connection, set()):
            listeners = self._listeners.get(slot, {})
            listeners.pop(connection, None)
            if not listeners:
                self._listeners.pop(slot, None)

    def listeners(self, group: bytes, key: bytes) -> list[tuple[Hashable, int]]:
        """The connections listening for ``key`` in ``group``, with their listen request ids."""
        return list(self._listeners.get((group, key), {}).items())

    def charge(self, sender: bytes, now: float) -> bool:
        """Spend one of ``sender``'s signal tokens; False if it has none left."""
        return self.rates.bucket(sender, now).take(now)

    def __len__(self) -> int:
        """How many (group, pseudonym) pairs someone listens under."""
        return len(self._listeners)
