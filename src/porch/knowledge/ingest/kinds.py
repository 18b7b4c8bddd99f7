"""The three kinds of fetched source: a crawled site, a sitemap, an uploaded file."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import structlog

from porch.knowledge.ingest import documents, sitemap
from porch.knowledge.ingest.crawl import Frontier, Robots, Visit, crawl
from porch.knowledge.ingest.extract import Extracted, extract_html
from porch.knowledge.ingest.fetch import Fetcher, FetchError, Response
from porch.knowledge.ingest.leases import (
    Known,
    Outcome,
    Runtime,
    SourceInfo,
    SyncAborted,
    claim,
    release,
)
from porch.knowledge.ingest.sync import Sync
from porch.knowledge.ingest.urls import DOCUMENTS, Scope, normalize, site_of, suffix
from porch.models import SourceFile

log = structlog.get_logger("porch.ingest")
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", ""})
DOCUMENT_TYPES = {
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "text/markdown": "markdown",
    "text/plain": "text",
}


class WebSync(Sync):
    """Fetching pages over HTTP: shared by crawls and sitemaps."""

    def __init__(self, rt: Runtime, info: SourceInfo) -> None:
        super().__init__(rt, info)
        self.fetcher = Fetcher(rt.settings)
        self.robots = Robots(self.fetcher)
        config = info.config.get("crawl") or {}
        self.max_pages = min(
            int(config.get("max_pages") or rt.settings.crawl_max_pages), rt.settings.crawl_max_pages
        )
        self.scope = Scope(
            site_of(info.url or ""),
            tuple(config.get("include") or ()),
            tuple(config.get("exclude") or ()),
        )
        self.frontier = Frontier(self.scope, self.max_pages, int(config.get("max_depth", 5)))
        self.start = normalize(info.url or "")

    def progress(self) -> float:
        return self.frontier.progress

    async def run(self) -> str:
        try:
            return await super().run()
        finally:
            await self.fetcher.aclose()

    def failed(self, url: str, depth: int, exc: FetchError) -> None:
        if exc.reason in ("redirect_to_known_page", "redirected_out_of_scope"):
            self.skips[exc.reason] += 1  # not a page of its own: no row, no error
            return
        known = self.known.get(url)
        gone = exc.status in (404, 410) and known is not None and known.status == "stored"
        self.record(
            Outcome(
                url,
                self.page_id(url),
                "gone" if gone else "failed",
                reason=exc.reason,
                http_status=exc.status,
                depth=depth,
            )
        )
        if url == self.start:
            self.fatal = f"{url}: {exc}"
            self.complete = False

    async def visit(self, item: Visit) -> list[str]:
        """Fetch one page (conditionally, when a stored copy exists) and keep what changed;
        returns the links to follow from it."""
        url, depth = item.url, item.depth
        if not await self._allowed(url, depth):
            return []
        known = self.known.get(url)
        resp = await self._fetch(url, depth, known)
        if resp is None:
            return []
        final = normalize(resp.url)
        if final != url:
            if url == self.start:
                self.start = final
            url, known = final, self.known.get(final)
        if resp.not_modified and known is not None:
            return await self._unchanged(url, depth, known)
        return await self._changed(url, depth, resp)

    async def _allowed(self, url: str, depth: int) -> bool:
        """robots.txt allows the page (the site's pace is kept before fetching it)."""
        if not await self.robots.allowed(url):
            self.record(Outcome(url, self.page_id(url), "skipped", reason="robots", depth=depth))
            if url == self.start:
                self.fatal = "robots.txt does not allow porch to fetch the start page."
            return False
        await self.robots.pace(url)
        return True

    async def _fetch(self, url: str, depth: int, known: Known | None) -> Response | None:
        """The page, following redirects within scope; None when fetching failed."""
        validators = known is not None and known.status == "stored"

        def follow(target: str) -> str | None:
            target = normalize(target)
            if self.scope.verdict(target) is not None:
                return "redirected_out_of_scope"
            return None if self.frontier.claim(target) else "redirect_to_known_page"

        try:
            return await self.fetcher.get(
                url,
                etag=known.etag if validators and known else None,
                last_modified=known.last_modified if validators and known else None,
                follow=follow,
            )
        except FetchError as exc:
            self.failed(url, depth, exc)
            await self.beat()
            return None

    async def _unchanged(self, url: str, depth: int, known: Known) -> list[str]:
        """A 304: the stored copy stands, links included."""
        self.record(
            Outcome(
                url,
                known.id,
                "unchanged",
                depth=depth,
                title=known.title,
                http_status=304,
                etag=known.etag,
                last_modified=known.last_modified,
                content_hash=known.content_hash,
                links=known.links,
            )
        )
        self.hashes.setdefault(known.content_hash or url, url)
        await self.beat()
        return known.links

    async def _changed(self, url: str, depth: int, resp: Response) -> list[str]:
        """Extract the page (under its canonical URL, once) and stage its passages."""
        page = await self.extract(url, resp)
        if page is None:
            self.record(
                Outcome(
                    url,
                    self.page_id(url),
                    "skipped",
                    depth=depth,
                    reason=f"unsupported_type:{resp.content_type}"[:120],
                    http_status=resp.status,
                )
            )
            return []
        links = [normalize(link) for link in page.links]
        if page.canonical:
            canonical = normalize(page.canonical)
            if canonical != url and self.scope.verdict(canonical) is None:
                if not self.frontier.claim(canonical):
                    self.skips["duplicate_canonical"] += 1
                    return links
                url = canonical
        page.links = links
        fetched = {
            "http_status": resp.status,
            "etag": resp.headers.get("etag"),
            "last_modified": resp.headers.get("last-modified"),
        }
        await self.accept(url, depth, page, fetched)
        return [] if page.nofollow else links

    async def extract(self, url: str, resp: Response) -> Extracted | None:
        ctype = resp.content_type
        kind = DOCUMENT_TYPES.get(ctype)
        if kind is None and ctype in ("application/octet-stream", "") and suffix(url) in DOCUMENTS:
            kind = suffix(url)[1:]
        if kind is None and ctype in HTML_TYPES:
            return await asyncio.to_thread(extract_html, resp.body, url)
        if kind is None:
            return None
        name = url.rstrip("/").rsplit("/", 1)[-1] or "document"
        try:
            real = documents.sniff(resp.body, name if "." in name else f"{name}.{kind}")
            return await asyncio.to_thread(documents.convert, resp.body, real, name)
        except documents.UnsupportedDocument:
            return None


class CrawlSync(WebSync):
    async def collect(self) -> None:
        self.frontier.offer(self.start, 0)
        await crawl(self.frontier, self.visit, concurrency=self.rt.settings.crawl_concurrency)
        self.skips.update(self.frontier.skipped)
        if self.frontier.skipped.get("max_pages"):
            # Pages beyond the limit were not looked at: they did not vanish.
            self.complete = False


class SitemapSync(WebSync):
    async def collect(self) -> None:
        try:
            found = await sitemap.entries(
                self.fetcher,
                self.start,
                limit=self.max_pages,
                max_bytes=self.rt.settings.crawl_page_max_bytes,
            )
        except sitemap.SitemapError as exc:
            self.fatal, self.complete = str(exc), False
            return
        todo: list[Visit] = []
        for entry in found:
            known = self.known.get(entry.url)
            if (
                known is not None
                and known.status == "stored"
                and _not_newer(entry.lastmod, known.fetched_at)
            ):
                # The sitemap says it has not changed since we fetched it.
                self.record(
                    Outcome(
                        entry.url,
                        known.id,
                        "unchanged",
                        title=known.title,
                        etag=known.etag,
                        last_modified=known.last_modified,
                        content_hash=known.content_hash,
                        links=known.links,
                    )
                )
                self.frontier.claim(entry.url)
                continue
            if self.frontier.claim(entry.url):
                todo.append(Visit(entry.url, 0))
        self.frontier.queue.extend(todo)
        self.frontier.max_depth = 0  # a sitemap lists pages; their links are not followed
        self.start = ""

        async def visit(item: Visit) -> list[str]:
            await self.visit(item)
            return []

        await crawl(self.frontier, visit, concurrency=self.rt.settings.crawl_concurrency)


def _not_newer(lastmod: str | None, fetched_at: Any) -> bool:
    if not lastmod or fetched_at is None:
        return False
    try:
        when = datetime.fromisoformat(lastmod.replace("Z", "+00:00"))
    except ValueError:
        return False
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return bool(when <= fetched_at)


class FileSync(Sync):
    async def collect(self) -> None:
        async with self.rt.sessionmaker() as session:
            stored = await session.get(SourceFile, self.info.id)
            if stored is None:
                self.fatal = "The uploaded file is missing."
                return
            data, kind, name = stored.content, stored.kind, stored.filename
        url = f"upload:{name}"
        try:
            page = await asyncio.to_thread(documents.convert, data, kind, name)
        except documents.UnsupportedDocument as exc:
            self.fatal = str(exc)
            self.record(Outcome(url, self.page_id(url), "failed", reason="unreadable"))
            return
        if self.info.title:
            # The source's title (the owner's, or the file's name without extension) is
            # what the dashboard lists; visitors' source links show the same.
            page.title = self.info.title
        await self.accept(url, 0, page, {})

    def chunk_url(self, url: str, anchor: str = "") -> str | None:
        return None


SYNCS: dict[str, type[Sync]] = {"url": CrawlSync, "sitemap": SitemapSync, "file": FileSync}


async def run_sync(
    rt: Runtime, source_id: uuid.UUID, generation: int, *, take_over: bool = False
) -> str:
    """Claim and sync one source. Returns the outcome ("ready", "failed", or "skipped" when
    another job has it or a newer sync was requested). Errors propagate for a retry."""
    info = await claim(rt, source_id, generation, take_over=take_over)
    if info is None:
        log.info("sync_not_claimed", source_id=str(source_id), generation=generation)
        return "skipped"
    log.info("sync_started", source_id=str(source_id), type=info.type, generation=generation)
    kind = SYNCS.get(info.type)
    if kind is None:
        await release(rt, info, failed=f"sources of type {info.type} are not synced")
        return "failed"
    try:
        return await kind(rt, info).run()
    except SyncAborted:
        return "skipped"
    except BaseException:
        await asyncio.shield(release(rt, info, failed=None))
        raise
