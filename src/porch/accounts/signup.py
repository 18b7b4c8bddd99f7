"""A new account: an owner with a workspace of their own, or a member through an invitation."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from porch import audit
from porch.accounts import service, team
from porch.accounts.schemas import SignupIn
from porch.models import User


async def new_account(
    session: AsyncSession, body: SignupIn, *, allow_signup: bool, ip: str | None
) -> tuple[User, uuid.UUID | None]:
    """The user, and the workspace their session should open in (None: their own).

    With an invitation the door is open even when sign-up is closed."""
    if body.invitation_token:
        invitation = await team.claim(session, body.invitation_token)
        user = await service.create_user(session, email=body.email, password=body.password)
        audit.bind(audit.Actor(user.id, user.email, "session", ip=ip))
        return user, (await team.join(session, invitation, user)).id
    user, _ = await service.signup(
        session,
        email=body.email,
        password=body.password,
        workspace_name=body.workspace_name,
        allow_signup=allow_signup,
    )
    return user, None
