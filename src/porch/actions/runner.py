"""Running one action: arguments resolved and checked, the request rendered, sent, projected.

Nothing here touches the database: `calls.py` records what `run` returns. The rendered
request keeps two forms, the one sent and one with every secret masked, and only the
masked one leaves this module.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from porch.actions import templating as tpl
from porch.actions.arguments import Resolved, SignInRequired, Visitor, Where, resolve
from porch.actions.definition import Definition
from porch.actions.outbound import SIGNATURE_HEADER, Outgoing, Received, now, send, signature

DEFAULT_TEXTS = {
    "config": "This can't be done right now: the action is not set up completely.",
    "ssrf_blocked": "This can't be done right now: the service is not reachable from here.",
    "timeout": "The service did not answer in time. Please try again in a moment.",
    "network": "The service could not be reached. Please try again in a moment.",
    "http_4xx": "The service could not find or accept that. Please check the details.",
    "http_5xx": "The service had a problem. Please try again later.",
    "invalid_arguments": "Some details don't look right; please check them.",
    "invalid_response": "The service answered something I could not read.",
    "too_large": "The service's answer was too large to show.",
    "declined": "Okay, I have not done it.",
    "expired": "That confirmation expired, so nothing was done.",
    "limited": "That has been tried too often for now. Please try again later.",
}
SIGN_IN_TEXT = "Please sign in first: I can only do that for a signed-in customer."


@dataclass
class Run:
    """What happened, in the shapes the call log and the API show (secrets masked)."""

    resolved: Resolved
    state: str = "failed"  # succeeded | failed
    error_class: str | None = None
    error: str | None = None
    method: str | None = None
    url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    status: int | None = None
    response: Any = None
    projected: Any = None
    visitor_text: str = ""
    duration_ms: int = 0

    @property
    def sent_arguments(self) -> dict[str, Any]:
        return dict(tpl.mask_value(self.resolved.values, self.resolved.secrets))


def prepare(
    action: Definition,
    proposed: Mapping[str, Any],
    visitor: Visitor,
    where: Where,
    secrets: Mapping[str, str],
) -> Resolved:
    """Arguments resolved; raises SignInRequired."""
    return resolve(action.as_mapping(), proposed, visitor, where, secrets)


def _fail(run: Run, action: Definition, error_class: str, error: str) -> Run:
    run.state, run.error_class, run.error = "failed", error_class, error
    run.visitor_text = action.error_texts.get(error_class) or DEFAULT_TEXTS[error_class]
    return run


def render(action: Definition, run: Run, secrets: Mapping[str, str]) -> Outgoing:
    """The request to send; fills `run` with its masked form. Raises tpl.TemplateError."""
    values = run.resolved.values
    url = tpl.render_url(action.url, values)
    headers = {k: tpl.render_header(v, values) for k, v in action.headers.items()}
    body: bytes | None = None
    if action.body is not None and action.method != "GET":
        body = orjson.dumps(tpl.render_body(action.body, values))
        headers.setdefault("Content-Type", "application/json")
    _authenticate(action.auth, headers, body or b"", secrets, run.resolved.secrets)
    hidden = run.resolved.secrets
    run.method, run.url = action.method, tpl.mask(url, hidden)
    run.headers = {k: tpl.mask(v, hidden) for k, v in headers.items()}
    run.body = tpl.mask(body.decode(), hidden) if body is not None else None
    return Outgoing(action.method, url, headers, body)


def _authenticate(
    auth: Mapping[str, Any],
    headers: dict[str, str],
    body: bytes,
    secrets: Mapping[str, str],
    used: list[str],
) -> None:
    kind = auth.get("type") or "none"
    if kind == "none":
        return
    secret = secrets.get(str(auth.get("secret")))
    if secret is None:
        raise tpl.TemplateError(f"the secret {auth.get('secret')} is not set")
    used.append(secret)
    if kind == "bearer":
        headers["Authorization"] = f"Bearer {secret}"
    elif kind == "basic":
        pair = f"{auth.get('username') or ''}:{secret}".encode()
        encoded = base64.b64encode(pair).decode()
        headers["Authorization"] = f"Basic {encoded}"
        used.append(encoded)
    elif kind == "header":
        headers[str(auth["header"])] = secret
    elif kind == "hmac":
        headers[SIGNATURE_HEADER] = signature(secret, now(), body)


async def run(
    action: Definition,
    resolved: Resolved,
    secrets: Mapping[str, str],
    *,
    allow_private: bool,
) -> Run:
    """Send the call (arguments already resolved and complete) and read what came back."""
    began = time.perf_counter()
    result = Run(resolved)
    try:
        if resolved.errors or resolved.missing:
            problems = {**resolved.errors, **dict.fromkeys(resolved.missing, "is required")}
            text = "; ".join(f"{k} {v}" for k, v in problems.items())
            return _fail(result, action, "invalid_arguments", text)
        try:
            outgoing = render(action, result, secrets)
        except tpl.TemplateError as exc:
            return _fail(result, action, "config", str(exc))
        got = await send(
            outgoing,
            timeout_s=action.timeout_ms / 1000,
            max_bytes=action.max_response_bytes,
            allowed_hosts=action.allowed_hosts,
            allow_private=allow_private,
            retries=action.retries,
        )
        return _read(action, result, got)
    finally:
        result.duration_ms = int((time.perf_counter() - began) * 1000)


def _read(action: Definition, result: Run, got: Received) -> Run:
    result.status = got.status
    hidden = result.resolved.secrets
    if got.error_class is not None:
        if got.body:
            result.response = _decode(got.body, hidden)
        return _fail(result, action, got.error_class, tpl.mask(got.error or "", hidden))
    if not got.body.strip():
        data: Any = {}
    else:
        try:
            data = orjson.loads(got.body)
        except orjson.JSONDecodeError:
            result.response = _decode(got.body, hidden)
            return _fail(result, action, "invalid_response", "the response is not JSON")
    result.response = tpl.mask_value(data, hidden)
    result.projected = tpl.project(result.response, action.response_fields)
    values = {**result.resolved.values, "response": result.projected}
    template = action.result_template or f"Done: {action.title}."
    result.state = "succeeded"
    result.visitor_text = tpl.mask(tpl.render_result(template, values), hidden)
    return result


def _decode(body: bytes, hidden: list[str]) -> str:
    return tpl.mask(body[:2000].decode("utf-8", "replace"), hidden)


__all__ = ["SIGN_IN_TEXT", "Run", "SignInRequired", "Visitor", "Where", "prepare", "run"]
