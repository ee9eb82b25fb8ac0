"""Entries a peer sends before their dependency are held and stored once it arrives (spec 12.6 step 1,
16.5): never dropped for good, never a strike while they wait; past the documented bound, strikes."""

from __future__ import annotations

import os
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import nacl.signing
import pytest

from holdspace.node import federation as federation_module
from holdspace.node.federation import Federation, Held
from holdspace.node.peering import PeerBook
from holdspace.node.server import Node, now_ms, open_node
from holdspace.node.transport.base import Connection
from holdspace.protocol import author, kinds
from holdspace.protocol.address import NodeAddress
from holdspace.protocol.entry import Entry
from holdspace.protocol.group import compute_state
from holdspace.protocol.identity import Pseudonym, group_context
from holdspace.protocol.payloads import MEMBER, MessageEnvelope

ENVELOPE = MessageEnvelope(b"\x01" * 32, 0, b"\x02" * 24, b"\x03" * 40, commitment=bytes(32)).encode()
PEER = bytes(nacl.signing.SigningKey(b"\x07" * 32).verify_key)


class Stream:
    """Where the puller reports refusals back to the peer (recorded, never sent)."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    async def send(self, data: bytes) -> None:
        self.sent.append(data)


def no_connect(address: NodeAddress) -> AbstractAsyncContextManager[Connection]:
    raise AssertionError("no connection is made here")


async def group_on(node: Node) -> tuple[Entry, list[Entry], list[Entry]]:
    """A group held by ``node`` (genesis, an invite), and entries held back from it: ana's join, then the
    founder's next invite naming that join and the founder's message after it."""
    genesis, founder = author.create_group(os.urandom(32), now_ms())
    first, secret = author.invite(
        founder, compute_state(genesis, []), now_ms(), role=MEMBER, expires_ms=now_ms() + 10**7
    )
    for entry in (genesis, first):
        await node.publish(entry.raw, entry.payload, frozenset({founder.me.public_key}))
    ana = author.LogWriter(Pseudonym.derive(os.urandom(32), group_context(genesis.entry_id)), genesis.entry_id)
    join = secret.join(ana, now_ms())
    state = compute_state(genesis, [first, join])
    second, _ = author.invite(founder, state, now_ms(), role=MEMBER, expires_ms=now_ms() + 10**7)
    message = founder.append(kinds.MESSAGE, ENVELOPE, now_ms())
    return genesis, [join], [second, message]


def items(entries: list[Entry], start: int) -> Held:
    return [(start + i, e.raw, e.payload) for i, e in enumerate(entries)]


async def test_an_entry_ahead_of_its_dependency_is_held_then_stored(tmp_path: Path) -> None:
    async with open_node(tmp_path / "n", nacl.signing.SigningKey(b"\x01" * 32)) as node:
        fed = Federation(node, PeerBook(node.public_key), no_connect)
        genesis, later, early = await group_on(node)
        gid = genesis.entry_id
        held: dict[bytes, Held] = {}
        stream = Stream()
        await fed._ingest_held(PEER, stream, gid, items(early, 10), held)  # type: ignore[arg-type]
        assert [h[0] for h in held[gid]] == [10, 11]  # the invite (missing its join) and the message after it
        assert not any(node.store.has(e.entry_id) for e in early)
        assert not fed.book.strikes and not stream.sent
        await fed._ingest_held(PEER, stream, gid, held[gid] + items(later, 5), held)  # type: ignore[arg-type]
        assert held[gid] == []
        assert all(node.store.has(e.entry_id) for e in early + later)
        assert not fed.book.strikes


async def test_past_the_bound_a_waiting_entry_is_refused_with_a_strike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(federation_module, "MAX_HELD", 1)
    async with open_node(tmp_path / "n", nacl.signing.SigningKey(b"\x01" * 32)) as node:
        fed = Federation(node, PeerBook(node.public_key), no_connect)
        genesis, _later, early = await group_on(node)
        held: dict[bytes, Held] = {}
        stream = Stream()
        await fed._ingest_held(PEER, stream, genesis.entry_id, items(early, 10), held)  # type: ignore[arg-type]
        assert len(held[genesis.entry_id]) == 1 and len(stream.sent) == 1  # the message did not fit
        assert len(fed.book.strikes[PEER]) == 1
