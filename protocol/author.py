"""Writing one's own log: the next seq and prev, and the control payloads a member signs.

Sans-I/O helpers for clients (and tests, and the simulator). They only *build* entries; whether an
entry is accepted is decided by validation (``entry``, ``log``, ``group``), never trusted from here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from holdspace.protocol import crypto, kinds
from holdspace.protocol.crypto import Random
from holdspace.protocol.entry import Entry, create_entry
from holdspace.protocol.group import GENESIS_GROUP, GroupState
from holdspace.protocol.identity import Pseudonym, genesis_context, verify_identity_document
from holdspace.protocol.payloads import (
    FACILITATOR,
    HISTORY_FROM_JOIN,
    NONCE_SIZE,
    Close,
    Genesis,
    History,
    Host,
    Invite,
    Join,
    Leave,
    Mute,
    Remove,
    RoleChange,
    Settings,
    join_proof_message,
)
from holdspace.protocol.removal import seal_removal_words


@dataclass(slots=True)
class LogWriter:
    """An author's position in its log for one group."""

    me: Pseudonym
    group_id: bytes
    seq: int = 0
    prev: bytes | None = None

    def append(self, kind: int, payload: bytes, timestamp_ms: int) -> Entry:
        group = GENESIS_GROUP if kind == kinds.GENESIS else self.group_id
        entry = create_entry(
            self.me,
            group=group,
            seq=self.seq + 1,
            prev=self.prev,
            timestamp_ms=timestamp_ms,
            kind=kind,
            payload=payload,
        )
        self.seq, self.prev = entry.seq, entry.entry_id
        return entry


def create_group(
    master: bytes,
    timestamp_ms: int,
    *,
    history: History = HISTORY_FROM_JOIN,
    home: str | None = None,
    random: Random = os.urandom,
) -> tuple[Entry, LogWriter]:
    """A genesis entry signed by the creator's per-group pseudonym, and the creator's log writer.
    ``home``: the creator's home node address, the group's first host."""
    nonce = random(NONCE_SIZE)
    creator = Pseudonym.derive(master, genesis_context(nonce))
    document = verify_identity_document(creator.identity_document(timestamp_ms))
    writer = LogWriter(creator, GENESIS_GROUP)
    genesis = writer.append(kinds.GENESIS, Genesis(nonce, document, history, home).encode(), timestamp_ms)
    writer.group_id = genesis.entry_id
    return genesis, writer


@dataclass(frozen=True, slots=True)
class InviteSecret:
    """What an invite token carries besides addresses: which invite, and the key that redeems it."""

    group_id: bytes
    invite_id: bytes
    seed: bytes

    def join(
        self, writer: LogWriter, timestamp_ms: int, heads: tuple[bytes, ...] = (), *, home: str | None = None
    ) -> Entry:
        """The joiner's join entry; ``heads``: control entries it already saw (e.g. when re-joining);
        ``home``: the joiner's home node, which becomes a host of the group."""
        proof = crypto.ed25519_sign(self.seed, join_proof_message(self.group_id, writer.me.public_key, self.invite_id))
        document = verify_identity_document(writer.me.identity_document(timestamp_ms))
        deps = tuple(sorted({self.invite_id, *heads}))
        return writer.append(kinds.JOIN, Join(deps, self.invite_id, proof, document, home).encode(), timestamp_ms)


def invite(
    writer: LogWriter,
    state: GroupState,
    timestamp_ms: int,
    *,
    role: str,
    expires_ms: int,
    max_uses: int = 1,
    target: bytes | None = None,
    random: Random = os.urandom,
) -> tuple[Entry, InviteSecret]:
    seed = random(32)
    payload = Invite(state.deps(), role, expires_ms, max_uses, target, crypto.ed25519_public_key(seed))
    entry = writer.append(kinds.INVITE, payload.encode(), timestamp_ms)
    return entry, InviteSecret(writer.group_id, entry.entry_id, seed)


def remove(
    writer: LogWriter,
    state: GroupState,
    target: bytes,
    cut: int,
    timestamp_ms: int,
    *,
    ban: bool = False,
    note: str | None = None,
    reason: str | None = None,
    random: Random = os.urandom,
) -> Entry:
    """A removal; ``note`` is sealed to the target, ``reason`` to the current facilitators and the
    remover (spec 12.3, :mod:`holdspace.protocol.removal`)."""
    sealed_note = sealed_reason = None
    if note or reason:
        me = writer.me.public_key
        readers = {k: m.x25519 for k, m in state.members.items() if m.role == FACILITATOR or k == me}
        sealed_note, sealed_reason = seal_removal_words(
            writer.group_id,
            me,
            writer.seq + 1,
            (target, state.members[target].x25519),
            readers,
            note=note,
            reason=reason,
            random=random,
        )
    payload = Remove(state.deps(target), target, cut, ban, sealed_note, sealed_reason)
    return writer.append(kinds.REMOVE, payload.encode(), timestamp_ms)


def close_invite(writer: LogWriter, state: GroupState, invite_id: bytes, timestamp_ms: int) -> Entry:
    """Close an invite: joins through it that this entry has not seen will not stand (spec 12.5)."""
    return writer.append(kinds.CLOSE, Close(state.deps(), invite_id).encode(), timestamp_ms)


def mute(writer: LogWriter, state: GroupState, target: bytes, cut: int, until_ms: int, timestamp_ms: int) -> Entry:
    """Mute ``target``'s group messages after its seq ``cut`` until ``until_ms`` (0 lifts a mute)."""
    return writer.append(kinds.MUTE, Mute(state.deps(target), target, cut, until_ms).encode(), timestamp_ms)


def change_role(writer: LogWriter, state: GroupState, target: bytes, role: str, timestamp_ms: int) -> Entry:
    return writer.append(kinds.ROLE, RoleChange(state.deps(target), target, role).encode(), timestamp_ms)


def leave(writer: LogWriter, state: GroupState, timestamp_ms: int) -> Entry:
    return writer.append(kinds.LEAVE, Leave(state.deps()).encode(), timestamp_ms)


def settings(writer: LogWriter, state: GroupState, history: History, meta: bytes | None, timestamp_ms: int) -> Entry:
    return writer.append(kinds.SETTINGS, Settings(state.deps(), history, meta).encode(), timestamp_ms)


def host(writer: LogWriter, state: GroupState, address: str, timestamp_ms: int, *, add: bool = True) -> Entry:
    """A facilitator adds (or removes, ``add=False``) a host node of the group."""
    return writer.append(kinds.HOST, Host(state.deps(), address, add).encode(), timestamp_ms)
