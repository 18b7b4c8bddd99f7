"""The job queue: taskiq's in-process broker embedded, a Redis list with `porch worker` at scale.

The same two tasks run either way. Each is idempotent (a sync runs only for the source
generation it was queued for, and claims the source first), retries transient failures
with exponential backoff, and leaves the source `failed` with a message when it gives up.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from taskiq import AsyncBroker, InMemoryBroker
from taskiq.kicker import AsyncKicker

from porch.knowledge.ingest.backfill import embed_missing
from porch.knowledge.ingest.kinds import run_sync
from porch.knowledge.ingest.leases import Runtime
from porch.knowledge.ingest.schedule import Scheduler
from porch.knowledge.search.store import table_of
from porch.models import Source
from porch.models.base import utcnow
from porch.webhooks import delivery as webhook_delivery

log = structlog.get_logger("porch.jobs")
SYNC_TASK = "porch.sync_source"
EMBED_TASK = "porch.embed_widget"
QUEUE_NAME = "porch:jobs"
ATTEMPTS = 4
BASE_DELAY = 2.0


async def with_retries(name: str, run: Callable[[], Awaitable[Any]], **context: str) -> bool:
    """Run `run`, retrying failures with exponential backoff and jitter; False if it gave up."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            await run()
            return True
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if attempt == ATTEMPTS:
                log.exception("job_failed", job=name, attempts=attempt, **context)
                return False
            delay = min(60.0, BASE_DELAY * 2 ** (attempt - 1)) * (0.5 + random.random())  # noqa: S311
            log.warning(
                "job_retry",
                job=name,
                attempt=attempt,
                error=type(exc).__name__,
                delay=delay,
                **context,
            )
            await asyncio.sleep(delay)
    return False


async def _give_up(rt: Runtime, source_id: uuid.UUID, generation: int) -> None:
    from sqlalchemy import update

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


def register_tasks(broker: AsyncBroker, rt: Runtime, concurrency: int) -> None:
    """The task functions, bound to this process's runtime (no module-level state)."""
    slots = asyncio.Semaphore(concurrency)

    async def sync_source(source_id: str, generation: int, take_over: bool = False) -> None:
        sid = uuid.UUID(source_id)
        async with slots:
            first = True

            async def attempt() -> None:
                nonlocal first
                # Only the first attempt may take over; retries claim what they released.
                await run_sync(rt, sid, generation, take_over=take_over and first)
                first = False

            if not await with_retries(SYNC_TASK, attempt, source_id=source_id):
                await _give_up(rt, sid, generation)

    async def embed_widget(widget_id: str) -> None:
        wid = uuid.UUID(widget_id)
        async with slots:
            await with_retries(EMBED_TASK, lambda: embed_missing(rt, wid), widget_id=widget_id)

    broker.register_task(sync_source, task_name=SYNC_TASK)
    broker.register_task(embed_widget, task_name=EMBED_TASK)
    # Webhook deliveries share the queue, and `porch worker`, with ingestion.
    webhook_delivery.register(broker, rt.settings, rt.sessionmaker)


class Jobs:
    """Enqueue side of the queue, plus (embedded) the in-process execution."""

    def __init__(self, broker: AsyncBroker, rt: Runtime, *, in_process: bool) -> None:
        self.broker = broker
        self.runtime = rt
        self.in_process = in_process
        self.scheduler: Scheduler | None = None

    async def sync(self, source_id: uuid.UUID, generation: int, *, take_over: bool = False) -> None:
        kicker: AsyncKicker[Any, Any] = AsyncKicker(SYNC_TASK, self.broker, {})
        await kicker.kiq(str(source_id), generation, take_over)

    async def embed(self, widget_id: uuid.UUID) -> None:
        kicker: AsyncKicker[Any, Any] = AsyncKicker(EMBED_TASK, self.broker, {})
        await kicker.kiq(str(widget_id))

    async def depth(self) -> int:
        """Jobs waiting: the Redis list's length at scale, jobs in flight embedded."""
        if isinstance(self.broker, InMemoryBroker):
            return len(self.broker._running_tasks)
        from redis.asyncio import Redis

        pool = getattr(self.broker, "connection_pool", None)
        async with Redis(connection_pool=pool) as redis:
            return int(await redis.llen(QUEUE_NAME))

    async def drain(self) -> None:
        """Wait until in-process jobs (and jobs they started) are done: for tests and shutdown."""
        if self.scheduler is not None:
            await self.scheduler.recovered.wait()
        if isinstance(self.broker, InMemoryBroker):
            while self.broker._running_tasks:
                await self.broker.wait_all()

    async def start(self, *, schedule: bool = True) -> None:
        """Connect the broker; with `schedule`, also run re-syncs and recovery in this process."""
        await self.broker.startup()
        if schedule:
            self.scheduler = Scheduler(
                self.runtime.sessionmaker,
                self,
                interval=self.runtime.settings.job_check_seconds,
                lease=self.runtime.settings.job_lease_seconds,
                embedder_name=self.runtime.embedder.name,
            )
            # Embedded, this process is the only one running jobs: whatever is still marked
            # running was left by a process that died, and is taken over at once.
            self.scheduler.start(sole_process=self.in_process)

    async def aclose(self) -> None:
        if self.scheduler is not None:
            await self.scheduler.aclose()
        if isinstance(self.broker, InMemoryBroker):
            for task in list(self.broker._running_tasks):
                task.cancel()
            await asyncio.gather(*self.broker._running_tasks, return_exceptions=True)
        await self.broker.shutdown()


def build_jobs(rt: Runtime) -> Jobs:
    """In-process jobs unless the settings put them on Redis (see PORCH_JOBS_QUEUE)."""
    settings = rt.settings
    broker: AsyncBroker
    if settings.jobs_on_redis:
        from taskiq_redis import ListQueueBroker

        assert settings.redis_url is not None
        # BRPOP blocks until a job arrives: redis-py's default 5 s socket timeout would cut
        # it off and could drop a job popped just as the client gave up.
        broker = ListQueueBroker(
            settings.redis_url, queue_name=QUEUE_NAME, socket_timeout=None, socket_keepalive=True
        )
    else:
        broker = InMemoryBroker(max_async_tasks=64, propagate_exceptions=False)
    register_tasks(broker, rt, settings.jobs_concurrency)
    return Jobs(broker, rt, in_process=not settings.jobs_on_redis)
