"""Generate spec/vectors/*.json from the reference code.

Run ``python spec/generate_vectors.py`` after any protocol change; ``tests/test_vectors.py`` rebuilds
the vectors in memory and fails on any difference from the checked-in files, so the published vectors
always describe what the code does.

Every vector is deterministic: keys come from fixed seeds, timestamps are fixed, Ed25519 is
deterministic. Byte strings are lowercase hex. A vector either has ``"valid": true`` with the
expected decoded values, or ``"error"``: the code the first failing rule must produce.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from holdspace.protocol import (  # noqa: E402
    author,
    backup,
    calls,
    codec,
    credential,
    crypto,
    e2ee,
    federation,
    frames,
    group,
    identity,
    keyfile,
    kinds,
    labels,
    operator_token,
    payloads,
    removal,
    schedule,
    signing,
    textid,
)
from holdspace.protocol import content as contents  # noqa: E402
from holdspace.protocol.address import InviteLink, InviteToken, NodeAddress  # noqa: E402
from holdspace.protocol.entry import MAX_CLOCK_SKEW_MS, Entry, create_entry, decode_entry  # noqa: E402
from holdspace.protocol.errors import CODES, HoldspaceError  # noqa: E402
from holdspace.protocol.forks import forks_of  # noqa: E402
from holdspace.protocol.log import LogHead, make_fork_proof, place, verify_fork_proof  # noqa: E402
from tests import two_faced  # noqa: E402  (the Poly1305 collision: test code, not part of the protocol)

NOW = 1_764_000_000_000  # the "now" every timestamp check in these vectors uses
GROUP = bytes.fromhex("8f" * 32)
Vector = dict[str, Any]


def h(data: bytes | None) -> str | None:
    return None if data is None else data.hex()


def seed_pseudonym(label: str) -> identity.Pseudonym:
    """Test key pairs: seed = BLAKE2b-256("seed:" + label), x25519 secret = BLAKE2b-256("x:" + label)."""
    return identity.Pseudonym.from_secrets(
        crypto.blake2b_256(b"seed:" + label.encode()), crypto.blake2b_256(b"x:" + label.encode())
    )


ALICE = seed_pseudonym("alice")
BOB = seed_pseudonym("bob")


def error_of(fn: Callable[[], object]) -> str:
    try:
        fn()
    except HoldspaceError as err:
        return err.code
    raise AssertionError("expected a rejection")


def resign(fields: dict[str, codec.CborValue], who: identity.Pseudonym = ALICE) -> bytes:
    return codec.encode(signing.sign_fields(signing.DOMAIN_ENTRY, fields, who.seed))


# --- codec -----------------------------------------------------------------------------------


def codec_vectors() -> list[Vector]:
    valid: list[tuple[str, codec.CborValue]] = [
        ("map keys sorted by encoded bytes", {"b": 1, "a": 2, "aa": 3, "sig": b""}),
        ("integers at each width boundary", [0, 23, 24, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**64 - 1]),
        ("negative integers", [-1, -24, -25, -256, -257, -(2**64)]),
        ("strings, bools, null", ["", "ü", b"", b"\x00", True, False, None]),
        ("nested containers", {"x": [[], {}, [{"y": []}]]}),
        ("text kept as written: a leading U+FEFF, unnormalised accents", ["\ufeffa", "e\u0301", "\u00e9"]),
    ]
    out: list[Vector] = [
        {"name": name, "cbor": codec.encode(value).hex(), "valid": True, "diagnostic": repr(value)}
        for name, value in valid
    ]
    invalid = [
        ("non-shortest integer", "1817"),
        ("non-shortest length", "5801ff"),
        ("unsorted map keys", "a2616201616101"),
        ("length-first order violated", "a26261610161620a"),
        ("duplicate map key", "a2616101616102"),
        ("indefinite-length array", "9f01ff"),
        ("half float", "f93c00"),
        ("double float", "fb3ff0000000000000"),
        ("tag", "c11a514b67b0"),
        ("undefined", "f7"),
        ("integer map key", "a10102"),
        ("invalid UTF-8", "62c328"),
        ("truncated", "a1"),
        ("trailing bytes", "0000"),
        ("length beyond input", "5b7fffffffffffffff00"),
        ("reserved additional information", "1c"),
        ("lone break", "ff"),
        ("nesting deeper than 16", "81" * 17 + "00"),
    ]
    for name, hex_ in invalid:
        data = bytes.fromhex(hex_)
        out.append({"name": name, "cbor": hex_, "error": error_of(lambda data=data: codec.decode(data))})
    return out


# --- Ed25519 signature validity (spec 2) ------------------------------------------------------
#
# Affine Edwards arithmetic, only to build signatures that a lax verifier would accept and libsodium
# must not (or the other way round); the verdicts are crypto.ed25519_verify's.

_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_Point = tuple[int, int]
_O: _Point = (0, 1)


def _ed_add(a: _Point, b: _Point) -> _Point:
    (x1, y1), (x2, y2) = a, b
    t = _D * x1 * x2 * y1 * y2 % _P
    return (x1 * y2 + x2 * y1) * pow(1 + t, _P - 2, _P) % _P, (y1 * y2 + x1 * x2) * pow(1 - t, _P - 2, _P) % _P


def _ed_mul(n: int, a: _Point) -> _Point:
    """[n]a, in extended coordinates (RFC 8032, 5.1.4) so that only the result needs an inversion."""
    x, y = a
    q, out = (x, y, 1, x * y % _P), (0, 1, 1, 0)
    while n:
        if n & 1:
            out = _ed_add_extended(out, q)
        q, n = _ed_add_extended(q, q), n >> 1
    z = pow(out[2], _P - 2, _P)
    return out[0] * z % _P, out[1] * z % _P


def _ed_add_extended(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    big_a, big_b = (a[1] - a[0]) * (b[1] - b[0]) % _P, (a[1] + a[0]) * (b[1] + b[0]) % _P
    big_c, big_d = 2 * a[3] * b[3] * _D % _P, 2 * a[2] * b[2] % _P
    e, f, g, h = big_b - big_a, big_d - big_c, big_d + big_c, big_b + big_a
    return e * f % _P, g * h % _P, f * g % _P, e * h % _P


def _ed_decode(raw: bytes) -> _Point:
    """The point a 32-byte encoding names, reducing a y ≥ p (as a lax decoder would)."""
    y = int.from_bytes(raw, "little") & (2**255 - 1)
    y %= _P
    u = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P) % _P
    x = pow(u, (_P + 3) // 8, _P)
    if x * x % _P != u:
        x = x * pow(2, (_P - 1) // 4, _P) % _P
    assert x * x % _P == u, "not on the curve"
    if x & 1 != raw[31] >> 7:
        x = -x % _P
    return x, y


def _ed_encode(a: _Point) -> bytes:
    return (a[1] | (a[0] & 1) << 255).to_bytes(32, "little")


_BASE = _ed_decode((4 * pow(5, _P - 2, _P) % _P).to_bytes(32, "little"))
_ORDER_8 = _ed_decode(bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"))


def _challenge(r: bytes, a: bytes, message: bytes) -> int:
    return int.from_bytes(hashlib.sha512(r + a + message).digest(), "little") % _L


def _lax_verify(key: bytes, message: bytes, signature: bytes, *, cofactored: bool) -> bool:
    """[S]B = R + [k]A with no check of S's range, of encodings or of small order (times 8 on both
    sides if ``cofactored``): what libsodium's stricter rules are measured against."""
    try:
        a_point, r_point = _ed_decode(key), _ed_decode(signature[:32])
    except AssertionError:
        return False
    k = _challenge(signature[:32], key, message)
    left = _ed_mul(int.from_bytes(signature[32:], "little"), _BASE)
    right = _ed_add(r_point, _ed_mul(k, a_point))
    return _ed_mul(8, left) == _ed_mul(8, right) if cofactored else left == right


def signature_vectors() -> list[Vector]:
    """Signatures libsodium's crypto_sign_verify_detached accepts or refuses, each with what a lax
    verifier (no canonical S, no small-order or canonical-encoding checks, cofactored) would say."""
    assert _ed_mul(8, _ORDER_8) == _O and _ed_mul(4, _ORDER_8) != _O
    a = int.from_bytes(crypto.blake2b_256(b"ed25519 vector scalar"), "little") % _L
    r = int.from_bytes(crypto.blake2b_256(b"ed25519 vector nonce"), "little") % _L
    public = _ed_encode(_ed_mul(a, _BASE))
    message = b"holdspace/v1 signature vector"
    out: list[Vector] = []

    def case(name: str, key: bytes, msg: bytes, sig: bytes) -> None:
        out.append(
            {
                "name": name,
                "public_key": key.hex(),
                "message": msg.hex(),
                "signature": sig.hex(),
                "valid": crypto.ed25519_verify(key, msg, sig),
                "lax_cofactorless": _lax_verify(key, msg, sig, cofactored=False),
                "lax_cofactored": _lax_verify(key, msg, sig, cofactored=True),
            }
        )

    def sign(key_scalar: int, key: bytes, r_bytes: bytes, r_scalar: int, msg: bytes) -> bytes:
        s_value = (r_scalar + _challenge(r_bytes, key, msg) * key_scalar) % _L
        return r_bytes + s_value.to_bytes(32, "little")

    r_point = _ed_encode(_ed_mul(r, _BASE))
    good = sign(a, public, r_point, r, message)
    case("a valid signature", public, message, good)
    s_value = int.from_bytes(good[32:], "little")
    case("S + L: a non-canonical S", public, message, good[:32] + (s_value + _L).to_bytes(32, "little"))
    case("the message changed", public, message + b"!", good)

    identity, noncanonical_identity = _ed_encode(_O), (_P + 1).to_bytes(32, "little")
    negative_identity = (1 | 1 << 255).to_bytes(32, "little")  # x = 0 with the sign bit set
    for name, key in (
        ("A the identity (small order)", identity),
        ("A the identity as y = p + 1", noncanonical_identity),
        ("A the identity with the sign bit set", negative_identity),
    ):
        # [k]A is the identity for any k, so R = [S]B verifies the cofactorless equation
        case(name, key, message, sign(0, key, r_point, r, message))
    order_2 = (_P - 1).to_bytes(32, "little")
    even = next(m for m in (message + bytes([i]) for i in range(256)) if _challenge(r_point, order_2, m) % 2 == 0)
    case("A of order 2 (k even)", order_2, even, sign(0, order_2, r_point, r, even))

    for name, r_bytes in (
        ("R the identity (small order)", identity),
        ("R the identity as y = p + 1", noncanonical_identity),
        ("R the identity with the sign bit set", negative_identity),
    ):
        # S = k*a: [S]B - [k]A is the identity, which R names
        case(name, public, message, sign(a, public, r_bytes, 0, message))

    # a public key with a torsion component: libsodium makes no prime-order-subgroup check, so with
    # k ≡ 0 (mod 8) the equation holds
    mixed = _ed_encode(_ed_add(_ed_mul(a, _BASE), _ORDER_8))
    counter = 0
    while _challenge(r_point, mixed, message + counter.to_bytes(1, "big")) % 8:
        counter += 1
    msg = message + counter.to_bytes(1, "big")
    case("A with a torsion component (order 8L)", mixed, msg, sign(a, mixed, r_point, r, msg))

    # R with a torsion component: [S]B - [k]A = [r]B, not R; a cofactored verifier (times 8) accepts
    r_mixed = _ed_encode(_ed_add(_ed_mul(r, _BASE), _ORDER_8))
    case("R with a torsion component", public, message, sign(a, public, r_mixed, r, message))
    return out


# --- identities ------------------------------------------------------------------------------


def identity_vectors() -> list[Vector]:
    out: list[Vector] = []
    master = bytes(range(32))
    for context in (identity.group_context(GROUP), identity.genesis_context(b"\x01" * 16), b"any context"):
        p = identity.Pseudonym.derive(master, context)
        out.append(
            {
                "name": "per-group derivation",
                "master_secret": master.hex(),
                "context": context.hex(),
                "ed25519_seed": p.seed.hex(),
                "ed25519_public": p.public_key.hex(),
                "x25519_secret": p.x_secret.hex(),
                "x25519_public": p.x_public_key.hex(),
                "text_id": p.text_id,
                "fingerprint": identity.fingerprint(p.public_key),
            }
        )
    for prefix in (textid.NODE_PREFIX, textid.GROUP_PREFIX):
        out.append(
            {
                "name": f"text id {prefix}",
                "key": GROUP.hex(),
                "text_id": textid.encode_id(prefix, GROUP),
                "valid": True,
            }
        )
    good = ALICE.text_id
    typo = good[:10] + ("q" if good[10] != "q" else "p") + good[11:]
    for name, text in [
        ("text id with one mistyped character", typo),
        ("text id with wrong prefix", textid.encode_id(textid.NODE_PREFIX, ALICE.public_key)),
        ("text id of a small-order key", textid.encode_id(textid.PSEUDONYM_PREFIX, bytes(32))),
        ("text id in mixed case", good[:3].upper() + good[3:]),
        ("text id after a byte order mark", "\ufeff" + good),
    ]:
        out.append(
            {
                "name": name,
                "text_id": text,
                "expected_prefix": textid.PSEUDONYM_PREFIX,
                "error": error_of(lambda t=text: identity.parse_pseudonym_id(t)),
            }
        )

    for name, text in [("text id in upper case", good.upper()), ("text id with white space around it", f" {good}\n")]:
        out.append(
            {
                "name": name,
                "text_id": text,
                "expected_prefix": textid.PSEUDONYM_PREFIX,
                "key": identity.parse_pseudonym_id(text).hex(),
                "valid": True,
            }
        )

    doc = ALICE.identity_document(NOW, "River")
    out.append(
        {
            "name": "identity document with display name",
            "document": doc.hex(),
            "signed_message": signing.signed_message(signing.DOMAIN_IDENTITY, _fields(doc)).hex(),
            "valid": True,
            "public_key": ALICE.public_key.hex(),
            "x25519_public": ALICE.x_public_key.hex(),
            "display_name": "River",
        }
    )
    anon = BOB.identity_document(NOW)
    out.append({"name": "identity document without name", "document": anon.hex(), "valid": True})
    fields = _fields(doc)
    swapped = codec.encode(dict(fields, x=BOB.x_public_key))
    bad_version = codec.encode(signing.sign_fields(signing.DOMAIN_IDENTITY, dict(fields, v=2), ALICE.seed))
    for name, raw in [
        ("identity document with substituted X25519 key", swapped),
        ("identity document v2", bad_version),
    ]:
        out.append(
            {
                "name": name,
                "document": raw.hex(),
                "error": error_of(lambda r=raw: identity.verify_identity_document(r)),
            }
        )
    return out


def _fields(raw: bytes) -> dict[str, codec.CborValue]:
    value = codec.decode(raw)
    assert isinstance(value, dict)
    return value


# --- entries ---------------------------------------------------------------------------------


def _entry_vector(name: str, e: Entry) -> Vector:
    return {
        "name": name,
        "entry": e.raw.hex(),
        "payload": h(e.payload),
        "now_ms": NOW,
        "valid": True,
        "entry_id": e.entry_id.hex(),
        "signed_message": signing.signed_message(signing.DOMAIN_ENTRY, _fields(e.raw)).hex(),
        "fields": {
            "v": 1,
            "g": e.group.hex(),
            "a": e.author.hex(),
            "s": e.seq,
            "p": h(e.prev),
            "t": e.timestamp_ms,
            "k": e.kind,
            "n": e.payload_size,
            "h": e.payload_hash.hex(),
        },
    }


def make_chain(author: identity.Pseudonym, n: int) -> list[Entry]:
    entries: list[Entry] = []
    for seq in range(1, n + 1):
        prev = entries[-1].entry_id if entries else None
        entries.append(
            create_entry(
                author,
                group=GROUP,
                seq=seq,
                prev=prev,
                timestamp_ms=NOW - 1000 + seq,
                kind=kinds.MESSAGE,
                payload=f"message {seq}".encode(),
            )
        )
    return entries


def entry_vectors() -> list[Vector]:
    chain = make_chain(ALICE, 2)
    out = [_entry_vector("first entry of a log", chain[0]), _entry_vector("second entry", chain[1])]
    empty = create_entry(
        ALICE, group=GROUP, seq=2, prev=chain[0].entry_id, timestamp_ms=NOW, kind=kinds.MESSAGE, payload=b""
    )
    out.append(_entry_vector("empty payload", empty))
    skew = create_entry(
        ALICE,
        group=GROUP,
        seq=1,
        prev=None,
        timestamp_ms=NOW + MAX_CLOCK_SKEW_MS,
        kind=kinds.MESSAGE,
        payload=b"x",
    )
    out.append(_entry_vector("timestamp exactly at the skew limit", skew))

    base = _fields(chain[1].raw)
    payload = chain[1].payload
    no_sig = {k: v for k, v in base.items() if k != signing.SIG}
    flipped = bytearray(chain[1].raw)
    flipped[-1] ^= 0x01
    rejections: list[tuple[str, bytes, bytes | None]] = [
        ("header over 1024 bytes", resign(dict(base, g=b"\x00" * 1024)), None),
        ("not a map", codec.encode([1, 2]), None),
        ("version 2", resign(dict(base, v=2)), payload),
        ("missing signature", codec.encode(no_sig), payload),
        ("unexpected field", resign(dict(base, x=1)), payload),
        ("seq 0", resign(dict(base, s=0)), payload),
        ("seq 1 with a prev", resign(dict(base, s=1)), payload),
        ("seq 2 without a prev", resign(dict(base, p=None)), payload),
        ("short group id", resign(dict(base, g=b"\x01" * 31)), payload),
        ("short payload hash", resign(dict(base, h=b"\x01" * 31)), payload),
        ("boolean seq", resign(dict(base, s=True)), payload),
        ("unknown kind", resign(dict(base, k=0x7FFF)), payload),
        ("message payload over 65536 bytes", resign(dict(base, n=kinds.MAX_MESSAGE_PAYLOAD + 1)), None),
        ("timestamp past the skew limit", resign(dict(base, t=NOW + MAX_CLOCK_SKEW_MS + 1)), payload),
        ("seq changed after signing", codec.encode(dict(base, s=3)), payload),
        ("signed by another key", resign(base, BOB), payload),
        ("signature bit flipped", bytes(flipped), payload),
        ("payload swapped", chain[1].raw, b"message X"),
        ("payload truncated", chain[1].raw, b"message "),
        ("non-canonical integer", chain[1].raw.replace(b"\x61v\x01", b"\x61v\x18\x01", 1), payload),
        ("truncated header", chain[1].raw[:-1], payload),
    ]
    for name, raw, body in rejections:
        code = error_of(lambda r=raw, b=body: decode_entry(r, b, now_ms=NOW))
        out.append({"name": name, "entry": raw.hex(), "payload": h(body), "now_ms": NOW, "error": code})
    return out


# --- logs and fork proofs --------------------------------------------------------------------


def second_at_seq_2(chain: list[Entry]) -> Entry:
    """Another entry by the chain's author at seq 2: an equivocation."""
    return create_entry(
        ALICE, group=GROUP, seq=2, prev=chain[0].entry_id, timestamp_ms=NOW, kind=kinds.MESSAGE, payload=b"other"
    )


def log_vectors() -> list[Vector]:
    chain = make_chain(ALICE, 3)
    twin = second_at_seq_2(chain)
    unlinked = create_entry(
        ALICE, group=GROUP, seq=3, prev=b"\x00" * 32, timestamp_ms=NOW, kind=kinds.MESSAGE, payload=b""
    )
    head2 = LogHead(2, chain[1].entry_id)

    def case(name: str, head: LogHead | None, e: Entry, stored: Entry | None = None) -> Vector:
        vec: Vector = {
            "name": name,
            "head": None if head is None else {"seq": head.seq, "entry_id": head.entry_id.hex()},
            "entry": e.raw.hex(),
            "stored_at_seq": h(stored.raw) if stored else None,
        }
        try:
            vec["placement"] = place(head, e, stored).value
        except HoldspaceError as err:
            vec["error"] = err.code
        return vec

    return [
        case("first entry into an empty log", None, chain[0]),
        case("next entry", head2, chain[2]),
        case("gap", LogHead(1, chain[0].entry_id), chain[2]),
        case("first entry missing", None, chain[1]),
        case("prev does not match head", head2, unlinked),
        case("duplicate", head2, chain[1], chain[1]),
        case("fork", head2, twin, chain[1]),
    ]


def fork_proof_vectors() -> list[Vector]:
    chain = make_chain(ALICE, 2)
    twin = second_at_seq_2(chain)
    proof = make_fork_proof(chain[1], twin)
    bob = make_chain(BOB, 2)[1]
    pair = sorted([chain[1], bob], key=lambda e: e.entry_id)
    out: list[Vector] = [
        {
            "name": "valid fork proof",
            "proof": proof.encode().hex(),
            "valid": True,
            "author": ALICE.public_key.hex(),
            "seq": 2,
            "entry_ids": [proof.first.entry_id.hex(), proof.second.entry_id.hex()],
        }
    ]
    invalid = [
        ("entries in the wrong order", codec.encode({"v": 1, "a": proof.second.raw, "b": proof.first.raw})),
        ("same entry twice", codec.encode({"v": 1, "a": chain[1].raw, "b": chain[1].raw})),
        ("different authors", codec.encode({"v": 1, "a": pair[0].raw, "b": pair[1].raw})),
        ("different seqs", codec.encode({"v": 1, "a": chain[0].raw, "b": chain[1].raw})),
    ]
    for name, raw in invalid:
        out.append({"name": name, "proof": raw.hex(), "error": error_of(lambda r=raw: verify_fork_proof(r))})
    return out


# --- groups and end-to-end encryption -------------------------------------------------------


class DeterministicRandom:
    """Stand-in for os.urandom in vectors: block i of label L is BLAKE2b-256(L || i as 8 bytes)."""

    def __init__(self, label: str) -> None:
        self.label = label.encode()
        self.counter = 0

    def __call__(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            out += crypto.blake2b_256(self.label + self.counter.to_bytes(8, "big"))
            self.counter += 1
        return out[:n]


def _entry_record(e: Entry, note: str, state: group.GroupState | None = None) -> Vector:
    record: Vector = {
        "note": note,
        "kind": kinds.kind_name(e.kind),
        "entry": e.raw.hex(),
        "payload": h(e.payload),
        "entry_id": e.entry_id.hex(),
        "author": e.author.hex(),
        "seq": e.seq,
    }
    if state is not None and e.entry_id in state.outcomes:
        record["outcome"] = state.outcomes[e.entry_id]
    return record


def _state_summary(state: group.GroupState) -> Vector:
    return {
        "group_id": state.group_id.hex(),
        "members": {k.hex(): m.role for k, m in sorted(state.members.items())},
        "intervals": {k.hex(): [[a, b] for a, b in v] for k, v in sorted(state.intervals.items())},
        "banned": sorted(k.hex() for k in state.banned),
        "history": state.history,
        "epochs": [e.entry_id.hex() for e in state.epochs],
        "order": [eid.hex() for eid in state.order],
        "heads": [eid.hex() for eid in state.heads],
        "hosts": {k.hex(): a for k, a in sorted(state.hosts.items())},
    }


class _Scenario:
    """A deterministic group history built with the reference code, for the vectors."""

    def __init__(self, label: str, home: str | None = None) -> None:
        self.label = label  # published with the history: it seeds every key and random value (spec 10)
        self.rng = DeterministicRandom(label)
        self.clock = NOW - 100_000
        self.genesis, self.founder = author.create_group(
            crypto.blake2b_256(b"master:" + label.encode()), self.tick(), home=home, random=self.rng
        )
        self.entries: list[tuple[Entry, str]] = [(self.genesis, "genesis")]
        self.writers = {"founder": self.founder}

    def tick(self) -> int:
        self.clock += 1000
        return self.clock

    def state(self) -> group.GroupState:
        return group.compute_state(self.genesis, [e for e, _ in self.entries if kinds.is_control(e.kind)])

    def add(self, e: Entry, note: str) -> Entry:
        self.entries.append((e, note))
        return e

    def member(self, name: str) -> author.LogWriter:
        if name not in self.writers:
            me = identity.Pseudonym.derive(
                crypto.blake2b_256(b"master:" + name.encode()), identity.group_context(self.genesis.entry_id)
            )
            self.writers[name] = author.LogWriter(me, self.genesis.entry_id)
        return self.writers[name]

    def invite_and_join(self, name: str, role: str, *, by: str = "founder", uses: int = 1) -> author.InviteSecret:
        entry, secret = author.invite(
            self.writers[by],
            self.state(),
            self.tick(),
            role=role,
            expires_ms=NOW + 86_400_000,
            max_uses=uses,
            random=self.rng,
        )
        self.add(entry, f"{by} invites a {role}")
        self.add(secret.join(self.member(name), self.tick()), f"{name} joins")
        return secret

    def rekey(self, by: str, keys: dict[bytes, bytes]) -> Entry:
        state = self.state()
        epoch_key = e2ee.new_epoch_key(self.rng)
        payload = e2ee.make_rekey(state, state.heads, self.writers[by].me, epoch_key, random=self.rng)
        entry = self.add(self.writers[by].append(kinds.REKEY, payload.encode(), self.tick()), f"{by} starts an epoch")
        keys[entry.entry_id] = epoch_key
        return entry

    def records(self) -> list[Vector]:
        state = self.state()
        return [_entry_record(e, note, state) for e, note in self.entries]


def group_vectors() -> list[Vector]:
    """One full encrypted conversation with every control kind, with all keys disclosed."""
    sc = _Scenario("conversation")
    epoch_keys: dict[bytes, bytes] = {}
    sc.rekey("founder", epoch_keys)
    sc.invite_and_join("ana", payloads.MEMBER)
    sc.invite_and_join("bo", payloads.MODERATOR)
    sc.rekey("founder", epoch_keys)
    members = {name: e2ee.GroupKeys(sc.genesis.entry_id, w.me) for name, w in sc.writers.items()}
    messages: list[Vector] = []

    def say(name: str, text: str) -> None:
        state = sc.state()
        epoch = state.current_epoch
        assert epoch is not None
        keys = members[name]
        if epoch.entry_id not in keys.epochs:
            keys.accept_epoch(epoch, epoch_keys[epoch.entry_id])
        writer = sc.writers[name]
        chain = keys.epochs[epoch.entry_id].chains[writer.me.public_key]
        chain_key, index = chain.key, chain.next_index
        plaintext = contents.encode_content(contents.Text(text))  # every plaintext is a content map (17.1)
        envelope = keys.encrypt(epoch.entry_id, writer.seq + 1, plaintext, random=sc.rng)
        entry = sc.add(writer.append(kinds.MESSAGE, envelope.encode(), sc.tick()), f"{name} says {text!r}")
        messages.append(
            {
                "entry_id": entry.entry_id.hex(),
                "plaintext": plaintext.hex(),
                "content": _decoded(plaintext),
                "padded_length": len(e2ee.pad(plaintext)),
                "epoch": epoch.entry_id.hex(),
                "chain_key": chain_key.hex(),
                "index": index,
                "message_key": e2ee.Chain(chain_key, index).message_key(index).hex(),
                "key_commitment": envelope.commitment.hex(),
                "nonce": envelope.nonce.hex(),
                "associated_data": e2ee.associated_data(
                    sc.genesis.entry_id, writer.me.public_key, entry.seq, epoch.entry_id, index
                ).hex(),
            }
        )

    say("ana", "It has been a hard week.")
    say("bo", "Thank you for telling us.")
    say("ana", "Thank you.")
    founder = sc.writers["founder"]
    sc.add(
        author.settings(founder, sc.state(), 7, None, sc.tick()),
        "founder sets settings: newcomers read the last 7 days",
    )
    sc.add(
        author.change_role(founder, sc.state(), sc.writers["bo"].me.public_key, payloads.MEMBER, sc.tick()),
        "demote bo",
    )
    bo = sc.writers["bo"]
    sc.add(author.remove(founder, sc.state(), bo.me.public_key, bo.seq, sc.tick(), ban=True), "founder bans bo")
    sc.rekey("founder", epoch_keys)
    say("ana", "See you next week.")
    sc.add(author.leave(sc.writers["ana"], sc.state(), sc.tick()), "ana leaves")

    people = {
        name: {
            "ed25519_seed": w.me.seed.hex(),
            "ed25519_public": w.me.public_key.hex(),
            "x25519_secret": w.me.x_secret.hex(),
            "x25519_public": w.me.x_public_key.hex(),
        }
        for name, w in sc.writers.items()
    }
    return [
        {
            "name": "a full encrypted conversation",
            "label": sc.label,
            "now_ms": NOW,
            "entries": sc.records(),
            "people": people,
            "epoch_keys": {k.hex(): v.hex() for k, v in epoch_keys.items()},
            "messages": messages,
            "final_state": _state_summary(sc.state()),
        }
    ]


def _invite(
    sc: _Scenario,
    by: str,
    role: str,
    *,
    uses: int = 1,
    target: bytes | None = None,
    expires: int = NOW + 86_400_000,
) -> tuple[Entry, author.InviteSecret]:
    entry, secret = author.invite(
        sc.writers[by],
        sc.state(),
        sc.tick(),
        role=role,
        expires_ms=expires,
        max_uses=uses,
        target=target,
        random=sc.rng,
    )
    sc.add(entry, f"{by} invites a {role}")
    return entry, secret


def group_rule_vectors() -> list[Vector]:
    """Small histories, each showing one rule, with every entry's outcome."""
    out: list[Vector] = []

    def finish(sc: _Scenario, name: str) -> None:
        out.append(
            {"name": name, "label": sc.label, "entries": sc.records(), "final_state": _state_summary(sc.state())}
        )

    sc = _Scenario("escalation")
    sc.invite_and_join("ana", payloads.MEMBER)
    ana = sc.writers["ana"]
    sc.add(
        author.change_role(ana, sc.state(), ana.me.public_key, payloads.FACILITATOR, sc.tick()),
        "ana promotes herself",
    )
    finish(sc, "a member cannot raise its own role")

    sc = _Scenario("exhausted")
    secret = sc.invite_and_join("ana", payloads.MEMBER)
    sc.add(secret.join(sc.member("bo"), sc.tick()), "bo reuses the single-use invite")
    finish(sc, "an invite's uses are counted in linearisation order")

    sc = _Scenario("mutual")
    sc.invite_and_join("fay", payloads.FACILITATOR)
    sc.invite_and_join("gus", payloads.FACILITATOR)
    base = sc.state()
    fay, gus = sc.writers["fay"], sc.writers["gus"]
    sc.add(author.remove(fay, base, gus.me.public_key, gus.seq, sc.tick()), "fay removes gus")
    sc.add(author.remove(gus, base, fay.me.public_key, fay.seq, sc.tick()), "gus removes fay, concurrently")
    finish(sc, "two facilitators who remove each other concurrently: the senior stands")

    sc = _Scenario("reset")
    sc.invite_and_join("fay", payloads.FACILITATOR)
    sc.invite_and_join("mo", payloads.MODERATOR)
    base = sc.state()
    mo = sc.writers["mo"].me.public_key
    sc.add(author.change_role(sc.founder, base, mo, payloads.MEMBER, sc.tick()), "founder demotes mo")
    sc.add(
        author.change_role(sc.writers["fay"], base, mo, payloads.FACILITATOR, sc.tick()),
        "fay promotes mo to facilitator, not having seen the demotion",
    )
    finish(sc, "a concurrent promotion cannot undo a demotion")

    sc = _Scenario("readmission")
    _, old = _invite(sc, "founder", payloads.MEMBER, uses=3)
    ana = sc.member("ana")
    sc.add(old.join(ana, sc.tick()), "ana joins")
    sc.add(author.remove(sc.founder, sc.state(), ana.me.public_key, ana.seq, sc.tick()), "founder removes ana")
    sc.add(old.join(ana, sc.tick(), heads=sc.state().heads), "ana rejoins with the old invite, knowing")
    _, fresh = _invite(sc, "founder", payloads.MEMBER, target=ana.me.public_key)
    sc.add(fresh.join(ana, sc.tick(), heads=sc.state().heads), "ana joins with an invite made after")
    finish(sc, "re-admission needs an invite made after the removal")

    sc = _Scenario("revocation")
    sc.invite_and_join("fay", payloads.FACILITATOR)
    before = sc.state()
    _, fays = _invite(sc, "fay", payloads.FACILITATOR, uses=5)
    sc.add(fays.join(sc.member("gus"), sc.tick()), "gus joins through fay's invite")
    _, gus_invite = _invite(sc, "gus", payloads.MEMBER)
    sc.add(gus_invite.join(sc.member("hal"), sc.tick()), "hal joins through gus's invite")
    fay = sc.writers["fay"]
    sc.add(author.remove(sc.founder, before, fay.me.public_key, 1, sc.tick()), "founder removes fay, concurrently")
    sc.add(fays.join(sc.member("ivy"), sc.tick(), heads=sc.state().heads), "ivy joins through fay's invite, after")
    finish(sc, "joins racing with the inviter's removal are void, and the voiding cascades")

    sc = _Scenario("invites")
    _, expired = _invite(sc, "founder", payloads.MEMBER, expires=NOW - 200_000)
    sc.add(expired.join(sc.member("ana"), sc.tick()), "ana uses an expired invite")
    target = sc.member("bo").me.public_key
    _, for_bo = _invite(sc, "founder", payloads.MEMBER, target=target)
    sc.add(for_bo.join(sc.member("cy"), sc.tick()), "cy uses an invite made for bo")
    _, good = _invite(sc, "founder", payloads.MEMBER)
    wrong = author.InviteSecret(good.group_id, good.invite_id, b"\x01" * 32)
    sc.add(wrong.join(sc.member("di"), sc.tick()), "di presents a wrong invite secret")
    sc.add(good.join(sc.member("ed"), sc.tick()), "ed joins")
    _, by_member = _invite(sc, "ed", payloads.MEMBER)
    sc.add(by_member.join(sc.member("fi"), sc.tick()), "fi uses an invite made by a mere member")
    sc.add(good.join(sc.member("ed"), sc.tick(), heads=sc.state().heads), "ed joins again")
    finish(sc, "invite rules: expiry, target, proof, issuer, already a member")

    sc = _Scenario("ban")
    sc.invite_and_join("ana", payloads.MEMBER)
    ana = sc.writers["ana"]
    sc.add(author.remove(sc.founder, sc.state(), ana.me.public_key, ana.seq, sc.tick(), ban=True), "founder bans ana")
    _, for_ana = _invite(sc, "founder", payloads.MEMBER, target=ana.me.public_key)
    sc.add(for_ana.join(ana, sc.tick(), heads=sc.state().heads), "ana tries to rejoin")
    sc.add(author.remove(sc.founder, sc.state(), ana.me.public_key, ana.seq, sc.tick()), "remove a non-member")
    sc.add(author.leave(ana, sc.state(), sc.tick()), "ana leaves a group she is not in")
    finish(sc, "a ban is permanent; operations on non-members are ignored")

    sc = _Scenario("recipients")
    sc.invite_and_join("ana", payloads.MEMBER)
    ana = sc.writers["ana"]
    sc.add(author.remove(sc.founder, sc.state(), ana.me.public_key, ana.seq, sc.tick()), "founder removes ana")
    state = sc.state()
    rekey = e2ee.make_rekey(state, state.heads, sc.founder.me, e2ee.new_epoch_key(sc.rng), random=sc.rng)
    leaky = payloads.Rekey(rekey.deps, tuple(sorted([*rekey.sealed, (ana.me.public_key, b"\x00" * 80)])), None, ())
    sc.add(sc.founder.append(kinds.REKEY, leaky.encode(), sc.tick()), "a rekey that seals to ana too")
    finish(sc, "a rekey seals to current members only")

    sc = _Scenario("earliest")
    for name, role in (("f", payloads.FACILITATOR), ("g", payloads.FACILITATOR), ("h", payloads.FACILITATOR)):
        sc.invite_and_join(name, role)
    sc.invite_and_join("mo", payloads.MODERATOR)
    base = sc.state()
    f, mo = sc.writers["f"], sc.writers["mo"]
    sc.add(author.change_role(sc.writers["g"], base, f.me.public_key, payloads.MODERATOR, sc.tick()), "g demotes f")
    sc.add(author.remove(sc.writers["h"], sc.state(), f.me.public_key, f.seq, sc.tick()), "then h removes f")
    sc.add(author.remove(f, base, mo.me.public_key, mo.seq, sc.tick()), "f removes mo, having seen neither")
    g = sc.writers["g"].me.public_key
    sc.add(author.change_role(sc.founder, sc.state(), g, payloads.FACILITATOR, sc.tick()), "an equal role: no effect")
    finish(sc, "acts concurrent with the author's own restriction are void")

    sc = _Scenario("moderator")
    sc.invite_and_join("mo", payloads.MODERATOR)
    sc.add(
        author.remove(sc.writers["mo"], sc.state(), sc.founder.me.public_key, 1, sc.tick()),
        "mo removes founder",
    )
    finish(sc, "a moderator cannot remove a facilitator")

    out.append(_forked_position_vector())

    node_a, node_b, node_c, node_d = (_node_address(n, 4433 + i) for i, n in enumerate("abcd"))
    sc = _Scenario("hosts", home=node_a)
    _, invite_ana = _invite(sc, "founder", payloads.MEMBER)
    sc.add(invite_ana.join(sc.member("ana"), sc.tick(), home=node_b), "ana joins from community node b")
    _, invite_bo = _invite(sc, "founder", payloads.MEMBER)
    hijack = _node_address("b", 9999)  # node b's key at another address: a listed address is kept
    sc.add(invite_bo.join(sc.member("bo"), sc.tick(), home=hijack), "bo joins naming node b at another address")
    sc.add(author.host(sc.writers["ana"], sc.state(), node_c, sc.tick()), "ana, a member, tries to add node c")
    sc.add(author.host(sc.founder, sc.state(), node_d, sc.tick()), "founder adds node d")
    sc.add(author.host(sc.founder, sc.state(), node_c, sc.tick(), add=False), "founder removes node c, not a host")
    sc.add(author.host(sc.founder, sc.state(), node_b, sc.tick(), add=False), "founder removes node b")
    finish(sc, "hosts: the genesis and joins name home nodes; facilitators add and remove hosts")
    _void_rule_vectors(finish)
    return out


def _state_without(sc: _Scenario, *left_out: Entry) -> group.GroupState:
    """The state of ``sc``'s control entries but ``left_out``: what an author that had not seen them holds."""
    ids = {e.entry_id for e in left_out}
    controls = [e for e, _ in sc.entries if kinds.is_control(e.kind) and e.entry_id not in ids]
    return group.compute_state(sc.genesis, controls)


def _join_ordered(
    sc: _Scenario, secret: author.InviteSecret, name: str, *, above: bytes = b"", below: bytes = b"\xff" * 33
) -> Entry:
    """``name``'s join, dated one more second later until its id lies strictly between ``above`` and
    ``below``. Two joins ready at once are ordered by (timestamp, id) (12.4): a scenario makes first
    the join that ``L`` must take first, and gives it the smaller id too."""
    writer = sc.member(name)
    seq, prev = writer.seq, writer.prev
    for _ in range(256):
        entry = secret.join(writer, sc.tick())
        if above < entry.entry_id < below:
            return entry
        writer.seq, writer.prev = seq, prev
    raise AssertionError("no join id in range")


def _cascade(levels: int) -> _Scenario:
    """fay's invite admits gus, gus's admits hal, hal's admits ivy (``levels`` of them); the founder,
    having seen fay's invite, its own and yul's join but none of those joins, removes fay. yul's join has the
    largest id, so every join of the chain comes before the removal in ``L``."""
    sc = _Scenario(f"cascade of {levels}")
    sc.invite_and_join("fay", payloads.FACILITATOR)
    names = ["gus", "hal", "ivy"][:levels]
    _, secret = _invite(sc, "fay", payloads.MEMBER if levels == 1 else payloads.FACILITATOR)
    _, founders = _invite(sc, "founder", payloads.MEMBER)
    inviter, joins = "fay", []
    for i, name in enumerate(names):
        if i:
            _, secret = _invite(sc, inviter, payloads.MEMBER if i == levels - 1 else payloads.FACILITATOR)
        joins.append(sc.add(secret.join(sc.member(name), sc.tick()), f"{name} joins through {inviter}'s invite"))
        inviter = name
    top = max(j.entry_id for j in joins)
    sc.add(_join_ordered(sc, founders, "yul", above=top), "yul joins through the founder's invite (a larger id)")
    fay = sc.writers["fay"]
    seen = _state_without(sc, *joins)
    sc.add(
        author.remove(sc.founder, seen, fay.me.public_key, fay.seq, sc.tick()),
        "founder removes fay, not having seen the joins",
    )
    return sc


def _void_rule_vectors(finish: Callable[[_Scenario, str], None]) -> None:
    """One history per voiding branch of 12.5 (void joins and restrictions, cascades, displaced joins)."""
    # a join that L puts after its inviter's removal: the join rule itself refuses it
    sc = _Scenario("after the removal")
    sc.invite_and_join("fay", payloads.FACILITATOR)
    _, fays = _invite(sc, "fay", payloads.MEMBER)
    _, founders = _invite(sc, "founder", payloads.MEMBER)
    yul = sc.add(founders.join(sc.member("yul"), sc.tick()), "yul joins through the founder's invite")
    gus = _join_ordered(sc, fays, "gus", above=yul.entry_id)
    sc.add(gus, "gus joins through fay's invite, later (and with a larger id)")
    fay = sc.writers["fay"]
    seen = _state_without(sc, gus)
    sc.add(
        author.remove(sc.founder, seen, fay.me.public_key, fay.seq, sc.tick()),
        "founder removes fay, having seen yul's join but not gus's",
    )
    finish(sc, "a join placed after its inviter's removal is refused")

    finish(_cascade(1), "a join revoked with its inviter is void, though placed before the removal")
    finish(_cascade(2), "revocation cascades: two levels")
    finish(_cascade(3), "revocation cascades: three levels")

    # a junior's restriction that its senior target restricts back in the same race: the restriction is
    # void. "settings": the senior also acted otherwise concurrently with it, and that act stays void;
    # "equal role": the senior's answer is a role entry that does not lower, which restricts back all the same
    variants = {
        "remove": "a restriction is void when its more senior target restricts back in the same race",
        "settings": "an act concurrent with a restriction stays void when the same pass voids that restriction",
        "equal role": "a role entry naming the restricting author, even an equal role, restricts back",
    }
    for variant, name in variants.items():
        sc = _Scenario(f"restricted back: {variant}")
        sc.invite_and_join("fay", payloads.FACILITATOR)
        sc.invite_and_join("gus", payloads.FACILITATOR)
        _, founders = _invite(sc, "founder", payloads.MEMBER)
        base = sc.state()
        fay, gus = sc.writers["fay"], sc.writers["gus"]
        removal = sc.add(author.remove(gus, base, fay.me.public_key, fay.seq, sc.tick()), "gus removes fay")
        sc.add(founders.join(sc.member("ned"), sc.tick()), "ned joins")
        if variant == "settings":
            sc.add(
                author.settings(fay, _state_without(sc, removal), payloads.HISTORY_SHARED, None, sc.tick()),
                "fay changes the settings, having seen ned's join but not her removal",
            )
        if variant == "equal role":
            sc.add(
                author.change_role(
                    fay, _state_without(sc, removal), gus.me.public_key, payloads.FACILITATOR, sc.tick()
                ),
                "fay, more senior, sets gus's role to facilitator, having seen ned's join but not her removal",
            )
        else:
            sc.add(
                author.remove(fay, _state_without(sc, removal), gus.me.public_key, gus.seq, sc.tick()),
                "fay, more senior, removes gus, having seen ned's join but not her removal",
            )
        finish(sc, name)

    # a single-use invite redeemed twice: the first join in L is unacknowledged, the second is seen by
    # another author's entry (applied, or itself ignored)
    for acknowledger in ("founder", "cy", "mal"):
        sc = _Scenario(f"displaced join, acknowledged by {acknowledger}")
        sc.invite_and_join("cy", payloads.MEMBER)
        _, single = _invite(sc, "founder", payloads.MEMBER)
        early = _join_ordered(sc, single, "ana", below=b"\x80")
        late = _join_ordered(sc, single, "bo", above=early.entry_id)
        sc.add(early, "ana joins (first in L)")
        sc.add(late, "bo joins with the same single-use invite, later")
        seen = _state_without(sc, early)
        if acknowledger == "founder":
            note = "founder changes the settings, having seen bo's join but not ana's"
            entry = author.settings(sc.founder, seen, payloads.HISTORY_SHARED, None, sc.tick())
        elif acknowledger == "mal":
            sc.add(_join_ordered(sc, single, "mal", above=late.entry_id), "mal joins with the same used invite")
            seen = _state_without(sc, early)
            note = "mal, never a member, leaves, having seen bo's join but not ana's"
            entry = author.leave(sc.writers["mal"], seen, sc.tick())
        else:
            note = "cy, a member, tries to change the settings (forbidden), having seen bo's join but not ana's"
            entry = author.settings(sc.writers["cy"], seen, payloads.HISTORY_SHARED, None, sc.tick())
        sc.add(entry, note)
        if acknowledger == "founder":
            finish(sc, "an unacknowledged join cannot displace an acknowledged one")
        elif acknowledger == "mal":
            finish(sc, "an entry of a pseudonym that was never admitted acknowledges nothing")
        else:
            finish(sc, "an entry that is itself ignored still acknowledges a join")

    # two joins ready at once with one timestamp: neither author has a place in L, so the smaller id
    # comes first
    sc = _Scenario("joiner tie-break")
    _, single = _invite(sc, "founder", payloads.MEMBER)
    at = sc.tick()
    joins = sorted(((single.join(sc.member(name), at), name) for name in ("ana", "bo")), key=lambda j: j[0].entry_id)
    (first, first_name), (second, second_name) = joins
    sc.add(second, f"{second_name} joins")
    sc.add(first, f"{first_name} joins at the same time with the same invite and the smaller id")
    finish(sc, "joins ready at once with one timestamp are ordered by id")

    # an invite closed (kind 14): a join after the close in L is ignored by the table; one that L places
    # before the close (it is dated early, so it ranks before a newcomer the close saw) is found void
    sc = _Scenario("invite closed")
    sc.invite_and_join("cy", payloads.MEMBER)
    invite, open_invite = _invite(sc, "founder", payloads.MEMBER, uses=5, expires=NOW + 60_000)
    sc.add(open_invite.join(sc.member("ana"), sc.tick()), "ana joins")
    sc.add(
        author.close_invite(sc.writers["cy"], sc.state(), invite.entry_id, sc.tick()),
        "cy, a member, tries to close the invite before it expires",
    )
    close = sc.add(author.close_invite(sc.founder, sc.state(), invite.entry_id, sc.tick()), "founder closes the invite")
    sc.add(open_invite.join(sc.member("bo"), sc.tick()), "bo joins after the close")
    sc.add(
        open_invite.join(sc.member("mal"), invite.timestamp_ms),
        "mal joins, dated at the invite's own time, unseen by the close: L places it before the close",
    )
    sc.add(author.close_invite(sc.founder, sc.state(), invite.entry_id, sc.tick()), "founder closes it again")
    _, expiring = _invite(sc, "founder", payloads.MEMBER, expires=sc.clock + 1)
    sc.clock += 10
    sc.add(
        author.close_invite(sc.writers["cy"], sc.state(), expiring.invite_id, sc.tick()),
        "cy, a member, closes another invite after its expiry",
    )
    sc.add(
        author.close_invite(sc.founder, sc.state(), close.entry_id, sc.tick()), "founder closes what is not an invite"
    )
    finish(sc, "a closed invite admits no join the close did not see")

    # a demotion below facilitator revokes the joins it had not seen; one that saw them, or that
    # does not lower the role, revokes nothing
    for lowering in (True, False):
        sc = _Scenario("demotion" if lowering else "no demotion")
        sc.invite_and_join("fay", payloads.FACILITATOR)
        _, fays = _invite(sc, "fay", payloads.MEMBER)
        _, founders = _invite(sc, "founder", payloads.MEMBER)
        gus = sc.add(fays.join(sc.member("gus"), sc.tick()), "gus joins through fay's invite")
        sc.add(_join_ordered(sc, founders, "yul", above=gus.entry_id), "yul joins (a larger id)")
        fay = sc.writers["fay"].me.public_key
        seen = _state_without(sc, gus)
        if lowering:
            sc.add(
                author.change_role(sc.founder, seen, fay, payloads.MODERATOR, sc.tick()),
                "founder demotes fay to moderator, not having seen gus's join",
            )
            finish(sc, "a demotion below facilitator revokes the joins it had not seen")
            continue
        sc.add(
            author.change_role(sc.founder, seen, fay, payloads.FACILITATOR, sc.tick()),
            "founder sets fay's role to facilitator (not a lowering), not having seen gus's join",
        )
        sc.add(
            author.change_role(sc.founder, sc.state(), fay, payloads.MEMBER, sc.tick()),
            "founder demotes fay to member, having seen gus's join",
        )
        finish(sc, "a demotion revokes nothing it saw, and an equal role is no demotion")


def _forked_position_vector() -> Vector:
    """Spec 12.5 "Forked positions": x signs two erase entries at seq 2; host a holds one twin (and x's
    next entry along it), host b the other twin; the founder, on a, names twin one and then x's next
    entry. With the fork proof (and, on b, x's next header, which it could not place), both hosts
    compute one state."""
    sc = _Scenario("forked")
    sc.invite_and_join("x", payloads.MEMBER)
    x = sc.writers["x"]
    base = sc.state()
    twin_writer = author.LogWriter(x.me, x.group_id, x.seq, x.prev)
    one = sc.add(x.append(kinds.ERASE, payloads.Erase(base.heads, 1).encode(), sc.tick()), "x erases (twin one)")
    two = twin_writer.append(kinds.ERASE, payloads.Erase(base.heads, 1).encode(), sc.tick())
    after_one = sc.add(
        x.append(kinds.ERASE, payloads.Erase((one.entry_id,), 1).encode(), sc.tick()), "x goes on along twin one"
    )
    invite = sc.add(
        author.invite(sc.founder, sc.state(), sc.tick(), role=payloads.MEMBER, expires_ms=NOW, random=sc.rng)[0],
        "the founder, on host a, invites (d names x's latest)",
    )
    settings = sc.add(
        author.settings(sc.founder, sc.state(), payloads.HISTORY_SHARED, None, sc.tick()),
        "the founder changes the settings",
    )
    proof = make_fork_proof(one, two)
    controls_a = [e for e, _ in sc.entries if kinds.is_control(e.kind)]
    controls_b = [e for e in controls_a if e.entry_id not in (one.entry_id, after_one.entry_id)] + [two]
    state_a = group.compute_state(sc.genesis, controls_a, forks=forks_of([proof]))
    state_b = group.compute_state(sc.genesis, controls_b, forks=forks_of([proof], [after_one]))
    assert state_a.fingerprint() == state_b.fingerprint()
    assert state_a.outcomes[invite.entry_id] is None and state_b.outcomes[settings.entry_id] is None
    entries = [_entry_record(e, note, state_a) for e, note in sc.entries]
    entries.append(_entry_record(two, "x erases (twin two), sent to host b only", state_b))
    return {
        "name": "a forked position is void on every host, whichever twin it holds",
        "entries": entries,
        "fork_proof": proof.encode().hex(),
        "hosts": {
            "a": {"holds": [e.entry_id.hex() for e in controls_a], "other_branch": []},
            "b": {"holds": [e.entry_id.hex() for e in controls_b], "other_branch": [after_one.raw.hex()]},
        },
        "final_state": _state_summary(state_a),
        "fingerprint": state_a.fingerprint().hex(),
    }


def _node_address(label: str, port: int) -> str:
    """A node address whose key is derived from ``label`` (seed = BLAKE2b-256("node:" + label))."""
    key = crypto.ed25519_public_key(crypto.blake2b_256(b"node:" + label.encode()))
    return str(NodeAddress(key, "127.0.0.1", port))


def address_vectors() -> list[Vector]:
    """Node addresses (spec 12.2 "node-address"): accepted with their normal form, or refused."""
    node_id = textid.encode_id(textid.NODE_PREFIX, crypto.ed25519_public_key(crypto.blake2b_256(b"node:a")))
    prefix = f"holdspace://{node_id}@"
    cases = [
        "127.0.0.1:4433",
        "community.example.org:4433",
        "Community.Example.ORG:4433",
        "[2001:DB8:0:0::1]:443",
        "[::ffff:192.0.2.1]:443",
        "[::FFFF:C000:201]:443",
        "[::192.0.2.1]:443",
        "[64:ff9b::192.0.2.1]:443",
        "a-b.c:9",
        "example.org.:4433",
        "ex ample.org:4433",
        "-example.org:4433",
        "1.2.3:4433",
        "01.2.3.4:4433",
        "256.1.1.1:4433",
        "[fe80::1%eth0]:4433",
        "example.org:04433",
        "example.org:0",
        "example.org:65536",
        "example.org",
        "m\u00fcnchen.example:4433",
    ]
    out: list[Vector] = []
    for case in cases:
        text = prefix + case
        try:
            parsed = NodeAddress.parse(text)
        except HoldspaceError as err:
            out.append({"name": f"host {case!r}", "text": text, "error": err.code})
            continue
        normal = str(parsed)
        out.append({"name": f"host {case!r}", "text": text, "normal_form": normal, "is_normal": normal == text})
    bad_id = "holdspace://hsn1qqqq@127.0.0.1:4433"
    out.append({"name": "a damaged node id", "text": bad_id, "error": error_of(lambda: NodeAddress.parse(bad_id))})
    upper = f"holdspace://{node_id.upper()}@example.org:4433"
    out.append({"name": "a node id in upper case", "text": upper, "normal_form": str(NodeAddress.parse(upper))})
    out[-1]["is_normal"] = out[-1]["normal_form"] == upper
    for name, text in (
        ("white space around the node id", f"holdspace:// {node_id}@example.org:4433"),
        ("a byte order mark before the address", f"\ufeffholdspace://{node_id}@example.org:4433"),
    ):
        out.append({"name": name, "text": text, "error": error_of(lambda t=text: NodeAddress.parse(t))})
    return out


def _token_text(fields: dict[str, codec.CborValue]) -> str:
    """``hsinvite:`` + base64url of ``fields`` as CBOR and its 4 check bytes, whatever the fields."""
    body = codec.encode(fields)
    blob = body + crypto.blake2b_256(body)[:4]
    return "hsinvite:" + base64.urlsafe_b64encode(blob).rstrip(b"=").decode()


def invite_vectors() -> list[Vector]:
    """Invite tokens and invite links (spec 14.3): what each parses to, or the code refusing it."""
    a, b = _node_address("a", 4433), _node_address("b", 4434)
    fields: dict[str, codec.CborValue] = {
        "g": crypto.blake2b_256(b"group"),
        "i": crypto.blake2b_256(b"invite"),
        "s": crypto.blake2b_256(b"seed"),
        "n": [a, b],
    }
    token = _token_text(fields)
    assert str(InviteToken.parse(token)) == token
    data = token[len("hsinvite:") :]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    assert len(data) % 4 in (2, 3)  # the last character has unused bits
    stray = data[:-1] + alphabet[alphabet.index(data[-1]) | 1]
    damaged = data[:40] + ("A" if data[40] != "A" else "B") + data[41:]
    host = "https://community.example.org"
    cases: list[tuple[str, str]] = [
        ("a token", token),
        ("a token wrapped over lines", token[:60] + "\n  " + token[60:120] + "\r\n" + token[120:]),
        ("a link", f"{host}/join#{token}"),
        ("a link with a port", f"{host}:8443/join#{token}"),
        ("a link in upper case, port 443 written", f"HTTPS://Community.Example.ORG:443/join#{token}"),
        ("a link to an IPv4 host", f"https://192.0.2.7:8443/join#{token}"),
        ("a link to an IPv6 host", f"https://[2001:DB8:0::1]:8443/join#{token}"),
        ("a link wrapped over lines", f"{host}/join#{token[:50]}\n{token[50:]}"),
        ("a token with a character changed", "hsinvite:" + damaged),
        ("a token cut short", token[:-6]),
        ("a token with padding", token + "=" * (-len(data) % 4)),
        (
            "a token in base64 (not base64url)",
            token.replace("-", "+").replace("_", "/") if ("-" in data or "_" in data) else token + "+",
        ),
        ("a token with stray trailing bits", "hsinvite:" + stray),
        ("a token with a character outside base64url", token[:30] + "!" + token[30:]),
        ("only the prefix", "hsinvite:"),
        ("no prefix", data),
        ("a token naming 9 nodes", _token_text({**fields, "n": [a] * 9})),
        ("a token naming no node", _token_text({**fields, "n": []})),
        ("a token with another field", _token_text({**fields, "x": 1})),
        ("a token with a 31-byte seed", _token_text({**fields, "s": bytes(31)})),
        ("a token whose node is not an address", _token_text({**fields, "n": ["holdspace://example.org"]})),
        ("a link over http", f"http://community.example.org/join#{token}"),
        ("a link over wss", f"wss://community.example.org/join#{token}"),
        ("a link without its token", f"{host}/join"),
        ("a link with an empty fragment", f"{host}/join#"),
        ("a link to another path", f"{host}/invite#{token}"),
        ("a link with a trailing slash", f"{host}/join/#{token}"),
        ("a link with a path in upper case", f"{host}/JOIN#{token}"),
        ("a link with a query", f"{host}/join?from=mail#{token}"),
        ("a link with user info", f"https://ana@community.example.org/join#{token}"),
        ("a link with port 0", f"{host}:0/join#{token}"),
        ("a link with a port with a leading zero", f"{host}:08443/join#{token}"),
        ("a link with a bad host", f"https://-community.example.org/join#{token}"),
        ("a link with an IPv6 zone", f"https://[fe80::1%25eth0]/join#{token}"),
        ("a link whose fragment is not a token", f"{host}/join#welcome"),
        ("a link whose token is damaged", f"{host}/join#hsinvite:{damaged}"),
        ("a token with the group's name", _token_text({**fields, "m": "Thursday grief circle"})),
        ("a token with a 64-byte name", _token_text({**fields, "m": "é" * 32})),
        ("a link with the group's name", f"{host}/join#" + _token_text({**fields, "m": "Thursday grief circle"})),
        ("a token with a 65-byte name", _token_text({**fields, "m": "x" * 65})),
        ("a token with an empty name", _token_text({**fields, "m": ""})),
        ("a token with a name on two lines", _token_text({**fields, "m": "Thursday\ngrief"})),
        ("a token whose name is bytes", _token_text({**fields, "m": b"Thursday"})),
    ]
    out: list[Vector] = []
    for name, text in cases:
        try:
            parsed = InviteToken.parse(text)
        except HoldspaceError as err:
            out.append({"name": name, "text": text, "error": err.code})
            continue
        vec: Vector = {
            "name": name,
            "text": text,
            "token": str(parsed),
            "g": parsed.group_id.hex(),
            "i": parsed.invite_id.hex(),
            "s": parsed.seed.hex(),
            "n": [str(n) for n in parsed.nodes],
        }
        if parsed.name is not None:
            vec["m"] = parsed.name
        if "://" in text:
            link = InviteLink.parse(text)
            vec["origin"] = link.origin
            vec["link"] = str(link)
        out.append(vec)
    return out


def federation_vectors() -> list[Vector]:
    """Every federation frame (spec 16) as bytes, with its decoded meaning."""
    sc = _Scenario("federation", home=_node_address("a", 4433))
    _, secret = _invite(sc, "founder", payloads.MEMBER)
    sc.add(secret.join(sc.member("ana"), sc.tick(), home=_node_address("b", 4433)), "ana joins from node b")
    entries = [e for e, _ in sc.entries]
    gid = sc.genesis.entry_id
    heads: dict[bytes, tuple[int, bytes]] = {}
    for e in entries:
        heads[e.author] = (e.seq, e.entry_id)
    digest = federation.heads_digest(heads)
    other = crypto.blake2b_256(b"another group")
    out: list[Vector] = [
        {
            "name": "heads digest of a group",
            "heads": [[a.hex(), s, i.hex()] for a, (s, i) in sorted(heads.items())],
            "digest": digest.hex(),
        },
        {"name": "heads digest of an empty group", "heads": [], "digest": federation.heads_digest({}).hex()},
    ]

    def frame(name: str, raw: bytes, **meaning: Any) -> None:
        out.append({"name": name, "frame": raw.hex(), **meaning})

    third = crypto.blake2b_256(b"a third group")
    early = {e.author: (e.seq, e.entry_id) for e in entries[:2]}  # the puller holds the first two entries
    frame(
        "digests request",
        federation.encode_digests({gid: federation.heads_digest(early), other: digest, third: bytes(32)}),
        note="the puller's heads digest per group, groups sorted by id",
    )
    frame(
        "digests answer",
        frames.encode_ok({"differ": [gid], "same": [[other, 7]], "refused": [[third, "fed.not_host"]]}),
        note="same: [group, the answering node's last cursor]; each requested group appears once",
    )
    have = federation.have_list(early)
    frame(
        "sync request",
        federation.encode_sync({gid: (2, have), other: (7, None)}),
        note="gid: from cursor 2, leaving out what have holds; other: from cursor 7 (digests were equal)",
    )
    frame("sync answer", frames.encode_ok({"groups": [[gid, None], [other, None]]}))
    items: list[codec.CborValue] = [[i + 3, e.raw, e.payload] for i, e in enumerate(entries[2:])]
    frame("entries event", federation.encode_entries_event(gid, items, 2 + len(items)))
    frame(
        "entries event with nothing left to send",
        federation.encode_entries_event(other, [], 1031),
        note="every entry of the page was left out; the puller records next all the same",
    )
    chain = make_chain(ALICE, 2)
    proof = make_fork_proof(chain[1], second_at_seq_2(chain)).encode()
    frame("fork event", federation.encode_fork_event(GROUP, proof))
    frame("keepalive event", frames.encode_event("keepalive"))
    frame("rejected event", federation.encode_rejected_event(entries[-1].entry_id, "group.not_member"))
    join = entries[-1]
    frame("offer request", federation.encode_offer(join.raw, join.payload), note="a client's join, relayed")
    frame("offer answer", frames.encode_ok({"id": join.entry_id, "c": 4}))
    frame(
        "adopt request (client protocol)",
        frames.encode_client_request(5, "adopt", e=join.raw, b=join.payload, hosts=[_node_address("a", 4433)]),
        note="to the joiner's home node (node b), which offers the join to node a",
    )
    frame("error answer", frames.encode_error("fed.not_host", "the peer node is not a host of that group"))
    bad = codec.encode({"op": "sync", "groups": [[other, 0, None], [gid, 0, None]]})
    out.append(
        {
            "name": "sync request with groups out of order",
            "frame": bad.hex(),
            "error": error_of(lambda: federation.decode_fed_request(bad)),
        }
    )
    bad_have = codec.encode({"op": "sync", "groups": [[gid, 0, [[ALICE.public_key, 0, gid]]]]})
    out.append(
        {
            "name": "have with seq 0",
            "frame": bad_have.hex(),
            "error": error_of(lambda: federation.decode_fed_request(bad_have)),
        }
    )
    return out


# --- support-group features (spec 12.3, 12.5, 12.6, 13.4, 13.7, 17) ---------------------------

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
LONDON = "Europe/London"


class _ClientFrames:
    """Appends client-session frame vectors to ``out``, in the order they are recorded: ``frame``
    records a frame as bytes with its decoded fields (byte strings as hex); ``refused`` records a
    request ``frames.decode_client_request`` refuses, with the refusal's code and the request id it
    names (raises ``AssertionError`` if the request is accepted). Extra keywords go into the vector."""

    def __init__(self, out: list[Vector]) -> None:
        self.out = out

    def frame(self, name: str, raw: bytes, **meaning: Any) -> None:
        self.out.append({"name": name, "frame": raw.hex(), "decoded": _decoded(raw), **meaning})

    def refused(self, name: str, raw: bytes, **meaning: Any) -> None:
        try:
            frames.decode_client_request(raw)
        except frames.FrameError as err:
            self.out.append({"name": name, "frame": raw.hex(), "error": err.code, "id": err.rid, **meaning})
            return
        raise AssertionError("expected a refusal")


def client_frame_vectors() -> list[Vector]:
    """Frames of the client session stream (spec 14.1, 14.2): requests, answers, events and errors
    with their request ids, each as bytes and its decoded fields (byte strings as hex). A vector with
    "error" is a frame a node refuses: "id" is the id its refusal names (null: none could be read, so
    the node sends {"err"} without id and closes the connection with code 2)."""
    sc = _Scenario("client frames", home=_node_address("a", 4433))
    entries = [e for e, _ in sc.entries]
    gid = sc.genesis.entry_id
    genesis = entries[0]
    out: list[Vector] = []

    record = _ClientFrames(out)
    frame, refused = record.frame, record.refused

    challenge = crypto.blake2b_256(b"a connection's challenge")
    node_key = crypto.blake2b_256(b"a node key")
    frame("hello request", frames.encode_client_request(0, "hello", v=2))
    frame(
        "hello answer",
        frames.encode_answer(
            0,
            {
                "v": 2,
                "node": node_key,
                "challenge": challenge,
                "limits": {"publish_rate": 1000, "max_frame": frames.MAX_FRAME, "in_flight": frames.MAX_IN_FLIGHT},
            },
        ),
    )
    sig = ALICE.sign(frames.auth_message(challenge, node_key, ALICE.public_key))
    frame(
        "auth request",
        frames.encode_client_request(1, "auth", k=ALICE.public_key, sig=sig),
        note="sig signs auth_message(challenge, node key, k) of 14.2",
    )
    frame("auth answer", frames.encode_answer(1, {}))
    frame("publish request", frames.encode_client_request(2, "publish", e=genesis.raw, b=genesis.payload))
    frame(
        "fetch request, pipelined before the publish is answered",
        frames.encode_client_request(3, "fetch", g=gid, after=0, limit=frames.MAX_FETCH),
    )
    item = frames.entry_item(1, codec.encode([genesis.raw, genesis.payload]))
    frame(
        "fetch answer, before the publish answer",
        frames.encode_fetch_ok(3, [item], 1, False),
        note="answers come in the order they complete, each naming its request",
    )
    frame("publish answer", frames.encode_answer(2, {"id": genesis.entry_id, "c": 1}))
    frame("subscribe request", frames.encode_client_request(4, "subscribe", g=gid, after=1))
    frame("subscribed event", frames.encode_client_event(4, "subscribed", next=1))
    items = [frames.entry_item(i + 2, codec.encode([e.raw, e.payload])) for i, e in enumerate(entries[1:3])]
    frame("entries event", frames.encode_entries_event(4, items, 1 + len(items)))
    frame("cancel request", frames.encode_client_request(5, "cancel", sub=4))
    frame(
        "subscription end",
        frames.encode_answer(4, {"next": 1 + len(items)}),
        note="the cancelled subscription's final answer: the last cursor it sent; before the cancel's answer",
    )
    frame("cancel answer", frames.encode_answer(5, {}))
    frame(
        "error answer",
        frames.encode_refusal(6, "proto.forbidden", "none of your pseudonyms has joined this group"),
    )
    frame(
        "subscription ended by a refusal",
        frames.encode_refusal(4, "proto.forbidden", "none of your pseudonyms has joined this group"),
        note="read rights are asked again before every event (14.2 rule 4)",
    )
    frame(
        "error without id, before the close",
        frames.encode_refusal(None, "proto.malformed_frame", "a request carries an unsigned integer id"),
    )
    frame(
        "large request id",
        frames.encode_client_request(2**64 - 1, "state", g=gid),
        note="any unsigned integer up to 2**64 - 1",
    )

    refused("request without id", frames.encode_request("state", g=gid))
    refused(
        "version-1 hello (no id)",
        frames.encode_request("hello", v=1),
        note="what a version-1 client sends first; it reads the {err} answer as its hello's",
    )
    refused("request with a negative id", codec.encode({"op": "state", "id": -1, "g": gid}))
    refused("not a map", codec.encode([0, "hello", 2]))
    refused("not canonical CBOR", b"\xb9\x00\x01\x62id\x00")
    refused("unknown operation", frames.encode_client_request(7, "delete", g=gid))
    refused("field of the wrong size", frames.encode_client_request(8, "state", g=gid[:31]))
    refused("extra field", frames.encode_client_request(9, "cancel", sub=4, g=gid))
    return out


def admission_vectors() -> list[Vector]:
    """Spec 14.6: an operator's token (its text and the hash a node keeps), the version-3 frames that
    carry it and tell the node's admission and contact, the refusals a client and a peer get."""
    sc = _Scenario("admission", home=_node_address("a", 4433))
    _, secret = _invite(sc, "founder", payloads.MEMBER)
    join = secret.join(sc.member("ana"), sc.tick(), home=_node_address("b", 4433))
    genesis = sc.genesis
    token = crypto.blake2b_256(b"an operator's token")
    out: list[Vector] = [
        {
            "name": "operator's token",
            "token": token.hex(),
            "text": operator_token.token_text(token),
            "hash": operator_token.token_hash(token).hex(),
            "note": "the node keeps the hash only: BLAKE2b-256('holdspace/v1/operator-token' || 0x00 || token)",
        }
    ]
    for bad in ("hstoken:" + "A" * 42, "token:" + operator_token.token_text(token)[8:]):
        try:
            operator_token.parse_token(bad)
        except HoldspaceError as err:
            out.append({"name": "malformed token text", "text": bad, "error": err.code})

    record = _ClientFrames(out)
    frame, refused = record.frame, record.refused

    challenge = crypto.blake2b_256(b"a connection's challenge")
    node_key = crypto.blake2b_256(b"a node key")
    frame("hello request, version 3", frames.encode_client_request(0, "hello", v=3))
    frame(
        "hello answer, version 3",
        frames.encode_answer(
            0,
            {
                "v": 3,
                "node": node_key,
                "challenge": challenge,
                "limits": {"publish_rate": 1000, "max_frame": frames.MAX_FRAME, "in_flight": frames.MAX_IN_FLIGHT},
                "create": "token",
                "contact": "mailto:abuse@example.org",
            },
        ),
        note="create: open, token or closed; contact only if the operator set one",
    )
    frame(
        "publish of a genesis with the operator's token",
        frames.encode_client_request(1, "publish", e=genesis.raw, b=genesis.payload, token=token),
    )
    frame(
        "adopt with the operator's token",
        frames.encode_client_request(
            2, "adopt", e=join.raw, b=join.payload, hosts=[_node_address("a", 4433)], token=token
        ),
    )
    for rid, code in enumerate(
        ("admission.token_required", "admission.token_used_up", "admission.max_groups", "quota.group_full"), 3
    ):
        frame(f"refusal: {code}", frames.encode_refusal(rid, code, CODES[code]))
    digests = frames.encode_ok({"differ": [], "same": [], "refused": [[genesis.entry_id, "admission.peer_refused"]]})
    frame("digests answer refusing to host a group", digests, note="nothing is fetched (16.4)")

    refused(
        "token of the wrong size",
        frames.encode_client_request(9, "publish", e=genesis.raw, b=genesis.payload, token=token[:16]),
    )
    refused(
        "token on a request that takes none", frames.encode_client_request(10, "state", g=genesis.entry_id, token=token)
    )
    return out


def _plain(value: codec.CborValue) -> Any:
    """A CBOR value as JSON: byte strings as lowercase hex."""
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _decoded(raw: bytes) -> Any:
    return _plain(codec.decode(raw))


def _wall_ms(year: int, month: int, day: int, hour: int, minute: int, tz: str) -> int:
    """A local wall time in ``tz`` (fold = 0) as ms since the epoch: the inputs of the schedule vectors."""
    local = datetime(year, month, day, hour, minute, tzinfo=schedule.zone(tz))
    return int(local.timestamp()) * 1000


def _local(ms: int, tz: str) -> str:
    return datetime.fromtimestamp(ms / 1000, schedule.zone(tz)).isoformat(timespec="milliseconds")


def _earliest(*times: int | None) -> int | None:
    return min((t for t in times if t is not None), default=None)


class _Support(_Scenario):
    """A support group's history with every member's key state, and the one key of every message."""

    def __init__(self, label: str) -> None:
        super().__init__(label)
        self.epoch_keys: dict[bytes, bytes] = {}
        self.keys: dict[str, e2ee.GroupKeys] = {}
        self.opened: dict[bytes, bytes] = {}  # entry id -> its message key (or a direct's content key)
        self.messages: list[Vector] = []
        self.directs: list[Vector] = []
        self.details: list[Vector] = []

    def key(self, name: str) -> bytes:
        return self.writers[name].me.public_key

    def group_keys(self, name: str) -> e2ee.GroupKeys:
        """``name``'s key state, holding every epoch sealed to it so far."""
        keys = self.keys.setdefault(name, e2ee.GroupKeys(self.genesis.entry_id, self.writers[name].me))
        for epoch in self.state().epochs:
            if self.key(name) in epoch.recipients and epoch.entry_id not in keys.epochs:
                keys.accept_epoch(epoch, self.epoch_keys[epoch.entry_id])
        return keys

    def seal(self, name: str, plaintext: bytes, expires_ms: int | None = None) -> tuple[bytes, bytes, Vector]:
        """``plaintext`` encrypted on ``name``'s chain in the current epoch, for its next seq."""
        epoch = self.state().current_epoch
        assert epoch is not None
        keys = self.group_keys(name)
        writer = self.writers[name]
        chain = keys.epochs[epoch.entry_id].chains[writer.me.public_key]
        chain_key, index, seq = chain.key, chain.next_index, writer.seq + 1
        envelope, mk = keys.encrypt_keyed(epoch.entry_id, seq, plaintext, self.rng, expires_ms=expires_ms)
        ad = e2ee.associated_data(self.genesis.entry_id, writer.me.public_key, seq, epoch.entry_id, index)
        info: Vector = {
            "epoch": epoch.entry_id.hex(),
            "index": index,
            "chain_key": chain_key.hex(),
            "message_key": mk.hex(),
            "key_commitment": envelope.commitment.hex(),
            "nonce": envelope.nonce.hex(),
            "associated_data": ad.hex(),
            "plaintext": plaintext.hex(),
            "content": _decoded(plaintext),
        }
        return envelope.encode(), mk, info

    def say(self, name: str, content: contents.Content, note: str, *, ttl_ms: int | None = None) -> Entry:
        """A group message (kind message); ``ttl_ms``: its envelope's "x" is its timestamp plus this."""
        timestamp = self.tick()
        expires = timestamp + ttl_ms if ttl_ms is not None else None
        payload, mk, info = self.seal(name, contents.encode_content(content), expires)
        entry = self.add(self.writers[name].append(kinds.MESSAGE, payload, timestamp), note)
        self.opened[entry.entry_id] = mk
        self.messages.append({"entry_id": entry.entry_id.hex(), **info, "expires_ms": expires})
        return entry

    def direct(self, name: str, content: contents.Content, to: list[str], note: str) -> Entry:
        """A direct message (kind direct) sealed to the members ``to``."""
        state = self.state()
        writer = self.writers[name]
        recipients = {self.key(n): state.members[self.key(n)].x25519 for n in to}
        plaintext = contents.encode_content(content)
        seq = writer.seq + 1
        envelope, key = e2ee.seal_direct(
            self.genesis.entry_id, writer.me.public_key, seq, recipients, plaintext, self.rng
        )
        entry = self.add(writer.append(kinds.DIRECT, envelope.encode(), self.tick()), note)
        self.opened[entry.entry_id] = key
        self.directs.append(
            {
                "entry_id": entry.entry_id.hex(),
                "recipients": sorted(k.hex() for k in recipients),
                "content_key": key.hex(),
                "key_commitment": envelope.commitment.hex(),
                "nonce": envelope.nonce.hex(),
                "associated_data": e2ee.direct_associated_data(self.genesis.entry_id, writer.me.public_key, seq).hex(),
                "plaintext": plaintext.hex(),
                "content": _decoded(plaintext),
            }
        )
        return entry

    def schedule(
        self,
        name: str,
        note: str,
        *,
        start_ms: int,
        duration_ms: int,
        recurrence: tuple[str, int] | None = None,
        retention_ms: int | None = None,
        replaces: bytes | None = None,
        cancel: bool = False,
        details: contents.SessionDetails | None = None,
    ) -> Entry:
        """A session entry; its details are encrypted like a message at the entry's seq."""
        timestamp = self.tick()
        sealed, mk, info = self.seal(name, contents.encode_content(details)) if details else (None, None, None)
        spec = payloads.Session(
            self.state().deps(), replaces, start_ms, duration_ms, LONDON, recurrence, retention_ms, cancel, sealed
        )
        entry = self.add(self.writers[name].append(kinds.SESSION, spec.encode(), timestamp), note)
        if mk is not None and info is not None:
            self.opened[entry.entry_id] = mk
            self.details.append({"entry_id": entry.entry_id.hex(), **info})
        return entry

    def control(self, name: str, kind: int, payload: bytes, note: str) -> Entry:
        return self.add(self.writers[name].append(kind, payload, self.tick()), note)

    def disclosure(self, entry: Entry) -> contents.Disclosure:
        assert entry.payload is not None
        return contents.Disclosure(entry.raw, entry.payload, self.opened[entry.entry_id])


def _session_summary(s: group.ScheduledSession) -> Vector:
    spec = s.spec
    occurrences = schedule.occurrences(s)
    return {
        "entry_id": s.entry_id.hex(),
        "author": s.author.hex(),
        "start_ms": spec.start_ms,
        "duration_ms": spec.duration_ms,
        "tz": spec.tz,
        "recurrence": list(spec.recurrence) if spec.recurrence else None,
        "retention_ms": spec.retention_ms,
        "cancelled_at_ms": s.cancelled_at_ms,
        "occurrences": [[o.start_ms, o.end_ms] for o in occurrences],
        "local_starts": [_local(o.start_ms, spec.tz) for o in occurrences],
    }


def _support_state(state: group.GroupState) -> Vector:
    return {
        **_state_summary(state),
        "redactions": [
            {"author": a.hex(), "target": eid.hex(), "redaction": rid.hex()}
            for (a, eid), rid in sorted(state.redactions.items())
        ],
        "erased": {k.hex(): seq for k, seq in sorted(state.erased.items())},
        "sessions": {sid.hex(): _session_summary(s) for sid, s in sorted(state.sessions.items())},
        "issuers": {k.hex(): eid.hex() for k, eid in sorted(state.issuers.items())},
    }


def _host_view(sc: _Support, checkpoints: list[int]) -> list[Vector]:
    """For every message-kind entry: what a host keeps of it (spec 12.6, 17.5)."""
    state = sc.state()
    out: list[Vector] = []
    for e, _ in sc.entries:
        if e.kind not in kinds.MESSAGE_KINDS or e.payload is None:
            continue
        authorised = state.authorised_at(e.author, e.seq)
        deleted = state.deleted(e.author, e.seq, e.entry_id)
        expires = payloads.envelope_expiry(e.kind, e.payload)
        retention = schedule.retention_deadline(state, e.timestamp_ms)
        deadline = _earliest(expires, retention)
        out.append(
            {
                "entry_id": e.entry_id.hex(),
                "timestamp_ms": e.timestamp_ms,
                "authorised": authorised,
                "deleted": deleted,
                "expires_ms": expires,
                "retention_deadline_ms": retention,
                "deadline_ms": deadline,
                "payload_kept": [
                    authorised and deleted is None and (deadline is None or deadline > t) for t in checkpoints
                ],
            }
        )
    return out


def _support_history() -> tuple[_Support, dict[str, Entry]]:
    """One group's history using every support feature; ``marks`` names entries the vectors cite."""
    sc = _Support("support")
    marks: dict[str, Entry] = {}
    sc.rekey("founder", sc.epoch_keys)
    sc.invite_and_join("ana", payloads.MEMBER)
    sc.invite_and_join("bo", payloads.MODERATOR)
    sc.invite_and_join("cy", payloads.MEMBER)
    sc.invite_and_join("dee", payloads.MEMBER)
    sc.rekey("founder", sc.epoch_keys)
    weekly = sc.schedule(
        "founder",
        "founder schedules a weekly session, Mondays 14:30 London time, 8 times, retention 1 day",
        start_ms=_wall_ms(2025, 10, 20, 14, 30, LONDON),
        duration_ms=90 * 60_000,
        recurrence=("weekly", 8),
        retention_ms=DAY_MS,
        details=contents.SessionDetails("Monday circle", "A facilitated peer-support circle."),
    )
    marks["session"] = weekly
    sc.add(
        sc.writers["bo"].append(
            kinds.SESSION,
            payloads.Session(sc.state().deps(), None, NOW, HOUR_MS, LONDON, None, None, False, None).encode(),
            sc.tick(),
        ),
        "bo, a moderator, tries to schedule a session",
    )
    marks["pin"] = sc.say("founder", contents.Pin("Samaritans (UK): call 116 123, any time."), "founder pins resources")
    marks["a"] = sc.say("ana", contents.Text("Today was rough.", "grief"), "ana says something, with a warning")
    marks["b"] = sc.say("ana", contents.Text("Thank you all for listening."), "ana says more")
    marks["c"] = sc.say("cy", contents.Text("Same here."), "cy says something")
    marks["d"] = sc.say("dee", contents.Text("Nobody cares about your week."), "dee says something hurtful")
    marks["checkin"] = sc.direct(
        "ana",
        contents.CheckIn(2, "tired", (weekly.entry_id, 5)),
        ["founder"],
        "ana checks in for occurrence 5, shared with the facilitator only",
    )
    marks["expiring"] = sc.say(
        "ana", contents.Text("My address, for tonight only: 1 Example Road."), "ana says something for 10 minutes",
        ttl_ms=600_000,
    )  # fmt: skip
    a, b, c = marks["a"], marks["b"], marks["c"]
    marks["redact"] = sc.control(
        "ana",
        kinds.REDACT,
        payloads.Redact(sc.state().deps(), sc.key("ana"), (a.entry_id,)).encode(),
        "ana redacts her first message",
    )
    sc.control(
        "bo",
        kinds.REDACT,
        payloads.Redact(sc.state().deps(), sc.key("cy"), (c.entry_id,)).encode(),
        "bo, a moderator, redacts cy's message",
    )
    sc.control(
        "cy",
        kinds.REDACT,
        payloads.Redact(sc.state().deps(), sc.key("ana"), (b.entry_id,)).encode(),
        "cy, a member, tries to redact ana's message",
    )
    # ana reads dee's message (her chain for dee yields the same message key dee used) and reports it
    ana_keys = sc.group_keys("ana")
    d = marks["d"]
    assert d.payload is not None
    _, mk = ana_keys.decrypt_keyed(d.author, d.seq, payloads.decode_envelope(d.payload))
    assert mk == sc.opened[d.entry_id]
    marks["report"] = sc.direct(
        "ana",
        contents.Report(sc.disclosure(d), "unkind to a member"),
        ["founder", "bo"],
        "ana reports dee's message to the moderators and facilitators",
    )
    dee = sc.writers["dee"]
    sc.add(author.remove(sc.writers["bo"], sc.state(), dee.me.public_key, dee.seq, sc.tick(), ban=True), "bo bans dee")
    sc.rekey("founder", sc.epoch_keys)
    _, again = _invite(sc, "founder", payloads.MEMBER, target=dee.me.public_key)
    sc.add(again.join(dee, sc.tick(), heads=sc.state().heads), "dee tries to rejoin")
    sc.control("dee", kinds.ERASE, payloads.Erase(sc.state().deps(), dee.seq).encode(), "dee, banned, tries to erase")
    cy = sc.writers["cy"]
    sc.say("cy", contents.Text("I would rather not have said that."), "cy says something else")
    marks["erase"] = sc.control(
        "cy", kinds.ERASE, payloads.Erase(sc.state().deps(), cy.seq).encode(), "cy erases everything she wrote"
    )
    sc.schedule(
        "founder",
        "founder updates the weekly session: retention 2 hours",
        replaces=weekly.entry_id,
        start_ms=_wall_ms(2025, 10, 20, 14, 30, LONDON),
        duration_ms=90 * 60_000,
        recurrence=("weekly", 8),
        retention_ms=2 * HOUR_MS,
        details=contents.SessionDetails("Monday circle", "Words said here are deleted 2 hours after."),
    )
    once = sc.schedule(
        "founder",
        "founder schedules a one-off session on 1 December",
        start_ms=_wall_ms(2025, 12, 1, 18, 0, LONDON),
        duration_ms=HOUR_MS,
        details=contents.SessionDetails("Extra session"),
    )
    sc.schedule(
        "founder",
        "founder cancels it",
        replaces=once.entry_id,
        start_ms=_wall_ms(2025, 12, 1, 18, 0, LONDON),
        duration_ms=HOUR_MS,
        cancel=True,
    )
    sc.schedule(
        "founder",
        "founder updates a session that does not exist",
        replaces=crypto.blake2b_256(b"no such session"),
        start_ms=NOW,
        duration_ms=HOUR_MS,
    )
    community, other = (_issuer(n).public_key for n in ("community", "other"))
    for name, key, add, note in [
        ("founder", community, True, "founder trusts the community issuer"),
        ("ana", other, True, "ana, a member, tries to trust an issuer"),
        ("founder", other, False, "founder removes an issuer that is not listed"),
        ("founder", other, True, "founder trusts another issuer"),
        ("founder", other, False, "founder removes it again"),
    ]:
        entry = sc.control(name, kinds.TRUST, payloads.Trust(sc.state().deps(), key, add).encode(), note)
        marks.setdefault("trust", entry)
    sc.invite_and_join("eve", payloads.MEMBER)
    sc.rekey("founder", sc.epoch_keys)
    marks["quote"] = sc.say(
        "founder", contents.Quote(sc.disclosure(marks["pin"])), "founder quotes the pin into the epoch eve can read"
    )
    sc.clock = NOW + 59_000  # the occurrence of 24 November ended at NOW (16:00Z)
    marks["after"] = sc.say("ana", contents.Text("See you next week."), "ana says something after the session")
    return sc, marks


def _issuer(name: str) -> identity.Pseudonym:
    """Credential issuers: seed = BLAKE2b-256("issuer:" + name)."""
    seed = crypto.blake2b_256(b"issuer:" + name.encode())
    return identity.Pseudonym.from_secrets(seed, crypto.blake2b_256(b"x:issuer:" + name.encode()))


def _people(sc: _Scenario) -> Vector:
    return {
        name: {
            "ed25519_seed": w.me.seed.hex(),
            "ed25519_public": w.me.public_key.hex(),
            "x25519_secret": w.me.x_secret.hex(),
            "x25519_public": w.me.x_public_key.hex(),
        }
        for name, w in sc.writers.items()
    }


def _control_vectors(sc: _Support, marks: dict[str, Entry]) -> list[Vector]:
    """One entry of each new control kind, then malformed control payloads."""
    state = sc.state()
    out: list[Vector] = []
    for mark in ("redact", "erase", "session", "trust"):
        e = marks[mark]
        assert e.payload is not None
        out.append(
            {
                "name": f"{kinds.kind_name(e.kind)} entry",
                "kind": e.kind,
                "entry": e.raw.hex(),
                "payload": e.payload.hex(),
                "entry_id": e.entry_id.hex(),
                "author": e.author.hex(),
                "fields": _decoded(e.payload),
                "outcome": state.outcomes[e.entry_id],
            }
        )
    dep = [crypto.blake2b_256(b"dep")]
    key = ALICE.public_key
    session: dict[str, codec.CborValue] = {
        "d": dep, "s": None, "st": NOW, "du": HOUR_MS, "tz": LONDON, "rc": None, "rt": None, "x": False, "e": None,
    }  # fmt: skip
    envelope: dict[str, codec.CborValue] = {"e": key, "i": 0, "n": bytes(24), "c": bytes(16), "k": bytes(32)}
    direct: dict[str, codec.CborValue] = {"r": [[key, bytes(80)]], "n": bytes(24), "c": bytes(16), "k": bytes(32)}
    low, high = sorted([crypto.blake2b_256(b"1"), crypto.blake2b_256(b"2")])
    cases: list[tuple[str, int, dict[str, codec.CborValue]]] = [
        ("redact naming no entry", kinds.REDACT, {"d": dep, "m": key, "r": []}),
        ("redact with unsorted ids", kinds.REDACT, {"d": dep, "m": key, "r": [high, low]}),
        (
            "redact naming 257 entries",
            kinds.REDACT,
            {"d": dep, "m": key, "r": [i.to_bytes(32, "big") for i in range(257)]},
        ),
        ("erase up to seq 0", kinds.ERASE, {"d": dep, "s": 0}),
        ("session lasting 0 ms", kinds.SESSION, dict(session, du=0)),
        ("session lasting more than a day", kinds.SESSION, dict(session, du=payloads.MAX_SESSION_DURATION + 1)),
        ("session recurring once", kinds.SESSION, dict(session, rc=["weekly", 1])),
        ("session recurring 521 times", kinds.SESSION, dict(session, rc=["daily", payloads.MAX_OCCURRENCES + 1])),
        ("session recurring monthly", kinds.SESSION, dict(session, rc=["monthly", 3])),
        ("session with an empty time zone", kinds.SESSION, dict(session, tz="")),
        ("session with a 65-byte time zone", kinds.SESSION, dict(session, tz="x" * 65)),
        ("session kept over 366 days", kinds.SESSION, dict(session, rt=payloads.MAX_RETENTION + 1)),
        ("session with x = 0", kinds.SESSION, dict(session, x=0)),
        ("session with a missing field", kinds.SESSION, {k: v for k, v in session.items() if k != "e"}),
        ("trust with a 31-byte key", kinds.TRUST, {"d": dep, "k": key[:31], "a": True}),
        ("trust with a = 1", kinds.TRUST, {"d": dep, "k": key, "a": 1}),
        ("mute until the year 3000", kinds.MUTE, {"d": dep, "m": key, "c": 1, "u": payloads.MAX_START}),
        ("mute with a 31-byte target", kinds.MUTE, {"d": dep, "m": key[:31], "c": 1, "u": NOW}),
        ("mute with a missing cut", kinds.MUTE, {"d": dep, "m": key, "u": NOW}),
        ("mute with u = true", kinds.MUTE, {"d": dep, "m": key, "c": 1, "u": True}),
        (
            "remove with a note that is not a direct envelope",
            kinds.REMOVE,
            {"d": dep, "m": key, "c": 1, "b": False, "n": bytes(100)},
        ),
        (
            "remove with a reason over 8192 bytes",
            kinds.REMOVE,
            {"d": dep, "m": key, "c": 1, "b": False, "y": codec.encode(dict(direct, c=bytes(8200)))},
        ),
        ("remove with an unknown field", kinds.REMOVE, {"d": dep, "m": key, "c": 1, "b": False, "z": 1}),
    ]
    for name, kind, fields in cases:
        raw = codec.encode(fields)
        out.append(
            {
                "name": name,
                "kind": kind,
                "payload": raw.hex(),
                "error": error_of(lambda k=kind, r=raw: payloads.decode_payload(k, r, ALICE.public_key)),
            }
        )
    envelopes: list[tuple[str, int, dict[str, codec.CborValue]]] = [
        ("message envelope with x = true", kinds.MESSAGE, dict(envelope, x=True)),
        ("message envelope with an unknown field", kinds.MESSAGE, dict(envelope, y=1)),
        (
            "message envelope without a key commitment",
            kinds.MESSAGE,
            {k: v for k, v in envelope.items() if k != "k"},
        ),
        ("message envelope with a 31-byte key commitment", kinds.MESSAGE, dict(envelope, k=bytes(31))),
        ("direct envelope without a key commitment", kinds.DIRECT, {k: v for k, v in direct.items() if k != "k"}),
        ("direct envelope sealed to nobody", kinds.DIRECT, dict(direct, r=[])),
        ("direct envelope with a 79-byte sealed key", kinds.DIRECT, dict(direct, r=[[key, bytes(79)]])),
    ]
    for name, kind, fields in envelopes:
        raw = codec.encode(fields)
        out.append(
            {
                "name": name,
                "kind": kind,
                "payload": raw.hex(),
                "error": error_of(lambda k=kind, r=raw: payloads.envelope_expiry(k, r)),
            }
        )
    return out


def _message_vectors(sc: _Support, marks: dict[str, Entry]) -> list[Vector]:
    """An envelope with "x", a direct message, a report and a quote (disclosures)."""
    gid = sc.genesis.entry_id
    by_id = {v["entry_id"]: v for v in [*sc.messages, *sc.directs]}
    people = {w.me.public_key: w.me for w in sc.writers.values()}
    out: list[Vector] = []
    e = marks["expiring"]
    assert e.payload is not None
    info = by_id[e.entry_id.hex()]
    out.append(
        {
            "name": "message envelope with an expiry",
            "group_id": gid.hex(),
            "entry": e.raw.hex(),
            "payload": e.payload.hex(),
            "fields": _decoded(e.payload),
            "expires_ms": payloads.decode_envelope(e.payload).expires_ms,
            "message_key": info["message_key"],
            "associated_data": info["associated_data"],
            "plaintext": info["plaintext"],
        }
    )
    e = marks["checkin"]
    assert e.payload is not None
    info = by_id[e.entry_id.hex()]
    envelope = payloads.decode_direct(e.payload)
    out.append(
        {
            "name": "direct message",
            "group_id": gid.hex(),
            "entry": e.raw.hex(),
            "payload": e.payload.hex(),
            "author": e.author.hex(),
            "seq": e.seq,
            "fields": _decoded(e.payload),
            "recipients": [
                {"key": k.hex(), "x25519_secret": people[k].x_secret.hex(), "sealed": box.hex()}
                for k, box in envelope.sealed
            ],
            "content_key": info["content_key"],
            "key_commitment": info["key_commitment"],
            "nonce": info["nonce"],
            "associated_data": info["associated_data"],
            "padded_length": len(e2ee.pad(bytes.fromhex(info["plaintext"]))),
            "plaintext": info["plaintext"],
            "content": info["content"],
        }
    )
    for mark, name in (("report", "disclosure in a report"), ("quote", "disclosure in a quote")):
        e = marks[mark]
        assert e.payload is not None
        info = by_id[e.entry_id.hex()]
        plaintext = bytes.fromhex(info["plaintext"])
        inner = contents.decode_content(plaintext)
        assert isinstance(inner, contents.Report | contents.Quote)
        disclosed, words = contents.verify_disclosure(gid, inner.disclosure)
        out.append(
            {
                "name": name,
                "group_id": gid.hex(),
                "entry": e.raw.hex(),
                "payload": e.payload.hex(),
                "key": info.get("content_key", info.get("message_key")),
                "plaintext": info["plaintext"],
                "disclosed_entry": inner.disclosure.header.hex(),
                "disclosed_payload": inner.disclosure.payload.hex(),
                "disclosed_key": inner.disclosure.key.hex(),
                "disclosed_entry_id": disclosed.entry_id.hex(),
                "disclosed_author": disclosed.author.hex(),
                "verified_plaintext": words.hex(),
                "verified_content": _decoded(words),
            }
        )
    d = marks["d"]
    assert d.payload is not None
    wrong = contents.Disclosure(d.raw, d.payload, sc.opened[marks["b"].entry_id])
    out.append(
        {
            "name": "disclosure with another message's key",
            "group_id": gid.hex(),
            "disclosed_entry": d.raw.hex(),
            "disclosed_payload": d.payload.hex(),
            "disclosed_key": wrong.key.hex(),
            "error": error_of(lambda: contents.verify_disclosure(gid, wrong)),
        }
    )
    return out


def _two_faced_vectors() -> list[Vector]:
    """A direct message whose one signed ciphertext opens under two keys (XChaCha20-Poly1305 does not
    commit to its key), one sealed to bob and the other to carol: the key commitment admits bob's only."""
    carol = seed_pseudonym("carol")
    rng = DeterministicRandom("two-faced direct message")
    nonce = rng(crypto.AEAD_NONCE)
    ad = e2ee.direct_associated_data(GROUP, ALICE.public_key, 1)
    k1 = rng(32)
    k2 = two_faced.second_key(k1, nonce, ad, b"two-faced second key")
    body = "I only said that I was sorry. " + "-" * 21
    c = two_faced.two_faced(k1, k2, nonce, ad, contents.encode_content(contents.Text(body)))
    boxes = {
        BOB.public_key: crypto.seal(BOB.x_public_key, k1, rng),
        carol.public_key: crypto.seal(carol.x_public_key, k2, rng),
    }
    envelope = payloads.DirectEnvelope(tuple(sorted(boxes.items())), nonce, c, commitment=e2ee.key_commitment(k1))
    entry = create_entry(
        ALICE, group=GROUP, seq=1, prev=None, timestamp_ms=NOW, kind=kinds.DIRECT, payload=envelope.encode()
    )
    assert entry.payload is not None
    recipients: list[Vector] = []
    for person, key in ((BOB, k1), (carol, k2)):
        opened: Vector = {"key": person.public_key.hex(), "x25519_secret": person.x_secret.hex()}
        opened["sealed"] = boxes[person.public_key].hex()
        opened["content_key"] = key.hex()
        opened["aead_plaintext"] = crypto.aead_decrypt(key, nonce, c, ad).hex()  # both keys open c
        try:
            opened["plaintext"] = e2ee.open_direct(key, GROUP, ALICE.public_key, 1, envelope).hex()
        except HoldspaceError as exc:
            opened["error"] = exc.code
        disclosure = contents.Disclosure(entry.raw, entry.payload, key)
        try:
            opened["disclosed_plaintext"] = contents.verify_disclosure(GROUP, disclosure)[1].hex()
        except HoldspaceError as exc:
            opened["disclosure_error"] = exc.code
        recipients.append(opened)
    return [
        {
            "name": "two-faced direct message",
            "group_id": GROUP.hex(),
            "entry": entry.raw.hex(),
            "payload": entry.payload.hex(),
            "author": ALICE.public_key.hex(),
            "seq": 1,
            "nonce": nonce.hex(),
            "associated_data": ad.hex(),
            "key_commitment": envelope.commitment.hex(),
            "recipients": recipients,
        }
    ]


def _schedule_vectors() -> list[Vector]:
    """Occurrences of single sessions (spec 17.3), computed from their fields alone."""
    cases: list[tuple[str, int, int, str, tuple[str, int] | None, int | None]] = [
        ("weekly across the end of summer time", _wall_ms(2025, 10, 13, 19, 0, LONDON), HOUR_MS, LONDON,
         ("weekly", 4), None),
        ("weekly across the start of summer time", _wall_ms(2026, 3, 19, 19, 0, LONDON), HOUR_MS, LONDON,
         ("weekly", 3), None),
        ("daily at a time skipped by the spring change", _wall_ms(2026, 3, 28, 1, 30, LONDON), HOUR_MS, LONDON,
         ("daily", 3), None),
        ("daily at a time repeated by the autumn change", _wall_ms(2025, 10, 25, 1, 30, LONDON), HOUR_MS, LONDON,
         ("daily", 3), None),
        ("milliseconds of the start carry over", _wall_ms(2025, 10, 24, 19, 0, LONDON) + 250, HOUR_MS, LONDON,
         ("daily", 3), None),
        ("unknown time zone read as UTC", _wall_ms(2026, 3, 27, 19, 0, "UTC"), HOUR_MS, "Nowhere/Atlantis",
         ("daily", 3), None),
        ("cancelled during its second occurrence", _wall_ms(2025, 11, 3, 19, 0, LONDON), HOUR_MS, LONDON,
         ("weekly", 4), _wall_ms(2025, 11, 10, 19, 30, LONDON)),
        ("one-off session", NOW, 90 * 60_000, LONDON, None, None),
    ]  # fmt: skip
    out: list[Vector] = []
    sid = crypto.blake2b_256(b"session")
    for name, start, duration, tz, recurrence, cancelled_at in cases:
        spec = payloads.Session((sid,), None, start, duration, tz, recurrence, None, False, None)
        occurrences = schedule.occurrences(group.ScheduledSession(sid, sid, ALICE.public_key, spec, cancelled_at))
        out.append(
            {
                "name": name,
                "start_ms": start,
                "duration_ms": duration,
                "tz": tz,
                "recurrence": list(recurrence) if recurrence else None,
                "cancelled_at_ms": cancelled_at,
                "occurrences": [[o.start_ms, o.end_ms] for o in occurrences],
                "local_starts": [_local(o.start_ms, tz) for o in occurrences],
            }
        )
    return out


def _content_vectors() -> list[Vector]:
    """One plaintext of every content type (spec 17.1), an unknown type, and malformed ones."""
    target = crypto.blake2b_256(b"an entry")
    session = crypto.blake2b_256(b"a session")
    disclosure = contents.Disclosure(b"header bytes", b"payload bytes", crypto.blake2b_256(b"a key"))
    examples: list[tuple[str, contents.Content]] = [
        ("text", contents.Text("Hello, everyone.")),
        ("text with a content warning", contents.Text("It has been a year since the loss.", "bereavement")),
        ("reaction", contents.Reaction(target, "hug")),
        ("reaction withdrawn", contents.Reaction(target, "hug", undo=True)),
        ("check-in", contents.CheckIn(4)),
        ("check-in with a word, for an occurrence", contents.CheckIn(2, "tired", (session, 3))),
        ("rsvp", contents.Rsvp(session, 3, "maybe")),
        ("talking piece given", contents.Turn(session, 3, target)),
        ("talking piece put down", contents.Turn(session, 3, None)),
        ("pin", contents.Pin("Samaritans (UK): call 116 123, any time.")),
        ("credential", contents.CredentialPost(b"attestation bytes")),
        ("revocation", contents.RevocationPost(b"revocation bytes")),
        ("report", contents.Report(disclosure, "spam")),
        ("quote", contents.Quote(disclosure)),
        ("session details", contents.SessionDetails("Monday circle", "Bring tea.")),
        ("reply", contents.Text("Same here.", None, target)),
        (
            "group profile",
            contents.Profile("Thursday grief circle", "A weekly circle.", "What is said here stays here."),
        ),
        ("group profile, name only", contents.Profile("Thursday grief circle")),
        ("display name", contents.DisplayName("Sam")),
        ("display name withdrawn", contents.DisplayName(None)),
        ("edit", contents.Edit(target, "Hello, everyone!")),
        ("edit with a content warning", contents.Edit(target, "It has been a year.", "bereavement")),
    ]
    out: list[Vector] = []
    for name, content in examples:
        raw = contents.encode_content(content)
        out.append({"name": name, "content": raw.hex(), "type": _decoded(raw)["t"], "fields": _decoded(raw)})
    unknown = codec.encode({"t": "poll", "q": "Tea or coffee?"})
    out.append(
        {"name": "a type this client does not know", "content": unknown.hex(), "type": "poll", "unsupported": True}
    )
    bad: list[tuple[str, dict[str, codec.CborValue]]] = [
        ("mood 6", {"t": "checkin", "m": 6}),
        ("a reaction outside the set", {"t": "react", "m": target, "r": "thumbs-up"}),
        ("u = false", {"t": "react", "m": target, "r": "hug", "u": False}),
        ("an empty content warning", {"t": "text", "b": "x", "cw": ""}),
        ("an unknown field", {"t": "text", "b": "x", "z": 1}),
        ("no type", {"b": "x"}),
        ("a reply to a 31-byte id", {"t": "text", "b": "x", "re": bytes(31)}),
        ("a profile without a name", {"t": "profile", "d": "A weekly circle."}),
        ("a group name of 65 bytes", {"t": "profile", "n": "x" * 65}),
        ("a group name on two lines", {"t": "profile", "n": "Thursday\ncircle"}),
        ("a display name with a right-to-left override", {"t": "name", "n": "Sam\u202egnp.exe"}),
        ("a display name with a zero-width space", {"t": "name", "n": "Sa\u200bm"}),
        ("a display name with a space at its end", {"t": "name", "n": "Sam "}),
        ("an empty display name", {"t": "name", "n": ""}),
        ("an edit without its target", {"t": "edit", "b": "x"}),
    ]
    for name, fields in bad:
        raw = codec.encode(fields)
        out.append({"name": name, "content": raw.hex(), "error": error_of(lambda r=raw: contents.decode_content(r))})
    return out


def _credential_vectors(group_id: bytes, subject: bytes, other_subject: bytes) -> list[Vector]:
    """An attestation and a revocation (spec 17.7), and check_badge on them."""
    community, other = _issuer("community"), _issuer("other")
    nb, x = NOW - 30 * DAY_MS, NOW + 365 * DAY_MS
    att = credential.issue(
        community.seed,
        subject=subject,
        role="peer supporter",
        not_before_ms=nb,
        expires_ms=x,
        serial=crypto.blake2b_256(b"serial")[:16],
        group=group_id,
    )
    revocation = credential.revoke(community.seed, att.credential_id, NOW + DAY_MS)
    stranger = credential.revoke(other.seed, att.credential_id, NOW)
    fields = _fields(att.raw)
    forged = codec.encode(dict(fields, r="facilitator"))
    v2 = codec.encode(signing.sign_fields(credential.DOMAIN_CREDENTIAL, dict(fields, v=2), community.seed))
    out: list[Vector] = [
        {
            "name": "credential attestation",
            "issuer_seed": community.seed.hex(),
            "issuer": community.public_key.hex(),
            "attestation": att.raw.hex(),
            "fields": _decoded(att.raw),
            "signed_message": signing.signed_message(credential.DOMAIN_CREDENTIAL, fields).hex(),
            "credential_id": att.credential_id.hex(),
        },
        {
            "name": "credential revocation",
            "issuer_seed": community.seed.hex(),
            "revocation": revocation.raw.hex(),
            "fields": _decoded(revocation.raw),
            "signed_message": signing.signed_message(credential.DOMAIN_REVOCATION, _fields(revocation.raw)).hex(),
        },
    ]
    trusted = [community.public_key]
    cases: list[tuple[str, bytes, bytes, bytes, list[bytes], list[bytes], int]] = [
        ("valid", att.raw, subject, group_id, trusted, [], NOW),
        ("valid: a revocation signed by another issuer does not count", att.raw, subject, group_id, trusted,
         [stranger.raw], NOW),
        ("expired", att.raw, subject, group_id, trusted, [], x),
        ("not yet valid", att.raw, subject, group_id, trusted, [], nb - 1),
        ("untrusted issuer", att.raw, subject, group_id, [other.public_key], [], NOW),
        ("revoked", att.raw, subject, group_id, trusted, [revocation.raw], NOW),
        ("wrong subject", att.raw, other_subject, group_id, trusted, [], NOW),
        ("wrong group", att.raw, subject, GROUP, trusted, [], NOW),
        ("role changed after signing", forged, subject, group_id, trusted, [], NOW),
        ("version 2", v2, subject, group_id, trusted, [], NOW),
    ]  # fmt: skip
    for name, raw, who, gid, issuers, revocations, now in cases:
        badge = credential.check_badge(
            raw, subject=who, group=gid, issuers=issuers, revocations=revocations, now_ms=now
        )
        out.append(
            {
                "name": f"badge: {name}",
                "attestation": raw.hex(),
                "subject": who.hex(),
                "group_id": gid.hex(),
                "issuers": [k.hex() for k in issuers],
                "revocations": [r.hex() for r in revocations],
                "now_ms": now,
                "verified": badge.verified,
                "role": badge.role,
                **({"error": badge.code} if badge.code else {}),
            }
        )
    return out


def _mute(sc: _Support, by: str, target: str, until_ms: int, note: str, *, cut: int | None = None) -> Entry:
    writer = sc.writers[target]
    payload = payloads.Mute(
        sc.state().deps(sc.key(target)), sc.key(target), writer.seq if cut is None else cut, until_ms
    )
    return sc.control(by, kinds.MUTE, payload.encode(), note)


def _mute_vectors() -> list[Vector]:
    """A member muted for a time (spec 12.5, 12.6), and a removal with a note and a reason (12.3)."""
    sc = _Support("mute")
    sc.rekey("founder", sc.epoch_keys)
    sc.invite_and_join("ana", payloads.MEMBER)
    sc.invite_and_join("bo", payloads.MODERATOR)
    sc.invite_and_join("cy", payloads.MEMBER)
    sc.rekey("founder", sc.epoch_keys)
    sc.say("ana", contents.Text("Can I vent for a minute?"), "ana says something before any mute")
    until = sc.clock + 10 * 60_000
    first = _mute(sc, "bo", "ana", until, "bo, a moderator, mutes ana for 10 minutes (cut: her last entry)")
    _mute(sc, "cy", "ana", until, "cy, a member, tries to mute ana")
    _mute(sc, "bo", "founder", until, "bo, a moderator, tries to mute the facilitator")
    _mute(sc, "bo", "bo", until, "bo tries to mute himself")
    sc.say("ana", contents.Text("Why am I muted?"), "ana, muted, says something: muted")
    sc.direct("ana", contents.Text("Why was I muted?"), ["founder"], "ana writes to the facilitator: not muted")
    sc.clock = until - 1_000  # the next message is dated `until`: no longer muted
    sc.say("ana", contents.Text("Sorry, everyone."), "ana says something dated at the mute's end: authorised")
    second = _mute(sc, "founder", "ana", sc.clock + HOUR_MS, "founder mutes ana for an hour")
    sc.say("ana", contents.Text("Hello?"), "ana, muted again, says something: muted")
    _mute(sc, "founder", "ana", 0, "founder lifts the mute (u = 0), cut at ana's head", cut=sc.writers["ana"].seq)
    sc.say("ana", contents.Text("Thank you."), "ana says something after the unmute: authorised")
    note, reason = "We care about you; this circle is not the right place now.", "Repeated hurtful replies."
    cy = sc.writers["cy"]
    entry = author.remove(
        sc.writers["founder"], sc.state(), cy.me.public_key, cy.seq, sc.tick(), note=note, reason=reason, random=sc.rng
    )
    removed = sc.add(entry, "founder removes cy, with a note for cy and a reason for the facilitators")
    state = sc.state()
    messages = [
        {
            "entry_id": e.entry_id.hex(),
            "kind": kinds.kind_name(e.kind),
            "author": e.author.hex(),
            "seq": e.seq,
            "timestamp_ms": e.timestamp_ms,
            "note": note_text,
            "muted": group.silenced(state, e),
            "authorised": state.authorised_at(e.author, e.seq) and not group.silenced(state, e),
        }
        for e, note_text in sc.entries
        if e.kind in kinds.MESSAGE_KINDS
    ]
    remove_payload = payloads.decode_payload(kinds.REMOVE, removed.payload or b"", removed.author)
    assert isinstance(remove_payload, payloads.Remove)
    for who, expect in (("cy", (note, None)), ("founder", (None, reason)), ("ana", (None, None))):
        words = removal.open_removal_words(
            sc.genesis.entry_id, removed.author, removed.seq, remove_payload, sc.writers[who].me
        )
        assert (words.note, words.reason) == expect, who
    scenario: Vector = {
        "name": "a member muted for a time",
        "label": sc.label,
        "entries": sc.records(),
        "people": _people(sc),
        "messages": messages,
        "mutes": {
            k.hex(): [{"entry_id": m.entry_id.hex(), "cut": m.cut, "until_ms": m.until_ms} for m in ms]
            for k, ms in sorted(state.mutes.items())
        },
    }
    words: Vector = {
        "name": "a removal's note and reason",
        "entry_id": removed.entry_id.hex(),
        "note": note,
        "reason": reason,
        "note_readers": [sc.key("cy").hex()],
        "reason_readers": sorted(k.hex() for k in (sc.key("founder"),)),
        "fields": _decoded(removed.payload or b""),
    }
    entries: list[Vector] = []
    for e, name in (
        (first, "mute entry"),
        (second, "a facilitator's mute entry"),
        (removed, "remove with words entry"),
    ):
        assert e.payload is not None
        entries.append(
            {
                "name": name,
                "kind": e.kind,
                "entry": e.raw.hex(),
                "payload": e.payload.hex(),
                "entry_id": e.entry_id.hex(),
                "author": e.author.hex(),
                "fields": _decoded(e.payload),
                "outcome": state.outcomes[e.entry_id],
            }
        )
    return [scenario, words, *entries]


def support_vectors() -> list[Vector]:
    """Redaction, erasure, sessions, trust, direct messages, disclosures, content and credentials."""
    sc, marks = _support_history()
    state = sc.state()
    checkpoints = [NOW + 120_000, NOW + 600_000, NOW + 2 * HOUR_MS]
    history: Vector = {
        "name": "a support group's history",
        "label": sc.label,
        "entries": sc.records(),
        "people": _people(sc),
        "epoch_keys": {k.hex(): v.hex() for k, v in sc.epoch_keys.items()},
        "messages": sc.messages,
        "directs": sc.directs,
        "session_details": sc.details,
        "checkpoints": checkpoints,
        "host_view": _host_view(sc, checkpoints),
        "final_state": _support_state(state),
    }
    return [
        history,
        *_control_vectors(sc, marks),
        *_message_vectors(sc, marks),
        *_two_faced_vectors(),
        *_schedule_vectors(),
        *_content_vectors(),
        *_credential_vectors(sc.genesis.entry_id, sc.key("ana"), sc.key("bo")),
        *_mute_vectors(),
    ]


def label_vectors() -> list[Vector]:
    """Labels (four and eight words), skeletons, and names shown side by side (spec 17.14)."""
    out: list[Vector] = []
    for who in ("ana", "bo", "cy", "fay"):
        key = seed_pseudonym(who).public_key
        words = {"label": labels.label(key), "long_label": labels.long_label(key)}
        out.append({"name": f"label of {who}", "key": key.hex(), **words})
    for text in (
        "Sam",
        "SAM",
        "S a m!",
        "\u0405\u0430m",
        "Sarn",
        "Facilitator Fay",
        "FaciIitator Fay",
        "Fäy",
        "ﬁona",
        "Zoë",
    ):
        out.append({"name": f"skeleton of {text!r}", "text": text, "skeleton": labels.skeleton(text)})
    keys = {who: seed_pseudonym(who).public_key for who in ("ana", "bo", "cy", "fay")}
    cases: list[tuple[str, dict[str, str | None]]] = [
        ("no two alike", {"ana": "Ana", "bo": "Bo", "cy": None, "fay": "Fay"}),
        ("a member takes the facilitator's name", {"ana": "Fay", "bo": "Bo", "cy": None, "fay": "Fay"}),
        ("a look-alike in other scripts", {"ana": "F\u0430y", "bo": "Bo", "cy": None, "fay": "FAY"}),
        ("a member names itself with another's label", {"ana": labels.label(keys["cy"]), "bo": None, "cy": None,
                                                         "fay": None}),
    ]  # fmt: skip
    for name, names in cases:
        shown = labels.shown_names({keys[w]: n for w, n in names.items()})
        out.append(
            {
                "name": f"shown names: {name}",
                "names": {keys[w].hex(): n for w, n in names.items()},
                "shown": {k.hex(): {"text": v.text, "suffix": v.suffix, "lookalike": v.lookalike}
                          for k, v in sorted(shown.items())},
            }
        )  # fmt: skip
    return out


# --- keys at rest and recovery (14.4, 14.7) ---------------------------------------------------


def _fixed(seed: str) -> Callable[[int], bytes]:
    """Deterministic "randomness" for vectors: BLAKE2b-256 of the label, truncated."""
    return lambda n: crypto.blake2b_256(seed.encode())[:n]


def _sealed_keyfile(passphrase: str, plaintext: bytes, salt: bytes, nonce: bytes, ops: int, mem: int) -> bytes:
    import nacl.secret  # noqa: PLC0415  (libsodium's secretbox, as protocol.keyfile uses it)

    key = crypto.argon2id(passphrase.encode(), salt, opslimit=ops, memlimit=mem)
    box = nacl.secret.SecretBox(key).encrypt(plaintext, nonce).ciphertext
    sealed = codec.encode(
        {"v": 1, "kdf": "argon2id13", "ops": ops, "mem": mem, "salt": salt, "nonce": nonce, "box": box}
    )
    assert keyfile.open_secret(passphrase, sealed) == plaintext
    return sealed


def keyfile_vectors() -> list[Vector]:
    """Sealed key files (14.4) as the Python client writes them, with small Argon2id parameters."""
    out: list[Vector] = []
    plain = codec.encode({"v": 2, "master": bytes(range(32)), "node": None, "history_key": bytes(range(32, 64))})
    for name, passphrase, ops, mem in (
        ("small", "correct horse battery staple", 1, 8192),
        ("two passes", "pässwörd ✓", 2, 65536),
    ):
        sealed = _sealed_keyfile(passphrase, plain, _fixed(name + "salt")(16), _fixed(name + "nonce")(24), ops, mem)
        out.append({"name": name, "passphrase": passphrase, "sealed": h(sealed), "plaintext": h(plain)})
    good = bytes.fromhex(out[0]["sealed"])
    altered = good[:-1] + bytes([good[-1] ^ 1])
    out.append(
        {"name": "wrong passphrase", "passphrase": "wrong", "sealed": h(good), "error": "keyfile.bad_passphrase"}
    )
    out.append(
        {
            "name": "altered box",
            "passphrase": out[0]["passphrase"],
            "sealed": h(altered),
            "error": error_of(lambda: keyfile.open_secret(out[0]["passphrase"], altered)),
        }
    )
    for name, fields in (
        (
            "unknown kdf",
            {"v": 1, "kdf": "scrypt", "ops": 1, "mem": 8192, "salt": bytes(16), "nonce": bytes(24), "box": b""},
        ),
        (
            "short salt",
            {"v": 1, "kdf": "argon2id13", "ops": 1, "mem": 8192, "salt": bytes(8), "nonce": bytes(24), "box": b""},
        ),
        (
            "memory too small",
            {"v": 1, "kdf": "argon2id13", "ops": 1, "mem": 4096, "salt": bytes(16), "nonce": bytes(24), "box": b""},
        ),
        (
            "extra field",
            {
                "v": 1,
                "kdf": "argon2id13",
                "ops": 1,
                "mem": 8192,
                "salt": bytes(16),
                "nonce": bytes(24),
                "box": b"",
                "x": 1,
            },
        ),
    ):
        raw = codec.encode(fields)  # type: ignore[arg-type]
        out.append(
            {
                "name": name,
                "passphrase": "p",
                "sealed": h(raw),
                "error": error_of(lambda r=raw: keyfile.open_secret("p", r)),
            }
        )
    out.append(
        {
            "name": "not CBOR",
            "passphrase": "p",
            "sealed": "ff",
            "error": error_of(lambda: keyfile.open_secret("p", b"\xff")),
        }
    )
    return out


def backup_vectors() -> list[Vector]:
    """Recovery words, the backup key, and sealed backups (14.7)."""
    out: list[Vector] = []
    for key in (bytes(16), b"\xff" * 16, bytes(range(16)), _fixed("recovery")(16)):
        out.append(
            {
                "name": "words",
                "recovery_key": h(key),
                "words": " ".join(backup.recovery_words(key)),
                "backup_key": h(backup.backup_key(key)),
            }
        )
    words = backup.recovery_words(bytes(range(16)))
    for name, text in (
        ("twelve words", " ".join(words[:12])),
        ("fourteen words", " ".join([*words, words[0]])),
        ("unknown word", " ".join([*words[:12], "holdspace"])),
        ("too short a prefix", " ".join(["abo", *words[1:]])),
        ("two words swapped", " ".join([words[1], words[0], *words[2:]])),
        ("one word mistyped", " ".join([*words[:5], "zoo", *words[6:]])),
    ):
        out.append({"name": name, "words": text, "error": error_of(lambda t=text: backup.parse_words(t))})
    out.append(
        {
            "name": "prefixes and case",
            "words": " ".join(w[:4].upper() for w in words),
            "recovery_key": h(bytes(range(16))),
        }
    )
    rkey = bytes(range(16))
    bkey = backup.backup_key(rkey)
    sample = backup.Backup(
        bytes(range(100, 132)),
        "holdspace://hsn1example@127.0.0.1:4433",
        (
            backup.Membership(
                GROUP, b"ctx-tuesday", "Tuesday circle", ("holdspace://hsn1a@a.example:4433",), 7, b"\x11" * 32
            ),
            backup.Membership(b"\x22" * 32, b"ctx-other", None),
        ),
    )
    sealed = backup.seal_backup(bkey, sample, _fixed("backup nonce"))
    out.append({"name": "backup", "recovery_key": h(rkey), "sealed": h(sealed), "plaintext": h(sample.encode())})
    empty = backup.Backup(bytes(32), None)
    sealed_empty = backup.seal_backup(bkey, empty, _fixed("empty nonce"))
    out.append(
        {
            "name": "backup without groups",
            "recovery_key": h(rkey),
            "sealed": h(sealed_empty),
            "plaintext": h(empty.encode()),
        }
    )
    altered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    wrong = bytes(16)
    nonce = _fixed("n")(24)

    def inner(value: codec.CborValue) -> bytes:
        box = crypto.aead_encrypt(bkey, nonce, codec.encode(value), backup.BACKUP_DOMAIN)
        return codec.encode({"v": 1, "aead": backup.AEAD_NAME, "nonce": nonce, "box": box})

    cases: list[tuple[str, bytes, bytes]] = [
        ("altered box", rkey, altered),
        ("wrong recovery key", wrong, sealed),
        ("not CBOR", rkey, b"\xff"),
        ("unknown version", rkey, codec.encode({"v": 2, "aead": backup.AEAD_NAME, "nonce": nonce, "box": b""})),
        ("unknown AEAD", rkey, codec.encode({"v": 1, "aead": "aes256gcm", "nonce": nonce, "box": b""})),
        ("short nonce", rkey, codec.encode({"v": 1, "aead": backup.AEAD_NAME, "nonce": bytes(12), "box": b""})),
        ("short master", rkey, inner({"v": 1, "master": bytes(16), "node": None, "groups": []})),
        (
            "group id too short",
            rkey,
            inner(
                {
                    "v": 1,
                    "master": bytes(32),
                    "node": None,
                    "groups": [{"g": bytes(8), "ctx": b"c", "name": None, "hosts": [], "seq": 0, "prev": None}],
                }
            ),
        ),
        (
            "empty context",
            rkey,
            inner(
                {
                    "v": 1,
                    "master": bytes(32),
                    "node": None,
                    "groups": [{"g": bytes(32), "ctx": b"", "name": None, "hosts": [], "seq": 0, "prev": None}],
                }
            ),
        ),
        ("plaintext not CBOR", rkey, _raw_inner(bkey, nonce, b"\xa1")),
    ]
    for name, key, raw in cases:
        out.append(
            {
                "name": name,
                "recovery_key": h(key),
                "sealed": h(raw),
                "error": error_of(lambda k=key, r=raw: backup.open_backup(backup.backup_key(k), r)),
            }
        )
    out.append(
        {"name": "too large", "recovery_key": h(rkey), "size": backup.MAX_BACKUP + 1, "error": "backup.too_large"}
    )
    return out


def backup_store_vectors() -> list[Vector]:
    """Spec 14.8: the backup id of a recovery key, the backup_put and backup_get frames and their
    answers, and the refusals the schema and the node give."""
    rkey = bytes(range(16))
    bkey = backup.backup_key(rkey)
    bid = backup.backup_id(bkey)
    group = crypto.blake2b_256(b"a group the node hosts")
    sealed = backup.seal_backup(bkey, backup.Backup(bytes(32), None), _fixed("store nonce"))
    out: list[Vector] = [
        {
            "name": "backup id",
            "words": " ".join(backup.recovery_words(rkey)),
            "recovery_key": h(rkey),
            "backup_key": h(bkey),
            "backup_id": h(bid),
            "note": "HKDF-SHA-256(ikm = backup key, salt = 'holdspace/v1/backup', info = 'backup id')",
        }
    ]

    record = _ClientFrames(out)
    frame, refused = record.frame, record.refused

    frame("backup_put", frames.encode_client_request(4, "backup_put", b=bid, g=group, data=sealed))
    frame("backup_put answer", frames.encode_answer(4, {}), note="sent once the backup is durable")
    frame("backup_get", frames.encode_client_request(5, "backup_get", b=bid))
    frame("backup_get answer", frames.encode_answer(5, {"data": sealed}))
    for rid, code in enumerate(
        (
            "proto.not_found",
            "proto.unauthenticated",
            "proto.forbidden",
            "backup.node_too_large",
            "proto.rate_limited",
            "quota.node_full",
        ),
        6,
    ):
        frame(f"refusal: {code}", frames.encode_refusal(rid, code, CODES[code]))

    refused("backup id of 31 bytes", frames.encode_client_request(20, "backup_get", b=bid[:31]))
    refused("empty backup", frames.encode_client_request(21, "backup_put", b=bid, g=group, data=b""))
    refused("backup_put without a group", frames.encode_client_request(22, "backup_put", b=bid, data=sealed))
    return out


def _raw_inner(key: bytes, nonce: bytes, plaintext: bytes) -> bytes:
    box = crypto.aead_encrypt(key, nonce, plaintext, backup.BACKUP_DOMAIN)
    return codec.encode({"v": 1, "aead": backup.AEAD_NAME, "nonce": nonce, "box": box})


# --- live-call signals (17.11) --------------------------------------------------------------


def call_signal_vectors() -> list[Vector]:
    """Signals (spec 17.11): the plaintext, signed message and box of a signal ALICE seals to BOB in a
    group, with its ``signal`` request and the ``listen`` event that carries it; then boxes BOB
    refuses, each with its ``error``. The seal's ephemeral secret is ``ephemeral`` (fixed randomness)."""
    group = crypto.blake2b_256(b"a group for calls")
    now_ms = 1_764_000_000_000
    call = crypto.blake2b_256(b"a call")[: calls.CALL_ID_SIZE]
    carol = seed_pseudonym("carol")
    out: list[Vector] = []

    def sealed(name: str, signal: calls.Signal, to: identity.Pseudonym = BOB) -> tuple[bytes, bytes, bytes]:
        ephemeral = _fixed("call signal " + name)(32)
        plaintext = calls.encode_signal(ALICE.seed, group, to.public_key, signal)
        box = crypto.seal(to.x_public_key, plaintext, lambda _n: ephemeral)
        return plaintext, box, ephemeral

    base = {
        "group": h(group),
        "from": h(ALICE.public_key),
        "to": h(BOB.public_key),
        "to_x25519_secret": h(BOB.x_secret),
        "to_x25519": h(BOB.x_public_key),
        "now_ms": now_ms,
    }
    offer = calls.Signal(call, "offer", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n", now_ms)
    candidate = calls.Signal(
        call, "candidate", '{"candidate":"candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host","sdpMid":"0"}', now_ms
    )
    leave = calls.Signal(call, "leave", "", now_ms)
    for name, signal in (("offer", offer), ("candidate", candidate), ("leave", leave)):
        plaintext, box, ephemeral = sealed(name, signal)
        request = frames.encode_client_request(
            7, "signal", g=group, to=BOB.public_key, box=box, **{"from": ALICE.public_key}
        )
        event = frames.encode_client_event(
            3, "signal", g=group, to=BOB.public_key, box=box, **{"from": ALICE.public_key}
        )
        out.append(
            {
                "name": f"{name} sealed to bob",
                **base,
                "signal": {"call": h(signal.call), "t": signal.type, "d": signal.data, "ts": signal.time_ms},
                "signed_message": h(calls.signed_message(group, ALICE.public_key, BOB.public_key, signal)),
                "plaintext": h(plaintext),
                "ephemeral": h(ephemeral),
                "box": h(box),
                "request": h(request),
                "event": h(event),
                "valid": True,
            }
        )

    def refused(name: str, box: bytes, *, sender: bytes = ALICE.public_key, now: int = now_ms) -> None:
        code = error_of(lambda: calls.open_signal(BOB.x_secret, group, sender, BOB.public_key, box, now))
        out.append({"name": name, **base, "from": h(sender), "now_ms": now, "box": h(box), "error": code})

    _, box, _ = sealed("offer", offer)
    refused("claimed to come from carol (the node lies about the sender)", box, sender=carol.public_key)
    refused("replayed 61 seconds later", box, now=now_ms + 61_000)
    _, for_carol, _ = sealed("for carol", offer, to=carol)
    forwarded = crypto.seal(BOB.x_public_key, crypto.seal_open(carol.x_secret, for_carol), lambda _n: bytes(32))
    refused("signed for carol, re-sealed to bob", forwarded)
    unknown = codec.encode({"call": call, "t": "record", "d": "", "ts": now_ms, "sig": bytes(64)})
    refused("an unknown type", crypto.seal(BOB.x_public_key, unknown, lambda _n: bytes(32)))
    short = codec.encode({"call": call[:8], "t": "offer", "d": "", "ts": now_ms, "sig": bytes(64)})
    refused("a call id of 8 bytes", crypto.seal(BOB.x_public_key, short, lambda _n: bytes(32)))
    refused("sealed to another key", sealed("to carol", offer, to=carol)[1])

    # call control: the sender's role in bob's state decides whether it acts (call.not_facilitator)
    controls = (
        ("hand raised by a member", calls.Signal(call, "hand", "up", now_ms), "member", None),
        ("hand lowered by a facilitator", calls.Signal(call, "hand", "down", now_ms), "facilitator", None),
        ("mute-request from a facilitator", calls.Signal(call, "mute-request", "", now_ms), "facilitator", None),
        ("piece given to carol", calls.Signal(call, "piece", carol.public_key.hex(), now_ms), "facilitator", None),
        ("the circle opened (no holder)", calls.Signal(call, "piece", "", now_ms), "facilitator", None),
        (
            "carol removed from the call",
            calls.Signal(call, "remove", carol.public_key.hex(), now_ms),
            "facilitator",
            None,
        ),
        (
            "mute-request from a member",
            calls.Signal(call, "mute-request", "", now_ms),
            "member",
            "call.not_facilitator",
        ),
        (
            "remove from a moderator",
            calls.Signal(call, "remove", BOB.public_key.hex(), now_ms),
            "moderator",
            "call.not_facilitator",
        ),
        ("piece from a non-member", calls.Signal(call, "piece", "", now_ms), None, "call.not_facilitator"),
    )
    for name, signal, role, code in controls:
        plaintext, box, ephemeral = sealed(name, signal)
        vector: Vector = {
            "name": name,
            **base,
            "signal": {"call": h(signal.call), "t": signal.type, "d": signal.data, "ts": signal.time_ms},
            "plaintext": h(plaintext),
            "ephemeral": h(ephemeral),
            "box": h(box),
            "sender_role": role,
        }
        if code is not None:
            opened = calls.open_signal(BOB.x_secret, group, ALICE.public_key, BOB.public_key, box, now_ms)
            vector["error"] = error_of(lambda opened=opened, role=role: calls.authorise_signal(opened, role))
            assert vector["error"] == code
        out.append(vector)
    for name, kind, data in (
        ("a hand neither up nor down", "hand", "sideways"),
        ("a mute-request with data", "mute-request", "now"),
        ("a remove naming a pseudonym in upper-case hex", "remove", carol.public_key.hex().upper()),
        ("a remove naming nobody", "remove", ""),
        ("a piece naming 31 bytes", "piece", carol.public_key.hex()[:62]),
    ):
        bad = codec.encode({"call": call, "t": kind, "d": data, "ts": now_ms, "sig": bytes(64)})
        refused(name, crypto.seal(BOB.x_public_key, bad, lambda _n: bytes(32)))
    out.append({"name": "the live circle of the group", "group": h(group), "circle": h(calls.circle_call_id(group))})
    return out


def build() -> dict[str, list[Vector]]:
    return {
        "codec.json": codec_vectors(),
        "identity.json": identity_vectors(),
        "entries.json": entry_vectors(),
        "logs.json": log_vectors(),
        "fork_proofs.json": fork_proof_vectors(),
        "signatures.json": signature_vectors(),
        "group_conversation.json": group_vectors(),
        "group_rules.json": group_rule_vectors(),
        "federation.json": federation_vectors(),
        "client_frames.json": client_frame_vectors(),
        "admission.json": admission_vectors(),
        "addresses.json": address_vectors(),
        "invites.json": invite_vectors(),
        "support.json": support_vectors(),
        "keyfile.json": keyfile_vectors(),
        "backup.json": backup_vectors(),
        "backup_store.json": backup_store_vectors(),
        "call_signal.json": call_signal_vectors(),
        "labels.json": label_vectors(),
    }


ERRORS_BEGIN = "<!-- errors:begin (generated by spec/generate_vectors.py from protocol/errors.py) -->"
ERRORS_END = "<!-- errors:end -->"


def spec_with_error_table(text: str) -> str:
    """``text`` (spec/protocol.md) with its error table rebuilt from ``protocol.errors.CODES``."""

    start = text.index(ERRORS_BEGIN) + len(ERRORS_BEGIN)
    end = text.index(ERRORS_END)
    rows = [
        "| code | meaning |",
        "| --- | --- |",
        *(f"| `{code}` | {meaning} |" for code, meaning in CODES.items()),
    ]
    return text[:start] + "\n" + "\n".join(rows) + "\n" + text[end:]


def render(vectors: list[Vector]) -> str:
    return json.dumps(vectors, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> None:
    out_dir = ROOT / "vectors"
    out_dir.mkdir(exist_ok=True)
    total = 0
    for name, vectors in build().items():
        (out_dir / name).write_text(render(vectors))
        total += len(vectors)
        print(f"{name}: {len(vectors)} vectors")
    print(f"total: {total}")
    spec = ROOT / "protocol.md"
    spec.write_text(spec_with_error_table(spec.read_text()))


if __name__ == "__main__":
    main()
