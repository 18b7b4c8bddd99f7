"""Chat completions on any OpenAI-compatible server (OpenAI, Ollama, vLLM, llama.cpp), streamed.

The SDK sends the request (auth, headers, base URL, status errors) and we read the SSE
lines ourselves with orjson (the loop is shared with anthropic.py, in stream.py). CPU per
50-token reply, fake server in another process, an 8-message prompt
(tests/fakes/openai_server.py, medians of 3 on a noisy 2-core machine):

    chat.completions.create(stream=True), pydantic chunk per token     ~8.4 ms
    with_streaming_response.create() + orjson lines                     ~3.0 ms
    client.post(stream=True) + orjson lines                             ~1.6 ms
    client.post(stream=True) + orjson lines, aiohttp transport          ~1.0 ms

`create()` runs the SDK's TypedDict transform over every message (~1.1 ms alone for
eight messages) and builds a pydantic model per chunk; `client.post` skips both.

This module imports the SDK (about 1 s here), so the registry imports it only when an
OpenAI model is first asked for.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, Sequence
from typing import Any

import openai

from porch.providers.base import (
    CompletionRequest,
    ProviderError,
    StreamEvent,
    TextDelta,
    Turn,
    Usage,
)
from porch.providers.stream import Sdk, stream_events
from porch.providers.wire import estimate_usage, fast_http_client, load_event

# Local servers (Ollama, llama.cpp) take no key but the SDK demands one; OpenAI itself
# answers a placeholder with 401, which says what is wrong better than a start-up crash.
_NO_KEY = "not-set"
_SDK = Sdk(
    stream_cls=openai.AsyncStream[object],
    status_error=openai.APIStatusError,
    api_error=openai.APIError,
    kind_attribute="code",
    end_marker="[DONE]",
)


def make_client(base_url: str | None, api_key: str | None, timeout: float) -> openai.AsyncOpenAI:
    """One pooled client per endpoint; the SDK's own retries are off (ResilientModel retries)."""
    return openai.AsyncOpenAI(
        base_url=base_url,
        api_key=api_key or os.environ.get("OPENAI_API_KEY") or _NO_KEY,
        timeout=timeout,
        max_retries=0,
        http_client=fast_http_client(openai.DefaultAioHttpClient),
    )


class OpenAIChatModel:
    """One model behind an OpenAI-compatible endpoint."""

    def __init__(self, client: openai.AsyncOpenAI, model: str, provider: str = "openai") -> None:
        self._client = client
        self._model = model
        self._provider = provider
        # OpenAI's newer models refuse `max_tokens`; compatible servers may not know the new name.
        official = client.base_url.host == "api.openai.com"
        self._max_tokens_field = "max_completion_tokens" if official else "max_tokens"

    @property
    def provider(self) -> str:
        return self._provider

    @property
    def model(self) -> str:
        return self._model

    def _payload(self, request: CompletionRequest) -> dict[str, Any]:
        messages = [{"role": "system", "content": request.system}] if request.system else []
        messages.extend({"role": turn.role, "content": turn.content} for turn in request.turns)
        return {
            "model": self._model,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
            "temperature": request.temperature,
            self._max_tokens_field: request.max_tokens,
        }

    def stream(self, request: CompletionRequest) -> AsyncGenerator[StreamEvent, None]:
        decoder = _Chunks(self._provider, request.system, request.turns)
        return stream_events(
            self._client, "/chat/completions", self._payload(request), _SDK, self._provider, decoder
        )


class _Chunks:
    """Reads chat-completion chunks: text deltas, then usage (or an estimate) at [DONE]."""

    __slots__ = ("_provider", "_system", "_turns", "chars", "done", "usage")

    def __init__(self, provider: str, system: str, turns: Sequence[Turn]) -> None:
        self._provider = provider
        self._system = system
        self._turns = turns
        self.chars = 0
        self.usage: Usage | None = None
        self.done = False

    def feed(self, data: str) -> StreamEvent | None:
        if data == "[DONE]":
            self.done = True
            return self.usage or estimate_usage(self._system, self._turns, self.chars)
        chunk = load_event(data, self._provider)
        item: StreamEvent | None = None
        choices = chunk.get("choices")
        if choices:
            text = (choices[0].get("delta") or {}).get("content")
            if text:
                self.chars += len(text)
                item = TextDelta(text)
        elif chunk.get("error"):
            raise _stream_error(chunk["error"])
        if chunk.get("usage"):
            self.usage = Usage(
                chunk["usage"].get("prompt_tokens") or 0,
                chunk["usage"].get("completion_tokens") or 0,
            )
        return item


def _stream_error(error: Any) -> ProviderError:
    message = error.get("message") if isinstance(error, dict) else None
    return ProviderError("provider_error", f"error in stream: {message or error}")
