"""Owners read usage and budgets: per widget, and for the whole workspace."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from porch.accounts.dependencies import AdminScope
from porch.deps import SessionDep, SettingsDep
from porch.usage import service
from porch.usage.budgets import widget_budgets
from porch.usage.schemas import UsageOut, WorkspaceUsageOut
from porch.widgets import service as widgets

router = APIRouter(prefix="/api/v1", tags=["usage"])


@router.get("/widgets/{widget_id}/usage", response_model=UsageOut)
async def widget_usage(
    widget_id: uuid.UUID, owner: AdminScope, session: SessionDep, settings: SettingsDep
) -> UsageOut:
    widget = await widgets.get(session, owner.workspace_id, widget_id)
    budgets = widget_budgets(settings, dict(widget.limits or {}))
    conn = await session.connection()
    body = await service.read_usage(settings, conn, "widget", widget.id, budgets)
    return UsageOut.model_validate(body)


@router.get("/usage", response_model=WorkspaceUsageOut)
async def workspace_usage(
    owner: AdminScope, session: SessionDep, settings: SettingsDep
) -> WorkspaceUsageOut:
    body = await service.workspace_usage(session, settings, owner.workspace_id)
    return WorkspaceUsageOut.model_validate(body)
