"""Recovery key and encrypted identity backup (spec 14.7). Sans-I/O: randomness is passed in.

**Recovery key.** 16 random bytes, shown once as 13 words of the BIP-39 English list
(``protocol/wordlist_english.txt``, 2048 words, 11 bits each): the 128 key bits followed by the first
15 bits of SHA-256(key), most significant bit first. :func:`recovery_words` and :func:`parse_words`
are inverses. :func:`parse_words` accepts any case and any whitespace between words, and a word's first
four letters in place of the word (they are unique in the list). It checks, in order:

* the number of words is 13, else ``recovery.word_count``;
* each word is in the list (or is a prefix of at least four letters of exactly one list word), else
  ``recovery.unknown_word`` naming its position;
* the 15 checksum bits match, else ``recovery.bad_checksum`` (a single mistyped word that happens to
  be another list word is caught with probability 1 - 2^-15).

**Backup file** (canonical CBOR, at most :data:`MAX_BACKUP` bytes)::

    {"v": 1, "aead": "xchacha20poly1305", "nonce": bstr .size 24, "box": bstr}

``box = XChaCha20-Poly1305(key, nonce, plaintext, ad = "holdspace/v1/backup")`` with
``key = HKDF-SHA-256(recovery key, salt = "holdspace/v1/backup", info = "backup key")``. The
plaintext is canonical CBOR::

    {"v": 1, "master": bstr .size 32, "node": tstr / null,
     "groups": [* {"g": bstr .size 32, "ctx": bstr (1..MAX_CONTEXT), "name": tstr / null,
                   "hosts": [* tstr], "seq": uint, "prev": bstr .size 32 / null}]}

It holds the identity (the master secret, from which every pseudonym's keys derive) and the
memberships, never a message: epoch keys are opened again from the group's rekey entries with the
pseudonym's X25519 key. :func:`open_backup` checks, in order: the size (``backup.too_large``); the
outer CBOR, its exact fields, version, AEAD name and nonce length (``backup.malformed``); the AEAD
(``backup.bad_key``: a wrong key and an altered file cannot be told apart); the plaintext's fields and
types (``backup.malformed``). :func:`seal_backup` never produces a file that opening would refuse.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from importlib import resources

from holdspace.protocol import codec, crypto
from holdspace.protocol.crypto import Random
from holdspace.protocol.errors import CodecError, CryptoError, HoldspaceError
from holdspace.protocol.identity import MASTER_SECRET_SIZE, MAX_CONTEXT

VERSION = 1
RECOVERY_KEY_SIZE = 16
WORD_BITS = 11
CHECK_BITS = 15
WORD_COUNT = (RECOVERY_KEY_SIZE * 8 + CHECK_BITS) // WORD_BITS  # 13
MAX_BACKUP = 1024 * 1024
AEAD_NAME = "xchacha20poly1305"
BACKUP_DOMAIN = b"holdspace/v1/backup"
KEY_INFO = b"backup key"
ID_SIZE = 32
MAX_HOSTS = 16
MAX_TEXT = 1024
#: SHA-256 of the word list file (one word per line, each line ending in a newline): the BIP-39 English list.
WORDLIST_SHA256 = "2f5eed53a4727b4bf8880d8f3f199efc90e58503646d9ff8eff3a2ed3b24dbda"


class RecoveryError(HoldspaceError):
    family = "recovery"


class BackupError(HoldspaceError):
    family = "backup"


def _load_wordlist() -> tuple[str, ...]:
    raw = resources.files("holdspace.protocol").joinpath("wordlist_english.txt").read_bytes()
    if hashlib.sha256(raw).hexdigest() != WORDLIST_SHA256:  # pragma: no cover - a broken install
        raise RuntimeError("protocol/wordlist_english.txt is not the BIP-39 English word list")
    return tuple(raw.decode("ascii").split())


WORDLIST = _load_wordlist()
_INDEX = {w: i for i, w in enumerate(WORDLIST)}
_BY_PREFIX = {w[:4]: i for i, w in enumerate(WORDLIST)}
assert len(WORDLIST) == 2048 and len(_BY_PREFIX) == 2048


def new_recovery_key(random: Random) -> bytes:
    return random(RECOVERY_KEY_SIZE)


def _checksum(key: bytes) -> int:
    return int.from_bytes(hashlib.sha256(key).digest()[:2], "big") >> (16 - CHECK_BITS)


def recovery_words(key: bytes) -> list[str]:
    """The 13 words that show ``key`` (16 bytes)."""
    if len(key) != RECOVERY_KEY_SIZE:
        raise RecoveryError("recovery.word_count", "a recovery key is 16 bytes")
    bits = (int.from_bytes(key, "big") << CHECK_BITS) | _checksum(key)
    return [WORDLIST[(bits >> (WORD_BITS * (WORD_COUNT - 1 - i))) & 0x7FF] for i in range(WORD_COUNT)]


def _word_index(word: str, position: int) -> int:
    found = _INDEX.get(word)
    if found is None and len(word) >= 4:
        candidate = _BY_PREFIX.get(word[:4])
        if candidate is not None and WORDLIST[candidate].startswith(word):
            found = candidate
    if found is None:
        raise RecoveryError("recovery.unknown_word", f"word {position} ({word!r}) is not in the word list")
    return found


def parse_words(text: str) -> bytes:
    """The recovery key shown by ``text`` (see the module docstring for what is checked)."""
    words = text.lower().split()
    if len(words) != WORD_COUNT:
        raise RecoveryError("recovery.word_count", f"a recovery key is {WORD_COUNT} words; {len(words)} were given")
    bits = 0
    for position, word in enumerate(words, 1):
        bits = (bits << WORD_BITS) | _word_index(word, position)
    key = (bits >> CHECK_BITS).to_bytes(RECOVERY_KEY_SIZE, "big")
    if bits & ((1 << CHECK_BITS) - 1) != _checksum(key):
        raise RecoveryError("recovery.bad_checksum", "these words do not check: one was probably mistyped")
    return key


def backup_key(recovery_key: bytes) -> bytes:
    """The 32-byte key that seals backups under ``recovery_key``."""
    if len(recovery_key) != RECOVERY_KEY_SIZE:
        raise RecoveryError("recovery.word_count", "a recovery key is 16 bytes")
    return crypto.hkdf_sha256(recovery_key, salt=BACKUP_DOMAIN, info=KEY_INFO)


@dataclass(frozen=True, slots=True)
class Membership:
    """One group as the backup keeps it: enough to find it again and to derive its pseudonym."""

    group_id: bytes
    context: bytes
    name: str | None
    hosts: tuple[str, ...] = ()
    seq: int = 0
    prev: bytes | None = None

    def to_cbor(self) -> codec.CborValue:
        return {
            "g": self.group_id,
            "ctx": self.context,
            "name": self.name,
            "hosts": list(self.hosts),
            "seq": self.seq,
            "prev": self.prev,
        }


@dataclass(frozen=True, slots=True)
class Backup:
    """What a backup restores: the master secret, the home node, the memberships."""

    master: bytes = field(repr=False)
    node: str | None
    groups: tuple[Membership, ...] = ()

    def encode(self) -> bytes:
        return codec.encode(
            {"v": VERSION, "master": self.master, "node": self.node, "groups": [g.to_cbor() for g in self.groups]}
        )


def _malformed(why: str) -> BackupError:
    return BackupError("backup.malformed", f"not a version 1 Holdspace backup: {why}")


def _text(value: codec.CborValue, what: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise _malformed(f"{what} must be text of at most {MAX_TEXT} characters")
    return value


def _membership(value: codec.CborValue) -> Membership:
    if not isinstance(value, dict) or value.keys() != {"g", "ctx", "name", "hosts", "seq", "prev"}:
        raise _malformed("a group must have exactly g, ctx, name, hosts, seq and prev")
    gid, ctx, name, hosts, seq, prev = (value[k] for k in ("g", "ctx", "name", "hosts", "seq", "prev"))
    if not isinstance(gid, bytes) or len(gid) != ID_SIZE:
        raise _malformed("a group id must be 32 bytes")
    if not isinstance(ctx, bytes) or not 0 < len(ctx) <= MAX_CONTEXT:
        raise _malformed(f"a derivation context must be 1..{MAX_CONTEXT} bytes")
    if not isinstance(hosts, list) or len(hosts) > MAX_HOSTS:
        raise _malformed(f"hosts must be a list of at most {MAX_HOSTS}")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise _malformed("seq must be an unsigned integer")
    if prev is not None and (not isinstance(prev, bytes) or len(prev) != ID_SIZE):
        raise _malformed("prev must be 32 bytes or null")
    return Membership(
        gid,
        ctx,
        None if name is None else _text(name, "a group name"),
        tuple(_text(h, "a host") for h in hosts),
        seq,
        prev,
    )


def decode_backup(plaintext: bytes) -> Backup:
    """The backup in ``plaintext`` (``backup.malformed`` unless exactly the shape above)."""
    try:
        value = codec.decode(plaintext, max_size=MAX_BACKUP)
    except CodecError as exc:
        raise _malformed(f"its contents are not canonical CBOR ({exc.code})") from exc
    if not isinstance(value, dict) or value.keys() != {"v", "master", "node", "groups"} or value["v"] != VERSION:
        raise _malformed("it must have exactly v (1), master, node and groups")
    master, node, groups = value["master"], value["node"], value["groups"]
    if not isinstance(master, bytes) or len(master) != MASTER_SECRET_SIZE:
        raise _malformed("the master secret must be 32 bytes")
    if not isinstance(groups, list):
        raise _malformed("groups must be a list")
    return Backup(master, None if node is None else _text(node, "the node"), tuple(_membership(g) for g in groups))


def seal_backup(key: bytes, backup: Backup, random: Random) -> bytes:
    """The backup file of ``backup`` under ``key`` (:func:`backup_key`); ``backup.too_large`` if it
    would be larger than :data:`MAX_BACKUP` (nothing is produced that opening would refuse)."""
    plain = backup.encode()
    if len(plain) + 64 > MAX_BACKUP:  # the outer map, nonce and tag add under 64 bytes
        raise BackupError("backup.too_large", f"the backup would be over {MAX_BACKUP:,} bytes")
    decode_backup(plain)  # the same checks as opening
    nonce = random(crypto.AEAD_NONCE)
    box = crypto.aead_encrypt(key, nonce, plain, BACKUP_DOMAIN)
    sealed = codec.encode({"v": VERSION, "aead": AEAD_NAME, "nonce": nonce, "box": box})
    if len(sealed) > MAX_BACKUP:
        raise BackupError("backup.too_large", f"the backup would be {len(sealed):,} bytes, over {MAX_BACKUP:,}")
    return sealed


def open_backup(key: bytes, sealed: bytes) -> Backup:
    """The backup sealed in ``sealed`` (see the module docstring for the checks, in order)."""
    if len(sealed) > MAX_BACKUP:
        raise BackupError("backup.too_large", f"a backup is at most {MAX_BACKUP:,} bytes; this is {len(sealed):,}")
    try:
        outer = codec.decode(sealed, max_size=MAX_BACKUP)
    except CodecError as exc:
        raise _malformed(f"not canonical CBOR ({exc.code})") from exc
    if not isinstance(outer, dict) or outer.keys() != {"v", "aead", "nonce", "box"} or outer["v"] != VERSION:
        raise _malformed("it must have exactly v (1), aead, nonce and box")
    nonce, box = outer["nonce"], outer["box"]
    if outer["aead"] != AEAD_NAME:
        raise _malformed(f"unknown AEAD {outer['aead']!r}")
    if not isinstance(nonce, bytes) or len(nonce) != crypto.AEAD_NONCE or not isinstance(box, bytes):
        raise _malformed("the nonce must be 24 bytes and the box a byte string")
    try:
        plaintext = crypto.aead_decrypt(key, nonce, box, BACKUP_DOMAIN)
    except CryptoError:
        raise BackupError("backup.bad_key", "wrong recovery key, or the backup was altered") from None
    return decode_backup(plaintext)
