"""What the HTTP adapters share: error mapping, Retry-After, token estimates, the transport."""

from __future__ import annotations

import email.utils
import math
import os
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

import httpx2
import orjson

from porch.providers.base import ProviderError, Turn, Usage

_PROXY_VARIABLES = (
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
)


def status_error(
    status: int, message: str, headers: Mapping[str, str], code: str | None = None
) -> ProviderError:
    """Map a vendor's HTTP error to a ProviderError that says whether retrying may help."""
    detail = f"HTTP {status}: {message}"
    if status in (401, 403):
        return ProviderError("provider_auth_failed", detail, retryable=False, status=status)
    if status == 404:
        return ProviderError("provider_not_found", detail, retryable=False, status=status)
    if status == 408:
        return ProviderError("provider_timeout", detail, status=status)
    if status == 429:
        # OpenAI answers 429 for an exhausted balance too; waiting does not refill it.
        if code == "insufficient_quota":
            return ProviderError("provider_quota_exceeded", detail, retryable=False, status=status)
        return ProviderError(
            "provider_rate_limited", detail, retry_after=retry_after(headers), status=status
        )
    if status == 409 or status >= 500:
        return ProviderError(
            "provider_error", detail, retry_after=retry_after(headers), status=status
        )
    return ProviderError("provider_bad_request", detail, retryable=False, status=status)


def transport_error(exc: BaseException, vendor: str) -> ProviderError:
    """Map a network failure (no HTTP status) to a retryable ProviderError."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, httpx2.TimeoutException | TimeoutError):
            return ProviderError("provider_timeout", f"{vendor} did not answer in time")
        cause = cause.__cause__
    return ProviderError("provider_error", f"lost the connection to {vendor}: {exc!s:.200}")


def bad_stream(vendor: str, why: str) -> ProviderError:
    return ProviderError("provider_bad_stream", f"{vendor} sent a malformed stream: {why}")


def load_event(data: str, vendor: str) -> dict[str, Any]:
    """Parse one SSE `data:` payload, which must be a JSON object."""
    try:
        event = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise bad_stream(vendor, f"invalid JSON ({exc})") from exc
    if not isinstance(event, dict):
        raise bad_stream(vendor, "an event is not a JSON object")
    return event


async def drain(lines: AsyncIterator[str]) -> None:
    """Read to the end of a finished stream, so the connection goes back to the pool."""
    try:
        async for _ in lines:
            pass
    except httpx2.HTTPError:
        pass  # the reply is complete; a late network error changes nothing


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from `retry-after-ms` or `Retry-After` (seconds or an HTTP date)."""
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(0.0, float(value) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_tz(value)
        return max(0.0, email.utils.mktime_tz(parsed) - time.time()) if parsed else None


def estimate_tokens(chars: int) -> int:
    """About four characters a token: for servers that report no usage."""
    return math.ceil(chars / 4)


def estimate_usage(system: str, turns: Sequence[Turn], completion_chars: int) -> Usage:
    prompt_chars = len(system) + sum(len(turn.content) for turn in turns)
    return Usage(estimate_tokens(prompt_chars), estimate_tokens(completion_chars))


def fast_http_client(factory: Callable[[], httpx2.AsyncClient]) -> httpx2.AsyncClient | None:
    """The SDK's aiohttp transport when it can be used, else None for the SDK's own httpx2 one.

    Measured on 50-token replies (tests/fakes, see openai.py), aiohttp's C parser saves
    about 0.5 ms of CPU per reply over httpx2's pure-Python h11. It ignores proxy
    variables, so a configured proxy keeps httpx2, which honours them.
    """
    if any(os.environ.get(name) for name in _PROXY_VARIABLES):
        return None
    try:
        return factory()
    except RuntimeError:  # aiohttp is not installed: the SDK refuses its aiohttp client
        return None
