"""Owner sign-up, sign-in, sessions and API keys."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response, status

from porch.accounts import service, throttle
from porch.accounts import signup as accounts_signup
from porch.accounts.cookies import clear_cookie, session_out, set_cookie
from porch.accounts.dependencies import (
    SESSION_COOKIE,
    AdminScope,
    CurrentOwner,
    client_ip,
)
from porch.accounts.schemas import (
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyList,
    ApiKeyOut,
    Credentials,
    SessionOut,
    SignupIn,
)
from porch.deps import SessionDep, SettingsDep
from porch.errors import Unauthorized
from porch.limits.dependencies import LimitsDep
from porch.models import ApiKey

router = APIRouter(prefix="/api/v1", tags=["accounts"])


@router.post("/auth/signup", status_code=status.HTTP_201_CREATED, response_model=SessionOut)
async def signup(
    body: SignupIn,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
) -> SessionOut:
    """A new owner with a workspace of their own; with `invitation_token`, a new member of the
    inviting workspace instead (open even when sign-up is closed)."""
    user, workspace_id = await accounts_signup.new_account(
        session, body, allow_signup=settings.allow_signup, ip=client_ip(request)
    )
    started = await service.start_session(
        session,
        user,
        hours=settings.session_hours,
        workspace_id=workspace_id,
        replaces=request.cookies.get(SESSION_COOKIE),
    )
    set_cookie(response, started.token, settings)
    return session_out(started.owner)


@router.post(
    "/auth/login",
    response_model=SessionOut,
    responses={429: {"description": "Too many failed attempts for this account or address"}},
)
async def login(
    body: Credentials,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    limits: LimitsDep,
    response: Response,
) -> SessionOut:
    """Starts a new session (a new cookie and CSRF token); the one the browser held ends."""
    settings = settings
    ip = client_ip(request)
    await throttle.guard(limits, settings, body.email, ip)
    try:
        user = await service.authenticate(session, email=body.email, password=body.password)
    except Unauthorized:
        await throttle.failed(limits, settings, body.email, ip)
        raise
    started = await service.start_session(
        session, user, hours=settings.session_hours, replaces=request.cookies.get(SESSION_COOKIE)
    )
    set_cookie(response, started.token, settings)
    return session_out(started.owner)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(
    owner: CurrentOwner, session: SessionDep, settings: SettingsDep, response: Response
) -> None:
    await service.end_session(session, owner)
    clear_cookie(response, settings)


@router.post("/auth/logout-everywhere", status_code=status.HTTP_204_NO_CONTENT)
async def logout_everywhere(
    owner: CurrentOwner, session: SessionDep, settings: SettingsDep, response: Response
) -> None:
    """Ends every session of this account, in every browser, this one included."""
    await service.end_all_sessions(session, owner.user_id)
    clear_cookie(response, settings)


@router.get("/auth/me", response_model=SessionOut)
async def me(owner: CurrentOwner) -> SessionOut:
    return session_out(owner)


def _key_out(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut.model_validate(key, from_attributes=True)


@router.post("/api-keys", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreated)
async def create_api_key(body: ApiKeyIn, owner: AdminScope, session: SessionDep) -> ApiKeyCreated:
    """A key acting in this workspace with `role` (default admin, at most your own)."""
    api_key, key = await service.create_api_key(session, owner, name=body.name, role=body.role)
    return ApiKeyCreated(**_key_out(api_key).model_dump(), key=key)


@router.get("/api-keys", response_model=ApiKeyList)
async def list_api_keys(owner: AdminScope, session: SessionDep) -> ApiKeyList:
    keys = await service.list_api_keys(session, owner)
    return ApiKeyList(api_keys=[_key_out(k) for k in keys])


@router.delete("/api-keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_api_key(key_id: uuid.UUID, owner: AdminScope, session: SessionDep) -> None:
    await service.delete_api_key(session, owner, key_id)
