"""Owner sign-up, sign-in and API keys."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from porch.accounts import service
from porch.accounts.dependencies import SESSION_COOKIE, CurrentOwner
from porch.accounts.schemas import (
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyList,
    ApiKeyOut,
    Credentials,
    SessionOut,
    SignupIn,
    UserOut,
    WorkspaceOut,
)
from porch.deps import SessionDep, SettingsDep
from porch.settings import Settings

router = APIRouter(prefix="/api/v1", tags=["accounts"])


def _session_out(owner: service.Owner) -> SessionOut:
    return SessionOut(
        user=UserOut(id=owner.user_id, email=owner.email),
        workspace=WorkspaceOut(id=owner.workspace_id, name=owner.workspace_name),
        csrf_token=owner.csrf_token,
    )


def _set_cookie(response: Response, token: str, settings: Settings) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )


@router.post("/auth/signup", status_code=status.HTTP_201_CREATED, response_model=SessionOut)
async def signup(
    body: SignupIn, session: SessionDep, settings: SettingsDep, response: Response
) -> SessionOut:
    user, _ = await service.signup(
        session,
        email=body.email,
        password=body.password,
        workspace_name=body.workspace_name,
        allow_signup=settings.allow_signup,
    )
    started = await service.start_session(session, user, hours=settings.session_hours)
    _set_cookie(response, started.token, settings)
    return _session_out(started.owner)


@router.post("/auth/login", response_model=SessionOut)
async def login(
    body: Credentials, session: SessionDep, settings: SettingsDep, response: Response
) -> SessionOut:
    user = await service.authenticate(session, email=body.email, password=body.password)
    started = await service.start_session(session, user, hours=settings.session_hours)
    _set_cookie(response, started.token, settings)
    return _session_out(started.owner)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(owner: CurrentOwner, session: SessionDep, response: Response) -> None:
    await service.end_session(session, owner)
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.get("/auth/me", response_model=SessionOut)
async def me(owner: CurrentOwner) -> SessionOut:
    return _session_out(owner)


@router.post("/api-keys", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreated)
async def create_api_key(body: ApiKeyIn, owner: CurrentOwner, session: SessionDep) -> ApiKeyCreated:
    api_key, key = await service.create_api_key(session, owner, name=body.name)
    return ApiKeyCreated(
        id=api_key.id,
        name=api_key.name,
        last4=api_key.last4,
        created_at=api_key.created_at,
        last_used_at=None,
        key=key,
    )


@router.get("/api-keys", response_model=ApiKeyList)
async def list_api_keys(owner: CurrentOwner, session: SessionDep) -> ApiKeyList:
    keys = await service.list_api_keys(session, owner)
    return ApiKeyList(api_keys=[ApiKeyOut.model_validate(k, from_attributes=True) for k in keys])


@router.delete("/api-keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_api_key(key_id: uuid.UUID, owner: CurrentOwner, session: SessionDep) -> None:
    await service.delete_api_key(session, owner, key_id)
