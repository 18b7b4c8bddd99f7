"""Testing an action before it goes live: a real call, recorded with trigger `test`."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from porch.actions import calls, execute, service
from porch.actions.arguments import Visitor, Where
from porch.actions.definition import from_row
from porch.actions.schemas import RenderedRequest, TestIn, TestOut
from porch.observability.metrics import Metrics
from porch.settings import Settings


async def test_action(
    session: AsyncSession,
    settings: Settings,
    metrics: Metrics,
    workspace_id: uuid.UUID,
    action_id: uuid.UUID,
    body: TestIn,
) -> TestOut:
    """Run the action as the given visitor (verified when a user id or claims are given)."""
    action = from_row(await service.get(session, workspace_id, action_id))
    who = body.visitor
    visitor = (
        Visitor(user_id=who.user_id, verified=True, claims=dict(who.claims))
        if who is not None and (who.user_id or who.claims)
        else Visitor()
    )
    call = calls.new_call(action, trigger="test", status="running", proposed=body.arguments)
    resolved, secrets = await execute.resolve_for(
        session, settings, action, dict(body.arguments), visitor, Where()
    )
    result = await execute.perform(session, settings, metrics, action, call, resolved, secrets)
    request = (
        RenderedRequest(
            method=result.method, url=result.url or "", headers=result.headers, body=result.body
        )
        if result.method
        else None
    )
    return TestOut(
        call_id=call.id,
        request=request,
        status=result.status,
        response=result.response,
        projected=result.projected,
        visitor_text=result.visitor_text,
        duration_ms=result.duration_ms,
        error_class=result.error_class,
        error=result.error,
    )
