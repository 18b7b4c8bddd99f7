"""Confirmations: porch, not the model, asks before a write; the answer runs or drops the call.

A confirmation is bound to a hash of the action's id, version and the exact arguments the
card showed, and expires. Declined, expired or replayed with other arguments: no request
is ever sent.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from porch.actions import calls, context, execute, live, notify
from porch.actions.arguments import coerce, model_parameters
from porch.actions.context import ActionsState
from porch.actions.definition import Definition
from porch.actions.events import ActionEvent
from porch.actions.runner import DEFAULT_TEXTS
from porch.actions.schemas import ConfirmIn, ConfirmOut
from porch.db import run_after_commit
from porch.errors import Conflict, Forbidden, NotFound, PorchError
from porch.models import ActionCall
from porch.models.base import utcnow

Emit = Callable[[ActionEvent], None]
# Stores the outcome as the assistant's reply in the caller's session: the conversation's
# messages belong to chat (tests/security/test_entry_points.py), not to actions.
Reply = Callable[[AsyncSession, ActionCall, str], Awaitable[None]]


class Expired(PorchError):
    status, code = 410, "confirmation_expired"


def summary(action: Definition, shown: dict[str, Any]) -> str:
    details = ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in shown.items())
    return f"Please confirm: {action.title}" + (f" ({details})." if details else ".")


def _text(action: Definition, error_class: str) -> str:
    return action.error_texts.get(error_class) or DEFAULT_TEXTS[error_class]


async def decide_call(
    session: AsyncSession,
    state: ActionsState,
    action: Definition,
    call: ActionCall,
    decision: str,
    emit: Emit,
) -> tuple[str, str]:
    """Run or drop a pending call; (its state, the visitor's text). Flushes, no commit."""
    expires = call.expires_at
    if expires is not None and expires < utcnow():
        call.status, call.confirmation, call.error_class = "failed", "expired", "expired"
        call.visitor_text, call.finished_at = _text(action, "expired"), utcnow()
        await session.flush()
        await notify.finished(session, call)
        await live.changed(session, call)
        emit(ActionEvent(call.id, action.slug, "failed", call.visitor_text))
        return "expired", call.visitor_text
    if decision == "decline":
        call.status, call.confirmation, call.error_class = "failed", "declined", "declined"
        call.visitor_text, call.finished_at = _text(action, "declined"), utcnow()
        await session.flush()
        await notify.finished(session, call)
        await live.changed(session, call)
        emit(ActionEvent(call.id, action.slug, "failed", call.visitor_text))
        return "declined", call.visitor_text
    visitor, where = await context.who(session, call.conversation_id)
    resolved, secrets = await execute.resolve_for(
        session, state.settings, action, dict(call.arguments or {}), visitor, where
    )
    visible = model_parameters(action.as_mapping())
    shown = {k: v for k, v in (resolved.values if resolved else {}).items() if k in visible}
    if resolved is not None and calls.arguments_hash(action, shown) != call.arguments_hash:
        raise Conflict("The arguments changed since they were shown.", code="arguments_changed")
    call.confirmation, call.status = "confirmed", "running"
    emit(ActionEvent(call.id, action.slug, "started", f"{action.title}…"))
    result = await execute.perform(
        session, state.settings, state.metrics, action, call, resolved, secrets
    )
    emit(ActionEvent(call.id, action.slug, result.state, result.visitor_text))
    return result.state, result.visitor_text


def _check_approver(call: ActionCall, by: str | None) -> None:
    """An agent-approved call is answered by a team member only, and only such calls are."""
    if call.confirmation == "agent" and by is None:
        raise Forbidden(
            "A team member approves this action; it cannot be confirmed here.",
            code="approval_by_agent",
        )
    if by is not None and call.confirmation == "pending":
        raise Conflict(
            "The visitor confirms this action, not an agent.", code="approval_by_visitor"
        )


def _claimed_hash(action: Definition, body: ConfirmIn) -> str | None:
    if body.arguments is None:
        return body.arguments_hash
    params = model_parameters(action.as_mapping())
    shown = {k: coerce(params.get(k) or {}, v) for k, v in body.arguments.items()}
    return calls.arguments_hash(action, shown)


async def decide(
    state: ActionsState,
    conversation_id: uuid.UUID,
    widget_id: uuid.UUID,
    call_id: uuid.UUID,
    body: ConfirmIn,
    reply: Reply,
    *,
    by: str | None = None,
) -> ConfirmOut:
    """The visitor's answer to a confirmation card, or (`by` a person's id) an agent's answer
    to a call that waits for one; the result is stored as a reply too."""
    async with state.sessionmaker() as session:
        call = await session.get(ActionCall, call_id)
        if call is None or call.conversation_id != conversation_id:
            raise NotFound("No such action call in this conversation.", code="call_not_found")
        _check_approver(call, by)
        if call.status != "confirm":
            raise Conflict("This confirmation was already answered.", code="confirmation_closed")
        action = next(
            (a for a in await state.actions.enabled(widget_id) if a.id == call.action_id), None
        )
        if action is None or action.version != call.action_version:
            raise Conflict("The action changed since it was shown.", code="arguments_changed")
        claimed = _claimed_hash(action, body)
        if claimed is not None and claimed != call.arguments_hash:
            raise Conflict("The arguments differ from those shown.", code="arguments_changed")
        call.decided_by = by
        outcome, text = await decide_call(
            session, state, action, call, body.decision, lambda _e: None
        )
        await reply(session, call, text)
        await session.commit()
        # Not a request's session scope: what waits for the commit runs here (the reply's
        # event for agents' sockets, chat/visitor/service.py).
        await run_after_commit(session)
    if outcome == "expired":
        raise Expired("The confirmation expired; nothing was done.")
    return ConfirmOut(state=outcome, text=text, call_id=call_id)
