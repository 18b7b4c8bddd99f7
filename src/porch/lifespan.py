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
from porch.actions import live as action_live
from porch.actions import notify
from porch.actions.expiry import ExpiredConfirmations
from porch.actions.index import ActionIndex
from porch.curation.index import CuratedIndex
from porch.db import create_engine, create_sessionmaker
from porch.evals.background import Evals
from porch.jobs.queue import Jobs, build_jobs
from porch.knowledge.ingest.leases import Runtime
from porch.knowledge.ingest.tasks import Ingest
from porch.knowledge.search import pgvector
from porch.knowledge.search.keyword import KeywordIndex, keyword_index
from porch.knowledge.search.retriever import Retriever, build_retriever
from porch.limits.service import RateLimits
from porch.observability.metrics import Metrics
from porch.privacy.rules import RuleBook
from porch.privacy.tasks import Privacy
from porch.providers.registry import ProviderRegistry
from porch.pubsub import LocalPubSub, PubSub, RedisPubSub, redis_client
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
    # Each widget's approved curated answers in memory, matched before retrieval.
    curated: CuratedIndex
    # The job queue: taskiq in-process, or on Redis with `porch worker` processes.
    jobs: Jobs
    # Ingestion's side of the queue: enqueue syncs and back-fills; the re-sync schedule.
    ingest: Ingest
    # Realtime events: the broker, the sockets, heartbeats (see realtime/).
    realtime: Realtime
    # Retention sweep and redaction rules (privacy/); `redaction` is what chat reads.
    privacy: Privacy
    redaction: RuleBook
    # Where dense search runs: "in-memory", "pgvector 0.8.5", or "missing: ..." (the reason).
    vectors: str = "in-memory"
    started_at: float = field(default_factory=time.time)
    # Eval runs in the background and the watch that re-runs them after changes.
    evals: Evals = field(init=False)
    # Confirmations nobody answered, expired on time in every server process.
    expiry: ExpiredConfirmations = field(init=False)
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


async def _build(settings: Settings, metrics: Metrics) -> State:
    """Every long-lived object, each built once, wired to the others."""
    engine = create_engine(settings)
    sessionmaker = create_sessionmaker(engine)
    redis = redis_client(settings.redis_url) if settings.redis_url else None
    pubsub: PubSub = RedisPubSub(redis) if redis is not None else LocalPubSub()
    await pubsub.start()
    vectors = await pgvector.detect(engine)
    retriever = build_retriever(settings, engine, vectors)
    jobs = build_jobs(settings)
    runtime = Runtime(settings, sessionmaker, retriever.keywords, retriever.embedder)
    ingest, privacy = tasks.register(jobs, settings, sessionmaker, runtime, engine, pubsub)
    state = State(
        settings=settings,
        engine=engine,
        autocommit=engine.execution_options(isolation_level="AUTOCOMMIT"),
        sessionmaker=sessionmaker,
        redis=redis,
        pubsub=pubsub,
        limits=RateLimits(settings.redis_url),
        metrics=metrics,
        providers=ProviderRegistry(settings, metrics),
        widgets=WidgetCache(sessionmaker, pubsub),
        actions=ActionIndex(sessionmaker, pubsub),
        keywords=keyword_index(engine.dialect.name),
        retriever=retriever,
        curated=CuratedIndex(settings, retriever.embedder, pubsub),
        vectors=vectors.status,
        jobs=jobs,
        ingest=ingest,
        realtime=Realtime(settings, pubsub),
        privacy=privacy,
        redaction=privacy.rules,
    )
    # Eval runs answer through the same pipeline as visitors, so they need the whole state.
    state.evals = Evals(state, jobs)
    state.expiry = ExpiredConfirmations(sessionmaker)
    return state


async def _start(state: State) -> None:
    """Start the jobs and the sockets' broker; tune the collector for a long-lived heap."""
    settings = state.settings
    state.realtime.revoker.recheck = Recheck(state.autocommit, settings)
    await state.jobs.start()
    # Durable events become webhook deliveries in the process that published them; action
    # calls record theirs through the same dispatcher in their own transaction.
    dispatcher = WebhookDispatcher(
        settings, state.sessionmaker, state.pubsub, state.jobs, state.privacy.rules
    )
    notify.install(state.sessionmaker, dispatcher.record_in)
    # ...and tell agents' inbox sockets each time one is recorded or changes state.
    action_live.install(state.sessionmaker, state.realtime.broker.publish)
    state.expiry.start()
    state.evals.start_watch()
    state.realtime.broker.listeners.append(dispatcher)
    await state.realtime.start()
    gc_tuning.settle(settings.gc_young_threshold)
    gc_tuning.log_pauses(settings.gc_log_pause_ms)


async def _stop(state: State) -> None:
    """Let replies in flight finish, then close everything in the order it depends."""
    state.draining = True
    if state.answers:
        # Replies in flight finish and are stored before the process goes.
        log.info("draining", answers=len(state.answers))
        await asyncio.wait(set(state.answers), timeout=state.settings.shutdown_grace_seconds)
    # Sockets closed and queued events published (webhooks queued) before jobs stop.
    await state.realtime.aclose()
    await state.evals.aclose()
    await state.expiry.aclose()
    await state.jobs.aclose()
    await state.retriever.aclose()
    await state.providers.aclose()
    await state.pubsub.aclose()
    if state.redis is not None:
        with contextlib.suppress(Exception):
            await state.redis.aclose()
    await state.engine.dispose()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    state = await _build(app.state.settings, app.state.metrics)
    app.state.porch = state
    undo_drain = drain.install(state)
    await _start(state)
    log.info(
        "started",
        version=__version__,
        database=state.engine.dialect.name,
        redis=state.redis is not None,
        llm=state.settings.llm_provider,
    )
    try:
        yield
    finally:
        undo_drain()
        await _stop(state)
        log.info("stopped")
