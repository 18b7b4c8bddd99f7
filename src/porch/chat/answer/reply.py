"""One reply as it streams: its text, usage, grounding and status, forwarded delta by delta."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from porch.chat.answer.events import Event, Token
from porch.providers.base import (
    ChatModel,
    CompletionRequest,
    Grounding,
    StreamEvent,
    TextDelta,
    Usage,
)

Emit = Callable[[Event], None]


class Reply:
    """Accumulates one reply while forwarding its deltas the moment they arrive."""

    def __init__(self, emit: Emit, began: float, *, quiet_refusal: bool = False) -> None:
        self._emit = emit
        # The owner set a fallback text: an answerer that says it has no answer is not
        # relayed, so the visitor reads the owner's words alone.
        self._quiet_refusal = quiet_refusal
        self._refusing = False
        self._began = began
        self._parts: list[str] = []
        self.usage: Usage | None = None
        self.answered = False
        self.status = "complete"
        self.error_code: str | None = None
        self.error_message: str | None = None
        self.first_token_ms: int | None = None

    @property
    def text(self) -> str:
        return "".join(self._parts)

    def add(self, delta: str) -> None:
        if self.first_token_ms is None:
            self.first_token_ms = int((time.perf_counter() - self._began) * 1000)
        self._parts.append(delta)
        self._emit(Token(delta))

    async def consume(self, model: ChatModel, request: CompletionRequest) -> None:
        # A chat model is grounded when it was given passages; the extractive one says so itself.
        self.answered = bool(request.passages)
        # aclosing: if this task is cancelled, the provider's HTTP stream closes at once.
        async with contextlib.aclosing(model.stream(request)) as stream:
            async for event in stream:
                self._on(event)

    def _on(self, event: StreamEvent) -> None:
        if isinstance(event, TextDelta):
            if event.text and not self._refusing:
                self.add(event.text)
        elif isinstance(event, Usage):
            self.usage = event
        elif isinstance(event, Grounding):
            self.answered = event.answered
            self._refusing = self._quiet_refusal and not event.answered
