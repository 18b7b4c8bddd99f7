"""An agent runs an action from the inbox on the visitor's behalf (trigger `agent`).

The agent stands where the model stands: they propose the model-sourced parameters only.
Identity, conversation, constant and secret parameters are filled by porch from the
conversation's verified visitor, whatever the agent sends for them; `requires_verified`,
the call limits, the SSRF guard, recording and webhooks are those of every call. The agent
is the one who decides, so a write runs without a card, recorded as confirmed by them.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from porch.actions import calls, execute
from porch.actions.arguments import Visitor, Where, model_parameters
from porch.actions.context import ActionsState
from porch.actions.definition import Definition
from porch.errors import NotFound
from porch.models import ActionCall, Conversation


async def offered(state: ActionsState, widget_id: uuid.UUID) -> tuple[Definition, ...]:
    """The widget's enabled actions, which an agent may run."""
    return await state.actions.enabled(widget_id)


def fields(action: Definition) -> dict[str, dict[str, Any]]:
    """What the agent fills in: the model-sourced parameters, as a model would see them."""
    return model_parameters(action.as_mapping())


async def run(
    session: AsyncSession,
    state: ActionsState,
    conversation: Conversation,
    action_id: uuid.UUID,
    arguments: dict[str, Any],
    *,
    by: str,
) -> ActionCall:
    """Run one of the conversation's widget's enabled actions now; the recorded call."""
    action = next(
        (a for a in await offered(state, conversation.widget_id) if a.id == action_id), None
    )
    if action is None:
        raise NotFound("No such enabled action on this widget.", code="action_not_found")
    call = calls.new_call(
        action,
        trigger="agent",
        status="running",
        proposed=arguments,
        conversation_id=conversation.id,
    )
    call.confirmation = "confirmed" if action.needs_confirmation else "none"
    call.decided_by = by
    visitor = Visitor(user_id=conversation.user_external_id, verified=conversation.user_verified)
    where = Where(conversation.id, conversation.page_url, conversation.locale)
    resolved, secrets = await execute.resolve_for(
        session, state.settings, action, dict(arguments), visitor, where
    )
    await execute.perform(session, state.settings, state.metrics, action, call, resolved, secrets)
    return call
