"""Schemathesis hooks (SCHEMATHESIS_HOOKS=tests.security.fuzz_hooks): every 4xx is in the
API's error shape, {"error": {"code", "message", "request_id"}}."""

from __future__ import annotations

import json
from typing import Any

import schemathesis


@schemathesis.check
def error_shape(ctx: Any, response: Any, case: Any) -> None:
    if not 400 <= response.status_code < 500:
        return
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        raise AssertionError(f"{response.status_code} body is not JSON") from None
    error = body.get("error") if isinstance(body, dict) else None
    if not (
        isinstance(error, dict)
        and isinstance(error.get("code"), str)
        and error["code"]
        and isinstance(error.get("message"), str)
        and "request_id" in error
    ):
        raise AssertionError(f"{response.status_code} body is not in the error shape: {body!r}")
