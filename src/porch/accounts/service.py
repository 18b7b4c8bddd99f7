"""Sign-up, sign-in, sessions and API keys. Takes the session explicitly; never commits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from porch import audit, revocation
from porch.accounts import tokens
from porch.accounts.roles import Role, parse
from porch.errors import Conflict, Forbidden, NotFound, Unauthorized
from porch.models import ApiKey, Membership, OwnerSession, User, Workspace
from porch.models.base import utcnow

MAX_API_KEYS = 100
# A busy automation should not write on every call.
KEY_TOUCH_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Owner:
    """Who is calling an owner route, in which workspace, and with what role there."""

    user_id: uuid.UUID
    email: str
    workspace_id: uuid.UUID
    workspace_name: str
    role: str
    via: str  # "session" or "api_key"
    session_id: uuid.UUID | None = None
    csrf_token: str | None = None
    api_key_id: uuid.UUID | None = None
    # When the session ends by itself (an open socket is closed then too); None for keys.
    expires_at: datetime | None = None

    @property
    def level(self) -> Role:
        return parse(self.role)


@dataclass(frozen=True, slots=True)
class NewSession:
    owner: Owner
    token: str


async def signup_open(session: AsyncSession, *, allow_signup: bool) -> bool:
    """Whether a new account may be created: always for the server's first owner (a fresh
    install must be usable), then only when PORCH_ALLOW_SIGNUP says so."""
    return allow_signup or (await session.execute(select(User.id).limit(1))).first() is None


async def signup(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    workspace_name: str | None,
    allow_signup: bool,
) -> tuple[User, Workspace]:
    if not await signup_open(session, allow_signup=allow_signup):
        raise Forbidden(
            "Sign-up is closed on this server: ask an owner to invite you to their workspace "
            "(PORCH_ALLOW_SIGNUP=true opens it).",
            code="signup_closed",
        )
    user = await create_user(session, email=email, password=password)
    workspace = await create_workspace(session, user.id, workspace_name or _default_name(email))
    return user, workspace


def _default_name(email: str) -> str:
    return f"{email.split('@')[0]}'s workspace"[:120]


async def create_user(session: AsyncSession, *, email: str, password: str) -> User:
    if (await session.execute(select(User.id).where(User.email == email))).first():
        raise Conflict("An account with this email exists.", code="email_taken")
    user = User(email=email, password_hash=tokens.hash_password(password))
    session.add(user)
    await session.flush()
    return user


async def create_workspace(session: AsyncSession, user_id: uuid.UUID, name: str) -> Workspace:
    """A new workspace with `user_id` as its owner."""
    workspace = Workspace(name=name)
    session.add(workspace)
    await session.flush()
    session.add(Membership(user_id=user_id, workspace_id=workspace.id, role=Role.owner.value))
    await session.flush()
    await audit.record(session, workspace.id, "workspace.created", workspace.id)
    return workspace


async def authenticate(session: AsyncSession, *, email: str, password: str) -> User:
    user = (await session.execute(select(User).where(User.email == email))).scalar_one_or_none()
    # verify_password runs argon2 even for unknown emails, so timing tells nothing.
    if not tokens.verify_password(password, user.password_hash if user else None) or user is None:
        raise Unauthorized("Wrong email or password.", code="invalid_credentials")
    return user


async def start_session(
    session: AsyncSession,
    user: User,
    *,
    hours: int,
    workspace_id: uuid.UUID | None = None,
    replaces: str | None = None,
) -> NewSession:
    """A new session (new token, new CSRF token) in `workspace_id`, else the user's first
    workspace. `replaces` is the cookie the browser still held: that session ends, so a
    token planted before sign-in is worth nothing after it."""
    if replaces:
        ended = await session.scalars(
            delete(OwnerSession)
            .where(OwnerSession.token_hash == tokens.token_hash(replaces))
            .returning(OwnerSession.id)
        )
        for session_id in ended.all():
            revocation.revoke(session, revocation.session_ended(session_id))
    query = (
        select(Membership, Workspace)
        .join(Workspace, Workspace.id == Membership.workspace_id)
        .where(Membership.user_id == user.id)
    )
    if workspace_id is not None:
        query = query.where(Membership.workspace_id == workspace_id)
    row = (await session.execute(query.order_by(Membership.created_at).limit(1))).first()
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
        expires_at=owner_session.expires_at,
    )
    return NewSession(owner, token)


async def end_session(session: AsyncSession, owner: Owner) -> None:
    if owner.session_id is not None:
        await session.execute(delete(OwnerSession).where(OwnerSession.id == owner.session_id))
        revocation.revoke(session, revocation.session_ended(owner.session_id))


async def end_all_sessions(session: AsyncSession, user_id: uuid.UUID) -> int:
    """Sign the user out everywhere: every browser, this one included."""
    result = await session.execute(delete(OwnerSession).where(OwnerSession.user_id == user_id))
    revocation.revoke(session, revocation.sessions_ended(user_id))
    return int(getattr(result, "rowcount", 0) or 0)


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
        expires_at=owner_session.expires_at,
    )


async def owner_from_api_key(session: AsyncSession, key: str) -> Owner | None:
    # The creator must still be a member: a removed member's keys stop working with them.
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
    api_key, email, workspace_name, member_role = row
    await _touch_key(session, api_key)
    # A key acts with its own role, capped by its creator's role today (a demotion counts).
    role = min(parse(api_key.role), parse(member_role), key=lambda r: r.rank)
    return Owner(
        api_key.user_id,
        email,
        api_key.workspace_id,
        workspace_name,
        role.value,
        "api_key",
        api_key_id=api_key.id,
    )


async def _touch_key(session: AsyncSession, api_key: ApiKey) -> None:
    now = utcnow()
    if api_key.last_used_at is None or now - api_key.last_used_at > KEY_TOUCH_INTERVAL:
        await session.execute(
            update(ApiKey).where(ApiKey.id == api_key.id).values(last_used_at=now)
        )
        # Committed at once, before the route runs: otherwise a request whose key was due a
        # touch held SQLite's write lock (a PostgreSQL row lock) for all of its work, and a
        # slow one (a large text to embed) failed every other writer's request meanwhile.
        await session.commit()


async def create_api_key(
    session: AsyncSession, owner: Owner, *, name: str, role: Role = Role.admin
) -> tuple[ApiKey, str]:
    if not owner.level.at_least(role):
        raise Forbidden(
            f"You cannot create a key with more rights than your own ({owner.role}).",
            code="forbidden_role",
        )
    count = await session.scalar(
        select(func.count()).select_from(ApiKey).where(ApiKey.workspace_id == owner.workspace_id)
    )
    if (count or 0) >= MAX_API_KEYS:
        raise Conflict(
            f"A workspace holds at most {MAX_API_KEYS} API keys.", code="too_many_api_keys"
        )
    key = tokens.new_token(tokens.API_KEY_PREFIX)
    api_key = ApiKey(
        workspace_id=owner.workspace_id,
        user_id=owner.user_id,
        name=name,
        key_hash=tokens.token_hash(key),
        last4=key[-4:],
        role=role.value,
    )
    session.add(api_key)
    await session.flush()
    await audit.record(session, owner.workspace_id, "api_key.created", api_key.id, role=role.value)
    return api_key, key


async def list_api_keys(session: AsyncSession, owner: Owner) -> list[ApiKey]:
    result = await session.execute(
        select(ApiKey).where(ApiKey.workspace_id == owner.workspace_id).order_by(ApiKey.created_at)
    )
    return list(result.scalars())


async def delete_api_key(session: AsyncSession, owner: Owner, key_id: uuid.UUID) -> None:
    api_key = await session.get(ApiKey, key_id)
    if api_key is None or api_key.workspace_id != owner.workspace_id:
        raise NotFound("No such API key.", code="api_key_not_found")
    if not owner.level.at_least(parse(api_key.role)):
        raise Forbidden("Only an owner can revoke an owner's key.", code="forbidden_role")
    await session.delete(api_key)
    await session.flush()
    revocation.revoke(session, revocation.api_key_deleted(key_id))
    await audit.record(session, owner.workspace_id, "api_key.revoked", key_id)


async def purge_expired_sessions(session: AsyncSession, now: datetime | None = None) -> int:
    result = await session.execute(
        delete(OwnerSession).where(OwnerSession.expires_at <= (now or utcnow()))
    )
    return int(getattr(result, "rowcount", 0) or 0)
