"""A widget's named action secrets: encrypted at rest, write-only, never logged or shown."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from porch import audit, crypto
from porch.actions.schemas import SecretOut
from porch.errors import Conflict, NotFound
from porch.models import ActionSecret
from porch.models.base import utcnow
from porch.settings import Settings
from porch.widgets import service as widgets

MAX_PER_WIDGET = 50


async def put(
    session: AsyncSession,
    settings: Settings,
    workspace_id: uuid.UUID,
    widget_id: uuid.UUID,
    name: str,
    value: str,
) -> None:
    await widgets.get(session, workspace_id, widget_id)
    sealed = crypto.box(settings.secret).encrypt(value)
    found = await session.scalar(
        select(ActionSecret).where(ActionSecret.widget_id == widget_id, ActionSecret.name == name)
    )
    if found is None:
        count = len(
            (
                await session.execute(
                    select(ActionSecret.id).where(ActionSecret.widget_id == widget_id)
                )
            ).all()
        )
        if count >= MAX_PER_WIDGET:
            raise Conflict(
                f"A widget has at most {MAX_PER_WIDGET} secrets.", code="too_many_secrets"
            )
        session.add(
            ActionSecret(
                workspace_id=workspace_id, widget_id=widget_id, name=name, value_encrypted=sealed
            )
        )
    else:
        found.value_encrypted = sealed
    await session.flush()
    await audit.record(session, workspace_id, "action_secret.set", widget_id, name=name)


async def list_names(
    session: AsyncSession, workspace_id: uuid.UUID, widget_id: uuid.UUID
) -> list[SecretOut]:
    await widgets.get(session, workspace_id, widget_id)
    rows = await session.execute(
        select(ActionSecret).where(ActionSecret.widget_id == widget_id).order_by(ActionSecret.name)
    )
    return [
        SecretOut(name=s.name, last_used_at=s.last_used_at, created_at=s.created_at)
        for s in rows.scalars()
    ]


async def delete(
    session: AsyncSession, workspace_id: uuid.UUID, widget_id: uuid.UUID, name: str
) -> None:
    await widgets.get(session, workspace_id, widget_id)
    found = await session.scalar(
        select(ActionSecret).where(ActionSecret.widget_id == widget_id, ActionSecret.name == name)
    )
    if found is None:
        raise NotFound("No such secret.", code="secret_not_found")
    await session.delete(found)
    await session.flush()
    await audit.record(session, workspace_id, "action_secret.deleted", widget_id, name=name)


async def values(
    session: AsyncSession, settings: Settings, widget_id: uuid.UUID, names: Iterable[str]
) -> dict[str, str]:
    """The named secrets of a widget that can be read (one under an old server key is absent).

    Only those an action uses: they are all it can put in a request, so all that masking
    needs; an action with none costs no query (a fifth of a call's CPU, bench/actions.py)."""
    wanted = sorted(set(names))
    if not wanted:
        return {}
    rows = await session.execute(
        select(ActionSecret.name, ActionSecret.value_encrypted).where(
            ActionSecret.widget_id == widget_id, ActionSecret.name.in_(wanted)
        )
    )
    box = crypto.box(settings.secret)
    out: dict[str, str] = {}
    for name, sealed in rows.all():
        plain = box.decrypt_or_none(sealed)
        if plain is not None:
            out[name] = plain
    return out


async def touch(session: AsyncSession, widget_id: uuid.UUID, names: Iterable[str]) -> None:
    used = sorted(set(names))
    if used:
        await session.execute(
            update(ActionSecret)
            .where(ActionSecret.widget_id == widget_id, ActionSecret.name.in_(used))
            .values(last_used_at=utcnow())
        )
