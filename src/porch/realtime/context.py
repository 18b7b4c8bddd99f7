"""What the socket endpoints read of the running process; the lifespan's state is one."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from porch.realtime.hub import Realtime
from porch.settings import Settings
from porch.widgets.cache import WidgetCache


class State(Protocol):
    @property
    def settings(self) -> Settings: ...
    @property
    def autocommit(self) -> AsyncEngine: ...
    @property
    def sessionmaker(self) -> async_sessionmaker[AsyncSession]: ...
    @property
    def widgets(self) -> WidgetCache: ...
    @property
    def realtime(self) -> Realtime: ...
