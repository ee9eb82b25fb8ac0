"""Earlier epochs' keys for a newcomer (spec 13.1, "History"): what a sharer seals into a rekey's
``"h"``, and what a newcomer takes from it.

The group's history visibility (12.2) says what a member who joins may read of what came before:
``"joined"`` nothing, ``"shared"`` everything, ``N`` (days) the epochs whose rekey was signed at
most ``N`` days before the newcomer's join. Nothing is ever re-encrypted: the sharer seals the epoch
keys it kept (a member keeps epoch keys only while history is not ``"joined"``) to the newcomer.

Invariants:

- a blob holds at most :data:`protocol.e2ee.MAX_HISTORY_EPOCHS` keys, newest first, and a rekey
  at most ``keyshare.MAX_HISTORY_PAIRS`` in all its blobs (``keyshare.history_limit``); looking for
  them costs at most that many epochs, whatever the group's age (``keyshare.history_to_share``);
- a newcomer takes a key only for an applied epoch it does not hold yet that lies in the window of
  the setting it holds (``keyshare.in_history_window``), so a sharer who sends more gives nothing
  more; a box or blob that does not open is ignored (the epochs stay unreadable).

Pure: no clock, no I/O.
"""

from __future__ import annotations

import itertools

from holdspace.clients.keyshare import history_limit, history_to_share, in_history_window
from holdspace.protocol import crypto, e2ee
from holdspace.protocol.errors import HoldspaceError
from holdspace.protocol.group import GroupState
from holdspace.protocol.payloads import HISTORY_FROM_JOIN, Rekey


class _Kept:
    """The epochs whose key ``keys`` kept, as a container (no copy of the whole set)."""

    def __init__(self, keys: e2ee.GroupKeys) -> None:
        self.keys = keys

    def __contains__(self, epoch_id: object) -> bool:
        held = self.keys.epochs.get(epoch_id) if isinstance(epoch_id, bytes) else None
        return held is not None and held.epoch_key is not None


def history_blobs(state: GroupState, keys: e2ee.GroupKeys) -> dict[bytes, bytes]:
    """For a rekey ``keys``' owner publishes now: each newcomer (a current member, admitted by a
    join, that the current epoch was not sealed to) mapped to its history blob, when the setting
    lets it read earlier epochs and the owner kept any of their keys. Empty under ``"joined"``."""
    if state.history == HISTORY_FROM_JOIN:
        return {}
    current = state.current_epoch
    held = current.recipients if current is not None else frozenset()
    kept = _Kept(keys)
    newcomers = [(k, m) for k, m in state.members.items() if k not in held and m.admitted_by is not None]
    limit = history_limit(len(newcomers))
    blobs: dict[bytes, bytes] = {}
    for key, member in newcomers:
        ids = history_to_share(state.history, member.joined_ms, state.epochs, kept, limit)
        pairs = [(i, k) for i in ids if (k := keys.epochs[i].epoch_key) is not None]
        if pairs:
            blobs[key] = e2ee.encode_history_blob(pairs)
    return blobs


def take_history(state: GroupState, keys: e2ee.GroupKeys, rekey: Rekey) -> list[bytes]:
    """Take from ``rekey``'s ``"h"`` the earlier epochs' keys sealed to ``keys``' owner that the
    setting lets it read; returns the ids taken. Ignored: a box that does not open or a blob that
    does not decode (nothing taken), and each pair whose epoch is not among the group's newest
    :data:`~protocol.e2ee.MAX_HISTORY_EPOCHS` applied ones, is already held, or started outside the
    window of the owner's current membership."""
    me = keys.me.public_key
    box = dict(rekey.history).get(me)
    member = state.members.get(me)
    if box is None or member is None or state.history == HISTORY_FROM_JOIN:
        return []
    try:
        pairs = e2ee.decode_history_blob(crypto.seal_open(keys.me.x_secret, box))
    except HoldspaceError:
        return []
    # a sharer seals keys only of the newest MAX_HISTORY_EPOCHS epochs (history_to_share): looking
    # among those alone keeps a rekey's cost here bounded whatever the group's age
    recent = itertools.islice(reversed(state.epochs), e2ee.MAX_HISTORY_EPOCHS)
    applied = {epoch.entry_id: epoch for epoch in recent}
    taken: list[bytes] = []
    for epoch_id, key in pairs:
        epoch = applied.get(epoch_id)
        if epoch is None or epoch_id in keys.epochs:
            continue
        if not in_history_window(state.history, member.joined_ms, epoch.started_ms):
            continue
        keys.accept_epoch(epoch, key, keep_key=True)
        taken.append(epoch_id)
    return taken


__all__ = ["history_blobs", "take_history"]
