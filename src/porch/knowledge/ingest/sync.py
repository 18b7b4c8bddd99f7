"""Syncing one source: fetch, extract, chunk and embed what changed, then publish at once.

A sync writes its new passages as *staged* (invisible) rows while it runs, and publishes
them in one transaction at the end, together with the removal of the passages they
replace and of pages that vanished: search sees the old source or the new one, never a
mix. A sync is idempotent: an interrupted one is simply run again (unchanged pages cost
a conditional GET each).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from porch.embeddings.vectors import encode_many
from porch.ids import uuid7
from porch.knowledge.ingest.chunking import chunk, embedding_input
from porch.knowledge.ingest.extract import Extracted
from porch.knowledge.ingest.leases import (
    Known,
    Outcome,
    Runtime,
    SourceInfo,
    SyncAborted,
    next_sync,
)
from porch.knowledge.search import store
from porch.knowledge.search.store import table_of
from porch.models import Chunk, Page, Source
from porch.models.base import utcnow

log = structlog.get_logger("porch.ingest")
STAGE_BATCH = 64  # passages embedded and written together
BEAT_SECONDS = 2.0
MAX_ERRORS_SHOWN = 20
MAX_CHUNKS_PER_PAGE = 500  # about 55,000 words


class Sync:
    """One run over one source. Subclasses (crawl, sitemap, file) produce the outcomes."""

    def __init__(self, rt: Runtime, info: SourceInfo) -> None:
        self.rt = rt
        self.info = info
        self.known: dict[str, Known] = {}
        self.outcomes: dict[str, Outcome] = {}
        self.hashes: dict[str, str] = {}
        self.skips: Counter[str] = Counter()
        self.complete = True  # False when the sync could not see the whole source
        self.fatal: str | None = None
        self._pending: list[tuple[Outcome, list[store.NewChunk], list[str]]] = []
        self._stage_lock = asyncio.Lock()
        self._last_beat = 0.0
        self._position = 0

    # -- to be provided by each kind of source ------------------------------------------
    async def collect(self) -> None:
        raise NotImplementedError

    def progress(self) -> float:
        return 0.5

    # -- shared machinery ---------------------------------------------------------------
    def owned(self) -> Any:
        """SQL condition: this job still holds the source (not deleted, re-queued or taken)."""
        table = table_of(Source)
        return (
            (table.c.id == self.info.id)
            & (table.c.lease_owner == self.info.owner)
            & (table.c.status == "running")
        )

    async def run(self) -> str:
        async with self.rt.sessionmaker() as session, session.begin():
            await store.discard_staged(session, self.info.id)
            rows = (
                await session.execute(select(Page).where(Page.source_id == self.info.id))
            ).scalars()
            for p in rows:
                self.known[p.url] = Known(
                    p.id,
                    p.status,
                    p.etag,
                    p.last_modified,
                    p.content_hash,
                    list(p.links or []),
                    p.fetched_at,
                    p.title,
                )
        await self.collect()
        await self.flush()
        return await self.publish()

    def page_id(self, url: str) -> uuid.UUID:
        known = self.known.get(url)
        return known.id if known is not None else uuid7()

    def record(self, outcome: Outcome) -> None:
        self.outcomes[outcome.url] = outcome
        if outcome.status in ("skipped", "failed", "gone") and outcome.reason:
            self.skips[outcome.reason] += 1

    async def accept(
        self, url: str, depth: int, page: Extracted, fetched: dict[str, Any]
    ) -> Outcome:
        """A fetched page's text: unchanged, duplicate, empty, or chunked and staged."""
        base = Outcome(
            url,
            self.page_id(url),
            "stored",
            depth=depth,
            title=page.title,
            links=page.links,
            **fetched,
        )
        if page.noindex:
            base.status, base.reason = "skipped", "noindex"
        elif not page.text.strip():
            base.status, base.reason = "skipped", "no_text"
        else:
            digest = page.content_hash
            base.content_hash = digest
            first = self.hashes.setdefault(digest, url)
            known = self.known.get(url)
            if first != url:
                base.status, base.reason = "skipped", f"duplicate_of:{first}"[:300]
            elif known is not None and known.content_hash == digest and known.status == "stored":
                base.status = "unchanged"
            else:
                pieces = chunk(page.text)
                if len(pieces) > MAX_CHUNKS_PER_PAGE:
                    # A "page" this long is a log or a data dump, not documentation.
                    pieces = pieces[:MAX_CHUNKS_PER_PAGE]
                    self.skips["truncated"] += 1
                rows = [
                    store.NewChunk(
                        page.title or self.info.title,
                        p.heading,
                        self.chunk_url(url, p.anchor),
                        p.text,
                        base.page_id,
                    )
                    for p in pieces
                ]
                texts = [embedding_input(r.title, r.heading, r.text) for r in rows]
                base.changed, base.chunks = True, len(rows)
                if not rows:
                    base.status, base.reason, base.changed = "skipped", "no_text", False
                else:
                    await self.stage(base, rows, texts)
        self.record(base)
        await self.beat()
        return base

    def chunk_url(self, url: str, anchor: str = "") -> str | None:
        """Where a passage links to: its page, at its section when the section has an id."""
        return f"{url}#{anchor}" if anchor else url

    async def stage(self, outcome: Outcome, rows: list[store.NewChunk], texts: list[str]) -> None:
        self._pending.append((outcome, rows, texts))
        if sum(len(r) for _, r, _ in self._pending) >= STAGE_BATCH:
            await self.flush()

    async def flush(self) -> None:
        """Embed and write the buffered passages as staged rows, a slice at a time: each
        slice renews the lease, so a page with thousands of passages never looks dead."""
        async with self._stage_lock:
            batch, self._pending = self._pending, []
            rows = [r for _, rs, _ in batch for r in rs]
            texts = [t for _, _, ts in batch for t in ts]
            for start in range(0, len(rows), STAGE_BATCH):
                await self._write(
                    rows[start : start + STAGE_BATCH], texts[start : start + STAGE_BATCH]
                )

    async def _write(self, rows: list[store.NewChunk], texts: list[str]) -> None:
        embedder = self.rt.embedder
        if embedder.enabled:
            vectors = encode_many(await embedder.embed_passages(texts))
            rows = [
                store.NewChunk(r.title, r.heading, r.url, r.text, r.page_id, v)
                for r, v in zip(rows, vectors, strict=True)
            ]
        async with self.rt.sessionmaker() as session, session.begin():
            # Checked in the same transaction: a job that lost its lease writes nothing.
            held = await session.execute(
                update(table_of(Source))
                .where(self.owned())
                .values(
                    lease_until=utcnow() + timedelta(seconds=self.rt.settings.job_lease_seconds)
                )
            )
            if held.rowcount != 1:  # type: ignore[attr-defined]
                raise SyncAborted(str(self.info.id))
            await store.insert_chunks(
                session,
                workspace_id=self.info.workspace_id,
                widget_id=self.info.widget_id,
                source_id=self.info.id,
                rows=rows,
                model=embedder.name if embedder.enabled else None,
                staged=True,
                first_position=self._position,
            )
        self._position += len(rows)

    def stats(self) -> dict[str, Any]:
        counts = Counter(o.status for o in self.outcomes.values())
        errors = [
            {"url": o.url, "reason": o.reason}
            for o in self.outcomes.values()
            if o.status in ("failed", "gone")
        ][:MAX_ERRORS_SHOWN]
        return {
            "seen": len(self.outcomes),
            "stored": counts["stored"],
            "unchanged": counts["unchanged"],
            "skipped": counts["skipped"],
            "failed": counts["failed"] + counts["gone"],
            "skip_reasons": {k.split(":", 1)[0]: v for k, v in self.skips.items()},
            "errors": errors,
        }

    async def beat(self, *, force: bool = False) -> None:
        """Renew the lease and show progress; stop if the source went away meanwhile."""
        now = time.monotonic()
        if not force and now - self._last_beat < BEAT_SECONDS:
            return
        self._last_beat = now
        table = table_of(Source)
        stats = self.stats()
        async with self.rt.sessionmaker() as session, session.begin():
            result = await session.execute(
                update(table)
                .where(self.owned())
                .values(
                    lease_until=utcnow() + timedelta(seconds=self.rt.settings.job_lease_seconds),
                    progress=round(self.progress(), 3),
                    stats=stats,
                )
            )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise SyncAborted(str(self.info.id))

    async def publish(self) -> str:
        """Swap old for new in one transaction and record every page's state."""
        removed = []
        if self.complete:
            removed = [k for url, k in self.known.items() if url not in self.outcomes]
        gone = [o for o in self.outcomes.values() if o.status == "gone"]
        replaced = {
            o.page_id
            for o in self.outcomes.values()
            if o.changed or o.status in ("gone", "skipped")
        }
        replaced |= {k.id for k in removed}
        kept = [o for o in self.outcomes.values() if o.status in ("stored", "unchanged")]
        had_content = any(k.status == "stored" for k in self.known.values())
        status, error = "ready", None
        if not kept and (self.fatal or not had_content):
            status, error = "failed", self.fatal or "No page could be stored."
        now = utcnow()
        stats = {
            **self.stats(),
            "removed": len(gone) + sum(1 for k in removed if k.status == "stored"),
        }
        async with self.rt.sessionmaker() as session, session.begin():
            table = table_of(Source)
            result = await session.execute(
                update(table)
                .where(self.owned())
                .values(
                    status=status,
                    error=error,
                    progress=1.0,
                    lease_until=None,
                    lease_owner=None,
                    stats=stats,
                    last_synced_at=now,
                    updated_at=now,
                    next_sync_at=next_sync(self.info.schedule, now),
                )
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise SyncAborted(str(self.info.id))
            await store.publish(
                session,
                self.rt.keywords,
                widget_id=self.info.widget_id,
                source_id=self.info.id,
                replaced_pages=replaced,
            )
            await self._write_pages(
                session, removed + [self.known[o.url] for o in gone if o.url in self.known], now
            )
            counts = (
                await session.execute(
                    select(func.count(Chunk.id)).where(Chunk.source_id == self.info.id)
                )
            ).scalar_one()
            await session.execute(
                update(table)
                .where(table.c.id == self.info.id)
                .values(chunks=int(counts), pages=len(kept))
            )
        log.info(
            "source_synced",
            source_id=str(self.info.id),
            status=status,
            **{k: v for k, v in stats.items() if isinstance(v, int)},
        )
        return status

    async def _write_pages(self, session: AsyncSession, drop: Sequence[Known], now: Any) -> None:
        pages = table_of(Page)
        drop_ids = [k.id for k in drop]
        for start in range(0, len(drop_ids), 500):
            await session.execute(
                pages.delete().where(pages.c.id.in_(drop_ids[start : start + 500]))
            )
        for o in self.outcomes.values():
            if o.status == "gone":
                continue
            known = self.known.get(o.url)
            values: dict[str, Any] = {
                "title": (o.title or (known.title if known else ""))[:300],
                "status": o.status if o.status != "unchanged" else "stored",
                "reason": o.reason,
                "http_status": o.http_status,
                "depth": o.depth,
                "updated_at": now,
            }
            if o.status in ("stored", "unchanged"):
                values.update(
                    etag=o.etag,
                    last_modified=o.last_modified,
                    content_hash=o.content_hash,
                    links=o.links,
                    fetched_at=now,
                )
                if o.changed:
                    values["chunks"] = o.chunks
            elif o.status == "skipped":
                values.update(content_hash=None, chunks=0, links=o.links)
            if known is None:
                await session.execute(
                    pages.insert().values(
                        id=o.page_id,
                        workspace_id=self.info.workspace_id,
                        source_id=self.info.id,
                        url=o.url[:2048],
                        created_at=now,
                        chunks=values.pop("chunks", 0),
                        links=values.pop("links", []),
                        **values,
                    )
                )
            else:
                # A failed fetch keeps the page's last good content and its validators.
                await session.execute(pages.update().where(pages.c.id == known.id).values(**values))
