"""From events to webhook deliveries: one row per subscribed webhook, then a job.

Realtime events arrive as a broker listener, in the process that published them, off the
request path. Events that are not realtime events (a finished action call) are recorded in
their own transaction through `record_in` and queued once it commits. Subscriptions are
cached per workspace and dropped on `webhooks.changed` from any process.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from taskiq.kicker import AsyncKicker

from porch.db import when_committed
from porch.ids import uuid7
from porch.models import Webhook, WebhookDelivery
from porch.models.base import utcnow
from porch.privacy import stages
from porch.privacy.rules import RuleBook
from porch.pubsub import PubSub
from porch.realtime.events import Envelope
from porch.settings import Settings
from porch.webhooks.delivery import DELIVER_TASK
from porch.webhooks.schemas import EVENT_NAMES
from porch.webhooks.service import CHANGED

log = structlog.get_logger("porch.webhooks")
_kicks: set[asyncio.Task[None]] = set()


class WebhookDispatcher:
    def __init__(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        pubsub: PubSub,
        jobs: Any,
        rules: RuleBook | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        # Webhook-stage redaction: what leaves for the receiver (privacy/stages.py).
        self._rules = rules
        self._jobs = jobs
        self._cache: dict[uuid.UUID, list[tuple[uuid.UUID, frozenset[str]]]] = {}
        pubsub.subscribe(CHANGED, self._changed)

    async def _changed(self, raw: bytes) -> None:
        try:
            self._cache.pop(uuid.UUID(raw.decode()), None)
        except ValueError:
            self._cache.clear()

    async def _subscriptions(
        self, session: AsyncSession, workspace_id: uuid.UUID
    ) -> list[tuple[uuid.UUID, frozenset[str]]]:
        found = self._cache.get(workspace_id)
        if found is None:
            rows = await session.execute(
                select(Webhook.id, Webhook.events).where(
                    Webhook.workspace_id == workspace_id, Webhook.active.is_(True)
                )
            )
            found = [(hid, frozenset(events or [])) for hid, events in rows.all()]
            self._cache[workspace_id] = found
        return found

    async def __call__(self, env: Envelope) -> None:
        if env.type not in EVENT_NAMES or env.id is None:
            return
        async with self._sessionmaker() as session:
            ids = await self._record(
                session,
                workspace_id=env.workspace_id,
                event_type=env.type,
                event_id=env.id,
                conversation_id=env.conversation_id,
                data=env.data,
                at=env.at,
            )
            if not ids:
                return
            await session.commit()
        # Awaited here, not after the commit hook: the broker waits for its listeners when
        # the process stops, so these are queued before the jobs close.
        await self._enqueue(ids)

    async def record_in(
        self,
        session: AsyncSession,
        *,
        workspace_id: uuid.UUID,
        event_type: str,
        event_id: str | int,
        conversation_id: uuid.UUID | None,
        data: Any,
        at: datetime,
    ) -> None:
        """Write one event's deliveries in the caller's transaction; they are queued once it
        commits, however the caller commits it, and dropped if it rolls back. For events
        that are not realtime events (a finished action call, actions/notify.py)."""
        ids = await self._record(
            session,
            workspace_id=workspace_id,
            event_type=event_type,
            event_id=event_id,
            conversation_id=conversation_id,
            data=data,
            at=at,
        )
        if not ids:
            return
        when_committed(session, lambda: self._committed(ids))

    async def _record(
        self,
        session: AsyncSession,
        *,
        workspace_id: uuid.UUID,
        event_type: str,
        event_id: str | int,
        conversation_id: uuid.UUID | None,
        data: Any,
        at: datetime,
    ) -> list[uuid.UUID]:
        """One pending delivery per subscribed webhook, added and flushed; their ids."""
        targets = [
            h
            for h, events in await self._subscriptions(session, workspace_id)
            if event_type in events
        ]
        if not targets:
            return []
        if self._rules is not None:
            found = await self._rules.rules(await session.connection(), workspace_id)
            data = stages.tree(data, found, "webhook")
        ids: list[uuid.UUID] = []
        for hook_id in targets:
            delivery_id = uuid7()
            ids.append(delivery_id)
            session.add(
                WebhookDelivery(
                    id=delivery_id,
                    webhook_id=hook_id,
                    workspace_id=workspace_id,
                    event_type=event_type,
                    payload={
                        "id": str(delivery_id),
                        "type": event_type,
                        "event_id": event_id,
                        "created_at": at.isoformat(),
                        "workspace_id": str(workspace_id),
                        "conversation_id": str(conversation_id) if conversation_id else None,
                        "data": data,
                    },
                    status="pending",
                    attempts=0,
                    created_at=utcnow(),
                )
            )
        await session.flush()
        return ids

    def _committed(self, ids: list[uuid.UUID]) -> None:
        kick = asyncio.get_running_loop().create_task(self._enqueue(ids))
        _kicks.add(kick)
        kick.add_done_callback(_kicks.discard)

    async def _enqueue(self, ids: list[uuid.UUID]) -> None:
        for delivery_id in ids:
            try:
                kicker: AsyncKicker[Any, Any] = AsyncKicker(DELIVER_TASK, self._jobs.broker, {})
                await kicker.kiq(str(delivery_id))
            except Exception:
                log.exception("webhook_enqueue_failed", delivery_id=str(delivery_id))
