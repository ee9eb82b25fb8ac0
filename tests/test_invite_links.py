"""Invite links (spec 14.3): ``https://host[:port]/join#hsinvite:…`` parsed wherever a token is, with
typed refusals; the published vectors; round trips of any origin and token."""

import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from holdspace.protocol.address import AddressError, InviteLink, InviteToken, NodeAddress, web_origin
from holdspace.protocol.errors import HoldspaceError

VECTORS = json.loads((Path(__file__).resolve().parents[1] / "spec" / "vectors" / "invites.json").read_text())
NODE = NodeAddress(b"\x11" * 32, "127.0.0.1", 4433)
TOKEN = InviteToken(b"\x01" * 32, b"\x02" * 32, b"\x03" * 32, (NODE,))


@pytest.mark.parametrize("vec", VECTORS, ids=[v["name"] for v in VECTORS])
def test_invite_vectors(vec: dict[str, object]) -> None:
    text = vec["text"]
    assert isinstance(text, str)
    if "error" in vec:
        with pytest.raises(HoldspaceError) as err:
            InviteToken.parse(text)
        assert err.value.code == vec["error"]
        return
    token = InviteToken.parse(text)
    assert str(token) == vec["token"]
    assert [str(n) for n in token.nodes] == vec["n"]
    if "origin" in vec:
        link = InviteLink.parse(text)
        assert (link.origin, str(link)) == (vec["origin"], vec["link"])
        assert InviteLink.parse(str(link)) == link


def test_vectors_show_every_kind_of_refusal() -> None:
    codes = {v.get("error") for v in VECTORS}
    assert {"address.bad_link", "address.bad_invite", "address.malformed"} <= codes
    assert sum("origin" in v for v in VECTORS) >= 5


def test_a_link_gives_its_token_and_the_token_is_in_the_fragment() -> None:
    link = InviteLink("https://community.example.org:8443", TOKEN)
    text = str(link)
    path_and_after = text.removeprefix("https://community.example.org:8443")
    assert path_and_after.split("#")[0] == "/join"  # what a browser sends: the path, not the token
    assert InviteToken.parse(text) == TOKEN
    assert InviteToken.parse(" " + text[:50] + "\n" + text[50:] + "\n") == TOKEN  # wrapped in a message


@pytest.mark.parametrize(
    ("text", "origin"),
    [
        ("https://a.org", "https://a.org"),
        ("https://A.ORG:443", "https://a.org"),
        ("HTTPS://a.org:8443", "https://a.org:8443"),
        ("https://[::1]:9", "https://[::1]:9"),
        ("https://10.0.0.1", "https://10.0.0.1"),
    ],
)
def test_web_origin_normal_form(text: str, origin: str) -> None:
    assert web_origin(text) == origin


@pytest.mark.parametrize(
    "text",
    [
        "http://a.org",
        "https://",
        "https://a.org/",
        "https://a.org:",
        "https://a.org:65536",
        "https://u@a.org",
        "https://[::1",
        "https://a.org?x",
        "https://ä.org",
        "https://" + "a" * 300,
    ],
)
def test_bad_web_origins(text: str) -> None:
    with pytest.raises(AddressError) as err:
        web_origin(text)
    assert err.value.code == "address.bad_link"


_hosts = st.sampled_from(["a.org", "community.example.org", "192.0.2.1", "[2001:db8::7]", "x-1.y"])


@settings(max_examples=100, deadline=None)
@given(_hosts, st.one_of(st.none(), st.integers(1, 65535)), st.binary(min_size=32, max_size=32))
def test_links_round_trip(host: str, port: int | None, seed: bytes) -> None:
    origin = web_origin(f"https://{host}" + ("" if port is None else f":{port}"))
    link = InviteLink(origin, InviteToken(seed, seed[::-1], seed, (NODE,)))
    assert InviteLink.parse(str(link)) == link
    assert InviteToken.parse(str(link)) == link.token


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_anything_after_a_link_prefix_gives_only_typed_errors(tail: str) -> None:
    for text in (f"https://a.org{tail}", f"https://a.org/join#{tail}", f"https://{tail}/join#{TOKEN}"):
        with contextlib.suppress(HoldspaceError):
            InviteToken.parse(text)
