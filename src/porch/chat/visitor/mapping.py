"""Stored messages as the visitor API shows them, and the caller's address."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import Request

from porch.chat.visitor.schemas import ActionOut, MessageOut, SourceRef
from porch.conversations.repository import StoredMessage


def message_out(m: StoredMessage, actions: Sequence[ActionOut] = ()) -> MessageOut:
    return MessageOut(
        id=m.id,
        role=m.role,
        content=m.content,
        created_at=m.created_at,
        status=m.status,
        author_name=m.author_name,
        sources=[
            SourceRef(title=s.get("title", ""), url=s.get("url"), snippet=s.get("snippet", ""))
            for s in (m.sources or [])
        ],
        actions=list(actions),
    )


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"
