"""The audit log, for owners and admins: newest first, paged by cursor."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from porch.accounts.dependencies import AdminScope
from porch.audit import service
from porch.audit.schemas import AuditActor, AuditEventOut, AuditPage
from porch.deps import SessionDep
from porch.models import AuditEvent
from porch.schemas import Line

router = APIRouter(prefix="/api/v1", tags=["audit"])


def event_out(e: AuditEvent) -> AuditEventOut:
    return AuditEventOut(
        id=e.id,
        action=e.action,
        target_type=e.target_type,
        target_id=e.target_id,
        changes=e.changes or {},
        actor=AuditActor(
            user_id=e.actor_user_id, email=e.actor_email, via=e.via, api_key_id=e.api_key_id
        ),
        ip=e.ip,
        created_at=e.created_at,
    )


@router.get("/audit-log", response_model=AuditPage)
async def audit_log(
    owner: AdminScope,
    session: SessionDep,
    cursor: Annotated[Line | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=service.PAGE_MAX)] = service.PAGE_DEFAULT,
) -> AuditPage:
    """Who changed what in this workspace, and when."""
    events, more = await service.page(
        session, owner.workspace_id, before=service.parse_cursor(cursor), limit=limit
    )
    return AuditPage(
        events=[event_out(e) for e in events],
        next_cursor=str(events[-1].id) if more and events else None,
    )
