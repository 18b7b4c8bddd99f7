"""Real `porch serve` processes for the fault tests, and ways to read them from outside."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from sqlalchemy import text

from porch.db import create_engine
from porch.settings import Settings
from tests.conftest import PG_ADMIN_URL, REDIS_URL

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(env: dict[str, str], *args: str) -> tuple[str, subprocess.Popen[bytes]]:
    """Start `porch serve` and wait until /ready answers 200."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "porch.cli", "serve", "--port", str(port), *args],
        env={**os.environ, "PORCH_LOG_LEVEL": "warning", **env},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise AssertionError(f"porch serve exited: {err[-3000:]}")
        try:
            if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                return base, proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("porch serve did not become ready")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def rss_kb(pid: int) -> int:
    """Resident memory of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


@asynccontextmanager
async def scratch_database(prefix: str) -> AsyncIterator[str]:
    """A fresh PostgreSQL database for processes a test starts, dropped afterwards."""
    name = f"{prefix}_{os.getpid()}"
    admin = create_engine(Settings(database_url=PG_ADMIN_URL))
    admin = admin.execution_options(isolation_level="AUTOCOMMIT")  # type: ignore[assignment]
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def flush_redis() -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL)
    await client.flushdb()
    await client.aclose()


def shared_env(database: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """Settings for several processes sharing one migrated PostgreSQL and the test Redis."""
    return {
        "PORCH_DATA_DIR": str(data_dir),
        "PORCH_DATABASE_URL": database,
        "PORCH_REDIS_URL": REDIS_URL,
        "PORCH_EMBEDDINGS": "none",
        # Migrated once by `migrate` below, not raced by every process at start.
        "PORCH_AUTO_MIGRATE": "false",
        **extra,
    }


def migrate(env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "porch.cli", "migrate"],
        env={**os.environ, **env},
        cwd=ROOT,
        check=True,
    )
