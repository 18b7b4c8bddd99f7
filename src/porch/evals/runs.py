"""Eval runs of a widget: start one (it runs in the background), read one, list them."""

from __future__ import annotations

import uuid
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from porch.db import after_commit
from porch.errors import NotFound
from porch.evals.schemas import CaseResult, RunIn, RunOut, RunSummary
from porch.models import EvalRun
from porch.models.base import utcnow
from porch.widgets import service as widgets

LISTED = 50


class Starter(Protocol):
    def start(self, run_id: uuid.UUID) -> None: ...


def to_out(run: EvalRun) -> RunOut:
    return RunOut(
        id=run.id,
        widget_id=run.widget_id,
        status=run.status,
        trigger=run.trigger,
        tags=list(run.tags or []),
        against=dict(run.against or {}),
        passed=run.passed,
        failed=run.failed,
        skipped=run.skipped,
        regressions=list(run.regressions or []),
        results=[CaseResult.model_validate(r) for r in run.results or []],
        error=run.error,
        created_at=run.created_at,
        finished_at=run.finished_at,
    )


def summary(run: EvalRun) -> RunSummary:
    return RunSummary(
        id=run.id,
        status=run.status,
        trigger=run.trigger,
        passed=run.passed,
        failed=run.failed,
        skipped=run.skipped,
        regressions=len(run.regressions or []),
        created_at=run.created_at,
        finished_at=run.finished_at,
    )


def new_run(workspace_id: uuid.UUID, widget_id: uuid.UUID, body: RunIn, trigger: str) -> EvalRun:
    return EvalRun(
        workspace_id=workspace_id,
        widget_id=widget_id,
        status="running",
        trigger=trigger,
        tags=list(body.tags or []),
        case_ids=[str(c) for c in body.case_ids] if body.case_ids else None,
        against={},
        regressions=[],
        results=[],
        created_at=utcnow(),
    )


async def start(
    session: AsyncSession,
    starter: Starter,
    workspace_id: uuid.UUID,
    widget_id: uuid.UUID,
    body: RunIn,
    trigger: str = "api",
) -> EvalRun:
    """The run, stored as running; it starts once the request has committed it."""
    await widgets.get(session, workspace_id, widget_id)
    run = new_run(workspace_id, widget_id, body, trigger)
    session.add(run)
    await session.flush()
    run_id = run.id

    async def go() -> None:
        starter.start(run_id)

    after_commit(session, go)
    return run


async def get(session: AsyncSession, workspace_id: uuid.UUID, rid: uuid.UUID) -> EvalRun:
    run = await session.get(EvalRun, rid)
    if run is None or run.workspace_id != workspace_id:
        raise NotFound("No such eval run.", code="eval_run_not_found")
    return run


async def list_runs(
    session: AsyncSession, workspace_id: uuid.UUID, widget_id: uuid.UUID
) -> list[EvalRun]:
    await widgets.get(session, workspace_id, widget_id)
    rows = await session.execute(
        select(EvalRun)
        .where(EvalRun.widget_id == widget_id)
        .order_by(EvalRun.created_at.desc(), EvalRun.id.desc())
        .limit(LISTED)
    )
    return list(rows.scalars())
