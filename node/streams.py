"""Stream helpers shared by the client runtime (``node.server``) and federation (``node.federation``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import trio

from holdspace.node.transport.base import Connection, MessageStream, TransportError
from holdspace.protocol.frames import encode_error


async def send_error(stream: MessageStream, code: str, message: str) -> None:
    """Answer a request with ``{"err": {code, msg}}`` and finish; a peer already gone is no error."""
    try:
        await stream.send(encode_error(code, message))
        await stream.finish()
    except TransportError:
        pass


async def serve_streams(conn: Connection, handle: Callable[[MessageStream], Awaitable[None]]) -> None:
    """One task per stream the peer opens, until the connection ends (then the tasks are cancelled)."""
    async with trio.open_nursery() as nursery:
        while True:
            try:
                stream = await conn.accept_stream()
            except TransportError:
                break
            nursery.start_soon(handle, stream)
        nursery.cancel_scope.cancel()
