"""Ingestion on the job queue: syncing a source, back-filling vectors, and the re-sync schedule.

Each task is idempotent (a sync runs only for the source generation it was queued for, and
claims the source first), retries transient failures with exponential backoff by queueing
itself again (the slot is free while it waits), and leaves the source `failed` with a
message when it gives up.
"""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import update

from porch.jobs.queue import Jobs, attempt_or_retry
from porch.knowledge.ingest.backfill import embed_missing
from porch.knowledge.ingest.leases import Runtime
from porch.knowledge.ingest.schedule import Scheduler
from porch.knowledge.search.store import table_of
from porch.models import Source
from porch.models.base import utcnow

SYNC_TASK = "porch.sync_source"
EMBED_TASK = "porch.embed_widget"


async def _give_up(rt: Runtime, source_id: uuid.UUID, generation: int) -> None:
    table = table_of(Source)
    async with rt.sessionmaker() as session, session.begin():
        await session.execute(
            update(table)
            .where(table.c.id == source_id, table.c.generation == generation)
            .values(
                status="failed",
                lease_until=None,
                error="The sync kept failing; it will be retried at the next re-sync.",
                updated_at=utcnow(),
            )
        )


class Ingest:
    """Registers ingestion's tasks and schedule on the queue; enqueues syncs and back-fills."""

    def __init__(self, jobs: Jobs, rt: Runtime) -> None:
        self.jobs = jobs
        self.runtime = rt
        self._register(rt, asyncio.Semaphore(rt.settings.jobs_concurrency))
        self.scheduler = Scheduler(
            rt.sessionmaker,
            self,
            interval=rt.settings.job_check_seconds,
            lease=rt.settings.job_lease_seconds,
            embedder_name=rt.embedder.name,
        )
        jobs.run_alongside(self.scheduler)

    def _register(self, rt: Runtime, slots: asyncio.Semaphore) -> None:
        """The task functions, bound to this process's runtime (no module-level state)."""

        async def sync_source(
            source_id: str, generation: int, take_over: bool = False, attempt: int = 1
        ) -> None:
            # The crawler and the document readers (trafilatura, lxml, markitdown: about
            # 0.3 s) are imported by the first sync, not at start-up.
            from porch.knowledge.ingest.kinds import run_sync

            sid = uuid.UUID(source_id)
            async with slots:
                # A retry claims what the failed attempt released; only a first may take over.
                done = await attempt_or_retry(
                    self.jobs,
                    SYNC_TASK,
                    lambda: run_sync(rt, sid, generation, take_over=take_over and attempt == 1),
                    (source_id, generation, False),
                    attempt,
                )
                if done is False:
                    await _give_up(rt, sid, generation)

        async def embed_widget(widget_id: str, attempt: int = 1) -> None:
            wid = uuid.UUID(widget_id)
            async with slots:
                await attempt_or_retry(
                    self.jobs, EMBED_TASK, lambda: embed_missing(rt, wid), (widget_id,), attempt
                )

        self.jobs.register(SYNC_TASK, sync_source)
        self.jobs.register(EMBED_TASK, embed_widget)

    async def sync(self, source_id: uuid.UUID, generation: int, *, take_over: bool = False) -> None:
        await self.jobs.enqueue(SYNC_TASK, str(source_id), generation, take_over)

    async def embed(self, widget_id: uuid.UUID) -> None:
        await self.jobs.enqueue(EMBED_TASK, str(widget_id))
