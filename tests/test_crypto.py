"""Published vectors through the project's own wrappers in protocol.crypto."""

import pytest

from holdspace.protocol import crypto
from holdspace.protocol.errors import CryptoError
from tests.conftest import load_vectors

ED = load_vectors("rfc8032-ed25519.json")["vectors"]
X = load_vectors("rfc7748-x25519.json")
XC = load_vectors("xchacha20poly1305.json")


@pytest.mark.parametrize("v", ED, ids=[v["name"] for v in ED])
def test_rfc8032_ed25519(v: dict) -> None:
    seed = bytes.fromhex(v["secret_key"])
    public = bytes.fromhex(v["public_key"])
    message = bytes.fromhex(v["message"])
    signature = bytes.fromhex(v["signature"])
    assert crypto.ed25519_public_key(seed) == public
    assert crypto.ed25519_sign(seed, message) == signature
    assert crypto.ed25519_verify(public, message, signature)
    tampered = bytes([signature[0] ^ 1]) + signature[1:]
    assert not crypto.ed25519_verify(public, message, tampered)
    assert not crypto.ed25519_verify(public, message + b"x", signature)


def test_ed25519_verify_never_raises_on_garbage() -> None:
    assert not crypto.ed25519_verify(b"\x00" * 32, b"m", b"\x00" * 64)
    assert not crypto.ed25519_verify(b"short", b"m", b"\x00" * 64)
    assert not crypto.ed25519_verify(b"\x01" * 32, b"m", b"\x00" * 63)
    assert not crypto.ed25519_public_key_valid(b"\x00" * 32)  # small order
    assert crypto.ed25519_public_key_valid(bytes.fromhex(ED[0]["public_key"]))


@pytest.mark.parametrize("v", X["scalar_mult"], ids=lambda v: v["name"])
def test_rfc7748_scalar_mult(v: dict) -> None:
    out = crypto.x25519(bytes.fromhex(v["scalar"]), bytes.fromhex(v["u_coordinate"]))
    assert out == bytes.fromhex(v["output"])


@pytest.mark.parametrize("n", [1, 1000])
def test_rfc7748_iterated(n: int) -> None:
    expected = {r["iterations"]: r["k_after"] for r in X["iterated"]["results"]}[n]
    k = u = bytes([9]) + bytes(31)
    for _ in range(n):
        k, u = crypto.x25519(k, u), k
    assert k.hex() == expected


def test_rfc7748_diffie_hellman() -> None:
    dh = X["diffie_hellman"]
    a, b = bytes.fromhex(dh["alice_private"]), bytes.fromhex(dh["bob_private"])
    assert crypto.x25519_public_key(a).hex() == dh["alice_public"]
    assert crypto.x25519_public_key(b).hex() == dh["bob_public"]
    assert crypto.x25519(a, crypto.x25519_public_key(b)).hex() == dh["shared_secret"]
    assert crypto.x25519(b, crypto.x25519_public_key(a)).hex() == dh["shared_secret"]


def test_x25519_rejects_all_zero_output() -> None:
    with pytest.raises(CryptoError) as err:
        crypto.x25519(bytes(range(32)), bytes(32))
    assert err.value.code == "crypto.bad_key"


def test_xchacha20poly1305_vector() -> None:
    v = XC["aead"]
    key, nonce, aad = bytes.fromhex(v["key"]), bytes.fromhex(v["nonce"]), bytes.fromhex(v["aad"])
    plaintext = bytes.fromhex(v["plaintext"])
    sealed = crypto.aead_encrypt(key, nonce, plaintext, aad)
    assert sealed == bytes.fromhex(v["ciphertext"] + v["tag"])
    assert crypto.aead_decrypt(key, nonce, sealed, aad) == plaintext
    for bad in (sealed[:-1] + bytes([sealed[-1] ^ 1]), sealed[:10], b""):
        with pytest.raises(CryptoError) as err:
            crypto.aead_decrypt(key, nonce, bad, aad)
        assert err.value.code == "crypto.decrypt_failed"
    with pytest.raises(CryptoError):
        crypto.aead_decrypt(key, nonce, sealed, aad + b"!")


def test_aead_rejects_bad_key_and_nonce_lengths() -> None:
    with pytest.raises(CryptoError) as err:
        crypto.aead_encrypt(b"k" * 31, b"n" * 24, b"", b"")
    assert err.value.code == "crypto.bad_key"
    with pytest.raises(CryptoError):
        crypto.aead_encrypt(b"k" * 32, b"n" * 12, b"", b"")


def test_hkdf_rfc5869_case_1() -> None:
    okm = crypto.hkdf_sha256(bytes([0x0B] * 22), salt=bytes(range(13)), info=bytes(range(0xF0, 0xFA)), length=42)
    assert okm.hex() == ("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865")


def test_hkdf_rfc5869_case_3_empty_salt_and_info() -> None:
    okm = crypto.hkdf_sha256(bytes([0x0B] * 22), salt=b"", info=b"", length=42)
    assert okm.hex() == ("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8")


def test_blake2b_256_empty() -> None:
    assert crypto.blake2b_256(b"").hex() == "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8"


def test_sealed_box_round_trip_and_tamper() -> None:
    secret = bytes(range(32))
    public = crypto.x25519_public_key(secret)
    sealed = crypto.seal(public, b"epoch key")
    assert len(sealed) == len(b"epoch key") + crypto.SEALED_BOX_OVERHEAD
    assert crypto.seal_open(secret, sealed) == b"epoch key"
    with pytest.raises(CryptoError) as err:
        crypto.seal_open(bytes(range(1, 33)), sealed)
    assert err.value.code == "crypto.decrypt_failed"


def test_argon2id_is_deterministic_and_salted() -> None:
    kw = {"opslimit": 2, "memlimit": 8 * 1024 * 1024}
    a = crypto.argon2id(b"pass", b"s" * 16, **kw)
    assert a == crypto.argon2id(b"pass", b"s" * 16, **kw)
    assert a != crypto.argon2id(b"pass", b"t" * 16, **kw)
    assert len(a) == 32
