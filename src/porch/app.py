"""create_app(settings): the ASGI app, with a lifespan that builds every client once."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from porch import __version__, drain, gc_tuning
from porch.accounts.routes import router as accounts_router
from porch.accounts.team_routes import router as team_router
from porch.analytics.routes import router as analytics_router
from porch.audit.routes import router as audit_router
from porch.chat.agent_routes import AgentMessages
from porch.chat.agent_routes import router as agent_router
from porch.chat.compat import LegacyPaths
from porch.chat.compat import router as compat_router
from porch.chat.identity import router as identity_router
from porch.chat.inbox_routes import router as inbox_router
from porch.chat.routes import router as chat_router
from porch.dashboard.routes import router as dashboard_router
from porch.db import create_engine, create_sessionmaker
from porch.drain import DrainGate
from porch.errors import install_error_handlers
from porch.jobs.queue import build_jobs
from porch.knowledge.keyword import keyword_index
from porch.knowledge.leases import Runtime
from porch.knowledge.retriever import build_retriever
from porch.knowledge.routes import UPLOAD_PATH
from porch.knowledge.routes import router as knowledge_router
from porch.limits.service import RateLimits
from porch.observability import logging as porch_logging
from porch.observability.metrics import Metrics
from porch.observability.middleware import RequestContextMiddleware
from porch.observability.routes import router as ops_router
from porch.providers.registry import ProviderRegistry
from porch.pubsub import LocalPubSub, PubSub, RedisPubSub
from porch.realtime.fastpath import ConversationSockets
from porch.realtime.grants import Recheck
from porch.realtime.hub import Realtime
from porch.realtime.routes import router as realtime_router
from porch.security.cors import VisitorCORS
from porch.security.headers import security_headers
from porch.settings import Settings, load_settings
from porch.state import State
from porch.usage.routes import router as usage_router
from porch.web.routes import router as web_router
from porch.webhooks.dispatch import WebhookDispatcher
from porch.webhooks.routes import router as webhooks_router
from porch.widgets.cache import WidgetCache
from porch.widgets.fastpath import PublicConfigFastPath
from porch.widgets.routes import public_router as widgets_public_router
from porch.widgets.routes import router as widgets_router
from porch.widgets.secrets import router as widget_secrets_router

log = structlog.get_logger("porch.app")


async def _origin_allowed(
    app: FastAPI, widget_id: uuid.UUID, origin: str, host: str | None
) -> bool | None:
    state: State | None = getattr(app.state, "porch", None)
    config = await state.widgets.get(widget_id) if state is not None else None
    return config.allows_origin(origin, host) if config is not None else None


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
    jobs = build_jobs(Runtime(settings, sessionmaker, retriever.keywords, retriever.embedder))
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
        keywords=keyword_index(engine.dialect.name),
        retriever=retriever,
        jobs=jobs,
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


class Porch(FastAPI):
    """FastAPI, with visitors' conversation sockets served before the middleware stack:
    a socket keeps every layer it passed through on its stack while it is open."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sockets = ConversationSockets(lambda: getattr(self.state, "porch", None))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        socket = self.sockets.match(scope, receive, send)
        if socket is not None:
            await socket
            return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    porch_logging.configure(settings.log_level, settings.log_json)
    app = Porch(
        title="porch",
        version=__version__,
        lifespan=lifespan,
        description="Self-hostable AI support chat: widgets, knowledge, streamed answers.",
    )
    app.state.settings = settings
    app.state.metrics = Metrics()
    install_error_handlers(app)
    headers = security_headers(settings)

    # FastAPI matches a request against each route in turn, router by router (and matches
    # the chosen router twice), so order is CPU: with the visitor routes last, matching cost
    # a trivial request about half its CPU. The visitor's hot paths come first, then what
    # probes and agents call often, then owner pages. No two routes' patterns overlap, so
    # the order changes nothing else.
    for router in (
        chat_router,
        widgets_public_router,
        realtime_router,
        identity_router,
        ops_router,
        web_router,
        compat_router,
        inbox_router,
        agent_router,
        accounts_router,
        team_router,
        audit_router,
        widgets_router,
        knowledge_router,
        widget_secrets_router,
        webhooks_router,
        analytics_router,
        usage_router,
        dashboard_router,
    ):
        app.include_router(router)

    # CORS per widget: the exact Origin on visitor routes, only where the widget allows it.
    app.add_middleware(VisitorCORS, origin_check=lambda *a: _origin_allowed(app, *a))
    # Owner aliases (/api/widgets…) for automation written against the systems porch replaces.
    app.add_middleware(LegacyPaths)
    # After SIGTERM: new requests get 503 while the streams in flight finish.
    app.add_middleware(DrainGate, state=lambda: getattr(app.state, "porch", None))
    # A person's POST /conversations/{id}/messages (no visitor token) is an agent reply.
    app.add_middleware(AgentMessages)
    app.add_middleware(
        RequestContextMiddleware,
        metrics=app.state.metrics,
        max_body=settings.max_body_bytes,
        extra_headers=headers,
        # Document uploads; the multipart envelope adds a little to the file's own limit.
        large_bodies=(UPLOAD_PATH, settings.upload_max_bytes + 64 * 1024),
    )
    # Outermost: the hottest public path answers before anything else runs.
    app.add_middleware(
        PublicConfigFastPath,
        cache=lambda: getattr(getattr(app.state, "porch", None), "widgets", None),
        metrics=app.state.metrics,
        extra_headers=headers,
    )
    return app


def create_app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory` and `porch serve`: settings from the environment."""
    return create_app()
