"""Every domain's background tasks on one queue: the app's lifespan and `porch worker` both
register them here, so a worker runs exactly what the app enqueues."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from porch.db import create_engine, create_sessionmaker
from porch.embeddings.registry import build_embedder
from porch.jobs import worker
from porch.jobs.queue import Jobs, build_jobs
from porch.knowledge.ingest.leases import Runtime
from porch.knowledge.ingest.tasks import Ingest
from porch.knowledge.search.keyword import keyword_index
from porch.privacy import tasks as privacy_tasks
from porch.privacy.tasks import Privacy
from porch.pubsub import LocalPubSub, PubSub, RedisPubSub, redis_client
from porch.settings import Settings
from porch.webhooks import delivery as webhook_delivery


def register(
    jobs: Jobs,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    runtime: Runtime,
    engine: AsyncEngine,
    pubsub: PubSub,
) -> tuple[Ingest, Privacy]:
    """Register each domain's tasks on `jobs`; returns ingestion's side, to enqueue with, and
    privacy's (the retention sweep, the redaction rules)."""
    ingest = Ingest(jobs, runtime)
    # Webhook deliveries share the queue, and `porch worker`, with ingestion.
    webhook_delivery.register(jobs, settings, sessionmaker)
    # Export and erase jobs; the retention sweep runs beside them, one process at a time.
    privacy = privacy_tasks.register(jobs, settings, sessionmaker, engine, pubsub)
    return ingest, privacy


async def run_worker(settings: Settings) -> None:
    """`porch worker`: this server's tasks from the Redis queue, until SIGTERM or SIGINT."""
    worker.check(settings)
    engine = create_engine(settings)
    sessionmaker = create_sessionmaker(engine)
    embedder = build_embedder(settings)
    runtime = Runtime(settings, sessionmaker, keyword_index(engine.dialect.name), embedder)
    jobs = build_jobs(settings)
    # A worker only publishes (an erase closes the sockets on what it removed): no listener.
    pubsub = RedisPubSub(redis_client(settings.redis_url)) if settings.redis_url else LocalPubSub()
    register(jobs, settings, sessionmaker, runtime, engine, pubsub)
    try:
        await worker.consume(jobs, settings, database=engine.dialect.name)
    finally:
        await embedder.aclose()
        await engine.dispose()
