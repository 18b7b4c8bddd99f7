"""The retention sweep: removes what outlived its period, in small batches, one process at
a time (a lease row decides which), never touching a held conversation.

Each batch is its own short transaction, so chat writes wait at most one batch; between
batches the sweep yields to the event loop. On SQLite the freed pages are returned to the
file system (incremental vacuum) and the WAL is truncated, so deleted text leaves the disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import structlog
from sqlalchemy import ColumnElement, Table, and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from porch.models import PrivacyJob, RetentionPolicy, SweepLease, WebhookDelivery
from porch.models.base import utcnow
from porch.privacy import removal, retention

log = structlog.get_logger("porch.privacy")
LEASE = "retention"
LEASE_SECONDS = 300.0
_DELIVERIES = cast(Table, WebhookDelivery.__table__)
Clock = Callable[[], datetime]


@dataclass
class SweepReport:
    ran: bool = True
    conversations: int = 0
    messages: int = 0
    anonymized: int = 0
    deliveries: int = 0
    exports_expired: int = 0
    batches: int = 0
    workspaces: set[uuid.UUID] = field(default_factory=set)


class Sweeper:
    """Runs `sweep` every `interval` seconds beside the jobs; `sweep` may also be called
    directly (tests, the CLI) with a clock of one's own."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        engine: AsyncEngine,
        *,
        interval: float,
        batch: int,
        pause: float = 0.0,
        clock: Clock = utcnow,
    ) -> None:
        self._pause = pause
        self._sessionmaker = sessionmaker
        self._engine = engine
        self._interval = interval
        self._batch = batch
        self._clock = clock
        self._holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._task: asyncio.Task[None] | None = None

    async def _lease(self, *, release: bool = False) -> bool:
        """Take (or renew, or give back) the sweep's lease; False when another holds it."""
        now = utcnow()
        until = now if release else now + timedelta(seconds=LEASE_SECONDS)
        try:
            async with self._sessionmaker() as session, session.begin():
                if await session.get(SweepLease, LEASE) is None and not release:
                    session.add(SweepLease(name=LEASE, holder=self._holder, lease_until=until))
                    return True
                mine_or_lapsed = or_(
                    SweepLease.holder == self._holder, SweepLease.lease_until < now
                )
                values: dict[str, object] = {"holder": self._holder, "lease_until": until}
                if release:
                    values["last_run_at"] = now
                done = await session.execute(
                    update(SweepLease)
                    .where(SweepLease.name == LEASE, mine_or_lapsed)
                    .values(**values)
                )
                return int(done.rowcount) == 1  # type: ignore[attr-defined]
        except IntegrityError:
            return False  # another process created the row first: it holds the lease

    async def sweep(self) -> SweepReport:
        if not await self._lease():
            return SweepReport(ran=False)
        report = SweepReport()
        try:
            now = self._clock()
            async with self._sessionmaker() as session:
                spaces = list(
                    (
                        await session.execute(select(RetentionPolicy.workspace_id).distinct())
                    ).scalars()
                )
            for workspace_id in spaces:
                await self._workspace(workspace_id, now, report)
            await self._expire_exports(report)
        finally:
            await self._lease(release=True)
        if report.conversations or report.anonymized or report.deliveries:
            await self._reclaim()
        if report.conversations or report.anonymized or report.deliveries:
            log.info(
                "retention_swept",
                conversations=report.conversations,
                anonymized=report.anonymized,
                messages=report.messages,
                deliveries=report.deliveries,
                batches=report.batches,
            )
        return report

    async def _workspace(self, workspace_id: uuid.UUID, now: datetime, report: SweepReport) -> None:
        async with self._sessionmaker() as session:
            plans = await retention.widget_policies(session, workspace_id)
            days = (await retention.workspace_policy(session, workspace_id)).delivery_log_days
        for widget_id, policy in plans:
            cond = policy.expired(now)
            if cond is not None:
                await self._conversations(widget_id, policy, cond, now, report)
        if days is not None:
            await self._deliveries(workspace_id, now - timedelta(days=days), report)

    async def _conversations(
        self,
        widget_id: uuid.UUID,
        policy: retention.Policy,
        cond: object,
        now: datetime,
        report: SweepReport,
    ) -> None:
        table = removal.conversations
        guard = cast(ColumnElement[bool], cond)
        while True:
            began = time.perf_counter()
            async with self._sessionmaker() as session, session.begin():
                ids = list(
                    (
                        await session.execute(
                            select(table.c.id)
                            .where(table.c.widget_id == widget_id, guard)
                            .order_by(table.c.last_message_at)
                            .limit(self._batch)
                        )
                    ).scalars()
                )
                if not ids:
                    return
                if policy.mode == "anonymize":
                    n, m = await removal.anonymize_conversations(session, ids, now=now, guard=guard)
                    report.anonymized += n
                else:
                    n, m = await removal.delete_conversations(session, ids, guard=guard)
                    report.conversations += n
                report.messages += m
            report.batches += 1
            if n == 0:
                return  # what is left is being written to right now: the next sweep
            await self._lease()
            await self._rest(began)

    async def _deliveries(
        self, workspace_id: uuid.UUID, cutoff: datetime, report: SweepReport
    ) -> None:
        while True:
            async with self._sessionmaker() as session, session.begin():
                ids = list(
                    (
                        await session.execute(
                            select(_DELIVERIES.c.id)
                            .where(
                                _DELIVERIES.c.workspace_id == workspace_id,
                                _DELIVERIES.c.created_at < cutoff,
                                _DELIVERIES.c.status != "pending",
                            )
                            .limit(self._batch)
                        )
                    ).scalars()
                )
                if not ids:
                    return
                await session.execute(delete(_DELIVERIES).where(_DELIVERIES.c.id.in_(ids)))
            report.deliveries += len(ids)
            await asyncio.sleep(0)

    async def _rest(self, began: float) -> None:
        """Pace the sweep: rest in proportion to the batch's time, so chat is never starved."""
        await asyncio.sleep((time.perf_counter() - began) * self._pause)

    async def _expire_exports(self, report: SweepReport) -> None:
        async with self._sessionmaker() as session, session.begin():
            done = await session.execute(
                update(PrivacyJob)
                .where(and_(PrivacyJob.result.is_not(None), PrivacyJob.expires_at < utcnow()))
                .values(result=None, download_token_hash=None, status="expired")
            )
            report.exports_expired = int(done.rowcount)  # type: ignore[attr-defined]

    async def _reclaim(self) -> None:
        await reclaim(self._engine)

    def start(self, *, sole_process: bool) -> None:
        if self._interval > 0:
            self._task = asyncio.create_task(self._loop(), name="porch-retention-sweep")

    async def ready(self) -> None:
        return None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.sweep()
            except Exception:
                log.exception("retention_sweep_failed")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task


async def reclaim(engine: AsyncEngine) -> None:
    """SQLite: give freed pages back and truncate the WAL, so deleted rows leave the disk.
    A file made before auto_vacuum was on is converted once by a full VACUUM."""
    if engine.dialect.name != "sqlite":
        return
    async with engine.connect() as conn:
        raw = await conn.execution_options(isolation_level="AUTOCOMMIT")
        mode = await raw.exec_driver_sql("PRAGMA auto_vacuum")
        if mode.scalar() != 2:
            await raw.exec_driver_sql("PRAGMA auto_vacuum=INCREMENTAL")
            await raw.exec_driver_sql("VACUUM")
        else:
            # The pragma frees one page per step, and a driver's execute steps once:
            # executescript runs it to the end.
            driver: Any = (await raw.get_raw_connection()).driver_connection
            await driver.executescript("PRAGMA incremental_vacuum;")
        await raw.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
