"""Who is calling, and in which workspace with what role.

`CurrentOwner` resolves a session cookie (with CSRF) or an API key: any signed-in caller.
Every route that touches a workspace's data takes one of the scopes instead:

    AgentScope  inbox: read conversations, reply, close, reopen
    AdminScope  widgets, knowledge, analytics, API keys, webhooks, the audit log
    OwnerScope  members, invitations, workspace settings, deleting the workspace

A scope is the caller's workspace (the session's active one, or the API key's) and their
role there, checked before the route runs. Services take `owner.workspace_id` from it and
answer "not found" for anything outside that workspace, so another workspace's ids are 404,
never 403; a role too low for the route is 403 `forbidden_role` whatever the ids.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from porch import audit
from porch.accounts import service, tokens
from porch.accounts.roles import Role
from porch.accounts.service import Owner
from porch.deps import SessionDep
from porch.errors import Forbidden, Unauthorized

SESSION_COOKIE = "porch_session"
CSRF_HEADER = "X-CSRF-Token"
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, description="Dashboard session")
_bearer = HTTPBearer(auto_error=False, description="API key: porch_sk_...")


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


async def current_owner(
    request: Request,
    session: SessionDep,
    cookie: Annotated[str | None, Depends(_cookie)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Owner:
    return await owner_for(request, session, cookie, bearer)


async def owner_for(
    request: Request,
    session: AsyncSession,
    cookie: str | None,
    bearer: HTTPAuthorizationCredentials | None,
) -> Owner:
    """The signed-in caller (API key, or session cookie with CSRF on writes), bound to the
    audit log: whatever this request changes is recorded under them."""
    owner = await _authenticate(request, session, cookie, bearer)
    audit.bind(
        audit.Actor(owner.user_id, owner.email, owner.via, owner.api_key_id, client_ip(request))
    )
    return owner


async def _authenticate(
    request: Request,
    session: AsyncSession,
    cookie: str | None,
    bearer: HTTPAuthorizationCredentials | None,
) -> Owner:
    if bearer is not None and bearer.credentials.startswith(tokens.API_KEY_PREFIX):
        owner = await service.owner_from_api_key(session, bearer.credentials)
        if owner is None:
            raise Unauthorized("Unknown or revoked API key.", code="invalid_api_key")
        return owner
    if cookie:
        owner = await service.owner_from_session(session, cookie)
        if owner is None:
            raise Unauthorized("Your session has ended; sign in again.", code="session_expired")
        if request.method in _UNSAFE and not _csrf_ok(request, owner):
            raise Forbidden("Missing or wrong X-CSRF-Token header.", code="csrf_failed")
        return owner
    raise Unauthorized("Sign in, or send an API key as a Bearer token.", code="not_authenticated")


def _csrf_ok(request: Request, owner: Owner) -> bool:
    sent = request.headers.get(CSRF_HEADER, "")
    return (
        bool(sent)
        and owner.csrf_token is not None
        and tokens.same_token(sent, tokens.token_hash(owner.csrf_token))
    )


CurrentOwner = Annotated[Owner, Depends(current_owner)]


class RoleCheck:
    """The dependency behind a scope; `minimum` is public so tests can read a route's role."""

    def __init__(self, minimum: Role) -> None:
        self.minimum = minimum

    async def __call__(self, owner: CurrentOwner) -> Owner:
        check_role(owner, self.minimum)
        return owner


def check_role(owner: Owner, minimum: Role) -> None:
    if not owner.level.at_least(minimum):
        raise Forbidden(
            f"This needs the {minimum.value} role or higher; you are {owner.role} here.",
            code="forbidden_role",
        )


_CHECKS = {role: RoleCheck(role) for role in Role}


def require(minimum: Role) -> Callable[[Owner], Awaitable[Owner]]:
    """The one dependency per role (FastAPI caches dependencies by identity)."""
    return _CHECKS[minimum]


AgentScope = Annotated[Owner, Depends(require(Role.agent))]
AdminScope = Annotated[Owner, Depends(require(Role.admin))]
OwnerScope = Annotated[Owner, Depends(require(Role.owner))]
