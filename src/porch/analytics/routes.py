"""Owner routes of a widget's analytics and the CSV export of its conversations."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from porch.accounts.dependencies import AdminScope
from porch.analytics import export, service
from porch.analytics.schemas import AnalyticsOut
from porch.deps import SessionDep, SessionmakerDep
from porch.knowledge.search.dependencies import RetrieverDep
from porch.schemas import Day
from porch.widgets import service as widgets

router = APIRouter(prefix="/api/v1", tags=["analytics"])
FirstDay = Annotated[Day | None, Query(alias="from", description="First UTC day")]
LastDay = Annotated[Day | None, Query(alias="to", description="Last UTC day")]


@router.get("/widgets/{widget_id}/analytics", response_model=AnalyticsOut)
async def widget_analytics(
    widget_id: uuid.UUID,
    owner: AdminScope,
    session: SessionDep,
    retriever: RetrieverDep,
    date_from: FirstDay = None,
    date_to: LastDay = None,
    include_tests: Annotated[
        bool, Query(description="Count the owners' test runs in `actions`")
    ] = False,
) -> AnalyticsOut:
    """Per day and in total over the range (default: the last 30 days), unanswered questions
    grouped by meaning, how handed-off conversations went, and how actions' calls went."""
    return await service.widget_analytics(
        session,
        owner.workspace_id,
        widget_id,
        date_from,
        date_to,
        retriever.embedder,
        include_tests,
    )


@router.get(
    "/widgets/{widget_id}/conversations.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "One line per conversation"}},
)
async def conversations_csv(
    widget_id: uuid.UUID,
    owner: AdminScope,
    session: SessionDep,
    sessionmaker: SessionmakerDep,
    date_from: FirstDay = None,
    date_to: LastDay = None,
) -> StreamingResponse:
    """The widget's conversations begun in the range (default: the last 30 days), streamed."""
    await widgets.get(session, owner.workspace_id, widget_id)
    span = service.day_range(date_from, date_to)
    name = f"conversations-{widget_id}-{span.first}-{span.last}.csv"
    return StreamingResponse(
        export.rows(sessionmaker, owner.workspace_id, widget_id, span.start, span.end),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
