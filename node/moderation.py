"""An operator's tools over a node directory: tokens that let people start groups here, and the
groups this node hosts (``holdspace node token ...``, ``holdspace node groups ...``).

Tokens live in the node's store (``node.admission``: the hash of each, its record, its uses), so a
running node sees a new or revoked token at its next check, without a reload; the text of a token is
shown once, when it is made. Listing groups reads counters and the last entry of each: the node sees
no group names and no words, so a group is its id, its entry count, its bytes and the time of its
latest entry (its author's clock). Dropping a group deletes its data and needs the node stopped
(a running node keeps what it read of the group in memory); refusing one is a line of ``node.toml``
that a running node takes on SIGHUP.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from holdspace.node.admission import TOKEN_PREFIX, USES_PREFIX, TokenRecord, decode_uses, token_hash, token_text
from holdspace.node.config import KEY, group_text_id, update_refused
from holdspace.node.core import FORK_PREFIX, OTHER_PREFIX, unpack_record
from holdspace.node.federation import CURSOR_PREFIX
from holdspace.node.operations import STORE, OperationError, status
from holdspace.node.store import Store, StoreError
from holdspace.protocol.entry import decode_entry
from holdspace.protocol.errors import HoldspaceError

GROUP_META = (FORK_PREFIX, OTHER_PREFIX, CURSOR_PREFIX)  # what else of a group a drop deletes
MAX_TOKENS = 100_000


def _store(directory: Path) -> Store:
    if not (directory / KEY).exists():
        raise OperationError("node.not_a_node", f"{directory} holds no node (no {KEY})")
    try:
        return Store.open(directory / STORE)
    except StoreError as err:
        raise OperationError("node.store_failed", f"{err.code}: {err.message}") from err


# -- tokens -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: str  # the first 12 hex digits of the token's hash: what 'revoke' takes
    label: str
    uses: int
    max_uses: int | None
    created_ms: int
    expires_ms: int | None

    def state(self, now_ms: int) -> str:
        if self.expires_ms is not None and now_ms >= self.expires_ms:
            return "expired"
        if self.max_uses is not None and self.uses >= self.max_uses:
            return "used up"
        return "valid"


def issue_token(directory: Path, now_ms: int, *, uses: int | None, days: float | None, label: str) -> str:
    """Make a token (32 random bytes), store its hash and record; return its text (shown once)."""
    if len(label) > 200:
        raise OperationError("node.bad_argument", "a token's label has at most 200 characters")
    token = os.urandom(32)
    expires = now_ms + int(days * 86_400_000) if days is not None else None
    record = TokenRecord(now_ms, uses, expires, label)
    with _store(directory) as store:
        store.put_meta(TOKEN_PREFIX + token_hash(token), record.encode())
    return token_text(token)


def list_tokens(directory: Path) -> list[TokenInfo]:
    """Every token not revoked, oldest first."""
    out: list[TokenInfo] = []
    with _store(directory) as store:
        for key, raw in store.meta_items(TOKEN_PREFIX, limit=MAX_TOKENS):
            digest = key[len(TOKEN_PREFIX) :]
            try:
                record = TokenRecord.decode(raw)
            except HoldspaceError:
                continue
            uses = decode_uses(store.get_meta(USES_PREFIX + digest))
            out.append(
                TokenInfo(digest.hex()[:12], record.label, uses, record.max_uses, record.created_ms, record.expires_ms)
            )
    return sorted(out, key=lambda t: t.created_ms)


def revoke_token(directory: Path, token_id: str) -> str:
    """Revoke the one token whose id starts with ``token_id`` (at least 4 hex digits); return its id."""
    prefix = token_id.strip().lower()
    with _store(directory) as store:
        found = [
            k
            for k, _v in store.meta_items(TOKEN_PREFIX, limit=MAX_TOKENS)
            if k[len(TOKEN_PREFIX) :].hex().startswith(prefix)
        ]
        if len(prefix) < 4 or len(found) != 1:
            raise OperationError(
                "node.unknown_token", f"no single token matches {token_id!r} (see 'holdspace node token list')"
            )
        store.delete_meta(found[0])
        store.delete_meta(USES_PREFIX + found[0][len(TOKEN_PREFIX) :])
    return found[0][len(TOKEN_PREFIX) :].hex()[:12]


# -- groups -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GroupInfo:
    id: str  # hsg1...
    entries: int
    bytes: int
    last_entry_ms: int | None  # the timestamp of the latest entry stored, by its author's clock
    refused: bool


def list_groups(directory: Path, refused: frozenset[bytes] = frozenset()) -> list[GroupInfo]:
    """Every group stored here: id, entries, bytes, time of the latest entry; O(1) reads per group."""
    out: list[GroupInfo] = []
    with _store(directory) as store:
        for group in store.groups():
            last = store.last_cursor(group)
            page = store.iter_group(group, last - 1, 1) if last else []
            when = None
            if page:
                header, _payload = unpack_record(page[0][1].raw)
                when = decode_entry(header, None, now_ms=None, verify=False).timestamp_ms
            out.append(
                GroupInfo(group_text_id(group), store.count(group), store.usage(group)[0], when, group in refused)
            )
    return out


def drop_group(directory: Path, group: bytes) -> int:
    """Refuse ``group`` in ``node.toml`` (so it does not come back), then delete everything of it from
    the store; return how many entries were deleted. Refused while the node runs (``node.running``)."""
    if status(directory)["running"]:
        raise OperationError("node.running", "stop the node first (refusing a group works while it runs)")
    with _store(directory) as store:
        if store.count(group) == 0:
            raise OperationError("node.unknown_group", f"this node holds no group {group_text_id(group)}")
        update_refused(directory, refuse=group)
        try:
            return store.drop_group(group, GROUP_META)
        except StoreError as err:
            raise OperationError("node.store_failed", f"{err.code}: {err.message}") from err


__all__ = [
    "GroupInfo",
    "TokenInfo",
    "drop_group",
    "issue_token",
    "list_groups",
    "list_tokens",
    "revoke_token",
]
