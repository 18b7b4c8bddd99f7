"""Eval runs in the background, and the watch that re-runs a widget's cases after a change.

Runs are tasks of the process that accepted them (shutdown waits for them briefly, then
stores them as interrupted). The watch looks every `eval_watch_seconds` at the fingerprint
of each widget that has cases; once a changed fingerprint has been still for
`eval_debounce_seconds`, one run starts. Safe in every process: a conditional UPDATE of
the widget's `eval_watch` row decides which process starts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import timedelta

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from porch.evals import fingerprint, notify, runner
from porch.evals.context import Runtime
from porch.evals.runs import new_run
from porch.evals.schemas import RunIn
from porch.models import EvalCase, EvalRun, EvalWatch, Widget
from porch.models.base import utcnow

log = structlog.get_logger("porch.evals")
STALE = timedelta(hours=1)


class Evals:
    def __init__(self, runtime: Runtime, jobs: notify.Enqueue | None) -> None:
        self.rt = runtime
        self.jobs = jobs
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.Task[None] | None = None

    def start(self, run_id: uuid.UUID) -> None:
        task = asyncio.create_task(self._run(run_id), name="porch-eval-run")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, run_id: uuid.UUID) -> None:
        await runner.execute(self.rt, run_id, self.jobs)

    async def idle(self) -> None:
        """Until every run started so far has finished (tests, the CLI)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # The watch: started and stopped with the jobs (jobs.queue.Alongside).
    def start_watch(self) -> None:
        if self.rt.settings.eval_watch_seconds > 0 and self._loop is None:
            self._loop = asyncio.create_task(self._watch(), name="porch-eval-watch")

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.rt.settings.eval_watch_seconds)
            try:
                await self.look()
            except Exception:
                log.exception("eval_watch_failed")

    async def look(self) -> list[uuid.UUID]:
        """One look at every widget with cases; the runs it started."""
        started: list[uuid.UUID] = []
        async with self.rt.sessionmaker() as session:
            await _fail_stale(session)
            widget_ids = (await session.execute(select(EvalCase.widget_id).distinct())).scalars()
            for widget_id in list(widget_ids):
                run_id = await self._look_at(session, widget_id)
                await session.commit()
                if run_id is not None:
                    started.append(run_id)
        for run_id in started:
            self.start(run_id)
        return started

    async def _look_at(self, session: AsyncSession, widget_id: uuid.UUID) -> uuid.UUID | None:
        now = utcnow()
        fp = await fingerprint.of_widget(session, self.rt.settings, widget_id)
        if fp is None:
            return None
        watch = await session.get(EvalWatch, widget_id)
        if watch is None:
            # First sight: the baseline is what the last run ran against, else today's state.
            last = await _last_fingerprint(session, widget_id)
            session.add(
                EvalWatch(
                    widget_id=widget_id, fingerprint=fp, changed_at=now, ran_fingerprint=last or fp
                )
            )
            return None
        w = EvalWatch.__table__.c
        if watch.fingerprint != fp:
            await session.execute(
                update(EvalWatch)
                .where(w.widget_id == widget_id, w.fingerprint == watch.fingerprint)
                .values(fingerprint=fp, changed_at=now)
            )
            return None
        debounce = timedelta(seconds=self.rt.settings.eval_debounce_seconds)
        if fp == watch.ran_fingerprint or now - watch.changed_at < debounce:
            return None
        claimed = await session.execute(
            update(EvalWatch)
            .where(
                w.widget_id == widget_id,
                w.ran_fingerprint.is_not_distinct_from(watch.ran_fingerprint),
            )
            .values(ran_fingerprint=fp)
        )
        if not getattr(claimed, "rowcount", 0):
            return None
        widget = await session.get(Widget, widget_id)
        if widget is None:
            return None
        run = new_run(widget.workspace_id, widget_id, RunIn(), "change")
        session.add(run)
        await session.flush()
        return run.id

    async def aclose(self) -> None:
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
            self._loop = None
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=5)
            for task in list(self._tasks):
                task.cancel()


async def _last_fingerprint(session: AsyncSession, widget_id: uuid.UUID) -> str | None:
    run = (
        await session.execute(
            select(EvalRun)
            .where(EvalRun.widget_id == widget_id, EvalRun.status == "done")
            .order_by(EvalRun.created_at.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    return None if run is None else (run.against or {}).get("fingerprint")


async def _fail_stale(session: AsyncSession) -> None:
    """Runs left running by a process that died are stored as interrupted."""
    await session.execute(
        update(EvalRun)
        .where(EvalRun.status == "running", EvalRun.created_at < utcnow() - STALE)
        .values(
            status="failed",
            error="interrupted: the process running it stopped",
            finished_at=utcnow(),
        )
    )
