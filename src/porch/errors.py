"""The error types porch raises and the one handler that renders them as API.md says."""

from __future__ import annotations

import re
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "rate_limited",
    503: "unavailable",
}


class PorchError(Exception):
    """An error with a status, a stable snake_case code and a message fit for a person."""

    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        details: Any = None,
        fields: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        # Named beside code and message in the error object (`existing_id` of a duplicate).
        self.fields = fields or {}
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.headers = headers or {}
        self.details = details


class BadRequest(PorchError):
    status, code = 400, "bad_request"


class Unauthorized(PorchError):
    status, code = 401, "unauthorized"


class Forbidden(PorchError):
    status, code = 403, "forbidden"


class NotFound(PorchError):
    status, code = 404, "not_found"


class Conflict(PorchError):
    status, code = 409, "conflict"


class PayloadTooLarge(PorchError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(PorchError):
    status, code = 415, "unsupported_media_type"


class Unprocessable(PorchError):
    status, code = 422, "unprocessable"


class RateLimited(PorchError):
    status, code = 429, "rate_limited"

    def __init__(
        self,
        message: str,
        *,
        retry_after: int,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        merged = {"Retry-After": str(max(1, retry_after)), **(headers or {})}
        super().__init__(message, code=code, headers=merged)
        self.retry_after = max(1, retry_after)


class Unavailable(PorchError):
    status, code = 503, "unavailable"

    def __init__(self, message: str, *, retry_after: int = 5, code: str | None = None) -> None:
        super().__init__(message, code=code, headers={"Retry-After": str(retry_after)})


# The routes of the systems porch replaces (chat/compat*.py). Their clients read `error` as
# a string (Spur's `{"error": "Message cannot be empty"}`), so errors there put the human
# message in `error` and porch's code beside it. Matched on the path, not the route, so the
# refusals that middleware sends before any route runs (413, 503) take the same shape.
_COMPAT_PATH = re.compile(
    r"^/(?:chat/(?:message|history/[^/]*)|api/(?:chat|config|widget-config|environment|health))$"
)


def is_compat_path(path: str) -> bool:
    return _COMPAT_PATH.match(path) is not None


def request_id_of(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", ""))


def error_body(
    code: str,
    message: str,
    request_id: str,
    details: Any = None,
    *,
    compat: bool = False,
    fields: dict[str, Any] | None = None,
) -> bytes:
    if compat:
        flat: dict[str, Any] = {"error": message, "code": code, "request_id": request_id}
        if details is not None:
            flat["details"] = details
        return orjson.dumps(flat)
    error: dict[str, Any] = {
        **(fields or {}),
        "code": code,
        "message": message,
        "request_id": request_id,
    }
    if details is not None:
        error["details"] = details
    return orjson.dumps({"error": error})


def error_response(
    status: int,
    code: str,
    message: str,
    request_id: str,
    headers: dict[str, str] | None = None,
    details: Any = None,
    *,
    compat: bool = False,
    fields: dict[str, Any] | None = None,
) -> Response:
    return Response(
        error_body(code, message, request_id, details, compat=compat, fields=fields),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def _reply(
    request: Request,
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
    details: Any = None,
    fields: dict[str, Any] | None = None,
) -> Response:
    """The error in the shape the route's clients read (see `_COMPAT_PATH`)."""
    compat = is_compat_path(request.scope.get("path", ""))
    return error_response(
        status,
        code,
        message,
        request_id_of(request),
        headers,
        details,
        compat=compat,
        fields=fields,
    )


def _describe(err: dict[str, Any]) -> str:
    where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
    return f"{where}: {err.get('msg', 'invalid')}" if where else str(err.get("msg", "invalid"))


async def _porch_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PorchError)
    return _reply(request, exc.status, exc.code, exc.message, exc.headers, exc.details, exc.fields)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return _reply(request, 400, "malformed_json", "The request body is not valid JSON.")
    details = [
        {
            "field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"),
            "message": str(e.get("msg", "")),
        }
        for e in errors
    ]
    message = "; ".join(_describe(e) for e in errors[:5])
    return _reply(request, 400, "validation_error", message or "Invalid request.", details=details)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _STATUS_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    if exc.status_code == 404 and message == "Not Found":
        message = "No such route."
    return _reply(request, exc.status_code, code, message, dict(exc.headers or {}))


DATABASE_RETRY_AFTER = 2


def is_database_unavailable(exc: BaseException) -> bool:
    """A lost or refused database connection (a restart, a failover), or a SQLite file whose
    write lock stayed taken past busy_timeout: a moment's unavailability, not a bad statement."""
    from sqlalchemy import exc as sa_exc

    if isinstance(exc, sa_exc.TimeoutError):  # the pool had no connection to give in time
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated or isinstance(exc, sa_exc.InterfaceError):
            return True
        exc = exc.orig if exc.orig is not None else exc
    # The driver's own error hides behind SQLAlchemy's adapted one: follow the causes.
    seen: BaseException | None = exc
    for _ in range(4):
        if seen is None:
            break
        if isinstance(seen, ConnectionError | TimeoutError):
            return True
        if type(seen).__name__ in _LOST_CONNECTION:
            return True
        if type(seen).__name__ == "OperationalError" and "database is locked" in str(seen):
            return True
        seen = seen.__cause__
    return False


# asyncpg's and aiosqlite's names for a connection that is gone or refused.
_LOST_CONNECTION = frozenset(
    {
        "ConnectionDoesNotExistError",
        "CannotConnectNowError",
        "ConnectionFailureError",
        "ConnectionRejectionError",
        "TooManyConnectionsError",
        "InterfaceError",
        "InternalClientError",
    }
)


async def _database_error(request: Request, exc: Exception) -> Response:
    if not is_database_unavailable(exc):
        return await _unexpected(request, exc)
    import structlog

    structlog.get_logger("porch.errors").warning("database_unavailable", error=type(exc).__name__)
    return _reply(
        request,
        503,
        "database_unavailable",
        "The database is unreachable for a moment; please retry shortly.",
        {"Retry-After": str(DATABASE_RETRY_AFTER)},
    )


async def _unexpected(request: Request, exc: Exception) -> Response:
    import structlog

    structlog.get_logger("porch.errors").exception("unhandled_error", exc_type=type(exc).__name__)
    return _reply(request, 500, "internal_error", "Something went wrong on our side.")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(PorchError, _porch_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    from sqlalchemy import exc as sa_exc

    for kind in (sa_exc.DBAPIError, sa_exc.TimeoutError, ConnectionError, TimeoutError, OSError):
        app.add_exception_handler(kind, _database_error)
    app.add_exception_handler(Exception, _unexpected)
