"""Who the group is and who is who, at the protocol level (spec 14.3, 17.12-17.15): the profile,
display-name and edit content, replies, the group's name in an invite, labels that cannot be ground,
and names that look alike."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from holdspace.protocol import codec, content, crypto
from holdspace.protocol.address import MAX_INVITE_NAME, AddressError, InviteToken, NodeAddress
from holdspace.protocol.errors import ContentError
from holdspace.protocol.identity import Pseudonym
from holdspace.protocol.labels import CONFUSABLES, label, long_label, shown_names, skeleton
from holdspace.protocol.oneline import clip, is_one_line
from holdspace.protocol.textid import NODE_PREFIX, encode_id

ids = st.binary(min_size=32, max_size=32)
one_line = st.text(min_size=1, max_size=20).filter(lambda t: is_one_line(t) and len(t.encode()) <= 64)
bodies = st.text(max_size=200)
warnings = st.none() | st.text(min_size=1, max_size=30)
NODE = NodeAddress.parse(f"holdspace://{encode_id(NODE_PREFIX, Pseudonym.generate().public_key)}@node.example:4433")


@given(name=one_line, description=st.none() | st.text(min_size=1, max_size=100), guidelines=warnings)
def test_profile_round_trips(name: str, description: str | None, guidelines: str | None) -> None:
    c = content.Profile(name, description, guidelines)
    assert content.decode_content(content.encode_content(c)) == c


@given(name=st.none() | one_line)
def test_display_name_round_trips(name: str | None) -> None:
    c = content.DisplayName(name)
    assert content.decode_content(content.encode_content(c)) == c


@given(target=ids, body=bodies, warning=warnings)
def test_edit_and_reply_round_trip(target: bytes, body: str, warning: str | None) -> None:
    for c in (content.Edit(target, body, warning), content.Text(body, warning, target)):
        assert content.decode_content(content.encode_content(c)) == c


@pytest.mark.parametrize(
    "fields",
    [
        {"t": "name", "n": "Fay\u202e"},  # a right-to-left override
        {"t": "name", "n": "F\u200bay"},  # a zero-width space
        {"t": "name", "n": " Fay"},
        {"t": "name", "n": "Fay\nFacilitator"},
        {"t": "name", "n": ""},
        {"t": "name", "n": "x" * 65},
        {"t": "profile", "n": "Thursday\u2028circle"},
        {"t": "profile", "n": "x" * 65},
        {"t": "profile", "n": "Circle", "g": ""},
        {"t": "profile", "n": "Circle", "d": "x" * 2001},
        {"t": "edit", "m": bytes(31), "b": "x"},
        {"t": "edit", "b": "x"},
        {"t": "text", "b": "x", "re": "not an id"},
    ],
)
def test_malformed_names_profiles_and_edits_are_refused_with_a_code(fields: dict[str, codec.CborValue]) -> None:
    with pytest.raises(ContentError) as err:
        content.decode_content(codec.encode(fields))
    assert err.value.code == "content.malformed"


@given(name=one_line)
def test_an_invite_carries_the_groups_name_and_stays_small(name: str) -> None:
    bare = InviteToken(b"\x01" * 32, b"\x02" * 32, b"\x03" * 32, (NODE,))
    named = InviteToken(b"\x01" * 32, b"\x02" * 32, b"\x03" * 32, (NODE,), name)
    assert InviteToken.parse(str(named)) == named
    assert InviteToken.parse(str(bare)).name is None
    assert len(str(named)) - len(str(bare)) <= 90  # the bound 14.3 states, for any name of 64 bytes


def test_an_invite_with_a_bad_name_is_refused() -> None:
    token = InviteToken(b"\x01" * 32, b"\x02" * 32, b"\x03" * 32, (NODE,), "x" * (MAX_INVITE_NAME + 1))
    with pytest.raises(AddressError) as err:
        InviteToken.parse(str(token))
    assert err.value.code == "address.bad_invite"
    for bad in ("", "two\nlines", "hidden\u202e"):
        with pytest.raises(AddressError):
            InviteToken.parse(str(InviteToken(b"\x01" * 32, b"\x02" * 32, b"\x03" * 32, (NODE,), bad)))


@given(text=st.text(max_size=200))
def test_clip_makes_any_text_a_valid_name_or_nothing(text: str) -> None:
    out = clip(text, MAX_INVITE_NAME)
    assert out is None or (is_one_line(out) and len(out.encode()) <= MAX_INVITE_NAME)
    assert clip("  Thursday \n grief\u202ecircle ", 64) == "Thursday grief circle"


def test_a_label_is_four_words_of_44_bits_and_the_long_label_extends_it() -> None:
    key = Pseudonym.derive(bytes(32), b"group:x").public_key
    words = label(key).split(" ")
    assert len(words) == 4 and long_label(key).split(" ")[:4] == words
    digest = int.from_bytes(crypto.blake2b_256(b"holdspace/v1/label" + key), "big")
    from holdspace.protocol.backup import WORDLIST

    assert words[0] == WORDLIST[digest >> 245]
    # 500 keys, 500 labels: a five-digit number would already collide here about 1 time in 1.3
    keys = [Pseudonym.derive(bytes(32), b"group:%d" % i).public_key for i in range(500)]
    assert len({label(k) for k in keys}) == 500


@pytest.mark.parametrize(
    ("a", "b"),
    [("Fay", "FAY"), ("Fay", "F a y!"), ("Fay", "F\u0430y"), ("Sam", "Sarn"), ("Olivia", "0l1v1a"), ("Zoë", "Zoe"),
     ("ﬁona", "fiona"), ("Fay", "Fay\u0301")],
)  # fmt: skip
def test_names_that_look_alike_have_one_skeleton(a: str, b: str) -> None:
    assert skeleton(a) == skeleton(b)


def test_different_names_keep_different_skeletons() -> None:
    assert len({skeleton(n) for n in ("Fay", "Kay", "Sam", "Ana", "Bo", "Facilitator Fay")}) == 6
    assert all(len(k) == 1 for k in CONFUSABLES)


def test_a_member_who_takes_the_facilitators_name_is_told_apart_and_flagged() -> None:
    fay, mallory, bo = (Pseudonym.derive(bytes(32), n).public_key for n in (b"fay", b"mallory", b"bo"))
    shown = shown_names({fay: "Fay", mallory: "F\u0430y", bo: "Bo"})  # a Cyrillic a in mallory's
    assert shown[fay].lookalike and shown[mallory].lookalike and not shown[bo].lookalike
    assert shown[fay].text == f"Fay ({label(fay)})" and shown[mallory].text == f"F\u0430y ({label(mallory)})"
    assert shown[bo].text == "Bo"
    assert skeleton(shown[fay].text) != skeleton(shown[mallory].text)


def test_a_display_name_copying_a_label_and_an_equal_suffix_escalate_to_long_labels() -> None:
    ana, cy = (Pseudonym.derive(bytes(32), n).public_key for n in (b"ana", b"cy"))
    shown = shown_names({ana: label(cy), cy: None})
    assert shown[cy].suffix == long_label(cy) and shown[ana].suffix == label(ana)
    # a display name that copies another's name with its suffix: both flagged, told apart
    shown = shown_names({ana: f"Fay ({label(cy)})", cy: "Fay"})
    assert shown[ana].lookalike and shown[cy].lookalike
    assert shown[cy].text == f"Fay ({label(cy)})" and shown[ana].text == f"Fay ({label(cy)}) ({label(ana)})"
    assert skeleton(shown[ana].text) != skeleton(shown[cy].text)
