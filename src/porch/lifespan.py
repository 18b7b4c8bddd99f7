"""The lifespan: every long-lived object built once, kept in one `State` on the app.

Only the app (this module and app.py) knows the whole of it. Routes take one object each
through its own dependency (deps.py, and `RetrieverDep`, `JobsDep`, `LimitsDep`… in the
domains); the pipeline, the sockets and the drain declare the few fields they read as a
protocol of their own (chat/answer/context.py, realtime/context.py, drain.py), which
this `State` satisfies.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import structlog
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from porch import __version__, drain, gc_tuning, tasks
from porch.actions.index import ActionIndex
from porch.db import create_engine, create_sessionmaker
from porch.jobs.queue import Jobs, build_jobs
from porch.knowledge.ingest.leases import Runtime
from porch.knowledge.ingest.tasks import Ingest
from porch.knowledge.search.keyword import KeywordIndex, keyword_index
from porch.knowledge.search.retriever import Retriever, build_retriever
from porch.limits.service import RateLimits
from porch.observability.metrics import Metrics
from porch.providers.registry import ProviderRegistry
from porch.pubsub import LocalPubSub, PubSub, RedisPubSub
from porch.realtime.grants import Recheck
from porch.realtime.hub import Realtime
from porch.settings import Settings
from porch.webhooks.dispatch import WebhookDispatcher
from porch.widgets.cache import WidgetCache

log = structlog.get_logger("porch.app")


@dataclass
class State:
    settings: Settings
    engine: AsyncEngine
    # The same pool without BEGIN/COMMIT: for the chat path's single-statement reads and writes.
    autocommit: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    redis: Any | None
    pubsub: PubSub
    limits: RateLimits
    metrics: Metrics
    providers: ProviderRegistry
    widgets: WidgetCache
    # Each widget's enabled actions, dropped on change (actions/index.py).
    actions: ActionIndex
    keywords: KeywordIndex
    # Hybrid search (dense + keyword) for chat and the owner's search; owns the embedder.
    retriever: Retriever
    # The job queue: taskiq in-process, or on Redis with `porch worker` processes.
    jobs: Jobs
    # Ingestion's side of the queue: enqueue syncs and back-fills; the re-sync schedule.
    ingest: Ingest
    # Realtime events: the broker, the sockets, heartbeats (see realtime/).
    realtime: Realtime
    started_at: float = field(default_factory=time.time)
    # Answers being generated; shutdown waits for them so no reply is cut mid-write.
    answers: set[asyncio.Task[None]] = field(default_factory=set)
    draining: bool = False
    # Bounds the questions being prepared at once (see Settings.answer_prepare_slots).
    preparing: asyncio.Semaphore | None = None

    def __post_init__(self) -> None:
        slots = self.settings.answer_prepare_slots
        if slots and self.preparing is None:
            self.preparing = asyncio.Semaphore(slots)

    def prepare_slot(self) -> contextlib.AbstractAsyncContextManager[Any]:
        """A turn to prepare a question; immediate when the setting is 0."""
        return self.preparing if self.preparing is not None else contextlib.nullcontext()

    def track(self, task: asyncio.Task[None]) -> None:
        self.answers.add(task)
        task.add_done_callback(self.answers.discard)


def _redis_client(url: str) -> Any:
    from redis.asyncio import Redis

    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2, health_check_interval=15)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    metrics: Metrics = app.state.metrics
    engine = create_engine(settings)
    sessionmaker = create_sessionmaker(engine)
    redis = _redis_client(settings.redis_url) if settings.redis_url else None
    pubsub: PubSub = RedisPubSub(redis) if redis is not None else LocalPubSub()
    await pubsub.start()
    realtime = Realtime(settings, pubsub)
    providers = ProviderRegistry(settings, metrics)
    retriever = build_retriever(settings, engine)
    jobs = build_jobs(settings)
    runtime = Runtime(settings, sessionmaker, retriever.keywords, retriever.embedder)
    ingest = tasks.register(jobs, settings, sessionmaker, runtime)
    state = State(
        settings=settings,
        engine=engine,
        autocommit=engine.execution_options(isolation_level="AUTOCOMMIT"),
        sessionmaker=sessionmaker,
        redis=redis,
        pubsub=pubsub,
        limits=RateLimits(settings.redis_url),
        metrics=metrics,
        providers=providers,
        widgets=WidgetCache(sessionmaker, pubsub),
        actions=ActionIndex(sessionmaker, pubsub),
        keywords=keyword_index(engine.dialect.name),
        retriever=retriever,
        jobs=jobs,
        ingest=ingest,
        realtime=realtime,
    )
    app.state.porch = state
    realtime.revoker.recheck = Recheck(state.autocommit, settings)
    undo_drain = drain.install(state)
    await jobs.start()
    # Durable events become webhook deliveries in the process that published them.
    realtime.broker.listeners.append(WebhookDispatcher(settings, sessionmaker, pubsub, jobs))
    await realtime.start()
    gc_tuning.settle(settings.gc_young_threshold)
    gc_tuning.log_pauses(settings.gc_log_pause_ms)
    log.info(
        "started",
        version=__version__,
        database=engine.dialect.name,
        redis=redis is not None,
        llm=settings.llm_provider,
    )
    try:
        yield
    finally:
        undo_drain()
        state.draining = True
        if state.answers:
            # Replies in flight finish and are stored before the process goes.
            log.info("draining", answers=len(state.answers))
            await asyncio.wait(set(state.answers), timeout=settings.shutdown_grace_seconds)
        # Sockets closed and queued events published (webhooks queued) before jobs stop.
        await realtime.aclose()
        await jobs.aclose()
        await retriever.aclose()
        await providers.aclose()
        await pubsub.aclose()
        if redis is not None:
            with contextlib.suppress(Exception):
                await redis.aclose()
        await engine.dispose()
        log.info("stopped")
