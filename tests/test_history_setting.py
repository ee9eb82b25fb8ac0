"""History visibility (spec 12.2, 13.1): ``hv`` is "joined", "shared" or 1..365 days, in genesis and
settings alike; a rekey may carry earlier keys in ``h`` only when it is not "joined"."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from holdspace.protocol import codec, e2ee, kinds
from holdspace.protocol.errors import HoldspaceError
from holdspace.protocol.payloads import MAX_HISTORY_DAYS, Rekey, Settings, decode_payload, is_history
from tests.group_world import World

AUTHOR = b"\x01" * 32
DEPS = (b"\x02" * 32,)

hv_values = st.one_of(
    st.sampled_from(["joined", "shared", "Joined", "", "days", 0, 1, 7, 365, 366, -1, True, False, None, 2**64 - 1]),
    st.integers(-10, 1000),
    st.text(max_size=8),
)


@given(hv_values)
def test_settings_hv_is_accepted_exactly_when_it_is_a_history_visibility(hv: object) -> None:
    payload = codec.encode({"d": list(DEPS), "hv": hv, "e": None})  # type: ignore[dict-item]
    expected = hv in ("joined", "shared") or (type(hv) is int and 1 <= hv <= MAX_HISTORY_DAYS)
    assert is_history(hv) is expected
    if expected:
        decoded = decode_payload(kinds.SETTINGS, payload, AUTHOR)
        assert isinstance(decoded, Settings) and decoded.history == hv
        assert decoded.encode() == payload  # the same bytes again
    else:
        with pytest.raises(HoldspaceError) as err:
            decode_payload(kinds.SETTINGS, payload, AUTHOR)
        assert err.value.code == "group.malformed_payload"


def _sharing(w: World, to: bytes) -> Rekey:
    state = w.view("founder")
    base = e2ee.make_rekey(state, state.heads, w.people["founder"].writer.me, e2ee.new_epoch_key())
    return Rekey(base.deps, base.sealed, None, ((to, b"\x00" * 80),))


@pytest.mark.parametrize(("hv", "outcome"), [("joined", "group.bad_recipients"), (3, None), ("shared", None)])
def test_a_rekey_carries_history_only_when_the_setting_is_not_joined(hv: str | int, outcome: str | None) -> None:
    w = World()
    founder = w.people["founder"].writer
    w.publish("founder", founder.append(kinds.SETTINGS, Settings(w.view("founder").heads, hv, None).encode(), w.tick()))
    ana = w.add("ana")
    entry = w.publish("founder", founder.append(kinds.REKEY, _sharing(w, ana.key).encode(), w.tick()))
    assert w.state().outcomes[entry.entry_id] == outcome
    assert w.state().history == hv


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.binary(min_size=32, max_size=32), st.binary(min_size=32, max_size=32)), max_size=600))
def test_history_blobs_round_trip_up_to_512_epochs(pairs: list[tuple[bytes, bytes]]) -> None:
    if len(pairs) > e2ee.MAX_HISTORY_EPOCHS:
        with pytest.raises(HoldspaceError) as err:
            e2ee.encode_history_blob(pairs)
        assert err.value.code == "e2ee.history_too_long"
        with pytest.raises(HoldspaceError) as err:
            e2ee.decode_history_blob(codec.encode([list(p) for p in pairs]))
        assert err.value.code == "e2ee.history_too_long"
    else:
        assert e2ee.decode_history_blob(e2ee.encode_history_blob(pairs)) == pairs


@pytest.mark.parametrize(
    "blob", [b"\xff", codec.encode({}), codec.encode([[b"\x00" * 32]]), codec.encode([[b"a", b"b"]])]
)
def test_a_malformed_history_blob_is_refused_whole(blob: bytes) -> None:
    with pytest.raises(HoldspaceError) as err:
        e2ee.decode_history_blob(blob)
    assert err.value.code == "crypto.decrypt_failed"
