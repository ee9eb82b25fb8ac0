"""End-to-end encryption: what a removed member, a node, or a thief of a later state can read."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from holdspace.protocol import crypto, e2ee, kinds
from holdspace.protocol.errors import CryptoError, E2eeError, HoldspaceError
from holdspace.protocol.payloads import decode_envelope, decode_payload
from tests.group_world import World


def conversation() -> tuple[World, list, list]:
    w = World()
    w.add("ana")
    w.add("bo")
    w.rekey("founder")
    w.deliver_keys()
    before = [
        w.say("ana", "I lost my dad in March."),
        w.say("bo", "I'm so sorry."),
        w.say("founder", "Welcome."),
    ]
    w.remove("founder", "bo")
    w.rekey("founder")
    w.deliver_keys()
    after = [w.say("ana", "Thank you for listening."), w.say("founder", "Same time next week.")]
    return w, before, after


def test_members_read_each_other() -> None:
    w, before, after = conversation()
    assert w.read("founder", before[0]) == "I lost my dad in March."
    assert w.read("ana", before[1]) == "I'm so sorry."
    assert w.read("ana", after[1]) == "Same time next week."


def test_removed_member_with_every_stored_byte_reads_nothing_after_removal() -> None:
    w, before, after = conversation()
    bo = w.people["bo"]
    assert w.read("bo", before[0]) == "I lost my dad in March."  # bo was there then
    # bo gets every byte any node holds: all headers and payloads
    latest = w.state().current_epoch
    assert latest is not None and bo.key not in latest.recipients
    rekey = decode_payload(kinds.REKEY, w.entries[latest.entry_id].payload, latest.author)
    assert not bo.keys.open_rekey(latest, rekey)
    for _, sealed in rekey.sealed:  # try every sealed box with bo's secret
        with pytest.raises(CryptoError):
            crypto.seal_open(bo.writer.me.x_secret, sealed)
    for message in after:
        with pytest.raises(E2eeError) as err:
            w.read("bo", message)
        assert err.value.code == "e2ee.unknown_epoch"
    # and with every epoch key bo ever held, no post-removal ciphertext opens
    for message in after:
        envelope = decode_envelope(message.payload)
        for epoch in bo.keys.epochs.values():
            for chain in epoch.chains.values():
                probe = e2ee.Chain(chain.key, chain.next_index)
                for index in range(envelope.index + 3):
                    try:
                        mk = probe.message_key(index) if index >= probe.next_index else None
                    except E2eeError:
                        continue
                    if mk is None:
                        continue
                    with pytest.raises(CryptoError):
                        crypto.aead_decrypt(mk, envelope.nonce, envelope.ciphertext, b"")


def test_node_data_holds_no_plaintext_and_no_epoch_key() -> None:
    w, before, after = conversation()
    blob = b"".join(e.raw + (e.payload or b"") for e in w.entries.values())
    for text in ["I lost my dad", "so sorry", "Thank you for listening", "Same time"]:
        assert text.encode() not in blob
    for person in w.people.values():
        for epoch in person.keys.epochs.values():
            for chain in epoch.chains.values():
                assert chain.key not in blob
    assert all(len(decode_envelope(m.payload).ciphertext) in {b + 16 for b in e2ee.BUCKETS} for m in before + after)


def test_a_key_stolen_later_cannot_decrypt_earlier_messages() -> None:
    import copy

    w, before, _ = conversation()
    assert w.read("founder", before[0]) == "I lost my dad in March."
    stolen = copy.deepcopy(w.people["founder"].keys)  # the whole key state, copied after reading
    with pytest.raises(E2eeError) as err:
        stolen.decrypt(before[0].author, before[0].seq, decode_envelope(before[0].payload))
    assert err.value.code == "e2ee.ratchet_window"


def test_tampered_ciphertext_is_rejected_without_advancing_the_chain() -> None:
    w = World()
    w.add("ana")
    w.rekey("founder")
    w.deliver_keys()
    msg = w.say("ana", "hello")
    envelope = decode_envelope(msg.payload)
    forged = e2ee.MessageEnvelope(
        envelope.epoch,
        envelope.index,
        envelope.nonce,
        envelope.ciphertext[:-1] + b"\x00",
        commitment=envelope.commitment,
    )
    with pytest.raises(CryptoError):
        w.people["founder"].keys.decrypt(msg.author, msg.seq, forged)
    assert w.read("founder", msg) == "hello"
    # moving the ciphertext to another seq breaks the associated data
    w2 = World()
    w2.add("ana")
    w2.rekey("founder")
    w2.deliver_keys()
    m = w2.say("ana", "bound")
    with pytest.raises(CryptoError):
        w2.people["founder"].keys.decrypt(m.author, m.seq + 1, decode_envelope(m.payload))


def test_post_compromise_update_heals() -> None:
    """A thief who copied ana's whole state reads nothing after ana publishes an update."""
    import copy

    from holdspace.protocol.identity import Pseudonym, verify_identity_document

    w = World()
    ana = w.add("ana")
    w.rekey("founder")
    w.deliver_keys()
    stolen_secret = ana.writer.me.x_secret
    thief = copy.deepcopy(ana.keys)
    # ana rotates her X25519 key and moves the group to a fresh epoch
    fresh = Pseudonym.from_secrets(ana.writer.me.seed, b"\x42" * 32)
    document = verify_identity_document(fresh.identity_document(w.tick()))
    state = w.view("ana")
    key = e2ee.new_epoch_key()
    payload = e2ee.make_rekey(state, state.heads, ana.writer.me, key, new_document=document)
    entry = w.publish("ana", ana.writer.append(kinds.REKEY, payload.encode(), w.tick()))
    assert w.state().outcomes[entry.entry_id] is None
    ana.keys.me = fresh
    ana.writer.me = fresh
    w.deliver_keys()
    secret = w.say("founder", "after the update")
    assert w.read("ana", secret) == "after the update"
    with pytest.raises(HoldspaceError):
        thief.decrypt(secret.author, secret.seq, decode_envelope(secret.payload))
    for _, sealed in payload.sealed:
        with pytest.raises(CryptoError):
            crypto.seal_open(stolen_secret, sealed)


@given(st.binary(max_size=5000))
def test_padding_round_trip_and_buckets(data: bytes) -> None:
    padded = e2ee.pad(data)
    assert len(padded) in e2ee.BUCKETS
    assert e2ee.unpad(padded) == data


def test_padding_rejections() -> None:
    with pytest.raises(E2eeError):
        e2ee.pad(b"x" * (e2ee.MAX_PLAINTEXT + 1))
    with pytest.raises(E2eeError):
        e2ee.unpad(b"\x00" * 64)
    with pytest.raises(E2eeError):
        e2ee.unpad(b"abc")


def test_ratchet_window_bounds() -> None:
    chain = e2ee.Chain(b"\x01" * 32)
    with pytest.raises(E2eeError):
        chain.message_key(e2ee.MAX_SKIP + 1)
    k5 = chain.message_key(5)
    assert chain.message_key(2) != k5  # skipped keys stay available once
    with pytest.raises(E2eeError):
        chain.message_key(2)
