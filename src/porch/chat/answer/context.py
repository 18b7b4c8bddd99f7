"""What the answer pipeline (and the visitor routes that start it) read of the running
process: built once by the lifespan, whose state is one."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from porch.actions.index import ActionIndex
from porch.curation.index import CuratedIndex
from porch.knowledge.search.retriever import Retriever
from porch.limits.service import RateLimits
from porch.observability.metrics import Metrics
from porch.privacy.rules import RuleBook
from porch.providers.registry import ProviderRegistry
from porch.pubsub import PubSub
from porch.realtime.hub import Realtime
from porch.settings import Settings
from porch.widgets.cache import WidgetCache


class State(Protocol):
    settings: Settings
    metrics: Metrics
    pubsub: PubSub

    @property
    def engine(self) -> AsyncEngine: ...
    @property
    def autocommit(self) -> AsyncEngine: ...
    @property
    def sessionmaker(self) -> async_sessionmaker[AsyncSession]: ...
    @property
    def limits(self) -> RateLimits: ...
    @property
    def retriever(self) -> Retriever: ...
    @property
    def curated(self) -> CuratedIndex: ...
    @property
    def providers(self) -> ProviderRegistry: ...
    @property
    def realtime(self) -> Realtime: ...
    @property
    def widgets(self) -> WidgetCache: ...
    @property
    def redaction(self) -> RuleBook: ...
    @property
    def actions(self) -> ActionIndex: ...

    def prepare_slot(self) -> contextlib.AbstractAsyncContextManager[Any]:
        """A turn to prepare a question (see Settings.answer_prepare_slots)."""

    def track(self, task: asyncio.Task[None]) -> None:
        """Keep a reply's task until it ends: shutdown waits for it."""
