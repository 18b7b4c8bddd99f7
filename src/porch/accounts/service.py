"""Sign-up, sign-in, sessions and API keys. Takes the session explicitly; never commits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from porch.accounts import tokens
from porch.errors import Conflict, Forbidden, NotFound, Unauthorized
from porch.models import ApiKey, Membership, OwnerSession, User, Workspace
from porch.models.base import utcnow


@dataclass(frozen=True, slots=True)
class Owner:
    """Who is calling an owner route, and in which workspace."""

    user_id: uuid.UUID
    email: str
    workspace_id: uuid.UUID
    workspace_name: str
    role: str
    via: str  # "session" or "api_key"
    session_id: uuid.UUID | None = None
    csrf_token: str | None = None


@dataclass(frozen=True, slots=True)
class NewSession:
    owner: Owner
    token: str


async def signup(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    workspace_name: str | None,
    allow_signup: bool,
) -> tuple[User, Workspace]:
    has_users = (await session.execute(select(User.id).limit(1))).first() is not None
    if has_users and not allow_signup:
        raise Forbidden("Sign-up is closed on this server.", code="signup_closed")
    if (await session.execute(select(User.id).where(User.email == email))).first():
        raise Conflict("An account with this email exists.", code="email_taken")
    user = User(email=email, password_hash=tokens.hash_password(password))
    workspace = Workspace(name=workspace_name or f"{email.split('@')[0]}'s workspace")
    session.add_all([user, workspace])
    await session.flush()
    session.add(Membership(user_id=user.id, workspace_id=workspace.id, role="owner"))
    await session.flush()
    return user, workspace


async def authenticate(session: AsyncSession, *, email: str, password: str) -> User:
    user = (await session.execute(select(User).where(User.email == email))).scalar_one_or_none()
    # verify_password runs argon2 even for unknown emails, so timing tells nothing.
    if not tokens.verify_password(password, user.password_hash if user else None) or user is None:
        raise Unauthorized("Wrong email or password.", code="invalid_credentials")
    return user


async def start_session(session: AsyncSession, user: User, *, hours: int) -> NewSession:
    row = (
        await session.execute(
            select(Membership, Workspace)
            .join(Workspace, Workspace.id == Membership.workspace_id)
            .where(Membership.user_id == user.id)
            .order_by(Membership.created_at)
            .limit(1)
        )
    ).first()
    if row is None:
        raise Forbidden("This account belongs to no workspace.", code="no_workspace")
    membership, workspace = row
    token = tokens.new_token()
    csrf = tokens.new_token()
    owner_session = OwnerSession(
        token_hash=tokens.token_hash(token),
        user_id=user.id,
        workspace_id=workspace.id,
        csrf_token=csrf,
        expires_at=utcnow() + timedelta(hours=hours),
    )
    session.add(owner_session)
    await session.flush()
    owner = Owner(
        user.id,
        user.email,
        workspace.id,
        workspace.name,
        membership.role,
        "session",
        owner_session.id,
        csrf,
    )
    return NewSession(owner, token)


async def end_session(session: AsyncSession, owner: Owner) -> None:
    if owner.session_id is not None:
        await session.execute(delete(OwnerSession).where(OwnerSession.id == owner.session_id))


async def owner_from_session(session: AsyncSession, token: str) -> Owner | None:
    row = (
        await session.execute(
            select(OwnerSession, User.email, Workspace.name, Membership.role)
            .join(User, User.id == OwnerSession.user_id)
            .join(Workspace, Workspace.id == OwnerSession.workspace_id)
            .join(
                Membership,
                (Membership.user_id == User.id) & (Membership.workspace_id == Workspace.id),
            )
            .where(OwnerSession.token_hash == tokens.token_hash(token))
        )
    ).first()
    if row is None:
        return None
    owner_session, email, workspace_name, role = row
    if owner_session.expires_at <= utcnow():
        return None
    return Owner(
        owner_session.user_id,
        email,
        owner_session.workspace_id,
        workspace_name,
        role,
        "session",
        owner_session.id,
        owner_session.csrf_token,
    )


async def owner_from_api_key(session: AsyncSession, key: str) -> Owner | None:
    row = (
        await session.execute(
            select(ApiKey, User.email, Workspace.name, Membership.role)
            .join(User, User.id == ApiKey.user_id)
            .join(Workspace, Workspace.id == ApiKey.workspace_id)
            .join(
                Membership,
                (Membership.user_id == User.id) & (Membership.workspace_id == Workspace.id),
            )
            .where(ApiKey.key_hash == tokens.token_hash(key))
        )
    ).first()
    if row is None:
        return None
    api_key, email, workspace_name, role = row
    await _touch_key(session, api_key)
    return Owner(api_key.user_id, email, api_key.workspace_id, workspace_name, role, "api_key")


async def _touch_key(session: AsyncSession, api_key: ApiKey) -> None:
    # Write last-use at most once a minute: a busy automation should not write on every call.
    now = utcnow()
    if api_key.last_used_at is None or now - api_key.last_used_at > timedelta(minutes=1):
        await session.execute(
            update(ApiKey).where(ApiKey.id == api_key.id).values(last_used_at=now)
        )


async def create_api_key(session: AsyncSession, owner: Owner, *, name: str) -> tuple[ApiKey, str]:
    count = await session.scalar(
        select(func.count()).select_from(ApiKey).where(ApiKey.workspace_id == owner.workspace_id)
    )
    if (count or 0) >= 100:
        raise Conflict("A workspace holds at most 100 API keys.", code="too_many_api_keys")
    key = tokens.new_token(tokens.API_KEY_PREFIX)
    api_key = ApiKey(
        workspace_id=owner.workspace_id,
        user_id=owner.user_id,
        name=name,
        key_hash=tokens.token_hash(key),
        last4=key[-4:],
    )
    session.add(api_key)
    await session.flush()
    return api_key, key


async def list_api_keys(session: AsyncSession, owner: Owner) -> list[ApiKey]:
    result = await session.execute(
        select(ApiKey).where(ApiKey.workspace_id == owner.workspace_id).order_by(ApiKey.created_at)
    )
    return list(result.scalars())


async def delete_api_key(session: AsyncSession, owner: Owner, key_id: uuid.UUID) -> None:
    result = await session.execute(
        delete(ApiKey).where(ApiKey.id == key_id, ApiKey.workspace_id == owner.workspace_id)
    )
    if getattr(result, "rowcount", 0) == 0:
        raise NotFound("No such API key.")


async def purge_expired_sessions(session: AsyncSession, now: datetime | None = None) -> int:
    result = await session.execute(
        delete(OwnerSession).where(OwnerSession.expires_at <= (now or utcnow()))
    )
    return int(getattr(result, "rowcount", 0) or 0)
