"""Confirmations nobody answered, expired on time rather than when someone next writes.

A card the visitor never answers (600 s) or a call no team member approves (24 h) used to
stay `confirm` in the call log until the visitor wrote again: analytics counted it as
expired, the log and the inbox still showed it waiting, and no `action.failed` went out.
Every server process runs this loop; each pass takes the calls past their time in batches
(PostgreSQL skips rows another process holds), records them expired, sends their webhook
and tells the inbox, all in the transaction that changes them, so each is told once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from porch.actions import live, notify
from porch.actions.runner import DEFAULT_TEXTS
from porch.models import Action, ActionCall
from porch.models.base import utcnow

log = structlog.get_logger("porch.actions")
INTERVAL_SECONDS = 60.0
BATCH = 200


class ExpiredConfirmations:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        interval: float = INTERVAL_SECONDS,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._interval = interval
        self._clock = clock
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._interval > 0:
            self._task = asyncio.create_task(self._loop(), name="porch-action-expiry")

    async def expire(self) -> int:
        """Record every call past its confirmation time as expired; how many there were."""
        now, total = self._clock(), 0
        while True:
            async with self._sessionmaker() as session:
                query = (
                    select(ActionCall)
                    .where(ActionCall.status == "confirm", ActionCall.expires_at < now)
                    .order_by(ActionCall.id)
                    .limit(BATCH)
                )
                if session.get_bind().dialect.name == "postgresql":
                    query = query.with_for_update(skip_locked=True)
                found = list((await session.scalars(query)).all())
                for call in found:
                    await _expired(session, call, now)
                await session.commit()
            total += len(found)
            if len(found) < BATCH:
                if total:
                    log.info("action_confirmations_expired", calls=total)
                return total

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.expire()
            except Exception:
                log.exception("action_expiry_failed")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task


async def _expired(session: AsyncSession, call: ActionCall, now: datetime) -> None:
    action = await session.get(Action, call.action_id)
    own = (action.error_texts or {}).get("expired") if action is not None else None
    call.status, call.confirmation, call.error_class = "failed", "expired", "expired"
    call.visitor_text = own or DEFAULT_TEXTS["expired"]
    call.finished_at = now
    await session.flush()
    await notify.finished(session, call)
    await live.changed(session, call)
