"""Response shapes of the audit log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class AuditActor(BaseModel):
    user_id: uuid.UUID | None
    email: str | None
    via: str = Field(description="session, api_key or system")
    api_key_id: uuid.UUID | None


class AuditEventOut(BaseModel):
    id: uuid.UUID
    action: str = Field(description="e.g. widget.updated, member.role_changed")
    target_type: str
    target_id: uuid.UUID | None
    changes: dict[str, Any] = Field(description="Names of changed fields and small facts")
    actor: AuditActor
    ip: str | None
    created_at: datetime


class AuditPage(BaseModel):
    events: list[AuditEventOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for older events")
