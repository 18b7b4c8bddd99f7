"""Fault tests: PostgreSQL and Redis behind cuttable proxies, so that a "restart" never
touches the real servers that everyone on this machine shares."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from porch.settings import Settings
from tests.conftest import REDIS_URL
from tests.faults.proxy import CuttableProxy


def _target(url: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(url.replace("+asyncpg", ""))
    return parts.hostname or "127.0.0.1", parts.port or default_port


def through(url: str, proxy: CuttableProxy) -> str:
    """`url` with its host and port replaced by the proxy's."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    creds = netloc[0] + "@" if len(netloc) == 2 else ""
    return parts._replace(netloc=f"{creds}127.0.0.1:{proxy.port}").geturl()


@pytest.fixture
async def pg_proxy(pg_url: str) -> AsyncIterator[CuttableProxy]:
    proxy = CuttableProxy(*_target(pg_url, 5432))
    await proxy.start()
    yield proxy
    await proxy.aclose()


@pytest.fixture
async def redis_proxy() -> AsyncIterator[CuttableProxy]:
    proxy = CuttableProxy(*_target(REDIS_URL, 6379))
    await proxy.start()
    yield proxy
    await proxy.aclose()


@pytest.fixture
def redis_cut_settings(
    redis_proxy: CuttableProxy, tmp_path: Path, sqlite_template: Path
) -> Settings:
    """SQLite, with Redis reached through the cuttable proxy."""
    shutil.copy(sqlite_template, tmp_path / "porch.db")
    return Settings(
        data_dir=tmp_path,
        redis_url=through(REDIS_URL, redis_proxy),
        # Jobs stay in-process: with the queue on Redis a `porch worker` would be needed too.
        jobs_queue="memory",
        embeddings="none",
        log_json=False,
        log_level="error",
        gc_young_threshold=0,
    )


async def until(check: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    """Wait for `check()` to hold; the timeout only stops a broken test from hanging."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting for: {what}")
        await asyncio.sleep(0.02)


async def eventually(
    check: Callable[[], Awaitable[bool]], what: str, timeout: float = 30.0
) -> None:
    """Like `until`, for checks that have to await (an HTTP probe, a publish)."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting for: {what}")
        await asyncio.sleep(0.05)
