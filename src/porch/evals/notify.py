"""`eval.regressed` webhooks: a case that passed in the previous run fails in this one."""

from __future__ import annotations

import uuid
from typing import Any, Protocol

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from porch.ids import uuid7
from porch.models import Webhook, WebhookDelivery
from porch.models.base import utcnow
from porch.webhooks.delivery import DELIVER_TASK

log = structlog.get_logger("porch.evals")
EVENT = "eval.regressed"


class Enqueue(Protocol):
    async def enqueue(self, name: str, *args: Any) -> None: ...


async def regressed(
    session: AsyncSession,
    jobs: Enqueue | None,
    workspace_id: uuid.UUID,
    data: dict[str, Any],
) -> list[uuid.UUID]:
    """One delivery per subscribed webhook, committed, then queued (when a queue is given)."""
    hooks = (
        await session.execute(
            select(Webhook.id, Webhook.events).where(
                Webhook.workspace_id == workspace_id, Webhook.active.is_(True)
            )
        )
    ).all()
    ids: list[uuid.UUID] = []
    now = utcnow()
    for hook_id, events in hooks:
        if EVENT not in (events or []):
            continue
        delivery_id = uuid7()
        ids.append(delivery_id)
        session.add(
            WebhookDelivery(
                id=delivery_id,
                webhook_id=hook_id,
                workspace_id=workspace_id,
                event_type=EVENT,
                payload={
                    "id": str(delivery_id),
                    "type": EVENT,
                    "created_at": now.isoformat(),
                    "workspace_id": str(workspace_id),
                    "data": data,
                },
                status="pending",
                attempts=0,
                created_at=now,
            )
        )
    await session.commit()
    for delivery_id in ids if jobs is not None else []:
        try:
            await jobs.enqueue(DELIVER_TASK, str(delivery_id))  # type: ignore[union-attr]
        except Exception:
            log.exception("webhook_enqueue_failed", delivery_id=str(delivery_id))
    return ids
