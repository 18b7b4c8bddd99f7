"""Who is calling a visitor route: the conversation their token opens, and its widget.

A visitor token is random, stored only as its SHA-256, bound to one conversation (and so to
that conversation's widget), and expires after `PORCH_VISITOR_TOKEN_IDLE_HOURS` without a
message. Activity is read from the conversation's `last_message_at`, which the message
insert trigger keeps current: keeping a token alive costs no write of its own.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from porch.accounts import tokens
from porch.accounts.dependencies import SESSION_COOKIE, check_role, owner_for
from porch.accounts.roles import Role
from porch.accounts.service import Owner
from porch.chat.answer.context import State
from porch.chat.answer.dependencies import ChatDep
from porch.conversations import repository as repo
from porch.conversations.repository import ConversationRef
from porch.conversations.tokens import TokenState, token_expires, token_state
from porch.db import session_scope
from porch.errors import NotFound, Unauthorized
from porch.models.base import utcnow
from porch.security import cors
from porch.widgets import service as widgets
from porch.widgets.cache import WidgetConfig

_bearer = HTTPBearer(auto_error=False, description="The visitor_token of the conversation")


@dataclass(frozen=True, slots=True)
class Visitor:
    conversation: ConversationRef
    widget: WidgetConfig


def allowed_origin(request: Request, widget: WidgetConfig) -> str | None:
    """The browser's Origin when the widget allows it, else None (no Origin: None too).

    Raises 403 `origin_not_allowed` for an Origin the widget does not allow. An allowed
    Origin is noted on the request so the CORS layer echoes exactly it (security/cors.py).
    """
    origin = request.headers.get("origin")
    if not origin:
        return None
    if not widget.allows_origin(origin, request.headers.get("host")):
        raise cors.refuse(request.scope, origin)
    cors.allow(request.scope, origin)
    return origin


def check_origin(request: Request, widget: WidgetConfig) -> None:
    """Browsers send Origin on cross-site requests; refuse sites the owner has not allowed."""
    allowed_origin(request, widget)


async def widget_for_visitor(state: State, request: Request, widget_id: uuid.UUID) -> WidgetConfig:
    widget = await state.widgets.get(widget_id)
    if widget is None:
        origin = request.headers.get("origin")
        if origin:
            cors.allow(request.scope, origin)  # no widget, so no origin list to keep it from
        raise NotFound("No such widget.", code="widget_not_found")
    check_origin(request, widget)
    return widget


async def origin_verdict(
    state: State, kind: cors.Kind, ident: str | None, origin: str, host: str | None
) -> bool | None:
    """Whether the widget a request names allows `origin`; None when there is no such widget.

    For replies that leave before their route resolved the widget (security/cors.py)."""
    widget_id = await _widget_named(state, kind, ident)
    config = await state.widgets.get(widget_id) if widget_id is not None else None
    return config.allows_origin(origin, host) if config is not None else None


async def _widget_named(state: State, kind: cors.Kind, ident: str | None) -> uuid.UUID | None:
    if kind == "default":
        async with state.sessionmaker() as session:
            return await widgets.default_widget_id(session)
    try:
        key = uuid.UUID(ident or "")
    except ValueError:
        return None
    if kind == "widget":
        return key
    async with state.autocommit.connect() as conn:
        if kind == "message":
            found = await repo.message_conversation(conn, key)
            if found is None:
                return None
            key = found
        ref = await repo.conversation(conn, key)
    return ref.widget_id if ref is not None else None


def _not_found() -> NotFound:
    # A wrong token and an unknown conversation look alike: ids reveal nothing.
    return NotFound("No such conversation for this visitor token.", code="conversation_not_found")


async def visitor_for(
    state: State, request: Request, conversation_id: uuid.UUID, token: str | None
) -> Visitor:
    if not token:
        raise Unauthorized(
            "Send the conversation's visitor_token as a Bearer token.",
            code="visitor_token_required",
        )
    async with state.autocommit.connect() as conn:
        found = await token_state(conn, conversation_id, tokens.token_hash(token))
    return await admitted(state, request, found)


async def admitted(state: State, request: Request, found: TokenState | None) -> Visitor:
    """The visitor a token's lookup found: 404 when none, 401 when the token expired, and
    the widget's origin rule."""
    if found is None:
        raise _not_found()
    if token_expires(state.settings, found.active) < utcnow():
        raise Unauthorized(
            "This conversation's visitor token has expired; start a new conversation.",
            code="visitor_token_expired",
        )
    widget = await widget_for_visitor(state, request, found.conversation.widget_id)
    return Visitor(found.conversation, widget)


async def current_visitor(
    conversation_id: uuid.UUID,
    request: Request,
    state: ChatDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Visitor:
    return await visitor_for(
        state, request, conversation_id, bearer.credentials if bearer else None
    )


CurrentVisitor = Annotated[Visitor, Depends(current_visitor)]
VisitorBearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


@dataclass(frozen=True, slots=True)
class Agent:
    """A signed-in owner or agent on a conversation route, with the request's session: the
    session commits before the response leaves, like `SessionDep`."""

    owner: Owner
    session: AsyncSession


class Authenticator:
    """One dependency for the subjects a conversation route allows: the visitor (the
    conversation's token as a Bearer), and, with `role`, a person with at least that role
    (an API key as the Bearer, or the session cookie when no Bearer is sent).

    Only the visitor's Bearer scheme is declared, so the route's OpenAPI entry is the
    visitor's; a person's credentials are read as `CurrentOwner` reads them.
    """

    def __init__(self, *, role: Role | None = None) -> None:
        self.role = role

    async def __call__(
        self,
        conversation_id: uuid.UUID,
        request: Request,
        state: ChatDep,
        bearer: VisitorBearer,
    ) -> AsyncIterator[Visitor | Agent]:
        cookie = request.cookies.get(SESSION_COOKIE)
        if self.role is None or not _from_person(bearer, cookie):
            yield await visitor_for(
                state, request, conversation_id, bearer.credentials if bearer else None
            )
            return
        async with _scoped(state.sessionmaker) as session:
            owner = await owner_for(request, session, cookie, bearer)
            check_role(owner, self.role)
            yield Agent(owner, session)


# Commits when the route returns, rolls back when it raises (db.session_scope).
_scoped = contextlib.asynccontextmanager(session_scope)


def _from_person(bearer: HTTPAuthorizationCredentials | None, cookie: str | None) -> bool:
    """An API key as the Bearer, or no Bearer and a session cookie: not a visitor token."""
    if bearer is not None:
        return bearer.credentials.startswith(tokens.API_KEY_PREFIX)
    return bool(cookie)


# A visitor, or an agent replying as a person (`POST /conversations/{id}/messages`).
VisitorOrAgent = Annotated[
    Visitor | Agent, Depends(Authenticator(role=Role.agent), scope="function")
]
