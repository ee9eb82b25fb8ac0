"""The published vectors are exactly what the code produces, and the spec names every error code."""

import importlib.util
import json
from pathlib import Path

import pytest

from holdspace.protocol import codec, frames
from holdspace.protocol.errors import CODES

SPEC = Path(__file__).resolve().parents[1] / "spec"


def _generator():
    spec = importlib.util.spec_from_file_location("generate_vectors", SPEC / "generate_vectors.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN = _generator()
BUILT = GEN.build()


@pytest.mark.parametrize("name", sorted(BUILT))
def test_checked_in_vectors_match_the_code(name: str) -> None:
    path = SPEC / "vectors" / name
    assert path.exists(), f"{path} missing: run python spec/generate_vectors.py"
    assert path.read_text() == GEN.render(BUILT[name]), f"{name} is stale: run python spec/generate_vectors.py"


def test_vectors_cover_enough_cases() -> None:
    assert sum(len(v) for v in BUILT.values()) >= 30
    every = {vec["error"] for vectors in BUILT.values() for vec in vectors if "error" in vec}
    for code in CODES:
        family = code.split(".")[0]
        if family in {"entry", "log"}:
            assert code in every, f"no vector shows {code}"


def test_spec_error_table_is_current() -> None:
    text = (SPEC / "protocol.md").read_text()
    assert text == GEN.spec_with_error_table(text), "stale error table: run python spec/generate_vectors.py"


def test_spec_documents_every_error_code() -> None:
    text = "\n".join(p.read_text() for p in SPEC.glob("*.md"))
    missing = [code for code in CODES if f"`{code}`" not in text]
    assert not missing, f"spec/ does not document: {missing}"


def test_conversation_vector_decrypts_from_the_spec_alone() -> None:
    """Re-derive every message of the published conversation using only primitives and spec 13."""
    import hashlib
    import hmac
    import json

    from holdspace.protocol import codec, crypto
    from holdspace.protocol.content import Text, decode_content

    (vec,) = json.loads((SPEC / "vectors" / "group_conversation.json").read_text())
    entries = {e["entry_id"]: e for e in vec["entries"]}
    group_id = bytes.fromhex(vec["final_state"]["group_id"])
    for message in vec["messages"]:
        entry = entries[message["entry_id"]]
        envelope = codec.decode(bytes.fromhex(entry["payload"]))
        epoch_key = bytes.fromhex(vec["epoch_keys"][message["epoch"]])
        author = bytes.fromhex(entry["author"])
        ck = crypto.hkdf_sha256(epoch_key, salt=b"holdspace/v1/chain", info=author)
        for _ in range(envelope["i"]):
            ck = hmac.new(ck, b"\x02", hashlib.sha256).digest()
        assert ck.hex() == message["chain_key"]
        mk = hmac.new(ck, b"\x01", hashlib.sha256).digest()
        assert mk.hex() == message["message_key"]
        commitment = hashlib.blake2b(b"holdspace/v1/key-commitment\x00" + mk, digest_size=32).digest()
        assert envelope["k"] == commitment
        assert commitment.hex() == message["key_commitment"]
        ad = (
            b"holdspace/v1/message\x00"
            + group_id
            + author
            + entry["seq"].to_bytes(8, "big")
            + envelope["e"]
            + envelope["i"].to_bytes(8, "big")
        )
        assert ad.hex() == message["associated_data"]
        padded = crypto.aead_decrypt(mk, envelope["n"], envelope["c"], ad)
        assert len(padded) == message["padded_length"]
        plaintext = padded[: padded.rindex(b"\x80")]
        assert plaintext.hex() == message["plaintext"]
        assert codec.decode(plaintext) == message["content"]  # a content map (17.1), as published
        assert message["content"]["t"] == "text"
        assert decode_content(plaintext) == Text(message["content"]["b"])


def test_conversation_vector_rekeys_open_for_recipients_only() -> None:
    import json

    from holdspace.protocol import codec, crypto

    (vec,) = json.loads((SPEC / "vectors" / "group_conversation.json").read_text())
    secrets = {bytes.fromhex(p["ed25519_public"]): bytes.fromhex(p["x25519_secret"]) for p in vec["people"].values()}
    opened = 0
    for entry in vec["entries"]:
        if entry["kind"] != "rekey":
            continue
        payload = codec.decode(bytes.fromhex(entry["payload"]))
        for key, sealed in payload["r"]:
            assert crypto.seal_open(secrets[key], sealed).hex() == vec["epoch_keys"][entry["entry_id"]]
            opened += 1
        recipients = {key for key, _ in payload["r"]}
        for key, secret in secrets.items():
            if key not in recipients:
                for _, sealed in payload["r"]:
                    with pytest.raises(Exception):  # noqa: B017, PT011
                        crypto.seal_open(secret, sealed)
    assert opened >= 5


# --- support.json: the facts re-derived from the published file, with the code and the spec text --


def _support() -> list[dict]:
    import json

    return json.loads((SPEC / "vectors" / "support.json").read_text())


def _by_name(name: str) -> dict:
    return next(v for v in _support() if v["name"] == name)


def _hex(value: str | None) -> bytes | None:
    return None if value is None else bytes.fromhex(value)


def _occurrences_from_spec_text(start: int, duration: int, tz: str, recurrence, cancelled_at) -> list[list[int]]:
    """Spec 17.3, written from its text: local wall time of the first start (whole seconds), plus k days
    or weeks, to UTC with fold = 0, plus the start's milliseconds; an unknown zone is UTC."""
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    count = recurrence[1] if recurrence else 1
    step = timedelta(days=7 if recurrence and recurrence[0] == "weekly" else 1)
    wall = datetime.fromtimestamp(start // 1000, zone).replace(tzinfo=None)
    out = []
    for k in range(count):
        local = (wall + k * step).replace(tzinfo=zone, fold=0)
        begin = start if k == 0 else int(local.timestamp()) * 1000 + start % 1000
        if cancelled_at is not None and begin > cancelled_at:
            break
        out.append([begin, begin + duration])
    return out


def test_support_history_recomputes_from_its_entries() -> None:
    """Outcomes, redactions, erasures, sessions (with their occurrences), issuers and what hosts keep."""
    from holdspace.protocol import group, kinds, payloads, schedule
    from holdspace.protocol.entry import decode_entry

    (history,) = [v for v in _support() if v["name"] == "a support group's history"]
    entries = [decode_entry(bytes.fromhex(r["entry"]), _hex(r["payload"]), now_ms=None) for r in history["entries"]]
    genesis = entries[0]
    state = group.compute_state(genesis, [e for e in entries if kinds.is_control(e.kind)])
    for record in history["entries"]:
        if "outcome" in record:
            assert state.outcomes[bytes.fromhex(record["entry_id"])] == record["outcome"], record["note"]
    outcomes = {r["note"]: r.get("outcome") for r in history["entries"]}
    assert outcomes["cy, a member, tries to redact ana's message"] == "group.forbidden"
    assert outcomes["bo, a moderator, redacts cy's message"] is None
    assert outcomes["dee tries to rejoin"] == "group.banned"
    assert outcomes["dee, banned, tries to erase"] == "group.not_member"
    assert outcomes["founder updates a session that does not exist"] == "group.bad_target"
    assert outcomes["founder removes an issuer that is not listed"] == "group.bad_target"

    final = history["final_state"]
    assert [
        {"author": a.hex(), "target": k.hex(), "redaction": r.hex()} for (a, k), r in sorted(state.redactions.items())
    ] == final["redactions"]
    assert {k.hex(): s for k, s in state.erased.items()} == final["erased"]
    assert {k.hex(): e.hex() for k, e in state.issuers.items()} == final["issuers"]
    assert set(final["sessions"]) == {sid.hex() for sid in state.sessions}
    weekly_changes = 0
    for sid, published in final["sessions"].items():
        session = state.sessions[bytes.fromhex(sid)]
        assert session.entry_id.hex() == published["entry_id"]
        assert session.cancelled_at_ms == published["cancelled_at_ms"]
        listed = published["occurrences"]
        assert [[o.start_ms, o.end_ms] for o in schedule.occurrences(session)] == listed
        spec = session.spec
        assert (
            _occurrences_from_spec_text(
                spec.start_ms, spec.duration_ms, spec.tz, spec.recurrence, session.cancelled_at_ms
            )
            == listed
        )
        offsets = {s.rsplit("+", 1)[1] for s in published["local_starts"]}
        weekly_changes += offsets == {"00:00", "01:00"}  # the weekly one crosses the end of summer time
    assert weekly_changes == 1

    by_id = {e.entry_id.hex(): e for e in entries}
    for view in history["host_view"]:
        e = by_id[view["entry_id"]]
        assert e.kind in kinds.MESSAGE_KINDS and e.payload is not None
        assert state.authorised_at(e.author, e.seq) == view["authorised"]
        assert state.deleted(e.author, e.seq, e.entry_id) == view["deleted"]
        assert payloads.envelope_expiry(e.kind, e.payload) == view["expires_ms"]
        assert schedule.retention_deadline(state, e.timestamp_ms) == view["retention_deadline_ms"]
        due = [t for t in (view["expires_ms"], view["retention_deadline_ms"]) if t is not None]
        assert view["deadline_ms"] == (min(due) if due else None)
        kept = [
            view["authorised"] and view["deleted"] is None and (view["deadline_ms"] is None or view["deadline_ms"] > t)
            for t in history["checkpoints"]
        ]
        assert kept == view["payload_kept"]
    reasons = {v["deleted"] for v in history["host_view"]}
    assert {"redacted", "erased", None} <= reasons


def test_support_history_messages_decrypt_from_the_spec_alone() -> None:
    """Every group message and session details: chain and message keys from the epoch key (13.3),
    associated data (13.4), decryption, and content (17.1)."""
    import hashlib
    import hmac

    from holdspace.protocol import codec, crypto
    from holdspace.protocol.content import decode_content

    (history,) = [v for v in _support() if v["name"] == "a support group's history"]
    entries = {r["entry_id"]: r for r in history["entries"]}
    group_id = bytes.fromhex(history["final_state"]["group_id"])
    for message in [*history["messages"], *history["session_details"]]:
        record = entries[message["entry_id"]]
        payload = codec.decode(bytes.fromhex(record["payload"]))
        envelope = codec.decode(payload["e"]) if record["kind"] == "session" else payload
        author = bytes.fromhex(record["author"])
        ck = crypto.hkdf_sha256(
            bytes.fromhex(history["epoch_keys"][message["epoch"]]), salt=b"holdspace/v1/chain", info=author
        )
        for _ in range(envelope["i"]):
            ck = hmac.new(ck, b"\x02", hashlib.sha256).digest()
        assert ck.hex() == message["chain_key"]
        mk = hmac.new(ck, b"\x01", hashlib.sha256).digest()
        assert mk.hex() == message["message_key"]
        commitment = hashlib.blake2b(b"holdspace/v1/key-commitment\x00" + mk, digest_size=32).digest()
        assert envelope["k"] == commitment
        assert commitment.hex() == message["key_commitment"]
        ad = (
            b"holdspace/v1/message\x00"
            + group_id
            + author
            + record["seq"].to_bytes(8, "big")
            + envelope["e"]
            + envelope["i"].to_bytes(8, "big")
        )
        assert ad.hex() == message["associated_data"]
        padded = crypto.aead_decrypt(mk, envelope["n"], envelope["c"], ad)
        plaintext = padded[: padded.rindex(b"\x80")]
        assert plaintext.hex() == message["plaintext"]
        assert envelope.get("x") == message.get("expires_ms")
        decode_content(plaintext)


def test_support_direct_message_opens_for_its_recipients() -> None:
    import hashlib

    from holdspace.protocol import codec, crypto
    from holdspace.protocol.content import decode_content

    vec = _by_name("direct message")
    payload = codec.decode(bytes.fromhex(vec["payload"]))
    assert [[bytes.fromhex(r["key"]), bytes.fromhex(r["sealed"])] for r in vec["recipients"]] == payload["r"]
    for recipient in vec["recipients"]:
        opened = crypto.seal_open(bytes.fromhex(recipient["x25519_secret"]), bytes.fromhex(recipient["sealed"]))
        assert opened.hex() == vec["content_key"]
    commitment = hashlib.blake2b(b"holdspace/v1/key-commitment\x00" + opened, digest_size=32).digest()
    assert payload["k"] == commitment
    assert commitment.hex() == vec["key_commitment"]
    ad = (
        b"holdspace/v1/direct\x00"
        + bytes.fromhex(vec["group_id"])
        + bytes.fromhex(vec["author"])
        + vec["seq"].to_bytes(8, "big")
    )
    assert ad.hex() == vec["associated_data"]
    assert payload["n"].hex() == vec["nonce"]
    padded = crypto.aead_decrypt(bytes.fromhex(vec["content_key"]), payload["n"], payload["c"], ad)
    assert len(padded) == vec["padded_length"]
    plaintext = padded[: padded.rindex(b"\x80")]
    assert plaintext.hex() == vec["plaintext"]
    assert decode_content(plaintext).mood == vec["content"]["m"]


def test_support_disclosures_open_exactly_one_entry() -> None:
    from holdspace.protocol import content, e2ee, payloads
    from holdspace.protocol.entry import decode_entry
    from holdspace.protocol.errors import ContentError

    for name in ("disclosure in a report", "disclosure in a quote"):
        vec = _by_name(name)
        group_id = bytes.fromhex(vec["group_id"])
        carrier = decode_entry(bytes.fromhex(vec["entry"]), bytes.fromhex(vec["payload"]), now_ms=None)
        key = bytes.fromhex(vec["key"])
        if name.endswith("report"):  # a direct message to moderators and facilitators
            plaintext = e2ee.open_direct(
                key, group_id, carrier.author, carrier.seq, payloads.decode_direct(carrier.payload)
            )
        else:
            plaintext = e2ee.open_message(
                key, group_id, carrier.author, carrier.seq, payloads.decode_envelope(carrier.payload)
            )
        assert plaintext.hex() == vec["plaintext"]
        inner = content.decode_content(plaintext)
        assert inner.disclosure.header.hex() == vec["disclosed_entry"]
        assert inner.disclosure.key.hex() == vec["disclosed_key"]
        entry, words = content.verify_disclosure(group_id, inner.disclosure)
        assert entry.entry_id.hex() == vec["disclosed_entry_id"]
        assert entry.author.hex() == vec["disclosed_author"]
        assert words.hex() == vec["verified_plaintext"]
    assert isinstance(
        content.decode_content(bytes.fromhex(_by_name("disclosure in a quote")["verified_plaintext"])), content.Pin
    )
    bad = _by_name("disclosure with another message's key")
    disclosure = content.Disclosure(
        bytes.fromhex(bad["disclosed_entry"]),
        bytes.fromhex(bad["disclosed_payload"]),
        bytes.fromhex(bad["disclosed_key"]),
    )
    with pytest.raises(ContentError) as err:
        content.verify_disclosure(bytes.fromhex(bad["group_id"]), disclosure)
    assert err.value.code == bad["error"]


def test_support_two_faced_direct_message_opens_for_the_committed_key_only() -> None:
    """Both boxes open and both keys pass the AEAD (it does not commit to its key): only the key
    commitment tells the recipient whose box holds another key to refuse it (13.5, 13.6)."""
    import hashlib

    from holdspace.protocol import codec, content, crypto, e2ee, payloads
    from holdspace.protocol.entry import decode_entry
    from holdspace.protocol.errors import HoldspaceError

    vec = _by_name("two-faced direct message")
    group_id = bytes.fromhex(vec["group_id"])
    entry = decode_entry(bytes.fromhex(vec["entry"]), bytes.fromhex(vec["payload"]), now_ms=None)
    fields = codec.decode(entry.payload)
    assert fields["k"].hex() == vec["key_commitment"]
    envelope = payloads.decode_direct(entry.payload)
    ad = bytes.fromhex(vec["associated_data"])
    plaintexts = set()
    for r in vec["recipients"]:
        key = crypto.seal_open(bytes.fromhex(r["x25519_secret"]), bytes.fromhex(r["sealed"]))
        assert key.hex() == r["content_key"]
        opened = crypto.aead_decrypt(key, fields["n"], fields["c"], ad)
        assert opened.hex() == r["aead_plaintext"]
        plaintexts.add(opened)
        committed = hashlib.blake2b(b"holdspace/v1/key-commitment\x00" + key, digest_size=32).digest() == fields["k"]
        assert committed == ("plaintext" in r)
        disclosure = content.Disclosure(entry.raw, entry.payload, key)
        if committed:
            assert e2ee.open_direct(key, group_id, entry.author, entry.seq, envelope).hex() == r["plaintext"]
            assert content.verify_disclosure(group_id, disclosure)[1].hex() == r["disclosed_plaintext"]
        else:
            with pytest.raises(HoldspaceError) as err:
                e2ee.open_direct(key, group_id, entry.author, entry.seq, envelope)
            assert err.value.code == r["error"]
            with pytest.raises(HoldspaceError) as err:
                content.verify_disclosure(group_id, disclosure)
            assert err.value.code == r["disclosure_error"]
    assert len(plaintexts) == 2  # one signed ciphertext, two plaintexts at the AEAD layer


def test_support_expiring_envelope() -> None:
    from holdspace.protocol import e2ee, payloads
    from holdspace.protocol.entry import decode_entry

    vec = _by_name("message envelope with an expiry")
    entry = decode_entry(bytes.fromhex(vec["entry"]), bytes.fromhex(vec["payload"]), now_ms=None)
    envelope = payloads.decode_envelope(entry.payload)
    assert envelope.expires_ms == vec["expires_ms"] == vec["fields"]["x"]
    assert envelope.encode() == entry.payload
    group_id = bytes.fromhex(vec["group_id"])
    plaintext = e2ee.open_message(bytes.fromhex(vec["message_key"]), group_id, entry.author, entry.seq, envelope)
    assert plaintext.hex() == vec["plaintext"]


def test_support_schedules() -> None:
    from holdspace.protocol import group, payloads, schedule

    sid = bytes(32)
    count = 0
    for vec in _support():
        if "local_starts" not in vec:
            continue
        count += 1
        recurrence = tuple(vec["recurrence"]) if vec["recurrence"] else None
        spec = payloads.Session(
            (sid,), None, vec["start_ms"], vec["duration_ms"], vec["tz"], recurrence, None, False, None
        )
        session = group.ScheduledSession(sid, sid, sid, spec, vec["cancelled_at_ms"])
        assert [[o.start_ms, o.end_ms] for o in schedule.occurrences(session)] == vec["occurrences"], vec["name"]
        assert (
            _occurrences_from_spec_text(
                vec["start_ms"], vec["duration_ms"], vec["tz"], recurrence, vec["cancelled_at_ms"]
            )
            == vec["occurrences"]
        )
    assert count >= 6
    spring = _by_name("daily at a time skipped by the spring change")
    assert spring["local_starts"][1].startswith("2026-03-29T02:30")  # 01:30 does not exist: the offset before it
    autumn = _by_name("daily at a time repeated by the autumn change")
    assert autumn["local_starts"][1].endswith("+01:00")  # 01:30 happens twice: the earlier instant


def test_support_control_payloads() -> None:
    from holdspace.protocol import codec, kinds, payloads
    from holdspace.protocol.errors import GroupError

    seen = set()
    for vec in _support():
        if "kind" not in vec or "payload" not in vec:
            continue
        raw = bytes.fromhex(vec["payload"])
        if "error" in vec:
            if vec["kind"] in kinds.MESSAGE_KINDS:
                with pytest.raises(GroupError) as err:
                    payloads.envelope_expiry(vec["kind"], raw)
            else:
                with pytest.raises(GroupError) as err:
                    payloads.decode_payload(vec["kind"], raw, bytes(32))
            assert err.value.code == vec["error"], vec["name"]
            continue
        decoded = payloads.decode_payload(vec["kind"], raw, bytes.fromhex(vec["author"]))
        assert decoded.encode() == raw
        assert codec.decode(raw).keys() == vec["fields"].keys()
        seen.add(vec["kind"])
    assert seen == {kinds.REMOVE, kinds.REDACT, kinds.ERASE, kinds.SESSION, kinds.TRUST, kinds.MUTE}


def test_support_contents() -> None:
    from holdspace.protocol import content

    types = set()
    for vec in _support():
        if "content" not in vec or not isinstance(vec["content"], str):
            continue
        raw = bytes.fromhex(vec["content"])
        if "error" in vec:
            with pytest.raises(content.ContentError) as err:
                content.decode_content(raw)
            assert err.value.code == vec["error"]
        elif vec.get("unsupported"):
            assert content.decode_content(raw) == content.Unknown(vec["type"])
        else:
            decoded = content.decode_content(raw)
            assert content.encode_content(decoded) == raw
            types.add(vec["type"])
    assert types == set(content._FIELDS)


def test_support_badges() -> None:
    from holdspace.protocol import credential

    attestation = _by_name("credential attestation")
    raw = bytes.fromhex(attestation["attestation"])
    assert credential.decode_attestation(raw).credential_id.hex() == attestation["credential_id"]
    revocation = _by_name("credential revocation")
    assert (
        credential.decode_revocation(bytes.fromhex(revocation["revocation"])).credential_id.hex()
        == attestation["credential_id"]
    )
    codes = set()
    for vec in _support():
        if not vec["name"].startswith("badge: "):
            continue
        badge = credential.check_badge(
            bytes.fromhex(vec["attestation"]),
            subject=bytes.fromhex(vec["subject"]),
            group=bytes.fromhex(vec["group_id"]),
            issuers=[bytes.fromhex(k) for k in vec["issuers"]],
            revocations=[bytes.fromhex(r) for r in vec["revocations"]],
            now_ms=vec["now_ms"],
        )
        assert badge.verified == vec["verified"], vec["name"]
        assert badge.code == vec.get("error"), vec["name"]
        assert badge.role == vec["role"]
        codes.add(badge.code)
    assert {
        None,
        "credential.expired",
        "credential.untrusted_issuer",
        "credential.revoked",
        "credential.wrong_subject",
    } <= codes


# --- group_rules.json: every history recomputed from its published entries (spec 12.4, 12.5) -----


def _group_rules() -> list[dict]:
    import json

    return json.loads((SPEC / "vectors" / "group_rules.json").read_text())


def test_group_rules_recompute_from_their_entries() -> None:
    """Each history's outcomes and final state, from its entries alone (in any order)."""
    from holdspace.protocol import group, kinds
    from holdspace.protocol.entry import decode_entry

    for vec in _group_rules():
        if "fork_proof" in vec:  # two hosts' views: test_forked_position_vector_gives_both_hosts_one_state
            continue
        entries = [decode_entry(bytes.fromhex(r["entry"]), _hex(r["payload"]), now_ms=None) for r in vec["entries"]]
        controls = [e for e in entries if kinds.is_control(e.kind)]
        state = group.compute_state(entries[0], list(reversed(controls)))
        for record in vec["entries"]:
            if "outcome" in record:
                assert state.outcomes[bytes.fromhex(record["entry_id"])] == record["outcome"], record["note"]
        final = vec["final_state"]
        assert {k.hex(): m.role for k, m in state.members.items()} == final["members"], vec["name"]
        assert {k.hex(): [list(i) for i in v] for k, v in state.intervals.items()} == final["intervals"], vec["name"]
        assert [eid.hex() for eid in state.order] == final["order"], vec["name"]
        assert sorted(k.hex() for k in state.banned) == final["banned"], vec["name"]


# The branch of 12.5 each history shows: the outcome of each named entry, and who is a member at the end.
VOID_BRANCHES: dict[str, tuple[dict[str, str | None], set[str]]] = {
    "a join placed after its inviter's removal is refused": (
        {"gus joins through fay's invite, later (and with a larger id)": "group.invite_revoked"},
        {"founder", "yul"},
    ),
    "a join revoked with its inviter is void, though placed before the removal": (
        {
            "gus joins through fay's invite": "group.concurrent_restriction",
            "founder removes fay, not having seen the joins": None,
        },
        {"founder", "yul"},
    ),
    "revocation cascades: two levels": (
        {
            "gus joins through fay's invite": "group.concurrent_restriction",
            "gus invites a member": "group.concurrent_restriction",
            "hal joins through gus's invite": "group.concurrent_restriction",
        },
        {"founder", "yul"},
    ),
    "revocation cascades: three levels": (
        {
            "gus invites a facilitator": "group.concurrent_restriction",
            "hal invites a member": "group.concurrent_restriction",
            "ivy joins through hal's invite": "group.concurrent_restriction",
        },
        {"founder", "yul"},
    ),
    "a restriction is void when its more senior target restricts back in the same race": (
        {
            "gus removes fay": "group.concurrent_restriction",
            "fay, more senior, removes gus, having seen ned's join but not her removal": None,
        },
        {"founder", "fay", "ned"},
    ),
    "an act concurrent with a restriction stays void when the same pass voids that restriction": (
        {
            "gus removes fay": "group.concurrent_restriction",
            "fay changes the settings, having seen ned's join but not her removal": "group.concurrent_restriction",
        },
        {"founder", "fay", "ned"},
    ),
    "a role entry naming the restricting author, even an equal role, restricts back": (
        {
            "gus removes fay": "group.concurrent_restriction",
            "fay, more senior, sets gus's role to facilitator, having seen ned's join but not her removal": None,
        },
        {"founder", "fay", "gus", "ned"},
    ),
    "an unacknowledged join cannot displace an acknowledged one": (
        {
            "ana joins (first in L)": "group.invite_exhausted",
            "bo joins with the same single-use invite, later": None,
        },
        {"founder", "cy", "bo"},
    ),
    "an entry that is itself ignored still acknowledges a join": (
        {
            "ana joins (first in L)": "group.invite_exhausted",
            "cy, a member, tries to change the settings (forbidden), having seen bo's join but not ana's": (
                "group.forbidden"
            ),
        },
        {"founder", "cy", "bo"},
    ),
    "joins ready at once with one timestamp are ordered by id": (
        {
            "bo joins": "group.invite_exhausted",
            "ana joins at the same time with the same invite and the smaller id": None,
        },
        {"founder", "ana"},
    ),
    "a demotion below facilitator revokes the joins it had not seen": (
        {"gus joins through fay's invite": "group.concurrent_restriction"},
        {"founder", "fay", "yul"},
    ),
    "a demotion revokes nothing it saw, and an equal role is no demotion": (
        {"gus joins through fay's invite": None, "founder demotes fay to member, having seen gus's join": None},
        {"founder", "fay", "gus", "yul"},
    ),
}


def test_group_rules_show_every_voiding_branch() -> None:
    """The histories for 12.5's voiding rules exist and show what their names say."""
    vectors = {v["name"]: v for v in _group_rules()}
    for name, (outcomes, members) in VOID_BRANCHES.items():
        vec = vectors[name]
        by_note = {r["note"]: r.get("outcome") for r in vec["entries"]}
        for note, outcome in outcomes.items():
            assert by_note[note] == outcome, (name, note)
        authors = {r["author"]: r["note"].split()[0] for r in vec["entries"] if r["kind"] in ("genesis", "join")}
        authors[vec["entries"][0]["author"]] = "founder"
        assert {authors[k] for k in vec["final_state"]["members"]} == members, name


# --- signatures.json: Ed25519 validity exactly as libsodium decides it (spec 2) ------------------


def _verify_from_spec_text(key: bytes, message: bytes, signature: bytes) -> bool:
    """Spec 2, written from its text: A a canonical encoding of a point not of small order; S < L;
    R not of small order; [S]B - [k]A, canonically encoded, equals R byte for byte."""
    import hashlib

    p, order = 2**255 - 19, 2**252 + 27742317777372353535851937790883648493

    def point(raw: bytes) -> tuple[int, int] | None:
        if int.from_bytes(raw, "little") & (2**255 - 1) >= p:
            return None  # not canonical
        try:
            return GEN._ed_decode(raw)
        except AssertionError:
            return None  # not on the curve

    def small(q: tuple[int, int]) -> bool:
        return GEN._ed_mul(8, q) == GEN._O

    a_point = point(key)
    if a_point is None or small(a_point):
        return False
    s_value = int.from_bytes(signature[32:], "little")
    r_point = GEN._ed_decode(signature[:32]) if point(signature[:32]) is not None else None
    if s_value >= order or (r_point is not None and small(r_point)):
        return False
    k = int.from_bytes(hashlib.sha512(signature[:32] + key + message).digest(), "little") % order
    minus_ka = GEN._ed_mul(k, a_point)
    minus_ka = (-minus_ka[0] % p, minus_ka[1])
    return GEN._ed_encode(GEN._ed_add(GEN._ed_mul(s_value, GEN._BASE), minus_ka)) == signature[:32]


def test_signature_vectors_are_libsodium_and_the_spec_text() -> None:
    import json

    from holdspace.protocol import crypto

    vectors = json.loads((SPEC / "vectors" / "signatures.json").read_text())
    for vec in vectors:
        key, message, signature = (bytes.fromhex(vec[f]) for f in ("public_key", "message", "signature"))
        assert crypto.ed25519_verify(key, message, signature) == vec["valid"], vec["name"]
        assert _verify_from_spec_text(key, message, signature) == vec["valid"], vec["name"]
    # each refusal is one a lax verifier would not make: the vectors test the strict rules
    strict_only = [v["name"] for v in vectors if not v["valid"] and (v["lax_cofactorless"] or v["lax_cofactored"])]
    assert len(strict_only) >= 8
    assert any(v["valid"] and "torsion" in v["name"] for v in vectors)  # no prime-order-subgroup check


def test_text_id_vectors_decode_as_published() -> None:
    """identity.json's text ids: upper case and surrounding white space accepted, mixed case and a byte
    order mark refused (spec 4.3)."""
    import json

    from holdspace.protocol import identity, textid
    from holdspace.protocol.errors import HoldspaceError

    vectors = [v for v in json.loads((SPEC / "vectors" / "identity.json").read_text()) if "text_id" in v]
    names = set()
    for vec in vectors:
        names.add(vec["name"])
        if "expected_prefix" not in vec:  # an encoding: key -> text id, in lower case
            key = vec.get("key", vec.get("ed25519_public"))
            assert textid.encode_id(vec["text_id"][:3], bytes.fromhex(key)) == vec["text_id"]
            continue
        if "error" in vec:
            with pytest.raises(HoldspaceError) as err:
                identity.parse_pseudonym_id(vec["text_id"])
            assert err.value.code == vec["error"], vec["name"]
        else:
            assert identity.parse_pseudonym_id(vec["text_id"]).hex() == vec["key"], vec["name"]
    assert {"text id in upper case", "text id in mixed case", "text id after a byte order mark"} <= names


def test_forked_position_vector_gives_both_hosts_one_state() -> None:
    """From the vector alone: host a (twin one) and host b (twin two, x's next header unplaced) agree."""
    import json

    from holdspace.protocol.entry import decode_entry
    from holdspace.protocol.forks import FORKED, forks_of
    from holdspace.protocol.group import compute_state
    from holdspace.protocol.log import verify_fork_proof

    rules = json.loads((SPEC / "vectors" / "group_rules.json").read_text())
    vec = next(v for v in rules if "forked position" in v["name"])
    by_id = {
        e["entry_id"]: decode_entry(bytes.fromhex(e["entry"]), bytes.fromhex(e["payload"]), now_ms=None)
        for e in vec["entries"]
    }
    genesis = next(e for e in by_id.values() if e.kind == 1)
    proof = verify_fork_proof(bytes.fromhex(vec["fork_proof"]))
    states = []
    for host in ("a", "b"):
        view = vec["hosts"][host]
        others = [decode_entry(bytes.fromhex(h), None, now_ms=None) for h in view["other_branch"]]
        controls = [by_id[i] for i in view["holds"]]
        states.append(compute_state(genesis, controls, forks=forks_of([proof], others)))
    assert states[0].fingerprint().hex() == states[1].fingerprint().hex() == vec["fingerprint"]
    assert [eid.hex() for eid in states[1].order] == vec["final_state"]["order"]
    assert {e["outcome"] for e in vec["entries"] if e["author"] == proof.author.hex() and e["seq"] >= 2} == {FORKED}


def test_client_frame_vectors_decode_as_published() -> None:
    """Every frame of the session stream (spec 14.1) decodes to its published fields; a request to its
    id and op, an answer or event to the id it names; a refused frame to its code and the id named."""
    vectors = json.loads((SPEC / "vectors" / "client_frames.json").read_text())
    names = {v["name"] for v in vectors}
    assert {"subscribed event", "entries event", "cancel request", "error without id, before the close"} <= names
    for vec in vectors:
        raw = bytes.fromhex(vec["frame"])
        if "error" in vec:
            with pytest.raises(frames.FrameError) as info:
                frames.decode_client_request(raw)
            assert (info.value.code, info.value.rid) == (vec["error"], vec["id"]), vec["name"]
            continue
        decoded = vec["decoded"]
        assert codec.encode(codec.decode(raw)) == raw, vec["name"]  # canonical
        if "op" in decoded:
            request = frames.decode_client_request(raw)
            assert (request.rid, request.op) == (decoded["id"], decoded["op"]), vec["name"]
        else:
            reply = frames.decode_reply(raw)
            assert reply.rid == decoded.get("id"), vec["name"]
            assert reply.final == ("ev" not in decoded), vec["name"]
