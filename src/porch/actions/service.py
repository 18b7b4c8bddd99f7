"""Action definitions per widget: create, list, read, change, delete, always within a workspace."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from porch import audit
from porch.actions import templating as tpl
from porch.actions.index import CHANNEL
from porch.actions.schemas import ActionIn, ActionOut, ActionPatch
from porch.db import after_commit
from porch.errors import BadRequest, Conflict, NotFound
from porch.models import Action
from porch.models.base import utcnow
from porch.pubsub import PubSub
from porch.widgets import service as widgets

MAX_PER_WIDGET = 50
DEFAULTS: dict[str, Any] = {
    "description": "",
    "examples": [],
    "headers": {},
    "body": None,
    "parameters": {"type": "object", "properties": {}, "required": []},
    "sources": {},
    "extract": {},
    "auth": {"type": "none"},
    "risk": "read",
    "requires_verified": False,
    "approval": "visitor",
    "timeout_ms": 8000,
    "retries": 0,
    "max_response_bytes": 65536,
    "calls_per_conversation": 10,
    "calls_per_day": 1000,
    "response_fields": None,
    "result_template": "",
    "error_texts": {},
    "allowed_hosts": [],
    "enabled": True,
    "version": 1,
}


def _changed(session: AsyncSession, pubsub: PubSub, widget_id: uuid.UUID) -> None:
    async def tell() -> None:
        await pubsub.publish(CHANNEL, str(widget_id).encode())

    after_commit(session, tell)


def _check(action: Action) -> None:
    """Templates name only parameters; sources and extraction rules name only parameters."""
    props: dict[str, Any] = (action.parameters or {}).get("properties") or {}
    used = tpl.names(action.url) | tpl.body_names(action.body)
    for value in (action.headers or {}).values():
        used |= tpl.names(value)
    unknown = sorted(n for n in used if n not in props)
    if unknown:
        raise BadRequest(
            "The request templates name unknown parameters: " + ", ".join(unknown),
            code="action_template_unknown",
        )
    for name in tpl.names(action.result_template or ""):
        if name.split(".")[0] not in props and not name.startswith("response."):
            raise BadRequest(
                f"The result template names {name}: use a parameter or response.<field>.",
                code="action_template_unknown",
            )
    for field in ("sources", "extract"):
        stray = sorted(set(getattr(action, field) or {}) - set(props))
        if stray:
            raise BadRequest(
                f"{field} names unknown parameters: " + ", ".join(stray),
                code="action_invalid",
            )
    if action.method == "GET" and action.body is not None:
        raise BadRequest("A GET action sends no body; use POST.", code="action_invalid")


def _apply(action: Action, values: dict[str, Any]) -> None:
    for key, value in values.items():
        if key == "allowed_hosts" and value is not None:
            value = [h.strip().lower() for h in value]
        setattr(action, key, value)


async def create(
    session: AsyncSession,
    pubsub: PubSub,
    workspace_id: uuid.UUID,
    widget_id: uuid.UUID,
    body: ActionIn,
) -> Action:
    await widgets.get(session, workspace_id, widget_id)
    count = await session.scalar(
        select(func.count()).select_from(Action).where(Action.widget_id == widget_id)
    )
    if (count or 0) >= MAX_PER_WIDGET:
        raise Conflict(f"A widget has at most {MAX_PER_WIDGET} actions.", code="too_many_actions")
    await _slug_free(session, widget_id, body.slug, None)
    action = Action(workspace_id=workspace_id, widget_id=widget_id, slug=body.slug)
    _apply(action, {**DEFAULTS, **body.model_dump(exclude_none=True)})
    _check(action)
    session.add(action)
    await session.flush()
    await audit.record(session, workspace_id, "action.created", action.id)
    _changed(session, pubsub, widget_id)
    return action


async def _slug_free(
    session: AsyncSession, widget_id: uuid.UUID, slug: str, own: uuid.UUID | None
) -> None:
    found = await session.scalar(
        select(Action.id).where(Action.widget_id == widget_id, Action.slug == slug)
    )
    if found is not None and found != own:
        raise Conflict(f"The widget already has an action {slug}.", code="action_slug_taken")


async def get(session: AsyncSession, workspace_id: uuid.UUID, action_id: uuid.UUID) -> Action:
    action = await session.get(Action, action_id)
    if action is None or action.workspace_id != workspace_id:
        raise NotFound("No such action.", code="action_not_found")
    return action


async def list_for_widget(
    session: AsyncSession, workspace_id: uuid.UUID, widget_id: uuid.UUID
) -> list[Action]:
    await widgets.get(session, workspace_id, widget_id)
    rows = await session.execute(
        select(Action).where(Action.widget_id == widget_id).order_by(Action.created_at)
    )
    return list(rows.scalars())


async def update(
    session: AsyncSession,
    pubsub: PubSub,
    workspace_id: uuid.UUID,
    action_id: uuid.UUID,
    body: ActionPatch,
) -> Action:
    action = await get(session, workspace_id, action_id)
    values = body.model_dump(exclude_unset=True)
    for key in [k for k, v in values.items() if v is None]:
        # null clears the optional ones; a required field cannot be cleared.
        if key not in ("body", "response_fields"):
            values.pop(key)
    if "slug" in values:
        await _slug_free(session, action.widget_id, values["slug"], action.id)
    _apply(action, values)
    _check(action)
    action.version += 1
    action.updated_at = utcnow()
    await session.flush()
    await audit.record(session, workspace_id, "action.updated", action.id)
    _changed(session, pubsub, action.widget_id)
    return action


async def delete(
    session: AsyncSession, pubsub: PubSub, workspace_id: uuid.UUID, action_id: uuid.UUID
) -> None:
    action = await get(session, workspace_id, action_id)
    widget_id = action.widget_id
    await session.delete(action)
    await session.flush()
    await audit.record(session, workspace_id, "action.deleted", action_id)
    _changed(session, pubsub, widget_id)


def to_out(action: Action) -> ActionOut:
    return ActionOut(
        id=action.id,
        widget_id=action.widget_id,
        slug=action.slug,
        title=action.title,
        description=action.description,
        examples=list(action.examples or []),
        method=action.method,
        url=action.url,
        headers=dict(action.headers or {}),
        body=action.body,
        parameters=dict(action.parameters or {}),
        sources=dict(action.sources or {}),
        extract=dict(action.extract or {}),
        auth=dict(action.auth or {}),
        risk=action.risk,
        requires_verified=action.requires_verified,
        approval=action.approval,
        timeout_ms=action.timeout_ms,
        retries=action.retries,
        max_response_bytes=action.max_response_bytes,
        calls_per_conversation=action.calls_per_conversation,
        calls_per_day=action.calls_per_day,
        response_fields=action.response_fields,
        result_template=action.result_template,
        error_texts=dict(action.error_texts or {}),
        allowed_hosts=list(action.allowed_hosts or []),
        enabled=action.enabled,
        version=action.version,
        created_at=action.created_at,
        updated_at=action.updated_at,
    )
