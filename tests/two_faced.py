"""A two-faced ciphertext: one XChaCha20-Poly1305 ciphertext that opens under two keys (for tests).

XChaCha20-Poly1305 does not commit to its key. Whoever chooses two keys ``k1`` and ``k2`` can make one
ciphertext whose Poly1305 tag is valid under both: the tag is ``(h_k + s_k) mod 2^128`` with
``h_k = sum(block_t * r_k^(q - t)) mod p``, linear in every ciphertext block, so one free block solves
``h_1 - h_2 = (s_2 - s_1) mod 2^128`` (Len, Grubbs and Ristenpart, "Partitioning oracle attacks",
USENIX Security 2021). This module builds such a ciphertext for a padded Holdspace plaintext:

* under ``k1`` it opens to ``pad(words)``, a valid content map whose text holds the free block (which
  must therefore decode as UTF-8: the search retries a 16-byte filler until it does);
* under ``k2`` it opens to other bytes that unpad too (``k2`` is drawn until both keystreams agree on
  the last byte, so both plaintexts end in the ``0x80`` marker).

Pure Python ChaCha20 (RFC 8439) and HChaCha20 give the Poly1305 keys, which libsodium does not expose;
the keystreams are checked against libsodium's.
"""

from __future__ import annotations

import hashlib

from holdspace.protocol import crypto

P = 2**130 - 5
MASK32 = 0xFFFFFFFF
CONSTANTS = (0x61707865, 0x3320646E, 0x79622D32, 0x6B206574)
SIZE = 64  # the smallest padding bucket: four 16-byte blocks
FREE = 2  # the ciphertext block solved for the tag collision (bytes 32..47)
FILLER = 1  # the block varied until the free block's plaintext is UTF-8 (bytes 16..31)


def _rotl(x: int, n: int) -> int:
    return ((x << n) | (x >> (32 - n))) & MASK32


def _rounds(state: list[int]) -> list[int]:
    x = list(state)
    for _ in range(10):
        for a, b, c, d in (
            (0, 4, 8, 12), (1, 5, 9, 13), (2, 6, 10, 14), (3, 7, 11, 15),
            (0, 5, 10, 15), (1, 6, 11, 12), (2, 7, 8, 13), (3, 4, 9, 14),
        ):  # fmt: skip
            x[a] = (x[a] + x[b]) & MASK32
            x[d] = _rotl(x[d] ^ x[a], 16)
            x[c] = (x[c] + x[d]) & MASK32
            x[b] = _rotl(x[b] ^ x[c], 12)
            x[a] = (x[a] + x[b]) & MASK32
            x[d] = _rotl(x[d] ^ x[a], 8)
            x[c] = (x[c] + x[d]) & MASK32
            x[b] = _rotl(x[b] ^ x[c], 7)
    return x


def _words(data: bytes) -> list[int]:
    return [int.from_bytes(data[i : i + 4], "little") for i in range(0, len(data), 4)]


def chacha20_block(key: bytes, counter: int, nonce: bytes) -> bytes:
    state = [*CONSTANTS, *_words(key), counter, *_words(nonce)]
    mixed = _rounds(state)
    return b"".join(((a + b) & MASK32).to_bytes(4, "little") for a, b in zip(mixed, state, strict=True))


def hchacha20(key: bytes, nonce16: bytes) -> bytes:
    mixed = _rounds([*CONSTANTS, *_words(key), *_words(nonce16)])
    return b"".join(w.to_bytes(4, "little") for w in mixed[:4] + mixed[12:])


def poly1305_key(key: bytes, nonce: bytes) -> tuple[int, int]:
    """(r, s) of the XChaCha20-Poly1305 (IETF) one-time key for ``key`` and the 24-byte ``nonce``."""
    block0 = chacha20_block(hchacha20(key, nonce[:16]), 0, bytes(4) + nonce[16:])
    r = int.from_bytes(block0[:16], "little") & 0x0FFFFFFC0FFFFFFC0FFFFFFC0FFFFFFF
    return r, int.from_bytes(block0[16:32], "little")


def keystream(key: bytes, nonce: bytes, size: int, ad: bytes) -> bytes:
    """The keystream that encrypts ``size`` bytes (libsodium's own, by encrypting zeros)."""
    return crypto.aead_encrypt(key, nonce, bytes(size), ad)[:size]


def _blocks(ad: bytes, ciphertext: bytes) -> list[int]:
    """The Poly1305 input of the IETF AEAD, as 130-bit block values (every block is full here)."""
    data = ad + bytes(-len(ad) % 16) + ciphertext + bytes(-len(ciphertext) % 16)
    data += len(ad).to_bytes(8, "little") + len(ciphertext).to_bytes(8, "little")
    return [int.from_bytes(data[i : i + 16], "little") + 2**128 for i in range(0, len(data), 16)]


def poly1305(r: int, s: int, blocks: list[int]) -> int:
    h = 0
    for block in blocks:
        h = (h + block) * r % P
    return (h + s) % 2**128


def second_key(k1: bytes, nonce: bytes, ad: bytes, label: bytes) -> bytes:
    """A key whose keystream agrees with ``k1``'s on the last byte of the bucket (about 256 draws)."""
    last = keystream(k1, nonce, SIZE, ad)[-1]
    for i in range(100_000):
        k2 = hashlib.blake2b(label + i.to_bytes(8, "big"), digest_size=32).digest()
        if keystream(k2, nonce, SIZE, ad)[-1] == last:
            return k2
    raise AssertionError("no second key found")


def two_faced(k1: bytes, k2: bytes, nonce: bytes, ad: bytes, words: bytes, tries: int = 1 << 22) -> bytes:
    """One ciphertext (tag appended) that opens to ``pad(words)`` under ``k1`` and to other padded bytes
    under ``k2``. ``words`` is 63 bytes whose blocks FILLER and FREE (bytes 16..47) are free text."""
    assert len(words) == SIZE - 1
    ks1, ks2 = keystream(k1, nonce, SIZE, ad), keystream(k2, nonce, SIZE, ad)
    assert ks1[-1] == ks2[-1], "use second_key"
    (r1, s1), (r2, s2) = poly1305_key(k1, nonce), poly1305_key(k2, nonce)
    plain = bytearray(words + b"\x80")
    base = bytes(a ^ b for a, b in zip(plain, ks1, strict=True))
    blocks = _blocks(ad, base)
    q = len(blocks)
    first = len(blocks) - 1 - SIZE // 16  # index of the first ciphertext block

    def diff(t: int) -> int:
        return (pow(r1, q - t, P) - pow(r2, q - t, P)) % P

    free_t, filler_t = first + FREE, first + FILLER
    fixed = sum(b * diff(t) for t, b in enumerate(blocks) if t not in (free_t, filler_t)) % P
    d_free, d_filler = diff(free_t), diff(filler_t)
    inverse = pow(d_free, -1, P)
    target = (s2 - s1) % 2**128
    ks1_filler = int.from_bytes(ks1[16:32], "little")
    ks1_free = int.from_bytes(ks1[32:48], "little")
    for attempt in range(tries):
        filler = f"{attempt:016d}".encode()
        c_filler = (int.from_bytes(filler, "little") ^ ks1_filler) + 2**128
        x = (target - fixed - c_filler * d_filler) * inverse % P - 2**128
        x %= P
        if x >= 2**128:
            continue
        free_plain = (x ^ ks1_free).to_bytes(16, "little")
        try:
            free_plain.decode("utf-8")
        except UnicodeDecodeError:
            continue
        plain[16:32], plain[32:48] = filler, free_plain
        ciphertext = bytes(a ^ b for a, b in zip(plain, ks1, strict=True))
        tag1 = poly1305(r1, s1, _blocks(ad, ciphertext))
        if tag1 != poly1305(r2, s2, _blocks(ad, ciphertext)):
            continue  # h_2 + (s_2 - s_1) wrapped past p: rare
        return ciphertext + tag1.to_bytes(16, "little")
    raise AssertionError("no two-faced ciphertext found")
