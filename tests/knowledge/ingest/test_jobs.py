"""Jobs: restarts pick up abandoned syncs, retries back off, schedules fire, duplicates no-op."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import select, update

from porch.app import create_app
from porch.jobs import queue
from porch.knowledge.ingest.kinds import run_sync
from porch.models import Chunk, Source
from porch.models.base import utcnow
from porch.settings import Settings
from tests.conftest import BOTH, OwnerClient, make_widget
from tests.knowledge.conftest import CRAWL, add_source, search, settle, source
from tests.knowledge.site import Site

pytestmark = [
    pytest.mark.parametrize("backend", BOTH, indirect=True),
    pytest.mark.settings(**CRAWL),
]


async def set_source(app: FastAPI, source_id: str, **values: Any) -> None:
    async with app.state.porch.sessionmaker() as session, session.begin():
        await session.execute(
            update(Source).where(Source.id == uuid.UUID(source_id)).values(**values)
        )


async def test_sync_left_running_by_a_dead_process_is_taken_over_at_start(
    app: FastAPI, owner: OwnerClient, site: Site, settings: Settings
) -> None:
    widget = await make_widget(owner)
    sid = await add_source(owner, widget["id"], type="url", url=site.url("/"))
    await settle(app)
    # As a process killed mid-crawl leaves it: running, its lease still in the future,
    # a newer generation queued, and staged rows that were never published.
    await set_source(
        app,
        sid,
        status="running",
        generation=2,
        lease_owner="dead",
        lease_until=utcnow() + timedelta(minutes=5),
    )
    async with app.state.porch.sessionmaker() as session, session.begin():
        session.add(
            Chunk(
                workspace_id=uuid.UUID(owner.workspace_id),
                widget_id=uuid.UUID(widget["id"]),
                source_id=uuid.UUID(sid),
                position=0,
                text="half-written ZEBRA",
                staged=True,
            )
        )
    restarted = create_app(settings)
    async with LifespanManager(restarted, startup_timeout=30, shutdown_timeout=30):
        await restarted.state.porch.jobs.drain()
    src = await source(owner, sid)
    assert src["status"] == "ready" and src["stats"]["unchanged"] == 5, src
    assert not await search(owner, widget["id"], "ZEBRA")
    async with app.state.porch.sessionmaker() as session:
        staged = (await session.execute(select(Chunk.id).where(Chunk.staged))).all()
    assert not staged


async def test_duplicate_and_stale_jobs_do_nothing(
    app: FastAPI, owner: OwnerClient, site: Site
) -> None:
    widget = await make_widget(owner)
    sid = await add_source(owner, widget["id"], type="url", url=site.url("/"))
    await settle(app)
    runtime = app.state.porch.ingest.runtime
    assert await run_sync(runtime, uuid.UUID(sid), 1) == "skipped"  # already done
    assert await run_sync(runtime, uuid.UUID(sid), 0) == "skipped"  # an older generation
    # A running source with a live lease belongs to someone else.
    await set_source(app, sid, status="running", lease_until=utcnow() + timedelta(minutes=1))
    assert await run_sync(runtime, uuid.UUID(sid), 1) == "skipped"
    # Once the lease lapses, the scheduler hands it to a new job.
    await set_source(app, sid, lease_until=utcnow() - timedelta(seconds=1))
    assert await app.state.porch.ingest.scheduler.tick() == 1
    await settle(app)
    assert (await source(owner, sid))["status"] == "ready"


async def test_transient_failure_is_retried(
    app: FastAPI, owner: OwnerClient, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    from porch.knowledge.ingest import kinds as syncs

    monkeypatch.setattr(queue, "BASE_DELAY", 0.01)
    real = syncs.CrawlSync.collect
    failures = [RuntimeError("disk hiccup")]

    async def collect(self: syncs.CrawlSync) -> None:
        if failures:
            raise failures.pop()
        await real(self)

    monkeypatch.setattr(syncs.CrawlSync, "collect", collect)
    widget = await make_widget(owner)
    sid = await add_source(owner, widget["id"], type="url", url=site.url("/"))
    await settle(app)
    assert (await source(owner, sid))["status"] == "ready"

    failures.extend([RuntimeError("x")] * queue.ATTEMPTS)
    await owner.post(f"/api/v1/sources/{sid}/resync")
    await settle(app)
    src = await source(owner, sid)
    assert src["status"] == "failed" and "retried" in src["error"]
    # What the last good sync stored is still served.
    assert await search(owner, widget["id"], "pairing button")


async def test_scheduled_resync(app: FastAPI, owner: OwnerClient, site: Site) -> None:
    widget = await make_widget(owner)
    sid = await add_source(owner, widget["id"], type="url", url=site.url("/"), schedule="weekly")
    await settle(app)
    src = await source(owner, sid)
    assert src["schedule"] == "weekly" and src["next_sync_at"] is not None
    resp = await owner.patch(f"/api/v1/sources/{sid}", json={"schedule": "daily"})
    assert resp.status_code == 200 and resp.json()["schedule"] == "daily"
    scheduler = app.state.porch.ingest.scheduler
    assert await scheduler.tick() == 0  # not due yet
    await set_source(app, sid, next_sync_at=utcnow() - timedelta(minutes=1))
    site.requests.clear()
    assert await scheduler.tick() == 1
    assert await scheduler.tick() == 0  # claimed once, not twice
    await settle(app)
    src = await source(owner, sid)
    assert src["status"] == "ready" and src["stats"]["unchanged"] == 5
    assert "/docs/install" in site.paths()
    resp = await owner.patch(f"/api/v1/sources/{sid}", json={"schedule": "off"})
    assert resp.json()["next_sync_at"] is None


async def test_big_text_gains_vectors_in_the_background(app: FastAPI, owner: OwnerClient) -> None:
    widget = await make_widget(owner)
    sections = "\n\n".join(
        f"# Topic {i}\nParagraph {i} talks about item number {i} and its colour." for i in range(90)
    )
    sid = await add_source(owner, widget["id"], type="text", title="Big", text=sections)
    # Keyword search works before any vector exists.
    assert (await search(owner, widget["id"], "Topic 42"))[0]["heading"] == "Topic 42"
    await settle(app)
    async with app.state.porch.sessionmaker() as session:
        models = set(
            (
                await session.execute(
                    select(Chunk.embedding_model).where(Chunk.source_id == uuid.UUID(sid))
                )
            ).scalars()
        )
    assert models == {app.state.porch.retriever.embedder.name}

    # A different model's vectors are replaced when the process starts.
    async with app.state.porch.sessionmaker() as session, session.begin():
        await session.execute(update(Chunk).values(embedding_model="old-model"))
    await app.state.porch.ingest.scheduler.recover(sole_process=False)
    await settle(app)
    async with app.state.porch.sessionmaker() as session:
        models = set((await session.execute(select(Chunk.embedding_model))).scalars())
    assert models == {app.state.porch.retriever.embedder.name}


def test_worker_needs_redis(backend: str, tmp_path: Any) -> None:
    import os
    import subprocess
    import sys

    if backend != "sqlite":
        pytest.skip("one run is enough")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORCH_")}
    env["PORCH_DATA_DIR"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "porch.cli", "worker"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "PORCH_REDIS_URL" in result.stderr
