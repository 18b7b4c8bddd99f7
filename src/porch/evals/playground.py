"""The playground: the owner asks as a visitor would and sees why the answer is what it is
(passages and scores, the threshold, the curated answer that applied). Stores nothing."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from porch.evals.context import Runtime
from porch.evals.schemas import PlaygroundIn, PlaygroundOut
from porch.evals.simulate import Simulator
from porch.providers.base import Turn
from porch.widgets import service as widgets
from porch.widgets.cache import build_config
from porch.widgets.schemas import Handoff


async def ask(
    session: AsyncSession,
    runtime: Runtime,
    workspace_id: uuid.UUID,
    widget_id: uuid.UUID,
    body: PlaygroundIn,
) -> PlaygroundOut:
    widget = await widgets.get(session, workspace_id, widget_id)
    sim = Simulator(runtime, build_config(widget), Handoff.model_validate(widget.handoff or {}))
    sim.history = [Turn(t.role, t.content) for t in body.history]
    reply = await sim.ask(body.content, page_url=body.page_url, detail=True)
    return PlaygroundOut(
        message={
            "content": reply.text,
            "sources": reply.sources,
            "status": reply.status,
            "provider": reply.provider,
            "model": reply.model,
            "usage": {"prompt_tokens": reply.usage[0], "completion_tokens": reply.usage[1]},
        },
        retrieval={
            "candidates": reply.candidates,
            "threshold": reply.threshold,
            "refused": not reply.answered,
        },
        curated=reply.curated,
        actions=reply.actions,
        handoff=reply.handoff,
        latency_ms=reply.latency_ms,
    )
