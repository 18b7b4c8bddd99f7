"""CORS for the visitor routes: the exact Origin, echoed only when the widget allows it.

Starlette's CORSMiddleware knows one list of origins for the whole app; here each widget
has its own. It never sends `*` and never `Access-Control-Allow-Credentials`: visitor routes
authenticate with bearer tokens, not cookies. Owner routes get no CORS headers: the
dashboard is same-origin, and automation does not run in other sites' browsers.

Who decides. Once a route knows the widget, the route does (chat/visitor/dependencies.py marks the
request with `allow(scope, origin)` or `refuse(scope)`). A reply that leaves before that
(a malformed body, a missing visitor token, the body limit's 413, the drain's 503) is decided
here, by the widget the request names: in its path, through the conversation or message in
its path, in `agentId`/`widgetId` in the query, or, on the compatibility routes, the default
widget that answers them. An allowed origin can therefore read every error, and an origin
that is not allowed reads none. When porch cannot tell which widget a request is for (an
unknown id, no widget yet) there is no origin list to keep anyone from, and the error stays
readable. A success never falls back: a visitor route that forgot its origin check stays
unreadable rather than open.

Two layers: `VisitorCORS` sits outside every layer that can answer on its own, so what it
adds reaches every reply; `CORSPreflight` answers preflights further in, where they still
get a request id, the security headers and a line in the metrics.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Literal
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from porch.errors import Forbidden

# Paths a widget's browser code (or a page using the compatibility API) calls cross-origin.
VISITOR_PATH = re.compile(
    # /api/widgets… is the same routes' alias (chat/visitor/compat_paths.py).
    r"^/api(?:/v1)?/widgets/(?P<wid>[^/]+)/(?:public|conversations|visitor/.*)$"
    # A bare conversation path: the visitor deletes their own (chat/visitor/erasure.py).
    r"|^/api/v1/(?:conversations/(?P<cid>[^/]+)(?:/messages|/handoff)?"
    r"|messages/(?P<mid>[^/]+)/feedback)$"
    r"|^/(?P<compat>chat/message|chat/history/[^/]+|api/chat|api/config|api/widget-config)$"
)
METHODS = b"GET, POST, DELETE"
HEADERS = (
    b"Authorization, Content-Type, Accept, X-Request-ID, X-Porch-User-Id, X-Porch-User-Hash, "
    b"X-Porch-Identity-Token"
)
EXPOSE = b"X-Request-ID, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset"
_STATE_KEY = "cors_origin"
_REFUSED = ""
# How long an error reply waits for the widget it names to be looked up: the database may be
# the very thing that is failing, and the error must not wait on it.
FALLBACK_TIMEOUT = 0.5

# What a request names: a widget, a conversation, a message, or (compatibility routes that
# name nothing) the default widget; with the id as the request spells it.
Kind = Literal["widget", "conversation", "message", "default"]
# Whether the widget so named allows an origin (origin, Host header): None when unknown.
OriginCheck = Callable[[Kind, str | None, str, str | None], Awaitable[bool | None]]


def allow(scope: Scope, origin: str) -> None:
    """Mark this request's Origin as allowed: its response will carry it."""
    scope.setdefault("state", {})[_STATE_KEY] = origin


def refuse(scope: Scope, origin: str) -> Forbidden:
    """Mark this request's Origin as refused by its widget (no reply to it carries CORS), and
    the 403 to raise: it names the origin and the fix, for whoever reads it with curl or in
    the browser's network panel (the page itself cannot)."""
    scope.setdefault("state", {})[_STATE_KEY] = _REFUSED
    return Forbidden(
        f"This website ({origin[:200]}) is not in the widget's allowed origins; "
        "add it in the porch dashboard.",
        code="origin_not_allowed",
    )


def cors_headers(origin: bytes) -> list[tuple[bytes, bytes]]:
    return [
        (b"access-control-allow-origin", origin),
        (b"access-control-expose-headers", EXPOSE),
        (b"vary", b"Origin"),
    ]


def _headers(scope: Scope) -> tuple[bytes | None, bytes | None, str | None]:
    origin = preflight = host = None
    for name, value in scope["headers"]:
        if name == b"origin":
            origin = value
        elif name == b"access-control-request-method":
            preflight = value
        elif name == b"host":
            host = value.decode("latin-1")
    return origin, preflight, host


def _is_preflight(scope: Scope, origin: bytes | None, preflight: bytes | None) -> bool:
    return scope["method"] == "OPTIONS" and origin is not None and preflight is not None


def named(scope: Scope, match: re.Match[str]) -> tuple[Kind, str | None]:
    """The widget, conversation or message a visitor request names."""
    if match.group("wid") is not None:
        return "widget", match.group("wid")
    if match.group("cid") is not None:
        return "conversation", match.group("cid")
    if match.group("mid") is not None:
        return "message", match.group("mid")
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    for key in ("agentId", "widgetId"):
        if query.get(key):
            return "widget", query[key][0]
    return "default", None


class VisitorCORS:
    """Adds the CORS headers to every reply on a visitor path whose origin may read it."""

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
        origin, preflight, host = _headers(scope)
        if _is_preflight(scope, origin, preflight):
            await self.app(scope, receive, send)  # CORSPreflight answers it
            return
        state = scope.setdefault("state", {})

        async def readable(status: int) -> bool:
            if origin is None:
                return False
            text = origin.decode("latin-1")
            verdict = state.get(_STATE_KEY)
            if verdict is not None:
                return bool(verdict == text)
            if status < 400:
                return False
            kind, ident = named(scope, match)
            try:
                async with asyncio.timeout(FALLBACK_TIMEOUT):
                    return await self.origin_check(kind, ident, text, host) is not False
            except Exception:
                return True  # the widget cannot be looked up now: no list to keep anyone from

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if origin is not None and await readable(message["status"]):
                    headers.extend(cors_headers(origin))
                else:
                    headers.append((b"vary", b"Origin"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_cors)


class CORSPreflight:
    """Answers preflights on visitor paths: widget paths ask the widget; the others echo,
    and their route refuses (403) an origin its widget does not allow."""

    def __init__(self, app: ASGIApp, *, origin_check: OriginCheck) -> None:
        self.app = app
        self.origin_check = origin_check

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "OPTIONS":
            await self.app(scope, receive, send)
            return
        match = VISITOR_PATH.match(scope["path"])
        origin, preflight, host = _headers(scope)
        if match is None or origin is None or not _is_preflight(scope, origin, preflight):
            await self.app(scope, receive, send)
            return
        allowed: bool | None = True
        if match.group("wid") is not None:
            allowed = await self.origin_check(
                "widget", match.group("wid"), origin.decode("latin-1"), host
            )
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
