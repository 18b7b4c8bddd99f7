"""What running actions in a conversation reads of the process (the lifespan's state is one)."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from porch.actions.index import ActionIndex
from porch.observability.metrics import Metrics
from porch.settings import Settings


class ActionsState(Protocol):
    settings: Settings
    metrics: Metrics

    @property
    def autocommit(self) -> AsyncEngine: ...
    @property
    def sessionmaker(self) -> async_sessionmaker[AsyncSession]: ...
    @property
    def actions(self) -> ActionIndex: ...
