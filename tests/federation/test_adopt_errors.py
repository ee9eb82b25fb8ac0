"""``adopt`` (a join of a group hosted elsewhere) refuses bad input with its typed code, and reports
hosts it cannot reach as ``fed.unreachable`` (an unsettled answer: the client keeps its join)."""

import os
from dataclasses import replace
from pathlib import Path

import nacl.signing
import pytest

from holdspace.clients.client import connect
from holdspace.node.limits import NodeLimits, default_transport_limits
from holdspace.protocol import author
from holdspace.protocol.address import NodeAddress
from holdspace.protocol.errors import HoldspaceError
from holdspace.protocol.group import compute_state
from holdspace.protocol.identity import Pseudonym
from holdspace.protocol.payloads import MEMBER
from tests.federation.conftest import federated_node, free_udp_port

NOW = 1_764_000_000_000


def elsewhere() -> NodeAddress:
    """A node where nothing listens."""
    key = nacl.signing.SigningKey(os.urandom(32)).verify_key
    return NodeAddress(bytes(key), "127.0.0.1", free_udp_port())


async def refused(session, code: str, **fields) -> None:
    with pytest.raises(HoldspaceError) as err:
        await session.request("adopt", **fields)
    assert err.value.code == code, err.value


async def test_adopt_refuses_bad_input_with_its_code(tmp_path: Path) -> None:
    limits = NodeLimits(transport=replace(default_transport_limits(), handshake_timeout=1.0))
    async with federated_node(tmp_path / "b", b"\x02" * 32, limits=limits) as b:
        host = elsewhere()
        genesis, founder = author.create_group(os.urandom(32), NOW, home=str(host))
        _, secret = author.invite(founder, compute_state(genesis, []), NOW + 1, role=MEMBER, expires_ms=NOW + 10**12)
        me = Pseudonym.generate()
        join_here = secret.join(author.LogWriter(me, genesis.entry_id), NOW + 2, home=str(b.address))
        join_other = secret.join(author.LogWriter(me, genesis.entry_id), NOW + 2, home=str(elsewhere()))
        async with connect(b.address) as s:
            # before authenticating the joiner
            await refused(s, "proto.unauthenticated", e=join_here.raw, b=join_here.payload, hosts=[str(host)])
            await s.authenticate(me)
            await refused(s, "proto.malformed_frame", e=join_here.raw, b=join_here.payload, hosts=[])
            await refused(s, "proto.malformed_frame", e=join_here.raw, b=join_here.payload, hosts=[7])
            bad_port = str(host).rsplit(":", 1)[0] + ":0"
            await refused(s, "address.malformed", e=join_here.raw, b=join_here.payload, hosts=[bad_port])
            await refused(s, "identity.bad_text_id", e=join_here.raw, b=join_here.payload, hosts=["holdspace://x@y:1"])
            # not a join; a join naming another home node
            await s.authenticate(founder.me)
            await refused(s, "proto.malformed_frame", e=genesis.raw, b=genesis.payload, hosts=[str(host)])
            await refused(s, "fed.not_host", e=join_other.raw, b=join_other.payload, hosts=[str(host)])
            # a well-formed join whose hosts cannot be reached
            await refused(s, "fed.unreachable", e=join_here.raw, b=join_here.payload, hosts=[str(host)])
        assert not b.node.store.has(join_here.entry_id) and not b.node.core.hosts(genesis.entry_id)
