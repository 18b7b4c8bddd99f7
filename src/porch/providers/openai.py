"""Chat completions on any OpenAI-compatible server (OpenAI, Ollama, vLLM, llama.cpp), streamed.

The SDK sends the request (auth, headers, base URL, status errors) and we read the SSE
lines ourselves with orjson. CPU per 50-token reply, fake server in another process, an
8-message prompt (tests/fakes/openai_server.py, medians of 3 on a noisy 2-core machine):

    chat.completions.create(stream=True), pydantic chunk per token     ~8.4 ms
    with_streaming_response.create() + orjson lines                     ~3.0 ms
    client.post(stream=True) + orjson lines                             ~1.6 ms
    client.post(stream=True) + orjson lines, aiohttp transport          ~1.0 ms

`create()` runs the SDK's TypedDict transform over every message (~1.1 ms alone for
eight messages) and builds a pydantic model per chunk; `client.post` skips both.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator
from typing import Any

import httpx2
import openai

from porch.providers.base import CompletionRequest, ProviderError, StreamEvent, TextDelta, Usage
from porch.providers.wire import (
    bad_stream,
    drain,
    estimate_usage,
    fast_http_client,
    load_event,
    status_error,
    transport_error,
)

DEFAULT_MODEL = "gpt-4o-mini"
# Local servers (Ollama, llama.cpp) take no key but the SDK demands one; OpenAI itself
# answers a placeholder with 401, which says what is wrong better than a start-up crash.
_NO_KEY = "not-set"


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

    async def stream(self, request: CompletionRequest) -> AsyncGenerator[StreamEvent, None]:
        try:
            response = await self._client.post(
                "/chat/completions",
                body=self._payload(request),
                cast_to=object,
                stream=True,
                stream_cls=openai.AsyncStream[object],
            )
        except openai.APIStatusError as exc:
            raise status_error(
                exc.status_code, exc.message, exc.response.headers, exc.code
            ) from exc
        except openai.APIError as exc:
            raise transport_error(exc, self._provider) from exc
        chars = 0
        usage: Usage | None = None
        async with response:
            lines = response.response.aiter_lines()
            try:
                async for line in lines:
                    # Blank lines end events; `:` comments and other fields carry nothing for us.
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        yield usage or estimate_usage(request.system, request.turns, chars)
                        await drain(lines)
                        return
                    chunk = load_event(data, self._provider)
                    choices = chunk.get("choices")
                    if choices:
                        text = (choices[0].get("delta") or {}).get("content")
                        if text:
                            chars += len(text)
                            yield TextDelta(text)
                    elif chunk.get("error"):
                        raise _stream_error(chunk["error"])
                    if chunk.get("usage"):
                        usage = Usage(
                            chunk["usage"].get("prompt_tokens") or 0,
                            chunk["usage"].get("completion_tokens") or 0,
                        )
            except httpx2.HTTPError as exc:
                raise transport_error(exc, self._provider) from exc
        raise bad_stream(self._provider, "it ended before [DONE]")


def _stream_error(error: Any) -> ProviderError:
    message = error.get("message") if isinstance(error, dict) else None
    return ProviderError("provider_error", f"error in stream: {message or error}")
