"""A client's control entry that did not see every head is refused (spec 12.6 step 3,
``group.stale_deps``) and the client signs the same operation again, at the same log position, on a
fresh fetch: a real node over QUIC."""

from __future__ import annotations

from pathlib import Path

from holdspace.node.core import from_record
from holdspace.protocol import crypto, kinds
from holdspace.protocol.payloads import Redact, decode_payload
from tests.node.test_outbox import fay_and_ana
from tests.node.test_support import sessions


async def test_a_stale_control_entry_is_signed_again_on_a_fresh_fetch(tmp_path: Path) -> None:
    async with sessions(tmp_path) as (node, address, s_fay, s_ana, _):
        (fay, group), (ana, g_ana) = await fay_and_ana(tmp_path, address, s_fay, s_ana)
        stale_view = g_ana.state
        assert stale_view is not None
        await fay.invite(s_fay, group)  # a control entry Ana has not seen
        invite_id = node.core.state(group.group_id).order[-1]
        me = ana.pseudonym(g_ana).public_key
        target = (crypto.blake2b_256(b"a message of hers"),)
        entry = ana.writer(g_ana).append(kinds.REDACT, Redact(stale_view.deps(), me, target).encode(), ana.clock())
        assert invite_id not in decode_payload(entry.kind, entry.payload or b"", me).deps  # type: ignore[union-attr]

        await ana._publish(s_ana, g_ana, entry)

        stored = node.store.get_at(group.group_id, me, entry.seq)
        assert stored is not None and stored.entry_id != entry.entry_id  # signed again, same position
        payload = decode_payload(kinds.REDACT, from_record(stored).payload or b"", me)
        assert isinstance(payload, Redact) and payload.ids == target and invite_id in payload.deps
        assert g_ana.seq == entry.seq and g_ana.pending is None
