"""Owner routes of curated answers: CRUD, test a match, import and export, improve a reply."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Query, Request, Response, status

from porch.accounts.dependencies import AdminScope, AgentScope, check_role
from porch.accounts.roles import Role
from porch.curation import service, transfer
from porch.curation.dependencies import CuratedDep
from porch.curation.schemas import (
    CuratedIn,
    CuratedList,
    CuratedOut,
    CuratedPatch,
    ImportResult,
    ImproveIn,
    MatchIn,
    MatchResult,
    Status,
)
from porch.deps import SessionDep
from porch.schemas import Line

router = APIRouter(prefix="/api/v1", tags=["curation"])
_TYPES = {
    "text/csv": "csv",
    "application/jsonl": "jsonl",
    "application/x-ndjson": "jsonl",
    "application/json-lines": "jsonl",
    "application/jsonlines": "jsonl",
}
_MEDIA = {"csv": "text/csv; charset=utf-8", "jsonl": "application/jsonl; charset=utf-8"}
_IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            m: {"schema": {"type": "string", "maxLength": 10_000_000}}
            for m in ("text/csv", "application/jsonl")
        },
    }
}


@router.post(
    "/widgets/{widget_id}/curated-answers",
    status_code=status.HTTP_201_CREATED,
    response_model=CuratedOut,
)
async def create_curated(
    widget_id: uuid.UUID, body: CuratedIn, owner: AdminScope, session: SessionDep, index: CuratedDep
) -> CuratedOut:
    """409 `duplicate_question` (with `existing_id`) for a question it has, answered otherwise."""
    row = await service.create(
        session, index, owner.workspace_id, widget_id, body, user_id=owner.user_id
    )
    return service.to_out(row)


@router.get("/widgets/{widget_id}/curated-answers", response_model=CuratedList)
async def list_curated(
    widget_id: uuid.UUID,
    owner: AgentScope,
    session: SessionDep,
    status_: Status | None = Query(default=None, alias="status"),
    tag: Line | None = Query(default=None, max_length=60),
) -> CuratedList:
    rows = await service.list_all(session, owner.workspace_id, widget_id, status=status_, tag=tag)
    return CuratedList(curated_answers=[service.to_out(r) for r in rows])


@router.get("/curated-answers/{qid}", response_model=CuratedOut)
async def get_curated(qid: uuid.UUID, owner: AgentScope, session: SessionDep) -> CuratedOut:
    return service.to_out(await service.get(session, owner.workspace_id, qid))


@router.patch("/curated-answers/{qid}", response_model=CuratedOut)
async def update_curated(
    qid: uuid.UUID, body: CuratedPatch, owner: AdminScope, session: SessionDep, index: CuratedDep
) -> CuratedOut:
    row = await service.update(session, index, owner.workspace_id, qid, body, user_id=owner.user_id)
    return service.to_out(row)


@router.delete("/curated-answers/{qid}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_curated(
    qid: uuid.UUID, owner: AdminScope, session: SessionDep, index: CuratedDep
) -> Response:
    await service.delete(session, index, owner.workspace_id, qid)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/widgets/{widget_id}/curated-answers/match", response_model=MatchResult)
async def match_curated(
    widget_id: uuid.UUID, body: MatchIn, owner: AgentScope, session: SessionDep, index: CuratedDep
) -> MatchResult:
    """The ranking a visitor's question would get, each score with its components."""
    return await service.match(session, index, owner.workspace_id, widget_id, body.query)


@router.post(
    "/widgets/{widget_id}/curated-answers/import",
    response_model=ImportResult,
    openapi_extra=_IMPORT_BODY,
)
async def import_curated(
    widget_id: uuid.UUID,
    request: Request,
    owner: AdminScope,
    session: SessionDep,
    index: CuratedDep,
    format_: Literal["csv", "jsonl"] | None = Query(default=None, alias="format"),
) -> ImportResult:
    """A CSV (header row) or JSONL file as the body; checked whole before anything is stored."""
    return await transfer.import_file(
        session,
        index,
        owner.workspace_id,
        widget_id,
        await request.body(),
        format_ or _TYPES.get(request.headers.get("content-type", "").split(";")[0].lower()),
        user_id=owner.user_id,
    )


@router.get("/widgets/{widget_id}/curated-answers/export")
async def export_curated(
    widget_id: uuid.UUID,
    owner: AdminScope,
    session: SessionDep,
    format_: Literal["csv", "jsonl"] = Query(default="csv", alias="format"),
) -> Response:
    body = await transfer.export(session, owner.workspace_id, widget_id, format_)
    name = f'attachment; filename="curated-answers.{format_}"'
    return Response(body, media_type=_MEDIA[format_], headers={"Content-Disposition": name})


@router.post(
    "/messages/{message_id}/improve", status_code=status.HTTP_201_CREATED, response_model=CuratedOut
)
async def improve_message(
    message_id: uuid.UUID,
    body: ImproveIn,
    owner: AgentScope,
    session: SessionDep,
    index: CuratedDep,
) -> CuratedOut:
    """ "Improve this answer": a curated answer from a reply; approving needs the admin role."""
    if body.approve:
        check_role(owner, Role.admin)
    row = await service.improve(
        session, index, owner.workspace_id, message_id, body, user_id=owner.user_id
    )
    return service.to_out(row)
