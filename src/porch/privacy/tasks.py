"""Privacy's background side: the export and erase jobs on the shared queue, and the
retention sweep beside them (registered by porch/tasks.py in every process that runs jobs)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from porch import revocation
from porch.audit import service as audit
from porch.jobs.queue import Jobs, attempt_or_retry
from porch.models import Conversation, PrivacyJob, PrivacyTombstone
from porch.models.base import utcnow
from porch.privacy import exports, subjects
from porch.privacy.requests import ERASE_TASK, EXPORT_TASK, expiry
from porch.privacy.rules import RuleBook
from porch.privacy.sweep import Sweeper, reclaim
from porch.pubsub import PubSub
from porch.settings import Settings

log = structlog.get_logger("porch.privacy")


@dataclass
class Privacy:
    """What the lifespan keeps of privacy: the sweep (tests call it with their own clock)
    and the redaction rules the chat path reads."""

    sweeper: Sweeper
    rules: RuleBook


class Runner:
    def __init__(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        engine: AsyncEngine,
        rules: RuleBook,
        jobs: Jobs,
        pubsub: PubSub,
    ) -> None:
        self._jobs = jobs
        self._pubsub = pubsub
        self._settings = settings
        self._sessionmaker = sessionmaker
        self._engine = engine
        self._rules = rules

    async def _claim(self, session: AsyncSession, job_id: str) -> PrivacyJob | None:
        job = await session.get(PrivacyJob, uuid.UUID(job_id))
        if job is None or job.status not in ("pending", "running") or job.subject is None:
            return None  # done already (a job delivered twice does nothing)
        job.status = "running"
        await session.commit()
        return job

    async def export(self, job_id: str, attempt: int = 1) -> None:
        async def run() -> None:
            async with self._sessionmaker() as session:
                job = await self._claim(session, job_id)
                if job is None:
                    return
                async with self._engine.connect() as conn:
                    rules = await self._rules.rules(conn, job.workspace_id)
                now = utcnow()
                assert job.subject is not None
                body, counts = await exports.build(
                    session, job.workspace_id, job.subject_kind, job.subject, rules, now=now
                )
                job.result, job.counts, job.status = body, counts, "done"
                job.subject, job.finished_at = None, now
                job.expires_at = now + expiry(self._settings)
                await session.commit()

        # A failure is queued again after a backoff; the job fails once the last attempt does.
        if await attempt_or_retry(self._jobs, EXPORT_TASK, run, (job_id,), attempt) is False:
            await self._failed(job_id)

    async def erase(self, job_id: str, attempt: int = 1) -> None:
        async def run() -> None:
            async with self._sessionmaker() as session:
                job = await self._claim(session, job_id)
                if job is None:
                    return
                assert job.subject is not None
                ws, kind, hmac = job.workspace_id, job.subject_kind, job.subject_hmac
                counts = await subjects.erase(session, ws, kind, job.subject, hmac)
                job = await session.get(PrivacyJob, uuid.UUID(job_id))
                assert job is not None
                job.counts, job.status, job.subject = counts, "done", None
                job.finished_at = utcnow()
                await audit.record(
                    session,
                    ws,
                    "privacy.erased",
                    job.id,
                    subject=kind,
                    requested_by=job.requested_by,
                    reason=job.reason,
                    conversations=counts["conversations"],
                    messages=counts["messages"],
                    held=counts["held"],
                )
                await session.commit()
                # The erased conversations' open sockets close in every process.
                await revocation.announce(session, self._pubsub)
            await reclaim(self._engine)

        if await attempt_or_retry(self._jobs, ERASE_TASK, run, (job_id,), attempt) is False:
            await self._failed(job_id)

    async def _failed(self, job_id: str) -> None:
        async with self._sessionmaker() as session, session.begin():
            job = await session.get(PrivacyJob, uuid.UUID(job_id))
            if job is not None:
                job.status, job.error = "failed", "The request failed; it can be made again."
                job.subject = None


def register(
    jobs: Jobs,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    pubsub: PubSub,
) -> Privacy:
    rules = RuleBook()
    runner = Runner(settings, sessionmaker, engine, rules, jobs, pubsub)

    # taskiq renames what it registers: plain functions, not bound methods.
    async def privacy_export(job_id: str, attempt: int = 1) -> None:
        await runner.export(job_id, attempt)

    async def privacy_erase(job_id: str, attempt: int = 1) -> None:
        await runner.erase(job_id, attempt)

    jobs.register(EXPORT_TASK, privacy_export)
    jobs.register(ERASE_TASK, privacy_erase)
    sweeper = Sweeper(
        sessionmaker,
        engine,
        interval=settings.privacy_sweep_interval_seconds,
        batch=settings.privacy_sweep_batch,
        pause=settings.privacy_sweep_pause,
    )
    jobs.run_alongside(sweeper)
    return Privacy(sweeper, rules)


async def reapply(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> dict[str, int]:
    """After a backup is restored: erase again everyone a tombstone names. The tombstones
    hold HMACs, so every subject found in the conversations is fingerprinted and compared."""
    erased = {"subjects": 0, "conversations": 0, "messages": 0}
    async with sessionmaker() as session:
        stones = (await session.execute(select(PrivacyTombstone))).scalars().all()
        wanted = {(t.workspace_id, t.subject_hmac): t.subject_kind for t in stones}
        rows = await session.execute(
            select(
                Conversation.workspace_id,
                Conversation.id,
                Conversation.user_external_id,
                Conversation.user_verified,
                Conversation.user_email,
            )
        )
        found: set[tuple[uuid.UUID, str, str, str]] = set()
        for ws, cid, user_id, verified, email in rows.all():
            candidates = [("visitor_id", str(cid))]
            if user_id and verified:
                candidates.append(("user_id", user_id))
            if email:
                candidates.append(("email", email))
            for kind, value in candidates:
                mark = subjects.fingerprint(settings.secret, ws, kind, value)
                if (ws, mark) in wanted:
                    found.add((ws, kind, subjects.normal(kind, value), mark))
        for ws, kind, value, mark in sorted(found):
            counts = await subjects.erase(session, ws, kind, value, mark)
            await audit.record(
                session,
                ws,
                "privacy.reapplied",
                None,
                subject=kind,
                conversations=counts["conversations"],
                messages=counts["messages"],
            )
            await session.commit()
            erased["subjects"] += 1
            erased["conversations"] += counts["conversations"]
            erased["messages"] += counts["messages"]
    await reclaim(engine)
    return erased
