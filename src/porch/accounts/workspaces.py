"""The workspaces a user belongs to: list, create, switch the session's, rename, delete."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from porch import audit, revocation
from porch.accounts import team
from porch.accounts.service import Owner
from porch.errors import Conflict, NotFound
from porch.models import Membership, OwnerSession, User, Widget, Workspace

MAX_WORKSPACES_PER_USER = 50


@dataclass(frozen=True, slots=True)
class MyWorkspace:
    id: uuid.UUID
    name: str
    role: str
    active: bool


async def list_mine(session: AsyncSession, owner: Owner) -> list[MyWorkspace]:
    result = await session.execute(
        select(Workspace, Membership.role)
        .join(Membership, Membership.workspace_id == Workspace.id)
        .where(Membership.user_id == owner.user_id)
        .order_by(Membership.created_at)
    )
    return [
        MyWorkspace(ws.id, ws.name, role, ws.id == owner.workspace_id) for ws, role in result.all()
    ]


async def check_capacity(session: AsyncSession, user_id: uuid.UUID) -> None:
    count = await session.scalar(
        select(func.count()).select_from(Membership).where(Membership.user_id == user_id)
    )
    if (count or 0) >= MAX_WORKSPACES_PER_USER:
        raise Conflict(
            f"An account belongs to at most {MAX_WORKSPACES_PER_USER} workspaces.",
            code="too_many_workspaces",
        )


async def membership_role(
    session: AsyncSession, user_id: uuid.UUID, workspace_id: uuid.UUID
) -> str:
    """The user's role there; a workspace they are not in is "not found", like any other id."""
    role = await session.scalar(
        select(Membership.role).where(
            Membership.user_id == user_id, Membership.workspace_id == workspace_id
        )
    )
    if role is None:
        raise NotFound("No such workspace.", code="workspace_not_found")
    return role


async def switch(session: AsyncSession, owner: Owner, workspace_id: uuid.UUID) -> None:
    """Point this session at another of the user's workspaces."""
    await membership_role(session, owner.user_id, workspace_id)
    await session.execute(
        update(OwnerSession)
        .where(OwnerSession.id == owner.session_id)
        .values(workspace_id=workspace_id)
    )


async def rename(session: AsyncSession, workspace_id: uuid.UUID, name: str) -> Workspace:
    workspace = await session.get(Workspace, workspace_id)
    if workspace is None:
        raise NotFound("No such workspace.", code="workspace_not_found")
    if workspace.name != name:
        workspace.name = name
        await session.flush()
        await audit.record(
            session, workspace_id, "workspace.updated", workspace_id, fields=["name"]
        )
    return workspace


async def delete_workspace(session: AsyncSession, workspace_id: uuid.UUID) -> list[uuid.UUID]:
    """The workspace and everything in it (widgets, knowledge, conversations, keys, its audit
    log). Members' sessions in it move to their other workspaces. Returns the widgets' ids,
    whose cached public config must go too."""
    widget_ids = list(
        (
            await session.execute(select(Widget.id).where(Widget.workspace_id == workspace_id))
        ).scalars()
    )
    await team.move_sessions(session, workspace_id)
    result = await session.execute(delete(Workspace).where(Workspace.id == workspace_id))
    if not getattr(result, "rowcount", 0):
        raise NotFound("No such workspace.", code="workspace_not_found")
    revocation.revoke(session, revocation.workspace_deleted(workspace_id))
    return widget_ids


async def switch_to(session: AsyncSession, owner: Owner, workspace_id: uuid.UUID) -> Owner:
    """Point this session at another of the user's workspaces; the caller as they are now."""
    role = await membership_role(session, owner.user_id, workspace_id)
    await switch(session, owner, workspace_id)
    name = next(w.name for w in await list_mine(session, owner) if w.id == workspace_id)
    return replace(owner, workspace_id=workspace_id, workspace_name=name, role=role)


async def accept(session: AsyncSession, owner: Owner, token: str) -> Owner:
    """Join the inviting workspace as the signed-in user, and switch the session to it."""
    invitation = await team.claim(session, token)
    user = await session.get(User, owner.user_id)
    assert user is not None
    workspace = await team.join(session, invitation, user)
    await switch(session, owner, workspace.id)
    return replace(
        owner, workspace_id=workspace.id, workspace_name=workspace.name, role=invitation.role
    )
