"""Conversations and messages outside the answer pipeline: start, history, feedback, handoff,
and the reply to an action's confirmation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from porch.accounts import tokens
from porch.actions import calls as action_calls
from porch.actions import confirm
from porch.actions.index import ActionIndex
from porch.actions.schemas import ConfirmIn, ConfirmOut
from porch.chat import handoff
from porch.chat.answer.context import State
from porch.chat.visitor import calls as shown_calls
from porch.chat.visitor.schemas import ActionOut
from porch.conversations import repository as repo
from porch.conversations.repository import StoredMessage
from porch.errors import NotFound, Unauthorized, Unprocessable
from porch.ids import uuid7
from porch.models import ActionCall
from porch.models.base import utcnow
from porch.realtime import events as ev
from porch.widgets import service as widgets
from porch.widgets.cache import WidgetConfig

HISTORY_PAGE_MAX = 100


@dataclass(frozen=True, slots=True)
class Started:
    conversation_id: uuid.UUID
    visitor_token: str
    messages: list[StoredMessage]


async def start_conversation(
    conn: AsyncConnection,
    widget: WidgetConfig,
    *,
    page_url: str | None,
    page_title: str | None,
    locale: str | None,
    user_id: str | None,
    user_name: str | None,
    user_email: str | None,
    client_ip: str | None,
    user_verified: bool = False,
    user_claims: dict[str, Any] | None = None,
    greet: bool = True,
) -> Started:
    if widget.require_identity and not user_verified:
        # Every way in (the widget, the compatibility routes) meets this one check.
        raise Unauthorized(
            "This widget needs a signed-in user: pass user {id, hash} or an identity_token.",
            code="identity_required",
        )
    token = tokens.new_token(tokens.VISITOR_TOKEN_PREFIX)
    conversation_id, now = uuid7(), utcnow()
    await conn.execute(
        repo.conversations.insert().values(
            id=conversation_id,
            workspace_id=widget.workspace_id,
            widget_id=widget.id,
            visitor_token_hash=tokens.token_hash(token),
            status="open",
            page_url=page_url,
            page_title=page_title,
            locale=locale,
            user_external_id=user_id,
            user_name=user_name,
            user_email=user_email,
            user_verified=user_verified,
            user_claims=user_claims if user_verified else None,
            client_ip=client_ip,
            message_count=0,
            created_at=now,
            last_message_at=now,
        )
    )
    greeting: list[StoredMessage] = []
    # `greet=False` for clients that show a welcome of their own (the compatibility routes):
    # the visitor never sees the widget's greeting there, so it is not stored either.
    if widget.greeting and greet:
        # Stored, so the owner reads the conversation exactly as the visitor saw it.
        message = StoredMessage(uuid7(), "assistant", widget.greeting, [], now, "complete", None)
        await repo.insert_message(
            conn,
            {
                "id": message.id,
                "conversation_id": conversation_id,
                "workspace_id": widget.workspace_id,
                "widget_id": widget.id,
                "role": "assistant",
                "content": widget.greeting,
                "status": "complete",
                "sources": [],
            },
            now=now,
        )
        greeting.append(message)
    return Started(conversation_id, token, greeting)


async def history(
    conn: AsyncConnection,
    conversation_id: uuid.UUID,
    *,
    before: uuid.UUID | None,
    limit: int,
) -> tuple[list[StoredMessage], bool]:
    """One page, oldest first, and whether older messages remain."""
    items = await repo.recent(conn, conversation_id, limit=limit + 1, before=before)
    has_more = len(items) > limit
    return (items[1:] if has_more else items), has_more


@dataclass(frozen=True, slots=True)
class Page:
    messages: list[StoredMessage]
    has_more: bool
    actions: dict[uuid.UUID, list[ActionOut]]


async def history_page(
    conn: AsyncConnection,
    actions: ActionIndex,
    conversation: repo.ConversationRef,
    *,
    before: uuid.UUID | None,
    limit: int,
) -> Page:
    """One page of history with the action calls each message showed (one query for all)."""
    items, has_more = await history(conn, conversation.id, before=before, limit=limit)
    rows = await action_calls.of_messages(conn, conversation.id, [m.id for m in items])
    # Definitions only when a call is there: they word an open card as the stream did.
    defined = await actions.enabled(conversation.widget_id) if rows else ()
    return Page(items, has_more, shown_calls.by_message(rows, defined, utcnow()))


async def rate(
    conn: AsyncConnection,
    conversation_id: uuid.UUID,
    message_id: uuid.UUID,
    *,
    rating: str,
    comment: str | None,
) -> None:
    row = (
        await conn.execute(
            repo.messages.select()
            .with_only_columns(repo.messages.c.conversation_id, repo.messages.c.role)
            .where(repo.messages.c.id == message_id)
        )
    ).first()
    if row is None or row.conversation_id != conversation_id:
        raise NotFound("No such message in this conversation.", code="message_not_found")
    if row.role not in ("assistant", "agent"):
        raise Unprocessable("Only replies can be rated.", code="not_a_reply")
    await conn.execute(
        update(repo.messages)
        .where(repo.messages.c.id == message_id)
        .values(rating=rating, feedback_comment=comment)
    )


async def request_handoff(
    conn: AsyncConnection,
    conversation: repo.ConversationRef,
    widget: WidgetConfig,
    *,
    reason: str | None,
) -> handoff.Requested:
    """Ask for a person (chat/handoff.py); the caller publishes the events once committed."""
    return await handoff.request(conn, conversation, widget, reason=reason)


async def widget_or_default(state: State, named: uuid.UUID | None) -> uuid.UUID:
    """The widget named, or the default one (the oldest) when none is: the compatibility
    routes name none."""
    if named is not None:
        return named
    async with state.sessionmaker() as session:
        found = await widgets.default_widget_id(session)
    if found is None:
        raise NotFound("No widget exists yet.", code="widget_not_found")
    return found


async def answer_confirmation(
    state: State, ref: repo.ConversationRef, call_id: uuid.UUID, body: ConfirmIn
) -> ConfirmOut:
    """The visitor's yes or no to a write the assistant proposed. Each pending call is
    answered once (a second answer is 409), so this door stores at most one reply per call
    the pipeline proposed under its own limits."""

    async def reply(session: AsyncSession, call: ActionCall, text: str) -> None:
        values = {
            "id": uuid7(),
            "conversation_id": ref.id,
            "workspace_id": ref.workspace_id,
            "widget_id": ref.widget_id,
            "role": "assistant",
            "content": text,
            "status": "complete",
            "sources": [],
            "unanswered": False,
        }
        now = utcnow()
        await repo.insert_message(await session.connection(), values, now=now)
        # Agents watching the inbox see the outcome as they saw the card.
        await state.realtime.emit_after_commit(
            session,
            ref.workspace_id,
            ref.id,
            ev.MESSAGE_CREATED,
            {"message": handoff.message_json(values, now)},
        )

    return await confirm.decide(state, ref.id, ref.widget_id, call_id, body, reply)
