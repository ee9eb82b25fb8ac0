"""Recovery: a recovery key shown once as words, and the identity backup sealed under it (spec 14.7).

The recovery key itself is never stored: only the key derived from it that seals backups
(``Participant.backup_key``, in the key file), so a fresh backup can be written after every change
without showing the words again. A backup is written to a file, or kept on the home node (spec 14.8)
under a backup id derived from the backup key, which names no pseudonym.

Invariants: a backup holds the master secret, the home node and the memberships (group id, pseudonym
context, name, hosts, log position), never a message; restoring creates a new home whose history is
empty and fetched again from the nodes.
"""

from __future__ import annotations

import os
from pathlib import Path

from holdspace.clients.client import NodeSession
from holdspace.clients.participant import ClientError, GroupRecord, Participant, write_private
from holdspace.protocol import backup as bk
from holdspace.protocol import e2ee
from holdspace.protocol.address import NodeAddress
from holdspace.protocol.errors import HoldspaceError
from holdspace.protocol.identity import Pseudonym

BACKUP_FILE = "holdspace.backup"


def make_recovery_key(me: Participant, *, replace: bool = False) -> list[str]:
    """A new recovery key as words, to be shown once; its backup key is kept and the key file saved.

    ``client.recovery_shown`` if one was made already and ``replace`` is not set (the words are not
    kept, so they cannot be shown again; replacing makes older backup files unopenable with new words).
    """
    if me.backup_key is not None and not replace:
        raise ClientError(
            "client.recovery_shown",
            "your recovery key was shown once already and is not kept; make a new one with --new",
        )
    key = bk.new_recovery_key(os.urandom)
    me.backup_key = bk.backup_key(key)
    me.save()
    return bk.recovery_words(key)


def backup_of(me: Participant) -> bk.Backup:
    """What a backup of ``me`` holds (no message, no history key)."""
    groups = tuple(
        bk.Membership(r.group_id, r.context, r.name, tuple(r.hosts), r.seq, r.prev) for r in me.groups.values()
    )
    return bk.Backup(me.master, str(me.node) if me.node else None, groups)


def write_backup(me: Participant, path: Path) -> int:
    """Seal ``me``'s backup under its backup key into ``path`` (mode 0600, replaced atomically);
    returns its size. ``client.no_recovery_key`` if no recovery key was made yet."""
    if me.backup_key is None:
        raise ClientError("client.no_recovery_key", "make a recovery key first: holdspace recovery show-key")
    sealed = bk.seal_backup(me.backup_key, backup_of(me), os.urandom)
    write_private(path, sealed)
    return len(sealed)


def sealed_backup(me: Participant) -> bytes:
    """``me``'s backup sealed under its backup key (``client.no_recovery_key`` if none was made)."""
    if me.backup_key is None:
        raise ClientError("client.no_recovery_key", "make a recovery key first: holdspace recovery show-key")
    return bk.seal_backup(me.backup_key, backup_of(me), os.urandom)


def backup_candidates(me: Participant, node_key: bytes) -> list[GroupRecord]:
    """``me``'s groups in the order :func:`store_on_node` tries them on the node ``node_key``: those
    whose invite named that node first, then the rest, each by group id."""

    def named_here(record: GroupRecord) -> bool:
        for host in record.hosts:
            try:
                if NodeAddress.parse(host).node_key == node_key:
                    return True
            except HoldspaceError:
                continue
        return False

    return sorted(me.groups.values(), key=lambda r: (not named_here(r), r.group_id))


async def store_on_node(me: Participant, session: NodeSession) -> int:
    """Keep ``me``'s backup on the node of ``session`` (spec 14.8); returns its size.

    The node keeps backups for current members of groups it hosts: the groups are tried in turn,
    each by authenticating its pseudonym and sending ``backup_put``, until the node stores it. Every
    pseudonym tried is seen together on one session, so the order keeps that to one most of the
    time: first the groups whose invite named this node, then the others, each set by group id (the
    same group every time, while the memberships stay). A refusal that no other group changes
    (``backup.*``, ``quota.*``, ``proto.rate_limited``) is raised at once; ``proto.forbidden`` or
    ``proto.unknown_group`` for every group, or no group, is ``client.not_member``."""
    sealed = sealed_backup(me)
    assert me.backup_key is not None
    backup_id = bk.backup_id(me.backup_key)
    for record in backup_candidates(me, session.node_key):
        await session.authenticate(me.pseudonym(record))
        try:
            await session.request("backup_put", b=backup_id, g=record.group_id, data=sealed)
        except HoldspaceError as err:
            if err.code in ("proto.forbidden", "proto.unknown_group", "admission.group_refused"):
                continue
            raise
        return len(sealed)
    raise ClientError("client.not_member", "the node keeps backups only for members of a group it hosts")


async def fetch_from_node(session: NodeSession, words: str) -> bytes:
    """The backup the node of ``session`` keeps for the recovery key ``words`` (``recovery.*`` for
    words that do not check; ``proto.not_found`` if it keeps none). Needs no pseudonym."""
    backup_id = bk.backup_id(bk.backup_key(bk.parse_words(words)))
    found = (await session.request("backup_get", b=backup_id)).get("data")
    if not isinstance(found, bytes):
        raise HoldspaceError("proto.malformed_frame", "the node's backup_get answer has no data")
    return found


def restore(home: Path, passphrase: str, words: str, sealed: bytes) -> Participant:
    """A new home in ``home`` holding the identity and memberships of the backup ``sealed``, opened
    with the recovery key ``words`` (``recovery.*`` for words that do not check, ``backup.*`` for a
    backup that does not open). The same recovery key keeps sealing later backups."""
    key = bk.backup_key(bk.parse_words(words))
    backup = bk.open_backup(key, sealed)
    node = NodeAddress.parse(backup.node) if backup.node else None
    me = Participant.create(home, passphrase, node, master=backup.master)
    for g in backup.groups:
        record = GroupRecord(g.group_id, g.context, g.name, g.seq, g.prev, hosts=list(g.hosts))
        record.keys = e2ee.GroupKeys(g.group_id, Pseudonym.derive(backup.master, g.context))
        me.groups[g.group_id] = me._attach(record)
    me.backup_key = key
    me.save()
    return me
