"""Fixtures for knowledge tests: the loopback site and waiting for background jobs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI

from tests.conftest import OwnerClient
from tests.knowledge.site import Site, serve

# Crawling a loopback site needs private addresses allowed; jobs run in-process even on the
# PostgreSQL + Redis backend (the Redis queue with `porch worker` has a slow test of its own).
CRAWL = {
    "crawl_allow_private_networks": True,
    "jobs_queue": "memory",
    "crawl_timeout": 1.0,
    "crawl_retries": 0,
    "crawl_page_max_bytes": 200_000,
    "crawl_concurrency": 4,
}


@pytest.fixture
def site() -> Iterator[Site]:
    with serve(Site()) as s:
        yield s


async def settle(app: FastAPI) -> None:
    """Wait until every in-process job (and any job it queued) has finished."""
    await app.state.porch.jobs.drain()


async def add_source(owner: OwnerClient, widget_id: str, **body: Any) -> str:
    resp = await owner.post(f"/api/v1/widgets/{widget_id}/sources", json=body)
    assert resp.status_code == 202, resp.text
    return str(resp.json()["source_id"])


async def source(owner: OwnerClient, source_id: str) -> dict[str, Any]:
    resp = await owner.get(f"/api/v1/sources/{source_id}")
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


async def search(owner: OwnerClient, widget_id: str, q: str, **params: Any) -> list[dict[str, Any]]:
    resp = await owner.get(f"/api/v1/widgets/{widget_id}/search", params={"q": q, **params})
    assert resp.status_code == 200, resp.text
    return list(resp.json()["results"])


def new_id() -> str:
    return str(uuid.uuid4())
