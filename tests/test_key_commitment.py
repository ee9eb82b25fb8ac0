"""One signed entry opens to one text (spec 13.4-13.6, "Key commitment").

The attack: XChaCha20-Poly1305 does not commit to its key, so an author can craft one ciphertext that
opens under two keys to two different plaintexts (``tests.two_faced``), sign it once, and then

* for a group message, later disclose the second key (in a quote, or to a moderator) and "prove" it
  wrote words that its readers never saw; and
* for a direct message, seal one key to one recipient and the other key to another, so that two
  moderators read two different plaintexts of one report.

The key commitment ``k`` in the signed payload admits one key: every reader and every disclosure check
refuses the other.
"""

from __future__ import annotations

import hashlib

import pytest

from holdspace.protocol import crypto, e2ee, kinds
from holdspace.protocol.content import Disclosure, Text, decode_content, encode_content, verify_disclosure
from holdspace.protocol.errors import ContentError, E2eeError, HoldspaceError
from holdspace.protocol.payloads import DirectEnvelope, MessageEnvelope, decode_direct, decode_envelope
from tests import two_faced
from tests.group_world import World

BODY = "I only said that I was sorry. " + "-" * 21  # 51 bytes: a 63-byte text map, bytes 16..47 are body


def words() -> bytes:
    raw = encode_content(Text(BODY))
    assert len(raw) == two_faced.SIZE - 1 and raw[5:56] == BODY.encode()
    return raw


def world() -> World:
    w = World()
    w.add("ana")
    w.add("bo")
    w.rekey("founder")
    w.deliver_keys()
    return w


def test_the_pure_python_poly1305_keys_match_libsodium() -> None:
    key, nonce, ad = b"\x01" * 32, b"\x02" * 24, b"ad"
    sealed = crypto.aead_encrypt(key, nonce, b"\x03" * 64, ad)
    subkey = two_faced.hchacha20(key, nonce[:16])
    block = two_faced.chacha20_block(subkey, 1, bytes(4) + nonce[16:])
    assert block == two_faced.keystream(key, nonce, 64, ad)
    r, s = two_faced.poly1305_key(key, nonce)
    assert two_faced.poly1305(r, s, two_faced._blocks(ad, sealed[:-16])).to_bytes(16, "little") == sealed[-16:]


def test_a_two_faced_ciphertext_opens_under_two_keys_at_the_aead_layer() -> None:
    """The premise: without a commitment, one signed ciphertext has two plaintexts."""
    k1 = hashlib.blake2b(b"k1", digest_size=32).digest()
    nonce, ad = b"\x07" * 24, b"holdspace/v1/direct\x00" + bytes(72)
    k2 = two_faced.second_key(k1, nonce, ad, b"k2")
    c = two_faced.two_faced(k1, k2, nonce, ad, words())
    one, two = crypto.aead_decrypt(k1, nonce, c, ad), crypto.aead_decrypt(k2, nonce, c, ad)
    assert one != two
    shown = decode_content(e2ee.unpad(one))  # the text, with 32 bytes of it chosen by the search
    assert isinstance(shown, Text) and shown.body.startswith(BODY[:11]) and shown.body.endswith(BODY[43:])
    assert len(e2ee.unpad(two)) == 63


def test_a_disclosure_with_a_key_other_than_the_committed_one_is_refused() -> None:
    """A group message: the author encrypts under its message key mk_i as usual, but crafts the
    ciphertext to open under a second key too, then discloses that key. Readers and the first
    disclosure get the committed words; the second key is refused everywhere."""
    w = world()
    ana = w.people["ana"]
    epoch = w.state().current_epoch
    assert epoch is not None
    seq = ana.writer.seq + 1
    chain = ana.keys.epochs[epoch.entry_id].chains[ana.key]
    mk = e2ee.Chain(chain.key, chain.next_index).message_key(chain.next_index)
    index = chain.next_index
    nonce = b"\x05" * 24
    ad = e2ee.associated_data(w.group_id, ana.key, seq, epoch.entry_id, index)
    other = two_faced.second_key(mk, nonce, ad, b"ana's other key")
    c = two_faced.two_faced(mk, other, nonce, ad, words())
    envelope = MessageEnvelope(epoch.entry_id, index, nonce, c, commitment=e2ee.key_commitment(mk))
    entry = w.publish("ana", ana.writer.append(kinds.MESSAGE, envelope.encode(), w.tick()))
    assert entry.payload is not None
    read = w.people["bo"].keys.decrypt(entry.author, entry.seq, decode_envelope(entry.payload))
    assert isinstance(decode_content(read), Text)
    honest = Disclosure(entry.raw, entry.payload, mk)
    assert verify_disclosure(w.group_id, honest)[1] == read
    # the other key does open the ciphertext: only the commitment stops it
    assert e2ee.unpad(crypto.aead_decrypt(other, nonce, c, ad)) != read
    with pytest.raises(ContentError) as err:
        verify_disclosure(w.group_id, Disclosure(entry.raw, entry.payload, other))
    assert err.value.code == "content.bad_disclosure"
    assert "e2ee.bad_commitment" in err.value.message
    with pytest.raises(E2eeError) as e2:
        e2ee.open_message(other, w.group_id, entry.author, entry.seq, decode_envelope(entry.payload))
    assert e2.value.code == "e2ee.bad_commitment"


def test_every_recipient_of_a_direct_message_reads_the_same_words_or_refuses_it() -> None:
    """A direct message to two moderators: the author seals one key to bo and another to the founder,
    both opening the one signed ciphertext. Bo reads the committed words; the founder's box holds
    another key, and the founder refuses it rather than read other words."""
    w = world()
    ana, bo, founder = (w.people[n] for n in ("ana", "bo", "founder"))
    state = w.state()
    seq = ana.writer.seq + 1
    nonce = b"\x06" * 24
    ad = e2ee.direct_associated_data(w.group_id, ana.key, seq)
    k1 = hashlib.blake2b(b"content key", digest_size=32).digest()
    k2 = two_faced.second_key(k1, nonce, ad, b"the founder's key")
    c = two_faced.two_faced(k1, k2, nonce, ad, words())
    boxes = {
        bo.key: crypto.seal(state.members[bo.key].x25519, k1),
        founder.key: crypto.seal(state.members[founder.key].x25519, k2),
    }
    envelope = DirectEnvelope(tuple(sorted(boxes.items())), nonce, c, commitment=e2ee.key_commitment(k1))
    entry = w.publish("ana", ana.writer.append(kinds.DIRECT, envelope.encode(), w.tick()))
    assert entry.payload is not None
    direct = decode_direct(entry.payload)
    # the two boxes hold different keys, and both keys open the signed ciphertext, to different bytes
    assert crypto.seal_open(founder.keys.me.x_secret, dict(direct.sealed)[founder.key]) == k2
    assert e2ee.unpad(crypto.aead_decrypt(k2, nonce, c, ad)) != e2ee.unpad(crypto.aead_decrypt(k1, nonce, c, ad))
    plaintext, key = bo.keys.open_direct(entry.author, entry.seq, direct)
    assert key == k1 and isinstance(decode_content(plaintext), Text)
    with pytest.raises(E2eeError) as err:
        founder.keys.open_direct(entry.author, entry.seq, direct)
    assert err.value.code == "e2ee.bad_commitment"
    # a report made with the founder's key does not verify either
    with pytest.raises(ContentError):
        verify_disclosure(w.group_id, Disclosure(entry.raw, entry.payload, k2))
    assert verify_disclosure(w.group_id, Disclosure(entry.raw, entry.payload, k1))[1] == plaintext


def test_a_wrong_commitment_refuses_the_message_without_advancing_the_chain() -> None:
    w = world()
    msg = w.say("ana", "hello")
    assert msg.payload is not None
    envelope = decode_envelope(msg.payload)
    tampered = MessageEnvelope(
        envelope.epoch, envelope.index, envelope.nonce, envelope.ciphertext, commitment=bytes(32)
    )
    with pytest.raises(HoldspaceError) as err:
        w.people["bo"].keys.decrypt(msg.author, msg.seq, tampered)
    assert err.value.code == "e2ee.bad_commitment"
    assert w.read("bo", msg) == "hello"
