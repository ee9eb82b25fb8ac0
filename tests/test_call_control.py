"""Call control signals (spec 17.11): hands from anyone; mute-request, piece and remove from
facilitators only, judged by the recipient; each type's data checked; the vectors hold from the
spec alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from holdspace.protocol import calls, codec, crypto
from holdspace.protocol.calls import CONTROL_TYPES, SIGNAL_TYPES, Signal
from holdspace.protocol.errors import CallError, HoldspaceError

VECTORS = json.loads((Path(__file__).resolve().parents[1] / "spec" / "vectors" / "call_signal.json").read_text())
CALL = b"\x07" * 16
SEED = crypto.blake2b_256(b"seed:control")
PK = crypto.ed25519_public_key(SEED)
HEXCHARS = "0123456789abcdef"


def fits(kind: str, data: str) -> bool:
    """The data rule of 17.11's call-control table, written out again from the spec."""
    pseudonym = len(data) == 64 and all(c in HEXCHARS for c in data)
    return {
        "hand": data in ("up", "down"),
        "mute-request": data == "",
        "piece": data == "" or pseudonym,
        "remove": pseudonym,
    }.get(kind, True)


def opened(v: dict[str, object]) -> Signal:
    h = bytes.fromhex
    return calls.open_signal(
        h(str(v["to_x25519_secret"])), h(str(v["group"])), h(str(v["from"])), h(str(v["to"])), h(str(v["box"])),
        int(str(v["now_ms"])),
    )  # fmt: skip


def test_control_vectors_act_only_for_a_facilitator() -> None:
    controls = [v for v in VECTORS if "sender_role" in v]
    assert {v["signal"]["t"] for v in controls} == {"hand", "mute-request", "piece", "remove"}
    refused = 0
    for v in controls:
        signal = opened(v)
        assert signal.type == v["signal"]["t"] and signal.data == v["signal"]["d"], v["name"]
        if "error" in v:
            with pytest.raises(CallError) as err:
                calls.authorise_signal(signal, v["sender_role"])
            assert err.value.code == v["error"] == "call.not_facilitator", v["name"]
            refused += 1
        else:
            calls.authorise_signal(signal, v["sender_role"])
    assert refused >= 3


def test_malformed_control_data_is_refused_before_the_signature() -> None:
    names = {v["name"]: v for v in VECTORS}
    for name in ("a hand neither up nor down", "a mute-request with data", "a remove naming nobody",
                 "a remove naming a pseudonym in upper-case hex", "a piece naming 31 bytes"):  # fmt: skip
        with pytest.raises(CallError) as err:
            opened(names[name])
        assert err.value.code == names[name]["error"] == "call.malformed_signal", name


def test_the_circle_call_id_is_the_vectors_and_one_per_group() -> None:
    (v,) = [v for v in VECTORS if "circle" in v]
    assert calls.circle_call_id(bytes.fromhex(v["group"])).hex() == v["circle"]
    assert calls.circle_call_id(b"\x01" * 32) != calls.circle_call_id(b"\x02" * 32)
    assert len(calls.circle_call_id(b"\x01" * 32)) == calls.CALL_ID_SIZE


@given(
    kind=st.sampled_from(SIGNAL_TYPES),
    data=st.one_of(
        st.sampled_from(["", "up", "down", "sideways", PK.hex(), PK.hex().upper(), PK.hex()[:62]]),
        st.text(alphabet=HEXCHARS + "xyz", max_size=70),
    ),
    role=st.sampled_from([None, "member", "moderator", "facilitator"]),
)
def test_check_and_authorise_follow_the_table(kind: str, data: str, role: str | None) -> None:
    signal = Signal(CALL, kind, data, 1_000)
    if fits(kind, data):
        calls.check_signal(signal)
        decoded, _sig = calls.decode_signal(calls.encode_signal(SEED, b"\x00" * 32, PK, signal))
        assert decoded == signal
    else:
        with pytest.raises(CallError) as err:
            calls.check_signal(signal)
        assert err.value.code == "call.malformed_signal"
        forged = codec.encode({"call": CALL, "t": kind, "d": data, "ts": 1_000, "sig": bytes(64)})
        with pytest.raises(HoldspaceError):
            calls.decode_signal(forged)
        return
    if kind in CONTROL_TYPES and role != "facilitator":
        with pytest.raises(CallError) as err:
            calls.authorise_signal(signal, role)
        assert err.value.code == "call.not_facilitator"
    else:
        calls.authorise_signal(signal, role)
