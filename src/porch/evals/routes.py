"""Owner routes of evals: cases, runs, the playground."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Query, Request, Response, status

from porch.accounts.dependencies import AdminScope, AgentScope
from porch.deps import SessionDep
from porch.evals import cases, playground, runs
from porch.evals.dependencies import EvalsDep
from porch.evals.schemas import (
    CaseIn,
    CaseList,
    CaseOut,
    CasePatch,
    FromConversation,
    PlaygroundIn,
    PlaygroundOut,
    RunIn,
    RunList,
    RunOut,
)
from porch.schemas import Line

router = APIRouter(prefix="/api/v1", tags=["evals"])
_JSONL = {
    "requestBody": {
        "required": True,
        "content": {"application/jsonl": {"schema": {"type": "string", "maxLength": 10_000_000}}},
    }
}


@router.post(
    "/widgets/{widget_id}/eval-cases", status_code=status.HTTP_201_CREATED, response_model=CaseOut
)
async def create_case(
    widget_id: uuid.UUID, body: CaseIn, owner: AdminScope, session: SessionDep
) -> CaseOut:
    return cases.to_out(await cases.create(session, owner.workspace_id, widget_id, body))


@router.get("/widgets/{widget_id}/eval-cases", response_model=CaseList)
async def list_cases(
    widget_id: uuid.UUID,
    owner: AgentScope,
    session: SessionDep,
    tag: Line | None = Query(default=None, max_length=60),
) -> CaseList:
    rows = await cases.list_all(session, owner.workspace_id, widget_id, tag)
    return CaseList(eval_cases=[cases.to_out(r) for r in rows])


@router.get("/eval-cases/{eid}", response_model=CaseOut)
async def get_case(eid: uuid.UUID, owner: AgentScope, session: SessionDep) -> CaseOut:
    return cases.to_out(await cases.get(session, owner.workspace_id, eid))


@router.patch("/eval-cases/{eid}", response_model=CaseOut)
async def update_case(
    eid: uuid.UUID, body: CasePatch, owner: AdminScope, session: SessionDep
) -> CaseOut:
    return cases.to_out(await cases.update(session, owner.workspace_id, eid, body))


@router.delete("/eval-cases/{eid}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_case(eid: uuid.UUID, owner: AdminScope, session: SessionDep) -> Response:
    await cases.delete(session, owner.workspace_id, eid)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/conversations/{conversation_id}/eval-case",
    status_code=status.HTTP_201_CREATED,
    response_model=CaseOut,
)
async def case_from_conversation(
    conversation_id: uuid.UUID,
    owner: AdminScope,
    session: SessionDep,
    body: FromConversation | None = None,
) -> CaseOut:
    """ "Add to tests": the visitor's turns, asserting the sources the reply cited."""
    row = await cases.from_conversation(
        session, owner.workspace_id, conversation_id, body or FromConversation()
    )
    return cases.to_out(row)


@router.post(
    "/widgets/{widget_id}/eval-cases/from-curated",
    status_code=status.HTTP_201_CREATED,
    response_model=CaseList,
)
async def cases_from_curated(
    widget_id: uuid.UUID, owner: AdminScope, session: SessionDep
) -> CaseList:
    """A case per approved curated answer not yet tested: its question must get it."""
    rows = await cases.from_curated(session, owner.workspace_id, widget_id)
    return CaseList(eval_cases=[cases.to_out(r) for r in rows])


@router.post(
    "/widgets/{widget_id}/eval-cases/import",
    status_code=status.HTTP_201_CREATED,
    response_model=CaseList,
    openapi_extra=_JSONL,
)
async def import_cases(
    widget_id: uuid.UUID, request: Request, owner: AdminScope, session: SessionDep
) -> CaseList:
    """JSONL: one case per line, in the shape POST eval-cases takes."""
    rows = await cases.import_jsonl(session, owner.workspace_id, widget_id, await request.body())
    return CaseList(eval_cases=[cases.to_out(r) for r in rows])


@router.post(
    "/widgets/{widget_id}/eval-runs", status_code=status.HTTP_202_ACCEPTED, response_model=RunOut
)
async def start_run(
    widget_id: uuid.UUID,
    owner: AdminScope,
    session: SessionDep,
    evals: EvalsDep,
    body: RunIn | None = None,
) -> RunOut:
    """Runs in the background; GET /eval-runs/{id} until its status is done."""
    run = await runs.start(session, evals, owner.workspace_id, widget_id, body or RunIn())
    return runs.to_out(run)


@router.get("/eval-runs/{rid}", response_model=RunOut)
async def get_run(rid: uuid.UUID, owner: AgentScope, session: SessionDep) -> RunOut:
    return runs.to_out(await runs.get(session, owner.workspace_id, rid))


@router.get("/widgets/{widget_id}/eval-runs", response_model=RunList)
async def list_runs(widget_id: uuid.UUID, owner: AgentScope, session: SessionDep) -> RunList:
    """Newest first."""
    rows = await runs.list_runs(session, owner.workspace_id, widget_id)
    return RunList(eval_runs=[runs.summary(r) for r in rows])


@router.post("/widgets/{widget_id}/playground", response_model=PlaygroundOut)
async def ask_playground(
    widget_id: uuid.UUID,
    body: PlaygroundIn,
    owner: AgentScope,
    session: SessionDep,
    evals: EvalsDep,
) -> PlaygroundOut:
    """As a visitor would be answered, with why; no conversation, limits or analytics."""
    return await playground.ask(session, evals.rt, owner.workspace_id, widget_id, body)
