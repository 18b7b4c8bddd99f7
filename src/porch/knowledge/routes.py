"""Owner routes for sources and test retrieval."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from porch.accounts.dependencies import CurrentOwner
from porch.deps import SessionDep, StateDep
from porch.knowledge import service
from porch.knowledge.schemas import (
    SearchOut,
    SearchResult,
    SourceCreated,
    SourceList,
    SourceOut,
    TextSourceIn,
)
from porch.widgets import service as widgets

router = APIRouter(prefix="/api/v1", tags=["knowledge"])


@router.post(
    "/widgets/{widget_id}/sources",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=SourceCreated,
)
async def add_source(
    widget_id: uuid.UUID,
    body: TextSourceIn,
    owner: CurrentOwner,
    session: SessionDep,
    state: StateDep,
) -> SourceCreated:
    source = await service.add_text(
        session,
        state.keywords,
        owner.workspace_id,
        widget_id,
        title=body.title,
        body=body.text,
        url=body.url,
    )
    return SourceCreated(source_id=source.id, status=source.status)


@router.get("/widgets/{widget_id}/sources", response_model=SourceList)
async def list_sources(
    widget_id: uuid.UUID, owner: CurrentOwner, session: SessionDep
) -> SourceList:
    sources = await service.list_for_widget(session, owner.workspace_id, widget_id)
    return SourceList(sources=[SourceOut.model_validate(s, from_attributes=True) for s in sources])


@router.get("/sources/{source_id}", response_model=SourceOut)
async def get_source(source_id: uuid.UUID, owner: CurrentOwner, session: SessionDep) -> SourceOut:
    source = await service.get(session, owner.workspace_id, source_id)
    return SourceOut.model_validate(source, from_attributes=True)


@router.delete("/sources/{source_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_source(
    source_id: uuid.UUID, owner: CurrentOwner, session: SessionDep, state: StateDep
) -> None:
    await service.delete_source(session, state.keywords, owner.workspace_id, source_id)


@router.get("/widgets/{widget_id}/search", response_model=SearchOut)
async def search(
    widget_id: uuid.UUID,
    owner: CurrentOwner,
    session: SessionDep,
    state: StateDep,
    q: Annotated[str, Query(min_length=1, max_length=1000)],
    k: Annotated[int, Query(ge=1, le=50)] = 5,
) -> SearchOut:
    await widgets.get(session, owner.workspace_id, widget_id)
    hits = await service.search(session, state.keywords, widget_id, q, k)
    return SearchOut(
        results=[
            SearchResult(
                chunk_id=h.chunk_id,
                source_id=h.source_id,
                title=h.title,
                heading=h.heading,
                url=h.url,
                text=h.text,
                score=round(h.score, 4),
            )
            for h in hits
        ]
    )
