"""create_app(settings): the ASGI app, with a lifespan that builds every client once."""

from __future__ import annotations

from typing import Any, cast

import structlog
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from porch import __version__
from porch.accounts.routes import router as accounts_router
from porch.accounts.team_routes import router as team_router
from porch.actions.routes import router as actions_router
from porch.analytics.routes import router as analytics_router
from porch.audit.routes import router as audit_router
from porch.chat.inbox.action_routes import router as inbox_actions_router
from porch.chat.inbox.agent_routes import router as agent_router
from porch.chat.inbox.routes import router as inbox_router
from porch.chat.visitor import compat_paths
from porch.chat.visitor.compat import router as compat_router
from porch.chat.visitor.compat_config import router as compat_config_router
from porch.chat.visitor.confirmations import router as confirmations_router
from porch.chat.visitor.dependencies import origin_verdict
from porch.chat.visitor.erasure import router as visitor_erasure_router
from porch.chat.visitor.identity import router as identity_router
from porch.chat.visitor.routes import router as chat_router
from porch.curation.routes import router as curation_router
from porch.curation.suggestion_routes import router as suggestion_router
from porch.dashboard.curation_pages import router as curation_pages_router
from porch.dashboard.routes import router as dashboard_router
from porch.drain import DrainGate
from porch.errors import install_error_handlers
from porch.evals.routes import router as evals_router
from porch.knowledge.search.routes import router as search_router
from porch.knowledge.sources.routes import UPLOAD_PATH
from porch.knowledge.sources.routes import router as knowledge_router
from porch.lifespan import State, lifespan
from porch.observability import logging as porch_logging
from porch.observability.metrics import Metrics
from porch.observability.middleware import RequestContextMiddleware
from porch.observability.routes import router as ops_router
from porch.privacy.routes import router as privacy_router
from porch.realtime.fastpath import ConversationSockets
from porch.realtime.routes import router as realtime_router
from porch.security.cors import CORSPreflight, Kind, VisitorCORS
from porch.security.headers import security_headers
from porch.settings import Settings, load_settings
from porch.usage.routes import router as usage_router
from porch.web.apidocs import router as apidocs_router
from porch.web.routes import router as web_router
from porch.webhooks.routes import router as webhooks_router
from porch.widgets.fastpath import PublicConfigFastPath
from porch.widgets.routes import public_router as widgets_public_router
from porch.widgets.routes import router as widgets_router
from porch.widgets.secrets import router as widget_secrets_router

log = structlog.get_logger("porch.app")


async def _origin_allowed(
    app: FastAPI, kind: Kind, ident: str | None, origin: str, host: str | None
) -> bool | None:
    state: State | None = getattr(app.state, "porch", None)
    return await origin_verdict(state, kind, ident, origin, host) if state is not None else None


class Porch(FastAPI):
    """FastAPI, with visitors' conversation sockets served before the middleware stack:
    a socket keeps every layer it passed through on its stack while it is open.

    X-Forwarded-For and X-Forwarded-Proto are believed only from PORCH_TRUSTED_PROXIES
    (none by default), before anything reads the client's address: per-IP limits, the
    audit log and the loopback check on /metrics see the real peer otherwise."""

    def __init__(self, *, trusted_proxies: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sockets = ConversationSockets(lambda: getattr(self.state, "porch", None))
        # uvicorn's middleware, typed for uvicorn's own scope types.
        self.proxies: ASGIApp | None = (
            cast(ASGIApp, ProxyHeadersMiddleware(cast(Any, self._serve), trusted_proxies))
            if trusted_proxies
            else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.proxies is not None:
            await self.proxies(scope, receive, send)
        else:
            await self._serve(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        socket = self.sockets.match(scope, receive, send)
        if socket is not None:
            await socket
            return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    porch_logging.configure(settings.log_level, settings.log_json)
    app = Porch(
        trusted_proxies=settings.trusted_proxies,
        title="porch",
        version=__version__,
        lifespan=lifespan,
        # /docs is served by porch.web.apidocs, with Swagger UI's assets from porch itself.
        docs_url=None,
        redoc_url=None,
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
    routers = (
        chat_router,
        widgets_public_router,
        realtime_router,
        identity_router,
        visitor_erasure_router,
        ops_router,
        web_router,
        compat_router,
        compat_config_router,
        inbox_router,
        agent_router,
        inbox_actions_router,
        accounts_router,
        team_router,
        audit_router,
        widgets_router,
        knowledge_router,
        search_router,
        widget_secrets_router,
        webhooks_router,
        privacy_router,
        actions_router,
        confirmations_router,
        analytics_router,
        usage_router,
        apidocs_router,
        curation_router,
        suggestion_router,
        evals_router,
        curation_pages_router,
        dashboard_router,
    )
    for router in routers:
        app.include_router(router)
    # /api/widgets… for automation written against the systems porch replaces.
    app.include_router(compat_paths.aliases(routers, "/api/v1/widgets", "/api/widgets"))

    # Listed innermost first. Preflights are answered inside the request context (request
    # id, security headers, metrics) but before the drain gate: during a restart the browser
    # may still send the request, and read its 503.
    async def check(kind: Kind, ident: str | None, origin: str, host: str | None) -> bool | None:
        return await _origin_allowed(app, kind, ident, origin, host)

    # After SIGTERM: new requests get 503 while the streams in flight finish.
    app.add_middleware(DrainGate, state=lambda: getattr(app.state, "porch", None))
    app.add_middleware(CORSPreflight, origin_check=check)
    app.add_middleware(
        RequestContextMiddleware,
        metrics=app.state.metrics,
        max_body=settings.max_body_bytes,
        extra_headers=headers,
        # Document uploads; the multipart envelope adds a little to the file's own limit.
        large_bodies=(UPLOAD_PATH, settings.upload_max_bytes + 64 * 1024),
    )
    # CORS per widget, outside every layer that answers on its own (413, 503), so that every
    # reply an allowed origin gets is readable to it (security/cors.py).
    app.add_middleware(VisitorCORS, origin_check=check)
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
