"""The public config under a burst: concurrent misses for one widget share one database read."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event

from tests.conftest import BOTH, OwnerClient, make_widget

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)


def _count_widget_reads(app: FastAPI) -> list[str]:
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "FROM widgets" in statement:
            seen.append(statement)

    event.listen(app.state.porch.engine.sync_engine, "before_cursor_execute", before)
    return seen


async def test_fifty_concurrent_requests_after_a_change_read_the_database_once(
    owner: OwnerClient, client: httpx.AsyncClient, app: FastAPI
) -> None:
    w = await make_widget(owner, title="Before")
    url = f"/api/v1/widgets/{w['id']}/public"
    old_etag = (await client.get(url)).headers["etag"]
    # A change: the owner's PATCH drops the cached config in every process.
    resp = await owner.patch(f"/api/v1/widgets/{w['id']}", json={"title": "After"})
    assert resp.status_code == 200
    reads = _count_widget_reads(app)
    replies = await asyncio.gather(*(client.get(url) for _ in range(50)))
    assert {r.status_code for r in replies} == {200}
    assert {r.json()["title"] for r in replies} == {"After"}
    etags = {r.headers["etag"] for r in replies}
    assert len(etags) == 1 and etags != {old_etag}
    assert len(reads) == 1, reads
    # Served from memory afterwards: no read at all.
    await asyncio.gather(*(client.get(url) for _ in range(50)))
    assert len(reads) == 1


async def test_a_failed_load_is_shared_then_retried(
    owner: OwnerClient, client: httpx.AsyncClient, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = await make_widget(owner)
    cache = app.state.porch.widgets
    await cache.changed(__import__("uuid").UUID(w["id"]))
    calls = 0
    real = cache._load

    async def failing(widget_id: Any) -> Any:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        raise ConnectionRefusedError("database down")

    monkeypatch.setattr(cache, "_load", failing)
    url = f"/api/v1/widgets/{w['id']}/public"
    replies = await asyncio.gather(*(client.get(url) for _ in range(20)))
    # One read for all twenty, and each of them a clear 503 with Retry-After, not a 500.
    assert calls == 1
    assert {r.status_code for r in replies} == {503}
    assert all(r.json()["error"]["code"] == "database_unavailable" for r in replies)
    assert all(r.headers["retry-after"] for r in replies)
    monkeypatch.setattr(cache, "_load", real)
    assert (await client.get(url)).status_code == 200  # nothing poisoned is cached
