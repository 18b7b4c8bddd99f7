"""Two `porch serve` processes and a `porch worker` sharing PostgreSQL and Redis, as behind a
load balancer without sticky sessions: limits and budgets exact across them, a change seen by
both within a second, jobs run by the worker with the queue depth visible."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import FAQ
from tests.faults.servers import (
    ROOT,
    flush_redis,
    migrate,
    scratch_database,
    serve,
    shared_env,
    stop,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
async def database() -> AsyncIterator[str]:
    async with scratch_database("porch_two") as url:
        yield url


async def test_two_processes_share_limits_budgets_and_changes(
    database: str, tmp_path: Path
) -> None:
    await flush_redis()
    env = shared_env(database, tmp_path, PORCH_JOB_CHECK_SECONDS="1")
    full_env = {**os.environ, **env}
    migrate(env)
    worker = subprocess.Popen(
        [sys.executable, "-m", "porch.cli", "worker"],
        env=full_env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    a, proc_a = serve(env)
    b, proc_b = serve(env)
    try:
        async with (
            httpx.AsyncClient(base_url=a, timeout=30) as ca,
            httpx.AsyncClient(base_url=b, timeout=30) as cb,
        ):
            await _scenario(ca, cb)
    finally:
        for proc in (proc_a, proc_b, worker):
            stop(proc)


async def _scenario(ca: httpx.AsyncClient, cb: httpx.AsyncClient) -> None:
    signup = await ca.post(
        "/api/v1/auth/signup", json={"email": "o@example.com", "password": "correct horse"}
    )
    csrf = {"X-CSRF-Token": signup.json()["csrf_token"]}
    cb.cookies = ca.cookies  # the session lives in the database: any process knows it
    w = (
        await ca.post(
            "/api/v1/widgets",
            headers=csrf,
            json={
                "name": "Help",
                "title": "Before",
                "fallback_message": "Out of answers today.",
                "limits": {"visitor_messages_per_minute": 5, "widget_messages_per_day": 8},
            },
        )
    ).json()
    # A job: the source is ingested by the `porch worker` process, not by either server.
    source = (
        await cb.post(
            f"/api/v1/widgets/{w['id']}/sources",
            headers=csrf,
            json={"type": "text", "title": "Help", "text": FAQ},
        )
    ).json()
    status = (await ca.get("/status")).json()
    assert status["jobs"]["queue"] == "redis" and isinstance(status["jobs"]["depth"], int)
    deadline = time.monotonic() + 60
    while (await ca.get(f"/api/v1/sources/{source['source_id']}")).json()["status"] != "ready":
        assert time.monotonic() < deadline, "the worker never ran the job"
        await asyncio.sleep(0.2)

    # One visitor, alternating between the processes: exactly 5 per minute in total.
    conv = (await ca.post(f"/api/v1/widgets/{w['id']}/conversations", json={})).json()
    auth = {"Authorization": f"Bearer {conv['visitor_token']}"}
    url = f"/api/v1/conversations/{conv['conversation_id']}/messages"
    codes = []
    for i in range(7):
        client = ca if i % 2 == 0 else cb
        resp = await client.post(url, json={"content": "How do I reset my password?"}, headers=auth)
        codes.append(resp.status_code)
    assert codes == [200] * 5 + [429] * 2

    # The widget's 8 messages a day, spent concurrently through both: exactly 3 more answered
    # by the model (5 are used), every other message gets the fallback.
    others = []
    for _ in range(4):
        c = (await cb.post(f"/api/v1/widgets/{w['id']}/conversations", json={})).json()
        others.append(c)

    async def send(i: int, c: dict[str, Any]) -> str:
        client = ca if i % 2 == 0 else cb
        resp = await client.post(
            f"/api/v1/conversations/{c['conversation_id']}/messages",
            json={"content": "How do I reset my password?"},
            headers={"Authorization": f"Bearer {c['visitor_token']}"},
        )
        assert resp.status_code == 200, resp.text
        return str(resp.json()["message"]["content"])

    replies = await asyncio.gather(*(send(i, c) for i, c in enumerate(others * 2)))
    assert sum(r == "Out of answers today." for r in replies) == 5
    usage = (await cb.get(f"/api/v1/widgets/{w['id']}/usage")).json()
    assert usage["today"]["messages"] == 13
    assert next(x for x in usage["budgets"] if x["name"] == "messages_per_day")["state"] == (
        "exhausted"
    )

    # A change made through A reaches B's cache within a second.
    public = f"/api/v1/widgets/{w['id']}/public"
    assert (await cb.get(public)).json()["title"] == "Before"  # cached in B now
    resp = await ca.patch(f"/api/v1/widgets/{w['id']}", headers=csrf, json={"title": "After"})
    assert resp.status_code == 200
    changed_at = time.monotonic()
    while (await cb.get(public)).json()["title"] != "After":
        assert time.monotonic() - changed_at < 1.0, "B still serves the old config"
        await asyncio.sleep(0.01)
