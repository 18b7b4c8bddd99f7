"""Scheduled re-syncs and the recovery of jobs whose process died."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import timedelta
from typing import Protocol

import structlog
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from porch.knowledge.search.store import table_of
from porch.models import Chunk, Source
from porch.models.base import utcnow

log = structlog.get_logger("porch.jobs")
_SOURCES = table_of(Source)


class Enqueue(Protocol):
    """Where the schedule sends its work (ingestion's tasks, knowledge/ingest/tasks.py)."""

    async def sync(
        self, source_id: uuid.UUID, generation: int, *, take_over: bool = False
    ) -> None: ...

    async def embed(self, widget_id: uuid.UUID) -> None: ...


class Scheduler:
    """Enqueues due re-syncs and takes over abandoned jobs; safe to run in every process
    (a conditional UPDATE decides which process enqueues)."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        jobs: Enqueue,
        *,
        interval: float,
        lease: float,
        embedder_name: str,
    ) -> None:
        self._lease = lease
        self._sessionmaker = sessionmaker
        self._jobs = jobs
        self._interval = interval
        self._embedder = embedder_name
        self._task: asyncio.Task[None] | None = None
        # Set once the start-up recovery has queued what it found.
        self.recovered = asyncio.Event()

    async def recover(self, *, sole_process: bool) -> None:
        """At start: re-queue pending sources, take over running ones whose process is gone
        (all of them when this is the only process), and back-fill missing vectors."""
        now = utcnow()
        async with self._sessionmaker() as session:
            lapsed = or_(_SOURCES.c.lease_until.is_(None), _SOURCES.c.lease_until < now)
            running = _SOURCES.c.status == "running"
            if not sole_process:
                running = running & lapsed
            pending = (
                await session.execute(
                    select(_SOURCES.c.id, _SOURCES.c.generation, _SOURCES.c.status).where(
                        or_(_SOURCES.c.status == "pending", running)
                    )
                )
            ).all()
            widgets: list[uuid.UUID] = []
            if self._embedder:
                widgets = list(
                    (
                        await session.execute(
                            select(Chunk.widget_id)
                            .distinct()
                            .where(
                                ~Chunk.staged,
                                or_(
                                    Chunk.embedding_model.is_(None),
                                    Chunk.embedding_model != self._embedder,
                                ),
                            )
                        )
                    ).scalars()
                )
        for source_id, generation, status in pending:
            if status == "running":
                log.info("job_taken_over", source_id=str(source_id))
            await self._jobs.sync(source_id, generation, take_over=status == "running")
        for widget_id in widgets:
            await self._jobs.embed(widget_id)

    async def tick(self) -> int:
        """Enqueue every source whose scheduled re-sync is due, or whose job went silent."""
        now = utcnow()
        stale = now - timedelta(seconds=self._lease)
        queued = 0
        async with self._sessionmaker() as session:
            due = (
                await session.execute(
                    select(_SOURCES.c.id, _SOURCES.c.generation, _SOURCES.c.status).where(
                        or_(
                            (_SOURCES.c.status.in_(("ready", "failed")))
                            & (_SOURCES.c.schedule != "off")
                            & (_SOURCES.c.next_sync_at <= now),
                            (_SOURCES.c.status == "running") & (_SOURCES.c.lease_until < now),
                            # Queued long ago and never started: its message was lost.
                            (_SOURCES.c.status == "pending") & (_SOURCES.c.updated_at < stale),
                        )
                    )
                )
            ).all()
        for source_id, generation, status in due:
            if status == "pending":
                # Re-queue at most once per lease period, however long the queue is down.
                async with self._sessionmaker() as session, session.begin():
                    await session.execute(
                        update(_SOURCES)
                        .where(_SOURCES.c.id == source_id, _SOURCES.c.status == "pending")
                        .values(updated_at=now)
                    )
            if status in ("running", "pending"):
                await self._jobs.sync(source_id, generation)
                queued += 1
                continue
            async with self._sessionmaker() as session, session.begin():
                result = await session.execute(
                    update(_SOURCES)
                    .where(_SOURCES.c.id == source_id, _SOURCES.c.generation == generation)
                    .values(status="pending", generation=generation + 1, next_sync_at=None)
                )
            if result.rowcount == 1:  # type: ignore[attr-defined]
                await self._jobs.sync(source_id, generation + 1)
                queued += 1
        return queued

    async def ready(self) -> None:
        await self.recovered.wait()

    def start(self, *, sole_process: bool) -> None:
        self._task = asyncio.create_task(self._loop(sole_process), name="porch-scheduler")

    async def _loop(self, sole_process: bool) -> None:
        try:
            await self.recover(sole_process=sole_process)
        except Exception:
            log.exception("recovery_failed")
        finally:
            self.recovered.set()
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.tick()
            except Exception:
                log.exception("scheduler_tick_failed")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
