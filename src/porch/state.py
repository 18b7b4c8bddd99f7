"""Everything the lifespan builds once, handed to code through dependencies."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from porch.limits.service import RateLimits
from porch.observability.metrics import Metrics
from porch.pubsub import PubSub
from porch.settings import Settings

if TYPE_CHECKING:
    from porch.jobs.queue import Jobs
    from porch.knowledge.ingest.tasks import Ingest
    from porch.knowledge.search.keyword import KeywordIndex
    from porch.knowledge.search.retriever import Retriever
    from porch.providers.registry import ProviderRegistry
    from porch.realtime.hub import Realtime
    from porch.widgets.cache import WidgetCache


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
    keywords: KeywordIndex
    # Hybrid search (dense + keyword) for chat and the owner's search; owns the embedder.
    retriever: Retriever
    # Background ingestion: taskiq in-process, or on Redis with `porch worker` processes.
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
