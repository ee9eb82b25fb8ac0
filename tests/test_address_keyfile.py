"""Texts people paste (node addresses, invite tokens) and sealed key files: round trips and typed refusals."""

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from holdspace.protocol import codec
from holdspace.protocol.address import AddressError, InviteToken, NodeAddress
from holdspace.protocol.errors import HoldspaceError
from holdspace.protocol.keyfile import KeyfileError, open_secret, seal_secret

NODE = NodeAddress(b"\x11" * 32, "127.0.0.1", 4433)


def test_node_address_round_trip_ipv4_and_ipv6() -> None:
    assert NodeAddress.parse(str(NODE)) == NODE
    v6 = NodeAddress(b"\x11" * 32, "::1", 9)
    assert str(v6).endswith("@[::1]:9")
    assert NodeAddress.parse(str(v6)) == v6


@pytest.mark.parametrize(
    "text",
    [
        "",
        "http://x",
        "holdspace://nope",
        "holdspace://@host:1",
        "holdspace://{id}@host",
        "holdspace://{id}@:5",
        "holdspace://{id}@host:0",
        "holdspace://{id}@host:70000",
        "holdspace://{id}@[::1:5",
        "holdspace:// {id}@host:1",
        "holdspace://{id}\n@host:1",
        "\ufeffholdspace://{id}@host:1",
    ],
)
def test_malformed_node_addresses(text: str) -> None:
    ident = str(NODE).split("//")[1].split("@")[0]
    with pytest.raises(HoldspaceError) as err:
        NodeAddress.parse(text.format(id=ident))
    assert err.value.code in {"address.malformed", "identity.bad_text_id"}


def test_node_address_with_a_mistyped_id() -> None:
    text = str(NODE)
    i = text.index("1") + 5
    typo = text[:i] + ("q" if text[i] != "q" else "p") + text[i + 1 :]
    with pytest.raises(HoldspaceError) as err:
        NodeAddress.parse(typo)
    assert err.value.code == "identity.bad_checksum"


def test_invite_token_round_trip_and_damage() -> None:
    token = InviteToken(b"\x01" * 32, b"\x02" * 32, b"\x03" * 32, (NODE,))
    text = str(token)
    assert InviteToken.parse(text) == token
    assert InviteToken.parse(text[:20] + "\n " + text[20:]) == token  # wrapped by a mail client
    damaged = text[:30] + ("A" if text[30] != "A" else "B") + text[31:]
    for bad in (damaged, text[:-3], "hsinvite:", "hsinvite:!!!", "invite:" + text[9:], text + "x" * 5000):
        with pytest.raises(AddressError) as err:
            InviteToken.parse(bad)
        assert err.value.code == "address.bad_invite"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_gives_only_typed_errors(text: str) -> None:
    for parse in (InviteToken.parse, NodeAddress.parse):
        with contextlib.suppress(HoldspaceError):
            parse(text)


def test_keyfile_round_trip_and_refusals() -> None:
    sealed = seal_secret("pass", b"secret", opslimit=1, memlimit=8192)
    assert open_secret("pass", sealed) == b"secret"
    with pytest.raises(KeyfileError) as err:
        open_secret("wrong", sealed)
    assert err.value.code == "keyfile.bad_passphrase"
    fields = codec.decode(sealed)
    assert isinstance(fields, dict)
    tampered = codec.encode({**fields, "box": bytes([fields["box"][0] ^ 1]) + fields["box"][1:]})
    with pytest.raises(KeyfileError) as err:
        open_secret("pass", tampered)
    assert err.value.code == "keyfile.bad_passphrase"
    for bad in (
        b"",
        b"\xff",
        codec.encode([1]),
        codec.encode({**fields, "v": 2}),
        codec.encode({**fields, "ops": 0}),
        codec.encode({**fields, "kdf": "scrypt"}),
        codec.encode({**fields, "salt": b"short"}),
    ):
        with pytest.raises(KeyfileError) as err:
            open_secret("pass", bad)
        assert err.value.code == "keyfile.malformed"


@settings(max_examples=300)
@given(st.binary(min_size=16, max_size=16))
def test_ipv6_normal_form_is_rfc5952_in_hex_groups_whatever_the_python(packed: bytes) -> None:
    """The normal form of any IPv6 host is RFC 5952 section 4 text with hexadecimal groups only, also for
    IPv4-mapped addresses (whose ``ipaddress`` text changed between Python versions): parsing it again,
    or parsing the dotted spelling, gives the same text."""
    import ipaddress

    address = ipaddress.IPv6Address(packed)
    parsed = NodeAddress.parse(f"holdspace://{str(NODE).split('//')[1].split('@')[0]}@[{address.exploded}]:1")
    assert "." not in parsed.host
    assert ipaddress.IPv6Address(parsed.host) == address
    if address.ipv4_mapped is None:
        assert parsed.host == ipaddress.IPv6Address(packed).compressed
    else:
        dotted = f"::ffff:{address.ipv4_mapped}"
        assert NodeAddress.parse(str(parsed).replace(parsed.host, dotted)).host == parsed.host
    assert NodeAddress.parse(str(parsed)) == parsed


def test_ipv4_mapped_ipv6_host_normal_form(monkeypatch: pytest.MonkeyPatch) -> None:
    """Python 3.13 writes IPv4-mapped addresses dotted (``::ffff:192.0.2.1``); the normal form does not
    follow it, or nodes on different Pythons would disagree on which payloads are well-formed."""
    import ipaddress

    original = ipaddress.IPv6Address.__str__

    def dotted(self: ipaddress.IPv6Address) -> str:
        mapped = self.ipv4_mapped
        return f"::ffff:{mapped}" if mapped is not None else original(self)

    monkeypatch.setattr(ipaddress.IPv6Address, "__str__", dotted)
    ident = str(NODE).split("//")[1].split("@")[0]
    for port, text in enumerate(("::ffff:192.0.2.1", "::FFFF:C000:201", "0:0:0:0:0:ffff:c000:0201"), 40001):
        assert NodeAddress.parse(f"holdspace://{ident}@[{text}]:{port}").host == "::ffff:c000:201"
