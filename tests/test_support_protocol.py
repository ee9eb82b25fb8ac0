"""Support-group features at the protocol level: the new control kinds and how the group state applies
them, session schedules, message content, direct messages, disclosures and credentials."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from holdspace.protocol import codec, content, credential, crypto, e2ee, kinds
from holdspace.protocol.errors import ContentError, CredentialError, E2eeError, GroupError
from holdspace.protocol.group import ScheduledSession
from holdspace.protocol.payloads import (
    MODERATOR,
    DirectEnvelope,
    Erase,
    MessageEnvelope,
    Redact,
    Session,
    Trust,
    decode_direct,
    decode_envelope,
    decode_payload,
    envelope_expiry,
)
from holdspace.protocol.schedule import is_zone, occurrences, retention_deadline, upcoming
from tests.group_world import T0, World

LONDON = ZoneInfo("Europe/London")


def _ms(*args: int, tz: ZoneInfo = LONDON) -> int:
    return int(datetime(*args, tzinfo=tz).timestamp() * 1000)  # type: ignore[misc]


def world_with(*names: str, moderator: str | None = None) -> World:
    w = World()
    for name in names:
        w.add(name)
    if moderator:
        w.add(moderator, MODERATOR)
    w.rekey("founder")
    w.deliver_keys()
    return w


def control(w: World, who: str, kind: int, payload: bytes):  # type: ignore[no-untyped-def]
    person = w.people[who]
    return w.publish(who, person.writer.append(kind, payload, w.tick()))


# --- payloads ------------------------------------------------------------------------------


def test_new_payloads_round_trip() -> None:
    deps = (b"\x01" * 32,)
    cases = [
        (kinds.REDACT, Redact(deps, b"\x02" * 32, (b"\x03" * 32, b"\x04" * 32))),
        (kinds.ERASE, Erase(deps, 7)),
        (kinds.SESSION, Session(deps, None, T0, 3_600_000, "Europe/London", ("weekly", 4), 0, False, b"x")),
        (kinds.TRUST, Trust(deps, b"\x05" * 32, True)),
    ]
    for kind, payload in cases:
        assert decode_payload(kind, payload.encode(), b"\x09" * 32) == payload


@pytest.mark.parametrize(
    ("kind", "fields"),
    [
        (kinds.REDACT, {"d": [b"\x01" * 32], "m": b"\x02" * 32, "r": []}),  # nothing to redact
        (kinds.REDACT, {"d": [b"\x01" * 32], "m": b"\x02" * 32, "r": [b"\x04" * 32, b"\x03" * 32]}),  # unsorted
        (kinds.REDACT, {"d": [b"\x01" * 32], "m": b"\x02" * 31, "r": [b"\x03" * 32]}),
        (kinds.ERASE, {"d": [b"\x01" * 32], "s": 0}),
        (kinds.TRUST, {"d": [b"\x01" * 32], "k": b"\x05" * 32, "a": 1}),
        (
            kinds.SESSION,
            {
                "d": [b"\x01" * 32],
                "s": None,
                "st": T0,
                "du": 0,
                "tz": "UTC",
                "rc": None,
                "rt": None,
                "x": False,
                "e": None,
            },
        ),
        (
            kinds.SESSION,
            {
                "d": [b"\x01" * 32],
                "s": None,
                "st": T0,
                "du": 60_000,
                "tz": "UTC",
                "rc": ["monthly", 3],
                "rt": None,
                "x": False,
                "e": None,
            },
        ),
        (
            kinds.SESSION,
            {
                "d": [b"\x01" * 32],
                "s": None,
                "st": T0,
                "du": 60_000,
                "tz": "UTC",
                "rc": ["weekly", 521],
                "rt": None,
                "x": False,
                "e": None,
            },
        ),
    ],
)
def test_malformed_new_payloads_are_refused_with_their_code(kind: int, fields: dict[str, codec.CborValue]) -> None:
    with pytest.raises(GroupError) as err:
        decode_payload(kind, codec.encode(fields), b"\x09" * 32)
    assert err.value.code == "group.malformed_payload"


def test_envelope_expiry_is_optional_and_checked() -> None:
    plain = MessageEnvelope(b"\x01" * 32, 0, b"\x02" * 24, b"\x03" * 40, commitment=bytes(32))
    timed = MessageEnvelope(b"\x01" * 32, 0, b"\x02" * 24, b"\x03" * 40, T0, commitment=bytes(32))
    assert decode_envelope(plain.encode()).expires_ms is None
    assert envelope_expiry(kinds.MESSAGE, timed.encode()) == T0
    bad = codec.encode({"e": b"\x01" * 32, "i": 0, "n": b"\x02" * 24, "c": b"\x03" * 40, "k": bytes(32), "x": -1})
    with pytest.raises(GroupError):
        decode_envelope(bad)


@given(
    st.binary(min_size=32, max_size=32),
    st.integers(0, 2**63 - 1),
    st.binary(min_size=16, max_size=200),
    st.binary(min_size=32, max_size=32),
    st.none() | st.integers(0, 2**63 - 1),
)
def test_envelopes_carry_their_key_commitment_through_the_codec(
    epoch: bytes, index: int, ciphertext: bytes, commitment: bytes, expires: int | None
) -> None:
    """Both envelopes round-trip with their commitment; without it, or with one of another length,
    they are malformed (a node refuses them: spec 13.4, 13.5)."""
    envelope = MessageEnvelope(epoch, index, bytes(24), ciphertext, expires, commitment=commitment)
    assert decode_envelope(envelope.encode()) == envelope
    direct = DirectEnvelope(((epoch, bytes(80)),), bytes(24), ciphertext, expires, commitment=commitment)
    assert decode_direct(direct.encode()) == direct
    for kind, fields in (
        (kinds.MESSAGE, codec.decode(envelope.encode())),
        (kinds.DIRECT, codec.decode(direct.encode())),
    ):
        assert isinstance(fields, dict)
        for wrong in ({k: v for k, v in fields.items() if k != "k"}, dict(fields, k=commitment[:31])):
            with pytest.raises(GroupError) as err:
                envelope_expiry(kind, codec.encode(wrong))
            assert err.value.code == "group.malformed_payload"


# --- group rules ---------------------------------------------------------------------------


def test_authors_redact_their_own_members_cannot_redact_others_moderators_can() -> None:
    w = world_with("ana", "bo", moderator="mo")
    said = w.say("ana", "something I regret")
    other = w.say("ana", "another")
    state = w.state()
    own = control(w, "ana", kinds.REDACT, Redact(state.heads, w.people["ana"].key, (said.entry_id,)).encode())
    by_bo = control(w, "bo", kinds.REDACT, Redact(w.state().heads, w.people["ana"].key, (other.entry_id,)).encode())
    state = w.state()
    assert state.outcomes[own.entry_id] is None
    assert state.outcomes[by_bo.entry_id] == "group.forbidden"
    assert state.deleted(w.people["ana"].key, said.seq, said.entry_id) == "redacted"
    assert state.deleted(w.people["ana"].key, other.seq, other.entry_id) is None
    by_mo = control(w, "mo", kinds.REDACT, Redact(state.heads, w.people["ana"].key, (other.entry_id,)).encode())
    state = w.state()
    assert state.outcomes[by_mo.entry_id] is None
    assert state.deleted(w.people["ana"].key, other.seq, other.entry_id) == "redacted"


def test_a_redaction_naming_the_wrong_author_deletes_nothing() -> None:
    w = world_with("ana", "bo")
    said = w.say("ana", "hello")
    lie = Redact(w.state().heads, w.people["bo"].key, (said.entry_id,))  # bo "redacts his own" -- ana's id
    entry = control(w, "bo", kinds.REDACT, lie.encode())
    state = w.state()
    assert state.outcomes[entry.entry_id] is None  # applied to what bo names...
    assert state.deleted(w.people["ana"].key, said.seq, said.entry_id) is None  # ...which is not ana's message


def test_a_redaction_in_someone_elses_name_cannot_block_the_rightful_one() -> None:
    w = world_with("ana", "bo")
    said = w.say("ana", "hello")
    squat = Redact(w.state().heads, w.people["bo"].key, (said.entry_id,))  # bo names ana's message as his
    control(w, "bo", kinds.REDACT, squat.encode())
    control(w, "ana", kinds.REDACT, Redact(w.state().heads, w.people["ana"].key, (said.entry_id,)).encode())
    assert w.state().deleted(w.people["ana"].key, said.seq, said.entry_id) == "redacted"


def test_an_erasure_cannot_reach_beyond_what_its_author_has_written() -> None:
    w = world_with("ana")
    w.say("ana", "one")
    ahead = control(w, "ana", kinds.ERASE, Erase(w.state().heads, 100).encode())
    assert w.state().outcomes[ahead.entry_id] == "group.bad_target"
    later = w.say("ana", "not erased in advance")
    assert w.state().deleted(w.people["ana"].key, later.seq, later.entry_id) is None


def test_erase_covers_the_authors_log_up_to_its_seq_and_only_members_may_erase() -> None:
    w = world_with("ana", "bo")
    first = w.say("ana", "one")
    second = w.say("ana", "two")
    entry = control(w, "ana", kinds.ERASE, Erase(w.state().heads, second.seq).encode())
    later = w.say("ana", "three")
    state = w.state()
    assert state.outcomes[entry.entry_id] is None
    ana = w.people["ana"].key
    assert state.deleted(ana, first.seq, first.entry_id) == "erased"
    assert state.deleted(ana, second.seq, second.entry_id) == "erased"
    assert state.deleted(ana, later.seq, later.entry_id) is None
    w.remove("founder", "bo")
    gone = control(w, "bo", kinds.ERASE, Erase(w.state().heads, 1).encode())
    assert w.state().outcomes[gone.entry_id] == "group.not_member"


def test_sessions_and_trust_are_for_facilitators() -> None:
    w = world_with("ana")
    spec = Session(w.state().heads, None, T0, 3_600_000, "UTC", None, None, False, None)
    refused = control(w, "ana", kinds.SESSION, spec.encode())
    assert w.state().outcomes[refused.entry_id] == "group.forbidden"
    ok = control(
        w, "founder", kinds.SESSION, Session(w.state().heads, None, T0, 3_600_000, "UTC", None, 0, False, None).encode()
    )
    state = w.state()
    assert state.outcomes[ok.entry_id] is None and ok.entry_id in state.sessions
    cancel = Session(state.heads, ok.entry_id, T0, 3_600_000, "UTC", None, 0, True, None)
    control(w, "founder", kinds.SESSION, cancel.encode())
    state = w.state()
    assert state.sessions[ok.entry_id].cancelled_at_ms is not None
    unknown = Session(state.heads, b"\x07" * 32, T0, 60_000, "UTC", None, None, False, None)
    bad = control(w, "founder", kinds.SESSION, unknown.encode())
    assert w.state().outcomes[bad.entry_id] == "group.bad_target"

    issuer = b"\x05" * 32
    by_member = control(w, "ana", kinds.TRUST, Trust(w.state().heads, issuer, True).encode())
    assert w.state().outcomes[by_member.entry_id] == "group.forbidden"
    control(w, "founder", kinds.TRUST, Trust(w.state().heads, issuer, True).encode())
    assert issuer in w.state().issuers
    control(w, "founder", kinds.TRUST, Trust(w.state().heads, issuer, False).encode())
    assert issuer not in w.state().issuers
    again = control(w, "founder", kinds.TRUST, Trust(w.state().heads, issuer, False).encode())
    assert w.state().outcomes[again.entry_id] == "group.bad_target"


def test_a_removed_moderators_concurrent_redaction_is_void() -> None:
    w = world_with("ana", moderator="mo")
    said = w.say("ana", "hello")
    base = w.state()
    w.remove("founder", "mo", everyone_sees=False)
    mo = w.people["mo"]
    redaction = Redact(base.heads, w.people["ana"].key, (said.entry_id,))
    entry = w.publish("mo", mo.writer.append(kinds.REDACT, redaction.encode(), w.tick()), everyone_sees=False)
    state = w.state()
    assert state.outcomes[entry.entry_id] == "group.concurrent_restriction"
    assert state.deleted(w.people["ana"].key, said.seq, said.entry_id) is None


# --- schedules -----------------------------------------------------------------------------


def _scheduled(
    start: int,
    *,
    tz: str = "Europe/London",
    rc: tuple[str, int] | None = None,
    rt: int | None = None,
    cancelled: int | None = None,
) -> ScheduledSession:
    spec = Session((b"\x01" * 32,), None, start, 5_400_000, tz, rc, rt, cancelled is not None, None)
    return ScheduledSession(b"\x0a" * 32, b"\x0a" * 32, b"\x0b" * 32, spec, cancelled)


def test_weekly_sessions_keep_their_local_time_across_daylight_saving() -> None:
    first = _ms(2026, 3, 19, 19, 0)  # GMT; clocks go forward on 29 March 2026
    occ = occurrences(_scheduled(first, rc=("weekly", 3)))
    assert [o.start_ms for o in occ] == [first, _ms(2026, 3, 26, 19, 0), _ms(2026, 4, 2, 19, 0)]
    assert occ[2].start_ms - occ[1].start_ms == 7 * 86_400_000 - 3_600_000  # one hour less in UTC
    assert all(datetime.fromtimestamp(o.start_ms / 1000, LONDON).hour == 19 for o in occ)


def test_a_local_time_in_the_spring_gap_uses_the_offset_before_the_change() -> None:
    first = _ms(2026, 3, 28, 1, 30)  # the next day 01:30 does not exist in London
    occ = occurrences(_scheduled(first, rc=("daily", 2)))
    assert occ[1].start_ms == first + 86_400_000  # fold=0 in a gap: the offset before (GMT)


def test_unknown_zones_are_read_as_utc_and_cancellation_stops_later_occurrences() -> None:
    start = T0
    occ = occurrences(_scheduled(start, tz="Mars/Olympus", rc=("daily", 5)))
    assert [o.start_ms - start for o in occ] == [k * 86_400_000 for k in range(5)]
    cut = occurrences(_scheduled(start, rc=("daily", 5), cancelled=start + 86_400_000 + 1))
    assert len(cut) == 2


@pytest.mark.parametrize(
    "name", ["localtime", "posixrules", "right/Europe/London", "posix/Europe/London", "europe/london", "Factory"]
)
def test_zone_names_that_differ_between_hosts_are_read_as_utc(name: str) -> None:
    start = _ms(2026, 3, 19, 19, 0)
    occ = occurrences(_scheduled(start, tz=name, rc=("weekly", 3)))
    assert occ[2].start_ms - start == 14 * 86_400_000  # UTC: no summer-time shift


def test_only_zones_read_as_themselves_count_as_zones() -> None:
    assert all(is_zone(z) for z in ("UTC", "Etc/UTC", "Europe/London", "America/Sao_Paulo"))
    assert not any(is_zone(z) for z in ("Mars/Olympus", "localtime", "right/UTC", "europe/london", ""))


def test_session_times_and_zone_names_are_bounded() -> None:
    fields: dict[str, codec.CborValue] = {
        "d": [b"\x01" * 32],
        "s": None,
        "st": T0,
        "du": 60_000,
        "tz": "UTC",
        "rc": ["weekly", 520],
        "rt": None,
        "x": False,
        "e": None,
    }
    decode_payload(kinds.SESSION, codec.encode(fields), b"\x09" * 32)
    for key, bad in (("st", 32_503_680_000_000), ("tz", "../../etc/passwd"), ("tz", "Europe/ London"), ("tz", "")):
        with pytest.raises(GroupError):
            decode_payload(kinds.SESSION, codec.encode({**fields, key: bad}), b"\x09" * 32)
    late = _scheduled(32_503_679_999_999, rc=("weekly", 520))
    assert len(occurrences(late)) == 520  # the latest start allowed still computes every occurrence


def test_retention_applies_to_messages_written_during_an_occurrence() -> None:
    w = World()
    session = _scheduled(T0, rc=("weekly", 2), rt=3_600_000)
    state = w.state()
    state.sessions[session.session_id] = session
    assert retention_deadline(state, T0 + 60_000) == T0 + 5_400_000 + 3_600_000
    week = 7 * 86_400_000
    assert retention_deadline(state, T0 + week + 1) == T0 + week + 5_400_000 + 3_600_000
    assert retention_deadline(state, T0 - 1) is None
    assert retention_deadline(state, T0 + 5_400_000) is None  # the end is not inside
    assert [o.index for o in upcoming(state, T0 + 5_400_000)] == [1]


# --- content -------------------------------------------------------------------------------

ids = st.binary(min_size=32, max_size=32)
short = st.text(min_size=1, max_size=8)  # at most 32 bytes of UTF-8
contents = st.one_of(
    st.builds(content.Text, st.text(max_size=200), st.none() | short),
    st.builds(content.Reaction, ids, st.sampled_from(content.REACTIONS), st.booleans()),
    st.builds(content.CheckIn, st.integers(1, 5), st.none() | short, st.none() | st.tuples(ids, st.integers(0, 600))),
    st.builds(content.Rsvp, ids, st.integers(0, 600), st.sampled_from(content.RSVP_ANSWERS)),
    st.builds(content.Turn, ids, st.integers(0, 600), st.none() | ids),
    st.builds(content.Pin, short),
    st.builds(content.CredentialPost, st.binary(max_size=100)),
    st.builds(content.RevocationPost, st.binary(max_size=100)),
    st.builds(
        content.Report,
        st.builds(content.Disclosure, st.binary(max_size=50), st.binary(max_size=50), ids),
        st.text(max_size=50),
    ),
    st.builds(content.Quote, st.builds(content.Disclosure, st.binary(max_size=50), st.binary(max_size=50), ids)),
    st.builds(content.SessionDetails, short, st.none() | short),
)


@given(contents)
def test_content_round_trips(value: content.Content) -> None:
    assert content.decode_content(content.encode_content(value)) == value


@given(st.binary(max_size=300))
def test_decoding_any_bytes_gives_content_or_a_typed_error(raw: bytes) -> None:
    try:
        content.decode_content(raw)
    except ContentError as err:
        assert err.code == "content.malformed"


def test_unknown_content_types_are_shown_not_refused() -> None:
    assert content.decode_content(codec.encode({"t": "poll", "q": "?"})) == content.Unknown("poll")
    with pytest.raises(ContentError):
        content.decode_content(codec.encode({"t": "react", "m": b"\x01" * 32, "r": "angry"}))  # not in the set
    with pytest.raises(ContentError):
        content.decode_content(codec.encode({"t": "checkin", "m": 6}))


# --- direct messages and disclosures -------------------------------------------------------


def test_direct_messages_open_for_recipients_only() -> None:
    w = world_with("ana", "bo")
    founder, ana, bo = (w.people[n] for n in ("founder", "ana", "bo"))
    recipients = {founder.key: founder.writer.me.x_public_key}
    plaintext = content.encode_content(content.CheckIn(2, "tired"))
    direct, key = e2ee.seal_direct(w.group_id, ana.key, ana.writer.seq + 1, recipients, plaintext)
    entry = w.publish("ana", ana.writer.append(kinds.DIRECT, direct.encode(), w.tick()))
    decoded = decode_direct(entry.payload or b"")
    assert founder.keys.open_direct(entry.author, entry.seq, decoded) == (plaintext, key)
    with pytest.raises(E2eeError) as err:
        bo.keys.open_direct(entry.author, entry.seq, decoded)
    assert err.value.code == "e2ee.not_recipient"
    with pytest.raises(E2eeError):
        e2ee.seal_direct(w.group_id, ana.key, 9, {}, plaintext)


def test_a_disclosed_message_key_proves_exactly_the_reported_words() -> None:
    w = world_with("ana", "bo")
    said = w.say("ana", "placeholder")  # advance ana's chain so the reported message is not at index 0
    ana, bo = w.people["ana"], w.people["bo"]
    epoch = w.state().current_epoch
    assert epoch is not None
    words = content.encode_content(content.Text("the words to report"))
    envelope = ana.keys.encrypt(epoch.entry_id, ana.writer.seq + 1, words)
    reported = w.publish("ana", ana.writer.append(kinds.MESSAGE, envelope.encode(), w.tick()))
    w.read("bo", said)
    plaintext, mk = bo.keys.decrypt_keyed(reported.author, reported.seq, decode_envelope(reported.payload or b""))
    assert plaintext == words
    disclosure = content.Disclosure(reported.raw, reported.payload or b"", mk)
    entry, opened = content.verify_disclosure(w.group_id, disclosure)
    assert entry.author == ana.key and opened == words
    # the key opens that message only: not the one before it
    earlier = content.Disclosure(said.raw, said.payload or b"", mk)
    with pytest.raises(ContentError) as err:
        content.verify_disclosure(w.group_id, earlier)
    assert err.value.code == "content.bad_disclosure"
    # altered words (a payload the author did not sign) fail the signature check
    forged = bytearray(reported.payload or b"")
    forged[-1] ^= 1
    with pytest.raises(ContentError):
        content.verify_disclosure(w.group_id, content.Disclosure(reported.raw, bytes(forged), mk))
    with pytest.raises(ContentError):
        content.verify_disclosure(b"\x00" * 32, disclosure)  # another group


# --- credentials ---------------------------------------------------------------------------

ISSUER = b"\x11" * 32
SUBJECT = b"\x22" * 32
GROUP = b"\x33" * 32


def _attestation(**overrides: object) -> credential.Attestation:
    fields: dict[str, object] = {
        "subject": SUBJECT,
        "role": "licensed counsellor",
        "not_before_ms": T0,
        "expires_ms": T0 + 1000,
        "serial": b"\x01" * 16,
        "group": None,
    }
    fields.update(overrides)
    return credential.issue(ISSUER, **fields)  # type: ignore[arg-type]


def _badge(raw: bytes, *, now: int = T0 + 1, issuers: tuple[bytes, ...] | None = None, revocations=()):  # type: ignore[no-untyped-def]
    trusted = issuers if issuers is not None else (crypto.ed25519_public_key(ISSUER),)
    return credential.check_badge(
        raw, subject=SUBJECT, group=GROUP, issuers=trusted, revocations=revocations, now_ms=now
    )


def test_badges_verify_only_when_everything_checks_out() -> None:
    good = _attestation()
    assert _badge(good.raw).verified
    assert _badge(good.raw, now=T0 + 1000).code == "credential.expired"
    assert _badge(good.raw, now=T0 - 1).code == "credential.not_yet_valid"
    assert _badge(good.raw, issuers=()).code == "credential.untrusted_issuer"
    assert _badge(_attestation(subject=b"\x44" * 32).raw).code == "credential.wrong_subject"
    assert _badge(_attestation(group=b"\x55" * 32).raw).code == "credential.wrong_group"
    assert _badge(_attestation(group=GROUP).raw).verified
    revocation = credential.revoke(ISSUER, good.credential_id, T0)
    assert _badge(good.raw, revocations=[revocation.raw]).code == "credential.revoked"
    other_issuer = credential.revoke(b"\x66" * 32, good.credential_id, T0)  # only the issuer can revoke
    assert _badge(good.raw, revocations=[other_issuer.raw]).verified
    tampered = bytearray(good.raw)
    tampered[tampered.index(b"counsellor")] ^= 0x20
    assert _badge(bytes(tampered)).code == "credential.bad_signature"
    assert _badge(b"\xa0").code == "credential.malformed"
    fields = codec.decode(good.raw, max_size=600)
    assert isinstance(fields, dict)
    fields["v"] = True  # a boolean is not the version 1
    assert _badge(codec.encode(fields)).code == "credential.malformed"


@given(st.binary(max_size=600))
def test_decoding_any_bytes_as_a_credential_gives_a_typed_error(raw: bytes) -> None:
    try:
        credential.decode_attestation(raw)
    except CredentialError as err:
        assert err.code.startswith("credential.")


def test_a_day_long_daily_session_overlaps_itself_when_clocks_go_forward() -> None:
    w = World()
    start = _ms(2026, 3, 28, 12, 0)  # daily, 24 h long; the next local noon comes 23 h later
    spec = Session((b"\x01" * 32,), None, start, 86_400_000, "Europe/London", ("daily", 2), 0, False, None)
    session = ScheduledSession(b"\x0a" * 32, b"\x0a" * 32, b"\x0b" * 32, spec, None)
    state = w.state()
    state.sessions[session.session_id] = session
    overlap = start + 23 * 3_600_000 + 1  # in both occurrences: the earlier end governs
    assert retention_deadline(state, overlap) == start + 86_400_000
