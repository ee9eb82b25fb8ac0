"""The fuzz targets: every decoder a remote party (a client, a peer node, another member) can reach.

Each :class:`Target` takes one byte string, the fuzzer's input, and feeds it to a decoder. The
property checked by :func:`check` is the protocol's error invariant (``protocol/errors.py``): the
decoder either returns a result or raises a ``HoldspaceError`` whose code is registered in
``CODES`` *and* belongs to the families the decoder documents (``Target.families``). Any other
exception (``KeyError``, ``AssertionError``, ``RecursionError``, a ``ValueError`` from an
unregistered code ...) is a crash. Where the protocol promises more about a valid result, that is
checked too (:class:`Finding`): a decoded canonical item re-encodes to the same bytes, a parsed node
address is stable in its normal form, and so on.

Targets that take several arguments read them from one input with :func:`pack` / :func:`unpack`
(3-byte length prefixes, the last part takes the rest), so random bytes, mutated samples, atheris
and hypothesis all use the same input format.

Seeds are valid (and some invalid) samples taken from ``spec/vectors/*.json`` plus a few built
here (requests, responses, invite tokens), so structure-aware mutation starts from real inputs.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from holdspace.protocol import codec, crypto, e2ee, kinds, textid
from holdspace.protocol.address import InviteToken, NodeAddress
from holdspace.protocol.content import Quote, Report, decode_content, encode_content, verify_disclosure
from holdspace.protocol.credential import check_badge, decode_attestation, decode_revocation, issue, revoke
from holdspace.protocol.entry import create_entry, decode_entry
from holdspace.protocol.errors import CODES, HoldspaceError
from holdspace.protocol.federation import (
    decode_fed_request,
    decode_sync_event,
    digest_plan,
    encode_digests,
    encode_entries_event,
    encode_fork_event,
    encode_offer,
    encode_sync,
    sync_plan,
)
from holdspace.protocol.frames import (
    RemoteError,
    decode_client_request,
    decode_reply,
    decode_response,
    encode_answer,
    encode_client_event,
    encode_client_request,
    encode_ok,
    encode_refusal,
    encode_request,
)
from holdspace.protocol.identity import Pseudonym, verify_identity_document
from holdspace.protocol.log import make_fork_proof, verify_fork_proof
from holdspace.protocol.payloads import decode_direct, decode_envelope, decode_payload

ROOT = Path(__file__).resolve().parents[1]
VECTORS = ROOT / "spec" / "vectors"

#: the clock the entry targets check timestamps against (2027-01-15), after every vector's time
NOW_MS = 1_800_000_000_000
#: a key the structure-aware mutator signs with, so mutated objects can carry valid signatures
FUZZ_SEED = crypto.blake2b_256(b"holdspace/fuzz/signer")
FUZZ_KEY = crypto.ed25519_public_key(FUZZ_SEED)

_LEN = 3  # bytes of each length prefix in a packed input


class Finding(AssertionError):  # noqa: N818 - it is a fuzzing finding, raised like an assertion
    """A decoder broke its contract without crashing: a wrong error family, or a bad valid result."""


# -- packed inputs ---------------------------------------------------------------------------------


def pack(*parts: bytes) -> bytes:
    """Several byte strings as one input: each but the last with a 3-byte length, the last as is."""
    out = bytearray()
    for part in parts[:-1]:
        out += len(part).to_bytes(_LEN, "big") + part
    return bytes(out + parts[-1])


def unpack(data: bytes, count: int) -> list[bytes]:
    """The inverse of :func:`pack`, total: a short or damaged input yields short or empty parts."""
    parts: list[bytes] = []
    pos = 0
    for _ in range(count - 1):
        size = int.from_bytes(data[pos : pos + _LEN], "big")
        pos += _LEN
        parts.append(data[pos : pos + size])
        pos += size
    parts.append(data[pos:])
    return parts


def text_of(data: bytes) -> str:
    """Input bytes as text, the way a remote party's text reaches a parser (any Unicode scalar)."""
    return data.decode("utf-8", "replace")


# -- targets -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    name: str
    run: Callable[[bytes], object]
    families: tuple[str, ...]  # the code prefixes the decoder may raise
    seeds: Callable[[], list[bytes]]
    parts: int = 1  # inputs are pack()ed from this many parts
    text: bool = False  # the (last) part is text
    about: str = ""
    nested: tuple[Callable[[bytes], bytes | None], Callable[[bytes], bytes]] | None = field(default=None)
    """(unwrap, wrap): a CBOR body inside the input (an invite token's), for structure-aware mutation"""


def check(target: Target, data: bytes) -> str:
    """Run ``target`` on ``data``; return ``"ok"`` or the code of the typed refusal.

    Raises :class:`Finding` if a refusal's code is unregistered or outside the target's families, or
    a valid result breaks a promised property; any other exception is a crash and propagates.
    """
    try:
        target.run(data)
    except RemoteError as err:  # a well-formed error answer: a valid result of a response decoder
        if err.code not in CODES:
            raise Finding(f"{target.name}: unregistered code {err.code!r} in an error answer") from err
        return "remote " + err.code
    except HoldspaceError as err:
        if err.code not in CODES:
            raise Finding(f"{target.name}: unregistered code {err.code!r}") from err
        if not err.code.startswith(target.families):
            raise Finding(f"{target.name}: code {err.code} is outside {target.families}: {err.message}") from err
        return err.code
    return "ok"


def _same(what: str, got: object, want: object) -> None:
    if got != want:
        raise Finding(f"{what}: {got!r:.200} != {want!r:.200}")


# -- the decoders, as targets --------------------------------------------------------------------------


def run_codec(data: bytes) -> object:
    value = codec.decode(data)
    _same("codec: encode(decode(b)) == b", codec.encode(value), data)
    return value


def run_request(data: bytes) -> object:
    """A frame of the client session stream, as the node decodes it (14.1, 14.2)."""
    request = decode_client_request(data)
    encoded = encode_client_request(request.rid, request.op, **dict(request.fields))
    _same("request: canonical re-encoding", encoded, data)
    return request


def run_response(data: bytes) -> object:
    """What a client decodes from its node: an answer or an event, and the entries it carries."""
    from holdspace.clients.client import _entries  # the client's own entry-item decoder  # noqa: PLC0415

    reply = decode_reply(data)
    if reply.kind == "err":
        return reply.error()
    if "entries" in reply.body:
        _entries(reply.body["entries"])
    return reply


def run_fed_request(data: bytes) -> object:
    request = decode_fed_request(data)
    if request.op == "sync":
        sync_plan(request)
    elif request.op == "digests":
        digest_plan(request)
    _same("fed request: canonical re-encoding", encode_request(request.op, **dict(request.fields)), data)
    return request


def run_fed_event(data: bytes) -> object:
    """What a puller decodes on a sync stream (16.3): an answer, then events."""
    value = decode_response(data)
    if "ev" in value:
        return decode_sync_event(value)
    return value


def run_entry(data: bytes) -> object:
    header, tail = unpack(data, 2)
    payload = tail[1:] if tail[:1] not in (b"", b"\x00") else None
    entry = decode_entry(header, payload, now_ms=NOW_MS)
    _same("entry: raw", entry.raw, header)
    _same("entry: id", entry.entry_id, crypto.blake2b_256(header))
    _same("entry: payload", entry.payload, payload)
    return entry


def run_payload(data: bytes) -> object:
    kind_byte, author, payload = unpack(data, 3)
    kind = kind_byte[0] if kind_byte else 0
    result = decode_payload(kind, payload, author)
    _same(f"{kinds.kind_name(kind)} payload: canonical re-encoding", result.encode(), payload)
    return result


def run_envelope(data: bytes) -> object:
    envelope = decode_envelope(data)
    _same("envelope: canonical re-encoding", envelope.encode(), data)
    return envelope


def run_direct(data: bytes) -> object:
    envelope = decode_direct(data)
    _same("direct envelope: canonical re-encoding", envelope.encode(), data)
    return envelope


def run_content(data: bytes) -> object:
    content = decode_content(data)
    if isinstance(content, Report | Quote):
        header = codec.decode(content.disclosure.header) if _is_cbor(content.disclosure.header) else None
        group = header.get("g") if isinstance(header, dict) else None
        try:
            verify_disclosure(group if isinstance(group, bytes) else bytes(32), content.disclosure)
        except HoldspaceError as err:
            if err.code != "content.bad_disclosure":
                raise Finding(f"verify_disclosure raised {err.code}, not content.bad_disclosure") from err
    if type(content).__name__ != "Unknown":
        _same("content: canonical re-encoding", encode_content(content), data)  # type: ignore[arg-type]
    return content


def run_attestation(data: bytes) -> object:
    revocations = [data, *_credentials()[3:]]
    badge = check_badge(
        data, subject=FUZZ_KEY, group=bytes(32), issuers=[FUZZ_KEY], revocations=revocations, now_ms=NOW_MS
    )
    if badge.code is not None and badge.code not in CODES:
        raise Finding(f"check_badge: unregistered code {badge.code!r}")
    return decode_attestation(data)


def run_revocation(data: bytes) -> object:
    return decode_revocation(data)


def run_identity(data: bytes) -> object:
    document = verify_identity_document(data)
    _same("identity document: raw", document.raw, data)
    return document


def run_fork_proof(data: bytes) -> object:
    proof = verify_fork_proof(data)
    _same("fork proof: canonical re-encoding", proof.encode(), data)
    _same("fork proof: same position", (proof.first.seq, proof.first.author), (proof.second.seq, proof.second.author))
    return proof


def run_address(data: bytes) -> object:
    address = NodeAddress.parse(text_of(data))
    again = NodeAddress.parse(str(address))
    _same("address: parse(str(a)) == a", again, address)
    _same("address: normal form is stable", str(again), str(address))
    return address


def run_invite(data: bytes) -> object:
    token = InviteToken.parse(text_of(data))
    _same("invite: parse(str(t)) == t", InviteToken.parse(str(token)), token)
    return token


_PREFIXES = (textid.PSEUDONYM_PREFIX, textid.NODE_PREFIX, textid.GROUP_PREFIX)


def run_textid(data: bytes) -> object:
    selector, text = unpack(data, 2)
    prefix = _PREFIXES[selector[0] % len(_PREFIXES)] if selector else _PREFIXES[0]
    key = textid.decode_id(prefix, text_of(text))
    _same("text id: round trip", textid.decode_id(prefix, textid.encode_id(prefix, key)), key)
    return key


def run_unpad(data: bytes) -> object:
    return e2ee.unpad(data)


def run_node_header(data: bytes) -> object:
    """The node's first look at a published header, before the full entry checks (node/rates.py,
    node/session.py)."""
    from holdspace.node.rates import publish_author  # noqa: PLC0415
    from holdspace.node.session import header_group  # noqa: PLC0415

    author = publish_author(data, _seed_authors())
    group = header_group(data)
    return author, group


def _is_cbor(data: bytes) -> bool:
    try:
        codec.decode(data)
    except HoldspaceError:
        return False
    return True


# -- seeds ---------------------------------------------------------------------------------------------

_HEX = re.compile(r"(?:[0-9a-f]{2})+")


def _walk(value: object, key: str | None = None) -> Iterator[tuple[str | None, object, dict[str, object] | None]]:
    """(key, value, enclosing dict) for every scalar of a JSON document."""
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, dict | list):
                yield from _walk(v, k)
            else:
                yield k, v, value
    elif isinstance(value, list):
        for v in value:
            if isinstance(v, dict | list):
                yield from _walk(v, key)
            else:
                yield key, v, None


@functools.cache
def _vectors() -> list[object]:
    return [json.loads(path.read_text()) for path in sorted(VECTORS.glob("*.json"))]


@functools.cache
def _blobs() -> dict[str, list[bytes]]:
    """Every hex string of the vectors, by the name of the field that holds it."""
    out: dict[str, list[bytes]] = {}
    for doc in _vectors():
        for key, value, _ in _walk(doc):
            if isinstance(value, str) and _HEX.fullmatch(value):
                out.setdefault(key or "", []).append(bytes.fromhex(value))
    return {k: list(dict.fromkeys(v)) for k, v in out.items()}


@functools.cache
def _entries() -> list[tuple[bytes, bytes | None]]:
    """(header, payload or None) of every entry in the vectors."""
    pairs: list[tuple[bytes, bytes | None]] = []

    def visit(node: object) -> None:
        if isinstance(node, dict):
            for h, p in (("entry", "payload"), ("disclosed_entry", "disclosed_payload")):
                header, payload = node.get(h), node.get(p)
                if isinstance(header, str) and _HEX.fullmatch(header):
                    body = bytes.fromhex(payload) if isinstance(payload, str) and _HEX.fullmatch(payload) else None
                    pairs.append((bytes.fromhex(header), body))
            for v in node.values():
                visit(v)
        elif isinstance(node, list):
            for v in node:
                visit(v)

    for doc in _vectors():
        visit(doc)
    return list(dict.fromkeys(pairs))


def _header_fields(header: bytes) -> dict[str, codec.CborValue]:
    try:
        fields = codec.decode(header)
    except HoldspaceError:
        return {}
    return fields if isinstance(fields, dict) else {}


@functools.cache
def _seed_authors() -> frozenset[bytes]:
    authors = {_header_fields(h).get("a") for h, _ in _entries()}
    return frozenset(a for a in authors if isinstance(a, bytes)) | {FUZZ_KEY}


def _payloads_of(kind_filter: Callable[[int], bool]) -> list[tuple[int, bytes, bytes]]:
    out = []
    for header, payload in _entries():
        fields = _header_fields(header)
        kind, author = fields.get("k"), fields.get("a")
        if (
            payload is not None
            and isinstance(kind, int)
            and 0 <= kind < 256
            and isinstance(author, bytes)
            and kind_filter(kind)
        ):
            out.append((kind, author, payload))
    return out


def _node_address(n: int, host: str = "127.0.0.1") -> NodeAddress:
    return NodeAddress(crypto.ed25519_public_key(bytes([n]) * 32), host, 4433 + n)


@functools.cache
def _addresses() -> list[str]:
    texts = [str(v) for doc in _vectors() for k, v, _ in _walk(doc) if k in ("text", "normal_form") and v]
    texts += [str(_node_address(1)), str(_node_address(2, "node.example.org")), str(_node_address(3, "2001:db8::1"))]
    return list(dict.fromkeys(t for t in texts if isinstance(t, str)))


@functools.cache
def seeds_codec() -> list[bytes]:
    blobs = _blobs()
    out = blobs.get("cbor", []) + blobs.get("hex", [])
    out += [h for h, _ in _entries()] + [p for _, p in _entries() if p is not None]
    return list(dict.fromkeys(out))


def _sample_entries() -> list[tuple[bytes, bytes | None]]:
    return [e for e in _entries() if len(e[0]) <= 1024][:40]


@functools.cache
def seeds_request() -> list[bytes]:
    g, k = bytes(range(32)), FUZZ_KEY
    out = [
        encode_client_request(0, "hello", v=2),
        encode_client_request(1, "auth", k=k, sig=bytes(64)),
        encode_client_request(2, "fetch", g=g, after=0, limit=512),
        encode_client_request(3, "subscribe", g=g, after=7),
        encode_client_request(2**64 - 1, "state", g=g),
        encode_client_request(24, "identity", g=g, k=k),
        encode_client_request(256, "cancel", sub=3),
        encode_request("hello", v=1),
    ]
    for i, (header, payload) in enumerate(_sample_entries()[:12]):
        out.append(encode_client_request(100 + i, "publish", e=header, b=payload))
        if payload is not None:
            out.append(encode_client_request(200 + i, "adopt", e=header, b=payload, hosts=_addresses()[:2]))
    return out


@functools.cache
def seeds_response() -> list[bytes]:
    items: list[codec.CborValue] = [[i + 1, h, p] for i, (h, p) in enumerate(_sample_entries()[:8])]
    return [
        encode_answer(
            0, {"v": 2, "node": FUZZ_KEY, "challenge": bytes(32), "limits": {"publish_rate": 1, "max_frame": 9}}
        ),
        encode_answer(1, {"id": bytes(32), "c": 3}),
        encode_answer(2, {"entries": items, "next": 9, "more": False}),
        encode_answer(3, {"next": 0}),
        encode_client_event(3, "subscribed", next=0),
        encode_client_event(3, "entries", entries=items[:3], next=3),
        encode_refusal(4, "group.not_member", "the author is not a member"),
        encode_refusal(None, "proto.malformed_frame", "a request carries an unsigned integer id"),
    ]


@functools.cache
def seeds_federation() -> list[bytes]:
    frames = _blobs().get("frame", [])
    g = bytes(range(32))
    headers = [h for h, _ in _sample_entries()[:6]]
    proofs = _blobs().get("proof", [])
    out = [
        *frames,
        encode_digests({g: bytes(32), bytes(32): g}),
        encode_sync({g: (None, None), bytes(32): (5, [[FUZZ_KEY, 2, bytes(32)]])}),
        encode_offer(headers[0], None),
        encode_entries_event(g, [[i + 1, h, None] for i, h in enumerate(headers)], len(headers)),
        encode_ok({"differ": [g], "same": [], "refused": [[bytes(32), "fed.not_host"]]}),
    ]
    out += [encode_fork_event(g, proof) for proof in proofs[:2]]
    return list(dict.fromkeys(out))


@functools.cache
def seeds_entry() -> list[bytes]:
    out = []
    for header, payload in _entries():
        out.append(pack(header, b"" if payload is None else b"\x01" + payload))
        out.append(pack(header, b""))
    return list(dict.fromkeys(out))


@functools.cache
def seeds_payload() -> list[bytes]:
    out = [pack(bytes([kind]), author, payload) for kind, author, payload in _payloads_of(lambda k: True)]
    for doc in _vectors():  # malformed control payloads, as the spec lists them
        for key, value, parent in _walk(doc):
            if key == "payload" and parent is not None and isinstance(parent.get("kind"), str):
                number = {name: k for k, name in kinds.KINDS.items()}.get(str(parent["kind"]))
                if number is not None and isinstance(value, str) and _HEX.fullmatch(value):
                    out.append(pack(bytes([number]), bytes(32), bytes.fromhex(value)))
    return list(dict.fromkeys(out))


@functools.cache
def seeds_envelope() -> list[bytes]:
    return list(dict.fromkeys(p for k, _, p in _payloads_of(lambda k: k == kinds.MESSAGE)))


@functools.cache
def seeds_direct() -> list[bytes]:
    return list(dict.fromkeys(p for k, _, p in _payloads_of(lambda k: k == kinds.DIRECT)))


@functools.cache
def seeds_content() -> list[bytes]:
    blobs = _blobs()
    out = blobs.get("content", []) + blobs.get("plaintext", []) + blobs.get("verified_plaintext", [])
    for pair in (("disclosed_entry", "disclosed_payload", "disclosed_key"),):
        for e, p, k in zip(*(blobs.get(name, []) for name in pair), strict=False):
            out.append(codec.encode({"t": "quote", "e": e, "p": p, "k": k}))
            out.append(codec.encode({"t": "report", "e": e, "p": p, "k": k, "why": "unkind"}))
    return list(dict.fromkeys(out))


@functools.cache
def _credentials() -> list[bytes]:
    """Attestations by the fuzz key (so check_badge gets past the issuer), then their revocations."""
    made = [
        issue(FUZZ_SEED, subject=FUZZ_KEY, role="peer supporter", not_before_ms=0, expires_ms=NOW_MS * 2, serial=s)
        for s in (bytes(16), b"\x01" * 16)
    ]
    made.append(
        issue(FUZZ_SEED, subject=FUZZ_KEY, role="r", not_before_ms=1, expires_ms=2, serial=bytes(16), group=bytes(32))
    )
    return [a.raw for a in made] + [revoke(FUZZ_SEED, a.credential_id, NOW_MS).raw for a in made[:1]]


@functools.cache
def seeds_attestation() -> list[bytes]:
    return list(dict.fromkeys(_blobs().get("attestation", []) + _credentials()[:3]))


@functools.cache
def seeds_revocation() -> list[bytes]:
    blobs = _blobs()
    return list(dict.fromkeys(blobs.get("revocation", []) + blobs.get("revocations", []) + _credentials()[3:]))


@functools.cache
def seeds_identity() -> list[bytes]:
    out = list(_blobs().get("document", []))
    for _kind, _, payload in _payloads_of(lambda k: k in (kinds.GENESIS, kinds.JOIN, kinds.REKEY)):
        fields = _header_fields(payload)
        if isinstance(fields.get("doc"), bytes):
            out.append(fields["doc"])  # type: ignore[arg-type]
    return list(dict.fromkeys(out))


@functools.cache
def _fuzz_pseudonym() -> Pseudonym:
    return Pseudonym.from_secrets(FUZZ_SEED, crypto.blake2b_256(b"holdspace/fuzz/x25519"))


@functools.cache
def seeds_fork_proof() -> list[bytes]:
    """The vectors' proofs, and forks by the fuzz key at seq 1 and at seq 2."""
    me, group = _fuzz_pseudonym(), bytes(range(32))
    proofs = list(_blobs().get("proof", []))
    for k, seq, prev in ((kinds.INVITE, 1, None), (kinds.MESSAGE, 2, bytes(32))):
        one, other = (
            create_entry(me, group=group, seq=seq, prev=prev, timestamp_ms=NOW_MS, kind=k, payload=body)
            for body in (b"one", b"other")
        )
        proofs.append(make_fork_proof(one, other).encode())
    return proofs


@functools.cache
def seeds_address() -> list[bytes]:
    return [t.encode() for t in _addresses()]


@functools.cache
def seeds_invite() -> list[bytes]:
    nodes = [NodeAddress.parse(a) for a in _addresses()[-3:]]
    return [
        str(InviteToken(bytes(range(32)), bytes(32), FUZZ_SEED, (nodes[0],))).encode(),
        str(InviteToken(FUZZ_KEY, FUZZ_SEED, bytes(range(32)), tuple(nodes * 3)[:8])).encode(),
    ]


@functools.cache
def seeds_textid() -> list[bytes]:
    return [pack(bytes([i]), textid.encode_id(p, FUZZ_KEY).encode()) for i, p in enumerate(_PREFIXES)]


@functools.cache
def seeds_unpad() -> list[bytes]:
    return [e2ee.pad(b""), e2ee.pad(b"x" * 63), e2ee.pad(b"y" * 300)]


@functools.cache
def seeds_node_header() -> list[bytes]:
    return [h for h, _ in _entries()]


def _invite_body(data: bytes) -> bytes | None:
    token = text_of(data)
    if not token.startswith("hsinvite:"):
        return None
    import base64  # noqa: PLC0415

    raw = token[len("hsinvite:") :]
    try:
        blob = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except ValueError:
        return None
    return blob[:-4] if len(blob) > 4 else None


def _invite_wrap(body: bytes) -> bytes:
    import base64  # noqa: PLC0415

    blob = body + crypto.blake2b_256(body)[:4]
    return ("hsinvite:" + base64.urlsafe_b64encode(blob).rstrip(b"=").decode()).encode()


_ALL = [
    Target("codec", run_codec, ("cbor.",), seeds_codec, about="protocol.codec.decode (section 3)"),
    Target(
        "request",
        run_request,
        ("proto.",),
        seeds_request,
        about="client requests: frames.decode_client_request (14.1, 14.2)",
    ),
    Target(
        "response",
        run_response,
        ("proto.", "entry.", "cbor."),
        seeds_response,
        about="answers and events a client reads: frames.decode_reply and the entry items",
    ),
    Target("fed_request", run_fed_request, ("proto.",), seeds_federation, about="federation.decode_fed_request (16.1)"),
    Target("fed_event", run_fed_event, ("proto.",), seeds_federation, about="federation.decode_sync_event (16.3)"),
    Target(
        "entry", run_entry, ("entry.", "cbor."), seeds_entry, parts=2, about="entry.decode_entry, header and payload"
    ),
    Target(
        "payload",
        run_payload,
        ("group.malformed_payload",),
        seeds_payload,
        parts=3,
        about="payloads.decode_payload for every kind (control, and the refusal of others)",
    ),
    Target("envelope", run_envelope, ("group.malformed_payload",), seeds_envelope, about="payloads.decode_envelope"),
    Target("direct", run_direct, ("group.malformed_payload",), seeds_direct, about="payloads.decode_direct"),
    Target(
        "content",
        run_content,
        ("content.malformed",),
        seeds_content,
        about="content.decode_content, and verify_disclosure of reports and quotes",
    ),
    Target(
        "attestation",
        run_attestation,
        ("credential.malformed", "credential.bad_signature"),
        seeds_attestation,
        about="credential.decode_attestation and check_badge",
    ),
    Target(
        "revocation",
        run_revocation,
        ("credential.malformed", "credential.bad_signature"),
        seeds_revocation,
        about="credential.decode_revocation",
    ),
    Target("identity", run_identity, ("identity.",), seeds_identity, about="identity.verify_identity_document"),
    Target("fork_proof", run_fork_proof, ("log.bad_fork_proof",), seeds_fork_proof, about="log.verify_fork_proof"),
    Target(
        "address", run_address, ("address.", "identity."), seeds_address, text=True, about="address.NodeAddress.parse"
    ),
    Target(
        "invite",
        run_invite,
        ("address.", "identity."),
        seeds_invite,
        text=True,
        about="address.InviteToken.parse",
        nested=(_invite_body, _invite_wrap),
    ),
    Target("textid", run_textid, ("identity.",), seeds_textid, parts=2, text=True, about="textid.decode_id"),
    Target("unpad", run_unpad, ("e2ee.bad_padding",), seeds_unpad, about="e2ee.unpad (a member's plaintext)"),
    Target(
        "node_header",
        run_node_header,
        ("cbor.", "proto.", "entry."),
        seeds_node_header,
        about="a client session's first look at a published header",
    ),
]

TARGETS: dict[str, Target] = {t.name: t for t in _ALL}

#: the decoders a libFuzzer/atheris run covers first (frames and entries); the others are cheap too
PRIMARY = ("request", "response", "fed_request", "fed_event", "entry", "fork_proof")


def valid_seeds(target: Target) -> list[bytes]:
    """The seeds the target accepts."""
    return [s for s in target.seeds() if check(target, s) == "ok"]
