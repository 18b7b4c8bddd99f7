"""`porch worker`: consume the Redis job queue in a process of its own."""

from __future__ import annotations

import asyncio
import contextlib
import signal

import structlog
from taskiq.api import run_receiver_task

from porch.jobs.queue import Jobs
from porch.settings import Settings

log = structlog.get_logger("porch.worker")


class WorkerConfigError(Exception):
    pass


def check(settings: Settings) -> None:
    if not settings.jobs_on_redis:
        raise WorkerConfigError(
            "porch worker needs PORCH_REDIS_URL: without it, `porch serve` runs jobs itself."
        )


async def consume(jobs: Jobs, settings: Settings, **context: str) -> None:
    """Run the registered tasks until SIGTERM or SIGINT; a job cut short is handed back for
    another worker."""
    jobs.broker.is_worker_process = True
    await jobs.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    receiver = asyncio.create_task(
        run_receiver_task(jobs.broker, max_async_tasks=settings.jobs_concurrency * 4),
        name="porch-receiver",
    )
    log.info("worker_started", concurrency=settings.jobs_concurrency, **context)
    try:
        await stop.wait()
    finally:
        log.info("worker_stopping")
        receiver.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await receiver
        await jobs.aclose()
