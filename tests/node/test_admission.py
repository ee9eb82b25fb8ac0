"""The operator's admission rules and storage budgets, decided by the node core without I/O (spec
14.6, 16.4): who may start a group here, with which token, how many groups, which groups are refused,
and how many bytes a group and the node may hold."""

from __future__ import annotations

from dataclasses import replace
from functools import cache

import pytest

from holdspace.node.admission import (
    TOKEN_PREFIX,
    USES_PREFIX,
    Policy,
    TokenRecord,
    decode_uses,
    encode_uses,
    parse_token,
    token_hash,
    token_text,
)
from holdspace.node.core import NodeCore, pack_record
from holdspace.node.memory_store import MemoryReader
from holdspace.protocol import author, kinds
from holdspace.protocol.entry import Entry
from holdspace.protocol.errors import AdmissionError, HoldspaceError
from tests.group_world import T0, World
from tests.node.core_driver import commit, from_client, hosted, store_all

TOKEN = bytes(range(32))


@cache
def _genesis(n: int) -> Entry:
    genesis, _writer = author.create_group(n.to_bytes(32, "big"), T0)
    return genesis


def _create(core: NodeCore, reader: MemoryReader, genesis: Entry, token: bytes | None = None) -> str | None:
    """A client's genesis with ``token``: None if stored, else the refusal's code."""
    try:
        decision = core.check_entry(
            genesis.raw, genesis.payload, now_ms=T0, authors=frozenset({genesis.author}), token=token
        )
    except HoldspaceError as err:
        return err.code
    commit(core, reader, decision)
    return None


def _issue(reader: MemoryReader, token: bytes, **record: int | None) -> None:
    reader.meta[TOKEN_PREFIX + token_hash(token)] = TokenRecord(T0, **record).encode()  # type: ignore[arg-type]


def test_create_open_token_and_closed() -> None:
    reader = MemoryReader()
    core = NodeCore(reader, Policy(create="closed"))
    assert _create(core, reader, _genesis(1)) == "admission.closed"
    core.policy = Policy(create="token")
    assert _create(core, reader, _genesis(1)) == "admission.token_required"
    assert _create(core, reader, _genesis(1), TOKEN) == "admission.bad_token"  # never issued
    _issue(reader, TOKEN)
    assert _create(core, reader, _genesis(1), TOKEN) is None
    assert reader.groups() == [_genesis(1).entry_id]
    core.policy = Policy(create="open")
    assert _create(core, reader, _genesis(2)) is None


def test_a_single_use_token_starts_one_group_and_an_expired_one_none() -> None:
    reader = MemoryReader()
    core = NodeCore(reader, Policy(create="token"))
    _issue(reader, TOKEN, max_uses=1)
    assert _create(core, reader, _genesis(1), TOKEN) is None
    assert core.token_uses[token_hash(TOKEN)] == 1
    assert _create(core, reader, _genesis(2), TOKEN) == "admission.token_used_up"
    assert _create(core, reader, _genesis(1), TOKEN) is None  # the same genesis again: a duplicate, free
    other = bytes(32)
    _issue(reader, other, expires_ms=T0)
    assert _create(core, reader, _genesis(3), other) == "admission.token_expired"


def test_uses_stored_before_a_restart_count_and_a_failed_write_gives_its_use_back() -> None:
    reader = MemoryReader()
    _issue(reader, TOKEN, max_uses=2)
    reader.meta[USES_PREFIX + token_hash(TOKEN)] = encode_uses(1)  # written by the node before it stopped
    core = NodeCore(reader, Policy(create="token"))
    g = _genesis(1)
    decision = core.check_entry(g.raw, g.payload, now_ms=T0, authors=frozenset({g.author}), token=TOKEN)
    core.reserve(decision)
    assert _create(core, reader, _genesis(2), TOKEN) == "admission.token_used_up"  # the last use is taken
    core.aborted(decision)
    assert _create(core, reader, _genesis(2), TOKEN) is None
    assert decode_uses(encode_uses(core.token_uses[token_hash(TOKEN)])) == 2


def test_a_revoked_token_admits_nobody() -> None:
    reader = MemoryReader()
    core = NodeCore(reader, Policy(create="token"))
    _issue(reader, TOKEN)
    del reader.meta[TOKEN_PREFIX + token_hash(TOKEN)]  # 'node token revoke' deletes the record
    assert _create(core, reader, _genesis(1), TOKEN) == "admission.bad_token"


def test_token_text_round_trips_and_bad_text_is_typed() -> None:
    assert parse_token(token_text(TOKEN)) == TOKEN
    for bad in ("", "hstoken:", "hstoken:abc", token_text(TOKEN)[8:], "hstoken:" + "*" * 43):
        with pytest.raises(AdmissionError) as err:
            parse_token(bad)
        assert err.value.code == "admission.bad_token"


def test_max_groups_counts_groups_held_and_arriving() -> None:
    reader = MemoryReader()
    core = NodeCore(reader, Policy(max_groups=2))
    assert _create(core, reader, _genesis(1)) is None
    core.admit_invitation(b"\x07" * 32, added_peer=False)  # a peer's invitation: arriving
    assert _create(core, reader, _genesis(2)) == "admission.max_groups"
    with pytest.raises(AdmissionError) as err:
        core.admit_adopt(b"\x08" * 32, None, T0)
    assert err.value.code == "admission.max_groups"
    core.invitation_ended(b"\x07" * 32)
    assert _create(core, reader, _genesis(2)) is None
    assert _create(core, reader, _genesis(1)) is None  # held already: a duplicate


def test_federate_any_peers_none() -> None:
    core = NodeCore(MemoryReader(), Policy(federate="peers"))
    group = b"\x05" * 32
    with pytest.raises(AdmissionError) as err:
        core.admit_invitation(group, added_peer=False)
    assert err.value.code == "admission.peer_refused"
    core.admit_invitation(group, added_peer=True)
    core.policy = Policy(federate="none")
    with pytest.raises(AdmissionError) as err:
        core.admit_invitation(b"\x06" * 32, added_peer=True)
    assert err.value.code == "admission.peer_refused"
    core.policy = Policy(federate="any", refused=frozenset({b"\x06" * 32}))
    with pytest.raises(AdmissionError) as err:
        core.admit_invitation(b"\x06" * 32, added_peer=True)
    assert err.value.code == "admission.group_refused"


def test_adopt_takes_a_token_use_and_gives_it_back_if_the_join_was_not_stored() -> None:
    reader = MemoryReader()
    _issue(reader, TOKEN, max_uses=1)
    core = NodeCore(reader, Policy(create="token"))
    group = b"\x09" * 32
    with pytest.raises(AdmissionError):
        core.admit_adopt(group, None, T0)
    spend = core.admit_adopt(group, TOKEN, T0)
    assert spend == token_hash(TOKEN) and core.token_uses[spend] == 1
    core.adopt_ended(group, spend, stored=False)
    assert core.token_uses[spend] == 0 and not core.arriving


def test_a_refused_group_is_neither_stored_nor_served_from_clients_or_peers() -> None:
    w = World()
    w.add("ana")
    w.rekey("founder")
    w.deliver_keys()
    core, reader = hosted(w)
    core.policy = Policy(refused=frozenset({w.group_id}))
    message = w.say("ana", "hello")
    assert from_client(core, reader, message, w.clock) == "admission.group_refused"
    with pytest.raises(AdmissionError):
        core.check_entry(message.raw, message.payload, now_ms=w.clock, authors=None)
    peer = b"\x01" * 32
    assert core.serve_refusal(w.group_id, peer) == "admission.group_refused"
    assert w.group_id not in core.all_hosts()
    assert not core.serves(w.group_id, peer)


def test_a_full_group_refuses_messages_and_joins_but_stores_what_governs_and_deletes() -> None:
    w = World()
    w.add("ana")
    w.add("bo")
    w.rekey("founder")
    w.deliver_keys()
    core, reader = hosted(w)
    used, _ = reader.usage(w.group_id)
    core.policy = Policy(max_group_bytes=used + 600)
    assert from_client(core, reader, w.say("ana", "a few words"), w.clock) is None  # fits
    codes = [from_client(core, reader, w.say("ana", "more words"), w.clock) for _ in range(4)]
    assert "quota.group_full" in codes
    assert reader.usage(w.group_id)[0] <= used + 600  # never past the budget by a message
    # a removal is stored over budget: a full group stays governable
    removal = w.remove("founder", "bo")
    assert from_client(core, reader, removal, w.clock) is None
    # a peer's message waits too (federation holds it and offers it again)
    with pytest.raises(HoldspaceError) as err:
        core.check_entry(*_relayed(w.say("founder", "from elsewhere")), now_ms=w.clock, authors=None)
    assert err.value.code == "quota.group_full"


def _relayed(entry: Entry) -> tuple[bytes, bytes | None]:
    return entry.raw, entry.payload


def test_the_node_budget_counts_every_group_and_what_is_being_written() -> None:
    reader = MemoryReader()
    core = NodeCore(reader)
    store_all(core, reader, [_genesis(1)], T0)
    node_bytes = reader.usage(b"")[1]
    size = len(pack_record(_genesis(2)))
    core.policy = Policy(max_node_bytes=node_bytes + size)
    g2 = _genesis(2)
    decision = core.check_entry(g2.raw, g2.payload, now_ms=T0, authors=frozenset({g2.author}))
    core.reserve(decision)  # being written: counted
    assert _create(core, reader, _genesis(3)) == "quota.node_full"
    reader.append([decision.record])
    core.committed(decision)  # written: counted by the store's counter instead
    assert core.reserved_bytes == {}
    assert _create(core, reader, _genesis(3)) == "quota.node_full"
    core.policy = replace(core.policy, max_node_bytes=None)
    assert _create(core, reader, _genesis(3)) is None


def test_budgets_cost_nothing_when_unset_and_a_control_kind_is_never_refused() -> None:
    from holdspace.node.admission import BUDGETED_KINDS, Usage, check_budget

    for kind in kinds.CONTROL_KINDS - BUDGETED_KINDS:
        check_budget(Policy(max_group_bytes=1, max_node_bytes=1), kind, 10**6, Usage(10**9, 10**9))
    assert {kinds.MESSAGE, kinds.DIRECT, kinds.JOIN, kinds.INVITE, kinds.GENESIS} == BUDGETED_KINDS
