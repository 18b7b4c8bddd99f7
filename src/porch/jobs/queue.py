"""The job queue: taskiq's in-process broker embedded, a Redis list with `porch worker` at scale.

It knows no domain: each registers its own tasks (knowledge/ingest/tasks.py,
webhooks/delivery.py; porch/tasks.py lists them) and, where it has one, a loop that runs
beside the jobs (the re-sync schedule). The same tasks run either way; `with_retries` is
the backoff with jitter they share.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import structlog
from taskiq import AsyncBroker, InMemoryBroker
from taskiq.kicker import AsyncKicker

from porch.settings import Settings

log = structlog.get_logger("porch.jobs")
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


class Alongside(Protocol):
    """A loop a domain runs beside its jobs (the re-sync schedule): started and stopped with
    them, in every process that runs jobs."""

    def start(self, *, sole_process: bool) -> None: ...

    async def ready(self) -> None:
        """Return once the loop's start-up work is queued."""

    async def aclose(self) -> None: ...


class Jobs:
    """Enqueue side of the queue, plus (embedded) the in-process execution."""

    def __init__(self, broker: AsyncBroker, *, in_process: bool) -> None:
        self.broker = broker
        self.in_process = in_process
        self.alongside: list[Alongside] = []

    def register(self, name: str, task: Callable[..., Awaitable[None]]) -> None:
        self.broker.register_task(task, task_name=name)

    def run_alongside(self, loop: Alongside) -> None:
        self.alongside.append(loop)

    async def enqueue(self, name: str, *args: Any) -> None:
        kicker: AsyncKicker[Any, Any] = AsyncKicker(name, self.broker, {})
        await kicker.kiq(*args)

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
        for loop in self.alongside:
            await loop.ready()
        if isinstance(self.broker, InMemoryBroker):
            while self.broker._running_tasks:
                await self.broker.wait_all()

    async def start(self) -> None:
        """Connect the broker, then start the loops that run beside the jobs."""
        await self.broker.startup()
        for loop in self.alongside:
            # Embedded, this process is the only one running jobs: what is still marked
            # running was left by a process that died, and is taken over at once.
            loop.start(sole_process=self.in_process)

    async def aclose(self) -> None:
        for loop in self.alongside:
            await loop.aclose()
        if isinstance(self.broker, InMemoryBroker):
            for task in list(self.broker._running_tasks):
                task.cancel()
            await asyncio.gather(*self.broker._running_tasks, return_exceptions=True)
        await self.broker.shutdown()


def build_jobs(settings: Settings) -> Jobs:
    """In-process jobs unless the settings put them on Redis (see PORCH_JOBS_QUEUE); the
    domains register their tasks on it next (porch/tasks.py)."""
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
    return Jobs(broker, in_process=not settings.jobs_on_redis)
