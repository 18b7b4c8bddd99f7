"""What evals and the playground read of the running process (or of the CLI's own)."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from porch.curation.index import CuratedIndex
from porch.knowledge.search.retriever import Retriever
from porch.observability.metrics import Metrics
from porch.providers.registry import ProviderRegistry
from porch.settings import Settings


class Runtime(Protocol):
    settings: Settings
    metrics: Metrics

    @property
    def autocommit(self) -> AsyncEngine: ...
    @property
    def sessionmaker(self) -> async_sessionmaker[AsyncSession]: ...
    @property
    def retriever(self) -> Retriever: ...
    @property
    def providers(self) -> ProviderRegistry: ...
    @property
    def curated(self) -> CuratedIndex: ...
