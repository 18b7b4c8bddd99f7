"""One pure-ASGI middleware for every HTTP request: request id, body limit, metrics, access log.

Written as raw ASGI rather than BaseHTTPMiddleware so that streams pass straight through
and the per-request cost stays a few microseconds.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from porch.errors import error_body, is_compat_path
from porch.observability.metrics import Metrics

log = structlog.get_logger("porch.access")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_QUIET = frozenset({"/health", "/live", "/healthz", "/ready", "/readyz", "/metrics"})


class BodyTooLarge(Exception):
    pass


class RequestContextMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics,
        max_body: int,
        extra_headers: list[tuple[bytes, bytes]],
        large_bodies: tuple[re.Pattern[str], int] | None = None,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body = max_body
        self.extra_headers = extra_headers
        # (path pattern, limit): POST bodies allowed to be bigger there (document uploads).
        self.large_bodies = large_bodies

    def _limit(self, scope: Scope) -> int:
        if self.large_bodies is not None and scope["method"] == "POST":
            pattern, limit = self.large_bodies
            if pattern.fullmatch(scope["path"]):
                return max(limit, self.max_body)
        return self.max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        rid = request_id.encode()
        status = 500
        started = False
        first_byte = 0.0

        max_body = self._limit(scope)
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > max_body:
                await self._too_large(scope, send, rid, max_body)
                self._observe(scope, 413, began)
                return

        received = 0
        refused = False

        async def limited_receive() -> Message:
            nonlocal received, refused, status
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_body:
                    if not started and not refused:
                        # Answer here: the app may catch whatever we raise while parsing.
                        refused, status = True, 413
                        await self._too_large(scope, send, rid, max_body)
                    return {"type": "http.disconnect"}
            return message

        async def send_wrapper(message: Message) -> None:
            nonlocal status, started, first_byte
            if refused:
                return  # the 413 went out already; the app's reply to a cut body is dropped
            if message["type"] == "http.response.start":
                started = True
                first_byte = time.perf_counter()
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid))
                headers.extend(self.extra_headers)
                message = {**message, "headers": headers}
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, limited_receive, send_wrapper)
        except BodyTooLarge:
            if not started and not refused:
                await self._too_large(scope, send, rid, max_body)
            status = 413
        except Exception:
            if not refused:
                raise
        finally:
            structlog.contextvars.unbind_contextvars("request_id")
            self._observe(scope, status, began, first_byte)

    async def _too_large(self, scope: Scope, send: Send, rid: bytes, limit: int) -> None:
        body = error_body(
            "payload_too_large",
            f"The request body is larger than {limit} bytes.",
            rid.decode(),
            compat=is_compat_path(scope["path"]),
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"x-request-id", rid),
                    *self.extra_headers,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _observe(self, scope: Scope, status: int, began: float, first_byte: float = 0.0) -> None:
        elapsed = (first_byte or time.perf_counter()) - began
        route: Any = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        method = scope["method"]
        self.metrics.requests.labels(method, template, str(status)).inc()
        self.metrics.request_seconds.labels(method, template).observe(elapsed)
        if template not in _QUIET:
            log.info(
                "request", method=method, route=template, status=status, ms=round(elapsed * 1000, 2)
            )


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if _SAFE_ID.match(candidate):
                return candidate
            break
    return uuid.uuid4().hex
