"""Request-scoped dependencies on the shared infrastructure, one per resource.

The lifespan (lifespan.py) builds every long-lived object once and keeps them on the app;
each dependency here, and each domain's own (`RetrieverDep` in knowledge/search, `JobsDep`
in jobs, `LimitsDep` in limits…), hands a route exactly one of them, typed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection

from porch import revocation
from porch.db import session_scope
from porch.pubsub import PubSub
from porch.settings import Settings


def built(conn: HTTPConnection, name: str) -> Any:
    """One of the objects the lifespan built (see lifespan.State), by its field name."""
    return getattr(conn.app.state.porch, name)


# Async on purpose: FastAPI runs plain `def` dependencies in a thread pool, a hop per request.
async def get_settings(conn: HTTPConnection) -> Settings:
    settings: Settings = conn.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_sessionmaker(conn: HTTPConnection) -> async_sessionmaker[AsyncSession]:
    factory: async_sessionmaker[AsyncSession] = built(conn, "sessionmaker")
    return factory


SessionmakerDep = Annotated[async_sessionmaker[AsyncSession], Depends(get_sessionmaker)]


async def get_session(
    conn: HTTPConnection, factory: SessionmakerDep
) -> AsyncIterator[AsyncSession]:
    async for session in session_scope(factory):
        yield session
    # Committed (a handler that raised never gets here): close the sockets whose access the
    # request ended, on every process (revocation.py).
    await revocation.announce(session, built(conn, "pubsub"))


# "function" scope commits before the response leaves, so a 2xx means the data is durable.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_engine(conn: HTTPConnection) -> AsyncEngine:
    engine: AsyncEngine = built(conn, "engine")
    return engine


EngineDep = Annotated[AsyncEngine, Depends(get_engine)]


async def get_autocommit(conn: HTTPConnection) -> AsyncEngine:
    """The same pool without BEGIN/COMMIT: for single-statement reads and writes."""
    engine: AsyncEngine = built(conn, "autocommit")
    return engine


AutocommitDep = Annotated[AsyncEngine, Depends(get_autocommit)]


async def get_redis(conn: HTTPConnection) -> Any | None:
    """The Redis client, or None on the embedded default."""
    return built(conn, "redis")


RedisDep = Annotated[Any | None, Depends(get_redis)]


async def get_pubsub(conn: HTTPConnection) -> PubSub:
    pubsub: PubSub = built(conn, "pubsub")
    return pubsub


PubSubDep = Annotated[PubSub, Depends(get_pubsub)]
