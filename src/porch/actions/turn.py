"""Actions in a conversation turn without a model: the offline answerer's way of running them.

Called by the answer pipeline before it asks a model. A widget without actions returns at
once from memory. Otherwise the turn continues what a previous one started (a parameter
asked for, a confirmation typed as "yes"/"no") or starts the action the message asks for.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from porch.actions import approval, calls, confirm, context, execute, live, notify, offline
from porch.actions.arguments import Visitor, Where, model_parameters
from porch.actions.context import ActionsState
from porch.actions.definition import Definition
from porch.actions.events import ActionEvent
from porch.actions.runner import SIGN_IN_TEXT
from porch.models import ActionCall
from porch.models.base import utcnow

Emit = Callable[[ActionEvent], None]
CONFIRM_SECONDS = 600
PENDING = ("collecting", "confirm")
STOPPED = "Okay, I have stopped. Is there anything else I can help with?"


async def take(
    state: ActionsState,
    conversation_id: uuid.UUID,
    widget_id: uuid.UUID,
    question: str,
    message_id: uuid.UUID,
    emit: Emit,
    *,
    start: bool = True,
) -> str | None:
    """The reply when this message concerns an action, else None (the answerer goes on).

    `start=False` when a model answers: it starts actions itself through tool calls, so
    only what is pending goes on here (a confirmation typed as "yes" or "no")."""
    actions = await state.actions.enabled(widget_id)
    if not actions:
        return None
    async with state.sessionmaker() as session:
        text = await _turn(
            session, state, actions, conversation_id, question, message_id, emit, start
        )
        await session.commit()
    return text


async def _turn(
    session: AsyncSession,
    state: ActionsState,
    actions: tuple[Definition, ...],
    conversation_id: uuid.UUID,
    question: str,
    message_id: uuid.UUID,
    emit: Emit,
    start: bool,
) -> str | None:
    # The pending call first, the visitor only when a call goes on: most messages to a
    # widget with actions concern none, and should cost one query (bench/actions.py).
    pending = await session.scalar(
        select(ActionCall)
        .where(ActionCall.conversation_id == conversation_id, ActionCall.status.in_(PENDING))
        .order_by(ActionCall.id.desc())
        .limit(1)
    )
    if pending is not None:
        action = next((a for a in actions if a.id == pending.action_id), None)
        if action is None or action.version != pending.action_version:
            pending.status, pending.error_class = "failed", "config"
            pending.error = "the action changed or was switched off before it ran"
            pending.finished_at = utcnow()
            await session.flush()
            await notify.finished(session, pending)
            await live.changed(session, pending)
        elif pending.status == "confirm" and pending.confirmation == "agent":
            # Only a team member answers it: "yes" here runs nothing.
            if offline.decision(question):
                return await approval.still_waiting(session, action, pending)
        elif pending.status == "confirm" and (said := offline.decision(question)):
            _, text = await confirm.decide_call(session, state, action, pending, said, emit)
            return text
        elif pending.status == "collecting":
            if offline.decision(question) == "decline":
                pending.status, pending.error_class = "failed", "declined"
                pending.visitor_text, pending.finished_at = STOPPED, utcnow()
                await session.flush()
                await notify.finished(session, pending)
                return STOPPED
            asked = pending.asking or ""
            args = {**pending.arguments, asked: offline.answer_to(action, asked, question)}
            visitor, where = await who(session, conversation_id)
            return await _advance(session, state, action, pending, args, visitor, where, emit)
    action = offline.match(actions, question) if start else None
    if action is None:
        return None
    call = calls.new_call(
        action,
        trigger="offline",
        status="collecting",
        proposed={},
        conversation_id=conversation_id,
        message_id=message_id,
    )
    args = offline.extract(action, question)
    visitor, where = await who(session, conversation_id)
    return await _advance(session, state, action, call, args, visitor, where, emit)


# Who the call is for: read per call, with the conversation's signed claims (context.py).
who = context.who


async def _advance(
    session: AsyncSession,
    state: ActionsState,
    action: Definition,
    call: ActionCall,
    args: dict[str, Any],
    visitor: Visitor,
    where: Where,
    emit: Emit,
) -> str:
    """Ask for what is missing, ask for confirmation, or run the call."""
    resolved, secrets = await execute.resolve_for(
        session, state.settings, action, args, visitor, where
    )
    call.arguments = {k: v for k, v in args.items() if v is not None}
    session.add(call)
    if resolved is None:
        call.status, call.error_class = "failed", "config"
        call.error, call.visitor_text = "the action needs a verified visitor", SIGN_IN_TEXT
        call.finished_at = utcnow()
        await session.flush()
        await notify.finished(session, call)
        await live.changed(session, call)
        emit(ActionEvent(call.id, action.slug, "failed", SIGN_IN_TEXT))
        return SIGN_IN_TEXT
    visible = model_parameters(action.as_mapping())
    bad = next((n for n in resolved.errors if n in visible), None)
    if bad is not None or resolved.missing:
        name = bad or resolved.missing[0]
        call.arguments.pop(name, None)
        call.status, call.asking = "collecting", name
        await session.flush()
        return offline.question_for(action, name, resolved.errors.get(name))
    if resolved.errors:  # a porch-filled parameter: the owner's setup, not the visitor's
        result = await execute.perform(
            session, state.settings, state.metrics, action, call, resolved, secrets
        )
        emit(ActionEvent(call.id, action.slug, "failed", result.visitor_text))
        return result.visitor_text
    shown = {k: v for k, v in resolved.values.items() if k in visible}
    if action.needs_confirmation:
        return await ask_confirmation(session, action, call, shown, emit)
    emit(ActionEvent(call.id, action.slug, "started", f"{action.title}…"))
    call.status = "running"
    result = await execute.perform(
        session, state.settings, state.metrics, action, call, resolved, secrets
    )
    emit(ActionEvent(call.id, action.slug, result.state, result.visitor_text))
    return result.visitor_text


async def ask_confirmation(
    session: AsyncSession,
    action: Definition,
    call: ActionCall,
    shown: dict[str, Any],
    emit: Emit,
) -> str:
    call.status, call.confirmation, call.asking = "confirm", "pending", None
    call.arguments_hash = calls.arguments_hash(action, shown)
    call.expires_at = utcnow() + timedelta(seconds=CONFIRM_SECONDS)
    if action.agent_approves:
        return await approval.wait_for_agent(session, action, call, shown, emit)
    await live.changed(session, call)
    summary = confirm.summary(action, shown)
    emit(
        ActionEvent(
            call.id,
            action.slug,
            "confirm",
            summary,
            arguments=shown,
            arguments_hash=call.arguments_hash,
            expires_at=call.expires_at,
        )
    )
    return f"{summary} Reply yes to go ahead, or no to cancel."
