"""A group started by the browser client, read by the Python client's protocol code: the browser's
Node tests (``clients/web/test/groups.test.ts``) write its entries and its creator's master secret to
``build/started-group.json``; :func:`check_started_group` checks that every entry verifies, that the
genesis is the one the Python client makes (12.2: history ``joined``, the home node as first host,
the creator's pseudonym derived with ``"genesis:" || n``), that the creator is the group's
facilitator with the newcomer a member, and that the group's profile (17.12), sealed in the first
epoch, opens to the name and description the browser was given."""

from __future__ import annotations

import json
from pathlib import Path

from holdspace.protocol import e2ee, kinds
from holdspace.protocol.content import Profile, decode_content
from holdspace.protocol.entry import decode_entry
from holdspace.protocol.group import compute_state
from holdspace.protocol.identity import Pseudonym, genesis_context
from holdspace.protocol.payloads import Genesis, Rekey, decode_envelope, decode_payload


def check_started_group(path: Path) -> None:
    made = json.loads(path.read_text())
    entries = [
        decode_entry(bytes.fromhex(h), None if p is None else bytes.fromhex(p), now_ms=None) for h, p in made["entries"]
    ]
    genesis = entries[0]
    assert genesis.kind == kinds.GENESIS and genesis.seq == 1 and genesis.group == bytes(32)
    payload = decode_payload(kinds.GENESIS, genesis.payload or b"", genesis.author)
    assert isinstance(payload, Genesis)
    assert payload.history == "joined" and payload.home == made["node"]
    creator = Pseudonym.derive(bytes.fromhex(made["master"]), genesis_context(payload.nonce))
    assert creator.public_key == genesis.author
    assert all(e.group == genesis.entry_id for e in entries[1:])
    state = compute_state(genesis, [e for e in entries[1:] if kinds.is_control(e.kind)])
    assert state.role_of(creator.public_key) == "facilitator"
    assert sorted(state.role_of(k) for k in state.members) == ["facilitator", "member"]
    assert list(state.hosts.values()) == [made["node"]]
    keys = e2ee.GroupKeys(genesis.entry_id, creator)
    by_id = {e.entry_id: e for e in entries}
    for epoch in state.epochs:
        rekey = decode_payload(kinds.REKEY, by_id[epoch.entry_id].payload or b"", epoch.author)
        assert isinstance(rekey, Rekey)
        assert keys.open_rekey(epoch, rekey)
    messages = [e for e in entries if e.kind in kinds.MESSAGE_KINDS]
    first = messages[0]
    content = decode_content(keys.decrypt(first.author, first.seq, decode_envelope(first.payload or b"")))
    assert content == Profile(made["name"], made["description"], None)
