"""Spur's shapes (seed 003) for porch's conversations: its request, its messages, plain text.

Spur's client knows two senders, "user" and "ai", and renders everything that is not "user"
as the support side; a person's reply (role "agent") is therefore "ai" too, with porch's
`role` and `authorName` beside it for clients that want to tell them apart. Team notes
(role "system") were never said to the visitor and are left out, and so is the widget's
greeting: Spur's history holds only what was said, and its client shows its own welcome.

Spur's messages have no sources, so the citation markers porch's replies carry ("[1]") are
stripped, or replaced by the sources' titles as plain text (PORCH_COMPAT_SOURCES=titles).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from porch.conversations.repository import StoredMessage
from porch.errors import BadRequest
from porch.schemas import Line

MAX_MESSAGE = 4000
SourcesMode = Literal["strip", "titles"]
# "[1]", "[1][2]", "[1, 2]", with the space before them; not "[1](url)", a Markdown link.
_MARKERS = re.compile(r"[ \t]*\[\d{1,2}(?:\s*,\s*\d{1,2})*\](?!\()")
_SAID = frozenset({"user", "assistant", "agent"})


class CompatMessage(BaseModel):
    """`POST /chat/message` and `/api/chat`: Spur's body, and the widget porch adds."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    # Checked by `question` once the widget allowed the origin: a site that may not use the
    # widget hears 403 before anything else, and the words match Spur's own.
    message: Any = None
    session_id: Line | None = Field(default=None, alias="sessionId", max_length=200)
    widget_id: uuid.UUID | None = Field(default=None, alias="widgetId")
    agent_id: uuid.UUID | None = Field(default=None, alias="agentId")


def question(message: Any) -> str:
    """The visitor's message, or a 400 saying what is wrong with it, as Spur says it."""
    if not isinstance(message, str):
        raise BadRequest("Message is required and must be a string", code="validation_error")
    if not message.strip():
        raise BadRequest("Message cannot be empty", code="validation_error")
    if len(message) > MAX_MESSAGE:
        raise BadRequest(
            f"Message exceeds maximum length of {MAX_MESSAGE} characters", code="validation_error"
        )
    if "\x00" in message:
        raise BadRequest("Message cannot contain a NUL character", code="validation_error")
    return message


def iso(moment: datetime) -> str:
    """JavaScript's `Date.toJSON()`: UTC, milliseconds, `Z` (what Spur's clients parse)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # SQLite hands back naive UTC
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def plain(text: str, sources: Iterable[dict[str, Any]], mode: SourcesMode) -> str:
    """A reply for a client that cannot show sources: no markers; titles appended if asked."""
    stripped = _MARKERS.sub("", text).strip()
    if mode != "titles":
        return stripped
    titles = list(dict.fromkeys(str(s.get("title") or "").strip() for s in sources))
    titles = [t for t in titles if t]
    return f"{stripped}\n\nSources: {'; '.join(titles)}" if titles else stripped


def message(m: StoredMessage, conversation_id: uuid.UUID, mode: SourcesMode) -> dict[str, Any]:
    """Spur's Message (`id, conversationId, sender, text, createdAt`), with porch's role."""
    text = plain(m.content, m.sources or [], mode) if m.role == "assistant" else m.content
    return {
        "id": str(m.id),
        "conversationId": str(conversation_id),
        "sender": "user" if m.role == "user" else "ai",
        "text": text,
        "createdAt": iso(m.created_at),
        "role": m.role,
        "authorName": m.author_name,
    }


def history(
    items: Sequence[StoredMessage], session_id: str, conversation_id: uuid.UUID, mode: SourcesMode
) -> dict[str, Any]:
    """`GET /chat/history/{sessionId}`: what the visitor and the support side said."""
    said = [m for m in items if m.role in _SAID and m.content]
    # Before the visitor's first message there is only the widget's greeting (conversations
    # started by porch's own widget, or before compatibility starts stopped storing it).
    first = next((i for i, m in enumerate(said) if m.role == "user"), len(said))
    said = [m for m in said[:first] if m.role != "assistant"] + said[first:]
    return {
        "messages": [message(m, conversation_id, mode) for m in said],
        "sessionId": session_id,
    }
