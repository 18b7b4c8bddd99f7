"""The job queue: taskiq's in-process broker embedded, a Redis list with `porch worker` at scale.

It knows no domain: each registers its own tasks (knowledge/ingest/tasks.py,
webhooks/delivery.py; porch/tasks.py lists them) and, where it has one, a loop that runs
beside the jobs (the re-sync schedule). The same tasks run either way. A failed attempt is
queued again after a backoff (`attempt_or_retry`, `Jobs.enqueue_later`) rather than slept
on inside the task, so a waiting retry holds no worker slot: in-process it is a timer, on
Redis a sorted set of due times that every process running jobs moves onto the list.
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
DELAYED_NAME = "porch:jobs:delayed"  # sorted set: serialized job -> the time it is due
MOVE_EVERY = 0.5
# Moves the due jobs onto the list in one step, so two processes never both move one.
_MOVE_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 100)
for _, job in ipairs(due) do
    redis.call('ZREM', KEYS[1], job)
    redis.call('LPUSH', KEYS[2], job)
end
return #due
"""
ATTEMPTS = 4
BASE_DELAY = 2.0


def backoff(attempt: int) -> float:
    """Seconds before attempt `attempt + 1`: doubling from BASE_DELAY, at most a minute, ±50%."""
    nominal: float = min(60.0, BASE_DELAY * 2 ** (attempt - 1))
    return nominal * (0.5 + random.random())  # noqa: S311 - spreading retries, not secrecy


async def attempt_or_retry(
    jobs: Jobs, name: str, run: Callable[[], Awaitable[Any]], args: tuple[Any, ...], attempt: int
) -> bool | None:
    """Run one attempt of job `name`. A failure re-queues the job with `attempt + 1` after a
    backoff (no worker slot is held while it waits); True when it ran, None when it was
    re-queued, False once the last attempt failed."""
    try:
        await run()
        return True
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        context = {"job": name, "attempt": attempt, "error": type(exc).__name__}
        if attempt >= ATTEMPTS:
            log.exception("job_failed", **context)
            return False
        delay = backoff(attempt)
        log.warning("job_retry", delay=delay, **context)
        await jobs.enqueue_later(delay, name, *args, attempt + 1)
        return None


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
        # In-process retries waiting for their time, and their hand-over to the broker.
        self._timers: set[asyncio.TimerHandle] = set()
        self._kicks: set[asyncio.Task[None]] = set()
        self._mover: asyncio.Task[None] | None = None

    def register(self, name: str, task: Callable[..., Awaitable[None]]) -> None:
        self.broker.register_task(task, task_name=name)

    def run_alongside(self, loop: Alongside) -> None:
        self.alongside.append(loop)

    async def enqueue(self, name: str, *args: Any) -> None:
        kicker: AsyncKicker[Any, Any] = AsyncKicker(name, self.broker, {})
        await kicker.kiq(*args)

    async def enqueue_later(self, delay: float, name: str, *args: Any) -> None:
        """Queue job `name` once `delay` seconds have passed."""
        if self.in_process:
            loop = asyncio.get_running_loop()
            handle: asyncio.TimerHandle

            def due() -> None:
                self._timers.discard(handle)
                kick = loop.create_task(self.enqueue(name, *args))
                self._kicks.add(kick)
                kick.add_done_callback(self._kicks.discard)

            handle = loop.call_later(delay, due)
            self._timers.add(handle)
            return
        from redis.asyncio import Redis

        kicker: AsyncKicker[Any, Any] = AsyncKicker(name, self.broker, {})
        job = self.broker.formatter.dumps(kicker._prepare_message(*args)).message
        loop_time = await self._redis_time()
        async with Redis(connection_pool=self._pool()) as redis:
            await redis.zadd(DELAYED_NAME, {job: loop_time + delay})

    def _pool(self) -> Any:
        return getattr(self.broker, "connection_pool", None)

    async def _redis_time(self) -> float:
        # Redis's clock, so processes whose clocks differ agree on when a job is due.
        from redis.asyncio import Redis

        async with Redis(connection_pool=self._pool()) as redis:
            seconds, micros = await redis.time()
        return float(seconds) + micros / 1e6

    async def move_due(self) -> int:
        """Move the delayed jobs that are due onto the queue (Redis); how many moved."""
        from redis.asyncio import Redis

        now = await self._redis_time()
        async with Redis(connection_pool=self._pool()) as redis:
            moved = await redis.eval(_MOVE_DUE, 2, DELAYED_NAME, QUEUE_NAME, now)
        return int(moved)

    async def _move_forever(self) -> None:
        while True:
            try:
                await self.move_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("delayed_jobs_unmoved", exc_info=True)
            await asyncio.sleep(MOVE_EVERY)

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
            while self.broker._running_tasks or self._timers or self._kicks:
                if self._kicks:
                    await asyncio.gather(*self._kicks, return_exceptions=True)
                if self._timers and not self.broker._running_tasks:
                    await asyncio.sleep(0.005)  # a retry waits for its time
                await self.broker.wait_all()

    async def start(self) -> None:
        """Connect the broker, then start the loops that run beside the jobs."""
        await self.broker.startup()
        for loop in self.alongside:
            # Embedded, this process is the only one running jobs: what is still marked
            # running was left by a process that died, and is taken over at once.
            loop.start(sole_process=self.in_process)
        if not self.in_process:
            self._mover = asyncio.get_running_loop().create_task(self._move_forever())

    async def aclose(self) -> None:
        for loop in self.alongside:
            await loop.aclose()
        # In-process retries not yet due go with the process, as its queue always did
        # (embedded mode keeps no queue across restarts); the re-sync schedule takes
        # sources left running up again after a restart.
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()
        if self._mover is not None:
            self._mover.cancel()
            await asyncio.gather(self._mover, return_exceptions=True)
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
