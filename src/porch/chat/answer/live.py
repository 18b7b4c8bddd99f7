"""The answer pipeline's side of realtime: the visitor's message, streamed tokens, the reply.

Agents watching the inbox see the visitor's message as soon as it is stored, the
assistant's reply token by token as the visitor does, then the stored reply. The relay
sits between the pipeline and its SSE queue and never slows either: publishing only
queues.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from porch.chat import handoff
from porch.chat.answer.context import State
from porch.chat.answer.events import Done, Event, HandoffOffered, SourcesFound, Token
from porch.conversations import repository as repo
from porch.conversations.repository import ConversationRef
from porch.models.base import utcnow
from porch.realtime import events as ev
from porch.realtime.events import Envelope

Emit = Any  # Callable[[Event], None]; the pipeline's type, without importing it back


def message_event(
    message_id: Any,
    role: str,
    content: str,
    at: datetime,
    *,
    status: str | None = None,
    sources: list[dict[str, Any]] | None = None,
    redactions: dict[str, int] | None = None,
) -> dict[str, Any]:
    """The data of a stored message's `message.created` event, as agents' sockets get it."""
    message: dict[str, Any] = {"id": message_id, "role": role, "content": content}
    if redactions:
        message["redactions"] = redactions
    if status is not None:
        message |= {"status": status, "sources": sources or []}
    return {"message": handoff.message_json(message, at)}


async def visitor_message(
    state: State, conn: AsyncConnection, ref: ConversationRef, stored: Envelope
) -> bool:
    """Publish the visitor's stored message; True when a person has the conversation.

    `stored` was recorded on the autocommit `conn`: durable before it is published."""
    state.realtime.broker.publish(stored)
    quiet, resumed = await handoff.assistant_quiet(conn, ref)
    if resumed is not None:
        state.realtime.broker.publish(resumed)
    return quiet


class Relay:
    """Forwards each pipeline event to the visitor's stream and tells agents as it goes."""

    def __init__(self, state: State, accepted: Any, emit: Emit) -> None:
        self._state = state
        self._acc = accepted
        self._emit = emit
        self._done: Done | None = None
        self._sources: list[dict[str, Any]] = []
        ref: ConversationRef = accepted.conversation
        self._scope = (ref.workspace_id, ref.id)
        state.realtime.signal(
            *self._scope,
            ev.MESSAGE_STARTED,
            {"message_id": accepted.message_id, "user_message_id": accepted.user_message_id},
        )

    def __call__(self, event: Event) -> None:
        self._emit(event)
        if isinstance(event, Token):
            self._state.realtime.signal(
                *self._scope,
                ev.MESSAGE_DELTA,
                {"message_id": self._acc.message_id, "delta": event.delta},
            )
        elif isinstance(event, SourcesFound):
            self._sources = event.sources
        elif isinstance(event, Done):
            self._done = event

    def publish(self, stored: Envelope) -> None:
        """Publish the stored reply's event (recorded with the reply: chat/answer/writes.py)."""
        self._state.realtime.broker.publish(stored)

    async def finish(self, conn: AsyncConnection, stored: Envelope) -> None:
        """Publish the stored reply; offer a person when the widget's mode says so."""
        self.publish(stored)
        done, acc = self._done, self._acc
        if done is None or done.message_id is None:
            return
        text = await handoff.offer(
            conn,
            acc.conversation,
            acc.widget,
            question=acc.question,
            answered=bool(self._sources),
        )
        if text is not None:
            self._emit(HandoffOffered(text))


async def conversation_started(state: State, widget_id: Any, started: Any, body: Any) -> None:
    """A new conversation, for the inbox and `conversation.created` webhooks."""
    user = getattr(body, "user", None)
    async with state.autocommit.connect() as conn:
        ref = await repo.conversation(conn, started.conversation_id)
        if ref is None:
            return
        await state.realtime.emit(
            conn,
            ref.workspace_id,
            ref.id,
            ev.CONVERSATION_CREATED,
            {
                "conversation": {
                    "id": ref.id,
                    "widget_id": widget_id,
                    "status": "open",
                    "page_url": getattr(body, "page_url", None),
                    "page_title": getattr(body, "page_title", None),
                    "locale": getattr(body, "locale", None),
                    "user": {"id": user.id, "name": user.name, "email": user.email}
                    if user
                    else None,
                    "created_at": utcnow(),
                }
            },
        )


async def feedback(
    state: State, ref: ConversationRef, message_id: Any, rating: str, comment: str | None
) -> None:
    async with state.autocommit.connect() as conn:
        await state.realtime.emit(
            conn,
            ref.workspace_id,
            ref.id,
            ev.FEEDBACK_CREATED,
            {"message_id": message_id, "rating": rating, "comment": comment},
        )
