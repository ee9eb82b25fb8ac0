import pytest
from hypothesis import given
from hypothesis import strategies as st

from holdspace.protocol import codec, identity, signing, textid
from holdspace.protocol.errors import IdentityError

MASTER = bytes(range(32))


def test_text_id_round_trip_and_prefix() -> None:
    p = identity.Pseudonym.generate()
    text = p.text_id
    assert text.startswith("hsp1") and len(text) == 62
    assert identity.parse_pseudonym_id(text) == p.public_key
    assert identity.parse_pseudonym_id(text.upper()) == p.public_key


def test_text_id_detects_every_single_typo() -> None:
    text = identity.Pseudonym.derive(MASTER, b"x").text_id
    charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
    for i in range(4, len(text)):
        for c in charset:
            if c == text[i]:
                continue
            typo = text[:i] + c + text[i + 1 :]
            with pytest.raises(IdentityError) as err:
                identity.parse_pseudonym_id(typo)
            assert err.value.code == "identity.bad_checksum"


def test_text_id_detects_transposition() -> None:
    text = identity.Pseudonym.derive(MASTER, b"x").text_id
    for i in range(4, len(text) - 1):
        if text[i] == text[i + 1]:
            continue
        swapped = text[:i] + text[i + 1] + text[i] + text[i + 2 :]
        with pytest.raises(IdentityError):
            identity.parse_pseudonym_id(swapped)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hsp1",
        "hsn1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq",
        "hsp1bbbbbb",
        "HsP1abc",
        "hsp1é",
    ],
)
def test_malformed_text_ids(text: str) -> None:
    with pytest.raises(IdentityError) as err:
        identity.parse_pseudonym_id(text)
    assert err.value.code in {"identity.bad_text_id", "identity.bad_checksum"}


def test_wrong_length_payload_is_refused() -> None:
    text = textid.encode_id("hsp", b"\x01" * 31)
    with pytest.raises(IdentityError) as err:
        identity.parse_pseudonym_id(text)
    assert err.value.code == "identity.bad_text_id"


@given(st.binary(min_size=32, max_size=32))
def test_text_id_round_trips_any_key(key: bytes) -> None:
    assert textid.decode_id("hsg", textid.encode_id("hsg", key)) == key


def test_fingerprint_shape_and_stability() -> None:
    p = identity.Pseudonym.derive(MASTER, b"ctx")
    fp = identity.fingerprint(p.public_key)
    groups = fp.split(" ")
    assert len(groups) == 4 and all(len(g) == 5 and g.isdigit() for g in groups)
    assert fp == identity.fingerprint(p.public_key)
    assert fp != identity.fingerprint(identity.Pseudonym.derive(MASTER, b"other").public_key)


def test_derivation_is_deterministic_and_per_context() -> None:
    gid1, gid2 = b"\x01" * 32, b"\x02" * 32
    a = identity.Pseudonym.derive(MASTER, identity.group_context(gid1))
    assert a == identity.Pseudonym.derive(MASTER, identity.group_context(gid1))
    b = identity.Pseudonym.derive(MASTER, identity.group_context(gid2))
    c = identity.Pseudonym.derive(bytes(32), identity.group_context(gid1))
    keys = {a.public_key, b.public_key, c.public_key, a.x_public_key, b.x_public_key, c.x_public_key}
    assert len(keys) == 6
    # the signing and key-agreement halves are independent derivations, not one key reused
    assert a.seed != a.x_secret


def test_derivation_rejects_bad_inputs() -> None:
    with pytest.raises(IdentityError):
        identity.Pseudonym.derive(b"short", b"ctx")
    with pytest.raises(IdentityError):
        identity.Pseudonym.derive(MASTER, b"")
    with pytest.raises(IdentityError):
        identity.Pseudonym.derive(MASTER, b"x" * 65)


def test_secrets_not_in_repr() -> None:
    p = identity.Pseudonym.derive(MASTER, b"ctx")
    text = repr(p)
    assert p.seed.hex() not in text and p.x_secret.hex() not in text
    assert repr(p.seed) not in text


def test_identity_document_round_trip() -> None:
    p = identity.Pseudonym.derive(MASTER, b"ctx")
    raw = p.identity_document(1_700_000_000_000, "River")
    doc = identity.verify_identity_document(raw)
    assert (doc.public_key, doc.x_public_key, doc.display_name) == (p.public_key, p.x_public_key, "River")
    anonymous = identity.verify_identity_document(p.identity_document(5))
    assert anonymous.display_name is None


def test_identity_document_rejections() -> None:
    p = identity.Pseudonym.derive(MASTER, b"ctx")
    other = identity.Pseudonym.derive(MASTER, b"other")
    fields = codec.decode(p.identity_document(7, "A"))
    assert isinstance(fields, dict)

    def code_of(raw: bytes) -> str:
        with pytest.raises(IdentityError) as err:
            identity.verify_identity_document(raw)
        return err.value.code

    swapped = dict(fields, x=other.x_public_key)  # someone substitutes their own key-agreement key
    assert code_of(codec.encode(swapped)) == "identity.bad_signature"
    assert code_of(codec.encode(dict(fields, v=2))) == "identity.malformed_document"
    assert code_of(codec.encode(dict(fields, extra=1))) == "identity.malformed_document"
    assert code_of(b"\xa1") == "identity.malformed_document"
    assert code_of(codec.encode([1, 2])) == "identity.malformed_document"
    assert code_of(codec.encode(dict(fields, n="x" * 200))) == "identity.malformed_document"
    no_sig = {k: v for k, v in fields.items() if k != signing.SIG}
    assert code_of(codec.encode(no_sig)) == "identity.malformed_document"
    zero_key = signing.sign_fields(signing.DOMAIN_IDENTITY, dict(no_sig, k=bytes(32)), p.seed)
    assert code_of(codec.encode(zero_key)) == "identity.bad_key"


def test_identity_signature_not_valid_as_entry_signature() -> None:
    """Domain separation: the same fields signed for one object type do not verify as another."""
    p = identity.Pseudonym.derive(MASTER, b"ctx")
    fields = {"v": 1, "k": p.public_key}
    signed = signing.sign_fields(signing.DOMAIN_IDENTITY, fields, p.seed)
    assert signing.verify_fields(signing.DOMAIN_IDENTITY, signed, p.public_key)
    assert not signing.verify_fields(signing.DOMAIN_ENTRY, signed, p.public_key)


def test_identity_document_rejects_small_order_x25519_and_huge_timestamps() -> None:
    p = identity.Pseudonym.derive(MASTER, b"ctx")
    fields = {"v": 1, "k": p.public_key, "x": bytes(32), "t": 1}
    raw = codec.encode(signing.sign_fields(signing.DOMAIN_IDENTITY, fields, p.seed))
    with pytest.raises(IdentityError) as err:
        identity.verify_identity_document(raw)
    assert err.value.code == "identity.bad_key"
    fields = {"v": 1, "k": p.public_key, "x": p.x_public_key, "t": 2**63}
    raw = codec.encode(signing.sign_fields(signing.DOMAIN_IDENTITY, fields, p.seed))
    with pytest.raises(IdentityError) as err:
        identity.verify_identity_document(raw)
    assert err.value.code == "identity.malformed_document"
