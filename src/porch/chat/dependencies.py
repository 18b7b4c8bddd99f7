"""Who is calling a visitor route: the conversation their token opens, and its widget."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from porch.accounts import tokens
from porch.chat import repository as repo
from porch.chat.repository import ConversationRef
from porch.deps import StateDep
from porch.errors import Forbidden, NotFound, Unauthorized
from porch.state import State
from porch.widgets.cache import WidgetConfig

_bearer = HTTPBearer(auto_error=False, description="The visitor_token of the conversation")


@dataclass(frozen=True, slots=True)
class Visitor:
    conversation: ConversationRef
    widget: WidgetConfig


def check_origin(request: Request, widget: WidgetConfig) -> None:
    """Browsers send Origin on cross-site requests; refuse sites the owner has not allowed."""
    origin = request.headers.get("origin")
    if origin and not widget.allows_origin(origin, request.headers.get("host")):
        raise Forbidden(
            "This website is not allowed to use this widget.", code="origin_not_allowed"
        )


async def widget_for_visitor(state: State, request: Request, widget_id: uuid.UUID) -> WidgetConfig:
    widget = await state.widgets.get(widget_id)
    if widget is None:
        raise NotFound("No such widget.", code="widget_not_found")
    check_origin(request, widget)
    return widget


async def visitor_for(
    state: State, request: Request, conversation_id: uuid.UUID, token: str | None
) -> Visitor:
    if not token:
        raise Unauthorized(
            "Send the conversation's visitor_token as a Bearer token.",
            code="visitor_token_required",
        )
    async with state.autocommit.connect() as conn:
        ref = await repo.conversation(conn, conversation_id)
    # A wrong token and an unknown conversation look alike: ids reveal nothing.
    if ref is None or not tokens.same_token(token, ref.token_hash):
        raise NotFound(
            "No such conversation for this visitor token.", code="conversation_not_found"
        )
    widget = await widget_for_visitor(state, request, ref.widget_id)
    return Visitor(ref, widget)


async def current_visitor(
    conversation_id: uuid.UUID,
    request: Request,
    state: StateDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Visitor:
    return await visitor_for(
        state, request, conversation_id, bearer.credentials if bearer else None
    )


CurrentVisitor = Annotated[Visitor, Depends(current_visitor)]
VisitorBearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
