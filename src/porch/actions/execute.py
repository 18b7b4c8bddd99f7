"""One call from start to record, whatever triggered it (model, offline rule, test, agent)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from porch.actions import calls, live, notify
from porch.actions import secrets as secret_store
from porch.actions.arguments import Resolved, SignInRequired, Visitor, Where
from porch.actions.definition import Definition
from porch.actions.runner import DEFAULT_TEXTS, SIGN_IN_TEXT, Run, prepare, run
from porch.models import ActionCall
from porch.models.base import utcnow
from porch.observability.metrics import Metrics
from porch.settings import Settings

log = structlog.get_logger("porch.actions")


async def resolve_for(
    session: AsyncSession,
    settings: Settings,
    action: Definition,
    proposed: dict[str, Any],
    visitor: Visitor,
    where: Where,
) -> tuple[Resolved | None, dict[str, str]]:
    """The arguments (None when a verified visitor is needed) and the widget's secrets."""
    secrets = await secret_store.values(
        session, settings, action.widget_id, calls.secret_names(action)
    )
    try:
        return prepare(action, proposed, visitor, where, secrets), secrets
    except SignInRequired:
        return None, secrets


async def over_limit(session: AsyncSession, action: Definition, call: ActionCall) -> bool:
    if call.trigger == "test":
        return False
    day = await calls.count_since(session, action.id, utcnow() - timedelta(days=1))
    if day >= action.calls_per_day:
        return True
    if call.conversation_id is None:
        return False
    since = utcnow() - timedelta(days=3650)
    used = await calls.count_since(session, action.id, since, call.conversation_id)
    return used >= action.calls_per_conversation


async def perform(
    session: AsyncSession,
    settings: Settings,
    metrics: Metrics,
    action: Definition,
    call: ActionCall,
    resolved: Resolved | None,
    secrets: dict[str, str],
) -> Run:
    """Send the call and record it on `call` (added to the session, flushed)."""
    if resolved is None:
        result = Run(Resolved({}, {}, [], {}, []), error_class="config", visitor_text=SIGN_IN_TEXT)
        result.error = "the action needs a verified visitor"
    elif await over_limit(session, action, call):
        result = Run(resolved, error_class="limited", error="a call limit is reached")
        result.visitor_text = action.error_texts.get("limited") or DEFAULT_TEXTS["limited"]
    else:
        result = await run(
            action, resolved, secrets, allow_private=settings.crawl_allow_private_networks
        )
        await secret_store.touch(session, action.widget_id, calls.secret_names(action))
    calls.finish(call, result)
    session.add(call)
    await session.flush()
    await notify.finished(session, call)
    await live.changed(session, call)
    metrics.action_calls.labels(call.trigger, result.state, result.error_class or "none").inc()
    log.info(
        "action_" + result.state,
        action=action.slug,
        call_id=str(call.id),
        trigger=call.trigger,
        error_class=result.error_class,
        status=result.status,
        duration_ms=result.duration_ms,
    )
    return result
