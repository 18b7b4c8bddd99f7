"""PostgreSQL goes away under load and comes back: the requests in that window get a 503 with
Retry-After, the pool recovers by itself, and every message accepted with a 2xx is stored."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from porch.settings import Settings
from tests.conftest import FAQ, REDIS_URL, OwnerClient, make_widget, start_conversation
from tests.faults.conftest import through, until
from tests.faults.proxy import CuttableProxy

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
def backend() -> str:
    return "postgres"


@pytest.fixture
def settings(pg_url: str, pg_proxy: CuttableProxy, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=through(pg_url, pg_proxy),
        redis_url=REDIS_URL,
        jobs_queue="memory",
        embeddings="none",
        log_json=False,
        log_level="error",
        default_conversations_per_ip_per_hour=100_000,
        default_visitor_messages_per_minute=100_000,
    )


async def test_database_restart_under_load(
    owner: OwnerClient,
    client: httpx.AsyncClient,
    app: FastAPI,
    pg_proxy: CuttableProxy,
    pg_url: str,
) -> None:
    w = await make_widget(owner)
    await owner.post(
        f"/api/v1/widgets/{w['id']}/sources", json={"type": "text", "title": "Help", "text": FAQ}
    )
    await app.state.porch.jobs.drain()
    visitors = [await start_conversation(client, w["id"]) for _ in range(6)]
    accepted: list[tuple[str, str]] = []
    statuses: Counter[int] = Counter()
    refusals: list[httpx.Response] = []
    stop = asyncio.Event()

    async def visitor_loop(v: Any) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            resp = await client.post(
                f"/api/v1/conversations/{v.conversation_id}/messages",
                json={"content": f"How do I reset my password? ({n})"},
                headers=v.auth,
            )
            statuses[resp.status_code] += 1
            if resp.status_code == 200:
                body = resp.json()
                accepted.append((body["user_message_id"], body["message"]["id"]))
            else:
                refusals.append(resp)
                await asyncio.sleep(0.05)

    load = [asyncio.create_task(visitor_loop(v)) for v in visitors]
    await until(lambda: len(accepted) >= 20, "answers before the cut")
    await pg_proxy.cut()  # every connection dropped, new ones refused
    await until(lambda: statuses[503] >= 10, "503s while the database is away")
    await asyncio.sleep(1.0)
    await pg_proxy.restore()
    after_restore = len(accepted)
    # Nobody restarts porch: the pool reconnects by itself.
    await until(lambda: len(accepted) >= after_restore + 20, "answers after the database returns")
    stop.set()
    await asyncio.gather(*load)

    assert set(statuses) <= {200, 503}, statuses  # never a 500, never a hang
    for resp in refusals:
        assert resp.headers["retry-after"].isdigit()
        assert resp.json()["error"]["code"] == "database_unavailable", resp.text
    # Every question and answer acknowledged with a 200 is in the database.
    async with app.state.porch.engine.connect() as conn:
        stored = {str(row[0]) for row in await conn.execute(text("SELECT id FROM messages"))}
    missing = [pair for pair in accepted if not set(pair) <= stored]
    assert not missing, missing
    assert all(uuid.UUID(a) and uuid.UUID(b) for a, b in accepted)


async def test_sockets_refused_with_503_while_the_database_is_away(
    owner: OwnerClient, client: httpx.AsyncClient, app: FastAPI, pg_proxy: CuttableProxy
) -> None:
    """Under uvicorn the handshake gets 503 + Retry-After; a server without denial
    responses (the in-process test transport) closes it with 1013, "try again later"."""
    from httpx_ws import WebSocketDisconnect, WebSocketUpgradeError

    from tests.realtime.kit import inbox_socket, visitor_socket

    def leaf(exc: BaseException) -> BaseException:
        while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
            exc = exc.exceptions[0]
        return exc

    w = await make_widget(owner)
    v = await start_conversation(client, w["id"])
    await pg_proxy.cut()
    try:
        for connect in (
            lambda: visitor_socket(app, v.conversation_id, v.token),
            lambda: inbox_socket(app, owner),
        ):
            refusal: BaseException | None = None
            try:
                async with connect():
                    pass
            except BaseException as exc:  # the transport wraps it in an exception group
                refusal = leaf(exc)
            if isinstance(refusal, WebSocketUpgradeError):
                assert refusal.response.status_code == 503
                assert refusal.response.headers["retry-after"].isdigit()
            else:
                assert isinstance(refusal, WebSocketDisconnect), repr(refusal)
                assert refusal.code == 1013, refusal
    finally:
        await pg_proxy.restore()
    async with visitor_socket(app, v.conversation_id, v.token) as ws:
        assert (await ws.receive_json(timeout=10))["type"] == "ready"
