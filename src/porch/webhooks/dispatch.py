"""From realtime events to webhook deliveries: one row per subscribed webhook, then a job.

Runs in the process that published the event (a broker listener), off the request path.
Subscriptions are cached per workspace and dropped on `webhooks.changed` from any process.
"""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from taskiq.kicker import AsyncKicker

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
            targets = [
                h
                for h, events in await self._subscriptions(session, env.workspace_id)
                if env.type in events
            ]
            if not targets:
                return
            data = env.data
            if self._rules is not None:
                found = await self._rules.rules(await session.connection(), env.workspace_id)
                data = stages.tree(data, found, "webhook")
            ids: list[uuid.UUID] = []
            for hook_id in targets:
                delivery_id = uuid7()
                ids.append(delivery_id)
                session.add(
                    WebhookDelivery(
                        id=delivery_id,
                        webhook_id=hook_id,
                        workspace_id=env.workspace_id,
                        event_type=env.type,
                        payload={
                            "id": str(delivery_id),
                            "type": env.type,
                            "event_id": env.id,
                            "created_at": env.at.isoformat(),
                            "workspace_id": str(env.workspace_id),
                            "conversation_id": str(env.conversation_id),
                            "data": data,
                        },
                        status="pending",
                        attempts=0,
                        created_at=utcnow(),
                    )
                )
            await session.commit()
        for delivery_id in ids:
            try:
                kicker: AsyncKicker[Any, Any] = AsyncKicker(DELIVER_TASK, self._jobs.broker, {})
                await kicker.kiq(str(delivery_id))
            except Exception:
                log.exception("webhook_enqueue_failed", delivery_id=str(delivery_id))
