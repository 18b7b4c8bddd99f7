"""Owner routes for a widget's similarity threshold and its preview over recent questions."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from porch.accounts.dependencies import AdminScope
from porch.deps import SessionDep
from porch.knowledge.search import preview as preview_service
from porch.knowledge.search import tuning
from porch.knowledge.search.dependencies import RetrieverDep
from porch.knowledge.search.retriever import Retriever
from porch.knowledge.search.schemas import PreviewOut, PreviewPoint, ThresholdIn, ThresholdOut
from porch.widgets import service as widgets

router = APIRouter(prefix="/api/v1", tags=["knowledge"])
Similarity = Annotated[float, Field(ge=-1.0, le=1.0, allow_inf_nan=False)]


async def _threshold_out(
    session: SessionDep, retriever: Retriever, widget_id: uuid.UUID
) -> ThresholdOut:
    applied = await retriever.threshold_for(session, widget_id)
    return ThresholdOut(
        threshold=applied.own,
        effective=applied.value,
        source=applied.source,
        passages=applied.passages,
    )


@router.get("/widgets/{widget_id}/search/threshold", response_model=ThresholdOut)
async def get_threshold(
    widget_id: uuid.UUID, owner: AdminScope, session: SessionDep, retriever: RetrieverDep
) -> ThresholdOut:
    """The threshold the widget's searches use, and whether the owner set it."""
    await widgets.get(session, owner.workspace_id, widget_id)
    return await _threshold_out(session, retriever, widget_id)


@router.patch("/widgets/{widget_id}/search/threshold", response_model=ThresholdOut)
async def set_threshold(
    widget_id: uuid.UUID,
    body: ThresholdIn,
    owner: AdminScope,
    session: SessionDep,
    retriever: RetrieverDep,
) -> ThresholdOut:
    """Set the widget's own threshold; null returns it to the automatic one."""
    await tuning.set_threshold(session, owner.workspace_id, widget_id, body.threshold)
    return await _threshold_out(session, retriever, widget_id)


@router.get("/widgets/{widget_id}/search/threshold/preview", response_model=PreviewOut)
async def preview_threshold(
    widget_id: uuid.UUID,
    owner: AdminScope,
    session: SessionDep,
    retriever: RetrieverDep,
    value: Annotated[list[Similarity] | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = tuning.RECENT_QUESTIONS,
) -> PreviewOut:
    """How many of the widget's recent questions each threshold would have answered."""
    found = await preview_service.preview(
        session, retriever, owner.workspace_id, widget_id, value, limit
    )
    return PreviewOut(
        questions=found.questions,
        current=found.current,
        source=found.source,
        points=[PreviewPoint(threshold=p.threshold, answered=p.answered) for p in found.points],
    )
