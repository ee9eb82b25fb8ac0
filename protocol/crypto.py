"""The cryptographic primitives of the protocol, behind one small, typed surface.

Every primitive the protocol names is here, so the published test vectors (RFC 8032, RFC 7748,
XChaCha20-Poly1305, RFC 5869) check *these* wrappers, not only the libraries under them.

Invariants:
- keys and nonces are ``bytes`` of the documented length; a wrong length raises
  ``CryptoError("crypto.bad_key")`` before any library call;
- verification returns ``bool`` and never raises on a bad signature or malformed public key;
- decryption failure is always ``CryptoError("crypto.decrypt_failed")``, whatever the cause.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable

import nacl.bindings as sodium
import nacl.exceptions
import nacl.pwhash
import nacl.signing

from holdspace.protocol.errors import CryptoError
from holdspace.protocol.memo import Memo

ED25519_SEED = 32
ED25519_PUBLIC = 32
ED25519_SIGNATURE = 64
X25519_KEY = 32
AEAD_KEY = 32
AEAD_NONCE = 24
AEAD_TAG = 16
HASH_SIZE = 32
SEALED_BOX_OVERHEAD = 48  # ephemeral public key (32) + Poly1305 tag (16)


def _need(value: bytes, size: int, what: str) -> None:
    if not isinstance(value, bytes) or len(value) != size:
        raise CryptoError("crypto.bad_key", f"{what} must be {size} bytes")


# --- hashing and key derivation --------------------------------------------------------------


def blake2b_256(data: bytes) -> bytes:
    """BLAKE2b with a 32-byte digest, no key, no salt, no personalisation (RFC 7693)."""
    return hashlib.blake2b(data, digest_size=HASH_SIZE).digest()


def hkdf_sha256(ikm: bytes, *, salt: bytes, info: bytes, length: int = 32) -> bytes:
    """HKDF-SHA-256 (RFC 5869): extract with ``salt``, expand with ``info`` to ``length`` bytes."""
    if not 0 < length <= 255 * 32:
        raise CryptoError("crypto.bad_key", "HKDF output length out of range")
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    out = b""
    block = b""
    counter = 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


# --- Ed25519 (RFC 8032) -----------------------------------------------------------------------


def ed25519_public_key(seed: bytes) -> bytes:
    """The 32-byte public key of a 32-byte Ed25519 seed (RFC 8032 "secret key")."""
    _need(seed, ED25519_SEED, "Ed25519 seed")
    return bytes(nacl.signing.SigningKey(seed).verify_key)


def ed25519_sign(seed: bytes, message: bytes) -> bytes:
    """A 64-byte Ed25519 signature (deterministic, RFC 8032 section 5.1.6)."""
    _need(seed, ED25519_SEED, "Ed25519 seed")
    return nacl.signing.SigningKey(seed).sign(message).signature


#: Signatures :func:`ed25519_verify` remembers as valid (with ``remember``), and the largest message
#: it remembers one for (join proofs are about 100 bytes; at most about 20 MB held).
VERIFIED_MEMO_SIZE = 8192
VERIFIED_MESSAGE_MAX = 2048

_verified: Memo[tuple[bytes, bytes, bytes], bool] = Memo(VERIFIED_MEMO_SIZE)


def ed25519_verify(public_key: bytes, message: bytes, signature: bytes, *, remember: bool = False) -> bool:
    """True iff ``signature`` is libsodium-valid for ``message`` under ``public_key``.

    libsodium rejects non-canonical S, small-order public keys and non-canonical R encodings;
    implementations must apply the same rules (spec: "Signatures").

    ``remember``: for signatures that many parties in one process check over the same bytes (a
    join's invite proof, judged by every host and every member's client): a valid signature over a
    message of at most ``VERIFIED_MESSAGE_MAX`` bytes is remembered (:class:`protocol.memo.Memo`,
    bounded), and the same (key, signature, message) checked with ``remember`` again is valid
    without the curve arithmetic. The answer is a function of those bytes alone, so nothing changes
    but the cost; an invalid signature is never remembered and is checked in full every time.
    """
    if len(public_key) != ED25519_PUBLIC or len(signature) != ED25519_SIGNATURE:
        return False
    small = remember and len(message) <= VERIFIED_MESSAGE_MAX
    if small and _verified.get((public_key, signature, message)):
        return True
    try:
        sodium.crypto_sign_open(signature + message, public_key)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.RuntimeError, ValueError):
        return False
    if small:
        _verified.put((public_key, signature, message), True)
    return True


def ed25519_public_key_valid(public_key: bytes) -> bool:
    """True iff ``public_key`` decodes to a curve point that is not of small order."""
    if len(public_key) != ED25519_PUBLIC:
        return False
    try:
        sodium.crypto_sign_ed25519_pk_to_curve25519(public_key)
    except (nacl.exceptions.RuntimeError, ValueError):
        return False
    return True


# --- X25519 (RFC 7748) and sealed boxes -------------------------------------------------------


def x25519_public_key(secret: bytes) -> bytes:
    _need(secret, X25519_KEY, "X25519 secret")
    return sodium.crypto_scalarmult_base(secret)


def x25519(secret: bytes, public: bytes) -> bytes:
    """The raw X25519 function (RFC 7748 section 5); rejects an all-zero shared secret."""
    _need(secret, X25519_KEY, "X25519 secret")
    _need(public, X25519_KEY, "X25519 public key")
    try:
        return sodium.crypto_scalarmult(secret, public)
    except nacl.exceptions.RuntimeError as exc:
        raise CryptoError("crypto.bad_key", "X25519 produced an all-zero shared secret") from exc


#: A source of random bytes. Everything that draws randomness takes one, so test vectors can be
#: generated deterministically; production code always uses the default, ``os.urandom``.
Random = Callable[[int], bytes]


_PROBE_SCALAR = bytes([1] + [0] * 30 + [64])  # a clamped scalar: its product with a small-order point is 0


def x25519_public_key_valid(public: bytes) -> bool:
    """False for a key whose X25519 product is all zero (a small-order point): a secret shared with it is
    public. Checked by one scalar multiplication, as libsodium's ``crypto_scalarmult`` does."""
    if len(public) != X25519_KEY:
        return False
    try:
        sodium.crypto_scalarmult(_PROBE_SCALAR, public)
    except nacl.exceptions.RuntimeError:
        return False
    return True


def seal(recipient_public: bytes, plaintext: bytes, random: Random = os.urandom) -> bytes:
    """libsodium ``crypto_box_seal``: anonymous encryption to an X25519 public key.

    Built from ``crypto_box`` so the ephemeral key can come from ``random``: the output is
    ``epk || crypto_box_easy(m, nonce = BLAKE2b-192(epk || pk), pk, esk)``, byte-identical to
    ``crypto_box_seal`` with that ephemeral key, and opened by ``crypto_box_seal_open``.
    """
    _need(recipient_public, X25519_KEY, "X25519 public key")
    ephemeral_secret = random(X25519_KEY)
    ephemeral_public = x25519_public_key(ephemeral_secret)
    nonce = hashlib.blake2b(ephemeral_public + recipient_public, digest_size=24).digest()
    return ephemeral_public + sodium.crypto_box(plaintext, nonce, recipient_public, ephemeral_secret)


def seal_open(recipient_secret: bytes, sealed: bytes) -> bytes:
    _need(recipient_secret, X25519_KEY, "X25519 secret")
    public = x25519_public_key(recipient_secret)
    try:
        return sodium.crypto_box_seal_open(sealed, public, recipient_secret)
    except (nacl.exceptions.CryptoError, ValueError) as exc:
        raise CryptoError("crypto.decrypt_failed", "sealed box did not open") from exc


# --- XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03) -----------------------------------------


def aead_encrypt(key: bytes, nonce: bytes, plaintext: bytes, associated_data: bytes) -> bytes:
    """IETF XChaCha20-Poly1305; returns ciphertext with the 16-byte tag appended."""
    _need(key, AEAD_KEY, "AEAD key")
    _need(nonce, AEAD_NONCE, "AEAD nonce")
    return sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, associated_data, nonce, key)


def aead_decrypt(key: bytes, nonce: bytes, ciphertext: bytes, associated_data: bytes) -> bytes:
    _need(key, AEAD_KEY, "AEAD key")
    _need(nonce, AEAD_NONCE, "AEAD nonce")
    try:
        return sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(ciphertext, associated_data, nonce, key)
    except (nacl.exceptions.CryptoError, ValueError) as exc:
        raise CryptoError("crypto.decrypt_failed") from exc


# --- passphrases (keys at rest) --------------------------------------------------------------

ARGON2ID_OPSLIMIT = nacl.pwhash.argon2id.OPSLIMIT_MODERATE
ARGON2ID_MEMLIMIT = nacl.pwhash.argon2id.MEMLIMIT_MODERATE
ARGON2ID_SALT = nacl.pwhash.argon2id.SALTBYTES


def argon2id(passphrase: bytes, salt: bytes, *, opslimit: int, memlimit: int) -> bytes:
    """A 32-byte key from a passphrase with Argon2id v1.3 (libsodium ``crypto_pwhash``)."""
    _need(salt, ARGON2ID_SALT, "Argon2id salt")
    return nacl.pwhash.argon2id.kdf(32, passphrase, salt, opslimit=opslimit, memlimit=memlimit)
