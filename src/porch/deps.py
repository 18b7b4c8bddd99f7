"""Request-scoped dependencies: the app state and one database session per request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from porch.db import session_scope
from porch.security import revocation
from porch.settings import Settings
from porch.state import State


# Async on purpose: FastAPI runs plain `def` dependencies in a thread pool, a hop per request.
async def get_state(request: Request) -> State:
    state: State = request.app.state.porch
    return state


StateDep = Annotated[State, Depends(get_state)]


async def get_settings(state: StateDep) -> Settings:
    return state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_session(state: StateDep) -> AsyncIterator[AsyncSession]:
    async for session in session_scope(state.sessionmaker):
        yield session
    # Committed (a handler that raised never gets here): close the sockets whose access the
    # request ended, on every process (security/revocation.py).
    await revocation.announce(session, state.pubsub)


# "function" scope commits before the response leaves, so a 2xx means the data is durable.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
