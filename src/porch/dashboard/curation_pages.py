"""The widget's Answers page: curated answers, suggestions to review, test match, the
playground and eval runs. Reads through the curation and evals services; writes are the
page's forms calling the JSON API."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from porch.curation import service as curated
from porch.curation import suggestions
from porch.curation.dependencies import CuratedDep
from porch.curation.index import CuratedIndex
from porch.dashboard import render
from porch.dashboard.auth import DashboardRoute, PageAdmin
from porch.deps import SessionDep
from porch.errors import NotFound
from porch.evals import cases, runs
from porch.widgets import service as widgets

router = APIRouter(prefix="/app", include_in_schema=False, route_class=DashboardRoute)


async def _sections(
    session: AsyncSession, index: CuratedIndex, workspace_id: uuid.UUID, wid: uuid.UUID
) -> dict[str, Any]:
    """What the page shows: answers, suggestions (read fresh), cases, the last ten runs."""
    answers = await curated.list_all(session, workspace_id, wid)
    found = await suggestions.list_open(session, index, workspace_id, wid)
    return {
        "curated": [curated.to_out(r) for r in answers],
        "suggestions": [suggestions.to_out(s) for s in found],
        "cases": [cases.to_out(c) for c in await cases.list_all(session, workspace_id, wid)],
        "runs": [runs.to_out(r) for r in (await runs.list_runs(session, workspace_id, wid))[:10]],
    }


@router.get("/widgets/{widget_id}/answers")
async def answers_page(
    widget_id: str, request: Request, owner: PageAdmin, session: SessionDep, index: CuratedDep
) -> Response:
    try:
        wid = uuid.UUID(widget_id)
    except ValueError:
        raise NotFound("No such page.") from None
    widget = widgets.to_out(await widgets.get(session, owner.workspace_id, wid))
    sections = await _sections(session, index, owner.workspace_id, wid)
    return render.render(
        request,
        "answers.html",
        owner=owner,
        widget=widget,
        tab="answers",
        nav="widgets",
        **sections,
    )
