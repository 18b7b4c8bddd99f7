"""Who is on a socket: a visitor (their conversation's token) or an agent (session or API key).

Browsers cannot set headers on a WebSocket, and a URL ends up in access logs, so a visitor
offers the token as a subprotocol, `Sec-WebSocket-Protocol: porch.v1, porch.token.<token>`
(the server answers `porch.v1`), or sends it in the first frame
(`{"type":"auth","token":...}`); never in the query string. An agent's browser sends the
session cookie. A cookie rides along with any page's request, so a cookie-authenticated
socket must come from porch's own origin (no cross-site WebSocket hijacking).

Either way the socket keeps the `Grant` it was admitted with, so that revoking it closes the
socket (realtime/revoker.py), and the time its session or token runs out.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.websockets import WebSocket

from porch.accounts import service as accounts
from porch.accounts import tokens
from porch.accounts.service import Owner
from porch.conversations.repository import ConversationRef
from porch.conversations.tokens import token_expires, token_state
from porch.models import User
from porch.models.base import utcnow
from porch.realtime.context import State
from porch.realtime.grants import deadline_of
from porch.revocation import Grant

SESSION_COOKIE = "porch_session"
SUBPROTOCOL = "porch.v1"
TOKEN_SUBPROTOCOL = "porch.token."  # noqa: S105 - a prefix, not a secret


class Refused(Exception):
    """The socket is not let in; the message says why (sent as the close reason)."""


@dataclass(frozen=True, slots=True)
class Agent:
    owner: Owner
    name: str
    # The display name, the only name a visitor may see (None: the widget's neutral label).
    public_name: str | None = None

    def grant(self, conversation: ConversationRef | None = None) -> Grant:
        """On the inbox socket, or on one conversation's (closed if it is deleted)."""
        owner = self.owner
        return Grant(
            "session" if owner.via == "session" else "api_key",
            owner.workspace_id,
            user_id=owner.user_id,
            role=owner.role,
            session_id=owner.session_id,
            api_key_id=owner.api_key_id,
            widget_id=conversation.widget_id if conversation else None,
            conversation_id=conversation.id if conversation else None,
        )

    @property
    def deadline(self) -> float:
        return deadline_of(self.owner.expires_at)


@dataclass(frozen=True, slots=True)
class Visitor:
    conversation: ConversationRef
    grant: Grant
    deadline: float  # time.monotonic: when the token has been idle too long, unless used


def offered_token(subprotocols: list[str]) -> str | None:
    """The visitor token a client offered as `porch.token.<token>`, if any."""
    for offered in subprotocols:
        offered = offered.strip()
        if offered.startswith(TOKEN_SUBPROTOCOL):
            return offered[len(TOKEN_SUBPROTOCOL) :] or None
    return None


def subprotocol(ws: WebSocket) -> str | None:
    """What to answer a client that offered subprotocols (a browser fails without one)."""
    offered = [p.strip() for p in ws.scope.get("subprotocols") or ()]
    return SUBPROTOCOL if SUBPROTOCOL in offered else None


async def visitor(state: State, ws: WebSocket, conversation_id: uuid.UUID, token: str) -> Visitor:
    """As the visitor routes check a token (chat/dependencies.py), idle expiry included."""
    token_hash = tokens.token_hash(token)
    async with state.autocommit.connect() as conn:
        found = await token_state(conn, conversation_id, token_hash)
    if found is None:
        raise Refused("no such conversation for this token")
    expires_at = token_expires(state.settings, found.active)
    if expires_at <= utcnow():
        raise Refused("visitor token expired")
    ref = found.conversation
    widget = await state.widgets.get(ref.widget_id)
    origin = ws.headers.get("origin")
    if widget is None or not widget.allows_origin(origin, ws.headers.get("host")):
        raise Refused("this website may not use this widget")
    grant = Grant(
        "visitor_token",
        ref.workspace_id,
        widget_id=ref.widget_id,
        conversation_id=ref.id,
        # Kept only for a further token (resumed elsewhere); the conversation's own is the
        # usual case, and 5,000 idle sockets need not hold 5,000 copies of its hash.
        token_hash=None if token_hash == ref.token_hash else token_hash,
    )
    return Visitor(ref, grant, deadline_of(expires_at))


def forget_credentials(ws: WebSocket) -> None:
    """Drop the offered token from the socket's scope once it is let in: the scope lives as
    long as the socket, and a secret has no business in it (nor its bytes, times thousands)."""
    scope = ws.scope
    if scope.get("subprotocols"):
        scope["subprotocols"] = []
        headers = scope["headers"]
        headers[:] = [h for h in headers if h[0] != b"sec-websocket-protocol"]


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
    display = user.display_name if user else None
    return Agent(owner, display or owner.email.split("@")[0], display or None)
