"""Retries are queued again after their backoff, never slept on inside a running job."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
import pytest
from redis.asyncio import Redis

from porch.jobs import queue
from porch.jobs.queue import DELAYED_NAME, QUEUE_NAME, attempt_or_retry, build_jobs
from porch.settings import Settings
from tests.conftest import REDIS_URL
from tests.waiting import wait_until


async def test_a_failing_job_is_queued_again_and_holds_no_slot_while_it_waits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(queue, "BASE_DELAY", 0.05)
    jobs = build_jobs(Settings(jobs_queue="memory"))
    runs: list[int] = []
    outcomes: list[bool | None] = []

    async def flaky(key: str, attempt: int = 1) -> None:
        async def run() -> None:
            runs.append(attempt)
            if attempt < 3:
                raise ConnectionError("database went away")

        outcomes.append(await attempt_or_retry(jobs, "t.flaky", run, (key,), attempt))

    jobs.register("t.flaky", flaky)
    await jobs.start()
    try:
        await jobs.enqueue("t.flaky", "k")
        await wait_until(lambda: runs == [1])
        # The retry waits as a timer: no job is running meanwhile.
        await wait_until(lambda: outcomes == [None])
        assert not jobs.broker._running_tasks  # type: ignore[attr-defined]
        await jobs.drain()
        assert runs == [1, 2, 3]
        assert outcomes == [None, None, True]
    finally:
        await jobs.aclose()


async def test_the_last_attempt_gives_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(queue, "BASE_DELAY", 0.01)
    jobs = build_jobs(Settings(jobs_queue="memory"))
    outcomes: list[bool | None] = []

    async def broken(attempt: int = 1) -> None:
        async def run() -> None:
            raise ConnectionError("still down")

        outcomes.append(await attempt_or_retry(jobs, "t.broken", run, (), attempt))

    jobs.register("t.broken", broken)
    await jobs.start()
    try:
        await jobs.enqueue("t.broken")
        await jobs.drain()
        assert outcomes == [None] * (queue.ATTEMPTS - 1) + [False]
    finally:
        await jobs.aclose()


def test_backoff_doubles_within_jitter() -> None:
    for attempt in (1, 2, 3):
        nominal = queue.BASE_DELAY * 2 ** (attempt - 1)
        assert 0.5 * nominal <= queue.backoff(attempt) <= 1.5 * nominal
    assert queue.backoff(30) <= 90


@pytest.mark.redis
async def test_on_redis_a_delayed_job_reaches_the_list_once_due() -> None:
    settings = Settings(jobs_queue="redis", redis_url=REDIS_URL)
    jobs = build_jobs(settings)
    redis: Any = Redis.from_url(REDIS_URL)
    await redis.delete(DELAYED_NAME, QUEUE_NAME)
    await jobs.broker.startup()
    try:
        began = time.monotonic()
        await jobs.enqueue_later(0.3, "t.later", "a", 2)
        assert await redis.zcard(DELAYED_NAME) == 1
        assert await jobs.move_due() == 0  # not yet due
        assert await redis.llen(QUEUE_NAME) == 0
        while not await jobs.move_due():
            await asyncio.sleep(0.02)
        assert time.monotonic() - began >= 0.29
        assert await redis.zcard(DELAYED_NAME) == 0
        (raw,) = await redis.lrange(QUEUE_NAME, 0, -1)
        message = orjson.loads(raw)
        assert (message["task_name"], message["args"]) == ("t.later", ["a", 2])
        # Moved once: a second mover finds nothing.
        assert await jobs.move_due() == 0
    finally:
        await redis.delete(DELAYED_NAME, QUEUE_NAME)
        await redis.aclose()
        await jobs.broker.shutdown()
