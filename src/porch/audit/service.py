"""Recording and reading audit events. Services call `record` once per action; the caller's
identity comes from the request (bound by the owner authentication dependency), so service
signatures need no actor, and code outside a request (the CLI, jobs) records as "system"."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from porch.errors import BadRequest
from porch.models import AuditEvent

PAGE_DEFAULT = 50
PAGE_MAX = 200
# What a change may say: field names, counts, roles, and {field: [old, new]} from diff.changed
# (secrets masked there). Values that could hold a secret never appear.
Change = str | int | bool | None | list[str] | dict[str, list[str | None]]


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting in this request."""

    user_id: uuid.UUID | None
    email: str | None
    via: str  # session, api_key or system
    api_key_id: uuid.UUID | None = None
    ip: str | None = None


SYSTEM = Actor(None, None, "system")
_actor: ContextVar[Actor] = ContextVar("porch_audit_actor", default=SYSTEM)


def bind(actor: Actor) -> None:
    """Set who acts for the rest of this request (each request runs in its own context)."""
    _actor.set(actor)


def current() -> Actor:
    return _actor.get()


async def record(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    action: str,
    target_id: uuid.UUID | None = None,
    *,
    fields: Iterable[str] | None = None,
    **facts: Change,
) -> None:
    """One audit entry, written in the caller's transaction: `widget.updated` targets a widget.

    `fields` are the names of what changed; `facts` are small non-secret values (a role).
    """
    actor = _actor.get()
    changes: dict[str, Change] = dict(facts)
    if fields is not None:
        changes["fields"] = sorted(set(fields))
    session.add(
        AuditEvent(
            workspace_id=workspace_id,
            actor_user_id=actor.user_id,
            actor_email=actor.email,
            via=actor.via,
            api_key_id=actor.api_key_id,
            action=action,
            target_type=action.split(".", 1)[0],
            target_id=target_id,
            changes=changes,
            ip=actor.ip,
        )
    )


async def page(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    *,
    before: uuid.UUID | None = None,
    limit: int = PAGE_DEFAULT,
) -> tuple[list[AuditEvent], bool]:
    """Newest first; `before` is the last id of the previous page. Returns (events, has_more)."""
    query = select(AuditEvent).where(AuditEvent.workspace_id == workspace_id)
    if before is not None:
        query = query.where(AuditEvent.id < before)
    result = await session.execute(query.order_by(AuditEvent.id.desc()).limit(limit + 1))
    events = list(result.scalars())
    return events[:limit], len(events) > limit


def parse_cursor(cursor: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(cursor) if cursor else None
    except ValueError:
        raise BadRequest(
            "The cursor is not one this API gave out.", code="invalid_cursor"
        ) from None
