"""Members of a workspace and invitations to join it. Every function takes the workspace
explicitly; the route's scope dependency has already checked the caller's role."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from porch import audit, revocation
from porch.accounts import repository as repo
from porch.accounts import tokens
from porch.accounts.roles import Role
from porch.accounts.service import Owner
from porch.errors import BadRequest, Conflict, NotFound
from porch.models import Invitation, Membership, User, Workspace
from porch.models.base import utcnow

MAX_PENDING_INVITATIONS = 100
MAX_MEMBERS = 1000


@dataclass(frozen=True, slots=True)
class Member:
    user_id: uuid.UUID
    email: str
    display_name: str | None
    role: str
    joined_at: datetime


async def list_members(session: AsyncSession, workspace_id: uuid.UUID) -> list[Member]:
    return [
        Member(user.id, user.email, user.display_name, m.role, m.created_at)
        for m, user in await repo.members(session, workspace_id)
    ]


async def _membership(
    session: AsyncSession, workspace_id: uuid.UUID, user_id: uuid.UUID
) -> Membership:
    membership = await repo.membership(session, workspace_id, user_id)
    if membership is None:
        raise NotFound("No such member.", code="member_not_found")
    return membership


async def change_role(
    session: AsyncSession, workspace_id: uuid.UUID, user_id: uuid.UUID, role: Role
) -> Member:
    membership = await _membership(session, workspace_id, user_id)
    before = membership.role
    demoting = before == Role.owner.value and role != Role.owner
    if demoting and await repo.owner_count(session, workspace_id) <= 1:
        raise Conflict(
            "A workspace needs at least one owner: make someone else owner first.",
            code="last_owner",
        )
    membership.role = role.value
    await session.flush()
    if before != role.value:
        revocation.revoke(session, revocation.role_changed(workspace_id, user_id))
        await audit.record(
            session, workspace_id, "member.role_changed", user_id, before=before, after=role.value
        )
    user = await session.get(User, user_id)
    assert user is not None
    return Member(user.id, user.email, user.display_name, membership.role, membership.created_at)


async def remove_member(session: AsyncSession, workspace_id: uuid.UUID, user_id: uuid.UUID) -> None:
    membership = await _membership(session, workspace_id, user_id)
    if membership.role == Role.owner.value and await repo.owner_count(session, workspace_id) <= 1:
        raise Conflict(
            "The last owner cannot be removed; delete the workspace instead.", code="last_owner"
        )
    await session.delete(membership)
    await session.flush()
    await move_sessions(session, workspace_id, user_id)
    revocation.revoke(session, revocation.member_removed(workspace_id, user_id))
    await audit.record(session, workspace_id, "member.removed", user_id)


async def move_sessions(
    session: AsyncSession, workspace_id: uuid.UUID, user_id: uuid.UUID | None = None
) -> None:
    """Sessions active in a workspace their user left (or that is going) move to the user's
    oldest other workspace; a user with none left is signed out."""
    for owner_session in await repo.sessions_in(session, workspace_id, user_id):
        other = await repo.oldest_other_workspace(session, owner_session.user_id, workspace_id)
        if other is None:
            await session.delete(owner_session)
        else:
            owner_session.workspace_id = other
    await session.flush()


async def invite(
    session: AsyncSession,
    owner: Owner,
    *,
    role: Role,
    email: str | None,
    hours: int,
) -> tuple[Invitation, str]:
    """A one-time link's token: returned once, kept only as its hash."""
    now = utcnow()
    if (
        await repo.open_invitation_count(session, owner.workspace_id, now)
        >= MAX_PENDING_INVITATIONS
    ):
        raise Conflict(
            f"A workspace holds at most {MAX_PENDING_INVITATIONS} open invitations.",
            code="too_many_invitations",
        )
    token = tokens.new_token(tokens.INVITATION_PREFIX)
    invitation = Invitation(
        workspace_id=owner.workspace_id,
        token_hash=tokens.token_hash(token),
        role=role.value,
        email=email,
        invited_by=owner.user_id,
        expires_at=now + timedelta(hours=hours),
    )
    session.add(invitation)
    await session.flush()
    await audit.record(
        session, owner.workspace_id, "invitation.created", invitation.id, role=role.value
    )
    return invitation, token


async def list_invitations(session: AsyncSession, workspace_id: uuid.UUID) -> list[Invitation]:
    return await repo.open_invitations(session, workspace_id, utcnow())


async def revoke_invitation(
    session: AsyncSession, workspace_id: uuid.UUID, invitation_id: uuid.UUID
) -> None:
    if not await repo.delete_invitation(session, invitation_id, workspace_id):
        raise NotFound("No such invitation.", code="invitation_not_found")
    await audit.record(session, workspace_id, "invitation.revoked", invitation_id)


_INVALID = "This invitation link is invalid, used or expired. Ask for a new one."


async def claim(session: AsyncSession, token: str) -> Invitation:
    """Use up an invitation: exactly one caller gets it, even when two accept at once."""
    invitation = await repo.invitation_by_token_hash(session, tokens.token_hash(token))
    if invitation is None or invitation.expires_at <= utcnow():
        raise BadRequest(_INVALID, code="invalid_invitation")
    if not await repo.delete_invitation(session, invitation.id):
        raise BadRequest(_INVALID, code="invalid_invitation")
    return invitation


async def join(session: AsyncSession, invitation: Invitation, user: User) -> Workspace:
    """Make `user` a member with the invitation's role (claimed by `claim` in this transaction)."""
    if invitation.email is not None and invitation.email != user.email:
        raise BadRequest(
            "This invitation is for another email address.", code="invitation_email_mismatch"
        )
    workspace = await session.get(Workspace, invitation.workspace_id)
    if workspace is None:
        raise BadRequest(_INVALID, code="invalid_invitation")
    if await repo.membership(session, workspace.id, user.id) is not None:
        raise Conflict("You are already a member of this workspace.", code="already_member")
    if await repo.member_count(session, workspace.id) >= MAX_MEMBERS:
        raise Conflict(f"A workspace holds at most {MAX_MEMBERS} members.", code="too_many_members")
    session.add(Membership(user_id=user.id, workspace_id=workspace.id, role=invitation.role))
    await session.flush()
    bound = audit.current()
    audit.bind(audit.Actor(user.id, user.email, bound.via, bound.api_key_id, bound.ip))
    await audit.record(session, workspace.id, "member.joined", user.id, role=invitation.role)
    return workspace
