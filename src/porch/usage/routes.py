"""Owners read usage and budgets: per widget, and for the whole workspace."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from porch.accounts.dependencies import AdminScope
from porch.deps import SessionDep, StateDep
from porch.models.base import utcnow
from porch.usage import counters, service
from porch.usage.budgets import periods, widget_budgets, workspace_budgets
from porch.usage.schemas import Counters, UsageOut, WidgetUsage, WorkspaceUsageOut
from porch.widgets import service as widgets

router = APIRouter(prefix="/api/v1", tags=["usage"])


@router.get("/widgets/{widget_id}/usage", response_model=UsageOut)
async def widget_usage(
    widget_id: uuid.UUID, owner: AdminScope, session: SessionDep, state: StateDep
) -> UsageOut:
    widget = await widgets.get(session, owner.workspace_id, widget_id)
    budgets = widget_budgets(state.settings, dict(widget.limits or {}))
    conn = await session.connection()
    body = await service.read_usage(state, conn, "widget", widget.id, budgets)
    return UsageOut.model_validate(body)


@router.get("/usage", response_model=WorkspaceUsageOut)
async def workspace_usage(
    owner: AdminScope, session: SessionDep, state: StateDep
) -> WorkspaceUsageOut:
    conn = await session.connection()
    budgets = workspace_budgets(state.settings)
    body = await service.read_usage(state, conn, "workspace", owner.workspace_id, budgets)
    day, month = periods(utcnow())
    per_widget = await counters.read_widgets(conn, owner.workspace_id, day, month)
    names = {w.id: w.name for w in await widgets.list_all(session, owner.workspace_id)}
    zero = {"day": counters.Counts(), "month": counters.Counts()}
    body["widgets"] = [
        WidgetUsage(
            widget_id=wid,
            name=name,
            today=Counters.model_validate(service.counts_out(per_widget.get(wid, zero)["day"])),
            this_month=Counters.model_validate(
                service.counts_out(per_widget.get(wid, zero)["month"])
            ),
        )
        for wid, name in names.items()
    ]
    return WorkspaceUsageOut.model_validate(body)
