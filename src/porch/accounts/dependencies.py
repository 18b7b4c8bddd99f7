"""Who is calling: `CurrentOwner` resolves a session cookie (with CSRF) or an API key."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from porch.accounts import service, tokens
from porch.accounts.service import Owner
from porch.deps import SessionDep
from porch.errors import Forbidden, Unauthorized

SESSION_COOKIE = "porch_session"
CSRF_HEADER = "X-CSRF-Token"
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, description="Dashboard session")
_bearer = HTTPBearer(auto_error=False, description="API key: porch_sk_...")


async def current_owner(
    request: Request,
    session: SessionDep,
    cookie: Annotated[str | None, Depends(_cookie)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
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
