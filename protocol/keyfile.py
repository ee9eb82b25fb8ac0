"""Secrets at rest: a passphrase-sealed blob (Argon2id + XSalsa20-Poly1305 secretbox).

Sans-I/O: bytes in, bytes out; callers read and write the files. Format (canonical CBOR):

    {"v": 1, "kdf": "argon2id13", "ops": uint, "mem": uint, "salt": bstr .size 16,
     "nonce": bstr .size 24, "box": bstr}

``box = crypto_secretbox(plaintext, nonce, Argon2id(passphrase, salt, ops, mem))``. A wrong
passphrase and a tampered file both give ``keyfile.bad_passphrase``: the two cannot be told apart.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import nacl.exceptions
import nacl.pwhash
import nacl.secret

from holdspace.protocol import codec, crypto
from holdspace.protocol.errors import CodecError, HoldspaceError

VERSION = 1
#: interactive-grade Argon2id: about 0.1 s and 64 MiB on a small machine, paid once per unlock.
OPSLIMIT = nacl.pwhash.argon2id.OPSLIMIT_INTERACTIVE
MEMLIMIT = nacl.pwhash.argon2id.MEMLIMIT_INTERACTIVE
MAX_OPSLIMIT = nacl.pwhash.argon2id.OPSLIMIT_SENSITIVE
MAX_MEMLIMIT = nacl.pwhash.argon2id.MEMLIMIT_SENSITIVE
MAX_KEYFILE = 16 * 1024 * 1024


class KeyfileError(HoldspaceError):
    family = "keyfile"


@dataclass(frozen=True, slots=True)
class SealingKey:
    """A key derived once from a passphrase, to seal the same secrets again and again without paying
    Argon2id each time (a long-running client saves after every message). Every seal still takes a
    fresh random nonce; the salt is kept with the key and written into each sealed blob."""

    key: bytes = field(repr=False)
    salt: bytes
    opslimit: int
    memlimit: int


def derive_sealing_key(passphrase: str, *, opslimit: int = OPSLIMIT, memlimit: int = MEMLIMIT) -> SealingKey:
    salt = os.urandom(crypto.ARGON2ID_SALT)
    key = crypto.argon2id(passphrase.encode(), salt, opslimit=opslimit, memlimit=memlimit)
    return SealingKey(key, salt, opslimit, memlimit)


def seal_with(sealing: SealingKey, plaintext: bytes) -> bytes:
    nonce = os.urandom(nacl.secret.SecretBox.NONCE_SIZE)
    box = nacl.secret.SecretBox(sealing.key).encrypt(plaintext, nonce).ciphertext
    return codec.encode(
        {
            "v": VERSION,
            "kdf": "argon2id13",
            "ops": sealing.opslimit,
            "mem": sealing.memlimit,
            "salt": sealing.salt,
            "nonce": nonce,
            "box": box,
        }
    )


def seal_secret(passphrase: str, plaintext: bytes, *, opslimit: int = OPSLIMIT, memlimit: int = MEMLIMIT) -> bytes:
    return seal_with(derive_sealing_key(passphrase, opslimit=opslimit, memlimit=memlimit), plaintext)


def open_secret(passphrase: str, sealed: bytes, *, max_size: int = MAX_KEYFILE) -> bytes:
    """The sealed plaintext. ``max_size`` bounds the file (a caller migrating an older, larger
    format may raise it); beyond it ``keyfile.malformed``."""
    try:
        fields = codec.decode(sealed, max_size=max_size)
    except CodecError as exc:
        raise KeyfileError("keyfile.malformed", f"not a Holdspace key file ({exc.code})") from exc
    expected = {"v", "kdf", "ops", "mem", "salt", "nonce", "box"}
    if not isinstance(fields, dict) or fields.keys() != expected or fields["v"] != VERSION:
        raise KeyfileError("keyfile.malformed", "not a version 1 Holdspace key file")
    ops, mem, salt, nonce, box = fields["ops"], fields["mem"], fields["salt"], fields["nonce"], fields["box"]
    if fields["kdf"] != "argon2id13" or not isinstance(ops, int) or not isinstance(mem, int):
        raise KeyfileError("keyfile.malformed", "unknown key derivation")
    if not 1 <= ops <= MAX_OPSLIMIT or not 8192 <= mem <= MAX_MEMLIMIT:
        raise KeyfileError("keyfile.malformed", "key derivation parameters out of range")
    if not isinstance(salt, bytes) or not isinstance(nonce, bytes) or not isinstance(box, bytes):
        raise KeyfileError("keyfile.malformed", "salt, nonce and box must be byte strings")
    if len(salt) != crypto.ARGON2ID_SALT or len(nonce) != nacl.secret.SecretBox.NONCE_SIZE:
        raise KeyfileError("keyfile.malformed", "salt or nonce has the wrong length")
    key = crypto.argon2id(passphrase.encode(), salt, opslimit=ops, memlimit=mem)
    try:
        return nacl.secret.SecretBox(key).decrypt(box, nonce)
    except nacl.exceptions.CryptoError:
        raise KeyfileError("keyfile.bad_passphrase", "wrong passphrase, or the key file was altered") from None
