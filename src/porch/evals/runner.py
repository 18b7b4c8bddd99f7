"""One eval run: each case's turns asked of the simulated assistant, each assertion
checked, the outcome compared with the previous run; regressions flagged and announced."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from porch.evals import fingerprint, notify
from porch.evals.assertions import Judge, check
from porch.evals.context import Runtime
from porch.evals.judge import judge_for
from porch.evals.schemas import CaseResult
from porch.evals.simulate import Simulator
from porch.models import EvalCase, EvalRun, Widget
from porch.models.base import utcnow
from porch.widgets.cache import build_config
from porch.widgets.schemas import Handoff

log = structlog.get_logger("porch.evals")


def select_cases(
    cases: Sequence[EvalCase], tags: Sequence[str] | None, case_ids: Sequence[str] | None
) -> list[EvalCase]:
    wanted = set(tags or [])
    ids = {str(c) for c in case_ids} if case_ids else None
    return [
        c
        for c in cases
        if (ids is None or str(c.id) in ids) and (not wanted or wanted & set(c.tags or []))
    ]


def outcome(assertions: Sequence[Any]) -> str:
    if any(not a.passed and not a.skipped for a in assertions):
        return "failed"
    if all(a.skipped for a in assertions):
        return "skipped"
    return "passed"


async def run_case(rt: Runtime, widget: Widget, case: EvalCase, judge: Judge | None) -> CaseResult:
    began = time.perf_counter()
    live = frozenset(
        str(a["slug"]) for a in case.assertions if a["type"] == "action_called" and a.get("live")
    )
    sim = Simulator(
        rt, build_config(widget), Handoff.model_validate(widget.handoff or {}), live_actions=live
    )
    replies = []
    for turn in case.turns:
        replies.append(await sim.ask(str(turn["content"]), visitor=turn.get("visitor")))
    results = [await check(dict(a), replies, judge, acts=sim.acts) for a in case.assertions]
    state = outcome(results)
    transcript: list[dict[str, Any]] = []
    for turn, reply in zip(case.turns, replies, strict=True):
        transcript.append(
            {"role": "user", "content": turn["content"], "visitor": turn.get("visitor")}
        )
        transcript.append({"role": "assistant", **reply.as_turn()})
    return CaseResult(
        case_id=case.id,
        name=case.name,
        outcome=state,
        passed=state == "passed",
        assertions=results,
        transcript=transcript,
        latency_ms=int((time.perf_counter() - began) * 1000),
    )


async def _previous(session: AsyncSession, run: EvalRun) -> dict[str, str]:
    """Each case's outcome in the widget's last finished run before this one."""
    prior = (
        await session.execute(
            select(EvalRun)
            .where(
                EvalRun.widget_id == run.widget_id,
                EvalRun.status == "done",
                EvalRun.id != run.id,
                EvalRun.created_at <= run.created_at,
            )
            .order_by(EvalRun.created_at.desc(), EvalRun.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    if prior is None:
        return {}
    return {str(r["case_id"]): str(r.get("outcome")) for r in prior.results or []}


async def execute(rt: Runtime, run_id: uuid.UUID, jobs: notify.Enqueue | None) -> EvalRun | None:
    """Run it to the end; a run that breaks is stored as failed with the reason."""
    async with rt.sessionmaker() as session:
        run = await session.get(EvalRun, run_id)
        widget = await session.get(Widget, run.widget_id) if run is not None else None
        if run is None or widget is None:
            return None
        try:
            await _execute(rt, session, run, widget)
        except Exception as exc:
            log.exception("eval_run_failed", run_id=str(run_id))
            await session.rollback()
            run = await session.get(EvalRun, run_id)
            if run is None:
                return None
            run.status, run.error, run.finished_at = "failed", str(exc)[:500], utcnow()
        await session.commit()
        if run.regressions:
            data = {
                "widget_id": str(run.widget_id),
                "run_id": str(run.id),
                "trigger": run.trigger,
                "regressions": run.regressions,
                "against": run.against,
            }
            await notify.regressed(session, jobs, run.workspace_id, data)
        return run


async def _execute(rt: Runtime, session: AsyncSession, run: EvalRun, widget: Widget) -> None:
    cases = list(
        (
            await session.execute(
                select(EvalCase)
                .where(EvalCase.widget_id == run.widget_id)
                .order_by(EvalCase.created_at, EvalCase.id)
            )
        ).scalars()
    )
    chosen = select_cases(cases, run.tags, run.case_ids)
    run.against = await fingerprint.against(session, rt.settings, widget)
    previous = await _previous(session, run)
    results: list[CaseResult] = []
    async with judge_for(rt.settings) as judge:
        for case in chosen:
            result = await run_case(rt, widget, case, judge)
            result.previous = previous.get(str(case.id))
            result.regressed = result.previous == "passed" and result.outcome == "failed"
            results.append(result)
    run.results = [r.model_dump(mode="json") for r in results]
    run.passed = sum(r.outcome == "passed" for r in results)
    run.failed = sum(r.outcome == "failed" for r in results)
    run.skipped = sum(r.outcome == "skipped" for r in results)
    run.regressions = [
        {
            "case_id": str(r.case_id),
            "name": r.name,
            "failed": [a.model_dump() for a in r.assertions if not a.passed and not a.skipped],
        }
        for r in results
        if r.regressed
    ]
    run.status, run.finished_at = "done", utcnow()
