"""The call log: one row per run or pending run, and the owners' view of it."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Row, bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from porch.actions.definition import Definition
from porch.actions.runner import Run
from porch.actions.schemas import CallOut
from porch.ids import uuid7
from porch.models import ActionCall
from porch.models.base import utcnow
from porch.widgets import service as widgets

LISTED = 200


def arguments_hash(action: Definition, values: dict[str, Any]) -> str:
    """Binds a confirmation to the exact action version and arguments it showed."""
    blob = orjson.dumps(
        {"action": str(action.id), "version": action.version, "arguments": values},
        option=orjson.OPT_SORT_KEYS,
        default=str,
    )
    return hashlib.sha256(blob).hexdigest()


def secret_names(action: Definition) -> list[str]:
    names = [s.removeprefix("secret:") for s in action.sources.values() if s.startswith("secret:")]
    if action.auth.get("secret"):
        names.append(str(action.auth["secret"]))
    return names


def new_call(
    action: Definition,
    *,
    trigger: str,
    status: str,
    proposed: dict[str, Any],
    conversation_id: uuid.UUID | None = None,
    message_id: uuid.UUID | None = None,
) -> ActionCall:
    return ActionCall(
        # Now, not at the flush: the stream's `started` event names the call before it is
        # flushed, and the widget updates that event's line by this id.
        id=uuid7(),
        workspace_id=action.workspace_id,
        widget_id=action.widget_id,
        action_id=action.id,
        action_version=action.version,
        slug=action.slug,
        conversation_id=conversation_id,
        message_id=message_id,
        trigger=trigger,
        status=status,
        confirmation="none",
        arguments=dict(proposed),
        sent_arguments={},
        argument_sources={},
        created_at=utcnow(),
    )


def finish(call: ActionCall, run: Run) -> None:
    """Copy what happened onto the call row: every value secret-masked already."""
    call.status = run.state
    call.sent_arguments = run.sent_arguments
    call.argument_sources = dict(run.resolved.sources)
    call.request_method = run.method
    call.request_url = run.url
    call.response_status = run.status
    call.response = run.projected if run.state == "succeeded" else None
    call.visitor_text = run.visitor_text
    call.error_class = run.error_class
    call.error = run.error
    call.duration_ms = run.duration_ms
    call.finished_at = utcnow()


def to_out(call: ActionCall) -> CallOut:
    return CallOut(
        id=call.id,
        action_id=call.action_id,
        slug=call.slug,
        action_version=call.action_version,
        conversation_id=call.conversation_id,
        message_id=call.message_id,
        trigger=call.trigger,
        arguments=dict(call.arguments or {}),
        sent_arguments=dict(call.sent_arguments or {}),
        argument_sources=dict(call.argument_sources or {}),
        state=call.status,
        status=call.response_status,
        error_class=call.error_class,
        confirmation=call.confirmation,
        decided_by=call.decided_by,
        request_method=call.request_method,
        request_url=call.request_url,
        response=call.response,
        visitor_text=call.visitor_text,
        duration_ms=call.duration_ms,
        created_at=call.created_at,
        problems=_problems(call),
    )


def _problems(call: ActionCall) -> dict[str, str]:
    """What was wrong with a model's rejected proposal (stored as JSON in `error`)."""
    if call.error_class != "invalid_arguments" or not call.error:
        return {}
    try:
        problems = orjson.loads(call.error)
    except orjson.JSONDecodeError:
        return {}
    return {str(k): str(v) for k, v in problems.items()} if isinstance(problems, dict) else {}


async def list_calls(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    widget_id: uuid.UUID,
    *,
    action_id: uuid.UUID | None = None,
    conversation_id: uuid.UUID | None = None,
    failed_only: bool = False,
) -> list[CallOut]:
    """The newest calls first, filtered by action, conversation or failure."""
    await widgets.get(session, workspace_id, widget_id)
    query = select(ActionCall).where(ActionCall.widget_id == widget_id)
    if action_id is not None:
        query = query.where(ActionCall.action_id == action_id)
    if conversation_id is not None:
        query = query.where(ActionCall.conversation_id == conversation_id)
    if failed_only:
        query = query.where(ActionCall.status == "failed")
    rows = await session.execute(query.order_by(ActionCall.id.desc()).limit(LISTED))
    return [to_out(c) for c in rows.scalars()]


async def count_since(
    session: AsyncSession,
    action_id: uuid.UUID,
    since: datetime,
    conversation_id: uuid.UUID | None = None,
) -> int:
    """Calls that reached the owner's API (or were about to), for the per-day and
    per-conversation limits."""
    query = select(ActionCall.id).where(
        ActionCall.action_id == action_id,
        ActionCall.created_at >= since,
        ActionCall.status.in_(("succeeded", "failed", "running")),
        ActionCall.trigger != "test",
        # A model's invalid proposal is recorded but never sent: it uses up no limit.
        ActionCall.error_class.is_distinct_from("invalid_arguments"),
    )
    if conversation_id is not None:
        query = query.where(ActionCall.conversation_id == conversation_id)
    return len((await session.execute(query)).all())


# Built once: the visitor's history reads it on every page.
_OF_MESSAGES = (
    select(
        ActionCall.id,
        ActionCall.message_id,
        ActionCall.action_id,
        ActionCall.action_version,
        ActionCall.slug,
        ActionCall.status,
        ActionCall.confirmation,
        ActionCall.arguments,
        ActionCall.arguments_hash,
        ActionCall.expires_at,
        ActionCall.visitor_text,
        ActionCall.error_class,
    )
    .where(
        ActionCall.conversation_id == bindparam("cid"),
        ActionCall.message_id.in_(bindparam("ids", expanding=True)),
        # Still asking for a parameter: the visitor was never shown a call.
        ActionCall.status != "collecting",
    )
    .order_by(ActionCall.id)
)


async def of_messages(
    conn: AsyncConnection, conversation_id: uuid.UUID, message_ids: Sequence[uuid.UUID]
) -> Sequence[Row[Any]]:
    """The calls made for these messages of one conversation, oldest first, in one query."""
    if not message_ids:
        return []
    result = await conn.execute(_OF_MESSAGES, {"cid": conversation_id, "ids": list(message_ids)})
    return result.all()
