"""Building requests and draining streams in provider tests."""

from __future__ import annotations

from contextlib import aclosing
from dataclasses import dataclass, field

from porch.providers.base import (
    ChatModel,
    CompletionRequest,
    Grounding,
    Passage,
    StreamEvent,
    TextDelta,
    Turn,
    Usage,
)


def make_request(
    question: str = "How do I reset my password?",
    *,
    system: str = "You are a support assistant.",
    history: tuple[Turn, ...] = (),
    passages: tuple[Passage, ...] = (),
    max_tokens: int = 256,
) -> CompletionRequest:
    return CompletionRequest(
        model="ignored",
        system=system,
        turns=(*history, Turn("user", question)),
        question=question,
        passages=passages,
        max_tokens=max_tokens,
    )


@dataclass
class Reply:
    events: list[StreamEvent] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(e.text for e in self.events if isinstance(e, TextDelta))

    @property
    def deltas(self) -> list[str]:
        return [e.text for e in self.events if isinstance(e, TextDelta)]

    @property
    def usage(self) -> Usage | None:
        found = [e for e in self.events if isinstance(e, Usage)]
        assert len(found) <= 1, found
        return found[0] if found else None

    @property
    def grounding(self) -> Grounding | None:
        found = [e for e in self.events if isinstance(e, Grounding)]
        return found[0] if found else None


async def collect(
    model: ChatModel, request: CompletionRequest, reply: Reply | None = None
) -> Reply:
    """Drain a stream into `reply` (pass one in to keep the partial text when it raises)."""
    reply = reply if reply is not None else Reply()
    async with aclosing(model.stream(request)) as events:
        async for event in events:
            reply.events.append(event)
    return reply
