"""Realtime events: the envelope, storing the durable ones, reading them back for a resume.

Durable events (messages, status changes, handoffs, feedback) get an integer id from
`conversation_events` that grows with every insert; a socket that reconnects with
`?last_event_id=` is sent what it missed from there. Ephemeral events (streamed tokens,
typing) have no id and are never replayed: a reconnecting client gets the stored message.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import orjson
from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from porch.models import ConversationEvent
from porch.models.base import utcnow

events_table = cast(Table, ConversationEvent.__table__)

CONVERSATION_CREATED = "conversation.created"
MESSAGE_CREATED = "message.created"
CONVERSATION_UPDATED = "conversation.updated"
HANDOFF_REQUESTED = "handoff.requested"
CONVERSATION_CLOSED = "conversation.closed"
FEEDBACK_CREATED = "feedback.created"
# Ephemeral
MESSAGE_STARTED = "message.started"
MESSAGE_DELTA = "message.delta"
TYPING = "typing"

# A resume reads at most this many events; a client further behind reloads instead.
REPLAY_MAX = 500


@dataclass(frozen=True, slots=True)
class Envelope:
    id: int | None
    type: str
    workspace_id: uuid.UUID
    conversation_id: uuid.UUID
    data: dict[str, Any]
    at: datetime = field(default_factory=utcnow)

    def encode(self) -> bytes:
        return dumps(
            {
                "id": self.id,
                "type": self.type,
                "ws": self.workspace_id,
                "cid": self.conversation_id,
                "data": self.data,
                "at": self.at,
            }
        )

    @classmethod
    def decode(cls, raw: bytes) -> Envelope:
        obj = orjson.loads(raw)
        return cls(
            id=obj["id"],
            type=obj["type"],
            workspace_id=uuid.UUID(obj["ws"]),
            conversation_id=uuid.UUID(obj["cid"]),
            data=obj["data"],
            at=datetime.fromisoformat(obj["at"]),
        )


def _default(value: Any) -> Any:
    # asyncpg hands back its own UUID type; anything else unknown is a bug worth seeing.
    if isinstance(value, uuid.UUID) or type(value).__name__ == "UUID":
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, default=_default)


def jsonable(data: dict[str, Any]) -> dict[str, Any]:
    """Plain JSON types (ids and times as strings), as stored and as sent."""
    result: dict[str, Any] = orjson.loads(dumps(data))
    return result


# Built once: building `.values(...)` per call cost more CPU than sending the row.
_INSERT = events_table.insert().returning(events_table.c.id)


async def record(
    conn: AsyncConnection,
    workspace_id: uuid.UUID,
    conversation_id: uuid.UUID,
    type_: str,
    data: dict[str, Any],
) -> Envelope:
    """Store a durable event in the caller's transaction; its id comes from the database."""
    data = jsonable(data)
    at = utcnow()
    event_id = await conn.scalar(
        _INSERT,
        {
            "workspace_id": workspace_id,
            "conversation_id": conversation_id,
            "type": type_,
            "data": data,
            "created_at": at,
        },
    )
    assert event_id is not None
    return Envelope(int(event_id), type_, workspace_id, conversation_id, data, at)


async def since(
    conn: AsyncConnection,
    after: int,
    *,
    conversation_id: uuid.UUID | None = None,
    workspace_id: uuid.UUID | None = None,
    limit: int = REPLAY_MAX,
) -> list[Envelope]:
    """Stored events with ids above `after`, oldest first, for one conversation or workspace."""
    t = events_table
    stmt = select(t.c.id, t.c.type, t.c.workspace_id, t.c.conversation_id, t.c.data, t.c.created_at)
    if conversation_id is not None:
        stmt = stmt.where(t.c.conversation_id == conversation_id)
    if workspace_id is not None:
        stmt = stmt.where(t.c.workspace_id == workspace_id)
    rows = (await conn.execute(stmt.where(t.c.id > after).order_by(t.c.id).limit(limit))).all()
    return [Envelope(int(r[0]), r[1], r[2], r[3], dict(r[4] or {}), r[5]) for r in rows]


async def latest_id(
    conn: AsyncConnection,
    *,
    conversation_id: uuid.UUID | None = None,
    workspace_id: uuid.UUID | None = None,
) -> int:
    t = events_table
    stmt = select(func.max(t.c.id))
    if conversation_id is not None:
        stmt = stmt.where(t.c.conversation_id == conversation_id)
    if workspace_id is not None:
        stmt = stmt.where(t.c.workspace_id == workspace_id)
    return int(await conn.scalar(stmt) or 0)
