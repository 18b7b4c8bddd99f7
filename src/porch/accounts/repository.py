"""The accounts' queries on members, invitations and owner sessions, shared by the team,
workspace and inbox services. Each takes the request's session; none commits."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from porch.accounts.roles import Role
from porch.models import Invitation, Membership, OwnerSession, User


async def members(session: AsyncSession, workspace_id: uuid.UUID) -> list[tuple[Membership, User]]:
    """The workspace's memberships with their users, oldest first."""
    result = await session.execute(
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.workspace_id == workspace_id)
        .order_by(Membership.created_at)
    )
    return [(m, user) for m, user in result.all()]


async def membership(
    session: AsyncSession, workspace_id: uuid.UUID, user_id: uuid.UUID
) -> Membership | None:
    return (
        await session.execute(
            select(Membership).where(
                Membership.workspace_id == workspace_id, Membership.user_id == user_id
            )
        )
    ).scalar_one_or_none()


async def owner_count(session: AsyncSession, workspace_id: uuid.UUID) -> int:
    """The workspace's owners, counted under a row lock on PostgreSQL: two owners demoting
    each other at once cannot leave the workspace with none."""
    rows = await session.execute(
        select(Membership.id)
        .where(Membership.workspace_id == workspace_id, Membership.role == Role.owner.value)
        .with_for_update()
    )
    return len(rows.all())


async def member_count(session: AsyncSession, workspace_id: uuid.UUID) -> int:
    count = await session.scalar(
        select(func.count()).select_from(Membership).where(Membership.workspace_id == workspace_id)
    )
    return count or 0


async def sessions_in(
    session: AsyncSession, workspace_id: uuid.UUID, user_id: uuid.UUID | None = None
) -> list[OwnerSession]:
    """Owner sessions whose active workspace is this one (of one user, when given)."""
    query = select(OwnerSession).where(OwnerSession.workspace_id == workspace_id)
    if user_id is not None:
        query = query.where(OwnerSession.user_id == user_id)
    return list((await session.execute(query)).scalars())


async def oldest_other_workspace(
    session: AsyncSession, user_id: uuid.UUID, not_this: uuid.UUID
) -> uuid.UUID | None:
    return await session.scalar(
        select(Membership.workspace_id)
        .where(Membership.user_id == user_id, Membership.workspace_id != not_this)
        .order_by(Membership.created_at)
        .limit(1)
    )


async def open_invitation_count(
    session: AsyncSession, workspace_id: uuid.UUID, now: datetime
) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Invitation)
        .where(Invitation.workspace_id == workspace_id, Invitation.expires_at > now)
    )
    return count or 0


async def open_invitations(
    session: AsyncSession, workspace_id: uuid.UUID, now: datetime
) -> list[Invitation]:
    result = await session.execute(
        select(Invitation)
        .where(Invitation.workspace_id == workspace_id, Invitation.expires_at > now)
        .order_by(Invitation.created_at)
    )
    return list(result.scalars())


async def invitation_by_token_hash(session: AsyncSession, token_hash: str) -> Invitation | None:
    return (
        await session.execute(select(Invitation).where(Invitation.token_hash == token_hash))
    ).scalar_one_or_none()


async def delete_invitation(
    session: AsyncSession, invitation_id: uuid.UUID, workspace_id: uuid.UUID | None = None
) -> bool:
    """Whether this call deleted it (of the given workspace only, when given)."""
    query = delete(Invitation).where(Invitation.id == invitation_id)
    if workspace_id is not None:
        query = query.where(Invitation.workspace_id == workspace_id)
    result = await session.execute(query)
    return bool(getattr(result, "rowcount", 0))
