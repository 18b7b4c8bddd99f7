"""Eval runs outside a server (`porch eval run`): the same runner on a short-lived runtime
of its own, for the owner's CI. Webhook deliveries are stored; a server sends them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from porch.curation.index import CuratedIndex
from porch.db import create_engine, create_sessionmaker
from porch.errors import NotFound
from porch.evals import runner, runs
from porch.evals.schemas import RunIn, RunOut
from porch.knowledge.search.retriever import Retriever, build_retriever
from porch.models import Widget
from porch.observability.metrics import Metrics
from porch.providers.registry import ProviderRegistry
from porch.settings import Settings


@dataclass
class _Runtime:
    settings: Settings
    metrics: Metrics
    autocommit: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    retriever: Retriever
    providers: ProviderRegistry
    curated: CuratedIndex


async def run_once(settings: Settings, widget_id: uuid.UUID, tags: Sequence[str]) -> RunOut:
    engine = create_engine(settings)
    retriever = build_retriever(settings, engine)
    metrics = Metrics()
    providers = ProviderRegistry(settings, metrics)
    rt = _Runtime(
        settings=settings,
        metrics=metrics,
        autocommit=engine.execution_options(isolation_level="AUTOCOMMIT"),
        sessionmaker=create_sessionmaker(engine),
        retriever=retriever,
        providers=providers,
        curated=CuratedIndex(settings, retriever.embedder, None),
    )
    try:
        async with rt.sessionmaker() as session:
            widget = await session.get(Widget, widget_id)
            if widget is None:
                raise NotFound(f"No widget {widget_id}.", code="widget_not_found")
            run = runs.new_run(
                widget.workspace_id, widget_id, RunIn(tags=list(tags) or None), "cli"
            )
            session.add(run)
            await session.commit()
            run_id = run.id
        done = await runner.execute(rt, run_id, None)
        assert done is not None
        return runs.to_out(done)
    finally:
        await retriever.aclose()
        await providers.aclose()
        await engine.dispose()
