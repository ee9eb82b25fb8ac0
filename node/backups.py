"""Identity backups kept on the home node (spec 14.8): the node's decisions, without I/O.

A backup is an opaque sealed blob (the backup file of 14.7) held under a 32-byte **backup id** that
only the holder of the recovery key can compute; the node never learns whose it is from the id. It
stores one per id, replaced atomically, at most :data:`MAX_STORED_BACKUP` bytes, counted in the node's
byte budget (``node.admission``), and refuses puts past a per-pseudonym rate.

:func:`check_put` lists every condition a ``backup_put`` must meet; the runtime writes the backup
durably (``Store.put_backup``) only after it passed, and answers once the write is durable.
"""

from __future__ import annotations

from holdspace.node.admission import Policy, Usage
from holdspace.node.rates import PublishRates
from holdspace.protocol.backup import BackupError
from holdspace.protocol.errors import QuotaError
from holdspace.protocol.frames import ProtocolError

MAX_STORED_BACKUP = 64 * 1024  # bytes of one backup held by a node (spec 14.8)
BACKUP_RATE = 1 / 60  # puts per second per pseudonym (one a minute) ...
BACKUP_BURST = 10.0  # ... after a burst of ten


def backup_rates() -> PublishRates:
    """The node-wide put buckets, one per pseudonym (least recently used evicted)."""
    return PublishRates(BACKUP_RATE, BACKUP_BURST)


def check_put(
    *,
    authors: frozenset[bytes],
    members: frozenset[bytes],
    size: int,
    replaced: int,
    usage: Usage,
    policy: Policy,
    rates: PublishRates,
    now: float,
) -> bytes:
    """Whether a ``backup_put`` of ``size`` bytes may be stored; returns the pseudonym charged.

    ``authors``: the pseudonyms authenticated on the session; ``members``: those of them that are
    current members of the group the request names (the caller found the node hosts it, else
    ``proto.unknown_group``); ``replaced``: the size of the backup held under the id now. Checked, in
    order: a pseudonym is authenticated (``proto.unauthenticated``); the backup is at most
    :data:`MAX_STORED_BACKUP` bytes (``backup.node_too_large``); one authenticated pseudonym is a current
    member (``proto.forbidden``); the smallest such pseudonym's put rate allows one more
    (``proto.rate_limited``, one token spent otherwise); the node's byte budget holds the backup in
    place of the one it replaces (``quota.node_full``)."""
    if not authors:
        raise ProtocolError("proto.unauthenticated", "authenticate a pseudonym before storing a backup")
    if size > MAX_STORED_BACKUP:
        raise BackupError("backup.node_too_large", f"a backup kept on a node is at most {MAX_STORED_BACKUP} bytes")
    if not members:
        raise ProtocolError("proto.forbidden", "only a current member of a group this node hosts may store a backup")
    charged = min(members)
    if not rates.bucket(charged, now).take(now):
        raise ProtocolError("proto.rate_limited", "backups are stored at most once a minute per pseudonym")
    if policy.max_node_bytes is not None and usage.node + size - replaced > policy.max_node_bytes:
        raise QuotaError("quota.node_full", "this node has no room for the backup")
    return charged
