"""Owner routes of privacy: retention periods, export and erase requests, redaction rules,
legal holds (API.md, section Privacy)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from fastapi.responses import JSONResponse

from porch.accounts.dependencies import AdminScope
from porch.deps import SessionDep, SettingsDep
from porch.jobs.dependencies import JobsDep
from porch.privacy import requests, retention, rules
from porch.privacy.dependencies import RuleBookDep
from porch.privacy.schemas import (
    Counts,
    EraseIn,
    ExportIn,
    HoldOut,
    JobCreated,
    JobOut,
    RetentionIn,
    RetentionOut,
    RuleIn,
    RuleList,
    RuleOut,
    RuleTestIn,
    RuleTestOut,
)
from porch.schemas import Line

router = APIRouter(prefix="/api/v1", tags=["privacy"])


@router.get("/privacy/retention", response_model=RetentionOut)
async def get_retention(owner: AdminScope, session: SessionDep) -> RetentionOut:
    """The workspace's periods, with what the next sweep would remove under them."""
    return await retention.get(session, owner.workspace_id)


@router.put("/privacy/retention", response_model=RetentionOut)
async def put_retention(body: RetentionIn, owner: AdminScope, session: SessionDep) -> RetentionOut:
    return await retention.put(session, owner.workspace_id, body)


@router.get("/widgets/{widget_id}/retention", response_model=RetentionOut)
async def get_widget_retention(
    widget_id: uuid.UUID, owner: AdminScope, session: SessionDep
) -> RetentionOut:
    return await retention.get(session, owner.workspace_id, widget_id)


@router.put("/widgets/{widget_id}/retention", response_model=RetentionOut)
async def put_widget_retention(
    widget_id: uuid.UUID, body: RetentionIn, owner: AdminScope, session: SessionDep
) -> RetentionOut:
    """A widget's own periods; one left unset follows the workspace's."""
    return await retention.put(session, owner.workspace_id, body, widget_id)


@router.post("/privacy/export", status_code=status.HTTP_202_ACCEPTED, response_model=JobCreated)
async def export(
    body: ExportIn, owner: AdminScope, session: SessionDep, settings: SettingsDep, jobs: JobsDep
) -> JobCreated:
    return JobCreated(
        job_id=await requests.export(session, settings, jobs, owner.workspace_id, body)
    )


@router.post(
    "/privacy/erase",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobCreated | Counts,
    responses={200: {"model": Counts, "description": "A dry run: what would be erased"}},
)
async def erase(
    body: EraseIn, owner: AdminScope, session: SessionDep, settings: SettingsDep, jobs: JobsDep
) -> JobCreated | JSONResponse:
    """`dry_run` (the default) counts per kind; otherwise the erase is queued."""
    done = await requests.erase(session, settings, jobs, owner.workspace_id, body)
    if isinstance(done, Counts):
        return JSONResponse(done.model_dump())
    return JobCreated(job_id=done)


@router.get("/privacy/jobs", response_model=list[JobOut])
async def list_jobs(owner: AdminScope, session: SessionDep) -> list[JobOut]:
    return await requests.history(session, owner.workspace_id)


@router.get("/privacy/jobs/{job_id}", response_model=JobOut)
async def get_job(job_id: uuid.UUID, owner: AdminScope, session: SessionDep) -> JobOut:
    """A finished export carries a fresh one-time `download_url`."""
    return await requests.status(session, owner.workspace_id, job_id)


@router.get("/privacy/jobs/{job_id}/download")
async def download(
    job_id: uuid.UUID,
    token: Annotated[Line, Query(min_length=1, max_length=200)],
    owner: AdminScope,
    session: SessionDep,
) -> Response:
    body = await requests.download(session, owner.workspace_id, job_id, token)
    name = f"porch-export-{job_id}.json"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    return Response(body, media_type="application/json", headers=headers)


@router.post("/privacy/redaction-rules", status_code=201, response_model=RuleOut)
async def create_rule(
    body: RuleIn, owner: AdminScope, session: SessionDep, book: RuleBookDep
) -> RuleOut:
    rule = await rules.create(session, owner.workspace_id, body)
    book.forget(owner.workspace_id)
    return RuleOut.model_validate(rule, from_attributes=True)


@router.get("/privacy/redaction-rules", response_model=RuleList)
async def list_rules(owner: AdminScope, session: SessionDep) -> RuleList:
    found = await rules.list_all(session, owner.workspace_id)
    return RuleList(rules=[RuleOut.model_validate(r, from_attributes=True) for r in found])


@router.delete("/privacy/redaction-rules/{redaction_rule_id}", status_code=204)
async def delete_rule(
    redaction_rule_id: uuid.UUID, owner: AdminScope, session: SessionDep, book: RuleBookDep
) -> Response:
    await rules.delete(session, owner.workspace_id, redaction_rule_id)
    book.forget(owner.workspace_id)
    return Response(status_code=204)


@router.post("/privacy/redaction-rules/test", response_model=RuleTestOut)
async def test_rules(body: RuleTestIn, owner: AdminScope, session: SessionDep) -> RuleTestOut:
    """What a rule, or the workspace's rules, do to a sample text (nothing is stored)."""
    return await rules.test(session, owner.workspace_id, body)


@router.post("/conversations/{conversation_id}/hold", response_model=HoldOut)
async def hold(conversation_id: uuid.UUID, owner: AdminScope, session: SessionDep) -> HoldOut:
    await requests.hold(session, owner.workspace_id, conversation_id, on=True)
    return HoldOut(conversation_id=conversation_id, legal_hold=True)


@router.delete("/conversations/{conversation_id}/hold", response_model=HoldOut)
async def release(conversation_id: uuid.UUID, owner: AdminScope, session: SessionDep) -> HoldOut:
    await requests.hold(session, owner.workspace_id, conversation_id, on=False)
    return HoldOut(conversation_id=conversation_id, legal_hold=False)
