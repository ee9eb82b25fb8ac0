"""QUIC binding of the transport, driving aioquic's sans-I/O ``QuicConnection`` from trio.

One raw non-blocking UDP socket per endpoint; a receive task drains it (many datagrams per
wake-up) and feeds connections synchronously; one driver task per connection owns its timer and
sends what ``datagrams_to_send`` produces.  Every ``now`` is ``trio.current_time()``.

The binding is split by concern:

* ``quic_streams``: a stream's length-prefixed framing and receive credit;
* ``quic_driver``: one connection, pumping aioquic from trio (timer, handshake, close);
* ``quic_endpoint``: the UDP socket shared by connections, and the QUIC configuration;
* ``quic_server``: demultiplexing and admission (caps, Retry), ``serve_quic``;
* ``quic_client``: ``connect_quic``.

See ``spec/_drafts/transport.md`` for the normative description.
"""

from __future__ import annotations

from .quic_client import connect_quic
from .quic_driver import QuicConnectionHandle
from .quic_server import serve_quic
from .quic_streams import QuicMessageStream

__all__ = ["QuicConnectionHandle", "QuicMessageStream", "connect_quic", "serve_quic"]
