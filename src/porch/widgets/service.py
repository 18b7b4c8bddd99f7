"""Widget CRUD, always within one workspace."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from porch import audit, revocation
from porch.audit import diff as audit_diff
from porch.errors import Conflict, NotFound
from porch.models import Widget
from porch.models.base import utcnow
from porch.widgets.schemas import (
    Features,
    Handoff,
    Limits,
    Theme,
    WidgetCreate,
    WidgetFields,
    WidgetOut,
)

MAX_WIDGETS_PER_WORKSPACE = 100


async def create(session: AsyncSession, workspace_id: uuid.UUID, body: WidgetCreate) -> Widget:
    count = await session.scalar(
        select(func.count()).select_from(Widget).where(Widget.workspace_id == workspace_id)
    )
    if (count or 0) >= MAX_WIDGETS_PER_WORKSPACE:
        raise Conflict(
            f"A workspace holds at most {MAX_WIDGETS_PER_WORKSPACE} widgets.",
            code="too_many_widgets",
        )
    widget = Widget(
        workspace_id=workspace_id,
        name=body.name,
        title=body.title or body.name,
        theme=Theme().model_dump(),
        features=Features().model_dump(),
    )
    _apply(widget, body.model_dump(exclude_unset=True, exclude={"name", "title"}))
    _check_identity(widget)
    session.add(widget)
    await session.flush()
    await audit.record(session, workspace_id, "widget.created", widget.id)
    return widget


async def get(session: AsyncSession, workspace_id: uuid.UUID, widget_id: uuid.UUID) -> Widget:
    widget = await session.get(Widget, widget_id)
    # Another workspace's widget is "not found", not "forbidden": ids reveal nothing.
    if widget is None or widget.workspace_id != workspace_id:
        raise NotFound("No such widget.", code="widget_not_found")
    return widget


async def list_all(session: AsyncSession, workspace_id: uuid.UUID) -> list[Widget]:
    result = await session.execute(
        select(Widget).where(Widget.workspace_id == workspace_id).order_by(Widget.created_at)
    )
    return list(result.scalars())


async def update(
    session: AsyncSession, workspace_id: uuid.UUID, widget_id: uuid.UUID, body: WidgetFields
) -> Widget:
    widget = await get(session, workspace_id, widget_id)
    changes = body.model_dump(exclude_unset=True)
    before = {field: _stored(getattr(widget, field, None)) for field in changes}
    _apply(widget, changes)
    after = {field: _stored(getattr(widget, field, None)) for field in changes}
    # Only what moved: a form that sends every field logs the one it changed.
    moved = audit_diff.changed(before, after)
    if moved:
        await audit.record(
            session, workspace_id, "widget.updated", widget_id, fields=moved, changed=moved
        )
    _check_identity(widget)
    widget.updated_at = utcnow()
    await session.flush()
    return widget


async def delete(session: AsyncSession, workspace_id: uuid.UUID, widget_id: uuid.UUID) -> None:
    widget = await get(session, workspace_id, widget_id)
    await session.delete(widget)
    await session.flush()
    # Its conversations go with it (ON DELETE CASCADE), and their visitors' sockets close.
    revocation.revoke(session, revocation.widget_deleted(workspace_id, widget_id))
    await audit.record(session, workspace_id, "widget.deleted", widget_id)


async def default_widget_id(session: AsyncSession) -> uuid.UUID | None:
    """The oldest widget: what compatibility routes use when no widget is named."""
    return await session.scalar(select(Widget.id).order_by(Widget.created_at).limit(1))


def _check_identity(widget: Widget) -> None:
    if widget.require_identity and not widget.identity_secret_encrypted:
        raise Conflict(
            "Create an identity secret (POST /widgets/{id}/identity-secret) before "
            "requiring identities.",
            code="identity_secret_missing",
        )


async def set_identity_secret(
    session: AsyncSession, workspace_id: uuid.UUID, widget_id: uuid.UUID, encrypted: str | None
) -> Widget:
    """Store a new (encrypted) identity secret, or none: then identities are not required."""
    widget = await get(session, workspace_id, widget_id)
    widget.identity_secret_encrypted = encrypted
    if encrypted is None:
        widget.require_identity = False
    widget.updated_at = utcnow()
    await session.flush()
    action = "widget.identity_secret_created" if encrypted else "widget.identity_secret_deleted"
    await audit.record(session, workspace_id, action, widget_id)
    return widget


async def set_provider_key(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    widget_id: uuid.UUID,
    encrypted: str | None,
    last4: str | None,
) -> Widget:
    widget = await get(session, workspace_id, widget_id)
    widget.provider_api_key_encrypted = encrypted
    widget.provider_api_key_last4 = last4
    widget.updated_at = utcnow()
    await session.flush()
    action = "widget.provider_key_set" if encrypted else "widget.provider_key_deleted"
    await audit.record(session, workspace_id, action, widget_id)  # never the key itself
    return widget


def _stored(value: Any) -> Any:
    """A column's value as plain JSON data (copies, so a later in-place change shows)."""
    if isinstance(value, dict):
        return {k: _stored(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stored(v) for v in value]
    return value


def _apply(widget: Widget, changes: dict[str, Any]) -> None:
    for field, value in changes.items():
        if field in ("theme", "features") and value is not None:
            # Partial theme/features updates merge over what is stored.
            value = {**(getattr(widget, field) or {}), **value}
        if field == "limits" and value is not None:
            value = {k: v for k, v in {**(widget.limits or {}), **value}.items() if v is not None}
        if value is None and field in ("provider", "model"):
            setattr(widget, field, None)
        elif value is not None:
            setattr(widget, field, value)


def to_out(widget: Widget) -> WidgetOut:
    warnings = []
    if widget.allowed_origins == ["*"]:
        warnings.append('Allowed websites is "*": any website can embed this widget.')
    return WidgetOut(
        id=widget.id,
        workspace_id=widget.workspace_id,
        name=widget.name,
        title=widget.title,
        subtitle=widget.subtitle,
        greeting=widget.greeting,
        theme=Theme.model_validate(widget.theme or {}),
        position=widget.position,
        suggested_questions=list(widget.suggested_questions or []),
        features=Features.model_validate(widget.features or {}),
        allowed_origins=list(widget.allowed_origins or ["*"]),
        system_prompt=widget.system_prompt,
        provider=widget.provider,
        model=widget.model,
        temperature=widget.temperature,
        max_tokens=widget.max_tokens,
        history_limit=widget.history_limit,
        fallback_message=widget.fallback_message,
        limits=Limits.model_validate(widget.limits or {}),
        handoff=Handoff.model_validate(widget.handoff or {}),
        require_identity=bool(widget.require_identity),
        identity_secret_set=widget.identity_secret_encrypted is not None,
        provider_api_key_last4=widget.provider_api_key_last4,
        created_at=widget.created_at,
        updated_at=widget.updated_at,
        warnings=warnings,
    )
