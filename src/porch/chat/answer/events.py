"""What the answer pipeline emits, and how each event is written on an SSE stream."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from porch.actions.events import ActionEvent


@dataclass(frozen=True, slots=True)
class Started:
    user_message_id: uuid.UUID
    message_id: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class Token:
    delta: str


@dataclass(frozen=True, slots=True)
class SourcesFound:
    sources: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Done:
    message_id: uuid.UUID | None
    prompt_tokens: int
    completion_tokens: int
    latency_ms: int
    status: str
    content: str
    created_at: Any


@dataclass(frozen=True, slots=True)
class Failed:
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class HandoffOffered:
    """The assistant offers a person (per the widget's handoff mode); the widget shows a button."""

    text: str


Event = Started | Token | SourcesFound | Done | Failed | HandoffOffered | ActionEvent


def _frame(name: bytes, data: Any) -> bytes:
    return b"event: " + name + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def sse(event: Event) -> bytes:
    if isinstance(event, Token):
        return _frame(b"token", {"delta": event.delta})
    if isinstance(event, Started):
        return _frame(
            b"start", {"user_message_id": event.user_message_id, "message_id": event.message_id}
        )
    if isinstance(event, SourcesFound):
        return _frame(b"sources", {"sources": event.sources})
    if isinstance(event, Done):
        return _frame(
            b"done",
            {
                "message_id": event.message_id,
                "status": event.status,
                "usage": {
                    "prompt_tokens": event.prompt_tokens,
                    "completion_tokens": event.completion_tokens,
                },
                "latency_ms": event.latency_ms,
            },
        )
    if isinstance(event, ActionEvent):
        return _frame(b"action", event.as_json())
    if isinstance(event, HandoffOffered):
        return _frame(b"handoff", {"offered": True, "text": event.text})
    return _frame(b"error", {"code": event.code, "message": event.message})


SSE_HEADERS = {
    "Cache-Control": "no-cache, no-transform",
    # Proxies (nginx and friends) otherwise buffer the stream and the reply arrives at once.
    "X-Accel-Buffering": "no",
}
