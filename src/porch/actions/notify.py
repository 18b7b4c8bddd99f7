"""`action.completed` and `action.failed` webhooks: one per finished call, whatever its trigger.

The deliveries are written in the call's own transaction (a rolled-back call sends
nothing) and queued once that transaction commits, however the caller commits it. The
payload is the call as `GET /widgets/{id}/action-calls` shows it: arguments secret-masked,
the response only as projected. Webhook-stage redaction rules apply as for every event.

The process hands its queue and redaction rules to every session through the session
factory's `info` (`install`, called by the lifespan): actions sit beside webhooks in the
layers and do not import them.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from porch.actions.calls import to_out
from porch.ids import uuid7
from porch.models import ActionCall, Webhook, WebhookDelivery
from porch.models.base import utcnow
from porch.privacy import stages
from porch.privacy.rules import RuleBook

log = structlog.get_logger("porch.actions")

COMPLETED = "action.completed"
FAILED = "action.failed"
Deliver = Callable[[str], Awaitable[None]]
_DELIVER = "porch.actions.deliver_webhook"
_RULES = "porch.actions.redaction"
_QUEUED = "porch.actions.deliveries"
_HOOKED = "porch.actions.hooked"
_kicks: set[asyncio.Task[None]] = set()


def install(
    sessionmaker: async_sessionmaker[AsyncSession], deliver: Deliver, rules: RuleBook | None
) -> None:
    """Every session the factory makes from now on queues its action webhooks with `deliver`."""
    info = dict(sessionmaker.kw.get("info") or {})
    info[_DELIVER], info[_RULES] = deliver, rules
    sessionmaker.configure(info=info)


async def finished(session: AsyncSession, call: ActionCall) -> None:
    """Record the deliveries for a call that has just finished (flushed, not yet committed)."""
    kind = COMPLETED if call.status == "succeeded" else FAILED
    rows = await session.execute(
        select(Webhook.id, Webhook.events).where(
            Webhook.workspace_id == call.workspace_id, Webhook.active.is_(True)
        )
    )
    targets = [hook_id for hook_id, events in rows.all() if kind in (events or [])]
    if not targets:
        return
    data: Any = {"call": to_out(call).model_dump(mode="json")}
    rules: RuleBook | None = session.info.get(_RULES)
    if rules is not None:
        found = await rules.rules(await session.connection(), call.workspace_id)
        data = stages.tree(data, found, "webhook")
    now = utcnow()
    queued: list[uuid.UUID] = session.info.setdefault(_QUEUED, [])
    for hook_id in targets:
        delivery_id = uuid7()
        session.add(
            WebhookDelivery(
                id=delivery_id,
                webhook_id=hook_id,
                workspace_id=call.workspace_id,
                event_type=kind,
                payload={
                    "id": str(delivery_id),
                    "type": kind,
                    "event_id": str(call.id),
                    "created_at": now.isoformat(),
                    "workspace_id": str(call.workspace_id),
                    "conversation_id": str(call.conversation_id) if call.conversation_id else None,
                    "data": data,
                },
                status="pending",
                attempts=0,
                created_at=now,
            )
        )
        queued.append(delivery_id)
    await session.flush()
    _hook(session.sync_session)


def _hook(sync: Session) -> None:
    if sync.info.get(_HOOKED):
        return
    sync.info[_HOOKED] = True
    event.listen(sync, "after_commit", _committed)
    event.listen(sync, "after_rollback", _rolled_back)


def _rolled_back(sync: Session) -> None:
    sync.info.pop(_QUEUED, None)


def _committed(sync: Session) -> None:
    ids: list[uuid.UUID] = sync.info.pop(_QUEUED, [])
    deliver: Deliver | None = sync.info.get(_DELIVER)
    if not ids or deliver is None:
        return
    kick = asyncio.get_running_loop().create_task(_enqueue(deliver, ids))
    _kicks.add(kick)
    kick.add_done_callback(_kicks.discard)


async def _enqueue(deliver: Deliver, ids: list[uuid.UUID]) -> None:
    for delivery_id in ids:
        try:
            await deliver(str(delivery_id))
        except Exception:
            log.exception("webhook_enqueue_failed", delivery_id=str(delivery_id))
