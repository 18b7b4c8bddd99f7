"""`porch worker` processes on the Redis queue against PostgreSQL: one is killed mid-crawl,
another takes the job over and finishes it."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from porch.settings import Settings
from tests.conftest import REDIS_URL, OwnerClient, make_widget
from tests.knowledge.conftest import add_source, search, source
from tests.knowledge.site import Site

pytestmark = [
    pytest.mark.slow,
    pytest.mark.parametrize(
        "backend",
        [pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.redis])],
        indirect=True,
    ),
    pytest.mark.settings(
        crawl_allow_private_networks=True, job_lease_seconds=5, job_check_seconds=1.0
    ),
]


@pytest.fixture
def workers(settings: Settings, tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def start_worker(settings: Settings, tmp_path: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PORCH_DATA_DIR": str(tmp_path),
        "PORCH_DATABASE_URL": settings.resolved_database_url,
        "PORCH_REDIS_URL": REDIS_URL,
        "PORCH_CRAWL_ALLOW_PRIVATE_NETWORKS": "true",
        "PORCH_CRAWL_TIMEOUT": "10",
        "PORCH_CRAWL_RETRIES": "0",
        "PORCH_CRAWL_PAGE_MAX_BYTES": "200000",
        "PORCH_JOB_LEASE_SECONDS": "5",
        "PORCH_JOB_CHECK_SECONDS": "1",
        "PORCH_LOG_LEVEL": "warning",
        "PORCH_AUTO_MIGRATE": "false",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "porch.cli", "worker"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


async def wait_for(owner: OwnerClient, sid: str, statuses: set[str], timeout: float) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        src = await source(owner, sid)
        if src["status"] in statuses:
            return src
        await asyncio.sleep(0.2)
    raise AssertionError(f"source still {src['status']}: {src}")


async def test_worker_killed_mid_crawl_and_replaced(
    app: FastAPI,
    owner: OwnerClient,
    site: Site,
    settings: Settings,
    tmp_path: Path,
    workers: list[subprocess.Popen[bytes]],
) -> None:
    site.slow_seconds = 4.0  # the crawl sits on /slow while the worker is killed
    assert app.state.porch.jobs.in_process is False
    widget = await make_widget(owner)
    sid = await add_source(owner, widget["id"], type="url", url=site.url("/"))
    assert (await source(owner, sid))["status"] == "pending"  # queued in Redis, nobody runs it

    workers.append(start_worker(settings, tmp_path))
    await wait_for(owner, sid, {"running"}, 60)
    deadline = time.monotonic() + 30
    while "/slow" not in site.paths() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert "/slow" in site.paths()
    workers[0].send_signal(signal.SIGKILL)
    workers[0].wait()
    assert (await source(owner, sid))["status"] == "running"  # left behind by a dead process

    site.slow_seconds = 0.0
    workers.append(start_worker(settings, tmp_path))
    src = await wait_for(owner, sid, {"ready", "failed"}, 90)
    assert src["status"] == "ready", src
    assert src["stats"]["stored"] == 6, src["stats"]  # /slow is fast now
    hits = await search(owner, widget["id"], "pairing button")
    assert hits and hits[0]["url"] == site.url("/docs/install#step-2")

    # A graceful stop hands nothing back half-done.
    workers[1].send_signal(signal.SIGTERM)
    assert workers[1].wait(timeout=30) == 0
