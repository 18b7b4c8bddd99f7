"""Anthropic's Messages API, streamed.

As in openai.py, the SDK sends the request and we read the SSE lines with orjson (the
loop in stream.py). CPU per
50-token reply against tests/fakes/anthropic_server.py in another process (8-message
prompt, medians of 3): `messages.create(stream=True)` with its pydantic events ~2.5 ms;
`with_streaming_response` + orjson ~1.6 ms; `client.post(stream=True)` + orjson ~1.5 ms,
~1.1 ms on the SDK's aiohttp transport. The SDK takes about 1.5 s to import here, so the
registry imports this module only when a Claude model is first asked for.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, Sequence
from typing import Any

import anthropic
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
from porch.providers.wire import estimate_tokens, fast_http_client, load_event

_NO_KEY = "not-set"  # the vendor's 401 says more than the SDK's start-up error
_SDK = Sdk(
    stream_cls=anthropic.AsyncStream[object],
    status_error=anthropic.APIStatusError,
    api_error=anthropic.APIError,
    kind_attribute="type",
    end_marker="message_stop",
)

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
            "messages": [*_alternating(request.turns), *_round_messages(request.rounds)],
            "stream": True,
        }
        if request.system:
            payload["system"] = request.system
        if request.tools:
            payload["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": dict(t.parameters)}
                for t in request.tools
            ]
            if not request.may_call_tools:
                payload["tool_choice"] = {"type": "none"}
        return payload

    def stream(self, request: CompletionRequest) -> AsyncGenerator[StreamEvent, None]:
        decoder = _Events(self._provider, request.system, request.turns)
        return stream_events(
            self._client, "/v1/messages", self._payload(request), _SDK, self._provider, decoder
        )


class _Events:
    """Reads Messages API events: text deltas, tool_use blocks, then usage at message_stop."""

    __slots__ = (
        "_block",
        "_calls",
        "_provider",
        "_system",
        "_turns",
        "chars",
        "completion",
        "done",
        "prompt",
    )

    def __init__(self, provider: str, system: str, turns: Sequence[Turn]) -> None:
        self._provider = provider
        self._system = system
        self._turns = turns
        self.chars = 0
        self.prompt: int | None = None
        self.completion: int | None = None
        self.done = False
        # The tool_use block being read: id, name, its input's JSON text so far, and the
        # input its start event carried (complete already on servers that send no deltas).
        self._block: tuple[str, str, list[str], Any] | None = None
        self._calls: list[ToolCall] = []

    def feed(self, data: str) -> StreamEvent | None:
        # The `event:` line repeats the payload's `type`; only `data:` reaches here.
        event = load_event(data, self._provider)
        kind = event.get("type")
        if kind == "content_block_delta":
            delta = event.get("delta") or {}
            text = delta.get("text")
            if text:
                self.chars += len(text)
                return TextDelta(text)
            partial = delta.get("partial_json")
            if partial and self._block is not None:
                self.chars += len(partial)
                self._block[2].append(partial)
        elif kind == "content_block_start":
            block = event.get("content_block") or {}
            if block.get("type") == "tool_use":
                self._block = (str(block.get("id")), str(block.get("name")), [], block.get("input"))
        elif kind == "content_block_stop":
            if self._block is not None:
                call_id, name, parts, start = self._block
                args = "".join(parts) or (orjson.dumps(start).decode() if start else "{}")
                self._calls.append(ToolCall(call_id, name, args))
                self._block = None
        elif kind == "message_start":
            usage = (event.get("message") or {}).get("usage") or {}
            self.prompt = usage.get("input_tokens")
        elif kind == "message_delta":
            self.completion = (event.get("usage") or {}).get("output_tokens")
            if self._calls:
                calls, self._calls = tuple(self._calls), []
                return ToolCalls(calls)
        elif kind == "message_stop":
            self.done = True
            prompt = self.prompt
            if prompt is None:
                prompt = _estimate_prompt(self._system, self._turns)
            completion = self.completion
            if completion is None:
                completion = estimate_tokens(self.chars)
            return Usage(prompt, completion)
        elif kind == "error":
            raise _stream_error(event.get("error"))
        return None

    def whole(self, reply: dict[str, Any]) -> list[StreamEvent]:
        self.done = True
        events: list[StreamEvent] = []
        calls: list[ToolCall] = []
        for block in reply.get("content") or ():
            if block.get("type") == "text" and block.get("text"):
                self.chars += len(block["text"])
                events.append(TextDelta(str(block["text"])))
            elif block.get("type") == "tool_use":
                args = orjson.dumps(block.get("input") or {}).decode()
                calls.append(ToolCall(str(block.get("id")), str(block.get("name")), args))
        if calls:
            events.append(ToolCalls(tuple(calls)))
        usage = reply.get("usage") or {}
        prompt = usage.get("input_tokens")
        completion = usage.get("output_tokens")
        events.append(
            Usage(
                prompt if prompt is not None else _estimate_prompt(self._system, self._turns),
                completion if completion is not None else estimate_tokens(self.chars),
            )
        )
        return events


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


def _round_messages(rounds: Sequence[ToolRound]) -> list[dict[str, Any]]:
    """Each round as Anthropic replays it: tool_use blocks, then the user's tool_result blocks."""
    messages: list[dict[str, Any]] = []
    for done in rounds:
        content: list[dict[str, Any]] = [{"type": "text", "text": done.text}] if done.text else []
        content.extend(
            {"type": "tool_use", "id": c.id, "name": c.name, "input": _input(c.arguments)}
            for c in done.calls
        )
        results = [
            {
                "type": "tool_result",
                "tool_use_id": r.call_id,
                "content": r.content,
                "is_error": r.is_error,
            }
            for r in done.results
        ]
        messages += [
            {"role": "assistant", "content": content},
            {"role": "user", "content": results},
        ]
    return messages


def _input(arguments: str) -> Any:
    """The input object back from its JSON text; the vendor refuses anything but an object."""
    try:
        value = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _estimate_prompt(system: str, turns: Sequence[Turn]) -> int:
    return estimate_tokens(len(system) + sum(len(turn.content) for turn in turns))


def _stream_error(error: Any) -> ProviderError:
    kind = error.get("type") if isinstance(error, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    code, retryable = _STREAM_ERRORS.get(str(kind), ("provider_error", True))
    return ProviderError(code, f"error in stream: {message or kind or error}", retryable=retryable)
