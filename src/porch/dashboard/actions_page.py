"""The widget's Actions page: definitions, secrets, OpenAPI import, the test panel and the
call log. Reads through the actions and analytics services; every write is the page's
script calling the JSON API."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import QueryParams
from starlette.responses import Response

from porch.actions import calls, secrets, service
from porch.analytics.actions import last_calls
from porch.dashboard import render
from porch.dashboard.auth import DashboardRoute, PageAdmin
from porch.deps import SessionDep
from porch.errors import NotFound
from porch.widgets import service as widgets

# No prefix: dashboard/routes.py includes this router under its own /app.
router = APIRouter(include_in_schema=False, route_class=DashboardRoute)

STATES = {
    "succeeded": "Succeeded",
    "failed": "Failed",
    "confirm": "Waiting for confirmation",
    "collecting": "Asking the visitor",
    "running": "Running",
}


def _uuid(raw: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw) if raw else None
    except ValueError:
        return None


def call_filters(query: QueryParams) -> tuple[dict[str, Any], str | None]:
    """The log's filters from the query; an id that is not one is dropped and named."""
    action, conversation = query.get("action"), query.get("conversation", "").strip()
    found = {
        "action_id": _uuid(action),
        "conversation_id": _uuid(conversation),
        "failed_only": query.get("failed") in ("1", "true", "on"),
    }
    bad = [
        label
        for label, raw, parsed in (
            ("action", action, found["action_id"]),
            ("conversation", conversation, found["conversation_id"]),
        )
        if raw and parsed is None
    ]
    problem = f"Not a valid {' or '.join(bad)} id: that filter is left out." if bad else None
    return found, problem


async def _view(
    session: AsyncSession, workspace_id: uuid.UUID, wid: uuid.UUID, query: QueryParams
) -> dict[str, Any]:
    filters, problem = call_filters(query)
    defined = [service.to_out(a) for a in await service.list_for_widget(session, workspace_id, wid)]
    last = await last_calls(session, workspace_id, wid)
    return {
        "actions": defined,
        "action_options": [(str(a.id), a.slug) for a in defined],
        "last": {str(aid): call for aid, call in last.items()},
        "secrets": await secrets.list_names(session, workspace_id, wid),
        "calls": await calls.list_calls(session, workspace_id, wid, **filters),
        "filters": filters,
        "problem": problem,
        "states": STATES,
    }


@router.get("/widgets/{widget_id}/actions")
async def actions_page(
    widget_id: str, request: Request, owner: PageAdmin, session: SessionDep
) -> Response:
    wid = _uuid(widget_id)
    if wid is None:
        raise NotFound("No such page.")
    widget = widgets.to_out(await widgets.get(session, owner.workspace_id, wid))
    view = await _view(session, owner.workspace_id, wid, request.query_params)
    return render.render(
        request, "actions.html", owner=owner, widget=widget, tab="actions", nav="widgets", **view
    )
