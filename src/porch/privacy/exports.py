"""The export of one person's data: every conversation, message, feedback, action call and
attachment of theirs, as one JSON document (format `porch.export/1`, docs/privacy.md)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from porch.privacy import subjects
from porch.privacy.redaction import Rule, redact

FORMAT = "porch.export/1"
conversations = subjects.conversations
messages = subjects.messages


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


async def build(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    kind: str,
    value: str,
    rules: list[Rule],
    *,
    now: datetime,
) -> tuple[str, dict[str, int]]:
    """The document and its counts. Export-stage redaction rules apply to message text."""
    ids = await subjects.conversation_ids(session, workspace_id, kind, value)
    ids += await subjects.conversation_ids(session, workspace_id, kind, value, held=True)
    out: list[dict[str, Any]] = []
    counts = {"conversations": 0, "messages": 0, "feedback": 0, "action_calls": 0, "attachments": 0}
    for start in range(0, len(ids), subjects.BATCH):
        part = sorted(ids[start : start + subjects.BATCH])
        convs = (
            (
                await session.execute(
                    select(conversations)
                    .where(conversations.c.id.in_(part))
                    .order_by(conversations.c.created_at)
                )
            )
            .mappings()
            .all()
        )
        rows = (
            (
                await session.execute(
                    select(messages)
                    .where(messages.c.conversation_id.in_(part))
                    .order_by(messages.c.conversation_id, messages.c.id)
                )
            )
            .mappings()
            .all()
        )
        by_conv: dict[uuid.UUID, list[dict[str, Any]]] = {}
        for m in rows:
            text, _ = redact(m["content"], rules, "export")
            by_conv.setdefault(m["conversation_id"], []).append(
                {
                    "id": str(m["id"]),
                    "role": m["role"],
                    "content": text,
                    "created_at": _iso(m["created_at"]),
                    "status": m["status"],
                    "author_name": m["author_name"],
                    "sources": m["sources"] or [],
                    "feedback": (
                        {"rating": m["rating"], "comment": m["feedback_comment"]}
                        if m["rating"]
                        else None
                    ),
                }
            )
            counts["messages"] += 1
            counts["feedback"] += 1 if m["rating"] else 0
        for c in convs:
            out.append(
                {
                    "id": str(c["id"]),
                    "widget_id": str(c["widget_id"]),
                    "status": c["status"],
                    "created_at": _iso(c["created_at"]),
                    "last_message_at": _iso(c["last_message_at"]),
                    "page_url": c["page_url"],
                    "page_title": c["page_title"],
                    "locale": c["locale"],
                    "user": {
                        "id": c["user_external_id"],
                        "name": c["user_name"],
                        "email": c["user_email"],
                        "verified": bool(c["user_verified"]),
                        # The site's signed attributes, as signed: identity, not text, so
                        # no redaction rule rewrites them.
                        "claims": c["user_claims"] or {},
                    },
                    "legal_hold": bool(c["legal_hold"]),
                    "messages": by_conv.get(c["id"], []),
                    # This server keeps no action-call log or attachments on conversations
                    # yet; the keys are part of the format.
                    "action_calls": [],
                    "attachments": [],
                }
            )
            counts["conversations"] += 1
    document = {
        "format": FORMAT,
        "generated_at": now.isoformat(),
        "workspace_id": str(workspace_id),
        "subject": {"kind": kind},
        "counts": counts,
        "conversations": out,
    }
    return orjson.dumps(document).decode(), counts
