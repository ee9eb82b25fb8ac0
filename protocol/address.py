"""Node addresses and invite tokens, as text people can paste.

* A node address is ``holdspace://<node id>@<host>:<port>``, the node id being the node's Ed25519
  key as an ``hsn1…`` text id (4.3). Clients *pin* that key: the QUIC handshake must present it.
  The host is a DNS name of letters, digits and hyphens (case-insensitive, written in lower case),
  a dotted IPv4 address, or an IPv6 address in brackets (no zone); the port is 1-65535 in decimal.
  ``str`` gives the *normal form*, which signed payloads must use (spec 12.2).
* An invite token is ``hsinvite:`` + base64url (no padding) of ``cbor || H(cbor)[:4]`` where
  ``cbor = {"g": group id, "i": invite entry id, "s": invite secret seed, "n": [node address, ...]}``.
  The 4-byte check catches a mangled paste before any network traffic.
* An invite link is ``https://<web host>[:port]/join#hsinvite:…`` (spec 14.3): the node's web page
  with the token in the fragment, which a browser never sends to a server. Wherever a token is
  accepted, so is a link (``InviteToken.parse``).
"""

from __future__ import annotations

import base64
import binascii
import functools
import ipaddress
import re
from dataclasses import dataclass

from holdspace.protocol import codec, crypto, textid
from holdspace.protocol.errors import CodecError, HoldspaceError

SCHEME = "holdspace://"
MAX_ADDRESS_TEXT = 300  # bytes (the text is ASCII)
INVITE_PREFIX = "hsinvite:"
MAX_INVITE_TEXT = 4096
MAX_HOSTS = 8
LINK_SCHEME = "https://"
JOIN_PATH = "/join"
MAX_ORIGIN_TEXT = 300  # characters of a link before its "#"
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


class AddressError(HoldspaceError):
    family = "address"


@dataclass(frozen=True, slots=True)
class NodeAddress:
    node_key: bytes
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{SCHEME}{textid.encode_id(textid.NODE_PREFIX, self.node_key)}@{host}:{self.port}"

    @classmethod
    def parse(cls, text: str) -> NodeAddress:
        """Parse an address; the host is normalised (lower case, canonical IPv6), so ``str`` of the
        result is the normal form. Anything outside the grammar is ``address.malformed``.

        Results are cached (the same few addresses are parsed again with every group state
        computed); a refusal is not, so it is raised every time."""
        return _parse_address(text)

    @classmethod
    def _parse(cls, text: str) -> NodeAddress:
        text = text.strip()
        if not text.isascii() or len(text) > MAX_ADDRESS_TEXT:
            raise AddressError("address.malformed", f"a node address is ASCII, at most {MAX_ADDRESS_TEXT} bytes")
        if not text.startswith(SCHEME) or "@" not in text:
            raise AddressError("address.malformed", "a node address looks like holdspace://hsn1…@host:port")
        ident, _, hostport = text[len(SCHEME) :].partition("@")
        if ident != ident.strip():  # the id decoder forgives white space around a pasted id; the grammar does not
            raise AddressError("address.malformed", "no white space inside a node address")
        key = textid.decode_id(textid.NODE_PREFIX, ident)
        if hostport.startswith("["):
            inner, sep, rest = hostport[1:].partition("]")
            if not sep or not rest.startswith(":"):
                raise AddressError("address.malformed", "an IPv6 host is written [address]:port")
            host, port_text = _ipv6(inner), rest[1:]
        else:
            name, _, port_text = hostport.rpartition(":")
            host = _host(name)
        if not port_text.isdigit() or port_text.startswith("0") or not 0 < int(port_text) < 65536:
            raise AddressError("address.malformed", "the port is 1-65535, in decimal without leading zeros")
        return cls(key, host, int(port_text))


@functools.lru_cache(maxsize=4096)
def _parse_address(text: str) -> NodeAddress:
    return NodeAddress._parse(text)


def _ipv6(text: str) -> str:
    try:
        address = ipaddress.IPv6Address(text)
    except ValueError:
        raise AddressError("address.malformed", "not an IPv6 address (zones are not allowed)") from None
    if address.scope_id is not None:
        raise AddressError("address.malformed", "an IPv6 zone is not allowed")
    return _rfc5952(address.packed)


def _rfc5952(packed: bytes) -> str:
    """RFC 5952 section 4 text of a 16-byte IPv6 address, in hexadecimal groups only (an embedded IPv4
    address is not written dotted). Written out rather than taken from ``ipaddress``, whose text of
    IPv4-mapped addresses differs between Python versions: a normal form must not."""
    groups = [int.from_bytes(packed[i : i + 2], "big") for i in range(0, 16, 2)]
    best, best_len, start = -1, 1, None  # the longest run of two or more zero groups, the first if tied
    for i, group in enumerate([*groups, 1]):
        if group == 0 and start is None:
            start = i
        elif group != 0 and start is not None:
            if i - start > best_len:
                best, best_len = start, i - start
            start = None
    text = [f"{g:x}" for g in groups]
    if best < 0:
        return ":".join(text)
    return ":".join(text[:best]) + "::" + ":".join(text[best + best_len :])


def _host(text: str) -> str:
    """A dotted IPv4 address (no leading zeros) or a DNS name (LDH labels), in lower case."""
    if _IPV4.fullmatch(text):
        return text
    name = text.lower()
    labels = name.split(".")
    if not name or len(name) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise AddressError("address.malformed", "the host is a DNS name, an IPv4 address or [IPv6]")
    if all(label.isdigit() for label in labels):
        raise AddressError("address.malformed", "an IPv4 address has four parts of 0-255 without leading zeros")
    return name


_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}")
_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


@dataclass(frozen=True, slots=True)
class InviteToken:
    group_id: bytes
    invite_id: bytes
    seed: bytes
    nodes: tuple[NodeAddress, ...]

    def __str__(self) -> str:
        body = codec.encode(
            {"g": self.group_id, "i": self.invite_id, "s": self.seed, "n": [str(n) for n in self.nodes]}
        )
        blob = body + crypto.blake2b_256(body)[:4]
        return INVITE_PREFIX + base64.urlsafe_b64encode(blob).rstrip(b"=").decode()

    @classmethod
    def parse(cls, text: str) -> InviteToken:
        """Parse an invite token, or an invite link carrying one (:meth:`InviteLink.parse`).

        All white space is removed first (a token wrapped by a mail client still parses). A text that
        does not start with ``hsinvite:`` but has ``://`` is taken for a link. Checked for a token, in
        order, each failure ``address.bad_invite``: the ``hsinvite:`` prefix and at most 4096
        characters; base64url without padding in its canonical form (only ``A-Z a-z 0-9 - _``, a
        length that is not 1 modulo 4, unused trailing bits zero); at least 5 bytes whose last 4 are
        the first 4 of BLAKE2b-256 of the rest; that rest strict CBOR (section 3) of a map with
        exactly the keys ``g``, ``i``, ``s`` (32-byte strings each) and ``n`` (1 to 8 texts); then
        each text of ``n`` is a node address (its own ``address.malformed`` or ``identity.*``)."""
        text = "".join(text.split())
        if not text.startswith(INVITE_PREFIX) and "://" in text:
            return InviteLink.parse(text).token
        return cls._parse_token(text)

    @classmethod
    def _parse_token(cls, text: str) -> InviteToken:
        if not text.startswith(INVITE_PREFIX) or len(text) > MAX_INVITE_TEXT:
            raise AddressError("address.bad_invite", f"an invite token starts with {INVITE_PREFIX}")
        data = text[len(INVITE_PREFIX) :]
        if not _BASE64URL.fullmatch(data) or len(data) % 4 == 1:
            raise AddressError("address.bad_invite", "the invite token is damaged (not base64url)")
        try:
            blob = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
        except (binascii.Error, ValueError):  # pragma: no cover - the alphabet and length were checked
            raise AddressError("address.bad_invite", "the invite token is damaged (not base64url)") from None
        if base64.urlsafe_b64encode(blob).rstrip(b"=").decode() != data:
            raise AddressError("address.bad_invite", "the invite token is damaged (stray trailing bits)")
        body, check = blob[:-4], blob[-4:]
        if len(blob) < 5 or crypto.blake2b_256(body)[:4] != check:
            raise AddressError("address.bad_invite", "the invite token is damaged or incomplete")
        try:
            fields = codec.decode(body)
        except CodecError as exc:
            raise AddressError("address.bad_invite", f"the invite token is malformed ({exc.code})") from exc
        if not isinstance(fields, dict) or fields.keys() != {"g", "i", "s", "n"}:
            raise AddressError("address.bad_invite", "the invite token is malformed")
        g, i, s, n = fields["g"], fields["i"], fields["s"], fields["n"]
        if not all(isinstance(x, bytes) and len(x) == 32 for x in (g, i, s)):
            raise AddressError("address.bad_invite", "the invite token is malformed")
        if not isinstance(n, list) or not 0 < len(n) <= MAX_HOSTS or not all(isinstance(a, str) for a in n):
            raise AddressError("address.bad_invite", "the invite token must name 1 to 8 nodes")
        assert isinstance(g, bytes) and isinstance(i, bytes) and isinstance(s, bytes)
        return cls(g, i, s, tuple(NodeAddress.parse(a) for a in n if isinstance(a, str)))


def web_origin(text: str) -> str:
    """The normal form of a web origin ``https://host[:port]``: the scheme and host in lower case
    (IPv6 in brackets, RFC 5952), the port omitted when it is 443. Checked, each failure
    ``address.bad_link``: at most 300 characters, ASCII; the scheme ``https://`` (any case); no
    user info (``@``); a host as in a node address (a DNS name, a dotted IPv4 address or
    ``[IPv6]`` without zone); an optional port 1-65535 in decimal without leading zeros; nothing
    after it (no path, query or fragment)."""
    if len(text) > MAX_ORIGIN_TEXT or not text.isascii():
        raise AddressError("address.bad_link", f"a web origin is ASCII, at most {MAX_ORIGIN_TEXT} characters")
    if text[: len(LINK_SCHEME)].lower() != LINK_SCHEME:
        raise AddressError("address.bad_link", "an invite link starts with https://")
    authority = text[len(LINK_SCHEME) :]
    if "@" in authority or any(c in authority for c in "/?#"):
        raise AddressError("address.bad_link", "a web origin is https://host[:port], with nothing else")
    try:
        if authority.startswith("["):
            inner, sep, rest = authority[1:].partition("]")
            if not sep:
                raise AddressError("address.bad_link", "an IPv6 host is written [address]")
            host, port_text = f"[{_ipv6(inner)}]", rest
        else:
            name, colon, port = authority.partition(":")
            host, port_text = _host(name), colon + port
    except AddressError as err:
        raise AddressError("address.bad_link", f"the link's host is not a host name or address: {err}") from None
    if port_text:
        digits = port_text[1:]
        if not port_text.startswith(":") or not digits.isdigit() or digits.startswith("0") or int(digits) > 65535:
            raise AddressError("address.bad_link", "the link's port is 1-65535, in decimal without leading zeros")
        if int(digits) != 443:
            return f"{LINK_SCHEME}{host}:{int(digits)}"
    return LINK_SCHEME + host


def shareable_invite(token: str, web: str | None) -> str:
    """What an inviter gives (spec 14.3): the invite link when the home node told a ``web`` origin
    that parses (:func:`web_origin`), else the bare token ``token`` (which must parse)."""
    parsed = InviteToken.parse(token)
    if web is None:
        return str(parsed)
    try:
        return str(InviteLink(web_origin(web), parsed))
    except AddressError:  # a node's claim that is not an origin: the bare token still works
        return str(parsed)


@dataclass(frozen=True, slots=True)
class InviteLink:
    """An invite link: ``origin`` (``https://host[:port]``, normal form) + ``/join#`` + the token.

    The token rides in the fragment, so opening the link sends the server the path ``/join`` and
    nothing of the token (spec 14.3)."""

    origin: str
    token: InviteToken

    def __str__(self) -> str:
        return f"{self.origin}{JOIN_PATH}#{self.token}"

    @classmethod
    def parse(cls, text: str) -> InviteLink:
        """Parse a link (white space anywhere removed). Checked, in order: a ``#`` (else
        ``address.bad_link``); the text before it is a web origin (:func:`web_origin`, each failure
        ``address.bad_link``) followed by exactly the path ``/join`` (no query); the fragment is an
        invite token (:meth:`InviteToken.parse`'s checks, ``address.bad_invite``)."""
        text = "".join(text.split())
        url, sep, fragment = text.partition("#")
        if not sep:
            raise AddressError("address.bad_link", "an invite link carries its token after '#'")
        if len(url) > MAX_ORIGIN_TEXT + len(JOIN_PATH) or not url.isascii():
            raise AddressError("address.bad_link", f"a web origin is ASCII, at most {MAX_ORIGIN_TEXT} characters")
        scheme_end = url.find("://") + 3 if "://" in url else 0
        slash = url.find("/", scheme_end)
        if slash < 0 or url[slash:] != JOIN_PATH:
            raise AddressError("address.bad_link", f"an invite link's path is {JOIN_PATH}, with no query")
        return cls(web_origin(url[:slash]), InviteToken._parse_token(fragment))
