"""The conversation socket, handed straight from the ASGI server to its handler.

A WebSocket keeps every layer it passed through on the stack for as long as it is open: each
middleware's frame, the router's, FastAPI's exit stacks and exception wrappers. For a page
request that is microseconds; a visitor's socket is idle for hours between messages and
held by thousands of visitors at once (skipping the layers was one of the steps that took
an idle socket from 47.8 to 26.8 KB: docs/performance.md, `python -m bench.websockets`).
The app looks here before its middleware stack: this matches
the one socket route that visitors hold, parses its parameters itself and calls the
handler; everything else goes through the stack as usual.

The visitor token comes as a subprotocol (`porch.token.<token>`, realtime/auth.py), never in
the URL, which access logs and proxies keep: a `?token=` is refused at the handshake.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl

from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from porch.realtime.auth import offered_token
from porch.realtime.context import State
from porch.realtime.routes import CLOSE_POLICY, conversation_socket

_PATH = re.compile(r"^/api/v1/conversations/([^/]{1,64})/ws$")
MAX_TOKEN = 200


class ConversationSockets:
    """Finds the conversation socket's handler; `porch.app.Porch` asks before its stack."""

    def __init__(self, state: Callable[[], State | None]) -> None:
        self.state = state

    def match(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None] | None:
        """The socket's handler, ready to await, when `scope` is the conversation socket.

        Returned rather than awaited here, so that no frame of this method stays on the
        socket's stack."""
        match = _PATH.match(scope["path"]) if scope["type"] == "websocket" else None
        state = self.state() if match else None
        if match is None or state is None:
            return None
        websocket = WebSocket(scope, receive, send)
        try:
            conversation_id = _uuid(match.group(1))
            last_event_id = _query(scope["query_string"])
            token = _token(scope.get("subprotocols") or [])
        except ValueError as exc:
            # As FastAPI answers a socket's invalid parameters: refused at the handshake.
            return websocket.close(CLOSE_POLICY, str(exc))
        return conversation_socket(websocket, state, conversation_id, token, last_event_id)


def _uuid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise ValueError("conversation_id: not a UUID") from None


def _query(raw: bytes) -> int | None:
    """`last_event_id`; ValueError saying what is wrong."""
    last_event_id: int | None = None
    for name, value in parse_qsl(raw.decode("latin-1")):
        if name == "token":
            raise ValueError(
                "token: offer the visitor token as the subprotocol porch.token.<token> "
                "(or send it in the first frame), never in the URL"
            )
        if name == "last_event_id":
            if not value.isdigit() or len(value) > 18:
                raise ValueError("last_event_id: a whole number, 0 or more")
            last_event_id = int(value)
    return last_event_id


def _token(subprotocols: list[str]) -> str | None:
    token = offered_token(subprotocols)
    if token is not None and len(token) > MAX_TOKEN:
        raise ValueError(f"token: at most {MAX_TOKEN} characters")
    return token
