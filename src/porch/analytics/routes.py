"""Owner route of a widget's analytics."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from porch.accounts.dependencies import AdminScope
from porch.analytics import service
from porch.analytics.schemas import AnalyticsOut
from porch.deps import SessionDep

router = APIRouter(prefix="/api/v1", tags=["analytics"])


@router.get("/widgets/{widget_id}/analytics", response_model=AnalyticsOut)
async def widget_analytics(
    widget_id: uuid.UUID,
    owner: AdminScope,
    session: SessionDep,
    date_from: Annotated[date | None, Query(alias="from", description="First UTC day")] = None,
    date_to: Annotated[date | None, Query(alias="to", description="Last UTC day")] = None,
) -> AnalyticsOut:
    """Per day and in total over the range (default: the last 30 days)."""
    return await service.widget_analytics(
        session, owner.workspace_id, widget_id, date_from, date_to
    )
