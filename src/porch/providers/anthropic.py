"""Anthropic's Messages API, streamed.

As in openai.py, the SDK sends the request and we read the SSE lines with orjson. CPU per
50-token reply against tests/fakes/anthropic_server.py in another process (8-message
prompt, medians of 3): `messages.create(stream=True)` with its pydantic events ~2.5 ms;
`with_streaming_response` + orjson ~1.6 ms; `client.post(stream=True)` + orjson ~1.5 ms,
~1.1 ms on the SDK's aiohttp transport.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, Sequence
from typing import Any

import anthropic
import httpx2

from porch.providers.base import (
    CompletionRequest,
    ProviderError,
    StreamEvent,
    TextDelta,
    Turn,
    Usage,
)
from porch.providers.wire import (
    bad_stream,
    drain,
    estimate_tokens,
    fast_http_client,
    load_event,
    status_error,
    transport_error,
)

DEFAULT_MODEL = "claude-3-5-haiku-latest"
_NO_KEY = "not-set"  # the vendor's 401 says more than the SDK's start-up error

# In-stream `error` events carry a type instead of a status.
_STREAM_ERRORS: dict[str, tuple[str, bool]] = {
    "rate_limit_error": ("provider_rate_limited", True),
    "overloaded_error": ("provider_error", True),
    "api_error": ("provider_error", True),
    "invalid_request_error": ("provider_bad_request", False),
    "authentication_error": ("provider_auth_failed", False),
    "permission_error": ("provider_auth_failed", False),
}


def make_client(
    base_url: str | None, api_key: str | None, timeout: float
) -> anthropic.AsyncAnthropic:
    """One pooled client per endpoint; the SDK's own retries are off (ResilientModel retries)."""
    return anthropic.AsyncAnthropic(
        base_url=base_url,
        api_key=api_key or os.environ.get("ANTHROPIC_API_KEY") or _NO_KEY,
        timeout=timeout,
        max_retries=0,
        http_client=fast_http_client(anthropic.DefaultAioHttpClient),
    )


class AnthropicChatModel:
    """One Claude model."""

    def __init__(
        self, client: anthropic.AsyncAnthropic, model: str, provider: str = "anthropic"
    ) -> None:
        self._client = client
        self._model = model
        self._provider = provider

    @property
    def provider(self) -> str:
        return self._provider

    @property
    def model(self) -> str:
        return self._model

    def _payload(self, request: CompletionRequest) -> dict[str, Any]:
        # No temperature: the current Messages API (and SDK) no longer take one.
        payload: dict[str, Any] = {
            "model": self._model,
            "max_tokens": request.max_tokens,
            "messages": _alternating(request.turns),
            "stream": True,
        }
        if request.system:
            payload["system"] = request.system
        return payload

    async def stream(self, request: CompletionRequest) -> AsyncGenerator[StreamEvent, None]:
        try:
            response = await self._client.post(
                "/v1/messages",
                body=self._payload(request),
                cast_to=object,
                stream=True,
                stream_cls=anthropic.AsyncStream[object],
            )
        except anthropic.APIStatusError as exc:
            raise status_error(
                exc.status_code, exc.message, exc.response.headers, exc.type
            ) from exc
        except anthropic.APIError as exc:
            raise transport_error(exc, self._provider) from exc
        prompt_tokens: int | None = None
        completion_tokens: int | None = None
        chars = 0
        async with response:
            lines = response.response.aiter_lines()
            try:
                async for line in lines:
                    # The `event:` line repeats the payload's `type`; only `data:` matters.
                    if not line.startswith("data:"):
                        continue
                    event = load_event(line[5:].strip(), self._provider)
                    kind = event.get("type")
                    if kind == "content_block_delta":
                        text = (event.get("delta") or {}).get("text")
                        if text:
                            chars += len(text)
                            yield TextDelta(text)
                    elif kind == "message_start":
                        usage = (event.get("message") or {}).get("usage") or {}
                        prompt_tokens = usage.get("input_tokens")
                    elif kind == "message_delta":
                        completion_tokens = (event.get("usage") or {}).get("output_tokens")
                    elif kind == "message_stop":
                        prompt = prompt_tokens
                        if prompt is None:
                            prompt = _estimate_prompt(request.system, request.turns)
                        if completion_tokens is None:
                            completion_tokens = estimate_tokens(chars)
                        yield Usage(prompt, completion_tokens)
                        await drain(lines)
                        return
                    elif kind == "error":
                        raise _stream_error(event.get("error"))
            except httpx2.HTTPError as exc:
                raise transport_error(exc, self._provider) from exc
        raise bad_stream(self._provider, "it ended before message_stop")


def _alternating(turns: Sequence[Turn]) -> list[dict[str, str]]:
    """Messages must start with the user and alternate; merge or drop turns that do not."""
    messages: list[dict[str, str]] = []
    for turn in turns:
        if not messages and turn.role != "user":
            continue  # e.g. the widget's greeting
        if messages and messages[-1]["role"] == turn.role:
            messages[-1]["content"] += "\n\n" + turn.content
        else:
            messages.append({"role": turn.role, "content": turn.content})
    return messages


def _estimate_prompt(system: str, turns: Sequence[Turn]) -> int:
    return estimate_tokens(len(system) + sum(len(turn.content) for turn in turns))


def _stream_error(error: Any) -> ProviderError:
    kind = error.get("type") if isinstance(error, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    code, retryable = _STREAM_ERRORS.get(str(kind), ("provider_error", True))
    return ProviderError(code, f"error in stream: {message or kind or error}", retryable=retryable)
