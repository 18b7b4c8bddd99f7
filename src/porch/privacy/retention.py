"""Retention periods: a workspace's, a widget's overrides, and what they select.

A widget's period left unset is the workspace's; the workspace's left unset is forever.
Anonymous visitors (no user id, no email) may be kept shorter than conversations in
general: their conversations go at whichever of the two periods ends first.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import ColumnElement, Table, and_, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from porch.audit import service as audit
from porch.errors import NotFound
from porch.models import Conversation, RetentionPolicy, Widget
from porch.models.base import utcnow
from porch.privacy.schemas import Preview, RetentionIn, RetentionOut

conversations = cast(Table, Conversation.__table__)
WORKSPACE = "workspace"
PERIODS = ("conversation_days", "visitor_days", "action_call_days", "delivery_log_days")


@dataclass(frozen=True, slots=True)
class Policy:
    conversation_days: int | None = None
    visitor_days: int | None = None
    action_call_days: int | None = None
    delivery_log_days: int | None = None
    mode: str = "delete"

    def expired(self, now: datetime) -> ColumnElement[bool] | None:
        """Which conversations of a widget this policy removes at `now`; None: none."""
        last = conversations.c.last_message_at
        parts: list[ColumnElement[bool]] = []
        if self.conversation_days is not None:
            parts.append(last < now - timedelta(days=self.conversation_days))
        if self.visitor_days is not None:
            parts.append(
                and_(
                    conversations.c.user_external_id.is_(None),
                    conversations.c.user_email.is_(None),
                    last < now - timedelta(days=self.visitor_days),
                )
            )
        if not parts:
            return None
        cond = or_(*parts)
        if self.mode == "anonymize":
            cond = and_(cond, conversations.c.anonymized_at.is_(None))
        return and_(cond, conversations.c.legal_hold == false())


def merge(workspace: RetentionPolicy | None, widget: RetentionPolicy | None) -> Policy:
    def pick(name: str) -> int | None:
        own = getattr(widget, name) if widget is not None else None
        return own if own is not None else getattr(workspace, name, None)

    mode = (widget.mode if widget is not None else None) or (
        workspace.mode if workspace is not None else None
    )
    return Policy(
        conversation_days=pick("conversation_days"),
        visitor_days=pick("visitor_days"),
        action_call_days=pick("action_call_days"),
        delivery_log_days=pick("delivery_log_days"),
        mode=mode or "delete",
    )


async def _rows(session: AsyncSession, workspace_id: uuid.UUID) -> dict[str, RetentionPolicy]:
    found = await session.execute(
        select(RetentionPolicy).where(RetentionPolicy.workspace_id == workspace_id)
    )
    return {row.scope: row for row in found.scalars()}


async def _widget(session: AsyncSession, workspace_id: uuid.UUID, widget_id: uuid.UUID) -> None:
    widget = await session.get(Widget, widget_id)
    if widget is None or widget.workspace_id != workspace_id:
        raise NotFound("No such widget.", code="widget_not_found")


async def workspace_policy(session: AsyncSession, workspace_id: uuid.UUID) -> Policy:
    return merge((await _rows(session, workspace_id)).get(WORKSPACE), None)


async def widget_policies(
    session: AsyncSession, workspace_id: uuid.UUID
) -> list[tuple[uuid.UUID, Policy]]:
    """Every widget of the workspace with the policy that applies to it."""
    rows = await _rows(session, workspace_id)
    ids = await session.execute(select(Widget.id).where(Widget.workspace_id == workspace_id))
    return [(wid, merge(rows.get(WORKSPACE), rows.get(str(wid)))) for wid in ids.scalars()]


async def preview(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    *,
    widget_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> Preview:
    """What the next sweep removes under the stored periods: conversations and messages."""
    now = now or utcnow()
    total_c = total_m = 0
    for wid, policy in await widget_policies(session, workspace_id):
        cond = policy.expired(now)
        if cond is None or (widget_id is not None and wid != widget_id):
            continue
        c, m = (
            await session.execute(
                select(func.count(), func.coalesce(func.sum(conversations.c.message_count), 0))
                .where(conversations.c.widget_id == wid)
                .where(cond)
            )
        ).one()
        total_c, total_m = total_c + int(c), total_m + int(m)
    return Preview(conversations=total_c, messages=total_m)


def _out(policy: Policy, shown: Preview | None = None) -> RetentionOut:
    return RetentionOut(
        conversation_days=policy.conversation_days,
        visitor_days=policy.visitor_days,
        action_call_days=policy.action_call_days,
        delivery_log_days=policy.delivery_log_days,
        mode="anonymize" if policy.mode == "anonymize" else "delete",
        preview=shown,
    )


async def get(
    session: AsyncSession, workspace_id: uuid.UUID, widget_id: uuid.UUID | None = None
) -> RetentionOut:
    """The periods in force: for a widget, its own where set and the workspace's elsewhere."""
    if widget_id is not None:
        await _widget(session, workspace_id, widget_id)
    rows = await _rows(session, workspace_id)
    own = rows.get(str(widget_id)) if widget_id is not None else None
    shown = await preview(session, workspace_id, widget_id=widget_id)
    return _out(merge(rows.get(WORKSPACE), own), shown)


async def put(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    body: RetentionIn,
    widget_id: uuid.UUID | None = None,
) -> RetentionOut:
    """Replace the workspace's periods (or a widget's overrides); reply with the preview."""
    if widget_id is not None:
        await _widget(session, workspace_id, widget_id)
    scope = WORKSPACE if widget_id is None else str(widget_id)
    rows = await _rows(session, workspace_id)
    row = rows.get(scope)
    if row is None:
        row = RetentionPolicy(workspace_id=workspace_id, widget_id=widget_id, scope=scope)
        session.add(row)
    for name in PERIODS:
        setattr(row, name, getattr(body, name))
    # A widget without a mode of its own follows the workspace's; the workspace's is delete.
    row.mode = body.mode if body.mode is not None or widget_id is not None else "delete"
    row.updated_at = utcnow()
    await session.flush()
    await audit.record(
        session,
        workspace_id,
        "retention.updated",
        widget_id,
        fields=[n for n in PERIODS if getattr(body, n) is not None],
        mode=row.mode,
    )
    return await get(session, workspace_id, widget_id)
