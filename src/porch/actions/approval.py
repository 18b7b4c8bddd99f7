"""Agent approval: a write the owner wants a team member, not the visitor, to approve.

Such a call waits in state `confirm` with confirmation `agent`, bound to its arguments like
any card, but longer (a person may not be at their desk). The visitor is told it waits and
cannot confirm it (the confirmation route answers 403, "yes" runs nothing); the inbox shows
it with Approve and Decline, which go through `confirm.decide` as the visitor's answer does.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from porch.actions import live
from porch.actions.definition import Definition
from porch.actions.events import ActionEvent
from porch.actions.runner import DEFAULT_TEXTS
from porch.models import ActionCall
from porch.models.base import utcnow

Emit = Callable[[ActionEvent], None]
APPROVAL_SECONDS = 24 * 3600
# The owner translates it with `error_texts.awaiting_agent`, as every text the visitor sees.
WAITING_TEXT = "A team member needs to approve this:"
WAITING = "waiting"


def waiting_text(action: Definition, shown: dict[str, Any]) -> str:
    details = ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in shown.items())
    lead = action.error_texts.get("awaiting_agent") or WAITING_TEXT
    return f"{lead} {action.title}" + (f" ({details})." if details else ".")


async def wait_for_agent(
    session: AsyncSession,
    action: Definition,
    call: ActionCall,
    shown: dict[str, Any],
    emit: Emit,
) -> str:
    """Hold the call for a team member (hash and arguments already on it); the visitor's text."""
    call.confirmation = "agent"
    call.expires_at = utcnow() + timedelta(seconds=APPROVAL_SECONDS)
    call.visitor_text = waiting_text(action, shown)
    await live.changed(session, call)
    emit(ActionEvent(call.id, action.slug, WAITING, call.visitor_text))
    return call.visitor_text


async def still_waiting(session: AsyncSession, action: Definition, call: ActionCall) -> str:
    """The visitor's "yes" or "no" to a call only a team member answers: it still waits,
    or it has expired (recorded so, and the inbox told)."""
    if call.expires_at is not None and call.expires_at < utcnow():
        call.status, call.confirmation, call.error_class = "failed", "expired", "expired"
        call.visitor_text = action.error_texts.get("expired") or DEFAULT_TEXTS["expired"]
        call.finished_at = utcnow()
        await live.changed(session, call)
        return call.visitor_text
    return call.visitor_text or waiting_text(action, dict(call.arguments or {}))
