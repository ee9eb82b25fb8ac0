"""Node addresses and invite tokens, as text people can paste.

* A node address is ``holdspace://<node id>@<host>:<port>``, the node id being the node's Ed25519
  key as an ``hsn1…`` text id (4.3). Clients *pin* that key: the QUIC handshake must present it.
* An invite token is ``hsinvite:`` + base64url (no padding) of ``cbor || H(cbor)[:4]`` where
  ``cbor = {"g": group id, "i": invite entry id, "s": invite secret seed, "n": [node address, ...]}``.
  The 4-byte check catches a mangled paste before any network traffic.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from protocol import codec, crypto, textid
from protocol.errors import CodecError, HoldspaceError

SCHEME = "holdspace://"
INVITE_PREFIX = "hsinvite:"
MAX_INVITE_TEXT = 4096
MAX_HOSTS = 8


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
        text = text.strip()
        if not text.startswith(SCHEME) or "@" not in text:
            raise AddressError("address.malformed", "a node address looks like holdspace://hsn1…@host:port")
        ident, _, hostport = text[len(SCHEME) :].partition("@")
        key = textid.decode_id(textid.NODE_PREFIX, ident)
        if hostport.startswith("["):
            host, sep, rest = hostport[1:].partition("]")
            port_text = rest[1:] if rest.startswith(":") else ""
            if not sep:
                raise AddressError("address.malformed", "unclosed [ in the host")
        else:
            host, _, port_text = hostport.rpartition(":")
        if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise AddressError("address.malformed", "the address needs a host and a port 1-65535")
        return cls(key, host, int(port_text))


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
        text = "".join(text.split())
        if not text.startswith(INVITE_PREFIX) or len(text) > MAX_INVITE_TEXT:
            raise AddressError("address.bad_invite", f"an invite token starts with {INVITE_PREFIX}")
        data = text[len(INVITE_PREFIX) :]
        try:
            blob = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
        except (binascii.Error, ValueError):
            raise AddressError("address.bad_invite", "the invite token is damaged (not base64url)") from None
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
