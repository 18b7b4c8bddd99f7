"""Requests from a person: export and erase as jobs, their status, the one-time download,
and legal holds. Each request is in the audit log with who asked (and, for an erase, why)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from porch.audit import service as audit
from porch.errors import BadRequest, Conflict, NotFound, PorchError
from porch.jobs.queue import Jobs
from porch.models import Conversation, PrivacyJob
from porch.privacy import subjects
from porch.privacy.schemas import Counts, EraseIn, ExportIn, JobOut, Subject
from porch.settings import Settings

EXPORT_TASK = "porch.privacy_export"
ERASE_TASK = "porch.privacy_erase"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _job(
    session: AsyncSession,
    settings: Settings,
    workspace_id: uuid.UUID,
    kind: str,
    subject: Subject,
    reason: str | None = None,
) -> PrivacyJob:
    subject_kind, value = subject.key()
    job = PrivacyJob(
        workspace_id=workspace_id,
        kind=kind,
        status="pending",
        subject_kind=subject_kind,
        subject=value,
        subject_hmac=subjects.fingerprint(settings.secret, workspace_id, subject_kind, value),
        reason=reason,
        requested_by=audit.current().email,
        counts={},
    )
    session.add(job)
    await session.flush()
    return job


async def export(
    session: AsyncSession, settings: Settings, jobs: Jobs, workspace_id: uuid.UUID, body: ExportIn
) -> uuid.UUID:
    """Queue an export of the person's data; its result waits behind a one-time link."""
    job = await _job(session, settings, workspace_id, "export", body.subject)
    await audit.record(
        session, workspace_id, "privacy.export_requested", job.id, subject=job.subject_kind
    )
    # Committed before it is queued: an in-process job starts at once and must find it.
    await session.commit()
    await jobs.enqueue(EXPORT_TASK, str(job.id))
    return job.id


async def erase(
    session: AsyncSession, settings: Settings, jobs: Jobs, workspace_id: uuid.UUID, body: EraseIn
) -> Counts | uuid.UUID:
    """A dry run's counts per kind, or the queued erase's job id."""
    subject_kind, value = body.subject.key()
    if body.dry_run:
        return Counts(counts=await subjects.counts(session, workspace_id, subject_kind, value))
    job = await _job(session, settings, workspace_id, "erase", body.subject, body.reason)
    await audit.record(
        session,
        workspace_id,
        "privacy.erase_requested",
        job.id,
        subject=subject_kind,
        reason=body.reason,
    )
    await session.commit()
    await jobs.enqueue(ERASE_TASK, str(job.id))
    return job.id


async def _owned(session: AsyncSession, workspace_id: uuid.UUID, job_id: uuid.UUID) -> PrivacyJob:
    job = await session.get(PrivacyJob, job_id)
    if job is None or job.workspace_id != workspace_id:
        raise NotFound("No such privacy request.", code="job_not_found")
    return job


async def status(session: AsyncSession, workspace_id: uuid.UUID, job_id: uuid.UUID) -> JobOut:
    """The job; a finished export gets a fresh one-time link (an older link stops working)."""
    job = await _owned(session, workspace_id, job_id)
    url = None
    if job.kind == "export" and job.status == "done" and job.result is not None:
        token = secrets.token_urlsafe(32)
        job.download_token_hash = _hash(token)
        url = f"/api/v1/privacy/jobs/{job.id}/download?token={token}"
    return JobOut(
        id=job.id,
        kind=job.kind,
        status=job.status,
        counts=job.counts or {},
        download_url=url,
        created_at=job.created_at,
        finished_at=job.finished_at,
        error=job.error,
    )


async def history(session: AsyncSession, workspace_id: uuid.UUID) -> list[JobOut]:
    """The newest 100 requests, for the data-requests page (no links handed out here)."""
    found = await session.execute(
        select(PrivacyJob)
        .where(PrivacyJob.workspace_id == workspace_id)
        .order_by(PrivacyJob.id.desc())
        .limit(100)
    )
    return [
        JobOut(
            id=j.id,
            kind=j.kind,
            status=j.status,
            counts=j.counts or {},
            created_at=j.created_at,
            finished_at=j.finished_at,
            error=j.error,
        )
        for j in found.scalars()
    ]


async def download(
    session: AsyncSession, workspace_id: uuid.UUID, job_id: uuid.UUID, token: str
) -> str:
    """The export's JSON, once: it is deleted as it is handed out."""
    job = await _owned(session, workspace_id, job_id)
    if job.result is None or job.download_token_hash is None:
        raise PorchError(
            "This export was downloaded already, or expired.", code="export_gone", status=410
        )
    if not secrets.compare_digest(job.download_token_hash, _hash(token)):
        raise BadRequest(
            "This link is not the latest one (ask for the job again).", code="invalid_token"
        )
    body = job.result
    done = await session.execute(
        update(PrivacyJob)
        .where(PrivacyJob.id == job.id, PrivacyJob.download_token_hash == job.download_token_hash)
        .values(result=None, download_token_hash=None, status="downloaded")
    )
    if int(done.rowcount) != 1:  # type: ignore[attr-defined]
        raise PorchError("This export was downloaded already.", code="export_gone", status=410)
    await audit.record(session, workspace_id, "privacy.export_downloaded", job.id)
    return body


async def hold(
    session: AsyncSession, workspace_id: uuid.UUID, conversation_id: uuid.UUID, *, on: bool
) -> None:
    """Put a legal hold on a conversation (sweeps and erasures pass it by), or lift it."""
    conv = await session.get(Conversation, conversation_id)
    if conv is None or conv.workspace_id != workspace_id:
        raise NotFound("No such conversation.", code="conversation_not_found")
    if conv.anonymized_at is not None and on:
        raise Conflict("This conversation was anonymized already.", code="anonymized")
    conv.legal_hold = on
    await audit.record(
        session,
        workspace_id,
        "conversation.hold_set" if on else "conversation.hold_lifted",
        conversation_id,
    )


def expiry(settings: Settings) -> timedelta:
    return timedelta(hours=settings.privacy_export_hours)
