"""The one way a visitor's conversation begins, whichever door it comes through.

The widget's route (`POST /widgets/{id}/conversations`), the compatibility aliases
(`POST /chat/message`, `POST /api/chat` without a known sessionId) and any route added later
call `open_conversation`; every visitor message goes through `pipeline.accept`. So the per-IP
conversation limit, the identity requirement, the per-visitor message limits and the
budgets are the same on every door (tests/security/test_entry_points.py walks them all).
"""

from __future__ import annotations

from porch.chat.answer import live
from porch.chat.answer.context import State
from porch.chat.visitor import service, verified
from porch.chat.visitor.schemas import ConversationIn, VisitorUser
from porch.chat.visitor.service import Started
from porch.limits.rules import Rule
from porch.widgets.cache import WidgetConfig


async def admit_conversation(state: State, widget: WidgetConfig, client_ip: str) -> None:
    """Count a new conversation against the per-IP hourly limit; 429 once it is spent."""
    per_ip = (
        widget.limits.get("conversations_per_ip_per_hour")
        or state.settings.default_conversations_per_ip_per_hour
    )
    await state.limits.check(
        [(Rule("ip.conversations", per_ip, "hour"), f"{widget.id}:{client_ip}")]
    )


async def open_conversation(
    state: State,
    widget: WidgetConfig,
    details: ConversationIn,
    *,
    client_ip: str,
    greet: bool = True,
) -> Started:
    """Limit, verify the visitor's identity (a hash or an identity token), store the
    conversation (and its greeting, unless the client shows its own), and tell the inbox
    (and `conversation.created` webhooks)."""
    await admit_conversation(state, widget, client_ip)
    user = details.user
    who = verified.identify(state, widget, user, details.identity_token)
    async with state.engine.begin() as conn:
        started = await service.start_conversation(
            conn,
            widget,
            page_url=details.page_url,
            page_title=details.page_title,
            locale=details.locale,
            user_id=who.user_id,
            user_name=user.name if user else None,
            user_email=user.email if user else None,
            client_ip=client_ip,
            user_verified=who.verified,
            user_claims=who.claims,
            greet=greet,
        )
    if details.user is None and who.user_id is not None:
        # Signed by a token alone: the inbox and webhooks still name the user (not the
        # claims: those stay with the conversation, for actions).
        details = details.model_copy(update={"user": VisitorUser(id=who.user_id)})
    await live.conversation_started(state, widget.id, started, details)
    return started
