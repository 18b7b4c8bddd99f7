"""The session cookie (set at sign-in, cleared at sign-out) and the session a sign-in returns."""

from __future__ import annotations

from fastapi import Response

from porch.accounts import service
from porch.accounts.dependencies import SESSION_COOKIE
from porch.accounts.schemas import SessionOut, UserOut, WorkspaceOut
from porch.settings import Settings


def session_out(owner: service.Owner) -> SessionOut:
    return SessionOut(
        user=UserOut(id=owner.user_id, email=owner.email),
        workspace=WorkspaceOut(id=owner.workspace_id, name=owner.workspace_name, role=owner.level),
        csrf_token=owner.csrf_token,
    )


def set_cookie(response: Response, token: str, settings: Settings) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )


def clear_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=settings.secure_cookies
    )
