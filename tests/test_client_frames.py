"""Client frames built by splicing stored bytes equal the canonical encoding of what they carry."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from holdspace.protocol import codec, frames
from holdspace.protocol.errors import CODES

cursors = st.integers(0, 2**64 - 1)
stored = st.tuples(st.binary(max_size=1100), st.none() | st.binary(max_size=3000))


@given(cursors, stored)
def test_an_entry_item_is_the_stored_entry_after_its_cursor(cursor: int, entry: tuple[bytes, bytes | None]) -> None:
    header, payload = entry
    assert frames.entry_item(cursor, codec.encode([header, payload])) == codec.encode([cursor, header, payload])


ids = st.integers(0, 2**64 - 1)


@given(st.lists(st.tuples(cursors, stored), max_size=40), cursors, st.booleans(), ids)
def test_spliced_events_and_fetch_results_are_canonical(
    items: list[tuple[int, tuple[bytes, bytes | None]]], next_cursor: int, more: bool, rid: int
) -> None:
    encoded = [frames.entry_item(c, codec.encode([h, p])) for c, (h, p) in items]
    plain = [[c, h, p] for c, (h, p) in items]
    event = frames.encode_entries_event(rid, encoded, next_cursor)
    assert event == frames.encode_client_event(rid, "entries", entries=plain, next=next_cursor)  # type: ignore[arg-type]
    assert frames.decode_reply(event) == frames.Reply(
        rid, "ev", {"ev": "entries", "entries": plain, "next": next_cursor}
    )  # type: ignore[dict-item]
    fetched = frames.encode_fetch_ok(rid, encoded, next_cursor, more)
    assert fetched == frames.encode_answer(rid, {"entries": plain, "next": next_cursor, "more": more})  # type: ignore[dict-item]


# -- the session frames (spec 14.1): requests and answers with ids -------------------------------------

keys = st.binary(min_size=32, max_size=32)
requests = st.one_of(
    st.builds(lambda v: ("hello", {"v": v}), cursors),
    st.builds(lambda k, sig: ("auth", {"k": k, "sig": sig}), keys, st.binary(min_size=64, max_size=64)),
    st.builds(lambda e, b: ("publish", {"e": e, "b": b}), st.binary(max_size=1024), st.none() | st.binary(max_size=64)),
    st.builds(
        lambda g, a, n: ("fetch", {"g": g, "after": a, "limit": n}), keys, cursors, st.integers(1, frames.MAX_FETCH)
    ),
    st.builds(lambda g, a: ("subscribe", {"g": g, "after": a}), keys, cursors),
    st.builds(lambda sub: ("cancel", {"sub": sub}), ids),
    st.builds(lambda g: ("state", {"g": g}), keys),
    st.builds(lambda g, k: ("identity", {"g": g, "k": k}), keys, keys),
)


@given(ids, requests)
def test_a_request_round_trips_with_its_id(rid: int, request: tuple[str, dict[str, codec.CborValue]]) -> None:
    op, fields = request
    data = frames.encode_client_request(rid, op, **fields)
    decoded = frames.decode_client_request(data)
    assert (decoded.rid, decoded.op, dict(decoded.fields)) == (rid, op, fields)
    # without its id the same request is refused naming no id (a version-1 hello: bad_version)
    with pytest.raises(frames.FrameError) as info:
        frames.decode_client_request(frames.encode_request(op, **fields))
    assert info.value.rid is None
    assert info.value.code == ("proto.bad_version" if op == "hello" else "proto.malformed_frame")
    # an extra field is refused naming the id
    with pytest.raises(frames.FrameError) as info:
        frames.decode_client_request(frames.encode_client_request(rid, op, **fields, extra=1))
    assert (info.value.rid, info.value.code) == (rid, "proto.malformed_frame")


results = st.dictionaries(st.text(max_size=8), cursors | st.binary(max_size=40) | st.none(), max_size=5)
codes = st.sampled_from(sorted(CODES))


@given(ids, results, codes, st.text(max_size=600))
def test_answers_round_trip_with_their_ids(rid: int, result: dict[str, codec.CborValue], code: str, msg: str) -> None:
    ok = frames.decode_reply(frames.encode_answer(rid, result))
    assert (ok.rid, ok.kind, ok.body, ok.final, ok.result()) == (rid, "ok", result, True, result)
    err = frames.decode_reply(frames.encode_refusal(rid, code, msg))
    assert (err.rid, err.kind, err.final) == (rid, "err", True)
    with pytest.raises(frames.RemoteError) as info:
        err.result()
    assert (info.value.code, info.value.message) == (code, msg[:500] or CODES[code])
    closing = frames.decode_reply(frames.encode_refusal(None, code, msg))
    assert (closing.rid, closing.kind) == (None, "err")
    event = frames.decode_reply(frames.encode_client_event(rid, "subscribed", next=rid))
    assert (event.rid, event.kind, event.final, event.body) == (rid, "ev", False, {"ev": "subscribed", "next": rid})


@given(st.binary(max_size=300))
def test_session_decoders_give_typed_errors_only(data: bytes) -> None:
    try:
        request = frames.decode_client_request(data)
    except frames.FrameError as err:
        assert err.code in CODES and (err.rid is None or err.rid >= 0)
    else:
        assert request.rid >= 0
    try:
        frames.decode_reply(data)
    except frames.ProtocolError as err:
        assert err.code == "proto.malformed_frame"


@given(st.one_of(results, st.lists(cursors, max_size=3)), st.sampled_from(["ok", "err", "ev", "id", "x"]))
def test_replies_of_the_wrong_shape_are_malformed(body: codec.CborValue, key: str) -> None:
    frame = codec.encode({key: body})  # no id: only an error may lack one, and only a well-formed error
    with pytest.raises(frames.ProtocolError) as info:
        frames.decode_reply(frame)
    assert info.value.code == "proto.malformed_frame"
