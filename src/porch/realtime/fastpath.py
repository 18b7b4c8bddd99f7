"""The conversation socket, handed straight from the middleware stack to its handler.

A WebSocket keeps every layer it passed through on the stack for as long as it is open: each
middleware's frame, the router's, FastAPI's exit stacks and exception wrappers. For a page
request that is microseconds; for a visitor's socket, idle for hours between messages and
held by thousands of visitors at once, it was about 6 KB per socket
(`python -m bench.websockets`). This path matches the one socket route that visitors hold,
parses its three parameters itself and calls the handler; everything else goes on.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from porch.realtime.routes import CLOSE_POLICY, conversation_socket
from porch.state import State

_PATH = re.compile(r"^/api/v1/conversations/([^/]{1,64})/ws$")
MAX_TOKEN = 200


class ConversationSocketFastPath:
    def __init__(self, app: ASGIApp, *, state: Callable[[], State | None]) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = _PATH.match(scope["path"]) if scope["type"] == "websocket" else None
        state = self.state() if match else None
        if match is None or state is None:
            await self.app(scope, receive, send)
            return
        websocket = WebSocket(scope, receive, send)
        try:
            conversation_id = _uuid(match.group(1))
            token, last_event_id = _query(scope["query_string"])
        except ValueError as exc:
            # As FastAPI answers a socket's invalid parameters: refused at the handshake.
            await websocket.close(CLOSE_POLICY, str(exc))
            return
        await conversation_socket(websocket, state, conversation_id, token, last_event_id)


def _uuid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise ValueError("conversation_id: not a UUID") from None


def _query(raw: bytes) -> tuple[str | None, int | None]:
    """`token` and `last_event_id`; ValueError saying which one is wrong."""
    token: str | None = None
    last_event_id: int | None = None
    for name, value in parse_qsl(raw.decode("latin-1")):
        if name == "token":
            if len(value) > MAX_TOKEN:
                raise ValueError(f"token: at most {MAX_TOKEN} characters")
            token = value or None
        elif name == "last_event_id":
            if not value.isdigit() or len(value) > 18:
                raise ValueError("last_event_id: a whole number, 0 or more")
            last_event_id = int(value)
    return token, last_event_id
