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
import orjson

from porch.providers.base import (
    CompletionRequest,
    ProviderError,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCalls,
    ToolRound,
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
        messages.extend(_round_messages(request.rounds))
        payload: dict[str, Any] = {
            "model": self._model,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
            "temperature": request.temperature,
            self._max_tokens_field: request.max_tokens,
        }
        if request.tools:
            payload["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": tool.name,
                        "description": tool.description,
                        "parameters": dict(tool.parameters),
                    },
                }
                for tool in request.tools
            ]
            if not request.may_call_tools:
                payload["tool_choice"] = "none"
        return payload

    def stream(self, request: CompletionRequest) -> AsyncGenerator[StreamEvent, None]:
        decoder = _Chunks(self._provider, request.system, request.turns)
        return stream_events(
            self._client, "/chat/completions", self._payload(request), _SDK, self._provider, decoder
        )


def _round_messages(rounds: Sequence[ToolRound]) -> list[dict[str, Any]]:
    """Each round as OpenAI replays it: the assistant's tool_calls, then one `tool` message each."""
    messages: list[dict[str, Any]] = []
    for done in rounds:
        calls = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for call in done.calls
        ]
        messages.append({"role": "assistant", "content": done.text or None, "tool_calls": calls})
        messages.extend(
            {"role": "tool", "tool_call_id": result.call_id, "content": result.content}
            for result in done.results
        )
    return messages


class _Chunks:
    """Reads chat-completion chunks: text deltas, tool calls, then usage (or an estimate)."""

    __slots__ = (
        "_calls",
        "_provider",
        "_sent_calls",
        "_system",
        "_turns",
        "chars",
        "done",
        "usage",
    )

    def __init__(self, provider: str, system: str, turns: Sequence[Turn]) -> None:
        self._provider = provider
        self._system = system
        self._turns = turns
        self.chars = 0
        self.usage: Usage | None = None
        self.done = False
        # Tool calls arrive in pieces keyed by `index`: id and name first, arguments in parts.
        self._calls: dict[int, list[str]] = {}
        self._sent_calls = False

    def feed(self, data: str) -> StreamEvent | None:
        if data == "[DONE]":
            self.done = True
            if self._calls and not self._sent_calls:
                return self._tool_calls()  # a server that sent no finish_reason
            return self.usage or estimate_usage(self._system, self._turns, self.chars)
        chunk = load_event(data, self._provider)
        item: StreamEvent | None = None
        choices = chunk.get("choices")
        if choices:
            delta = choices[0].get("delta") or {}
            text = delta.get("content")
            if text:
                self.chars += len(text)
                item = TextDelta(text)
            for part in delta.get("tool_calls") or ():
                self._add_call_part(part)
            if choices[0].get("finish_reason") and self._calls and not self._sent_calls:
                item = self._tool_calls()
        elif chunk.get("error"):
            raise _stream_error(chunk["error"])
        if chunk.get("usage"):
            self.usage = Usage(
                chunk["usage"].get("prompt_tokens") or 0,
                chunk["usage"].get("completion_tokens") or 0,
            )
        return item

    def whole(self, reply: dict[str, Any]) -> list[StreamEvent]:
        self.done = True
        message = ((reply.get("choices") or [{}])[0]).get("message") or {}
        events: list[StreamEvent] = []
        if message.get("content"):
            self.chars += len(message["content"])
            events.append(TextDelta(str(message["content"])))
        for index, call in enumerate(message.get("tool_calls") or ()):
            self._add_call_part({"index": index, **call})
        if self._calls:
            events.append(self._tool_calls())
        usage = reply.get("usage") or {}
        if usage:
            self.usage = Usage(usage.get("prompt_tokens") or 0, usage.get("completion_tokens") or 0)
        events.append(self.usage or estimate_usage(self._system, self._turns, self.chars))
        return events

    def _add_call_part(self, part: dict[str, Any]) -> None:
        # Servers that send a call whole (Ollama, some vLLM versions) give it in one part.
        slot = self._calls.setdefault(int(part.get("index") or 0), ["", "", ""])
        function = part.get("function") or {}
        slot[0] = part.get("id") or slot[0]
        slot[1] = function.get("name") or slot[1]
        args = function.get("arguments") or ""
        # A few servers send the arguments as an object rather than JSON text.
        text = args if isinstance(args, str) else orjson.dumps(args).decode()
        slot[2] += text
        self.chars += len(text)

    def _tool_calls(self) -> ToolCalls:
        self._sent_calls = True
        calls = tuple(
            ToolCall(call_id or f"call_{index}", name, args or "{}")
            for index, (call_id, name, args) in sorted(self._calls.items())
        )
        return ToolCalls(calls)


def _stream_error(error: Any) -> ProviderError:
    message = error.get("message") if isinstance(error, dict) else None
    return ProviderError("provider_error", f"error in stream: {message or error}")
