"""The crawl: breadth-first from a start page, within scope, robots.txt and page limits."""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from protego import Protego

from porch.knowledge.ingest.fetch import Fetcher, FetchError
from porch.knowledge.ingest.urls import Scope, normalize

ROBOTS_AGENT = "porch"
ROBOTS_MAX_BYTES = 512 * 1024
MAX_CRAWL_DELAY = 10.0


class Robots:
    """robots.txt per origin (RFC 9309): missing means allowed, unreachable means not."""

    def __init__(self, fetcher: Fetcher) -> None:
        self._fetcher = fetcher
        self._rules: dict[str, Protego | bool] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._last: dict[str, float] = {}

    async def _for(self, url: str) -> Protego | bool:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin in self._rules:
            return self._rules[origin]
        async with self._locks.setdefault(origin, asyncio.Lock()):
            if origin not in self._rules:
                self._rules[origin] = await self._fetch(origin)
        return self._rules[origin]

    async def _fetch(self, origin: str) -> Protego | bool:
        try:
            resp = await self._fetcher.get(
                origin + "/robots.txt", max_bytes=ROBOTS_MAX_BYTES, accept="text/plain"
            )
        except FetchError as exc:
            if exc.status is not None and 400 <= exc.status < 500:
                return True  # no robots.txt: everything is allowed
            # Unreachable (5xx, timeouts) means "disallow all" until next time; too big, "allow".
            return exc.reason == "too_large"
        try:
            return Protego.parse(resp.body.decode("utf-8", errors="replace"))
        except Exception:  # a robots.txt protego cannot parse is treated as absent
            return True

    async def allowed(self, url: str) -> bool:
        rules = await self._for(url)
        if isinstance(rules, bool):
            return rules
        return bool(rules.can_fetch(url, ROBOTS_AGENT))

    async def pace(self, url: str) -> None:
        """Wait out the site's Crawl-delay, if it sets one."""
        rules = await self._for(url)
        if isinstance(rules, bool):
            return
        delay = rules.crawl_delay(ROBOTS_AGENT)
        if not delay:
            return
        host = urlsplit(url).netloc
        async with self._locks.setdefault("pace:" + host, asyncio.Lock()):
            wait = self._last.get(host, 0.0) + min(float(delay), MAX_CRAWL_DELAY) - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._last[host] = time.monotonic()

    async def sitemaps(self, url: str) -> list[str]:
        rules = await self._for(url)
        return [] if isinstance(rules, bool) else list(rules.sitemaps)


@dataclass(frozen=True)
class Visit:
    url: str
    depth: int


@dataclass
class Frontier:
    """URLs to visit, each once, breadth-first, within scope and limits."""

    scope: Scope
    max_pages: int
    max_depth: int
    seen: set[str] = field(default_factory=set)
    queue: deque[Visit] = field(default_factory=deque)
    dispatched: int = 0
    finished: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    def offer(self, url: str, depth: int) -> None:
        url = normalize(url)
        if url in self.seen:
            return
        self.seen.add(url)
        reason = self.scope.verdict(url)
        if reason is None and depth > self.max_depth:
            reason = "too_deep"
        if reason is not None:
            self.skipped[reason] += 1
            return
        self.queue.append(Visit(url, depth))

    def claim(self, url: str) -> bool:
        """Mark a URL (say a page's canonical form) as visited; False if it already was."""
        url = normalize(url)
        if url in self.seen:
            return False
        self.seen.add(url)
        return True

    def next(self) -> Visit | None:
        if self.dispatched >= self.max_pages:
            if self.queue:
                self.skipped["max_pages"] += len(self.queue)
                self.queue.clear()
            return None
        if not self.queue:
            return None
        self.dispatched += 1
        return self.queue.popleft()

    @property
    def progress(self) -> float:
        """Pages read of pages known so far. Counting pages finished, not started: counting
        the first page when it started showed 99% before anything was read."""
        expected = min(self.max_pages, self.dispatched + len(self.queue)) or 1
        return min(0.99, self.finished / expected)


VisitFn = Callable[[Visit], Coroutine[Any, Any, list[str]]]


async def crawl(frontier: Frontier, visit: VisitFn, *, concurrency: int) -> None:
    """Run `visit` over the frontier with `concurrency` pages in flight; links it returns
    are offered one level deeper. A visit that raises stops the crawl (after the others)."""
    active: set[asyncio.Task[list[str]]] = set()
    depth_of: dict[asyncio.Task[list[str]], int] = {}
    try:
        while True:
            while len(active) < concurrency and (item := frontier.next()) is not None:
                task = asyncio.create_task(visit(item))
                active.add(task)
                depth_of[task] = item.depth
            if not active:
                return
            done, _ = await asyncio.wait(active, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                active.discard(task)
                frontier.finished += 1
                depth = depth_of.pop(task)
                for link in task.result():
                    frontier.offer(link, depth + 1)
    finally:
        for task in active:
            task.cancel()
        if active:
            await asyncio.gather(*active, return_exceptions=True)
