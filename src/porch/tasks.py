"""Every domain's background tasks on one queue: the app's lifespan and `porch worker` both
register them here, so a worker runs exactly what the app enqueues."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from porch.db import create_engine, create_sessionmaker
from porch.embeddings.registry import build_embedder
from porch.jobs import worker
from porch.jobs.queue import Jobs, build_jobs
from porch.knowledge.ingest.leases import Runtime
from porch.knowledge.ingest.tasks import Ingest
from porch.knowledge.search.keyword import keyword_index
from porch.settings import Settings
from porch.webhooks import delivery as webhook_delivery


def register(
    jobs: Jobs,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    runtime: Runtime,
) -> Ingest:
    """Register each domain's tasks on `jobs`; returns ingestion's side, to enqueue with."""
    ingest = Ingest(jobs, runtime)
    # Webhook deliveries share the queue, and `porch worker`, with ingestion.
    webhook_delivery.register(jobs, settings, sessionmaker)
    return ingest


async def run_worker(settings: Settings) -> None:
    """`porch worker`: this server's tasks from the Redis queue, until SIGTERM or SIGINT."""
    worker.check(settings)
    engine = create_engine(settings)
    sessionmaker = create_sessionmaker(engine)
    embedder = build_embedder(settings)
    runtime = Runtime(settings, sessionmaker, keyword_index(engine.dialect.name), embedder)
    jobs = build_jobs(settings)
    register(jobs, settings, sessionmaker, runtime)
    try:
        await worker.consume(jobs, settings, database=engine.dialect.name)
    finally:
        await embedder.aclose()
        await engine.dispose()
