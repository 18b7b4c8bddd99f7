"""Who is looking at a dashboard page: the session cookie's owner, or a redirect to sign in."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from starlette.responses import RedirectResponse, Response

from porch.accounts import service
from porch.accounts.dependencies import SESSION_COOKIE, check_role
from porch.accounts.roles import Role
from porch.accounts.service import Owner
from porch.dashboard import render
from porch.deps import SessionDep
from porch.errors import PorchError


class LoginRequired(Exception):
    """The page needs a signed-in owner; the visitor goes to the sign-in page."""


async def page_owner(request: Request, session: SessionDep) -> Owner:
    token = request.cookies.get(SESSION_COOKIE)
    owner = await service.owner_from_session(session, token) if token else None
    if owner is None:
        raise LoginRequired
    return owner


async def optional_owner(request: Request, session: SessionDep) -> Owner | None:
    token = request.cookies.get(SESSION_COOKIE)
    return await service.owner_from_session(session, token) if token else None


PageOwner = Annotated[Owner, Depends(page_owner)]


class PageRole:
    """A signed-in member with at least `minimum` in the session's workspace; a page above
    their role answers 403 (an error page), like the API's `forbidden_role`."""

    def __init__(self, minimum: Role) -> None:
        self.minimum = minimum

    async def __call__(self, owner: PageOwner) -> Owner:
        check_role(owner, self.minimum)
        return owner


PageAgent = Annotated[Owner, Depends(PageRole(Role.agent))]
PageAdmin = Annotated[Owner, Depends(PageRole(Role.admin))]
PageOwnerRole = Annotated[Owner, Depends(PageRole(Role.owner))]
MaybeOwner = Annotated[Owner | None, Depends(optional_owner)]


def safe_next(value: str | None, root: str = "") -> str:
    """Where to go after signing in: only a dashboard path of this site, never elsewhere."""
    home = f"{root}{render.PREFIX}/"
    if not value or not value.startswith(home) or value.startswith("//") or "\\" in value:
        return home
    return value


def login_redirect(request: Request) -> RedirectResponse:
    root = render.root_of(request)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    target = f"{root}{render.PREFIX}/login?next={quote(safe_next(here, root), safe='/')}"
    return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})


_TITLES = {403: "Not allowed", 404: "Not found"}


class DashboardRoute(APIRoute):
    """Pages answer in HTML: a signed-out visitor is sent to sign in, errors get a page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                return login_redirect(request)
            except PorchError as exc:
                return render.render(
                    request,
                    "error.html",
                    status_code=exc.status,
                    title=_TITLES.get(exc.status, "Something is wrong"),
                    message=exc.message,
                    owner=None,
                )

        return page
