"""structlog set-up: JSON lines with the request id bound on every line, secrets redacted."""

from __future__ import annotations

import functools
import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

# Field names whose values are secrets, wherever they appear in an event (nested too).
# Whole words: "visitor_token" and "Authorization" go, "prompt_tokens" stays.
_SECRET_KEYS = re.compile(
    r"(?:^|[_\-])(?:password|passwd|secret|token|api_key|apikey|key|authorization|cookie|"
    r"set_cookie|csrf|csrf_token|session|hash|credentials?)$",
    re.I,
)
# Secrets recognisable by their shape inside any string: porch API keys, visitor tokens,
# identity secrets, vendor keys, bearer credentials, cookies, Fernet ciphertexts.
_SECRET_VALUES = re.compile(
    r"(porch_sk_|pv_|pis_|sk-|sk-ant-)[A-Za-z0-9_\-]{6,}"
    r"|((?i:bearer|basic)\s+)[A-Za-z0-9._~+/=\-]{6,}"
    r"|(porch_session=)[^;\s]+"
    r"|gAAAAA[A-Za-z0-9_\-=]{20,}"
)
_REDACTED = "[redacted]"
_MAX_DEPTH = 5


@functools.lru_cache(maxsize=1024)
def _secret_key(name: str) -> bool:
    # Field names repeat (a few dozen in all): decided once each.
    return _SECRET_KEYS.search(name) is not None


def _scrub_text(text: str) -> str:
    if len(text) < 8:  # shorter than any secret shape below: the common case, skipped
        return text

    def keep_prefix(match: re.Match[str]) -> str:
        prefix = match.group(1) or match.group(2) or match.group(3) or ""
        return prefix + _REDACTED

    return _SECRET_VALUES.sub(keep_prefix, text)


def _scrub(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return _scrub_text(value)
    if depth >= _MAX_DEPTH:
        return value
    if isinstance(value, dict):
        return {
            k: _REDACTED if isinstance(k, str) and _secret_key(k) else _scrub(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        # Header lists: [("authorization", "Bearer …"), …]
        if len(value) == 2 and isinstance(value[0], (str, bytes)) and not isinstance(value, list):
            name = value[0].decode("latin-1") if isinstance(value[0], bytes) else value[0]
            if _secret_key(name):
                return (value[0], _REDACTED)
        return type(value)(_scrub(v, depth + 1) for v in value)
    if isinstance(value, BaseException):
        return _scrub_text(str(value))
    return value


def _redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Last processor before rendering: no secret reaches a log line, however it was passed."""
    for key, value in list(event.items()):
        if _secret_key(key):
            event[key] = _REDACTED
        elif isinstance(value, str):
            event[key] = _scrub_text(value)
        elif isinstance(value, (dict, list, tuple, BaseException)):
            event[key] = _scrub(value)
    return event


def processors(json: bool = True) -> list[Any]:
    """The processor chain of every porch log line; redaction runs right before rendering."""
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        _redact,
        renderer,
    ]


def configure(level: str = "info", json: bool = True) -> None:
    numeric = getattr(logging, level.upper(), logging.INFO)
    structlog.configure(
        processors=processors(json),
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(
        level=max(numeric, logging.WARNING),
        stream=sys.stderr,
        format="%(levelname)s %(name)s %(message)s",
    )
