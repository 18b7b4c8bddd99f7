"""Liveness, readiness, status and Prometheus metrics.

/health, /live and /ready are public: load balancers and orchestrators call them, and they
say only "up" or "not". /status and /metrics tell versions, the model in use, breaker
states, queue depths and traffic by route: with PORCH_OPS_TOKEN set they need it as a
Bearer token, otherwise they answer only requests from this machine that came through no
proxy (docs/security.md).
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import time
from collections.abc import Collection, Sequence
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import HTTPConnection

from porch import __version__
from porch.deps import SettingsDep
from porch.errors import Forbidden, Unauthorized
from porch.jobs.queue import Jobs
from porch.observability.metrics import Metrics
from porch.settings import Settings

router = APIRouter(tags=["operations"])
CHECK_TIMEOUT = 2.0
# A request that carries one of these came through a proxy, whatever its peer address.
_FORWARDED = frozenset({b"x-forwarded-for", b"forwarded", b"x-real-ip"})


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def ops_access(request: Request, settings: SettingsDep) -> None:
    """Who may read /status and /metrics: the PORCH_OPS_TOKEN bearer, or this machine."""
    token = settings.ops_token
    if token is not None:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        expected = token.get_secret_value().encode()
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), expected):
            raise Unauthorized(
                "Send PORCH_OPS_TOKEN as a Bearer token.",
                code="ops_token_required",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return
    proxied = any(name in _FORWARDED for name, _ in request.scope["headers"])
    if proxied or not _loopback(request.client.host if request.client else ""):
        raise Forbidden(
            "This answers requests from this machine only; set PORCH_OPS_TOKEN to read it "
            "from elsewhere.",
            code="ops_local_only",
        )


OpsOnly = [Depends(ops_access)]


class _Breaker(Protocol):
    @property
    def provider(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def failures(self) -> int: ...


class _Providers(Protocol):
    def breakers(self) -> Sequence[_Breaker]: ...


class State(Protocol):
    """What the probes read of the running process (the lifespan's state is one)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def engine(self) -> AsyncEngine: ...
    @property
    def redis(self) -> Any | None: ...
    @property
    def metrics(self) -> Metrics: ...
    @property
    def jobs(self) -> Jobs: ...
    @property
    def providers(self) -> _Providers: ...
    @property
    def answers(self) -> Collection[Any]: ...
    @property
    def vectors(self) -> str: ...
    @property
    def draining(self) -> bool: ...
    @property
    def started_at(self) -> float: ...


async def _process(conn: HTTPConnection) -> State:
    state: State = conn.app.state.porch
    return state


StateDep = Annotated[State, Depends(_process)]


@router.get("/health")
@router.get("/live")
@router.get("/healthz")
async def live() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


async def _check_database(state: State) -> str:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            async with state.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        return "ok"
    except Exception as exc:
        return f"error: {type(exc).__name__}"


async def _check_redis(state: State) -> str:
    if state.redis is None:
        return "in-process"
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            await state.redis.ping()
        return "ok"
    except Exception as exc:
        return f"error: {type(exc).__name__}"


async def readiness(state: State) -> tuple[bool, dict[str, Any]]:
    database, cache = await asyncio.gather(_check_database(state), _check_redis(state))
    # Dense search: in memory, in pgvector, or "missing: <why>" (PostgreSQL without pgvector
    # still answers, from per-process matrices, so it does not make the process unready).
    checks = {"database": database, "cache": cache, "queue": cache, "vectors": state.vectors}
    ready = database == "ok" and not state.draining
    status = "ready" if ready else "unavailable"
    if ready and cache.startswith("error"):
        # Redis away: chat still works (limits fall back per process), so ready but degraded.
        status = "degraded"
    if state.draining:
        status = "draining"
    return ready, {"status": status, "checks": checks}


@router.get("/ready")
@router.get("/readyz")
async def ready(state: StateDep, response: Response) -> dict[str, Any]:
    """Database, cache and queue reachable; 503 otherwise."""
    ok, body = await readiness(state)
    if not ok:
        response.status_code = 503
        response.headers["Retry-After"] = "5"
    return body


@router.get("/status", dependencies=OpsOnly)
async def status(state: StateDep, response: Response) -> dict[str, Any]:
    """Readiness, versions, uptime and the circuit breakers."""
    ok, body = await readiness(state)
    if not ok:
        response.status_code = 503
    body.update(await _details(state))
    return body


async def _details(state: State) -> dict[str, Any]:
    """Versions, uptime, the breakers, replies streaming and the job queue."""
    return {
        "version": __version__,
        "uptime_seconds": round(time.time() - state.started_at, 1),
        "database": "sqlite" if state.settings.is_sqlite else "postgresql",
        "redis": state.redis is not None,
        "llm": {"provider": state.settings.llm_provider, "model": state.settings.llm_model},
        "breakers": [
            {"provider": b.provider, "model": b.model, "state": b.state, "failures": b.failures}
            for b in state.providers.breakers()
        ],
        "open_streams": len(state.answers),
        "jobs": {
            "queue": "memory" if state.jobs.in_process else "redis",
            "depth": await _queue_depth(state),
        },
    }


async def _queue_depth(state: State) -> int | None:
    """Jobs waiting in the queue; None while the queue cannot be asked (Redis away)."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            depth = await state.jobs.depth()
    except Exception:
        return None
    state.metrics.jobs_queue_depth.set(depth)
    return depth


@router.get("/metrics", dependencies=OpsOnly)
async def metrics(state: StateDep) -> Response:
    """Prometheus text format."""
    await _queue_depth(state)
    return Response(state.metrics.render(), media_type="text/plain; version=0.0.4")
