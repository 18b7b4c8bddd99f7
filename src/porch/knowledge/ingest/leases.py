"""What a sync works with: its runtime, its lease on the source, and per-page outcomes.

A job claims a source (status running, a lease with an owner token) before it works on it;
every write it makes later checks that it still holds that lease, so a job that lost it
(the source deleted, or taken over after the job's process went silent) writes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from porch.embeddings.base import Embedder
from porch.knowledge.search.keyword import KeywordIndex
from porch.knowledge.search.store import table_of
from porch.models import Source
from porch.models.base import utcnow
from porch.settings import Settings


@dataclass
class Runtime:
    """What ingestion needs; built by the app's lifespan or by `porch worker`."""

    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    keywords: KeywordIndex
    embedder: Embedder


@dataclass(frozen=True)
class SourceInfo:
    owner: str  # this job's lease token
    id: uuid.UUID
    workspace_id: uuid.UUID
    widget_id: uuid.UUID
    type: str
    url: str | None
    title: str
    config: dict[str, Any]
    generation: int
    schedule: str


@dataclass
class Known:
    """A page as the last sync left it."""

    id: uuid.UUID
    status: str
    etag: str | None
    last_modified: str | None
    content_hash: str | None
    links: list[str]
    fetched_at: Any
    title: str


@dataclass
class Outcome:
    url: str
    page_id: uuid.UUID
    status: str  # stored | unchanged | skipped | failed | gone
    reason: str | None = None
    http_status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    title: str = ""
    chunks: int = 0
    depth: int = 0
    links: list[str] = field(default_factory=list)
    changed: bool = False  # staged passages replace the page's old ones


class SyncAborted(Exception):
    """The source was deleted, or re-queued, while this sync ran."""


async def claim(
    rt: Runtime, source_id: uuid.UUID, generation: int, *, take_over: bool = False
) -> SourceInfo | None:
    """Mark the source running for this job; None when another job has it or it moved on."""
    now = utcnow()
    owner = uuid.uuid4().hex
    table = table_of(Source)
    claimable = table.c.status == "pending"
    if take_over:
        claimable = or_(claimable, table.c.status == "running")
    else:
        claimable = or_(
            claimable,
            (table.c.status == "running")
            & or_(table.c.lease_until.is_(None), table.c.lease_until < now),
        )
    async with rt.sessionmaker() as session, session.begin():
        result = await session.execute(
            update(table)
            .where(table.c.id == source_id, table.c.generation == generation, claimable)
            .values(
                status="running",
                error=None,
                progress=0.0,
                lease_until=now + timedelta(seconds=rt.settings.job_lease_seconds),
                lease_owner=owner,
                updated_at=now,
            )
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return None
        source = await session.get(Source, source_id)
        assert source is not None
        return SourceInfo(
            owner,
            source.id,
            source.workspace_id,
            source.widget_id,
            source.type,
            source.url,
            source.title,
            dict(source.config or {}),
            source.generation,
            source.schedule,
        )


async def release(rt: Runtime, info: SourceInfo, *, failed: str | None) -> None:
    """After an error: back to pending for a retry, or failed for good."""
    table = table_of(Source)
    values: dict[str, Any] = {"lease_until": None, "lease_owner": None, "updated_at": utcnow()}
    values.update({"status": "failed", "error": failed} if failed else {"status": "pending"})
    async with rt.sessionmaker() as session, session.begin():
        await session.execute(
            update(table)
            .where(table.c.id == info.id, table.c.lease_owner == info.owner)
            .values(**values)
        )


INTERVALS = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}


def next_sync(schedule: str, after: datetime) -> datetime | None:
    """When a source on this schedule (off, daily, weekly) is next due for a re-sync."""
    interval = INTERVALS.get(schedule)
    return None if interval is None else after + interval
