"""Crawl progress counts pages read, not pages started: the first page in flight is 0%,
never 99%, and the figure grows as pages finish."""

from __future__ import annotations

import asyncio

from porch.knowledge.ingest.crawl import Frontier, Visit, crawl
from porch.knowledge.ingest.urls import Scope, site_of

SITE = "https://docs.example"


async def test_progress_grows_with_pages_read() -> None:
    frontier = Frontier(Scope(site_of(SITE)), max_pages=10, max_depth=3)
    frontier.offer(f"{SITE}/", 0)
    seen: list[float] = []
    links = {f"{SITE}/": [f"{SITE}/{n}" for n in range(4)]}

    async def visit(item: Visit) -> list[str]:
        seen.append(frontier.progress)  # as a heartbeat during this page would show it
        await asyncio.sleep(0)
        return links.get(item.url, [])

    await crawl(frontier, visit, concurrency=1)
    assert seen[0] == 0.0  # the first page is being read: nothing done yet
    assert seen == sorted(seen) and 0 < seen[1] < 0.5
    assert frontier.finished == 5
    assert frontier.progress == 0.99  # done only when the sync publishes
