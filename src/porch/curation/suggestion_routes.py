"""Owner routes of suggestions: review, approve (edited or merged), dismiss."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Query

from porch.accounts.dependencies import AdminScope, AgentScope
from porch.curation import suggestions
from porch.curation.dependencies import CuratedDep
from porch.curation.schemas import ApproveIn, SuggestionList, SuggestionOut
from porch.deps import SessionDep

router = APIRouter(prefix="/api/v1", tags=["curation"])


@router.get("/widgets/{widget_id}/suggestions", response_model=SuggestionList)
async def list_suggestions(
    widget_id: uuid.UUID,
    owner: AgentScope,
    session: SessionDep,
    index: CuratedDep,
    status: Literal["open", "approved", "dismissed", "merged"] = Query(default="open"),
) -> SuggestionList:
    """Thumbs-downs and resolved conversations, grouped: the most asked first."""
    rows = await suggestions.list_open(session, index, owner.workspace_id, widget_id, status)
    return SuggestionList(suggestions=[suggestions.to_out(r) for r in rows])


@router.post("/suggestions/{sid}/approve", response_model=SuggestionOut)
async def approve_suggestion(
    sid: uuid.UUID,
    owner: AdminScope,
    session: SessionDep,
    index: CuratedDep,
    body: ApproveIn | None = None,
) -> SuggestionOut:
    row = await suggestions.approve(
        session, index, owner.workspace_id, sid, body or ApproveIn(), user_id=owner.user_id
    )
    return suggestions.to_out(row)


@router.post("/suggestions/{sid}/dismiss", response_model=SuggestionOut)
async def dismiss_suggestion(
    sid: uuid.UUID, owner: AdminScope, session: SessionDep
) -> SuggestionOut:
    return suggestions.to_out(await suggestions.dismiss(session, owner.workspace_id, sid))
