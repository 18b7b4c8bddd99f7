"""The public config served before the framework: cached, pre-serialized bytes.

Every page view of every site that embeds a widget asks for its public config, so this path
skips routing, dependencies and validation. It only answers when the config is already in
the widget cache; a miss (first request, after a change) falls through to the normal route,
which loads and caches it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from porch.observability.metrics import Metrics
from porch.security.cors import cors_headers
from porch.widgets.cache import WidgetCache

_PATH = re.compile(r"^/api/v1/widgets/([0-9a-fA-F-]{32,36})/public$")
ROUTE = "/api/v1/widgets/{widget_id}/public"
_VARY = [(b"vary", b"Origin")]


class PublicConfigFastPath:
    def __init__(
        self,
        app: ASGIApp,
        *,
        cache: Callable[[], WidgetCache | None],
        metrics: Metrics,
        extra_headers: list[tuple[bytes, bytes]],
    ) -> None:
        self.app = app
        self.cache = cache
        self.requests = metrics.requests
        self.extra_headers = extra_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        match = _PATH.match(scope["path"])
        cache = self.cache() if match else None
        config = cache.peek(_uuid(match.group(1))) if cache is not None and match else None
        if config is None:
            await self.app(scope, receive, send)
            return
        etag = config.etag.encode()
        request_id, if_none_match, origin, host = b"", b"", None, None
        for name, value in scope["headers"]:
            if name == b"if-none-match":
                if_none_match = value
            elif name == b"x-request-id" and 0 < len(value) <= 128 and value.isascii():
                request_id = value
            elif name == b"origin":
                origin = value.decode("latin-1")
            elif name == b"host":
                host = value.decode("latin-1")
        if not config.allows_origin(origin, host):
            await self.app(scope, receive, send)  # the route refuses it, in the error shape
            return
        status = 304 if if_none_match == etag else 200
        body = b"" if status == 304 or scope["method"] == "HEAD" else config.public_json
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(config.public_json) if status == 200 else 0).encode()),
            (b"etag", etag),
            (b"cache-control", b"public, max-age=30, must-revalidate"),
            (b"x-request-id", request_id or uuid.uuid4().hex.encode()),
            *self.extra_headers,
        ]
        # The exact Origin, only once allowed above; never "*" (see security/cors.py).
        headers += cors_headers(origin.encode("latin-1")) if origin else _VARY
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        self.requests.labels(scope["method"], ROUTE, str(status)).inc()


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None
