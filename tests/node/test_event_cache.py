"""The node's cache of encoded subscription pages (``Node._entries_event``): subscribers at the same
cursor share one encoding, and a group's commit drops the pages of before, so the cache holds the
current generation of each group only, within its explicit bounds, however long the group lives."""

from __future__ import annotations

from contextlib import aclosing
from pathlib import Path

import trio

from holdspace.clients.client import NodeSession
from holdspace.node.server import EVENT_CACHE_GROUPS, EVENT_CACHE_PAGES, Node
from holdspace.protocol import kinds

from .conftest import circle


def _pages(node: Node, group: bytes) -> tuple[int, int]:
    generation, pages = node._event_cache[group]
    return generation, len(pages)


async def test_a_commit_drops_the_pages_of_before(tmp_path: Path) -> None:
    assert EVENT_CACHE_GROUPS * EVENT_CACHE_PAGES <= 4096
    async with circle(tmp_path, spare=1) as c:
        await c.ana.sync(c.spare[0], c.g_ana)  # the second session authenticates ana too

        async def follow(s: NodeSession, want: int) -> None:
            async with aclosing(s.subscribe(c.g_ana.group_id, 0)) as live:
                async for got in live:
                    if any(r.cursor >= want for r in got if r.entry.kind == kinds.MESSAGE):
                        return

        for i in range(12):  # two subscribers at one cursor, then a commit, twelve times over
            await c.fay.send(c.s_fay, c.group, f"message {i}")
            want = c.node.store.last_cursor(c.g_ana.group_id)
            with trio.fail_after(10):
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(follow, c.s_ana, want)
                    nursery.start_soon(follow, c.spare[0], want)
            generation, pages = _pages(c.node, c.g_ana.group_id)
            assert generation == c.node.generation(c.g_ana.group_id)  # nothing kept of an older one
            assert 1 <= pages <= EVENT_CACHE_PAGES
        assert len(c.node._event_cache) <= EVENT_CACHE_GROUPS
