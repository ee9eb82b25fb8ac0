"""End-to-end encryption of group messages: epochs, per-sender hash ratchets, padding (spec 13).

Sans-I/O client-side state. Nodes never run this: they hold only sealed boxes and ciphertext.

* An **epoch** starts with a rekey entry: a fresh 32-byte epoch key sealed to each member's X25519
  key. Every membership change is followed by a rekey that leaves the departed out, so a removed
  member never receives a key used after its removal.
* Within an epoch each member ``A`` sends on its own chain:
  ``ck_0 = HKDF(epoch_key, salt="holdspace/v1/chain", info=A)``,
  ``mk_i = HMAC-SHA-256(ck_i, 0x01)``, ``ck_{i+1} = HMAC-SHA-256(ck_i, 0x02)``.
  On receipt of an epoch key a member derives ``ck_0`` for every recipient and discards the epoch
  key (unless the group shares history), and discards each ``ck_i``/``mk_i`` once used: a state stolen
  later cannot decrypt earlier messages (forward secrecy window: the current chain positions and up to
  :data:`MAX_SKIP` skipped keys per sender).
* Plaintext is padded (ISO/IEC 7816-4: ``0x80`` then zeros) to the smallest bucket in :data:`BUCKETS`
  so nodes learn only the bucket, and encrypted with XChaCha20-Poly1305 under ``mk_i`` with a random
  24-byte nonce and associated data binding group, author, seq, epoch and index.
* **Key commitment.** XChaCha20-Poly1305 does not commit to its key: an author can craft one
  ciphertext that opens under two keys to two texts. So every payload carries, inside what the author
  signs, ``k = H("holdspace/v1/key-commitment" || 0x00 || key)`` of the one key that opens it (``mk_i``,
  or a direct message's content key), and a reader refuses any other key (``e2ee.bad_commitment``)
  before decrypting. One signed entry therefore opens to one plaintext, whoever opens it: every
  recipient of a direct message, and whoever receives a disclosure (13.6).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field

from holdspace.protocol import codec, crypto
from holdspace.protocol.crypto import Random
from holdspace.protocol.errors import CryptoError, E2eeError, HoldspaceError
from holdspace.protocol.group import Epoch, GroupState
from holdspace.protocol.identity import IdentityDocument, Pseudonym
from holdspace.protocol.payloads import DirectEnvelope, MessageEnvelope, Rekey

BUCKETS = (64, 256, 1024, 4096, 16384, 65280)
MAX_PLAINTEXT = BUCKETS[-1] - 1
MAX_SKIP = 2000
CHAIN_SALT = b"holdspace/v1/chain"
MESSAGE_AD_DOMAIN = b"holdspace/v1/message"
DIRECT_AD_DOMAIN = b"holdspace/v1/direct"
COMMITMENT_DOMAIN = b"holdspace/v1/key-commitment"
MAX_HISTORY_EPOCHS = 512  # earlier epochs' keys one history blob carries at most (13.1)


def key_commitment(key: bytes) -> bytes:
    """The commitment to a message or content key carried in the signed payload (spec 13.4, 13.5)."""
    return crypto.blake2b_256(COMMITMENT_DOMAIN + b"\x00" + key)


def check_commitment(key: bytes, commitment: bytes) -> None:
    """``e2ee.bad_commitment`` unless ``key`` is the key ``commitment`` commits to."""
    if not hmac.compare_digest(key_commitment(key), commitment):
        raise E2eeError("e2ee.bad_commitment", "the key is not the one the author committed to in the payload")


def pad(plaintext: bytes) -> bytes:
    if len(plaintext) > MAX_PLAINTEXT:
        raise E2eeError("e2ee.bad_padding", f"a message holds at most {MAX_PLAINTEXT} bytes")
    size = next(b for b in BUCKETS if b > len(plaintext))
    return plaintext + b"\x80" + bytes(size - len(plaintext) - 1)


def unpad(padded: bytes) -> bytes:
    if len(padded) not in BUCKETS:
        raise E2eeError("e2ee.bad_padding", "padded length is not a bucket size")
    end = padded.rfind(b"\x80")
    if end < 0 or any(padded[end + 1 :]):
        raise E2eeError("e2ee.bad_padding")
    return padded[:end]


def chain_start(epoch_key: bytes, author: bytes) -> bytes:
    return crypto.hkdf_sha256(epoch_key, salt=CHAIN_SALT, info=author)


def _step(chain_key: bytes) -> tuple[bytes, bytes]:
    """(message key, next chain key) for one position of a chain."""
    return (
        hmac.new(chain_key, b"\x01", hashlib.sha256).digest(),
        hmac.new(chain_key, b"\x02", hashlib.sha256).digest(),
    )


def associated_data(group_id: bytes, author: bytes, seq: int, epoch_id: bytes, index: int) -> bytes:
    return (
        MESSAGE_AD_DOMAIN + b"\x00" + group_id + author + seq.to_bytes(8, "big") + epoch_id + index.to_bytes(8, "big")
    )


def direct_associated_data(group_id: bytes, author: bytes, seq: int) -> bytes:
    return DIRECT_AD_DOMAIN + b"\x00" + group_id + author + seq.to_bytes(8, "big")


def open_message(message_key: bytes, group_id: bytes, author: bytes, seq: int, envelope: MessageEnvelope) -> bytes:
    """Decrypt one message with its disclosed message key ``mk_i`` (a verifiable report or quote):
    the key opens that message only, and the chain cannot be derived from it. Checked in order: the key
    matches the envelope's commitment (``e2ee.bad_commitment``), the ciphertext opens under it
    (``crypto.decrypt_failed``), the padding (``e2ee.bad_padding``)."""
    check_commitment(message_key, envelope.commitment)
    ad = associated_data(group_id, author, seq, envelope.epoch, envelope.index)
    return unpad(crypto.aead_decrypt(message_key, envelope.nonce, envelope.ciphertext, ad))


def seal_direct(
    group_id: bytes,
    author: bytes,
    seq: int,
    recipients: dict[bytes, bytes],
    plaintext: bytes,
    random: Random = os.urandom,
    *,
    expires_ms: int | None = None,
) -> tuple[DirectEnvelope, bytes]:
    """A direct message to ``recipients`` (member key -> X25519 key) and its content key: one content
    key, sealed to every recipient and committed to once in the payload."""
    if not recipients:
        raise E2eeError("e2ee.no_recipients", "a direct message needs at least one recipient")
    content_key = random(32)
    sealed = tuple((key, crypto.seal(x25519, content_key, random)) for key, x25519 in sorted(recipients.items()))
    nonce = random(crypto.AEAD_NONCE)
    ad = direct_associated_data(group_id, author, seq)
    ciphertext = crypto.aead_encrypt(content_key, nonce, pad(plaintext), ad)
    return DirectEnvelope(sealed, nonce, ciphertext, expires_ms, commitment=key_commitment(content_key)), content_key


def open_direct(content_key: bytes, group_id: bytes, author: bytes, seq: int, envelope: DirectEnvelope) -> bytes:
    """Decrypt a direct message with its content key; checks as :func:`open_message`."""
    check_commitment(content_key, envelope.commitment)
    ad = direct_associated_data(group_id, author, seq)
    return unpad(crypto.aead_decrypt(content_key, envelope.nonce, envelope.ciphertext, ad))


@dataclass(slots=True)
class Chain:
    """One sender's chain in one epoch, as a reader (or the sender) holds it."""

    key: bytes = field(repr=False)
    next_index: int = 0
    skipped: dict[int, bytes] = field(default_factory=dict, repr=False)

    def message_key(self, index: int) -> bytes:
        """The key for ``index``, deleting it from the state (each key decrypts once)."""
        if index < self.next_index:
            if index in self.skipped:
                return self.skipped.pop(index)
            raise E2eeError("e2ee.ratchet_window", f"message key {index} was already used or discarded")
        if index - self.next_index > MAX_SKIP:
            raise E2eeError("e2ee.ratchet_window", f"message index {index} is more than {MAX_SKIP} ahead")
        while self.next_index < index:
            mk, self.key = _step(self.key)
            self.skipped[self.next_index] = mk
            self.next_index += 1
        mk, self.key = _step(self.key)
        self.next_index += 1
        while len(self.skipped) > MAX_SKIP:
            del self.skipped[next(iter(self.skipped))]  # insertion order is index order: the oldest
        return mk


@dataclass(slots=True)
class EpochKeys:
    epoch_id: bytes
    chains: dict[bytes, Chain]
    epoch_key: bytes | None = field(default=None, repr=False)  # kept only when history is shared


@dataclass(slots=True)
class GroupKeys:
    """A member's key state for one group."""

    group_id: bytes
    me: Pseudonym
    epochs: dict[bytes, EpochKeys] = field(default_factory=dict)

    def accept_epoch(self, epoch: Epoch, epoch_key: bytes, *, keep_key: bool = False) -> None:
        chains = {member: Chain(chain_start(epoch_key, member)) for member in epoch.recipients}
        self.epochs[epoch.entry_id] = EpochKeys(epoch.entry_id, chains, epoch_key if keep_key else None)

    def open_rekey(self, epoch: Epoch, rekey: Rekey, *, keep_key: bool = False) -> bool:
        """Take this member's epoch key from ``rekey``; False if it was not sealed to us."""
        sealed = dict(rekey.sealed).get(self.me.public_key)
        if sealed is None:
            return False
        self.accept_epoch(epoch, crypto.seal_open(self.me.x_secret, sealed), keep_key=keep_key)
        return True

    def encrypt(
        self,
        epoch_id: bytes,
        seq: int,
        plaintext: bytes,
        random: Random = os.urandom,
        *,
        expires_ms: int | None = None,
    ) -> MessageEnvelope:
        return self.encrypt_keyed(epoch_id, seq, plaintext, random, expires_ms=expires_ms)[0]

    def encrypt_keyed(
        self,
        epoch_id: bytes,
        seq: int,
        plaintext: bytes,
        random: Random = os.urandom,
        *,
        expires_ms: int | None = None,
    ) -> tuple[MessageEnvelope, bytes]:
        """The envelope and its message key (which the sender may disclose later, in a quote)."""
        keys = self.epochs.get(epoch_id)
        if keys is None or self.me.public_key not in keys.chains:
            raise E2eeError("e2ee.unknown_epoch", "this member holds no sending chain in that epoch")
        chain = keys.chains[self.me.public_key]
        index = chain.next_index
        mk = chain.message_key(index)
        nonce = random(crypto.AEAD_NONCE)
        ad = associated_data(self.group_id, self.me.public_key, seq, epoch_id, index)
        ciphertext = crypto.aead_encrypt(mk, nonce, pad(plaintext), ad)
        return MessageEnvelope(epoch_id, index, nonce, ciphertext, expires_ms, commitment=key_commitment(mk)), mk

    def open_direct(self, author: bytes, seq: int, envelope: DirectEnvelope) -> tuple[bytes, bytes]:
        """A direct message sealed to this member: its plaintext and content key. A box holding any key
        but the one the payload commits to is refused (``e2ee.bad_commitment``), so every recipient
        reads the same words."""
        sealed = dict(envelope.sealed).get(self.me.public_key)
        if sealed is None:
            raise E2eeError("e2ee.not_recipient", "this direct message is not sealed to this member")
        content_key = crypto.seal_open(self.me.x_secret, sealed)
        return open_direct(content_key, self.group_id, author, seq, envelope), content_key

    def decrypt(self, author: bytes, seq: int, envelope: MessageEnvelope) -> bytes:
        return self.decrypt_keyed(author, seq, envelope)[0]

    def decrypt_keyed(self, author: bytes, seq: int, envelope: MessageEnvelope) -> tuple[bytes, bytes]:
        """The plaintext and its message key (kept by a client only to disclose it in a report)."""
        keys = self.epochs.get(envelope.epoch)
        if keys is None or author not in keys.chains:
            raise E2eeError("e2ee.unknown_epoch", "no key for that sender in that epoch")
        chain = keys.chains[author]
        saved = (chain.key, chain.next_index, dict(chain.skipped))
        mk = chain.message_key(envelope.index)
        try:
            return open_message(mk, self.group_id, author, seq, envelope), mk
        except (CryptoError, E2eeError) as exc:
            if exc.code in ("crypto.decrypt_failed", "e2ee.bad_commitment"):
                chain.key, chain.next_index, chain.skipped = saved  # a forgery must not advance the chain
            raise


def make_rekey(
    state: GroupState,
    deps: tuple[bytes, ...],
    author: Pseudonym,
    epoch_key: bytes,
    *,
    new_document: IdentityDocument | None = None,
    history: dict[bytes, bytes] | None = None,
    random: Random = os.urandom,
) -> Rekey:
    """A rekey sealing ``epoch_key`` to every current member (to ``author`` under its new key, if any).

    ``history`` maps a new member's key to a blob of earlier epoch keys to seal to it alone.
    """
    sealed: list[tuple[bytes, bytes]] = []
    for key, member in sorted(state.members.items()):
        x25519 = member.x25519
        if key == author.public_key and new_document is not None:
            x25519 = new_document.x_public_key
        sealed.append((key, crypto.seal(x25519, epoch_key, random)))
    shared = tuple(
        (key, crypto.seal(state.members[key].x25519, blob, random)) for key, blob in sorted((history or {}).items())
    )
    return Rekey(deps, tuple(sealed), new_document, shared)


def encode_history_blob(epochs: list[tuple[bytes, bytes]]) -> bytes:
    """The history blob of 13.1: ``[* [epoch id, epoch key]]``, newest epoch first. Refused with
    ``e2ee.history_too_long`` beyond :data:`MAX_HISTORY_EPOCHS` pairs."""
    if len(epochs) > MAX_HISTORY_EPOCHS:
        raise E2eeError("e2ee.history_too_long", f"a history blob carries at most {MAX_HISTORY_EPOCHS} epochs")
    return codec.encode([[epoch_id, key] for epoch_id, key in epochs])


def decode_history_blob(blob: bytes) -> list[tuple[bytes, bytes]]:
    """The pairs of a history blob that came out of a box sealed to this member. Checks, in order:
    canonical CBOR, else ``crypto.decrypt_failed``; an array, of at most :data:`MAX_HISTORY_EPOCHS`
    elements, else ``e2ee.history_too_long`` (for the length) or ``crypto.decrypt_failed``; each
    element an array of exactly a 32-byte epoch id and a 32-byte key, else ``crypto.decrypt_failed``."""
    try:
        value = codec.decode(blob)
    except HoldspaceError as exc:
        raise CryptoError("crypto.decrypt_failed", "the history blob is not canonical CBOR") from exc
    if not isinstance(value, list):
        raise CryptoError("crypto.decrypt_failed", "the history blob is not a list of [epoch id, epoch key]")
    if len(value) > MAX_HISTORY_EPOCHS:
        raise E2eeError("e2ee.history_too_long", f"a history blob carries at most {MAX_HISTORY_EPOCHS} epochs")
    pairs: list[tuple[bytes, bytes]] = []
    for pair in value:
        if not isinstance(pair, list) or len(pair) != 2:
            raise CryptoError("crypto.decrypt_failed", "the history blob is not a list of [epoch id, epoch key]")
        epoch_id, key = pair
        if not isinstance(epoch_id, bytes) or not isinstance(key, bytes) or len(epoch_id) != 32 or len(key) != 32:
            raise CryptoError("crypto.decrypt_failed", "the history blob is not a list of [epoch id, epoch key]")
        pairs.append((epoch_id, key))
    return pairs


def new_epoch_key(random: Random = os.urandom) -> bytes:
    return random(32)
