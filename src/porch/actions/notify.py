"""`action.completed` and `action.failed` webhooks: one per finished call, whatever its trigger
and however it ended (sent, refused for a missing sign-in, declined, expired).

The deliveries are written in the call's own transaction (a rolled-back call sends
nothing) and queued once that transaction commits, however the caller commits it: the
webhooks' dispatcher does both (`WebhookDispatcher.record_in`, with its cached
subscriptions and the webhook-stage redaction rules). The payload is the call as
`GET /widgets/{id}/action-calls` shows it: arguments secret-masked, the response only as
projected.

Actions sit beside webhooks in the layers and do not import them: the lifespan hands the
dispatcher's recorder to every session through the session factory's `info` (`install`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from porch.actions.calls import to_out
from porch.models import ActionCall
from porch.models.base import utcnow

COMPLETED = "action.completed"
FAILED = "action.failed"
_RECORD = "porch.actions.record_webhooks"


class Recorder(Protocol):
    async def __call__(
        self,
        session: AsyncSession,
        *,
        workspace_id: uuid.UUID,
        event_type: str,
        event_id: str | int,
        conversation_id: uuid.UUID | None,
        data: Any,
        at: datetime,
    ) -> None: ...


def install(sessionmaker: async_sessionmaker[AsyncSession], record: Recorder) -> None:
    """Every session the factory makes from now on records its action webhooks with `record`."""
    info = dict(sessionmaker.kw.get("info") or {})
    info[_RECORD] = record
    sessionmaker.configure(info=info)


async def finished(session: AsyncSession, call: ActionCall) -> None:
    """Record the deliveries for a call that has just finished (flushed, not yet committed)."""
    record: Recorder | None = session.info.get(_RECORD)
    if record is None:
        return  # a session of no running app (a CLI tool): no webhooks to send
    await record(
        session,
        workspace_id=call.workspace_id,
        event_type=COMPLETED if call.status == "succeeded" else FAILED,
        event_id=str(call.id),
        conversation_id=call.conversation_id,
        data={"call": to_out(call).model_dump(mode="json")},
        at=utcnow(),
    )
