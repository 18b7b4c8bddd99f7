"""Who is on a socket: a visitor (their conversation's token) or an agent (session or API key).

Browsers cannot set headers on a WebSocket, so a visitor sends the token as `?token=` or in
the first frame (`{"type":"auth","token":...}`); an agent's browser sends the session
cookie. A cookie rides along with any page's request, so a cookie-authenticated socket must
come from porch's own origin (no cross-site WebSocket hijacking).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.websockets import WebSocket

from porch.accounts import service as accounts
from porch.accounts import tokens
from porch.accounts.service import Owner
from porch.conversations import repository as repo
from porch.conversations.repository import ConversationRef
from porch.models import User
from porch.realtime.context import State

SESSION_COOKIE = "porch_session"


class Refused(Exception):
    """The socket is not let in; the message says why (sent as the close reason)."""


@dataclass(frozen=True, slots=True)
class Agent:
    owner: Owner
    name: str


async def visitor(
    state: State, ws: WebSocket, conversation_id: uuid.UUID, token: str
) -> ConversationRef:
    async with state.autocommit.connect() as conn:
        ref = await repo.conversation(conn, conversation_id)
    if ref is None or not tokens.same_token(token, ref.token_hash):
        raise Refused("no such conversation for this token")
    widget = await state.widgets.get(ref.widget_id)
    origin = ws.headers.get("origin")
    if widget is None or not widget.allows_origin(origin, ws.headers.get("host")):
        raise Refused("this website may not use this widget")
    return ref


def same_origin(ws: WebSocket, public_url: str) -> bool:
    """The Origin is porch's own: this host, or the configured public URL."""
    origin = ws.headers.get("origin")
    if origin is None:
        return True  # not a browser: nothing rides along without the client knowing
    parts = urlsplit(origin)
    if parts.netloc and parts.netloc == ws.headers.get("host"):
        return True
    public = urlsplit(public_url)
    return (parts.scheme, parts.netloc) == (public.scheme, public.netloc)


async def agent(state: State, ws: WebSocket) -> Agent | None:
    """The signed-in owner or agent, or None when the socket carries no owner credentials."""
    bearer = ws.headers.get("authorization", "")
    key = bearer[7:].strip() if bearer.lower().startswith("bearer ") else ""
    cookie = ws.cookies.get(SESSION_COOKIE)
    if not key.startswith(tokens.API_KEY_PREFIX) and not cookie:
        return None
    async with state.sessionmaker() as session:
        if key.startswith(tokens.API_KEY_PREFIX):
            owner = await accounts.owner_from_api_key(session, key)
        else:
            if not same_origin(ws, state.settings.public_url):
                raise Refused("cross-site socket refused")
            owner = await accounts.owner_from_session(session, cookie or "")
        if owner is None:
            raise Refused("sign in again")
        user = await session.get(User, owner.user_id)
        await session.commit()
    name = (user.display_name if user else None) or owner.email.split("@")[0]
    return Agent(owner, name)
