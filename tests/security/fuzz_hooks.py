"""Schemathesis hooks (SCHEMATHESIS_HOOKS=tests.security.fuzz_hooks): every 4xx is in the
API's error shape, {"error": {"code", "message", "request_id"}}, and about half the
generated cases carry a NUL in one of their strings."""

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


# PostgreSQL refuses a NUL in text and generated strings rarely hold one, so about half the
# cases carry one at the end of a string of their body or query (the rest are left as
# generated). Lone surrogates, the other text no database takes, are left to
# tests/security/test_text_fields.py: schemathesis cannot encode them itself.


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, str):
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _leaves(v, (*path, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _leaves(v, (*path, i))]
    return []


def _with_nul(value: Any, path: tuple[Any, ...]) -> Any:
    if not path:
        return f"{value}\x00" if isinstance(value, str) else value
    head, rest = path[0], path[1:]
    copy: Any = dict(value) if isinstance(value, dict) else list(value)
    copy[head] = _with_nul(copy[head], rest)
    return copy


def _spike(value: Any) -> Any:
    import hypothesis.strategies as st

    leaves = _leaves(value)
    if not leaves:
        return st.just(value)
    return st.one_of(st.just(value), st.sampled_from(leaves).map(lambda p: _with_nul(value, p)))


@schemathesis.hook
def flatmap_body(ctx: Any, body: Any) -> Any:
    return _spike(body)


@schemathesis.hook
def flatmap_query(ctx: Any, query: Any) -> Any:
    return _spike(query)


# The import routes take JSON Lines (application/jsonl); schemathesis has no serializer for
# it, so generated values are sent one JSON document per line, as clients send them.
@schemathesis.serializer("application/jsonl")
def jsonl(ctx: Any, value: Any) -> bytes:
    rows = value if isinstance(value, list) else [value]
    return b"".join(json.dumps(row).encode() + b"\n" for row in rows)
