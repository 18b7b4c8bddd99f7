"""CORS for the visitor routes: the exact Origin, echoed only when the widget allows it.

Starlette's CORSMiddleware knows one list of origins for the whole app; here each widget
has its own. The route decides (`allowed_origin` in chat/visitor/dependencies.py marks the
request with `allow(scope, origin)`), and this layer adds the headers to that response only. It
never sends `*` and never `Access-Control-Allow-Credentials`: visitor routes authenticate
with bearer tokens, not cookies. Owner routes get no CORS headers: the dashboard is
same-origin, and automation does not run in other sites' browsers.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Paths a widget's browser code (or a page using the compatibility API) calls cross-origin.
VISITOR_PATH = re.compile(
    # /api/widgets… is the same routes' alias (chat/visitor/compat_paths.py).
    r"^/api(?:/v1)?/widgets/(?P<wid>[^/]+)/(?:public|conversations|visitor/.*)$"
    r"|^/api/v1/(?:conversations/[^/]+/(?:messages|handoff)"
    r"|messages/[^/]+/feedback)$"
    r"|^/(?:chat/message|chat/history/[^/]+|api/chat|api/config|api/widget-config)$"
)
METHODS = b"GET, POST"
HEADERS = b"Authorization, Content-Type, Accept, X-Request-ID, X-Porch-User-Id, X-Porch-User-Hash"
EXPOSE = b"X-Request-ID, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset"
_STATE_KEY = "cors_origin"

# Whether a widget allows an origin: None when the widget is unknown.
OriginCheck = Callable[[uuid.UUID, str, str | None], Awaitable[bool | None]]


def allow(scope: Scope, origin: str) -> None:
    """Mark this request's Origin as allowed: its response will carry it."""
    scope.setdefault("state", {})[_STATE_KEY] = origin


def cors_headers(origin: bytes) -> list[tuple[bytes, bytes]]:
    return [
        (b"access-control-allow-origin", origin),
        (b"access-control-expose-headers", EXPOSE),
        (b"vary", b"Origin"),
    ]


class VisitorCORS:
    def __init__(self, app: ASGIApp, *, origin_check: OriginCheck) -> None:
        self.app = app
        self.origin_check = origin_check

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        match = VISITOR_PATH.match(scope["path"])
        if match is None:
            await self.app(scope, receive, send)
            return
        origin = preflight = None
        for name, value in scope["headers"]:
            if name == b"origin":
                origin = value
            elif name == b"access-control-request-method":
                preflight = value
        if scope["method"] == "OPTIONS" and origin is not None and preflight is not None:
            await self._preflight(scope, send, origin, match.group("wid"))
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                allowed = scope.get("state", {}).get(_STATE_KEY)
                if (
                    allowed is not None
                    and origin is not None
                    and allowed == origin.decode("latin-1")
                ):
                    headers.extend(cors_headers(origin))
                else:
                    headers.append((b"vary", b"Origin"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _preflight(
        self, scope: Scope, send: Send, origin: bytes, widget_id: str | None
    ) -> None:
        """Widget paths ask the widget; conversation paths echo, their route refuses (403)."""
        text = origin.decode("latin-1")
        allowed: bool | None = True
        if widget_id is not None:
            try:
                wid = uuid.UUID(widget_id)
            except ValueError:
                wid = None
            if wid is not None:
                host = next(
                    (v.decode("latin-1") for n, v in scope["headers"] if n == b"host"), None
                )
                allowed = await self.origin_check(wid, text, host)
        headers = [(b"vary", b"Origin"), (b"content-length", b"0")]
        if allowed is not False:
            headers += [
                (b"access-control-allow-origin", origin),
                (b"access-control-allow-methods", METHODS),
                (b"access-control-allow-headers", HEADERS),
                (b"access-control-max-age", b"600"),
            ]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
