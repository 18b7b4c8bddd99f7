"""Property-based fuzzing of every route in /openapi.json: no input gets a 5xx, every 4xx
is in the error shape, on SQLite and on PostgreSQL with Redis.

Schemathesis generates valid and invalid requests from the spec and sends them to a real
`porch serve` (signed in with an API key, so owner routes are reached too). PostgreSQL
refuses what SQLite stores (a NUL in text), so a fuzz on SQLite alone missed a class of
500s: both run, each bounded by --max-examples and the test's timeout.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import PG_ADMIN_URL, REDIS_URL

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
MAX_EXAMPLES = {"sqlite": "25", "postgres": "15"}


async def _fresh_postgres(name: str) -> str:
    import asyncpg

    admin = PG_ADMIN_URL.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    from redis.asyncio import Redis

    redis = Redis.from_url(REDIS_URL)
    await redis.flushdb()
    await redis.aclose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


async def _drop_postgres(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.redis])],
)
def running(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, str]]:
    from tests.test_server_process import _free_port

    backend = str(request.param)
    data = tmp_path_factory.mktemp(f"fuzz-{backend}")
    port = _free_port()
    env = {
        **os.environ,
        "PORCH_DATA_DIR": str(data),
        "PORCH_LOG_LEVEL": "error",
        "PORCH_DEFAULT_VISITOR_MESSAGES_PER_MINUTE": "100000",
        "PORCH_DEFAULT_CONVERSATIONS_PER_IP_PER_HOUR": "100000",
    }
    pg_name = f"porch_fuzz_{os.getpid()}"
    if backend == "postgres":
        env["PORCH_DATABASE_URL"] = asyncio.run(_fresh_postgres(pg_name))
        env["PORCH_REDIS_URL"] = REDIS_URL
    errors_path = data / "stderr.log"
    with errors_path.open("wb") as errors:
        proc = subprocess.Popen(
            [sys.executable, "-m", "porch", "serve", "--port", str(port), "--demo"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=errors,  # a file: a pipe nobody reads would stall the server once full
        )
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        if proc.poll() is not None:
            raise RuntimeError(errors_path.read_text()[-3000:])
        try:
            if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    login = httpx.post(
        f"{base}/api/v1/auth/login", json={"email": "demo@porch.local", "password": "porch-demo"}
    )
    key = httpx.post(
        f"{base}/api/v1/api-keys",
        json={"name": "fuzz"},
        cookies=login.cookies,
        headers={"X-CSRF-Token": login.json()["csrf_token"]},
    ).json()["key"]
    yield base, key, backend
    proc.terminate()
    proc.wait(timeout=20)
    if backend == "postgres":
        asyncio.run(_drop_postgres(pg_name))
    logged = errors_path.read_text()
    assert "Traceback" not in logged, logged[-3000:]


def test_no_input_gets_a_server_error(running: tuple[str, str, str], tmp_path: Path) -> None:
    base, key, backend = running
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            f"{base}/openapi.json",
            "--checks",
            "not_a_server_error,error_shape",
            "--max-examples",
            MAX_EXAMPLES[backend],
            "--header",
            f"Authorization: Bearer {key}",
            "--request-timeout",
            "10",
            "--continue-on-failure",
            "--seed",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=840,
        cwd=tmp_path,
        check=False,
        # tests/security/fuzz_hooks.py adds the error_shape check.
        env={
            **os.environ,
            "SCHEMATHESIS_HOOKS": "tests.security.fuzz_hooks",
            "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
        },
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
